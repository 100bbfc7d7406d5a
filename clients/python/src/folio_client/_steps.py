"""Requests described, not sent: the one place each call's logic is written.

Every client method is a *plan*: a generator that yields steps and gets
their outcome back. :class:`~folio_client.sync_client.Folio` and
:class:`~folio_client.async_client.AsyncFolio` run the same plans, one with
blocking I/O and one with ``await``; the plans hold the request shapes, the
retries, the paging and the parsing, so the two clients cannot differ.

The steps:

- :class:`Call`: one API request, sent again as :class:`Retries` says;
  the plan gets the answer's JSON (``None`` for an empty answer), or the
  typed error is raised into it.
- :class:`Send`: one HTTP exchange, sent once; the plan gets the
  ``httpx.Response`` (or the transport error raised into it).
- :class:`Sleep`: wait, in seconds.
- :class:`Emit`: hand one item to the caller of an iterator method.
- :class:`Follow`: read a job's event stream until its terminal event, the
  end of the stream or the deadline; the plan gets the last event seen.
- :class:`Download`: stream an answer's body into a binary sink; the plan
  gets the number of bytes written.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from typing import IO, Any, TypeVar

import httpx

from folio_client._core import checked
from folio_client.retries import TRANSIENT, Retries, Rewind, retry_status, with_idempotency_key

T = TypeVar("T")

#: Bytes read from a file per chunk of a streamed body.
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class FileBody:
    """A request body read from a binary file object chunk by chunk, never
    whole: ``size_bytes`` is its length from where the file stands."""

    file: IO[bytes]
    size_bytes: int

    def chunks(self) -> Iterator[bytes]:
        left = self.size_bytes
        while left > 0:
            chunk = self.file.read(min(CHUNK_BYTES, left))
            if not chunk:
                raise ValueError(f"the file ended {left} bytes before its size")
            left -= len(chunk)
            yield chunk


@dataclass(frozen=True, slots=True)
class Call:
    """One request: ``path`` below the API's URL (or a whole URL with
    ``auth=False``, for a presigned one) and what httpx is given."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    files: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    content: FileBody | None = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: bool = True

    def options(self) -> dict[str, Any]:
        """httpx's keyword arguments, except ``content`` and ``headers``."""
        found = {"params": self.params, "json": self.json, "files": self.files}
        return {k: v for k, v in {**found, "data": self.data}.items() if v is not None}


@dataclass(frozen=True, slots=True)
class Send:
    call: Call


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class Emit:
    item: Any


@dataclass(frozen=True, slots=True)
class Follow:
    job_id: str
    last_event_id: str | None
    timeout_s: float


@dataclass(frozen=True, slots=True)
class Download:
    path: str
    sink: IO[bytes]


Step = Call | Send | Sleep | Emit | Follow | Download
#: A method's logic: steps out, outcomes in, its result at the end.
Plan = Generator[Step, Any, T]
#: An iterator method's logic: :class:`Emit` steps carry its items.
Pages = Generator[Step, Any, None]


def exchange(call: Call, retries: Retries) -> Plan[Any]:
    """``call`` sent until an answer counts (:class:`Retries`), as JSON.
    A ``POST`` carries one ``Idempotency-Key`` across its attempts."""
    call = replace(call, headers=with_idempotency_key(call.method, call.headers))
    rewind = Rewind(call.files, call.content)
    attempts = retries.attempts if rewind.possible else 1
    for attempt in range(1, attempts + 1):
        rewind()
        try:
            response: httpx.Response = yield Send(call)
        except TRANSIENT:
            if attempt == attempts:
                raise
            yield Sleep(retries.delay_s(attempt))
            continue
        if attempt < attempts and retry_status(response):
            yield Sleep(retries.delay_s(attempt, response.headers.get("retry-after")))
            continue
        return checked(response)
    raise AssertionError("unreachable")


def advance(plan: Plan[Any], reply: Any, error: BaseException | None) -> tuple[bool, Any]:
    """Give the plan its last step's outcome: ``(True, result)`` when it
    has finished, ``(False, next step)`` otherwise."""
    try:
        step = plan.send(reply) if error is None else plan.throw(error)
    except StopIteration as done:
        return True, done.value
    return False, step


def paged(call: Callable[[str | None], Call], parse: Callable[[Any], Any]) -> Pages:
    """Every item of a cursor-paged list (``items``, ``next_cursor``)."""
    cursor: str | None = None
    while True:
        page = yield call(cursor)
        for item in page["items"]:
            yield Emit(parse(item))
        cursor = page.get("next_cursor")
        if not cursor:
            return


def open_sink(out: str | os.PathLike[str] | IO[bytes]) -> tuple[IO[bytes], bool]:
    """A binary sink for ``out`` and whether the caller must close it."""
    if isinstance(out, str | os.PathLike):
        return open(out, "wb"), True  # closed by the plan
    return out, False
