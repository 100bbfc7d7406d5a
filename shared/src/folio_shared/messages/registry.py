"""The registry of message types: every tag Folio can send or receive.

:data:`MESSAGE_TYPES` is the one list; a message type missing from it cannot
be decoded. It is checked when this module is imported (tag form, actor
name, queue, unique tags), so a bad declaration fails at import time. The
documentation (``docs/messages.md``) and the contract tests
(``tests/contract/``) are driven by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import msgspec

from folio_shared.errors import RedriveOptionRefused
from folio_shared.messages.base import (
    NEVER_REDRIVEN,
    TAG_FIELD,
    Message,
    check_message_type,
    split_tag,
)
from folio_shared.messages.documents import FinalizeDocumentV1, ProcessDocumentV1
from folio_shared.messages.maintenance import (
    ApplyDocumentRetentionV1,
    ExpireUploadsV1,
    FindOrphansV1,
    PurgeJobHistoryV1,
    ReapStuckJobsV1,
    ReembedChunksV1,
    RelayOutboxV1,
)
from folio_shared.messages.ocr import OcrPageV1
from folio_shared.messages.queries import EmbedQueryV1
from folio_shared.messages.queues import Priority, Queue
from folio_shared.messages.webhooks import DeliverWebhookV1

#: Every message type, in documentation order. Add a new type (or a new
#: major version) here, with its golden file under ``tests/contract/golden/``.
MESSAGE_TYPES: tuple[type[Message], ...] = (
    ProcessDocumentV1,
    OcrPageV1,
    FinalizeDocumentV1,
    EmbedQueryV1,
    ExpireUploadsV1,
    FindOrphansV1,
    PurgeJobHistoryV1,
    ReapStuckJobsV1,
    RelayOutboxV1,
    ApplyDocumentRetentionV1,
    ReembedChunksV1,
    DeliverWebhookV1,
)


def _build() -> tuple[Mapping[str, type[Message]], Mapping[str, tuple[type[Message], ...]]]:
    by_tag: dict[str, type[Message]] = {}
    by_actor: dict[str, list[type[Message]]] = {}
    for cls in MESSAGE_TYPES:
        check_message_type(cls)
        tag = cls.type_tag()
        if tag in by_tag:
            raise TypeError(f"{cls.__name__}: tag {tag!r} is already {by_tag[tag].__name__}'s")
        by_tag[tag] = cls
        by_actor.setdefault(cls.actor_name, []).append(cls)
    for actor, types in by_actor.items():
        queues = {cls.queue for cls in types}
        if len(queues) > 1:
            raise TypeError(f"versions of {actor!r} name different queues: {sorted(queues)}")
    oldest_first = {a: tuple(sorted(t, key=lambda c: c.major())) for a, t in by_actor.items()}
    return MappingProxyType(by_tag), MappingProxyType(oldest_first)


_BY_TAG, _BY_ACTOR = _build()


def registry() -> Mapping[str, type[Message]]:
    """Every known tag → its message type (read-only)."""
    return _BY_TAG


def known_tags() -> tuple[str, ...]:
    """Every known tag, in :data:`MESSAGE_TYPES` order."""
    return tuple(_BY_TAG)


def message_type(tag: str) -> type[Message] | None:
    """The message type with ``tag``, or ``None``."""
    return _BY_TAG.get(tag)


def actor_names() -> tuple[str, ...]:
    """Every actor a message is addressed to."""
    return tuple(_BY_ACTOR)


def types_for_actor(actor_name: str) -> tuple[type[Message], ...]:
    """The message types (all major versions, oldest first) ``actor_name``
    consumes; empty for an unknown actor. A consumer decodes each of them
    until the old ones have drained."""
    return _BY_ACTOR.get(actor_name, ())


def known_versions(name: str) -> tuple[int, ...]:
    """The major versions known for the message named ``name``
    (``"docs.process"`` → ``(1,)``); empty when the name is unknown."""
    return tuple(sorted(split_tag(t)[1] for t in _BY_TAG if split_tag(t)[0] == name))


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a message type, for documentation."""

    name: str
    type: str  #: readable type, e.g. ``str | None``
    required: bool
    default: Any  #: ``None`` when required (see ``required``)


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """What a message type is, for documentation and tooling."""

    tag: str
    name: str
    major: int
    actor_name: str
    queue: Queue
    default_priority: Priority
    type_name: str
    fields: tuple[FieldSpec, ...]


