"""The cores a worker sizes its threads by come from the container's CPU
limit (cgroup v2 ``cpu.max``, v1 CFS quota), not the host's cores: in
Kubernetes torch took a 64-core node's count under a 2-CPU limit. Each case
writes the cgroup files it needs in a temp dir, on a 64-core host."""

from __future__ import annotations

from pathlib import Path

import pytest

from folio_shared import cpus
from folio_shared.cpus import available_cpus, cgroup_cpu_limit, worker_cpus

CASES = {  # name -> (files under the cgroup mount, /proc/self/cgroup, limit, cores)
    "v2 container": ({"cpu.max": "150000 100000"}, "0::/", 1.5, 2),
    "v2 max is no limit": ({"cpu.max": "max 100000"}, "0::/", None, 64),
    # a pod's limit sits on the pod's cgroup; the container's own says max
    "v2 smallest on the way up": (
        {
            "cpu.max": "max 100000",
            "kubepods/pod1/cpu.max": "300000 100000",
            "kubepods/pod1/ctr/cpu.max": "max 100000",
        },
        "0::/kubepods/pod1/ctr",
        3.0,
        3,
    ),
    "v2 a limit over the cores": ({"cpu.max": "8000000 100000"}, "0::/", 80.0, 64),
    "v1 cfs quota": (
        {"cpu,cpuacct/cpu.cfs_quota_us": "50000", "cpu,cpuacct/cpu.cfs_period_us": "100000"},
        "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc",
        0.5,
        1,
    ),
    "v1 quota -1 is no limit": (
        {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"},
        "1:cpu:/",
        None,
        64,
    ),
    "unreadable": ({"cpu.max": "lots 0"}, "0::/", None, 64),
    "no cgroup files": ({}, "", None, 64),
}


@pytest.mark.parametrize("case", CASES)
def test_the_quota_gives_the_cores(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files, own, limit, cores = CASES[case]
    monkeypatch.setattr(cpus, "affinity_cpus", lambda: 64)
    for name, text in {**files, "../self": own}.items():
        path = tmp_path / "cg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")

    assert cgroup_cpu_limit(tmp_path / "cg", tmp_path / "self") == limit
    assert available_cpus(tmp_path / "cg", tmp_path / "self") == cores


def test_the_setting_wins_over_the_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpus, "available_cpus", lambda: 2)

    assert worker_cpus(6) == 6
    assert worker_cpus(0) == 2


@pytest.mark.parametrize(
    ("query_threads", "worker_cpus_setting", "threads"),
    [("8", "0", 2), ("1", "0", 1), ("8", "3", 3), ("2", "6", 2)],
)
def test_the_query_threads_are_capped_by_the_cores_too(
    query_threads: str, worker_cpus_setting: str, threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a 2-CPU limit: ONNX Runtime's and E5's threads stay within it
    # (or within FOLIO_WORKER_CPUS), as torch's and the OCR children do
    from folio_shared.settings import FolioSettings
    from folio_worker_docs.embeddings.select import query_threads as threads_of

    monkeypatch.setattr(cpus, "available_cpus", lambda: 2)
    monkeypatch.setenv("FOLIO_PIPELINE_QUERY_THREADS", query_threads)
    monkeypatch.setenv("FOLIO_WORKER_CPUS", worker_cpus_setting)

    assert threads_of(FolioSettings()) == threads
