"""The asynchronous Folio client (``httpx.AsyncClient``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self

import httpx

from folio_client._core import (
    DEFAULT_TIMEOUT_S,
    FileInput,
    When,
    checked,
    clean_params,
    document_params,
    file_part,
    headers_for,
    hit_items,
    job_body,
    job_input_body,
    job_params,
    metadata_form,
    process_body,
    search_params,
    upload_params,
)
from folio_client.async_extras import AsyncExtras
from folio_client.errors import FolioApiError, JobTimeout
from folio_client.models import Document, Event, Job, SearchHit, SseParser, Text, Upload
from folio_client.retries import TRANSIENT, Retries, Rewind, retry_status, with_idempotency_key


class AsyncFolio(AsyncExtras):
    """Talk to a Folio API with one API key.

    - ``base_url``: the API, e.g. ``http://127.0.0.1:8000``.
    - ``api_key``: a tenant key (``folio_<prefix>_<secret>``).
    - ``timeout_s``: per-request timeout (default 60 s; event streams wait
      without a read timeout).
    - ``retries``: the retry policy (default :class:`~folio_client.retries.Retries`:
      4 attempts on connection errors, 429 and 503, honouring
      ``Retry-After``; every ``POST`` carries an ``Idempotency-Key``).
    - ``http``: an ``httpx.AsyncClient`` to use instead of a new one.

    Use as ``async with AsyncFolio(...) as folio:`` or call :meth:`aclose`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retries: Retries | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout_s)
        self._headers = headers_for(api_key)
        self._retries = retries or Retries()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return checked(await self._send(method, path, **kwargs))

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, sent again on the failures :class:`Retries` names."""
        headers = with_idempotency_key(method, {**self._headers, **kwargs.pop("headers", {})})
        rewind = Rewind(kwargs.get("files"))
        attempts = self._retries.attempts if rewind.possible else 1
        for attempt in range(1, attempts + 1):
            rewind()
            try:
                response = await self._http.request(method, path, headers=headers, **kwargs)
            except TRANSIENT:
                if attempt == attempts:
                    raise
                await asyncio.sleep(self._retries.delay_s(attempt))
                continue
            if attempt < attempts and retry_status(response):
                await asyncio.sleep(
                    self._retries.delay_s(attempt, response.headers.get("retry-after"))
                )
                continue
            return response
        raise AssertionError("unreachable")

    # --- documents ------------------------------------------------------

    async def upload(
        self,
        file: FileInput,
        *,
        filename: str | None = None,
        process: bool = True,
        priority: str = "normal",
        metadata: dict[str, Any] | None = None,
    ) -> Upload:
        """Upload a file (path, bytes or binary file object), streamed."""
        name, content = file_part(file, filename)
        try:
            data = await self._call(
                "POST",
                "/v1/documents",
                params=upload_params(process, priority),
                files={"file": (name, content, "application/octet-stream")},
                data=metadata_form(metadata),
            )
        finally:
            if hasattr(content, "close") and not isinstance(file, bytes) and content is not file:
                content.close()
        return Upload.from_json(data)

    async def upload_presigned(
        self,
        data: bytes,
        *,
        filename: str,
        priority: str = "normal",
        metadata: dict[str, Any] | None = None,
    ) -> Upload:
        """Upload through a presigned URL straight to storage, then queue it."""
        grant = await self._call(
            "POST",
            "/v1/uploads",
            json={"filename": filename, "size_bytes": len(data), "metadata": metadata or {}},
        )
        await self._send_file(grant["upload"], data, filename)
        return await self.process(grant["document"]["id"], priority=priority)

    async def upload_job_input(
        self, data: bytes, *, filename: str, content_type: str = "application/octet-stream"
    ) -> str:
        """Upload a job's input through a presigned URL (``purpose=job_input``);
        returns its storage key, to name in the job's payload."""
        grant = await self._call(
            "POST",
            "/v1/uploads",
            json=job_input_body(data, filename, content_type),
        )
        await self._send_file(grant["upload"], data, filename)
        return str(grant["key"])

    async def _send_file(self, upload: dict[str, Any], data: bytes, filename: str) -> None:
        """Send ``data`` as a presigned grant's ``upload`` says (PUT, or S3's POST form)."""
        if upload["method"] == "PUT":
            sent = await self._http.put(
                upload["url"],
                content=data,
                headers={**upload["headers"], "Content-Type": upload["content_type"]},
            )
        else:
            sent = await self._http.post(
                upload["url"],
                data=upload["fields"],
                files={"file": (filename, data, upload["content_type"])},
            )
        if sent.status_code >= 400:
            checked(sent)

    async def process(
        self,
        document_id: str,
        *,
        priority: str = "normal",
        force_ocr: bool = False,
        ocr_languages: str | None = None,
        expected: dict[str, str] | None = None,
    ) -> Upload:
        """(Re)queue a document's processing: ``priority``, ``force_ocr``
        (OCR every page), ``ocr_languages`` (``eng+por``), ``expected``
        field values (each gets a verdict in the document's fields)."""
        body = process_body(
            priority=priority, force_ocr=force_ocr, ocr_languages=ocr_languages, expected=expected
        )
        return Upload.from_json(
            await self._call("POST", f"/v1/documents/{document_id}/process", json=body)
        )

    async def document(self, document_id: str) -> Document:
        return Document.from_json(await self._call("GET", f"/v1/documents/{document_id}"))

    async def documents(
        self,
        *,
        limit: int = 50,
        status: str | None = None,
        kind: str | None = None,
        created_after: When | None = None,
        created_before: When | None = None,
        document_type: list[str] | None = None,
    ) -> AsyncIterator[Document]:
        """Every document matching the filters, newest first, page by page."""
        filters = document_params(
            status=status,
            kind=kind,
            created_after=created_after,
            created_before=created_before,
            document_type=document_type,
        )
        cursor = None
        while True:
            params = clean_params({**filters, "limit": limit, "cursor": cursor})
            page = await self._call("GET", "/v1/documents", params=params)
            for item in page["items"]:
                yield Document.from_json(item)
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def text(
        self,
        document_id: str,
        *,
        page: int | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> Text:
        """The document's text (or page ``page``'s): whole, read window by
        window, unless ``offset`` or ``limit`` asks for one window."""
        path = f"/v1/documents/{document_id}/text"
        params = clean_params({"page": page, "offset": offset, "limit": limit})
        text = Text.from_json(await self._call("GET", path, params=params))
        while offset is None and limit is None and text.next_offset is not None:
            params = clean_params({"page": page, "offset": text.next_offset})
            text = text.then(Text.from_json(await self._call("GET", path, params=params)))
        return text

    async def delete(self, document_id: str) -> None:
        await self._call("DELETE", f"/v1/documents/{document_id}")

    async def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: str | None = None,
        group: str | None = None,
        document_ids: list[str] | None = None,
        kind: list[str] | None = None,
        created_from: When | None = None,
        created_to: When | None = None,
        document_type: list[str] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> list[SearchHit]:
        """Search the tenant's documents (``GET /v1/search``): ``mode``
        (``hybrid``, ``semantic``, ``keyword``), ``group`` (``chunk`` or
        ``document``) and filters (``metadata``: the documents' labels)."""
        params = search_params(
            query,
            k=k,
            mode=mode,
            group=group,
            document_ids=document_ids,
            kind=kind,
            created_from=created_from,
            created_to=created_to,
            document_type=document_type,
            metadata=metadata,
        )
        data = await self._call("GET", "/v1/search", params=params)
        return [SearchHit.from_json(hit) for hit in hit_items(data)]

    # --- jobs -----------------------------------------------------------

    async def submit(
        self,
        kind: str,
        payload: dict[str, Any] | None = None,
        *,
        priority: str | None = None,
        delay_ms: int | None = None,
        run_at: When | None = None,
        metadata: dict[str, str] | None = None,
        max_retries: int | None = None,
    ) -> Job:
        """Run a job of a declared kind (``POST /v1/jobs``), now, after
        ``delay_ms`` or at ``run_at``."""
        body = job_body(
            kind,
            payload,
            priority=priority,
            delay_ms=delay_ms,
            run_at=run_at,
            metadata=metadata,
            max_retries=max_retries,
        )
        return Job.from_json(await self._call("POST", "/v1/jobs", json=body))

    async def job(self, job_id: str) -> Job:
        return Job.from_json(await self._call("GET", f"/v1/jobs/{job_id}"))

    async def jobs(
        self,
        *,
        limit: int = 50,
        status: str | None = None,
        kind: str | None = None,
        since: When | None = None,
        batch_id: str | None = None,
        document_id: str | None = None,
        top_level: bool | None = None,
        created_after: When | None = None,
        created_before: When | None = None,
        metadata: dict[str, str] | None = None,
    ) -> AsyncIterator[Job]:
        """Every job matching the filters (``kind``: the job kind), page by page."""
        filters = job_params(
            status=status,
            kind=kind,
            since=since,
            batch_id=batch_id,
            document_id=document_id,
            top_level=top_level,
            created_after=created_after,
            created_before=created_before,
            metadata=metadata,
        )
        cursor = None
        while True:
            params = clean_params({**filters, "limit": limit, "cursor": cursor})
            page = await self._call("GET", "/v1/jobs", params=params)
            for item in page["items"]:
                yield Job.from_json(item)
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def cancel(self, job_id: str) -> Job:
        return Job.from_json(await self._call("POST", f"/v1/jobs/{job_id}/cancel"))

    async def retry(self, job_id: str) -> Job:
        return Job.from_json(await self._call("POST", f"/v1/jobs/{job_id}/retry"))

    async def events(
        self, job_id: str, *, last_event_id: str | None = None
    ) -> AsyncIterator[Event]:
        """The job's events (SSE) until its terminal event; resumes after
        ``last_event_id`` when given."""
        headers = dict(self._headers)
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(self._http.timeout.connect, read=None)
        async with self._http.stream(
            "GET", f"/v1/jobs/{job_id}/events", headers=headers, timeout=timeout
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                checked(response)
            parser = SseParser()
            async for line in response.aiter_lines():
                event = parser.feed(line)
                if event is not None:
                    yield event
                    if event.terminal:
                        return

    async def wait_for_job(
        self, job_id: str, *, timeout_s: float = 600.0, poll_s: float = 1.0
    ) -> Job:
        """Wait until the job finishes: follows its events (reconnecting
        with ``Last-Event-ID`` when the server ends a stream), and polls the
        job if the stream fails (proxy, network). A terminal event counts
        only once the job says it is finished (a retried job runs again)."""
        deadline = time.monotonic() + timeout_s
        last_id: str | None = None
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    async for event in self.events(job_id, last_event_id=last_id):
                        last_id = event.id or last_id
                        if event.terminal:
                            job = await self.job(job_id)
                            if job.finished:
                                return job
                    await asyncio.sleep(poll_s)  # the server ended the stream: reconnect
        except (httpx.HTTPError, TimeoutError):
            pass
        except FolioApiError as e:
            if e.status < 500:
                raise
        while time.monotonic() < deadline:
            job = await self.job(job_id)
            if job.finished:
                return job
            await asyncio.sleep(poll_s)
        raise JobTimeout(f"job {job_id} did not finish within {timeout_s} s")
