"""Settings of the work: uploads, the job engine, OCR, the pipeline, workers, the scheduler."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from folio_shared import embedding_models
from folio_shared.settings._base import _group


class UploadSettings(BaseSettings):
    """What the API accepts.

    - ``FOLIO_UPLOAD_MAX_BYTES``: largest accepted file (default 50 MiB).
    - ``FOLIO_UPLOAD_ALLOWED_TYPES``: comma-separated allow-list of kinds
      (default all: pdf, png, jpeg, tiff, webp, text, markdown, html, docx).
    - ``FOLIO_UPLOAD_PRESIGN_EXPIRY_S``: lifetime of a presigned upload, at most 900 (default 900).
    - ``FOLIO_UPLOAD_ABANDONED_AFTER_S``: an upload never completed is cleaned up (default 86400).
    """

    model_config = _group("FOLIO_UPLOAD_")

    max_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    allowed_types: str = "pdf,png,jpeg,tiff,webp,text,markdown,html,docx"
    presign_expiry_s: int = Field(default=900, ge=10, le=900)
    abandoned_after_s: int = Field(default=86_400, ge=60)

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.allowed_types.split(",") if t.strip())


class JobSettings(BaseSettings):
    """The job engine.

    - ``FOLIO_JOBS_MAX_RETRIES``: retries after the first attempt (default 3).
    - ``FOLIO_JOBS_MIN_BACKOFF_MS`` / ``FOLIO_JOBS_MAX_BACKOFF_MS``:
      exponential backoff bounds (defaults 1000 and 300000).
    - ``FOLIO_JOBS_DOCUMENT_TIME_LIMIT_MS``: per attempt for document jobs (default 30 min).
      ``FOLIO_JOBS_OCR_TIME_LIMIT_MS``: per OCR page (default 5 min).
    - ``FOLIO_JOBS_LEASE_MS``: a running job's lease, renewed by its worker (default 30000).
    - ``FOLIO_JOBS_RETENTION_DAYS``: finished jobs (succeeded, failed,
      cancelled) kept, with their message, result and events (default 7;
      0: kept forever).
    - ``FOLIO_JOBS_DEAD_RETENTION_DAYS``: dead jobs (dead letters) kept, so
      they can still be inspected and re-driven (default 30; 0: kept forever).
    - ``FOLIO_JOBS_INPUT_RETENTION_DAYS``: a job input uploaded through the API
      is deleted by ``find-orphans`` once this old and named by no job row
      and no schedule of ``FOLIO_SCHEDULER_JOBS`` (default 30; 0: kept forever).
    - ``FOLIO_JOBS_RECONCILE_INTERVAL_MS``: how often one worker of the
      cluster runs the reconciler (default 10000).
    - ``FOLIO_JOBS_LOST_AFTER_MS``: a queued job whose message has been
      missing from Redis this long is sent again (default 15000).
    - ``FOLIO_JOBS_STRANDED_AFTER_MS``: a queued job whose message has sat
      this long where no worker will deliver it (a delayed message long
      overdue, or one in a live worker's fetched set that the worker never
      received) is put back in its queue (default 120000).
    - ``FOLIO_JOBS_EARLY_CLAIMS``: claim a job as its message is fetched,
      before a worker thread takes it (:mod:`folio_shared.jobs.reserve`;
      default false). It takes the claim's wait off the worker threads, at
      two costs (ADR 0003): a SIGKILLed worker spends an attempt (never the
      last) of each job it had claimed and not started, and a cancel reaches
      such a job only when a thread takes it, so a cancelled parent's
      children claimed that way end ``cancelled`` later.
    """

    model_config = _group("FOLIO_JOBS_")

    max_retries: int = Field(default=3, ge=0, le=100)
    min_backoff_ms: int = Field(default=1_000, ge=0)
    max_backoff_ms: int = Field(default=300_000, ge=0)
    document_time_limit_ms: int = Field(default=30 * 60 * 1000, ge=1_000)
    ocr_time_limit_ms: int = Field(default=5 * 60 * 1000, ge=1_000)
    lease_ms: int = Field(default=30_000, ge=1_000)
    retention_days: int = Field(default=7, ge=0)
    dead_retention_days: int = Field(default=30, ge=0)
    input_retention_days: int = Field(default=30, ge=0)
    reconcile_interval_ms: int = Field(default=10_000, ge=100)
    lost_after_ms: int = Field(default=15_000, ge=100)
    stranded_after_ms: int = Field(default=120_000, ge=100)
    early_claims: bool = False


class OcrSettings(BaseSettings):
    """OCR (worker-ocr).

    - ``FOLIO_OCR_LANGUAGES``: Tesseract languages (default ``eng+por``).
    - ``FOLIO_OCR_DPI``: rendering resolution of PDF pages (default 300).
    - ``FOLIO_OCR_MAX_PIXELS``: largest image accepted (default 100 Mpx).
    - ``FOLIO_OCR_REREAD_IDS``: read the regions of identifiers (PIX
      end-to-end ids, boleto lines, NF-e keys) and amounts again and put
      the readings their shape or check digits accept in the page text
      (default true; false leaves the page OCR's text as read).
    - ``FOLIO_OCR_REREAD_LOW_DPI``: a page below this resolution, in dpi,
      that reads like a PIX receipt but shows no valid end-to-end id is
      OCRed once more, upscaled to about 300 dpi (default 150; 0 never).
      Phone photos are the pages it catches.
    - ``FOLIO_OCR_SECOND_ENGINE``: with ``FOLIO_OCR_REREAD_IDS``, PIX
      end-to-end ids are also read by a second OCR engine (PP-OCR through
      RapidOCR) and the two engines' readings are combined (default true;
      false reads them with Tesseract only, as before).
    """

    model_config = _group("FOLIO_OCR_")

    languages: str = "eng+por"
    dpi: int = Field(default=300, ge=50, le=1200)
    max_pixels: int = Field(default=100_000_000, ge=1)
    reread_ids: bool = True
    reread_low_dpi: int = Field(default=150, ge=0, le=600)
    second_engine: bool = True


class PipelineSettings(BaseSettings):
    """The document pipeline (worker-docs), and where large documents go.

    - ``FOLIO_PIPELINE_LARGE_DOCUMENT_BYTES``: files this large or larger are
      processed on the ``documents-large`` queue (default 20 MiB); the API
      routes them at queuing time.
    - ``FOLIO_PIPELINE_LARGE_DOCUMENT_PAGES``: documents with this many pages or
      more (known once extracted) send their OCR pages at ``low`` priority, so the
      pages of small documents sent later are read first, and their final step
      (chunking, embedding) to ``documents-large`` (default 100).
    - ``FOLIO_PIPELINE_MAX_DOCUMENT_PAGES``: most pages per document (default
      2000), ``FOLIO_PIPELINE_TENANT_MAX_DOCUMENT_PAGES``: JSON {tenant id: pages}.
    - ``FOLIO_PIPELINE_QUERY_RUNTIME``: queries on ``onnx`` (default; checked to give
      torch's vectors, else falls back) or ``torch``; ``FOLIO_PIPELINE_DOCUMENT_RUNTIME``:
      ``auto`` (default: by the CPU's flags, ``bf16`` with bfloat16 instructions, else
      ``int8`` with VNNI, else ``onnx``), or one of them: chunks in ``bf16`` (checked
      likewise, else ``onnx``), ``onnx``, ``int8`` (chunks and queries by an int8 copy of
      the ONNX export) or ``torch`` (operations.md).
    - ``FOLIO_PIPELINE_QUERY_THREADS``: ONNX Runtime's and the E5 engine's threads
      (default 2), at most the cores the process may use (``FOLIO_WORKER_CPUS``).
    - ``FOLIO_PIPELINE_DOCUMENT_CALLS``: model calls embedding chunks at once in a
      worker-docs process (default 2), each on its own copy of the model (about 45 MB
      more per call in bfloat16) and torch's cores divided among them; 1: one call
      at a time on every core.
    - ``FOLIO_PIPELINE_WARM_UP``: load the first embedding model (and query encoder) at
      start-up, not on the first document or query (default true: it takes seconds).
    - ``FOLIO_PIPELINE_MODEL_CACHE_DIR``: the ONNX export's folder (default ``~/.cache/folio``).
    - ``FOLIO_PIPELINE_EMBEDDING_MODEL``: ``by-language`` (default: Portuguese documents
      and queries by multilingual-e5-small, the rest by all-MiniLM-L6-v2; operations.md,
      :mod:`folio_shared.embedding_models`), ``all-MiniLM-L6-v2`` or a multilingual one.
    """

    model_config = _group("FOLIO_PIPELINE_")

    large_document_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    large_document_pages: int = Field(default=100, ge=1)
    max_document_pages: int = Field(default=2_000, ge=1)
    tenant_max_document_pages: dict[str, int] = Field(default_factory=dict)
    query_runtime: Literal["onnx", "torch"] = "onnx"
    document_runtime: Literal["auto", "bf16", "onnx", "int8", "torch"] = "auto"
    query_threads: int = Field(default=2, ge=1, le=64)
    document_calls: int = Field(default=2, ge=1, le=16)
    warm_up: bool = True
    model_cache_dir: Path | None = None
    embedding_model: str = embedding_models.BY_LANGUAGE

    @field_validator("embedding_model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value not in embedding_models.SETTINGS:
            raise ValueError(f"one of {', '.join(embedding_models.SETTINGS)}, not {value!r}")
        return value


class WorkerSettings(BaseSettings):
    """Worker processes (worker-docs, worker-ocr).

    - ``FOLIO_WORKER_PROCESSES``: worker processes per container (default 1;
      scale with replicas first).
    - ``FOLIO_WORKER_THREADS``: threads per process (default 4).
    - ``FOLIO_WORKER_SHUTDOWN_TIMEOUT_MS``: on SIGTERM, how long running jobs
      may finish before they are handed back (default 60000; the Kubernetes
      ``terminationGracePeriodSeconds`` must be longer).
    - ``FOLIO_WORKER_QUEUES``: comma-separated queues to consume instead of
      the service's own (default: empty, the service's own).
    - ``FOLIO_WORKER_CPUS``: cores a process sizes torch's threads and its
      OCR children by (default 0: the container's CPU limit, read from the
      cgroup quota, else the cores it may run on; :mod:`folio_shared.cpus`).
    """

    model_config = _group("FOLIO_WORKER_")

    processes: int = Field(default=1, ge=1, le=64)
    threads: int = Field(default=4, ge=1, le=256)
    shutdown_timeout_ms: int = Field(default=60_000, ge=1_000)
    queues: str = ""
    cpus: int = Field(default=0, ge=0, le=1024)


class SchedulerSettings(BaseSettings):
    """When the scheduler sends each maintenance task (cron syntax, UTC).

    - ``FOLIO_SCHEDULER_EXPIRE_UPLOADS_CRON`` (default ``0 * * * *``, hourly)
    - ``FOLIO_SCHEDULER_PURGE_JOB_HISTORY_CRON`` (default ``30 3 * * *``, daily)
    - ``FOLIO_SCHEDULER_FIND_ORPHANS_CRON`` (default ``15 4 * * *``, daily)
    - ``FOLIO_SCHEDULER_REAP_STUCK_JOBS_CRON`` (default ``* * * * *``)
    - ``FOLIO_SCHEDULER_RELAY_OUTBOX_CRON`` (default ``* * * * *``)
    - ``FOLIO_SCHEDULER_APPLY_DOCUMENT_RETENTION_CRON`` (default ``45 4 * * *``)
    - ``FOLIO_SCHEDULER_REEMBED_CHUNKS_CRON`` (default ``*/10 * * * *``): a
      bounded round of re-embedding after an embedding model change.
    - ``FOLIO_SCHEDULER_TICK_LOCK_TTL_S``: how long a sent tick is remembered,
      so a second scheduler replica does not send it again (default 86400).
    - ``FOLIO_SCHEDULER_CATCH_UP_RETRY_S``: period of missed ticks' catch-up tries (default 10).
    - ``FOLIO_SCHEDULER_JOBS``: periodic jobs of your kinds, JSON (``folio_scheduler.userjobs``).
    """

    model_config = _group("FOLIO_SCHEDULER_")

    expire_uploads_cron: str = "0 * * * *"
    purge_job_history_cron: str = "30 3 * * *"
    find_orphans_cron: str = "15 4 * * *"
    reap_stuck_jobs_cron: str = "* * * * *"
    relay_outbox_cron: str = "* * * * *"
    apply_document_retention_cron: str = "45 4 * * *"
    reembed_chunks_cron: str = "*/10 * * * *"
    tick_lock_ttl_s: int = Field(default=86_400, ge=60)
    catch_up_retry_s: float = Field(default=10.0, gt=0)
    jobs: str = ""
