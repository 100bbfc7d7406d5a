"""Folio's worker for the benchmarks: Folio's broker and full middleware stack
(job row claim, lease, outcome, events) around a no-op actor.

The actor is a plain ``def`` (it has nothing to await; so are the raw
Dramatiq, Celery and RQ no-ops it is compared with), run on the worker
thread. ``BENCH_FOLIO_ACTOR=async`` declares it ``async def`` instead: run
on the worker's event loop, as Folio's I/O-bound actors are.

Run by ``folio_shared.worker.supervise`` as ``python -m dramatiq folio_worker``
with ``bench/noop`` on the path; settings come from ``FOLIO_*`` variables.

``BENCH_SWITCH_INTERVAL_S`` (unset by default) sets the interpreter's GIL
switch interval (``sys.setswitchinterval``; Python's default is 0.005 s):
an experiment knob for profiling, never used for the reported numbers.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

from messages import NoopV1

from folio_shared.broker import setup_broker
from folio_shared.jobs import job_actor
from folio_shared.logging import configure_logging

if switch_interval_s := os.environ.get("BENCH_SWITCH_INTERVAL_S"):
    sys.setswitchinterval(float(switch_interval_s))

configure_logging(service="bench-worker")
broker = setup_broker()


if os.environ.get("BENCH_FOLIO_ACTOR") == "async":

    @job_actor(NoopV1, broker=broker)
    async def noop(msg: NoopV1) -> None:
        if msg.sleep_ms:
            await asyncio.sleep(msg.sleep_ms / 1000)

else:

    @job_actor(NoopV1, broker=broker)
    def noop_sync(msg: NoopV1) -> None:
        if msg.sleep_ms:
            time.sleep(msg.sleep_ms / 1000)


if timeline_out := os.environ.get("BENCH_TIMELINE_OUT"):
    # bench/job_timeline.py: each message's timestamps, written at shutdown.
    import timeline_probe

    timeline_probe.install(broker, timeline_out)

if profile_out := os.environ.get("BENCH_PROFILE_OUT"):
    # bench/worker_profile.py: every thread's CPU, from boot to shutdown.
    from pathlib import Path

    import yappi

    from folio_shared.resources import OnShutdown

    class _Profile(OnShutdown):
        def after_worker_boot(self, broker: object, worker: object) -> None:
            yappi.set_clock_type("cpu")
            yappi.start()

    def _save() -> None:
        yappi.stop()
        out = Path(str(profile_out))
        yappi.get_func_stats().save(str(out), type="ystat")
        threads = [f"{t.name}\t{t.ttot}" for t in yappi.get_thread_stats()]
        out.with_suffix(".threads").write_text("\n".join(threads))

    broker.add_middleware(_Profile(_save))
