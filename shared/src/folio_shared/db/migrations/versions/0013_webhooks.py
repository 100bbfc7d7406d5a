"""Webhooks: endpoints, deliveries written by the database, attempts.

- ``webhook_endpoints``: a tenant's URLs, each with its event filter
  (empty: every event), signing secret and, when Folio stopped sending,
  when and why (``disabled_at``, ``disabled_reason``).
- ``webhook_deliveries``: one row per event and endpoint, the outbox of
  webhooks. Written by triggers (below) in the transaction that commits
  the state the event reports, so an event exists exactly when its state
  does: a rolled-back transaction leaves no event, and no path that
  commits a state (the pipeline, the job engine's one-statement fast
  path, a cancel, the reconciler) can forget to write one.
- ``webhook_attempts``: every attempt, for the delivery log.

``folio_webhook_emit(tenant, type, data)`` writes the deliveries of one
event (the event's body: ``id``, ``type``, ``timestamp``, ``data``) for
the tenant's enabled endpoints that take that type; nothing when there
are none. Triggers call it on:

- ``documents.status`` becoming ``ready``/``partial`` (``document.ready``,
  ``data.state`` says which) or ``failed`` (``document.failed``);
- ``document_fields.extracted_at`` being set (``document.fields_ready``);
- ``jobs.status`` becoming ``succeeded``/``failed``/``dead`` for a tenant's
  top-level job (``job.succeeded``, ``job.failed``, ``job.dead``);
- ``batches.finished_at`` being set (``batch.completed``).

The three tables are behind the row-level wall of migration 0011.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = ("webhook_endpoints", "webhook_deliveries", "webhook_attempts")


def _tz(name: str, *, now: bool = False, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.func.now() if now else None,
        nullable=nullable,
    )


def _tenant() -> sa.Column[object]:
    return sa.Column(
        "tenant_id",
        sa.Uuid(),
        sa.ForeignKey("tenants.id", ondelete="CASCADE"),
        nullable=False,
    )


def _id() -> sa.Column[object]:
    return sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _tables() -> None:
    op.create_table(
        "webhook_endpoints",
        _id(),
        _tenant(),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "events", ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"), nullable=False
        ),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        _tz("failing_since"),
        _tz("disabled_at"),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        _tz("created_at", now=True, nullable=False),
        _tz("updated_at", now=True, nullable=False),
    )
    op.create_index("ix_webhook_endpoints_tenant_id", "webhook_endpoints", ["tenant_id"])
    op.create_table(
        "webhook_deliveries",
        _id(),
        _tenant(),
        sa.Column(
            "endpoint_id",
            sa.Uuid(),
            sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        _tz("next_attempt_at", now=True),
        _tz("sent_at"),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _tz("delivered_at"),
        _tz("created_at", now=True, nullable=False),
        _tz("updated_at", now=True, nullable=False),
        sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_id_created_at",
        "webhook_deliveries",
        ["endpoint_id", "created_at"],
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        _tenant(),
        sa.Column(
            "delivery_id",
            sa.Uuid(),
            sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        _tz("started_at", now=True, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        _tz("next_retry_at"),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])


EMIT = """
CREATE FUNCTION folio_webhook_emit(p_tenant uuid, p_type text, p_data jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  ev uuid := gen_random_uuid();
BEGIN
  INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, event_type, payload)
  SELECT p_tenant, e.id, ev, p_type, jsonb_build_object(
      'id', 'evt_' || replace(ev::text, '-', ''),
      'type', p_type,
      'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      'data', p_data)
  FROM webhook_endpoints e
  WHERE e.tenant_id = p_tenant AND e.enabled
    AND (cardinality(e.events) = 0 OR p_type = ANY(e.events));
END
$$
"""

#: Is any enabled endpoint of NEW's tenant listening? (Skips building the
#: event for the tenants without webhooks, almost every row.)
_LISTENING = (
    "NEW.tenant_id IS NULL OR NOT EXISTS (SELECT 1 FROM webhook_endpoints"
    " WHERE tenant_id = NEW.tenant_id AND enabled)"
)

_BODIES = {
    "folio_webhook_document": """
      IF @LISTENING@ THEN RETURN NULL; END IF;
      PERFORM folio_webhook_emit(NEW.tenant_id,
        CASE WHEN NEW.status = 'failed' THEN 'document.failed' ELSE 'document.ready' END,
        jsonb_build_object('document_id', NEW.id, 'state', NEW.status,
          'filename', NEW.filename, 'kind', NEW.kind, 'page_count', NEW.page_count,
          'chunk_count', NEW.chunk_count, 'error', NEW.error));
    """,
    "folio_webhook_fields": """
      IF NEW.extracted_at IS NULL OR (TG_OP = 'UPDATE'
          AND NEW.extracted_at IS NOT DISTINCT FROM OLD.extracted_at) THEN RETURN NULL; END IF;
      IF @LISTENING@ THEN RETURN NULL; END IF;
      PERFORM folio_webhook_emit(NEW.tenant_id, 'document.fields_ready',
        jsonb_build_object('document_id', NEW.document_id,
          'document_type', NEW.document_type, 'extractor_version', NEW.extractor_version,
          'fields', coalesce((SELECT jsonb_agg(k ORDER BY k)
                              FROM jsonb_object_keys(NEW.fields) AS k), '[]'::jsonb)));
    """,
    "folio_webhook_job": """
      IF @LISTENING@ THEN RETURN NULL; END IF;
      PERFORM folio_webhook_emit(NEW.tenant_id, 'job.' || NEW.status,
        jsonb_build_object('job_id', NEW.id, 'kind', NEW.actor_name, 'state', NEW.status,
          'document_id', NEW.document_id, 'batch_id', NEW.batch_id,
          'attempts', NEW.attempts, 'cause', NEW.cause, 'error_type', NEW.error_type,
          'metadata', NEW.metadata));
    """,
    "folio_webhook_batch": """
      IF @LISTENING@ THEN RETURN NULL; END IF;
      PERFORM folio_webhook_emit(NEW.tenant_id, 'batch.completed',
        jsonb_build_object('batch_id', NEW.id, 'state', 'completed', 'total', NEW.total,
          'succeeded', NEW.finished - NEW.failed, 'failed', NEW.failed,
          'completion_job_id', NEW.completion_job_id, 'metadata', NEW.metadata));
    """,
}

#: The trigger functions' bodies (built from this module's literals only).
TRIGGER_FUNCTIONS = {
    name: body.replace("@LISTENING@", _LISTENING) for name, body in _BODIES.items()
}

TRIGGERS = {
    "webhook_document": (
        "AFTER UPDATE OF status ON documents FOR EACH ROW WHEN"
        " (NEW.status IS DISTINCT FROM OLD.status"
        " AND NEW.status IN ('ready', 'partial', 'failed'))",
        "folio_webhook_document",
    ),
    "webhook_fields": (
        "AFTER INSERT OR UPDATE OF extracted_at ON document_fields FOR EACH ROW",
        "folio_webhook_fields",
    ),
    "webhook_job": (
        "AFTER UPDATE OF status ON jobs FOR EACH ROW WHEN"
        " (NEW.status IS DISTINCT FROM OLD.status"
        " AND NEW.status IN ('succeeded', 'failed', 'dead') AND NEW.parent_id IS NULL)",
        "folio_webhook_job",
    ),
    "webhook_batch": (
        "AFTER UPDATE OF finished_at ON batches FOR EACH ROW WHEN"
        " (OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL)",
        "folio_webhook_batch",
    ),
}

_TABLE_OF = {name: spec.split(" ON ")[1].split()[0] for name, (spec, _) in TRIGGERS.items()}


def upgrade() -> None:
    _tables()
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_wall ON {table}"
            " USING (folio_tenant_visible(tenant_id))"
            " WITH CHECK (folio_tenant_visible(tenant_id))"
        )
    op.execute(EMIT)
    for function, body in TRIGGER_FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {body} RETURN NULL; END $$"
        )
    for name, (spec, function) in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {spec} EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {_TABLE_OF[name]}")
    for function in TRIGGER_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.execute("DROP FUNCTION IF EXISTS folio_webhook_emit(uuid, text, jsonb)")
    for table in reversed(TABLES):
        op.drop_table(table)
