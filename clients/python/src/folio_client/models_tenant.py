"""Typed results of the tenant's other calls: a document's fields and
chunks, batches, job kinds, job statistics and API keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from folio_client.models import Document, Job, Wire


@dataclass(frozen=True)
class FieldValue(Wire):
    """One extracted field: its normalised ``value``, ``confidence`` (0-1),
    the ``page`` and ``span`` (character offsets in that page's text) it was
    read from, ``valid`` where a check digit applies, other candidates."""

    value: str
    confidence: float
    page: int
    span: list[int]
    valid: bool | None = None
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Expected(Wire):
    """An expected value the client sent and its verdict (``result``:
    ``match``, ``mismatch`` or ``missing``)."""

    value: str
    result: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class DocumentFields(Wire):
    """A document's ``document_type``, the ``extractor_version``, its
    ``fields`` by name and the ``expected`` values' verdicts."""

    document_id: str
    document_type: str
    extractor_version: str
    fields: dict[str, FieldValue] = field(default_factory=dict)
    expected: dict[str, Expected] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "fields": {k: FieldValue.from_json(v) for k, v in (data.get("fields") or {}).items()},
            "expected": {k: Expected.from_json(v) for k, v in (data.get("expected") or {}).items()},
        }


@dataclass(frozen=True)
class Chunk(Wire):
    """A searchable chunk of a document: its ``index``, pages, character
    offsets in the document's text, ``token_count`` and ``text``."""

    id: str
    index: int
    page_start: int
    page_end: int
    char_start: int
    char_end: int
    token_count: int
    text: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Batch(Wire):
    """A batch: ``state`` (``running``, then ``succeeded`` or ``failed``),
    ``total`` members, ``finished`` and ``failed`` of them, ``counts`` by
    job state, ``progress`` (percent), the ``completion_job_id`` once it
    exists and, in the answer to its creation only, its member ``jobs``."""

    id: str
    state: str
    total: int
    finished: int
    failed: int
    counts: dict[str, int] = field(default_factory=dict)
    progress: int = 0
    completion_job_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None
    finished_at: str | None = None
    jobs: list[Job] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def done(self) -> bool:
        return self.state != "running"

    @classmethod
    def _nested(cls, data: dict[str, Any]) -> dict[str, Any]:
        jobs = data.get("jobs")
        return {"jobs": None if jobs is None else [Job.from_json(j) for j in jobs]}


@dataclass(frozen=True)
class JobType(Wire):
    """A job kind: ``name``, payload ``version``, logical ``queue`` and the
    ``queues`` it is sent on, payload and result JSON schemas, declared
    ``options``, ``description`` and how many live ``workers`` serve it."""

    name: str
    version: int
    queue: str
    queues: list[str] = field(default_factory=list)
    payload_schema: dict[str, Any] = field(default_factory=dict)
    result_schema: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    workers: int = 0
    updated_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Percentiles(Wire):
    """p50 and p95 in milliseconds (``None``: no job to measure)."""

    p50: float | None = None
    p95: float | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class KindStats(Wire):
    """One job kind's figures: ``counts`` by state, ``total``, ``finished``,
    ``throughput_per_min``, queue wait and run time, ``failure_rate``."""

    type: str
    counts: dict[str, int] = field(default_factory=dict)
    total: int = 0
    finished: int = 0
    throughput_per_min: float = 0.0
    queue_wait_ms: Percentiles = field(default_factory=Percentiles)
    run_time_ms: Percentiles = field(default_factory=Percentiles)
    failure_rate: float | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {
            name: Percentiles.from_json(data.get(name) or {})
            for name in ("queue_wait_ms", "run_time_ms")
        }


@dataclass(frozen=True)
class JobStats(Wire):
    """Per-kind figures (``kinds``) for the jobs created in ``[since, until)``."""

    since: str
    until: str
    kinds: list[KindStats] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {"kinds": [KindStats.from_json(k) for k in data.get("kinds") or []]}


@dataclass(frozen=True)
class ApiKey(Wire):
    """One of the tenant's API keys: ``prefix`` is its public part;
    ``revoked_at`` set: it no longer authenticates; ``current``: the key
    of the request that read it."""

    id: str
    name: str
    prefix: str
    created_at: str | None = None
    last_used_at: str | None = None
    revoked_at: str | None = None
    current: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class KeyCreated(Wire):
    """A new key: ``key`` (the secret, shown this once) and its row."""

    key: str
    api_key: ApiKey
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {"api_key": ApiKey.from_json(data["api_key"])}


@dataclass(frozen=True)
class PresignedUpload(Wire):
    """How to send a file: ``method`` to ``url`` with ``headers`` (PUT: the
    raw file as the body; POST: a form of ``fields`` then the file), before
    ``expires_at``, at most ``max_bytes``, with exactly ``content_type``."""

    url: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    expires_at: str | None = None
    max_bytes: int = 0
    content_type: str = "application/octet-stream"
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class UploadGrant(Wire):
    """A presigned upload (``upload``) and the ``document`` it fills."""

    document: Document
    upload: PresignedUpload
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "document": Document.from_json(data["document"]),
            "upload": PresignedUpload.from_json(data["upload"]),
        }


@dataclass(frozen=True)
class JobInputGrant(Wire):
    """A presigned upload of a job's input: send it as ``upload`` says,
    then name ``key`` in the job's payload."""

    purpose: str
    key: str
    filename: str
    upload: PresignedUpload
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def _nested(cls, data: dict[str, Any]) -> dict[str, Any]:
        return {"upload": PresignedUpload.from_json(data["upload"])}
