"""Maintenance: the periodic housekeeping behind the scheduler's ticks.

One module per task, each a plain async function over a session (and the
store when it touches objects), idempotent, honouring ``dry_run`` (count,
change nothing) and returning a :class:`Summary`:

- :mod:`.uploads`: :func:`expire_uploads` (presigned uploads never completed)
- :mod:`.orphans`: :func:`find_orphans` (objects with no document; documents
  whose object is gone are flagged)
- :mod:`.job_history`: :func:`purge_job_history` (finished jobs past retention)
- :mod:`.stuck_jobs`: :func:`reap_stuck_jobs` (the job engine's reconciler)
- :mod:`.outbox_relay`: :func:`relay_outbox` (jobs committed, never sent)
- :mod:`.retention`: :func:`apply_document_retention` (per-tenant retention)
- :mod:`.reembedding`: ``reembed_chunks`` (after an embedding model change;
  the work runs on worker-docs, which has the models)

:mod:`.registry` lists the tasks and their default crons; :mod:`.runner`
runs a maintenance message, for worker-docs' actors and ``folio
maintenance`` alike.
"""

from folio_shared.maintenance.job_history import purge_job_history
from folio_shared.maintenance.orphans import OBJECT_MISSING, find_orphans
from folio_shared.maintenance.outbox_relay import relay_outbox
from folio_shared.maintenance.registry import TASKS, Task, cron_of, task_named, task_of
from folio_shared.maintenance.retention import apply_document_retention
from folio_shared.maintenance.runner import TaskContext, run
from folio_shared.maintenance.stuck_jobs import reap_stuck_jobs
from folio_shared.maintenance.summary import Summary
from folio_shared.maintenance.uploads import expire_uploads

__all__ = [
    "OBJECT_MISSING",
    "TASKS",
    "Summary",
    "Task",
    "TaskContext",
    "apply_document_retention",
    "cron_of",
    "expire_uploads",
    "find_orphans",
    "purge_job_history",
    "reap_stuck_jobs",
    "relay_outbox",
    "run",
    "task_named",
    "task_of",
]
