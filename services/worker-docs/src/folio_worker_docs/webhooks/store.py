"""A delivery's attempts in PostgreSQL: claiming one, recording it, and
what it means for the delivery and its endpoint.

:func:`claim` takes the attempt the message names (fenced on the attempt
count, so a duplicate message makes no second attempt) and reads the event
and the endpoint; :func:`record` writes the attempt to the log and, in the
same transaction, the delivery's new state (delivered; due again after a
backoff; given up after ``max_attempts``) and the endpoint's run of
failures: a success ends it, and an endpoint whose attempts have all
failed for ``disable_after_s`` is disabled, with the reason its tenant
sees.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from dramatiq.common import compute_backoff
from sqlalchemy.ext.asyncio import AsyncConnection

from folio_shared.settings import WebhookSettings
from folio_worker_docs.webhooks.send import Attempt


@dataclass(frozen=True)
class Claimed:
    """An attempt to make: its number, the event and the endpoint."""

    attempt: int
    event_id: uuid.UUID
    payload: dict[str, Any]
    endpoint_id: uuid.UUID
    url: str
    secret: str
    enabled: bool


_CLAIM = sa.text(
    """
    UPDATE webhook_deliveries d SET attempts = d.attempts + 1, sent_at = now(), updated_at = now()
    FROM webhook_endpoints e
    WHERE d.id = :id AND d.status = 'pending' AND d.attempts = :attempts AND e.id = d.endpoint_id
    RETURNING d.attempts, d.event_id, d.payload, e.id AS endpoint_id, e.url, e.secret, e.enabled
    """
)

_LOG = sa.text(
    """
    INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, status_code, latency_ms,
      error, response_body, next_retry_at)
    SELECT tenant_id, id, :attempt, :status_code, :latency_ms, :error, :body, :next_retry_at
    FROM webhook_deliveries WHERE id = :id
    """
)

_DELIVERED = sa.text(
    """
    WITH d AS (
      UPDATE webhook_deliveries SET status = 'succeeded', delivered_at = now(),
        last_status_code = :status_code, last_error = NULL, updated_at = now()
      WHERE id = :id RETURNING endpoint_id
    )
    UPDATE webhook_endpoints SET failing_since = NULL
    WHERE id = (SELECT endpoint_id FROM d) AND failing_since IS NOT NULL
    """
)

_FAILED = sa.text(
    """
    UPDATE webhook_deliveries SET
      status = CASE WHEN CAST(:next_retry_at AS timestamptz) IS NULL
                    THEN 'failed' ELSE 'pending' END,
      next_attempt_at = CAST(:next_retry_at AS timestamptz), sent_at = NULL,
      last_status_code = :status_code, last_error = :error, updated_at = now()
    WHERE id = :id
    """
)

_FAILING = sa.text(
    """
    UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now()),
      enabled = CASE WHEN coalesce(failing_since, now())
                          <= now() - make_interval(secs => CAST(:window_s AS double precision))
                     THEN false ELSE enabled END,
      disabled_at = CASE WHEN enabled AND coalesce(failing_since, now())
                          <= now() - make_interval(secs => CAST(:window_s AS double precision))
                     THEN now() ELSE disabled_at END,
      updated_at = now()
    WHERE id = :endpoint_id
    RETURNING enabled, disabled_at = now() AS disabled_now, failing_since
    """
)

_REASON = sa.text("UPDATE webhook_endpoints SET disabled_reason = :reason WHERE id = :endpoint_id")

_GIVE_UP = sa.text(
    """
    UPDATE webhook_deliveries SET status = 'failed', last_error = :error, updated_at = now()
    WHERE id = :id
    """
)


async def claim(conn: AsyncConnection, delivery_id: uuid.UUID, attempts: int) -> Claimed | None:
    """Take attempt ``attempts + 1`` of the delivery (committed), or
    ``None`` when it was made already or the delivery is no longer pending."""
    row = (await conn.execute(_CLAIM, {"id": delivery_id, "attempts": attempts})).first()
    await conn.commit()
    if row is None:
        return None
    return Claimed(
        attempt=row.attempts,
        event_id=row.event_id,
        payload=row.payload,
        endpoint_id=row.endpoint_id,
        url=row.url,
        secret=row.secret,
        enabled=row.enabled,
    )


async def give_up(conn: AsyncConnection, delivery_id: uuid.UUID, reason: str) -> None:
    """End a delivery without an attempt (its endpoint was disabled)."""
    await conn.execute(_GIVE_UP, {"id": delivery_id, "error": reason})
    await conn.commit()


def backoff_ms(settings: WebhookSettings, attempt: int) -> int:
    """The delay after failed attempt ``attempt`` (1-based): Dramatiq's own
    exponential backoff with jitter (what its ``Retries`` uses), from
    ``min_backoff_ms`` up to ``max_backoff_ms``."""
    _, delay = compute_backoff(
        max(attempt - 1, 0), factor=settings.min_backoff_ms, max_backoff=settings.max_backoff_ms
    )
    return delay


async def record(
    conn: AsyncConnection,
    settings: WebhookSettings,
    delivery_id: uuid.UUID,
    claimed: Claimed,
    result: Attempt,
) -> bool:
    """Write the attempt and its consequences (one transaction); returns
    whether the endpoint was disabled by it."""
    retry_at = None
    if not result.ok and claimed.attempt < settings.max_attempts:
        delay_s = backoff_ms(settings, claimed.attempt) / 1000
        retry_at = await conn.scalar(
            sa.text("SELECT now() + make_interval(secs => CAST(:s AS double precision))"),
            {"s": delay_s},
        )
    values = {
        "id": delivery_id,
        "attempt": claimed.attempt,
        "status_code": result.status_code,
        "latency_ms": result.latency_ms,
        "error": result.error,
        "body": result.body,
        "next_retry_at": retry_at,
    }
    await conn.execute(_LOG, values)
    disabled = False
    if result.ok:
        await conn.execute(_DELIVERED, values)
    else:
        await conn.execute(_FAILED, values)
        row = (
            await conn.execute(
                _FAILING,
                {"endpoint_id": claimed.endpoint_id, "window_s": settings.disable_after_s},
            )
        ).first()
        if row is not None and row.disabled_now:
            disabled = True
            reason = (
                f"every delivery attempt failed since {row.failing_since.isoformat()}"
                f" (longer than {settings.disable_after_s:g} s); last: {result.error}"
            )
            await conn.execute(_REASON, {"endpoint_id": claimed.endpoint_id, "reason": reason})
    await conn.commit()
    return disabled
