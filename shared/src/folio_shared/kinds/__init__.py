"""Job kinds of your own: Folio's job engine for any background work.

Public API (see ``docs/jobs.md``, "Your own job kinds")::

    from folio_shared.kinds import JobContext, job

    @job("audio.analyze", queue="media", payload=AnalyzeAudio, result=AudioReport)
    async def analyze(ctx: JobContext, p: AnalyzeAudio) -> AudioReport: ...

- :mod:`.kind`: :func:`job`, :class:`Kind` (payload versions, schemas), the registry
- :mod:`.context`: :class:`JobContext` / :class:`SyncJobContext` (progress,
  logger, storage, child jobs)
- :mod:`.actors`: a kind as a Dramatiq actor under Folio's job engine
- :mod:`.record`: the ``job_kinds`` and ``job_kind_workers`` rows
- :mod:`.load`: the kinds of ``--jobs`` modules or ``folio.jobs`` entry points
- :mod:`.run`, :mod:`.boot`: ``folio worker start --jobs ...``

Layers, each importing only those below it: ``kind``; ``context``;
``actors``, ``record`` and ``load``; ``run`` and ``boot``.
"""

from folio_shared.kinds.context import ChildResult, JobContext, SyncJobContext
from folio_shared.kinds.kind import Kind, KindOptions, declared, job, kind_of

__all__ = [
    "ChildResult",
    "JobContext",
    "Kind",
    "KindOptions",
    "SyncJobContext",
    "declared",
    "job",
    "kind_of",
]
