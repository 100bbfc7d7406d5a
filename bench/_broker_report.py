"""The results of ``broker_overhead.py`` and their table (one row per system
and process count, the rate beside raw Dramatiq's of the same run)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Result:
    system: str
    processes: int
    jobs: int
    seconds: float
    steady_jobs_per_s: float | None
    note: str = ""
    #: CPU milliseconds per job between 10 % and 90 % done, by part.
    cpu_ms: dict[str, float] | None = None

    @property
    def jobs_per_s(self) -> float:
        return self.jobs / self.seconds if self.seconds > 0 else 0.0


def table(results: list[Result]) -> str:
    base = {r.processes: r.jobs_per_s for r in results if r.system == "dramatiq"}
    lines = [
        "| system | processes | jobs | seconds | jobs/s | jobs/s 10-90 %"
        " | vs raw Dramatiq | CPU ms/job 10-90 % (worker, pg, redis) | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        ratio = f"{r.jobs_per_s / base[r.processes]:.2f}" if base.get(r.processes) else "-"
        steady = f"{r.steady_jobs_per_s:,.0f}" if r.steady_jobs_per_s else "-"
        cpu = ", ".join(f"{v:.2f}" for v in r.cpu_ms.values()) if r.cpu_ms else "-"
        lines.append(
            f"| {r.system} | {r.processes} | {r.jobs:,} | {r.seconds:.2f} | {r.jobs_per_s:,.0f}"
            f" | {steady} | {ratio} | {cpu} | {r.note} |"
        )
    return "\n".join(lines)
