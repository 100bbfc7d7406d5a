"""The JSON encoder of Folio's Dramatiq messages.

Dramatiq encodes every message with one process-wide encoder
(``dramatiq.set_encoder``); its default, :class:`dramatiq.encoder.JSONEncoder`,
runs the standard library's ``json`` over the message's fields. The API
encodes a message per queued job, where that was a visible part of its CPU.
:class:`MsgspecJSONEncoder` writes the same JSON with msgspec, about four
times faster, and reads any JSON the default one writes (and the other way
round), so processes with either encoder share queues.

:func:`install` makes it Dramatiq's encoder; :func:`folio_shared.broker.create_broker`
calls it, so every Folio process that has a broker uses it.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import msgspec
from dramatiq.encoder import Encoder, MessageData
from dramatiq.errors import DecodeError

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class MsgspecJSONEncoder(Encoder):
    """Dramatiq message data as compact JSON (UTF-8), by msgspec.

    Dramatiq uses the same encoder for results (``queries.embed`` answers a
    list of floats), so any JSON value goes, as with the default encoder.
    Decoding errors raise Dramatiq's :class:`~dramatiq.errors.DecodeError`,
    as the default encoder's do (the worker then rejects the message).
    """

    def encode(self, data: MessageData) -> bytes:
        return _encode(data)

    def decode(self, data: bytes) -> MessageData:
        try:
            decoded: Any = _decode(data)
        except msgspec.DecodeError as e:
            raise DecodeError(f"failed to decode message {data!r}", data, e) from None  # type: ignore[no-untyped-call]
        return decoded  # type: ignore[no-any-return]  # results are any JSON


#: The encoder every Folio process installs.
ENCODER = MsgspecJSONEncoder()


def install() -> None:
    """Make :data:`ENCODER` Dramatiq's encoder in this process (idempotent)."""
    dramatiq.set_encoder(ENCODER)
