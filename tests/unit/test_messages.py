"""The message-schema package: contracts, codec, registry, routing (queues and
priorities: ``test_queues.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from folio_shared.errors import (
    FolioError,
    InvalidMessage,
    RedriveOptionRefused,
    UnknownMessageType,
    UnsupportedMessageVersion,
)
from folio_shared.messages import (
    MESSAGE_TYPES,
    EmbedQueryV1,
    ExpireUploadsV1,
    FinalizeDocumentV1,
    Message,
    OcrPageV1,
    Priority,
    ProcessDocumentV1,
    Queue,
    actor_names,
    check_redrive_options,
    decode,
    decode_as,
    describe,
    encode,
    encode_json,
    json_schema,
    known_tags,
    known_versions,
    message_type,
    registry,
    route,
    split_tag,
    types_for_actor,
)
from folio_shared.messages.base import NEVER_REDRIVEN, check_message_type

DOCS = Path(__file__).resolve().parents[2] / "docs" / "messages.md"

_SAMPLES: dict[str, Any] = {"page_no": 2, "query": "what is due in March"}


def sample(cls: type[Message]) -> Message:
    """A valid instance of ``cls`` with every required field filled in."""
    values: dict[str, Any] = {}
    for f in describe(cls).fields:
        if f.required:
            values[f.name] = _SAMPLES.get(f.name, f"{f.name}-0b6f3c1e")
    return cls(**values)


def process_payload(**changes: Any) -> dict[str, Any]:
    msg = ProcessDocumentV1(
        job_id="j1",
        tenant_id="t1",
        document_id="d1",
        storage_key="tenants/t1/documents/d1/abc",
        content_type="application/pdf",
    )
    return {**encode(msg), **changes}


# --- round trips -----------------------------------------------------------------


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: c.type_tag())
def test_every_message_type_round_trips(cls: type[Message]) -> None:
    msg = sample(cls)
    payload = encode(msg)
    assert payload["type"] == cls.type_tag()
    # JSON-safe: survives the trip through the broker's JSON encoder unchanged
    assert json.loads(json.dumps(payload)) == payload
    assert decode(payload) == msg
    assert decode(json.dumps(payload).encode()) == msg
    assert decode(encode_json(msg)) == msg
    assert decode(encode_json(msg).decode()) == msg
    assert decode_as(payload, cls) == msg


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: c.type_tag())
def test_messages_are_frozen_and_hashable(cls: type[Message]) -> None:
    msg = sample(cls)
    field = describe(cls).fields[0].name
    with pytest.raises(AttributeError):
        setattr(msg, field, "changed")
    assert hash(msg) == hash(decode(encode(msg)))


def test_encode_writes_enums_as_their_values() -> None:
    msg = OcrPageV1(
        job_id="p1",
        parent_job_id="j1",
        tenant_id="t1",
        document_id="d1",
        storage_key="k",
        content_type="image/png",
        page_no=1,
        priority=Priority.CRITICAL,
    )
    assert encode(msg)["priority"] == "critical"
    assert decode(encode(msg)).priority is Priority.CRITICAL  # type: ignore[attr-defined]


# --- evolution rules -------------------------------------------------------------


def test_unknown_extra_fields_are_ignored() -> None:
    # Given a payload from a newer minor version, with a field this code lacks
    payload = process_payload(added_in_a_later_minor={"any": ["thing"]}, another=1)
    # When / Then it decodes, and the extra fields are dropped
    msg = decode(payload)
    assert msg == decode(process_payload())
    assert decode(json.dumps(payload)) == msg
    assert "another" not in encode(msg)


def test_unknown_major_version_is_unsupported() -> None:
    for data in (process_payload(type="docs.process.v9"), b'{"type": "docs.process.v9"}'):
        with pytest.raises(UnsupportedMessageVersion) as info:
            decode(data)
        assert "docs.process.v9" in str(info.value)
        assert "docs.process.v1" in str(info.value)
        assert info.value.details["tag"] == "docs.process.v9"
        assert info.value.details["known_tags"] == ["docs.process.v1"]
        assert info.value.code == "unsupported_message_version"


@pytest.mark.parametrize("tag", ["nope.process.v1", "docs.shred.v1", "docs.process", "v1", ""])
def test_unknown_name_is_an_unknown_message_type(tag: str) -> None:
    with pytest.raises(UnknownMessageType, match="unknown message type"):
        decode(process_payload(type=tag))
    with pytest.raises(UnknownMessageType):
        decode(json.dumps(process_payload(type=tag)))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"job_id": "j1"}, "type"),
        ({"type": 7}, "type"),
        ({"type": None}, "type"),
    ],
)
def test_a_missing_or_bad_tag_is_invalid(data: dict[str, Any], field: str) -> None:
    for payload in (data, json.dumps(data)):
        with pytest.raises(InvalidMessage) as info:
            decode(payload)
        assert info.value.details["field"] == field


@pytest.mark.parametrize("data", [b"[1, 2]", b'"docs.process.v1"', b"{not json", 42, None])
def test_a_payload_that_is_not_an_object_is_invalid(data: Any) -> None:
    with pytest.raises(InvalidMessage):
        decode(data)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"document_id": msgspec.UNSET}, "document_id"),  # missing
        ({"job_id": 123}, "job_id"),  # wrong type
        ({"force_ocr": "yes"}, "force_ocr"),
        ({"priority": "urgent"}, "priority"),  # not a Priority
        ({"ocr_dpi": 10}, "ocr_dpi"),  # out of range
        ({"job_id": ""}, "job_id"),  # empty id
    ],
)
def test_invalid_fields_are_named(changes: dict[str, Any], field: str) -> None:
    payload = {k: v for k, v in process_payload(**changes).items() if v is not msgspec.UNSET}
    for data in (payload, json.dumps(payload).encode()):
        with pytest.raises(InvalidMessage) as info:
            decode(data)
        assert info.value.details["field"] == field
        assert info.value.details["tag"] == "docs.process.v1"
        assert repr(field) in str(info.value)


def test_page_numbers_are_one_based() -> None:
    payload = encode(sample(OcrPageV1)) | {"page_no": 0}
    with pytest.raises(InvalidMessage, match="page_no"):
        decode(payload)


def test_message_errors_are_folio_errors() -> None:
    for error in (InvalidMessage, UnknownMessageType, UnsupportedMessageVersion):
        assert issubclass(error, FolioError)
        assert not error.retryable


# --- decode_as ---------------------------------------------------------------------


def test_decode_as_returns_the_expected_type() -> None:
    msg = decode_as(process_payload(), ProcessDocumentV1)
    assert isinstance(msg, ProcessDocumentV1)
    assert msg.storage_key == "tenants/t1/documents/d1/abc"


def test_decode_as_rejects_another_kind_of_message() -> None:
    with pytest.raises(InvalidMessage, match=r"expected a message of type 'ocr\.page\.v1'"):
        decode_as(process_payload(), OcrPageV1)


def test_decode_as_accepts_any_of_several_versions() -> None:
    msg = decode_as(process_payload(), (FinalizeDocumentV1, ProcessDocumentV1))
    assert isinstance(msg, ProcessDocumentV1)


def test_decode_as_rejects_a_major_the_consumer_dropped() -> None:
    # Given a consumer that only knows a newer major version
    class ProcessDocumentV2(Message, frozen=True, tag="docs.process.v2"):
        actor_name = "docs.process"
        queue = Queue.DOCUMENTS
        job_id: str

    # When a v1 message reaches it, Then it is an unsupported version
    with pytest.raises(UnsupportedMessageVersion, match=r"docs\.process\.v1"):
        decode_as(process_payload(), ProcessDocumentV2)


# --- registry ----------------------------------------------------------------------


def test_every_message_type_has_a_unique_tag_and_actor() -> None:
    tags = [cls.type_tag() for cls in MESSAGE_TYPES]
    assert len(set(tags)) == len(tags)
    # one actor per kind of message; versions of a kind share their actor
    names = [split_tag(tag)[0] for tag in tags]
    assert len(set(names)) == len(set(actor_names()))
    for cls in MESSAGE_TYPES:
        assert cls.type_tag() == f"{cls.actor_name}.v{cls.major()}"
        assert "." in cls.actor_name
        assert isinstance(cls.queue, Queue)
        assert types_for_actor(cls.actor_name) == (cls,)


def test_registry_lists_every_type_by_tag() -> None:
    assert set(registry()) == set(known_tags())
    assert list(registry().values()) == list(MESSAGE_TYPES)
    assert message_type("ocr.page.v1") is OcrPageV1
    assert message_type("ocr.page.v9") is None
    assert known_versions("docs.process") == (1,)
    assert known_versions("docs.shred") == ()
    with pytest.raises(TypeError):
        registry()["x.v1"] = OcrPageV1  # type: ignore[index]


def test_every_concrete_message_type_is_registered() -> None:
    def concrete(cls: type[Message]) -> set[type[Message]]:
        found: set[type[Message]] = set()
        for sub in cls.__subclasses__():
            if isinstance(sub.__struct_config__.tag, str) and sub.__module__.startswith(
                "folio_shared."
            ):
                found.add(sub)
            found |= concrete(sub)
        return found

    assert concrete(Message) == set(MESSAGE_TYPES)


def test_known_actors_and_queues() -> None:
    expected = {
        "docs.process.v1": ("docs.process", Queue.DOCUMENTS),
        "ocr.page.v1": ("ocr.page", Queue.OCR),
        "docs.finalize.v1": ("docs.finalize", Queue.DOCUMENTS),
        "queries.embed.v1": ("queries.embed", Queue.QUERIES),
        "maintenance.expire_uploads.v1": ("maintenance.expire_uploads", Queue.MAINTENANCE),
        "maintenance.find_orphans.v1": ("maintenance.find_orphans", Queue.MAINTENANCE),
        "maintenance.purge_job_history.v1": ("maintenance.purge_job_history", Queue.MAINTENANCE),
        "maintenance.reap_stuck_jobs.v1": ("maintenance.reap_stuck_jobs", Queue.MAINTENANCE),
        "maintenance.relay_outbox.v1": ("maintenance.relay_outbox", Queue.MAINTENANCE),
        "maintenance.apply_document_retention.v1": (
            "maintenance.apply_document_retention",
            Queue.MAINTENANCE,
        ),
        "webhooks.deliver.v1": ("webhooks.deliver", Queue.WEBHOOKS),
    }
    for tag, (actor, queue) in expected.items():
        cls = registry()[tag]
        assert (cls.actor_name, cls.queue) == (actor, queue)


@pytest.mark.parametrize(
    ("tag", "actor"),
    [("docs.process.v2", "docs.process"), ("docs.other.v1", "docs.process"), ("Docs.x.v1", "x")],
)
def test_a_badly_declared_message_type_is_refused(tag: str, actor: str) -> None:
    class Bad(Message, frozen=True, tag=tag):
        actor_name = "docs.process"
        queue = Queue.DOCUMENTS

    if tag == "docs.process.v2":
        check_message_type(Bad)  # well formed
        Bad.queue = "documents"  # type: ignore[assignment]
    with pytest.raises(TypeError):
        check_message_type(Bad)


def test_maintenance_messages_carry_tick_and_dry_run() -> None:
    for cls in MESSAGE_TYPES:
        if cls.queue is Queue.MAINTENANCE:
            names = {f.name: f for f in describe(cls).fields}
            assert names["tick"].type == "str | None"
            assert names["dry_run"].default is False
            assert all(not f.required for f in names.values())


def test_json_schema_covers_every_tag() -> None:
    schema = json.dumps(json_schema())
    for tag in known_tags():
        assert f'"{tag}"' in schema


def test_docs_list_every_message() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for cls in MESSAGE_TYPES:
        spec = describe(cls)
        assert f"`{spec.tag}`" in text, f"docs/messages.md lacks {spec.tag}"
        for f in spec.fields:
            assert f"`{f.name}`" in text


# --- routing -----------------------------------------------------------------------


def test_route_names_actor_queue_and_payload() -> None:
    msg = decode(process_payload(priority="high"))
    r = route(msg)
    assert r.actor_name == "docs.process"
    assert (r.queue, r.priority, r.queue_name) == (Queue.DOCUMENTS, Priority.HIGH, "documents.high")
    assert r.payload == encode(msg)


def test_route_uses_the_type_default_priority() -> None:
    r = route(EmbedQueryV1(query="march invoices", tenant_id="t1"))
    assert (r.priority, r.queue_name) == (Priority.HIGH, "queries.high")
    r = route(ExpireUploadsV1(), priority=Priority.LOW)
    assert r.queue_name == "maintenance.low"


def test_route_to_another_queue() -> None:
    r = route(decode(process_payload()), queue=Queue.DOCUMENTS_LARGE)
    assert r.queue_name == "documents-large"


def test_route_refuses_a_priority_the_message_contradicts() -> None:
    msg = decode(process_payload(priority="normal"))
    assert route(msg, priority=Priority.NORMAL).queue_name == "documents"
    with pytest.raises(ValueError, match="carries priority 'normal'"):
        route(msg, priority=Priority.CRITICAL)


def test_every_type_allows_redrive_of_its_options_never_of_whose_data() -> None:
    for cls in MESSAGE_TYPES:
        names = {f.encode_name for f in msgspec.structs.fields(cls)}
        assert cls.redrive_options <= names, cls
        assert not cls.redrive_options & NEVER_REDRIVEN, cls
    assert "storage_key" not in ProcessDocumentV1.redrive_options
    assert "force_ocr" in ProcessDocumentV1.redrive_options


def test_a_type_allowing_redrive_of_its_storage_key_fails_at_declaration() -> None:
    class Sneaky(Message, frozen=True, tag="docs.sneaky.v1"):
        actor_name = "docs.sneaky"
        queue = Queue.DOCUMENTS
        redrive_options = frozenset({"storage_key"})

        storage_key: str

    with pytest.raises(TypeError, match="storage_key"):
        check_message_type(Sneaky)


def test_redrive_options_are_checked_against_the_type() -> None:
    payload = msgspec.to_builtins(
        ProcessDocumentV1(
            job_id="j", tenant_id="t", document_id="d", storage_key="k", content_type="text/plain"
        )
    )
    check_redrive_options(payload, {"force_ocr": True, "ocr_dpi": 300})
    for bad in ({"tenant_id": "other"}, {"storage_key": "x"}, {"ocr_dpi": "high"}, {"zzz": 1}):
        with pytest.raises(RedriveOptionRefused):
            check_redrive_options(payload, bad)
    own_kind = {"type": "acme.invoice.v1", "job_id": "j", "vendor": "x"}
    check_redrive_options(own_kind, {"vendor": "y"})
    with pytest.raises(RedriveOptionRefused):
        check_redrive_options(own_kind, {"job_id": "other"})
