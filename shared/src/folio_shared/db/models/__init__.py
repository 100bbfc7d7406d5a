"""Folio's tables as typed SQLAlchemy models, one module per concern.

The migration in ``db/migrations/versions`` is the schema's source of truth;
these models describe the same schema for the ORM, and a test
(``tests/integration/db/test_models_match_migration.py``) checks that both
agree. Conventions:

- Primary keys are UUIDs made by Python (``uuid.uuid4``) with
  ``gen_random_uuid()`` as the server default, so raw SQL inserts work too.
  Append-only logs (``job_events``, ``audit_log``) use ``bigserial`` ids,
  which also order them.
- Times are ``timestamptz``; ``created_at`` / ``updated_at`` are set by the
  server (``now()``) and read back at once (``eager_defaults``), so no
  attribute is ever left expired (an expired attribute would need a lazy
  load, which async sessions forbid).
- Closed value sets (statuses, kinds) are text guarded by ``CHECK``
  constraints; see :mod:`folio_shared.db.enums`.
- Deleting a tenant deletes everything it owns (``ON DELETE CASCADE``);
  deleting a document deletes its pages and chunks and detaches its jobs
  (``ON DELETE SET NULL``), whose history stays until it is purged.
"""

from folio_shared.db.models.audit import AuditLog
from folio_shared.db.models.base import NAMING_CONVENTION, Base
from folio_shared.db.models.documents import (
    ACCENTED,
    CHUNK_LANGUAGES,
    CHUNK_TSV_SQL,
    DEDUPE_SHA256,
    DOCUMENTS_FILLFACTOR,
    EMBEDDING_DIMENSIONS,
    TEXT_SEARCH_CONFIG,
    UNACCENTED,
    Chunk,
    Document,
    DocumentCentroid,
    Page,
    StagedEmbedding,
    TenantKeywordTotals,
    text_search_config_sql,
)
from folio_shared.db.models.fields import DocumentFields
from folio_shared.db.models.idempotency import IdempotencyKey
from folio_shared.db.models.jobs import (
    ACTIVE_TOP_LEVEL,
    FINISHED_JOB_STATUSES,
    JOB_PRIORITIES,
    Job,
    JobEvent,
)
from folio_shared.db.models.kinds import Batch, JobKind, JobKindWorker
from folio_shared.db.models.tenants import ApiKey, Tenant
from folio_shared.db.models.vocabulary import VocabularySource, VocabularyWord
from folio_shared.db.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ACCENTED",
    "ACTIVE_TOP_LEVEL",
    "CHUNK_LANGUAGES",
    "CHUNK_TSV_SQL",
    "DEDUPE_SHA256",
    "DOCUMENTS_FILLFACTOR",
    "EMBEDDING_DIMENSIONS",
    "FINISHED_JOB_STATUSES",
    "JOB_PRIORITIES",
    "NAMING_CONVENTION",
    "TEXT_SEARCH_CONFIG",
    "UNACCENTED",
    "ApiKey",
    "AuditLog",
    "Base",
    "Batch",
    "Chunk",
    "Document",
    "DocumentCentroid",
    "DocumentFields",
    "IdempotencyKey",
    "Job",
    "JobEvent",
    "JobKind",
    "JobKindWorker",
    "Page",
    "StagedEmbedding",
    "Tenant",
    "TenantKeywordTotals",
    "VocabularySource",
    "VocabularyWord",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "text_search_config_sql",
]
