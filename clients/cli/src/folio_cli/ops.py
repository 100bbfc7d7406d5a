"""``folio`` commands for operators: queues, workers, jobs, dead letters, pauses.

- ``folio queues``: depth of every queue (ready, delayed, in flight, dead),
  oldest message age, jobs finished per minute, paused or not;
- ``folio workers``: live worker processes (host, pid, queues, current jobs);
- ``folio jobs show|retry|cancel JOB_ID``;
- ``folio dead list|show|redrive|purge``: the dead-letter workbench;
- ``folio queue pause|resume|list``;
- ``folio stalled``: running jobs whose progress has not moved.

Every command prints a table a person can read, or with ``--json`` one JSON
document for scripts. Re-drives, purges, retries, cancellations and pauses
are written to the audit log as ``cli`` (or ``--as NAME``).

Exit codes, as for every ``folio`` command: 0 success, 1 the request was
refused (unknown job, wrong state, no selection), 2 a dependency
(PostgreSQL, Redis) failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import redis.asyncio as aioredis
import typer
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, ProgrammingError

from folio_shared.broker import create_broker
from folio_shared.db.engine import create_engine
from folio_shared.errors import FolioError, InvalidInput
from folio_shared.jobs import Jobs
from folio_shared.ops import audit, dead, pause, queues, stalled, workers
from folio_shared.settings import get_settings

T = TypeVar("T")

AS_JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
ACTOR = typer.Option("cli", "--as", help="Who the audit log says acted.")

queues_app = typer.Typer(help="Queue depth, age and throughput.", invoke_without_command=True)
workers_app = typer.Typer(help="Live worker processes.", invoke_without_command=True)
jobs_app = typer.Typer(help="Show, retry or cancel one job.", no_args_is_help=True)
dead_app = typer.Typer(help="The dead-letter workbench.", no_args_is_help=True)
queue_app = typer.Typer(help="Pause and resume queues.", no_args_is_help=True)
stalled_app = typer.Typer(help="Running jobs that stopped moving.", invoke_without_command=True)


# --- plumbing ------------------------------------------------------------------------


@dataclass
class Ops:
    """The clients one command uses."""

    jobs: Jobs
    redis: aioredis.Redis
    namespace: str

    @property
    def engine(self) -> Any:
        return self.jobs.engine


@contextlib.contextmanager
def _clean_errors() -> Iterator[None]:
    try:
        yield
    except FolioError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e
    except ProgrammingError as e:
        typer.echo(f"error: database schema problem ({e.orig}); has `folio migrate` run?", err=True)
        raise typer.Exit(2) from e
    except (OSError, DBAPIError, RedisError) as e:
        typer.echo(f"error: a dependency failed: {e}", err=True)
        raise typer.Exit(2) from e


def _run(work: Callable[[Ops], Awaitable[T]]) -> T:
    async def run() -> T:
        settings = get_settings()
        engine = create_engine(settings)
        client = aioredis.Redis.from_url(settings.redis.url)
        broker = create_broker(settings)
        try:
            return await work(Ops(Jobs(engine, broker, client), client, settings.broker.namespace))
        finally:
            broker.close()
            await client.aclose()
            await engine.dispose()

    with _clean_errors():
        return asyncio.run(run())


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, uuid.UUID | datetime):
        return str(value)
    return value


def _json(value: Any) -> None:
    typer.echo(json.dumps(_plain(value), indent=2, default=str))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(c) for c in headers], *[["-" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _when(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def _options(pairs: list[str]) -> dict[str, Any] | None:
    """``key=value`` pairs; values parse as JSON when they can (``true``,
    ``3``, ``["eng","deu"]``), else stay text."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"option {pair!r} is not key=value", option=pair)
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out or None


