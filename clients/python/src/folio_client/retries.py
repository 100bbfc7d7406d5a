"""When and how long the clients wait before sending a request again.

:class:`Retries` is the policy: a request that failed to connect or lost
its connection, or was answered ``429`` or ``503``, is sent again up to
``attempts`` times in all, after ``Retry-After`` when the answer gives one,
otherwise after an exponential backoff with full jitter. Every ``POST``
carries an ``Idempotency-Key`` (the same on every attempt), so a retried
``POST`` whose first answer was lost creates nothing twice: the API answers
with the first response. A request whose body cannot be sent again (a
non-seekable stream) is sent once.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

#: Statuses worth another attempt.
RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class Retries:
    """The retry policy.

    - ``attempts``: sends of one request in all (default 4; 1: no retry).
    - ``backoff_s``: the first backoff's ceiling (default 0.5 s); the
      ceiling doubles with every attempt, and the wait is random below it.
    - ``max_backoff_s``: the highest ceiling, and the longest
      ``Retry-After`` honoured (default 30 s).
    """

    attempts: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.backoff_s < 0 or self.max_backoff_s < 0:
            raise ValueError("backoffs must not be negative")

    def delay_s(self, attempt: int, retry_after: str | None = None) -> float:
        """The wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), self.max_backoff_s)
            except ValueError:
                pass  # an HTTP date: use the backoff
        ceiling = min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s)
        return random.uniform(0, ceiling)  # noqa: S311 (jitter, not a secret)


#: The errors of a request that may not have reached the API, or whose
#: answer was lost.
TRANSIENT = (httpx.TransportError,)


def retry_status(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES


def with_idempotency_key(method: str, headers: Mapping[str, str]) -> dict[str, str]:
    """``headers``, with a new ``Idempotency-Key`` on a ``POST`` that has none."""
    out = dict(headers)
    if method.upper() == "POST" and not any(k.lower() == "idempotency-key" for k in out):
        out["Idempotency-Key"] = str(uuid.uuid4())
    return out


class Rewind:
    """Puts the file objects of a multipart body (``files``) or of a
    streamed body (``body``, with a ``file``) back where they started, so
    the body can be sent again; ``possible`` is false when one cannot."""

    def __init__(self, files: Any, body: Any = None) -> None:
        self._marks: list[tuple[Any, int]] = []
        self.possible = True
        parts = [part[1] if isinstance(part, tuple) else part for part in (files or {}).values()]
        for content in parts + ([body.file] if body is not None else []):
            if isinstance(content, bytes | str):
                continue
            seekable = getattr(content, "seekable", None)
            if callable(seekable) and seekable():
                self._marks.append((content, content.tell()))
            else:
                self.possible = False

    def __call__(self) -> None:
        for content, mark in self._marks:
            content.seek(mark)
