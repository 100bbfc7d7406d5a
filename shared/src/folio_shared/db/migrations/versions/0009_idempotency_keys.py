"""Idempotency keys: the first response to a ``POST`` that carried an
``Idempotency-Key`` header, replayed to its retries for 24 hours.

- ``idempotency_keys``: one row per ``(scope, key)``; ``scope`` is the
  tenant's id (``tenant:<uuid>``) or, for operator keys, the key's own id
  (``key:<uuid>``). Inserted before the request runs (the claim: a second
  request with the same key finds it and waits); ``request_hash`` is the
  SHA-256 of the method, path, query and body; ``status_code``,
  ``response_headers`` and ``response_body`` are written once the first
  request has answered (``completed_at``). ``created_at`` is indexed for
  the purge of rows past their 24 hours.

A new table: no rewrite of existing ones.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.Text(), primary_key=True),
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_headers", JSONB(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
