"""Prometheus metrics: what every Folio process exports, and how.

Every metric Folio exports is declared here, once, so the dashboard and the
alert rules can be checked against :data:`METRIC_NAMES`. Three kinds:

- *per-process* metrics, updated where the work happens: jobs by actor,
  queue and outcome, durations, retries, dead letters (the
  :class:`~folio_shared.worker_metrics.Metrics` middleware); pages
  extracted and reused, OCR pages and confidence, embedding batches, HTTP
  requests
  (helpers other code calls: :func:`record_ocr_page`,
  :func:`record_embedding_batch`, :func:`observe_http_request`,
  :func:`time_stage`);
- *cluster* gauges read from Redis and PostgreSQL when Prometheus scrapes:
  queue depth per queue and state, oldest message age, paused queues, live
  workers per queue, outbox backlog, stalled jobs, Redis/PostgreSQL up
  (:class:`~folio_shared.worker_metrics.ClusterCollector` over
  :func:`folio_shared.ops.snapshot.take`);
- the client library's own process metrics (CPU, memory).

Several processes per pod
-------------------------
Dramatiq's CLI forks ``--processes`` worker processes; Prometheus scrapes one
port per pod. Folio uses ``prometheus_client``'s multiprocess mode: when
``PROMETHEUS_MULTIPROC_DIR`` is set in the process environment (read by the
client library at import), each process writes its samples to files in that
directory, and whichever process of the pod binds the metrics port first
serves the sum of all of them; the others find the port taken and serve
nothing. The directory must be emptied before the processes start
(:func:`prepare_multiprocess_dir`). Without the variable (one process, tests,
``make dev``) the process serves its own registry. Cluster gauges are
computed at scrape time by the serving process only, so each pod reports
them once: aggregate them with ``max`` across pods, never ``sum``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from dramatiq.middleware import CurrentMessage
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from folio_shared.logging import get_logger

log = get_logger(__name__)

#: Default port of a worker's metrics server (``FOLIO_METRICS_PORT``).
DEFAULT_METRICS_PORT = 9191

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

# --- jobs (the Metrics middleware) -------------------------------------------------

JOBS = Counter(
    "folio_jobs",
    "Messages processed, by actor, physical queue and outcome (succeeded, failed,"
    " retried, dead, cancelled, waiting = handed to child jobs, skipped, deferred = paused,"
    " limited = held back by its kind's rate or concurrency limit).",
    ["actor", "queue", "outcome"],
)
JOB_DURATION = Histogram(
    "folio_job_duration_seconds",
    "Time an actor ran for one message.",
    ["actor", "queue"],
    buckets=_SECONDS,
)
JOB_QUEUE_WAIT = Histogram(
    "folio_job_queue_wait_seconds",
    "Time from a message's send to the start of its processing.",
    ["queue"],
    buckets=_SECONDS,
)
JOB_STAGE_DURATION = Histogram(
    "folio_job_stage_duration_seconds",
    "Time spent in one stage of a job (see time_stage).",
    ["actor", "stage"],
    buckets=_SECONDS,
)
JOBS_LIMITED = Counter(
    "folio_jobs_limited",
    "Messages held back by their kind's limit and sent again with a delay, by actor and"
    " limit (rate, concurrency).",
    ["actor", "limit"],
)
JOB_RETRIES = Counter(
    "folio_job_retries", "Failed attempts sent back to be retried.", ["actor", "queue"]
)
DEAD_LETTERS = Counter(
    "folio_dead_letters", "Messages moved to a dead-letter queue.", ["actor", "queue"]
)
JOBS_IN_PROGRESS = Gauge(
    "folio_jobs_in_progress",
    "Messages being processed now.",
    ["actor", "queue"],
    multiprocess_mode="livesum",
)

# --- OCR, embeddings, HTTP (helpers) ---------------------------------------------------

OCR_PAGES = Counter("folio_ocr_pages", "Pages OCRed, by outcome.", ["outcome"])
PAGES_EXTRACTED = Counter(
    "folio_pages_extracted",
    "Pages whose text layer was read (PDF pages, text, HTML, DOCX), by document kind.",
    ["kind"],
)
PAGES_REUSED = Counter(
    "folio_pages_reused",
    "Finished pages kept from an earlier attempt or run instead of being redone, by method.",
    ["method"],
)
OCR_SECOND_ENGINE_FAILURES = Counter(
    "folio_ocr_second_engine_failures",
    "PIX id regions the second OCR engine failed to read (it raised, or its child died),"
    " which kept Tesseract's reading.",
)
OCR_CONFIDENCE = Histogram(
    "folio_ocr_page_confidence",
    "Mean word confidence (0-100) of OCRed pages; mean = sum / count.",
    buckets=(10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100),
)
OCR_PAGE_DURATION = Histogram(
    "folio_ocr_page_duration_seconds", "Time to render and OCR one page.", buckets=_SECONDS
)
EMBEDDING_BATCH_SIZE = Histogram(
    "folio_embedding_batch_size",
    "Texts per embedding batch.",
    ["kind"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
EMBEDDING_TEXTS = Counter("folio_embedding_texts", "Texts embedded.", ["kind"])
EMBEDDING_DURATION = Histogram(
    "folio_embedding_batch_duration_seconds", "Time to embed one batch.", ["kind"], buckets=_SECONDS
)
HTTP_REQUESTS = Counter(
    "folio_http_requests",
    "HTTP requests, by route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "folio_http_request_duration_seconds",
    "HTTP request latency.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WEBHOOK_DELIVERIES = Counter(
    "folio_webhook_deliveries",
    "Webhook delivery attempts, by outcome (delivered, http_error, timeout,"
    " network_error, refused).",
    ["outcome"],
)
WEBHOOK_LATENCY = Histogram(
    "folio_webhook_delivery_duration_seconds",
    "Time of one webhook delivery attempt, resolving to last byte.",
    buckets=_SECONDS,
)
ROWS_PRUNED = Counter(
    "folio_maintenance_rows_pruned",
    "Rows deleted by the history retention (purge-job-history), by table (jobs,"
    " webhook_deliveries).",
    ["table"],
)
REEMBEDDED_CHUNKS = Counter(
    "folio_maintenance_reembedded_chunks",
    "Chunks embedded again after an embedding model change (reembed-chunks), their vectors"
    " staged until their tenant switches.",
)
REEMBED_STALE_DOCUMENTS = Gauge(
    "folio_maintenance_reembed_stale_documents",
    "Documents holding chunks not yet embedded by the model their language now uses, counted"
    " at the end of the last reembed-chunks round.",
    multiprocess_mode="mostrecent",
)
API_QUEUE_BATCH_SIZE = Histogram(
    "folio_api_queue_batch_size",
    "Process requests of one API process queued together (one read, one write, one send).",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)

#: Cluster gauges (:class:`~folio_shared.worker_metrics.ClusterCollector`):
#: name → (help, label names).
CLUSTER_GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "folio_queue_messages": (
        "Messages per physical queue and state (ready, delayed, in_flight, dead).",
        ("queue", "state"),
    ),
    "folio_queue_oldest_message_age_seconds": (
        "Age of the oldest ready message per physical queue.",
        ("queue",),
    ),
    "folio_queue_paused": ("1 when a logical queue is paused.", ("queue",)),
    "folio_workers_alive": ("Live worker processes consuming each logical queue.", ("queue",)),
    "folio_outbox_backlog": ("Jobs committed but not yet sent to the broker.", ()),
    "folio_jobs_stalled": ("Running jobs whose progress has not moved in time.", ()),
    "folio_redis_up": ("1 when Redis answered the last scrape.", ()),
    "folio_database_up": ("1 when PostgreSQL answered the last scrape.", ()),
}


def _exported_names() -> frozenset[str]:
    names: set[str] = set(CLUSTER_GAUGES)
    for m in (
        JOBS,
        JOB_DURATION,
        JOB_QUEUE_WAIT,
        JOB_STAGE_DURATION,
        JOB_RETRIES,
        DEAD_LETTERS,
        JOBS_IN_PROGRESS,
        OCR_PAGES,
        OCR_SECOND_ENGINE_FAILURES,
        OCR_CONFIDENCE,
        OCR_PAGE_DURATION,
        EMBEDDING_BATCH_SIZE,
        EMBEDDING_TEXTS,
        EMBEDDING_DURATION,
        HTTP_REQUESTS,
        HTTP_DURATION,
        API_QUEUE_BATCH_SIZE,
        ROWS_PRUNED,
        REEMBEDDED_CHUNKS,
        REEMBED_STALE_DOCUMENTS,
    ):
        for family in m.describe():
            if family.type == "counter":
                names.add(family.name + "_total")
            elif family.type == "histogram":
                names.update(family.name + s for s in ("_bucket", "_sum", "_count"))
            else:
                names.add(family.name)
    return frozenset(names)


#: Every sample name Folio itself exports (the client library adds
#: ``process_*`` and ``python_*`` in single-process mode).
METRIC_NAMES: frozenset[str] = _exported_names()


# --- helpers for other code ------------------------------------------------------------


#: ``folio_ocr_pages_total``'s outcomes: text obtained, the page failed, or
#: its reading was stopped from outside (the job cancelled, its time limit,
#: the worker stopping), which says nothing about the page.
OcrOutcome = Literal["ok", "error", "cancelled"]


def record_ocr_page(
    *, confidence: float | None, duration_s: float, outcome: OcrOutcome = "ok"
) -> None:
    """Count one OCRed page: its ``outcome``, its mean word confidence
    (0-100) and how long it took."""
    OCR_PAGES.labels(outcome).inc()
    OCR_PAGE_DURATION.observe(duration_s)
    if confidence is not None:
        OCR_CONFIDENCE.observe(max(0.0, min(100.0, confidence)))


def record_embedding_batch(size: int, duration_s: float, *, kind: str = "chunks") -> None:
    """Count one embedding batch of ``size`` texts (``kind``: ``chunks`` or
    ``queries``); texts per second = rate(texts) / rate(duration sum)."""
    EMBEDDING_BATCH_SIZE.labels(kind).observe(size)
    EMBEDDING_TEXTS.labels(kind).inc(size)
    EMBEDDING_DURATION.labels(kind).observe(duration_s)


#: (method, route, status) → that request kind's counter and histogram.
#: ``labels()`` validates and joins its label values on every call, a
#: visible cost on a route answering thousands of requests a second; the
#: label set is bounded (route templates), and so is this cache.
_HTTP_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_http_request(method: str, route: str, status: int, duration_s: float) -> None:
    """Count one HTTP request. ``route`` must be the route *template*
    (``/v1/jobs/{job_id}``), never the raw path, to bound the label set."""
    key = (method, route, status)
    children = _HTTP_CHILDREN.get(key)
    if children is None:
        children = (
            HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_DURATION.labels(method, route),
        )
        _HTTP_CHILDREN[key] = children
    children[0].inc()
    children[1].observe(duration_s)


@contextlib.contextmanager
def time_stage(stage: str, *, actor: str | None = None) -> Iterator[None]:
    """Observe the duration of a stage of the current job::

    with time_stage("ocr"):
        ...

    ``actor`` defaults to the running message's actor (Dramatiq's
    ``CurrentMessage``), ``unknown`` outside one."""
    if actor is None:
        current = CurrentMessage.get_current_message()
        actor = current.actor_name if current is not None else "unknown"
    started = time.perf_counter()
    try:
        yield
    finally:
        JOB_STAGE_DURATION.labels(actor, stage).observe(time.perf_counter() - started)


# --- exposition --------------------------------------------------------------------------


def multiprocess_mode() -> bool:
    """Whether the client library was imported with ``PROMETHEUS_MULTIPROC_DIR``."""
    return getattr(values.ValueClass, "__name__", "") == "MmapedValue"


def prepare_multiprocess_dir(path: Path) -> None:
    """Create ``path`` and remove samples of earlier processes; call it in the
    parent before the worker processes start (and at every restart)."""
    path.mkdir(parents=True, exist_ok=True)
    for f in path.glob("*.db"):
        f.unlink(missing_ok=True)


def process_registry() -> CollectorRegistry:
    """The registry to serve: every process's samples in multiprocess mode,
    this process's otherwise."""
    if not multiprocess_mode():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def render(registry: CollectorRegistry | None = None) -> tuple[bytes, str]:
    """The exposition text of ``registry`` (default :func:`process_registry`)
    and its content type: what an HTTP ``/metrics`` handler returns."""
    return generate_latest(registry or process_registry()), CONTENT_TYPE_LATEST
