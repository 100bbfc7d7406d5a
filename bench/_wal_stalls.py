"""The stalls of an open-loop run beside PostgreSQL's WAL segment switches
(``bench/api_process.py --stalls``)."""

from __future__ import annotations

import threading
import time

import _openloop
import sqlalchemy as sa


class WalSwitches:
    """Times (``time.perf_counter()``) at which PostgreSQL's WAL insert
    position entered a new segment, sampled every 10 ms in a thread between
    :meth:`start` and :meth:`stop` (with ``--stalls``: to set the stalls of
    a run beside the WAL segments)."""

    def __init__(self, database_url: str) -> None:
        self.engine = sa.create_engine(
            database_url.replace("postgresql://", "postgresql+psycopg2://"),
            isolation_level="AUTOCOMMIT",
        )
        self.times: list[float] = []
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        sql = sa.text(
            "SELECT (pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')"
            " / pg_size_bytes(current_setting('wal_segment_size')))::bigint"
        )
        with self.engine.connect() as conn:
            segment = conn.execute(sql).scalar_one()
            while not self._done.wait(0.01):
                now, current = time.perf_counter(), conn.execute(sql).scalar_one()
                if current != segment:
                    self.times.append(now)
                    segment = current

    def start(self) -> None:
        self.times, self._done = [], threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> list[float]:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        return self.times

    def close(self) -> None:
        self.engine.dispose()


class NoWalSwitches(WalSwitches):
    """Without ``--stalls``: samples nothing."""

    def __init__(self) -> None:
        self.times = []

    def start(self) -> None:
        pass

    def stop(self) -> list[float]:
        return []

    def close(self) -> None:
        pass


def describe_stalls(result: _openloop.Result, switches: list[float]) -> str:
    """The run's stalls, each with the WAL segment switches near it."""
    at = [t - result.started_at for t in switches]
    lines = []
    for stall in result.stalls():
        near = [f"{t:.2f}" for t in at if stall.start_s - 0.15 <= t <= stall.end_s + 0.05]
        wal = f"; WAL segment switch at {', '.join(near)} s" if near else ""
        lines.append(
            f"  {stall.start_s:5.2f}-{stall.end_s:5.2f} s: {stall.requests:4d} requests"
            f" over 10 ms, up to {stall.max_ms:.0f} ms{wal}"
        )
    lines.append("  WAL segment switches at: " + (", ".join(f"{t:.2f}" for t in at) or "none"))
    return "\n".join(lines)
