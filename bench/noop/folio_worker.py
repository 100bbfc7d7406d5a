"""Folio's worker for the benchmarks: Folio's broker and full middleware stack
(job row claim, lease, outcome, events) around a no-op actor.

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

from messages import NoopV1

from folio_shared.broker import setup_broker
from folio_shared.jobs import job_actor
from folio_shared.logging import configure_logging

if switch_interval_s := os.environ.get("BENCH_SWITCH_INTERVAL_S"):
    sys.setswitchinterval(float(switch_interval_s))

configure_logging(service="bench-worker")
broker = setup_broker()


@job_actor(NoopV1, broker=broker)
async def noop(msg: NoopV1) -> None:
    if msg.sleep_ms:
        await asyncio.sleep(msg.sleep_ms / 1000)
