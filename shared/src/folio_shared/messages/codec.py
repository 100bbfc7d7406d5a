"""Encoding and decoding of messages: what goes into a Dramatiq message.

:func:`encode` turns a message into a JSON-safe ``dict`` (the tag is in its
``"type"`` field); :func:`decode` turns such a dict, or its JSON bytes, back
into the right message type; :func:`decode_as` also checks the type.

Decoding rules (``docs/messages.md``):

- unknown fields are ignored: they come from a newer minor version;
- a known name with an unknown major version (``"docs.process.v9"``) raises
  :class:`~folio_shared.errors.UnsupportedMessageVersion`, naming the
  versions known; the consumer dead-letters the message with that reason;
- an unknown name raises :class:`~folio_shared.errors.UnknownMessageType`;
- anything else wrong (not an object, no tag, a missing or ill-typed
  field) raises :class:`~folio_shared.errors.InvalidMessage` naming the field.

Decoders are built once, when this module is imported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar, overload

import msgspec

from folio_shared.errors import InvalidMessage, UnknownMessageType, UnsupportedMessageVersion
from folio_shared.messages.base import TAG_FIELD, Message, split_tag
from folio_shared.messages.registry import MESSAGE_TYPES, known_versions, registry

M = TypeVar("M", bound=Message)

#: What :func:`decode` accepts: a payload dict, or its JSON text.
Payload = Mapping[str, Any] | bytes | bytearray | memoryview | str


def _union() -> Any:
    union: Any = MESSAGE_TYPES[0]
    for cls in MESSAGE_TYPES[1:]:
        union = union | cls
    return union


class _TagOnly(msgspec.Struct):
    """Reads only the tag of a JSON payload (to explain a failed decode)."""

    type: Any = None


_JSON_DECODER: msgspec.json.Decoder[Message] = msgspec.json.Decoder(_union())
_TAG_DECODER = msgspec.json.Decoder(_TagOnly)
_JSON_ENCODER = msgspec.json.Encoder()
_BY_TAG = registry()


def encode(msg: Message) -> dict[str, Any]:
    """``msg`` as a JSON-safe dict (tag in ``"type"``, every field included)."""
    data: dict[str, Any] = msgspec.to_builtins(msg)
    return data


def encode_json(msg: Message) -> bytes:
    """``msg`` as compact JSON bytes (what :func:`encode` gives, serialised)."""
    return _JSON_ENCODER.encode(msg)


def decode(data: Payload) -> Message:
    """The message in ``data`` (a payload dict or its JSON), of the type its tag names.

    Raises :class:`~folio_shared.errors.UnknownMessageType`,
    :class:`~folio_shared.errors.UnsupportedMessageVersion` or
    :class:`~folio_shared.errors.InvalidMessage` (see the module docstring).
    """
    if isinstance(data, Mapping):
        return _decode_mapping(data)
    if isinstance(data, bytes | bytearray | memoryview | str):
        return _decode_json(data)
    raise InvalidMessage(
        f"a message must be a JSON object, not {type(data).__name__}", reason="not an object"
    )


@overload
def decode_as(data: Payload, expected: type[M]) -> M: ...
@overload
def decode_as(data: Payload, expected: tuple[type[Message], ...]) -> Message: ...
def decode_as(data: Payload, expected: type[Message] | tuple[type[Message], ...]) -> Message:
    """Like :func:`decode`, and the message must be of ``expected`` type.

    ``expected`` may be a tuple of types: a consumer decoding an old and a new
    major version until the old has drained. A message of a known name with a
    major version outside ``expected`` raises
    :class:`~folio_shared.errors.UnsupportedMessageVersion`; a message of
    another kind raises :class:`~folio_shared.errors.InvalidMessage`.
    """
    types = expected if isinstance(expected, tuple) else (expected,)
    msg = decode(data)
    if isinstance(msg, types):
        return msg
    tag = msg.type_tag()
    wanted = [cls.type_tag() for cls in types]
    name = split_tag(tag)[0]
    if any(split_tag(w)[0] == name for w in wanted):
        raise UnsupportedMessageVersion(
            f"message type {tag!r} is not supported here; this consumer knows "
            + ", ".join(repr(w) for w in wanted),
            tag=tag,
            known_tags=wanted,
        )
    raise InvalidMessage(
        f"expected a message of type {' or '.join(repr(w) for w in wanted)}, got {tag!r}",
        tag=tag,
        expected=wanted,
    )


def _decode_mapping(data: Mapping[str, Any]) -> Message:
    tag = data.get(TAG_FIELD)
    cls = _BY_TAG.get(tag) if isinstance(tag, str) else None
    if cls is None or not isinstance(tag, str):
        raise _tag_error(tag)
    try:
        return msgspec.convert(data if isinstance(data, dict) else dict(data), cls)
    except msgspec.ValidationError as e:
        raise _invalid(tag, e) from e


def _decode_json(data: bytes | bytearray | memoryview | str) -> Message:
    try:
        return _JSON_DECODER.decode(data)
    except msgspec.ValidationError as e:
        error = e
    except msgspec.DecodeError as e:
        raise InvalidMessage(f"message is not valid JSON: {e}", reason=str(e)) from e
    # Explain the failure: a bad tag, or a bad field of a known type.
    try:
        tag: object = _TAG_DECODER.decode(data).type
    except msgspec.ValidationError as e:
        raise InvalidMessage(f"a message must be a JSON object: {e}", reason=str(e)) from e
    if not isinstance(tag, str) or tag not in _BY_TAG:
        raise _tag_error(tag) from error
    raise _invalid(tag, error) from error


def _tag_error(tag: object) -> Exception:
    """The error for a payload whose tag names no known message type."""
    if tag is None:
        return InvalidMessage(
            f"message has no {TAG_FIELD!r} field naming its type", field=TAG_FIELD
        )
    if not isinstance(tag, str):
        return InvalidMessage(
            f"message field {TAG_FIELD!r} must be a string, got {type(tag).__name__}",
            field=TAG_FIELD,
        )
    try:
        name, major = split_tag(tag)
    except ValueError:
        return UnknownMessageType(f"unknown message type {tag!r}", tag=tag)
    versions = known_versions(name)
    if not versions:
        return UnknownMessageType(f"unknown message type {tag!r}", tag=tag, name=name)
    known = [f"{name}.v{v}" for v in versions]
    return UnsupportedMessageVersion(
        f"message type {tag!r} is not supported: major version {major} of {name!r} is "
        f"unknown (known: {', '.join(known)})",
        tag=tag,
        name=name,
        major=major,
        known_tags=known,
    )


_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_MISSING = re.compile(r"missing required field `(?P<field>[^`]+)`")


def _invalid(tag: str, error: msgspec.ValidationError) -> InvalidMessage:
    """An :class:`InvalidMessage` naming the field msgspec complained about."""
    text = str(error)
    path = ""
    at = _AT.search(text)
    if at is not None:
        path = at["path"]
        text = text[: at.start()]
    missing = _MISSING.search(text)
    if missing is not None:
        path = f"{path}.{missing['field']}" if path else missing["field"]
    field = path or None
    where = f", field {field!r}" if field else ""
    return InvalidMessage(
        f"invalid {tag!r} message{where}: {text}",
        tag=tag,
        field=field,
        reason=text,
    )
