"""Problem details (RFC 9457) at the API's edge: every error becomes
``application/problem+json``.

Body: ``type`` (``urn:folio:problem:<code>``), ``title``, ``status``,
``detail``, ``code`` (the stable machine-readable name, e.g.
``object_not_found``) and, for some problems, extra members (``errors`` for
validation failures, ``checks`` for ``/readyz``, ``known_kinds`` for an
unknown job kind, ``max_priority`` for a priority above the tenant's).

Mapping:

- :class:`~folio_shared.errors.FolioError` → its ``http_status`` and ``code``
  (plus ``Retry-After`` when it carries ``retry_after_s``, and
  ``WWW-Authenticate`` on 401);
- Litestar's :class:`~litestar.exceptions.ValidationException` → 400
  ``invalid_input``, ``detail`` naming each bad field, ``errors`` listing them;
- other :class:`~litestar.exceptions.HTTPException` → its status, ``code``
  derived from the status (``not_found``, ``method_not_allowed``, ...);
- a dependency found unreachable (:func:`folio_api.outages.unavailable`:
  PostgreSQL or Redis refusing or losing connections) → 503
  ``dependency_unavailable`` naming it, with ``Retry-After``, logged as one
  line without a traceback (an outage fails every request);
- anything else → 500 ``internal_error`` without internals in the body.

Every 503 carries ``Retry-After`` (:data:`RETRY_AFTER_S` unless the error says).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import Enum
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from folio_api.outages import NAMES, unavailable
from folio_shared.errors import FolioError

PROBLEM_MEDIA_TYPE = "application/problem+json"

logger = logging.getLogger(__name__)

#: ``Retry-After`` of a 503 whose error does not say, in seconds.
RETRY_AFTER_S = 5


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response[dict[str, Any]]:
    """An ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": f"urn:folio:problem:{code}",
        "title": title or _title(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if extra:
        body.update(extra)
    return Response(
        content=body,
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def folio_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """A :class:`FolioError` as problem details (its ``code`` and ``http_status``)."""
    assert isinstance(exc, FolioError)
    if exc.http_status >= 500:
        logger.warning("request failed: %s (%s)", exc, exc.code, exc_info=exc)
    headers: dict[str, str] = {}
    if "retry_after_s" in exc.details:
        headers["Retry-After"] = str(int(exc.details["retry_after_s"]))
    elif exc.http_status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_S)
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="folio"'
    extra = {k: exc.details[k] for k in exc.public_details if k in exc.details}
    return problem_response(exc.http_status, exc.code, exc.message, extra=extra, headers=headers)


def validation_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Litestar's request validation errors as 400 ``invalid_input`` naming the fields."""
    assert isinstance(exc, ValidationException)
    errors = [e for e in (exc.extra if isinstance(exc.extra, list) else []) if isinstance(e, dict)]
    if errors:
        detail = "; ".join(
            f"{_source(e)} field {e.get('key', '?')!r}: {e.get('message', '')}" for e in errors
        )
    else:
        detail = exc.detail
    return problem_response(
        400, "invalid_input", detail, extra={"errors": errors} if errors else None
    )


def _source(error: dict[str, Any]) -> str:
    """Where a validation error's field is (``query``, ``path``, ``body``,
    ...): Litestar gives a ``ParamType``, whose ``str()`` is its member
    name on Python 3.11 (``ParamType.QUERY``), not its value."""
    source = error.get("source", "request")
    return str(source.value if isinstance(source, Enum) else source)


def http_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Any other Litestar HTTP error (404 route, 405, 413, ...) as problem details."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    return problem_response(status, _code(status), exc.detail, headers=exc.headers)


def internal_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """An unexpected exception: logged with its traceback, answered without
    internals; a dependency outage is a 503 naming the dependency."""
    dependency = unavailable(exc)
    if dependency is not None:
        logger.warning("request failed: %s unavailable (%s)", dependency, type(exc).__name__)
        return problem_response(
            503,
            "dependency_unavailable",
            f"{NAMES[dependency]} is unavailable; retry in {RETRY_AFTER_S} s",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    logger.error("unhandled error", exc_info=exc)
    return problem_response(500, "internal_error", "an unexpected error occurred")


def exception_handlers() -> ExceptionHandlersMap:
    """The handlers to give :class:`litestar.Litestar` (most specific first)."""
    return {
        FolioError: folio_error_handler,
        ValidationException: validation_error_handler,
        HTTPException: http_error_handler,
        Exception: internal_error_handler,
    }


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _code(status: int) -> str:
    try:
        return HTTPStatus(status).name.lower()
    except ValueError:
        return "http_error"


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """An ``application/problem+json`` body (RFC 9457): ``type``
    (``urn:folio:problem:<code>``), ``title``, ``status``, ``detail``, the
    stable ``code``, and for validation failures ``errors`` (one entry per
    bad field)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None
    checks: dict[str, str] | None = None
    known_kinds: list[str] | None = None
    max_priority: str | None = None


_PROBLEM_DESCRIPTIONS = {
    400: "Invalid input (the detail names the field)",
    401: "Missing, malformed, unknown or revoked API key",
    403: "The API key is of the wrong kind for this route, or the tenant may not do this",
    404: "No such resource for this tenant",
    409: "The resource is not in a state that allows this",
    413: "The file or body is over the upload limit",
    415: "Unsupported file or body type, or the name disagrees with the bytes",
    422: "The job kind is unknown, or the payload does not match its schema",
    429: "Rate limit reached (see Retry-After)",
    503: "A dependency (database, storage) is unavailable",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries documenting problem-details answers for ``statuses``
    (400, 401, 429 and 503 are always included)."""
    codes = sorted({400, 401, 429, 503, *statuses})
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_PROBLEM_DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            media_type=PROBLEM_MEDIA_TYPE,
        )
        for status in codes
    }
