"""How many cores this process may use: the container's CPU limit, not the host's cores.

In Kubernetes (and ``docker run --cpus``) a container's CPU limit is a
CFS quota: ``quota`` microseconds of CPU per ``period``. The host's cores
stay visible (``os.cpu_count()``, torch's default thread count), so a
worker sized by them on a 64-core node with a 2-CPU limit runs 64 threads
that the quota throttles. :func:`available_cpus` reads the quota:

- cgroup v2: ``cpu.max`` (``"<quota> <period>"`` or ``"max <period>"``);
- cgroup v1: ``cpu.cfs_quota_us`` (``-1`` for none) and ``cpu.cfs_period_us``
  of the ``cpu`` controller;

in the process's own cgroup (``/proc/self/cgroup``) and each of its
ancestors under the mount: the smallest limit on the way up is the one
that holds. A limit of 1.5 CPUs gives 2 (rounded up, never below 1), and
never more than the cores the process may run on (its affinity).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
SELF_CGROUP = Path("/proc/self/cgroup")
#: Folders a cgroup v1 ``cpu`` controller is mounted on.
_V1_CPU_MOUNTS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _v2_limit(folder: Path) -> float | None:
    text = _read(folder / "cpu.max")
    if text is None:
        return None
    quota, _, period = text.partition(" ")
    if quota == "max":
        return None
    try:
        cpus = int(quota) / int(period or "100000")
    except (ValueError, ZeroDivisionError):
        return None
    return cpus if cpus > 0 else None


def _v1_limit(folder: Path) -> float | None:
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    if quota is None or period is None:
        return None
    try:
        cpus = int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None
    return cpus if cpus > 0 else None


def _own_paths(self_cgroup: Path) -> tuple[str | None, str | None]:
    """The process's cgroup v2 path and its v1 ``cpu`` controller's path."""
    v2 = v1 = None
    for line in (_read(self_cgroup) or "").splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            v2 = path
        elif "cpu" in controllers.split(","):
            v1 = path
    return v2, v1


def _on_the_way_up(mount: Path, path: str | None) -> list[Path]:
    """``mount/path`` and its parents up to ``mount``; ``mount`` alone when
    ``path`` is not under it (a container sees its own cgroup as the root)."""
    folders = [mount]
    if path:
        folder = mount / path.strip("/")
        while folder != mount and mount in folder.parents:
            if folder.is_dir():
                folders.append(folder)
            folder = folder.parent
    return folders


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> float | None:
    """The CPUs the cgroup quota allows this process (e.g. ``1.5``), or
    ``None`` when no quota is set or none can be read."""
    v2_path, v1_path = _own_paths(self_cgroup)
    limits = [_v2_limit(f) for f in _on_the_way_up(root, v2_path)]
    for mount in _V1_CPU_MOUNTS:
        if (root / mount).is_dir():
            limits += [_v1_limit(f) for f in _on_the_way_up(root / mount, v1_path)]
    found = [limit for limit in limits if limit is not None]
    return min(found) if found else None


def affinity_cpus() -> int:
    """The cores this process may run on (its CPU affinity)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def available_cpus(root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> int:
    """Whole cores this process may keep busy: its cgroup CPU limit rounded
    up, at most its affinity's cores, at least 1."""
    cores = affinity_cpus()
    limit = cgroup_cpu_limit(root, self_cgroup)
    if limit is None:
        return cores
    return max(1, min(cores, math.ceil(limit)))


def worker_cpus(setting: int) -> int:
    """``FOLIO_WORKER_CPUS`` when set (``setting`` > 0), else :func:`available_cpus`."""
    return setting if setting > 0 else available_cpus()


def capped_threads(threads: int, cpus_setting: int = 0) -> int:
    """``threads`` (a thread-count setting), at most the cores this process
    may use (:func:`worker_cpus` of ``FOLIO_WORKER_CPUS``), at least 1."""
    return max(1, min(threads, worker_cpus(cpus_setting)))
