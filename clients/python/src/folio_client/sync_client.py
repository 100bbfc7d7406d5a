"""The synchronous Folio client (``httpx.Client``); same methods as
:class:`~folio_client.async_client.AsyncFolio`."""

from __future__ import annotations

import time
from collections.abc import Iterator
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
from folio_client.errors import FolioApiError, JobTimeout
from folio_client.models import Document, Event, Job, SearchHit, SseParser, Text, Upload
from folio_client.retries import TRANSIENT, Retries, Rewind, retry_status, with_idempotency_key
from folio_client.sync_extras import SyncExtras


class Folio(SyncExtras):
    """Talk to a Folio API with one API key (see :class:`AsyncFolio` for
    the options). Use as ``with Folio(...) as folio:`` or call :meth:`close`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retries: Retries | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout_s)
        self._headers = headers_for(api_key)
        self._retries = retries or Retries()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return checked(self._send(method, path, **kwargs))

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, sent again on the failures :class:`Retries` names."""
        headers = with_idempotency_key(method, {**self._headers, **kwargs.pop("headers", {})})
        rewind = Rewind(kwargs.get("files"))
        attempts = self._retries.attempts if rewind.possible else 1
        for attempt in range(1, attempts + 1):
            rewind()
            try:
                response = self._http.request(method, path, headers=headers, **kwargs)
            except TRANSIENT:
                if attempt == attempts:
                    raise
                time.sleep(self._retries.delay_s(attempt))
                continue
            if attempt < attempts and retry_status(response):
                time.sleep(self._retries.delay_s(attempt, response.headers.get("retry-after")))
                continue
            return response
        raise AssertionError("unreachable")

    def upload(
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
            data = self._call(
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

    def upload_presigned(
        self,
        data: bytes,
        *,
        filename: str,
        priority: str = "normal",
        metadata: dict[str, Any] | None = None,
    ) -> Upload:
        """Upload through a presigned URL straight to storage, then queue it."""
        grant = self._call(
            "POST",
            "/v1/uploads",
            json={"filename": filename, "size_bytes": len(data), "metadata": metadata or {}},
        )
        self._send_file(grant["upload"], data, filename)
        return self.process(grant["document"]["id"], priority=priority)

    def upload_job_input(
        self, data: bytes, *, filename: str, content_type: str = "application/octet-stream"
    ) -> str:
        """Upload a job's input through a presigned URL (``purpose=job_input``);
        returns its storage key, to name in the job's payload."""
        grant = self._call(
            "POST",
            "/v1/uploads",
            json=job_input_body(data, filename, content_type),
        )
        self._send_file(grant["upload"], data, filename)
        return str(grant["key"])

    def _send_file(self, upload: dict[str, Any], data: bytes, filename: str) -> None:
        """Send ``data`` as a presigned grant's ``upload`` says (PUT, or S3's POST form)."""
        if upload["method"] == "PUT":
            sent = self._http.put(
                upload["url"],
                content=data,
                headers={**upload["headers"], "Content-Type": upload["content_type"]},
            )
        else:
            sent = self._http.post(
                upload["url"],
                data=upload["fields"],
                files={"file": (filename, data, upload["content_type"])},
            )
        if sent.status_code >= 400:
            checked(sent)

    def process(
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
            self._call("POST", f"/v1/documents/{document_id}/process", json=body)
        )

    def document(self, document_id: str) -> Document:
        return Document.from_json(self._call("GET", f"/v1/documents/{document_id}"))

    def documents(
        self,
        *,
        limit: int = 50,
        status: str | None = None,
        kind: str | None = None,
        created_after: When | None = None,
        created_before: When | None = None,
        document_type: list[str] | None = None,
    ) -> Iterator[Document]:
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
            page = self._call("GET", "/v1/documents", params=params)
            yield from (Document.from_json(item) for item in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def text(
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
        text = Text.from_json(self._call("GET", path, params=params))
        while offset is None and limit is None and text.next_offset is not None:
            params = clean_params({"page": page, "offset": text.next_offset})
            text = text.then(Text.from_json(self._call("GET", path, params=params)))
        return text

    def delete(self, document_id: str) -> None:
        self._call("DELETE", f"/v1/documents/{document_id}")

    def search(
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
        data = self._call("GET", "/v1/search", params=params)
        return [SearchHit.from_json(hit) for hit in hit_items(data)]

    def submit(
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
        return Job.from_json(self._call("POST", "/v1/jobs", json=body))

    def job(self, job_id: str) -> Job:
        return Job.from_json(self._call("GET", f"/v1/jobs/{job_id}"))

    def jobs(
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
    ) -> Iterator[Job]:
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
            page = self._call("GET", "/v1/jobs", params=params)
            yield from (Job.from_json(item) for item in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def cancel(self, job_id: str) -> Job:
        return Job.from_json(self._call("POST", f"/v1/jobs/{job_id}/cancel"))

    def retry(self, job_id: str) -> Job:
        return Job.from_json(self._call("POST", f"/v1/jobs/{job_id}/retry"))

    def events(self, job_id: str, *, last_event_id: str | None = None) -> Iterator[Event]:
        headers = dict(self._headers)
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(self._http.timeout.connect, read=None)
        with self._http.stream(
            "GET", f"/v1/jobs/{job_id}/events", headers=headers, timeout=timeout
        ) as response:
            if response.status_code >= 400:
                response.read()
                checked(response)
            parser = SseParser()
            for line in response.iter_lines():
                event = parser.feed(line)
                if event is not None:
                    yield event
                    if event.terminal:
                        return

    def wait_for_job(self, job_id: str, *, timeout_s: float = 600.0, poll_s: float = 1.0) -> Job:
        """Wait until the job finishes: follows its events (reconnecting
        with ``Last-Event-ID`` when the server ends a stream), and polls the
        job if the stream fails. A terminal event counts only once the job
        says it is finished (a retried job runs again)."""
        deadline = time.monotonic() + timeout_s
        last_id: str | None = None
        try:
            while time.monotonic() < deadline:
                for event in self.events(job_id, last_event_id=last_id):
                    last_id = event.id or last_id
                    if event.terminal:
                        job = self.job(job_id)
                        if job.finished:
                            return job
                    if time.monotonic() > deadline:
                        break
                time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
        except httpx.HTTPError:
            pass
        except FolioApiError as e:
            if e.status < 500:
                raise
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if job.finished:
                return job
            time.sleep(poll_s)
        raise JobTimeout(f"job {job_id} did not finish within {timeout_s} s")
