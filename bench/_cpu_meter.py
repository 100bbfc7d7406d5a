"""CPU seconds by part of a benchmark run: the API's processes, PostgreSQL,
Redis and the load generator, read from ``/proc`` (Linux), and those the
hypervisor took from the machine meanwhile (``steal``)."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


def _proc_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid``, with those of its children that have exited
    (``cutime``/``cstime``): PostgreSQL's autovacuum workers and the
    backends of closed connections exit during a run, and their time would
    otherwise drop out of the sum (a part's CPU could go negative)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_by_role(api_pid: int, servers_dir: Path, redis_port: int) -> dict[str, float]:
    """CPU seconds used so far by the API (uvicorn and its workers), by
    PostgreSQL (the server started in ``servers_dir`` and its backends) and
    by Redis (the ``redis-server`` on ``redis_port``: not the machine's own,
    nor one that another program starts and stops during a run, whose
    exit would take its time out of the sum)."""
    procs: dict[int, tuple[int, str, str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            procs[pid] = (ppid, comm, cmd, _proc_cpu_s(pid))
        except (OSError, ValueError, IndexError):
            continue
    postmasters = {
        pid
        for pid, (_, comm, cmd, _) in procs.items()
        if comm == "postgres" and str(servers_dir) in cmd
    }
    out = {"api": 0.0, "postgres": 0.0, "redis": 0.0}
    for pid, (ppid, comm, cmd, cpu) in procs.items():
        if api_pid in (pid, ppid):
            out["api"] += cpu
        elif pid in postmasters or ppid in postmasters:
            out["postgres"] += cpu
        elif comm == "redis-server" and cmd.rstrip().endswith(f":{redis_port}"):
            out["redis"] += cpu
    return out


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of ``/proc/<pid>/stat`` after the command name) of
    every live process."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield int(entry), fields


def stat_cpu_s(fields: list[str]) -> float:
    """CPU seconds of a process and its exited children, from its stat fields."""
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def session_cpu_s(sessions: set[int]) -> float:
    """CPU seconds used so far by every live process of the given sessions
    (a worker group started with ``start_new_session``: the session id is
    its first process's pid), with their exited children's."""
    return sum(stat_cpu_s(fields) for _, fields in proc_stats() if int(fields[3]) in sessions)


def _stolen_s() -> float:
    """CPU seconds the hypervisor has taken from this machine so far (all
    CPUs; ``steal`` in ``/proc/stat``): time the parts wanted and did not get."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


@dataclass
class Meter:
    """CPU seconds used, by part, between :meth:`start` and :meth:`stop`,
    and the wall-clock seconds between them (``"elapsed"``: a run that falls
    behind lasts longer than its nominal duration while it drains)."""

    api_pid: int
    servers_dir: Path
    redis_port: int
    parts: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        used = cpu_by_role(self.api_pid, self.servers_dir, self.redis_port)
        used["stolen"] = _stolen_s()
        used["elapsed"] = time.perf_counter()
        me, children = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        # the load generator: wrk (a child once it exits) or the open loop (this process)
        used["load generator"] = me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime
        return used

    def start(self) -> None:
        self.parts = self._now()

    def stop(self) -> dict[str, float]:
        after = self._now()
        return {part: after[part] - self.parts[part] for part in after}
