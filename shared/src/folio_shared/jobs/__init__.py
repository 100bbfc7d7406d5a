"""The job engine: Dramatiq messages turned into jobs a user can follow and trust.

- :mod:`.store`: fenced state transitions in PostgreSQL (claim, outcomes, leases)
- :mod:`.outbox`: job row and message in one transaction; dispatch and relay
- :mod:`.rows`: a new job's rows, for the outbox and for batched SQL
- :mod:`.middleware`: :class:`JobTracking`, recording every attempt
- :mod:`.actor`: :func:`job_actor`, declaring an actor from a message type
- :mod:`.context`: :func:`current_job` and :func:`progress` inside an actor
- :mod:`.family`: child jobs and a completion step run exactly once
- :mod:`.events`: per-job event streams in Redis
- :mod:`.send`: :class:`~.send.AsyncSender`, sending from asyncio code
- :mod:`.pointers`: where a job's latest message is in Redis
- :mod:`.reconcile`: re-sending what Redis forgot
- :mod:`.purge`: deleting finished and dead jobs
- :mod:`.attempt_errors`: an attempt's error in the job's history
- :mod:`.service`: :class:`Jobs` (enqueue, get, cancel, retry, events, redrive)

Layers, each importing only those below it: ``store``, ``rows``, ``events``,
``pointers``, ``purge`` and ``attempt_errors`` (rows and keys); ``send``;
``outbox``; ``family``; ``context`` and ``reconcile`` (with the worker's
:mod:`folio_shared.resources`); ``middleware``, ``actor`` and ``service``.
"""

from folio_shared.jobs.actor import job_actor
from folio_shared.jobs.context import JobContext, current_job, progress
from folio_shared.jobs.family import WAITING, add_children
from folio_shared.jobs.middleware import JobTracking
from folio_shared.jobs.outbox import dispatch, enqueue, pending_ids, relay
from folio_shared.jobs.service import Jobs

__all__ = [
    "WAITING",
    "JobContext",
    "JobTracking",
    "Jobs",
    "add_children",
    "current_job",
    "dispatch",
    "enqueue",
    "job_actor",
    "pending_ids",
    "progress",
    "relay",
]
