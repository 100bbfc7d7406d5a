"""The asynchronous Folio client (``httpx.AsyncClient``): runs the plans
of :mod:`folio_client._documents` and :mod:`folio_client._jobs` with
``await``; same methods as :class:`~folio_client.sync_client.Folio`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import httpx

from folio_client import _documents, _jobs, _ops, _webhooks
from folio_client._bind import async_iterator_of, async_method, method
from folio_client._core import DEFAULT_TIMEOUT_S, checked, headers_for
from folio_client._steps import (
    Call,
    Download,
    Emit,
    FileBody,
    Follow,
    Pages,
    Plan,
    Send,
    Sleep,
    Step,
    advance,
    exchange,
)
from folio_client.models import Document, Event, Job, SseParser
from folio_client.models_tenant import Chunk
from folio_client.retries import Retries

P = ParamSpec("P")
T = TypeVar("T")


def _method(plan: Callable[P, Plan[T]]) -> Callable[Concatenate[Any, P], Coroutine[Any, Any, T]]:
    result: Callable[Concatenate[Any, P], Coroutine[Any, Any, T]] = async_method(plan)
    return result


def _iterator(
    plan: Callable[P, Pages], item: type[T]
) -> Callable[Concatenate[Any, P], AsyncIterator[T]]:
    result: Callable[Concatenate[Any, P], AsyncIterator[T]] = method(
        plan, "_each", async_iterator_of(item)
    )
    return result


async def _chunks(body: FileBody) -> AsyncIterator[bytes]:
    for chunk in body.chunks():  # a local file's reads: short, left blocking
        yield chunk


class AsyncFolio:
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
        self.ops = AsyncOps(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- running plans ----------------------------------------------------

    async def _run(self, plan: Plan[T]) -> T:
        """Carry out a plan's steps; its result."""
        reply: Any = None
        error: BaseException | None = None
        while True:
            done, step = advance(plan, reply, error)
            if done:
                return step  # type: ignore[no-any-return]
            if isinstance(step, Emit):
                raise TypeError("this plan emits items: iterate it with _each()")
            reply, error = await self._outcome(step)

    async def _each(self, plan: Pages) -> AsyncIterator[Any]:
        """Carry out a plan's steps, yielding the items it emits."""
        reply: Any = None
        error: BaseException | None = None
        while True:
            done, step = advance(plan, reply, error)
            if done:
                return
            reply, error = None, None
            if isinstance(step, Emit):
                yield step.item
            else:
                reply, error = await self._outcome(step)

    async def _outcome(self, step: Step) -> tuple[Any, BaseException | None]:
        try:
            return await self._do(step), None
        except Exception as e:  # raised into the plan, which decides
            return None, e

    async def _do(self, step: Step) -> Any:
        if isinstance(step, Call):
            return await self._run(exchange(step, self._retries))
        if isinstance(step, Send):
            return await self._send(step.call)
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            return None
        if isinstance(step, Follow):
            last = None
            async with asyncio.timeout(step.timeout_s):
                async for event in self._events(step.job_id, step.last_event_id):
                    last = event
            return last
        if isinstance(step, Download):
            return await self._download(step)
        raise TypeError(f"not a step: {step!r}")

    async def _send(self, call: Call) -> httpx.Response:
        headers = {**self._headers, **call.headers} if call.auth else call.headers
        content = _chunks(call.content) if call.content is not None else None
        return await self._http.request(
            call.method, call.path, headers=headers, content=content, **call.options()
        )

    async def _download(self, step: Download) -> int:
        written = 0
        async with self._http.stream(
            "GET", step.path, headers=self._headers, follow_redirects=True
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                checked(response)
            async for chunk in response.aiter_bytes():
                step.sink.write(chunk)
                written += len(chunk)
        return written

    async def _events(self, job_id: str, last_event_id: str | None) -> AsyncIterator[Event]:
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

    def events(self, job_id: str, *, last_event_id: str | None = None) -> AsyncIterator[Event]:
        """The job's events (SSE) until its terminal event; resumes after
        ``last_event_id`` when given."""
        return self._events(job_id, last_event_id)

    # --- documents ----------------------------------------------------------

    upload = _method(_documents.upload)
    upload_presigned = _method(_documents.upload_presigned)
    upload_job_input = _method(_documents.upload_job_input)
    process = _method(_documents.process_document)
    document = _method(_documents.document)
    documents = _iterator(_documents.documents, Document)
    text = _method(_documents.text)
    delete = _method(_documents.delete)
    fields = _method(_documents.fields)
    chunks = _iterator(_documents.chunks, Chunk)
    download = _method(_documents.download)
    search = _method(_documents.search)

    # --- jobs, batches, kinds, keys -------------------------------------

    submit = _method(_jobs.submit)
    job = _method(_jobs.job)
    jobs = _iterator(_jobs.jobs, Job)
    cancel = _method(_jobs.cancel)
    retry = _method(_jobs.retry)
    wait_for_job = _method(_jobs.wait_for_job)
    create_batch = _method(_jobs.create_batch)
    batch = _method(_jobs.batch)
    job_types = _method(_jobs.job_types)
    job_stats = _method(_jobs.job_stats)
    create_key = _method(_jobs.create_key)
    keys = _method(_jobs.keys)
    revoke_key = _method(_jobs.revoke_key)
    create_webhook = _method(_webhooks.create_webhook)
    webhooks = _method(_webhooks.webhooks)
    webhook = _method(_webhooks.webhook)
    update_webhook = _method(_webhooks.update_webhook)
    delete_webhook = _method(_webhooks.delete_webhook)
    rotate_webhook_secret = _method(_webhooks.rotate_webhook_secret)
    webhook_deliveries = _method(_webhooks.webhook_deliveries)
    resend_delivery = _method(_webhooks.resend_delivery)


class AsyncOps:
    """The operator calls (``/v1/ops``; an operator key only), as
    ``folio.ops``: queues, workers, dead letters, pauses, stalled jobs and
    the audit log."""

    def __init__(self, client: AsyncFolio) -> None:
        self._client = client

    def _run(self, plan: Plan[T]) -> Coroutine[Any, Any, T]:
        return self._client._run(plan)

    queues = _method(_ops.queues)
    workers = _method(_ops.workers)
    dead = _method(_ops.dead)
    dead_job = _method(_ops.dead_job)
    redrive = _method(_ops.redrive)
    purge = _method(_ops.purge)
    pause = _method(_ops.pause)
    resume = _method(_ops.resume)
    stalled = _method(_ops.stalled)
    audit = _method(_ops.audit)
