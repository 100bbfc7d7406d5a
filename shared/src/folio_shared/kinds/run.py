"""Running a worker of job kinds: ``folio worker start --jobs my_package.jobs``.

:func:`run_kinds_worker` imports the modules (default: those of the
``folio.jobs`` entry points) in this supervisor process to learn the kinds
and their queues, then runs Dramatiq's CLI on ``folio_shared.kinds.boot
<modules>`` under Folio's supervised runner
(:func:`folio_shared.worker.supervise`), consuming every priority
sub-queue of those queues. Processes and shutdown timeout come from
``FOLIO_WORKER_*`` as for Folio's own workers; threads per process:

- ``FOLIO_WORKER_THREADS`` when every kind is a plain ``def`` (each
  running job holds its thread while it works);
- :data:`ASYNC_THREADS` when one is ``async def``: each in-flight job holds
  a thread that only waits for the event loop, so the thread count is how
  many jobs one process holds in flight.

``--threads N`` among the extra arguments overrides both. Serve CPU-bound
sync kinds and I/O-bound async kinds from separate workers (``--queues``).
"""

from __future__ import annotations

from collections.abc import Sequence

from folio_shared.kinds.kind import Kind
from folio_shared.kinds.load import entry_point_modules, load_kinds, queues_of, select
from folio_shared.logging import configure_logging
from folio_shared.settings import get_settings
from folio_shared.worker import dramatiq_argv, supervise

#: The broker module each worker process imports first.
BOOT_MODULE = "folio_shared.kinds.boot"
#: Threads per process of a worker serving ``async def`` kinds.
ASYNC_THREADS = 1000


def threads_for(kinds: Sequence[Kind]) -> int:
    """Threads per worker process for ``kinds`` (see the module doc)."""
    return ASYNC_THREADS if any(k.is_async for k in kinds) else get_settings().worker.threads


def kinds_worker_argv(
    modules: Sequence[str], queues: Sequence[str] = (), extra: Sequence[str] = ()
) -> tuple[list[str], list[Kind]]:
    """The Dramatiq arguments of a worker of the kinds in ``modules``
    (default: the entry points') on ``queues`` (default: every kind's), and
    the kinds it serves."""
    modules = list(modules) or entry_point_modules()
    kinds = select(load_kinds(modules), queues)
    argv = dramatiq_argv(
        [BOOT_MODULE, *modules], queues_of(kinds), threads=threads_for(kinds), extra=extra
    )
    return argv, kinds


def run_kinds_worker(
    modules: Sequence[str], queues: Sequence[str] = (), extra: Sequence[str] = ()
) -> int:
    """Run the supervised worker (see the module doc); returns its exit code."""
    configure_logging(service="jobs-worker")
    argv, _ = kinds_worker_argv(modules, queues, extra)
    return supervise(argv)
