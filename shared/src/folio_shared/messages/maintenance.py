"""Maintenance messages: periodic housekeeping, one message type per task.

The scheduler sends them on its ticks and never does the work itself; an
operator may send them too (``dry_run`` reports what would change). Every
one carries:

- ``tick``: ISO 8601 time of the scheduler tick that sent it (default none:
  sent by hand). Actors use it to run a tick once even when two scheduler
  replicas both sent it.
- ``dry_run``: count and report, change nothing (default false).
- ``batch_size``: rows or objects handled per transaction (default none:
  the actor's own default).

Limits left at none fall back to the matching ``FOLIO_*`` setting.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from folio_shared.messages.base import Id, Message
from folio_shared.messages.queues import Queue

#: ISO 8601 timestamp of a scheduler tick, e.g. ``"2025-01-31T12:00:00+00:00"``.
Tick = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

#: Rows or objects per batch.
BatchSize = Annotated[int, msgspec.Meta(ge=1, le=100_000)]

#: A non-negative duration or age; the unit is in the field's name.
Duration = Annotated[int, msgspec.Meta(ge=0)]


class MaintenanceMessage(Message, frozen=True, kw_only=True, tag=False):
    """Fields every maintenance message has (never sent itself)."""

    redrive_options = frozenset({"dry_run", "batch_size"})

    tick: Tick | None = None
    dry_run: bool = False
    batch_size: BatchSize | None = None


class ExpireUploadsV1(MaintenanceMessage, frozen=True, tag="maintenance.expire_uploads.v1"):
    """Delete uploads that were started and never completed
    (actor ``maintenance.expire_uploads``).

    - ``abandoned_after_s``: age after which an upload is abandoned, in
      seconds (default none: ``FOLIO_UPLOAD_ABANDONED_AFTER_S``).
    """

    actor_name = "maintenance.expire_uploads"
    queue = Queue.MAINTENANCE
    redrive_options = MaintenanceMessage.redrive_options | {"abandoned_after_s"}

    abandoned_after_s: Duration | None = None


class FindOrphansV1(MaintenanceMessage, frozen=True, tag="maintenance.find_orphans.v1"):
    """Find stored objects no document refers to, and documents whose object
    is gone; delete the orphan objects unless ``dry_run``
    (actor ``maintenance.find_orphans``).

    - ``min_age_s``: skip objects younger than this, in seconds, so an upload
      in flight is never taken for an orphan (default none: the actor's
      default).
    """

    actor_name = "maintenance.find_orphans"
    queue = Queue.MAINTENANCE
    redrive_options = MaintenanceMessage.redrive_options | {"min_age_s"}

    min_age_s: Duration | None = None


class PurgeJobHistoryV1(MaintenanceMessage, frozen=True, tag="maintenance.purge_job_history.v1"):
    """Delete finished jobs older than the retention
    (actor ``maintenance.purge_job_history``).

    - ``retention_days``: finished jobs kept, in days (default none:
      ``FOLIO_JOBS_RETENTION_DAYS``).
    """

    actor_name = "maintenance.purge_job_history"
    queue = Queue.MAINTENANCE
    redrive_options = MaintenanceMessage.redrive_options | {"retention_days"}

    retention_days: Annotated[int, msgspec.Meta(ge=1)] | None = None


class ReapStuckJobsV1(MaintenanceMessage, frozen=True, tag="maintenance.reap_stuck_jobs.v1"):
    """Reconcile jobs with the broker: re-send jobs whose lease expired or
    whose message the broker lost, dead-letter those out of attempts
    (actor ``maintenance.reap_stuck_jobs``).

    - ``grace_ms``: how long past its lease expiry (or since it was queued
      with no message on the broker) a job must be before it is reaped, in
      milliseconds (default none: the actor's default).
    """

    actor_name = "maintenance.reap_stuck_jobs"
    queue = Queue.MAINTENANCE
    redrive_options = MaintenanceMessage.redrive_options | {"grace_ms"}

    grace_ms: Duration | None = None


class RelayOutboxV1(MaintenanceMessage, frozen=True, tag="maintenance.relay_outbox.v1"):
    """Send outbox messages that could not be sent at commit time (the
    broker was down) (actor ``maintenance.relay_outbox``).

    - ``min_age_ms``: relay only rows older than this, in milliseconds, so the
      relay does not race the API's own send right after commit (default
      none: the actor's default).
    """

    actor_name = "maintenance.relay_outbox"
    queue = Queue.MAINTENANCE
    redrive_options = MaintenanceMessage.redrive_options | {"min_age_ms"}

    min_age_ms: Duration | None = None


class ApplyDocumentRetentionV1(
    MaintenanceMessage, frozen=True, tag="maintenance.apply_document_retention.v1"
):
    """Delete documents (rows, chunks, stored files) past their tenant's
    retention (actor ``maintenance.apply_document_retention``).

    - ``tenant_id``: apply to this tenant only (default none: every tenant
      that has a retention).
    """

    actor_name = "maintenance.apply_document_retention"
    queue = Queue.MAINTENANCE

    tenant_id: Id | None = None


class ReembedChunksV1(MaintenanceMessage, frozen=True, tag="maintenance.reembed_chunks.v1"):
    """One bounded round of re-embedding after an embedding model change
    (actor ``maintenance.reembed_chunks``, on worker-docs, which has the
    models): chunks not made by the model their language now uses
    (``FOLIO_PIPELINE_EMBEDDING_MODEL``) get new vectors, staged, and each
    tenant whose new vectors are complete switches to them at once; search
    answers from the old vectors until then. A round that finds nothing
    stale does nothing. ``dry_run``: count the documents holding stale
    chunks. ``batch_size`` is not used.

    - ``max_chunks``: chunks embedded per round (default none: 500); a
      document is never split, so a round may pass it by one document.
    - ``tenant_id``: this tenant only (default none: every tenant).
    """

    actor_name = "maintenance.reembed_chunks"
    queue = Queue.MAINTENANCE
    redrive_options = MaintenanceMessage.redrive_options | {"max_chunks"}

    max_chunks: Annotated[int, msgspec.Meta(ge=1)] | None = None
    tenant_id: Id | None = None