def describe(cls: type[Message]) -> MessageSpec:
    """The :class:`MessageSpec` of ``cls``."""
    tag = cls.type_tag()
    name, major = split_tag(tag)
    fields = tuple(
        FieldSpec(
            name=f.encode_name,
            type=_type_name(f.type),
            required=f.required,
            default=None if f.required else _default_of(f),
        )
        for f in msgspec.structs.fields(cls)
    )
    return MessageSpec(
        tag=tag,
        name=name,
        major=major,
        actor_name=cls.actor_name,
        queue=cls.queue,
        default_priority=cls.default_priority,
        type_name=cls.__name__,
        fields=fields,
    )


def check_redrive_options(payload: Mapping[str, Any], options: Mapping[str, Any]) -> None:
    """Refuse (:class:`RedriveOptionRefused`) ``options`` for re-running a
    job whose message is ``payload``: each must be in its type's
    ``redrive_options``, and the payload they make must still decode. A
    type not in this registry (a job kind of a user's own) may have any
    option changed but those of :data:`~.base.NEVER_REDRIVEN`."""
    tag = payload.get(TAG_FIELD)
    cls = _BY_TAG.get(tag) if isinstance(tag, str) else None
    if cls is None:  # a job kind of a user's own: only the fixed fields are known
        if fixed := sorted(set(options) & NEVER_REDRIVEN):
            raise RedriveOptionRefused(
                f"{tag}: option(s) {', '.join(fixed)} may never be changed on re-drive",
                refused=fixed,
            )
        return
    allowed = sorted(cls.redrive_options)
    if refused := sorted(set(options) - cls.redrive_options):
        raise RedriveOptionRefused(
            f"{tag}: option(s) {', '.join(refused)} may not be changed on re-drive "
            f"(allowed: {', '.join(allowed) or 'none'})",
            refused=refused,
            allowed=allowed,
        )
    try:
        msgspec.convert({**payload, **options}, cls)
    except msgspec.ValidationError as e:
        raise RedriveOptionRefused(f"{tag}: invalid re-drive option: {e}", allowed=allowed) from e


def json_schema() -> dict[str, Any]:
    """JSON Schema of every message (a tagged union), for external tooling."""
    union: Any = MESSAGE_TYPES[0]
    for cls in MESSAGE_TYPES[1:]:
        union = union | cls
    schema: dict[str, Any] = msgspec.json.schema(union)
    return schema


def _default_of(f: msgspec.structs.FieldInfo) -> Any:
    if f.default is not msgspec.NODEFAULT:
        return msgspec.to_builtins(f.default)
    if f.default_factory is not msgspec.NODEFAULT:
        return msgspec.to_builtins(f.default_factory())
    return None


def _type_name(tp: Any) -> str:
    """``Annotated[str, Meta(...)] | None`` → ``"str | None"``."""
    info = msgspec.inspect.type_info(tp)
    return _info_name(info)


def _info_name(info: msgspec.inspect.Type) -> str:
    if isinstance(info, msgspec.inspect.UnionType):
        return " | ".join(_info_name(t) for t in info.types)
    if isinstance(info, msgspec.inspect.EnumType):
        return info.cls.__name__
    names = {
        msgspec.inspect.StrType: "str",
        msgspec.inspect.IntType: "int",
        msgspec.inspect.BoolType: "bool",
        msgspec.inspect.FloatType: "float",
        msgspec.inspect.NoneType: "None",
    }
    return names.get(type(info), type(info).__name__.removesuffix("Type").lower())
