"""Typed errors of the Folio client: one per kind of problem the API answers.

Every error carries the problem-details body: ``status``, ``code`` (Folio's
stable machine-readable name, e.g. ``file_type_mismatch``), ``detail`` and
the whole ``problem`` dict.
"""

from __future__ import annotations

from typing import Any


class FolioClientError(Exception):
    """Root of the client's errors."""


class FolioApiError(FolioClientError):
    """The API answered with an error (problem details)."""

    def __init__(self, status: int, code: str, detail: str, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.problem = problem


class InvalidRequest(FolioApiError):
    """400 or 422: the request is invalid (``detail`` names the field; for
    a job's payload, ``problem["errors"]`` lists each field)."""


class Unauthorized(FolioApiError):
    """401: missing, unknown or revoked API key."""


class Forbidden(FolioApiError):
    """403: the key is of the wrong kind for this route, or the tenant may
    not do this (a job kind or a priority above its maximum)."""


class NotFound(FolioApiError):
    """404: no such document or job for this tenant."""


class Conflict(FolioApiError):
    """409: the document or job is not in a state that allows this."""


class FileRejected(FolioApiError):
    """413 or 415: the file is too large or not an accepted type."""


class RateLimited(FolioApiError):
    """429: too many requests; ``retry_after_s`` says when to try again."""

    def __init__(
        self, status: int, code: str, detail: str, problem: dict[str, Any], retry_after_s: float
    ) -> None:
        super().__init__(status, code, detail, problem)
        self.retry_after_s = retry_after_s


class ServerError(FolioApiError):
    """5xx: the API or one of its dependencies failed; usually worth a retry."""


class JobTimeout(FolioClientError):
    """:meth:`wait_for_job` gave up before the job finished."""


_BY_STATUS: dict[int, type[FolioApiError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: FileRejected,
    415: FileRejected,
    422: InvalidRequest,
}


def error_from_response(status: int, body: Any, headers: Any) -> FolioApiError:
    """The typed error for an error response."""
    problem = body if isinstance(body, dict) else {"detail": str(body)}
    code = str(problem.get("code", "http_error"))
    detail = str(problem.get("detail", ""))
    if status == 429:
        try:
            retry_after_s = float(headers.get("retry-after", "1"))
        except ValueError:
            retry_after_s = 1.0
        return RateLimited(status, code, detail, problem, retry_after_s)
    if status >= 500:
        return ServerError(status, code, detail, problem)
    return _BY_STATUS.get(status, FolioApiError)(status, code, detail, problem)
