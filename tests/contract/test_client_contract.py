"""The Python client cannot drift from the API: every response schema of the
routes in ``/schema`` is read into a client model with a field for each of
its properties, or is a list the client unwraps into typed items. A new
schema, or a new field of a typed one, fails this test until the client
follows."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator
from typing import Any, get_type_hints

import pytest

from folio_api.app import create_app
from folio_client import (
    ApiKey,
    AsyncFolio,
    Attempt,
    AuditEntry,
    Batch,
    Chunk,
    DeadJob,
    Delivery,
    DeliveryAttempt,
    DeliveryPage,
    Document,
    DocumentFields,
    Expected,
    FieldValue,
    Folio,
    Job,
    JobDetail,
    JobInputGrant,
    JobStats,
    JobType,
    KeyCreated,
    KindStats,
    Percentiles,
    PresignedUpload,
    Purged,
    QueuePause,
    QueueState,
    Redriven,
    SearchHit,
    StalledJob,
    Text,
    Upload,
    UploadGrant,
    Webhook,
    WebhookCreated,
    WebhookSecret,
    Worker,
)
from folio_client.async_client import AsyncOps
from folio_client.sync_client import Ops
from folio_shared.settings import FolioSettings

#: Each client's operator namespace (``folio.ops``).
OPS: dict[type, type] = {Folio: Ops, AsyncFolio: AsyncOps}
#: Response schema → the client model reading it.
TYPED: dict[str, type] = {
    "DocumentOut": Document,
    "UploadOut": Upload,
    "JobOut": Job,
    "TextOut": Text,
    "SearchHitOut": SearchHit,
    "BatchOut": Batch,
    "JobStats": JobStats,
    "KindStats": KindStats,
    "Percentiles": Percentiles,
    "JobTypeOut": JobType,
    "KeyOut": ApiKey,
    "KeyCreated": KeyCreated,
    "DocumentFieldsOut": DocumentFields,
    "FieldOut": FieldValue,
    "ExpectedOut": Expected,
    "ChunkOut": Chunk,
    "UploadGrantOut": UploadGrant,
    "JobInputGrantOut": JobInputGrant,
    "PresignedUploadOut": PresignedUpload,
    "QueueOut": QueueState,
    "WorkerOut": Worker,
    "DeadJobOut": DeadJob,
    "JobDetailOut": JobDetail,
    "ops_schemas_AttemptOut": Attempt,
    "RedriveOut": Redriven,
    "PurgeOut": Purged,
    "PauseOut": QueuePause,
    "StalledJobOut": StalledJob,
    "AuditEntryOut": AuditEntry,
    "WebhookOut": Webhook,
    "WebhookCreated": WebhookCreated,
    "WebhookSecret": WebhookSecret,
    "DeliveryOut": Delivery,
    "DeliveryList": DeliveryPage,
    "webhooks_schemas_AttemptOut": DeliveryAttempt,
}
#: Response schemas → the client method returning them (typed methods).
RETURNED_BY: dict[str, str] = {
    "BatchOut": "batch",
    "JobStats": "job_stats",
    "KeyCreated": "create_key",
    "DocumentFieldsOut": "fields",
    "WebhookCreated": "create_webhook",
    "WebhookOut": "webhook",
    "WebhookSecret": "rotate_webhook_secret",
    "DeliveryList": "webhook_deliveries",
    "DeliveryOut": "resend_delivery",
    "JobDetailOut": "ops.dead_job",
    "RedriveOut": "ops.redrive",
    "PurgeOut": "ops.purge",
    "PauseOut": "ops.pause",
}
#: Schemas read by the client's iterators and list methods, not returned whole:
#: name → (method, the property holding what it yields).
UNWRAPPED: dict[str, tuple[str, str]] = {
    "DocumentPage": ("documents", "items"),
    "JobPage": ("jobs", "items"),
    "SearchResults": ("search", "results"),
    "JobTypeList": ("job_types", "items"),
    "KeyList": ("keys", "items"),
    "ChunkPage": ("chunks", "items"),
    "QueuesOut": ("ops.queues", "items"),
    "WorkersOut": ("ops.workers", "items"),
    "DeadJobsOut": ("ops.dead", "items"),
    "StalledJobsOut": ("ops.stalled", "items"),
    "AuditOut": ("ops.audit", "items"),
    "WebhookList": ("webhooks", "items"),
}
#: Answers the client has no model for: the liveness probe (for
#: orchestrators, not applications) and the local storage backend's answer
#: to a presigned upload (S3 answers differently; the client checks the
#: status only).
NOT_CALLED = frozenset({"Liveness", "UploadedObject"})
#: Nested schemas kept as the API's JSON in the models (``links`` mappings,
#: a job's ``error`` and ``timeline`` entries, a text's ``pages``).
NESTED_AS_JSON = frozenset({"DocumentLinks", "JobLinks", "JobError", "TimelineEntry", "PageText"})
#: Nested schemas read by another schema's model, with the names it maps:
#: ``JobRef`` (an upload's job) is read by ``Job`` (``job_id`` → ``id``).
READ_AS: dict[str, tuple[type, dict[str, str]]] = {"JobRef": (Job, {"job_id": "id"})}


def method_of(client: type, dotted: str) -> Any:
    """``client``'s method (``ops.<name>``: of its operator namespace)."""
    if dotted.startswith("ops."):
        return getattr(OPS[client], dotted.removeprefix("ops."))
    return getattr(client, dotted)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    app = create_app(FolioSettings(env="test"))
    result: dict[str, Any] = app.openapi_schema.to_schema()
    return result


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value.rsplit("/", 1)[-1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def response_schemas(schema: dict[str, Any]) -> set[str]:
    """The schemas of every 2xx answer of every route."""
    names: set[str] = set()
    for operations in schema["paths"].values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for status, response in (operation.get("responses") or {}).items():
                if status.startswith("2"):
                    names.update(_refs(response))
    return names


def test_every_response_schema_is_accounted_for(schema: dict[str, Any]) -> None:
    known = set(TYPED) | set(UNWRAPPED) | NOT_CALLED
    answered = response_schemas(schema)
    assert answered - known == set()
    reachable = _closure(schema, answered)
    assert known - NOT_CALLED <= reachable  # nothing stale listed


def _closure(schema: dict[str, Any], names: set[str]) -> set[str]:
    """``names`` and every schema they hold, however deep."""
    found, todo = set(names), list(names)
    while todo:
        for ref in _refs(_component(schema, todo.pop())):
            if ref not in found:
                found.add(ref)
                todo.append(ref)
    return found


def _component(schema: dict[str, Any], name: str) -> Any:
    return schema["components"]["schemas"][name]


@pytest.mark.parametrize("name", sorted(TYPED))
def test_a_typed_schema_has_a_field_for_every_property(schema: dict[str, Any], name: str) -> None:
    model = TYPED[name]
    properties = set(schema["components"]["schemas"][name].get("properties", {}))
    fields = {f.name for f in dataclasses.fields(model)}
    assert properties - fields == set(), f"{model.__name__} misses fields of {name}"


@pytest.mark.parametrize("name", sorted(TYPED))
def test_nested_schemas_are_typed_too(schema: dict[str, Any], name: str) -> None:
    nested = set(_refs(schema["components"]["schemas"][name])) - NESTED_AS_JSON
    enums = {n for n in nested if "enum" in schema["components"]["schemas"][n]}
    assert nested - enums <= set(TYPED) | set(READ_AS), f"{name} holds schemas without a model"


@pytest.mark.parametrize("name", sorted(READ_AS))
def test_schemas_read_by_another_model_have_its_fields(schema: dict[str, Any], name: str) -> None:
    model, renamed = READ_AS[name]
    properties = {renamed.get(p, p) for p in _component(schema, name).get("properties", {})}
    assert properties - {f.name for f in dataclasses.fields(model)} == set()


def test_unwrapped_schemas_yield_typed_items(schema: dict[str, Any]) -> None:
    for name, (method, prop) in UNWRAPPED.items():
        item = set(_refs(schema["components"]["schemas"][name]["properties"][prop]))
        assert item <= set(TYPED), (name, item)
        for client in (Folio, AsyncFolio):
            assert callable(method_of(client, method))


def test_typed_methods_return_their_models_on_both_clients() -> None:
    for name, method in RETURNED_BY.items():
        for client in (Folio, AsyncFolio):
            hints = get_type_hints(method_of(client, method))
            assert hints["return"] is TYPED[name], (client, method)
            assert inspect.isfunction(method_of(client, method))


def test_search_hits_carry_the_chunk_text() -> None:
    hit = SearchHit.from_json(
        {"document_id": "d", "text": "whole chunk", "snippet": "<mark>w</mark>", "score": 1}
    )
    assert hit.text == "whole chunk"
    assert hit.snippet == "<mark>w</mark>"


#: Query parameters → the client's keyword (where the names differ).
RENAMED_PARAMS = {"q": "query", "type": "kind"}
#: Query parameters the client sets itself (paging) or reads as a twin.
OWN_PARAMS = frozenset({"cursor", "state"})  # state: the same as status


@pytest.mark.parametrize(
    ("path", "method"),
    [("/v1/documents", "documents"), ("/v1/search", "search"), ("/v1/jobs", "jobs")],
)
def test_every_query_parameter_is_a_typed_keyword(
    schema: dict[str, Any], path: str, method: str
) -> None:
    parameters = {p["name"] for p in schema["paths"][path]["get"].get("parameters", [])}
    wanted = {RENAMED_PARAMS.get(p, p) for p in parameters - OWN_PARAMS}
    for client in (Folio, AsyncFolio):
        signature = inspect.signature(getattr(client, method))
        assert not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        assert wanted - set(signature.parameters) == set(), (client.__name__, method)


def test_no_client_method_takes_untyped_options() -> None:
    for client in (Folio, AsyncFolio, Ops, AsyncOps):
        for name, member in inspect.getmembers(client, inspect.isfunction):
            if name.startswith("_"):
                continue  # the private request helpers pass httpx's options on
            kinds = {p.kind for p in inspect.signature(member).parameters.values()}
            assert inspect.Parameter.VAR_KEYWORD not in kinds, (client.__name__, name)
