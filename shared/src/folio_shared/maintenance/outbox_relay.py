"""The outbox relay safety net: jobs committed but never sent are sent.

The API and the workers send a job's message right after its transaction
commits; when that fails (the broker was down, the process died in between)
the job stays ``pending``. Workers relay those rows as part of their
reconciler; this scheduled run covers a cluster with no worker alive, and
an operator's ``folio maintenance relay-outbox``.
"""

from __future__ import annotations

import dramatiq
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from folio_shared.jobs import outbox
from folio_shared.maintenance.summary import Summary

_UNSENT = sa.text(
    """
    SELECT count(*) FROM jobs WHERE status = 'pending' AND sent_at IS NULL
      AND created_at < now() - make_interval(secs => CAST(:age_s AS double precision))
    """
)


async def relay_outbox(
    conn: AsyncConnection,
    broker: dramatiq.Broker,
    *,
    min_age_ms: int,
    dry_run: bool = False,
    batch_size: int = 500,
) -> Summary:
    """Send ``pending`` jobs created more than ``min_age_ms`` ago (younger
    ones are still being sent by whoever committed them), batch after batch,
    until none is left or a send fails (the broker is down: the next run
    tries again)."""
    matched = int(await conn.scalar(_UNSENT, {"age_s": min_age_ms / 1000}) or 0)
    await conn.rollback()
    if dry_run:
        return Summary("relay_outbox", True, matched, 0)
    sent = 0
    while True:
        batch = await outbox.relay(conn, broker, min_age_ms=min_age_ms, batch=batch_size)
        sent += batch
        if batch < batch_size:
            break
    return Summary("relay_outbox", False, matched, sent)
