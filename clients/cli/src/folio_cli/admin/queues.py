"""``folio queues``, ``folio workers``, ``folio stalled`` and ``folio queue
pause|resume|list``: what the queues hold and who works on them.

- ``folio queues``: depth of every physical queue (ready, delayed, in
  flight, dead), oldest message age, jobs finished per minute, paused or not;
- ``folio workers``: live worker processes (host, pid, queues, current jobs);
- ``folio stalled``: running jobs whose progress has not moved;
- ``folio queue pause|resume QUEUE``: stop or let workers take a logical
  queue's messages (audited as ``cli`` or ``--as NAME``); ``list``: the
  paused ones.
"""

from __future__ import annotations

import typer

from folio_cli.admin.jobs import ACTOR
from folio_cli.admin.servers import with_servers
from folio_cli.output import AS_JSON, print_json, print_table, when
from folio_shared.ops import pause, queues, stalled, workers

queues_app = typer.Typer(help="Queue depth, age and throughput.", invoke_without_command=True)
workers_app = typer.Typer(help="Live worker processes.", invoke_without_command=True)
stalled_app = typer.Typer(help="Running jobs that stopped moving.", invoke_without_command=True)
queue_app = typer.Typer(help="Pause and resume queues.", no_args_is_help=True)


@queues_app.callback()
def queues_show(
    minutes: int = typer.Option(5, "--minutes", min=1, max=120, help="Throughput window."),
    as_json: bool = AS_JSON,
) -> None:
    """Every physical queue: ready, delayed, in flight, dead, oldest age, finished/min."""
    stats = with_servers(
        lambda s: queues.queue_stats(s.redis, s.namespace, engine=s.engine, minutes=minutes)
    )
    if as_json:
        print_json(stats)
        return
    rows = [
        [
            q.queue,
            q.ready,
            q.delayed,
            q.in_flight,
            q.dead,
            f"{q.oldest_age_s:.1f}s" if q.oldest_age_s is not None else None,
            " ".join(str(n) for n in q.finished_per_minute),
            "paused" if q.paused else "",
        ]
        for q in stats
    ]
    headers = ["QUEUE", "READY", "DELAYED", "IN FLIGHT", "DEAD", "OLDEST"]
    print_table([*headers, f"FINISHED/MIN (last {minutes})", "STATE"], rows)


@workers_app.callback()
def workers_show(as_json: bool = AS_JSON) -> None:
    """Live worker processes: host, pid, queues, current jobs, last heartbeat."""
    found = with_servers(lambda s: workers.list_workers(s.redis, s.namespace))
    if as_json:
        print_json(found)
        return
    rows = [
        [
            w.host,
            w.pid,
            ",".join(w.logical_queues),
            len(w.current_jobs),
            when(w.last_heartbeat),
            when(w.started_at),
        ]
        for w in found
    ]
    print_table(["HOST", "PID", "QUEUES", "JOBS", "LAST HEARTBEAT", "STARTED"], rows)
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
    found = with_servers(lambda s: stalled.find_stalled(s.engine, stall_after_ms=after_ms))
    if as_json:
        print_json(found)
        return
    rows = [[j.id, j.actor, j.worker, j.stage, f"{j.progress}%", f"{j.idle_s:.0f}s"] for j in found]
    print_table(["JOB", "ACTOR", "WORKER", "STAGE", "PROGRESS", "IDLE"], rows)


@queue_app.command("pause")
def queue_pause(queue: str, actor: str = ACTOR) -> None:
    """Stop workers taking QUEUE's messages (sending still works)."""
    changed = with_servers(
        lambda s: pause.pause_queue(s.redis, s.namespace, queue, engine=s.engine, actor=actor)
    )
    typer.echo(f"{queue} {'paused' if changed else 'was already paused'}")


@queue_app.command("resume")
def queue_resume(queue: str, actor: str = ACTOR) -> None:
    """Let workers take QUEUE's messages again."""
    changed = with_servers(
        lambda s: pause.resume_queue(s.redis, s.namespace, queue, engine=s.engine, actor=actor)
    )
    typer.echo(f"{queue} {'resumed' if changed else 'was not paused'}")


@queue_app.command("list")
def queue_list(as_json: bool = AS_JSON) -> None:
    """The paused queues."""
    found = sorted(with_servers(lambda s: pause.paused_queues(s.redis, s.namespace)))
    if as_json:
        print_json({"paused": found})
    else:
        typer.echo("\n".join(found) if found else "no paused queues")
