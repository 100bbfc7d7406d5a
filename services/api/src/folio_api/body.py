"""JSON request bodies with a number beyond a double's range.

Litestar decodes a JSON body to plain values first (msgspec, untyped) and
converts them to the route's type after, which is where a bad field gets
named. msgspec's untyped decoder refuses a number beyond a double's range
(``1e400``) there and then, so such a body was a 400 ``bad_request`` whose
detail named no field (``$[...][...]``), while the same metadata in a
multipart upload is a 400 ``invalid_input`` naming ``metadata``.

:class:`FolioRequest` decodes such a body again with the standard library,
which reads the number as ``inf``: the conversion then names a typed field
(``size_bytes``), and :func:`~folio_api.domain.documents.metadata.check_metadata`
names ``metadata``. Only well-formed JSON gets the second decode (msgspec
refused a value, not the syntax), and ``NaN`` and ``Infinity``, which are
not JSON, stay refused. Litestar has no hook for this: its ``type_decoders``
apply after the untyped decode.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode_wide(body: bytes) -> Any:
    """``body`` as the standard library reads it, numbers beyond a double's
    range as infinities; ``ValueError`` for what is not JSON (``NaN``)."""
    return json.loads(body, parse_constant=_not_json)


class FolioRequest(Request[Any, Any, Any]):
    """Litestar's request, but for :meth:`json` (see the module notes)."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except SerializationException as e:
            if not isinstance(e.__cause__, msgspec.ValidationError):
                raise  # malformed: stays a 400 bad_request
            try:
                value = decode_wide(await self.body())
            except (ValueError, RecursionError):
                raise e from None
            self._json = self._connection_state.json = value
            return value