def _filter(
    queue: str | None,
    actor: str | None,
    error_type: str | None,
    tenant: uuid.UUID | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> dead.DeadFilter:
    return dead.DeadFilter(
        queue=queue,
        actor=actor,
        error_type=error_type,
        tenant_id=tenant,
        since=since.replace(tzinfo=since.tzinfo or UTC) if since else None,
        until=until.replace(tzinfo=until.tzinfo or UTC) if until else None,
        limit=limit,
    )


QUEUE = typer.Option(None, "--queue", help="Logical (ocr) or physical (ocr.high) queue.")
ACTOR_NAME = typer.Option(None, "--actor", help="Actor name, e.g. ocr.page.")
ERROR_TYPE = typer.Option(None, "--error-type", help="Exception type, e.g. TimeoutError.")
TENANT = typer.Option(None, "--tenant", help="Tenant id.")
SINCE = typer.Option(None, "--since", help="Died at or after (ISO time, UTC if naive).")
UNTIL = typer.Option(None, "--until", help="Died before (ISO time).")
LIMIT = typer.Option(100, "--limit", min=1, max=10_000, help="At most this many jobs.")
OPTION = typer.Option([], "--option", "-o", help="Payload override key=value (repeatable).")


# --- queues, workers, stalled ---------------------------------------------------------------


@queues_app.callback()
def queues_show(
    minutes: int = typer.Option(5, "--minutes", min=1, max=120, help="Throughput window."),
    as_json: bool = AS_JSON,
) -> None:
    """Every physical queue: ready, delayed, in flight, dead, oldest age, finished/min."""
    stats = _run(
        lambda o: queues.queue_stats(o.redis, o.namespace, engine=o.engine, minutes=minutes)
    )
    if as_json:
        _json(stats)
        return
    rows = [
        [
            s.queue,
            s.ready,
            s.delayed,
            s.in_flight,
            s.dead,
            f"{s.oldest_age_s:.1f}s" if s.oldest_age_s is not None else None,
            " ".join(str(n) for n in s.finished_per_minute),
            "paused" if s.paused else "",
        ]
        for s in stats
    ]
    headers = ["QUEUE", "READY", "DELAYED", "IN FLIGHT", "DEAD", "OLDEST"]
    _table([*headers, f"FINISHED/MIN (last {minutes})", "STATE"], rows)


@workers_app.callback()
def workers_show(as_json: bool = AS_JSON) -> None:
    """Live worker processes: host, pid, queues, current jobs, last heartbeat."""
    found = _run(lambda o: workers.list_workers(o.redis, o.namespace))
    if as_json:
        _json(found)
        return
    rows = [
        [
            w.host,
            w.pid,
            ",".join(w.logical_queues),
            len(w.current_jobs),
            _when(w.last_heartbeat),
            _when(w.started_at),
        ]
        for w in found
    ]
    _table(["HOST", "PID", "QUEUES", "JOBS", "LAST HEARTBEAT", "STARTED"], rows)
    if not found:
        typer.echo("no live workers")


@stalled_app.callback()
def stalled_show(
    after_ms: int = typer.Option(
        stalled.DEFAULT_STALL_AFTER_MS, "--after-ms", min=1, help="Stall threshold."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """Running jobs whose progress has not moved within the threshold."""
    found = _run(lambda o: stalled.find_stalled(o.engine, stall_after_ms=after_ms))
    if as_json:
        _json(found)
        return
    rows = [[j.id, j.actor, j.worker, j.stage, f"{j.progress}%", f"{j.idle_s:.0f}s"] for j in found]
    _table(["JOB", "ACTOR", "WORKER", "STAGE", "PROGRESS", "IDLE"], rows)


# --- jobs -------------------------------------------------------------------------------


def _print_detail(detail: dead.JobDetail) -> None:
    j = detail.job
    for label, value in (
        ("job", j.id),
        ("status", j.status),
        ("actor", j.actor),
        ("queue", j.queue),
        ("tenant", j.tenant_id),
        ("document", j.document_id),
        ("parent", j.parent_id),
        ("attempts", f"{j.attempts} (retries allowed: {j.max_retries})"),
        ("stage", f"{detail.stage or '-'} {detail.progress}%"),
        ("error", f"{j.error_type}: {j.error_message}" if j.error_type else None),
        ("created", _when(j.created_at)),
        ("finished", _when(j.finished_at)),
    ):
        typer.echo(f"{label + ':':10} {'-' if value is None else value}")
    typer.echo(f"payload:   {json.dumps(detail.payload, sort_keys=True)}")
    for a in detail.attempts:
        run = f" (run {a.run + 1})" if a.run else ""
        why = f" {a.error_type}: {a.error_message}" if a.error_type else ""
        typer.echo(f"\nattempt {a.attempt}{run}: {a.status or '?'} at {_when(a.at)}{why}")
        if a.traceback:
            for line in a.traceback.rstrip().splitlines():
                typer.echo(f"    {line}")


@jobs_app.command("show")
def jobs_show(job_id: uuid.UUID, as_json: bool = AS_JSON) -> None:
    """A job: state, payload, and every attempt with its error and traceback."""
    detail = _run(lambda o: dead.inspect_job(o.engine, job_id))
    if as_json:
        _json(detail)
    else:
        _print_detail(detail)


@jobs_app.command("retry")
def jobs_retry(
    job_id: uuid.UUID, option: list[str] = OPTION, actor: str = ACTOR, as_json: bool = AS_JSON
) -> None:
    """Run a failed, dead or cancelled job again from the start."""
    with _clean_errors():
        opts = _options(option)

    async def work(o: Ops) -> Any:
        job = await o.jobs.retry(job_id, options=opts)
        await audit.record_now(
            o.engine,
            actor=actor,
            action="job.retry",
            target=f"job:{job_id}",
            details={"options": opts or {}},
        )
        return job

    job = _run(work)
    if as_json:
        _json({"id": job.id, "status": str(job.status)})
    else:
        typer.echo(f"job {job.id} is {job.status}")


@jobs_app.command("cancel")
def jobs_cancel(job_id: uuid.UUID, actor: str = ACTOR, as_json: bool = AS_JSON) -> None:
    """Cancel a job (queued: at once; running: at its next progress report)."""

    async def work(o: Ops) -> Any:
        job = await o.jobs.cancel(job_id)
        await audit.record_now(o.engine, actor=actor, action="job.cancel", target=f"job:{job_id}")
        return job

    job = _run(work)
    if as_json:
        _json({"id": job.id, "status": str(job.status)})
    else:
        typer.echo(f"job {job.id} is {job.status}")


# --- dead letters --------------------------------------------------------------------------


@dead_app.command("list")
def dead_list(
    queue: str | None = QUEUE,
    actor: str | None = ACTOR_NAME,
    error_type: str | None = ERROR_TYPE,
    tenant: uuid.UUID | None = TENANT,
    since: datetime | None = SINCE,
    until: datetime | None = UNTIL,
    limit: int = LIMIT,
    as_json: bool = AS_JSON,
) -> None:
    """Dead jobs, the most recent first, filtered."""
    flt = _filter(queue, actor, error_type, tenant, since, until, limit)
    found = _run(lambda o: dead.list_dead(o.engine, flt))
    if as_json:
        _json(found)
        return
    rows = [
        [j.id, j.actor, j.queue, j.attempts, j.error_type, (j.error_message or "")[:60]]
        for j in found
    ]
    _table(["JOB", "ACTOR", "QUEUE", "ATTEMPTS", "ERROR", "MESSAGE"], rows)


@dead_app.command("show")
def dead_show(job_id: uuid.UUID, as_json: bool = AS_JSON) -> None:
    """A dead job: payload and every attempt with its error and traceback."""
    jobs_show(job_id, as_json)


def _selection(
    job_ids: list[uuid.UUID], flt: dead.DeadFilter, filtered: bool, everything: bool
) -> tuple[list[uuid.UUID] | None, dead.DeadFilter | None]:
    if job_ids:
        return job_ids, None
    if not (filtered or everything):
        raise InvalidInput("choose jobs: job ids, a filter (--queue, --actor, ...) or --all")
    return None, flt


@dead_app.command("redrive")
def dead_redrive(
    job_ids: list[uuid.UUID] = typer.Argument(None, help="Jobs to re-drive (or use filters)."),
    queue: str | None = QUEUE,
    actor_name: str | None = ACTOR_NAME,
    error_type: str | None = ERROR_TYPE,
    tenant: uuid.UUID | None = TENANT,
    since: datetime | None = SINCE,
    until: datetime | None = UNTIL,
    limit: int = LIMIT,
    everything: bool = typer.Option(False, "--all", help="Every dead job (up to --limit)."),
    option: list[str] = OPTION,
    actor: str = ACTOR,
    as_json: bool = AS_JSON,
) -> None:
    """Run dead jobs again, each once, optionally with changed payload options."""
    flt = _filter(queue, actor_name, error_type, tenant, since, until, limit)
    filtered = any(v is not None for v in (queue, actor_name, error_type, tenant, since, until))
    with _clean_errors():
        opts = _options(option)
        ids, chosen = _selection(job_ids or [], flt, filtered, everything)
    report = _run(
        lambda o: dead.redrive(o.jobs, job_ids=ids, flt=chosen, options=opts, actor=actor)
    )
    if as_json:
        _json(report)
        return
    typer.echo(f"re-driven: {len(report.redriven)}")
    for jid in report.redriven:
        typer.echo(f"  {jid}")
    for skipped_id, why in report.skipped.items():
        typer.echo(f"skipped {skipped_id}: {why}")


@dead_app.command("purge")
def dead_purge(
    job_ids: list[uuid.UUID] = typer.Argument(None, help="Jobs to purge (or use filters)."),
    queue: str | None = QUEUE,
    actor_name: str | None = ACTOR_NAME,
    error_type: str | None = ERROR_TYPE,
    tenant: uuid.UUID | None = TENANT,
    since: datetime | None = SINCE,
    until: datetime | None = UNTIL,
    limit: int = LIMIT,
    everything: bool = typer.Option(False, "--all", help="Every dead job (up to --limit)."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    actor: str = ACTOR,
    as_json: bool = AS_JSON,
) -> None:
    """Delete dead jobs and their dead-letter messages (history is lost)."""
    flt = _filter(queue, actor_name, error_type, tenant, since, until, limit)
    filtered = any(v is not None for v in (queue, actor_name, error_type, tenant, since, until))
    with _clean_errors():
        ids, chosen = _selection(job_ids or [], flt, filtered, everything)
    if not yes:
        typer.confirm("Delete the selected dead jobs for good?", abort=True)
    gone = _run(lambda o: dead.purge(o.jobs, job_ids=ids, flt=chosen, actor=actor))
    if as_json:
        _json({"purged": gone})
    else:
        typer.echo(f"purged: {len(gone)}")


# --- pause / resume ----------------------------------------------------------------------


@queue_app.command("pause")
def queue_pause(queue: str, actor: str = ACTOR) -> None:
    """Stop workers taking QUEUE's messages (sending still works)."""
    changed = _run(
        lambda o: pause.pause_queue(o.redis, o.namespace, queue, engine=o.engine, actor=actor)
    )
    typer.echo(f"{queue} {'paused' if changed else 'was already paused'}")


@queue_app.command("resume")
def queue_resume(queue: str, actor: str = ACTOR) -> None:
    """Let workers take QUEUE's messages again."""
    changed = _run(
        lambda o: pause.resume_queue(o.redis, o.namespace, queue, engine=o.engine, actor=actor)
    )
    typer.echo(f"{queue} {'resumed' if changed else 'was not paused'}")


@queue_app.command("list")
def queue_list(as_json: bool = AS_JSON) -> None:
    """The paused queues."""
    found = sorted(_run(lambda o: pause.paused_queues(o.redis, o.namespace)))
    if as_json:
        _json({"paused": found})
    else:
        typer.echo("\n".join(found) if found else "no paused queues")
