"""Folio's versioned message contracts: the only thing services share on the wire.

Every payload that travels through the broker is a frozen, tagged
:class:`Message` defined here; senders (API, scheduler, outbox relay) use
:func:`route` and :func:`encode`, consumers :func:`decode_as`. Versioning
rules and the table of every message are in ``docs/messages.md``.
"""

from __future__ import annotations

from folio_shared.messages.base import (
    TAG_FIELD,
    ContentType,
    Id,
    Message,
    StorageKey,
    split_tag,
)
from folio_shared.messages.codec import decode, decode_as, encode, encode_json
from folio_shared.messages.documents import FinalizeDocumentV1, ProcessDocumentV1
from folio_shared.messages.maintenance import (
    ApplyDocumentRetentionV1,
    ExpireUploadsV1,
    FindOrphansV1,
    MaintenanceMessage,
    PurgeJobHistoryV1,
    ReapStuckJobsV1,
    ReembedChunksV1,
    RelayOutboxV1,
)
from folio_shared.messages.ocr import OcrPageV1
from folio_shared.messages.queries import EmbedQueryV1
from folio_shared.messages.queues import (
    QUEUE_NAME,
    Priority,
    Queue,
    check_queue_name,
    logical_of,
    parse_physical_queue_name,
    physical_queue_name,
    physical_queue_names,
)
from folio_shared.messages.registry import (
    MESSAGE_TYPES,
    FieldSpec,
    MessageSpec,
    actor_names,
    check_redrive_options,
    describe,
    json_schema,
    known_tags,
    known_versions,
    message_type,
    registry,
    types_for_actor,
)
from folio_shared.messages.routing import Route, message_priority, route
from folio_shared.messages.webhooks import DeliverWebhookV1

__all__ = [
    "MESSAGE_TYPES",
    "QUEUE_NAME",
    "TAG_FIELD",
    "ApplyDocumentRetentionV1",
    "ContentType",
    "DeliverWebhookV1",
    "EmbedQueryV1",
    "ExpireUploadsV1",
    "FieldSpec",
    "FinalizeDocumentV1",
    "FindOrphansV1",
    "Id",
    "MaintenanceMessage",
    "Message",
    "MessageSpec",
    "OcrPageV1",
    "Priority",
    "ProcessDocumentV1",
    "PurgeJobHistoryV1",
    "Queue",
    "ReapStuckJobsV1",
    "ReembedChunksV1",
    "RelayOutboxV1",
    "Route",
    "StorageKey",
    "actor_names",
    "check_queue_name",
    "check_redrive_options",
    "decode",
    "decode_as",
    "describe",
    "encode",
    "encode_json",
    "json_schema",
    "known_tags",
    "known_versions",
    "logical_of",
    "message_priority",
    "message_type",
    "parse_physical_queue_name",
    "physical_queue_name",
    "physical_queue_names",
    "registry",
    "route",
    "split_tag",
    "types_for_actor",
]
