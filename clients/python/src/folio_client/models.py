"""Typed results of the Folio client (plain dataclasses built from the API's JSON)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Self

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "dead", "cancelled"})

#: Fields taken as the API sends them (``None`` when absent).
_JOB_AS_SENT = (
    "actor", "queue", "priority", "max_retries", "cause", "metadata", "batch_id",
    "parent_id", "created_at", "updated_at", "queued_at", "run_at", "started_at",
    "finished_at", "timeline",
)  # fmt: skip
_DOCUMENT_AS_SENT = (
    "content_type", "document_type", "error", "fields", "low_confidence_pages",
    "created_at", "updated_at",
)  # fmt: skip
_HIT_AS_SENT = (
    "chunk_index", "char_start", "char_end", "filename_html", "kind", "language",
    "keyword_rank", "semantic_rank",
)  # fmt: skip


@dataclass(frozen=True)
class Wire:
    """A model read field by field from the API's JSON: each field from the
    key of its name (absent keys keep the field's default), nested models
    through :meth:`_nested`, and the whole JSON in ``raw``."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        names = {f.name for f in fields(cls)} - {"raw"}
        values = {name: data[name] for name in names if name in data}
        return cls(**{**values, **cls._nested(data), "raw": data})

    @classmethod
    def _nested(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Fields read by another model (none by default)."""
        return {}


def _picked(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: data.get(name) for name in names}


@dataclass(frozen=True)
class Job:
    """A job: ``status``, progress (``stage``, ``progress`` percent,
    ``units_done`` of ``units_total``), ``error``, ``result`` and the raw JSON."""

    id: str
    status: str
    document_id: str | None = None
    stage: str | None = None
    progress: int = 0
    units_done: int = 0
    units_total: int | None = None
    attempts: int = 0
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    actor: str | None = None
    queue: str | None = None
    priority: str | None = None
    max_retries: int | None = None
    cause: Any = None
    metadata: dict[str, Any] | None = None
    batch_id: str | None = None
    parent_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    queued_at: str | None = None
    run_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    timeline: list[dict[str, Any]] | None = None
    links: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        return cls(
            id=str(data.get("id") or data.get("job_id")),
            status=str(data["status"]),
            document_id=data.get("document_id"),
            stage=data.get("stage"),
            progress=int(data.get("progress") or 0),
            units_done=int(data.get("units_done") or 0),
            units_total=data.get("units_total"),
            attempts=int(data.get("attempts") or 0),
            error=data.get("error"),
            result=data.get("result"),
            links=dict(data.get("links") or {}),
            **_picked(data, _JOB_AS_SENT),
            raw=data,
        )


@dataclass(frozen=True)
class Document:
    """A document: ``status``, ``kind`` (from its bytes), ``page_count``,
    ``latest_job`` and the raw JSON."""

    id: str
    filename: str
    status: str
    kind: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    page_count: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    latest_job: Job | None = None
    content_type: str | None = None
    document_type: str | None = None
    error: Any = None
    fields: dict[str, Any] | None = None
    low_confidence_pages: list[int] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Document:
        latest = data.get("latest_job")
        return cls(
            id=str(data["id"]),
            filename=str(data["filename"]),
            status=str(data["status"]),
            kind=data.get("kind"),
            size_bytes=data.get("size_bytes"),
            sha256=data.get("sha256"),
            page_count=data.get("page_count"),
            metadata=dict(data.get("metadata") or {}),
            latest_job=Job.from_json(latest) if latest else None,
            links=dict(data.get("links") or {}),
            **_picked(data, _DOCUMENT_AS_SENT),
            raw=data,
        )


@dataclass(frozen=True)
class Upload:
    """The result of an upload: the ``document``, its processing ``job``
    (``None`` when not queued) and whether it was a ``duplicate``."""

    document: Document
    job: Job | None
    duplicate: bool

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Upload:
        job = data.get("job")
        return cls(
            document=Document.from_json(data["document"]),
            job=Job.from_json(job) if job else None,
            duplicate=bool(data.get("duplicate")),
        )


@dataclass(frozen=True)
class Text:
    """A document's text (one page or all, pages joined by ``\\f``), or a
    window of it: ``text`` from ``offset``; ``next_offset`` where the next
    window starts (``None`` at the end)."""

    document_id: str
    text: str
    page: int | None
    page_count: int
    pages: list[dict[str, Any]]
    offset: int = 0
    next_offset: int | None = None
    total_chars: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Text:
        return cls(
            document_id=str(data["document_id"]),
            text=str(data["text"]),
            page=data.get("page"),
            page_count=int(data.get("page_count") or 0),
            pages=list(data.get("pages") or []),
            offset=int(data.get("offset") or 0),
            next_offset=data.get("next_offset"),
            total_chars=data.get("total_chars"),
        )

    def then(self, more: Text) -> Text:
        """This window followed by the next one (a page cut between them is one)."""
        pages = [dict(p) for p in self.pages]
        for page in more.pages:
            if pages and pages[-1].get("page_no") == page.get("page_no"):
                pages[-1]["text"] = str(pages[-1]["text"]) + str(page["text"])
            else:
                pages.append(dict(page))
        return Text(
            self.document_id,
            self.text + more.text,
            self.page,
            more.page_count,
            pages,
            self.offset,
            more.next_offset,
            more.total_chars,
        )


@dataclass(frozen=True)
class Event:
    """One job event: ``type`` (``snapshot``, ``state``, ``progress``),
    ``id`` (for resuming; ``None`` for snapshots) and ``data``."""

    type: str
    id: str | None
    data: dict[str, Any]

    @property
    def terminal(self) -> bool:
        return self.type == "state" and self.data.get("status") in TERMINAL_STATUSES


@dataclass(frozen=True)
class SearchHit:
    """One search result: the chunk's whole ``text`` and its highlighted
    ``snippet`` (HTML-safe, matches in ``<mark>``), its ``document_id``,
    ``filename``, document ``metadata``, pages, the chunk's ``score`` and
    its document's ``document_score`` (and the raw JSON)."""

    document_id: str
    text: str
    score: float
    page_start: int | None = None
    page_end: int | None = None
    snippet: str = ""
    filename: str = ""
    chunk_id: str = ""
    document_score: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)
    chunk_index: int | None = None
    char_start: int | None = None
    char_end: int | None = None
    filename_html: str | None = None
    kind: str | None = None
    language: str | None = None
    keyword_rank: int | None = None
    semantic_rank: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchHit:
        return cls(
            document_id=str(data.get("document_id")),
            text=str(data.get("text", "")),
            score=float(data.get("score") or 0.0),
            page_start=data.get("page_start"),
            page_end=data.get("page_end"),
            snippet=str(data.get("snippet", "")),
            filename=str(data.get("filename", "")),
            chunk_id=str(data.get("chunk_id", "")),
            document_score=float(data.get("document_score") or 0.0),
            metadata=dict(data.get("metadata") or {}),
            **_picked(data, _HIT_AS_SENT),
            raw=data,
        )


class SseParser:
    """Incremental Server-Sent Events parser: feed lines, get events."""

    def __init__(self) -> None:
        self._event: str | None = None
        self._id: str | None = None
        self._data: list[str] = []

    def feed(self, line: str) -> Event | None:
        line = line.rstrip("\r\n")
        if not line:
            if not self._data and self._event is None:
                return None
            raw = "\n".join(self._data)
            event = Event(self._event or "message", self._id, json.loads(raw) if raw else {})
            self._event, self._id, self._data = None, None, []
            return event
        if line.startswith(":"):
            return None  # comment (heartbeat)
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        elif name == "data":
            self._data.append(value)
        return None
