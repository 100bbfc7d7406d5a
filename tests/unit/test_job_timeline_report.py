"""``bench/job_timeline.py``'s reading of a worker's timeline: each
message's steps come from its own thread's records, and a hand-off's wait
is split at the round that answered it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import job_timeline  # noqa: E402


def _job(thread: int, msg: str, t: float) -> list[list[object]]:
    """One message on ``thread`` from ``t``: start, claim, outcome, done, ack."""
    return [
        ["next", "documents", msg, t - 0.004, t - 0.003],
        ["start", thread, msg, t],
        ["claim", thread, None, t + 0.001, t + 0.004],
        ["outcome", thread, None, t + 0.005, t + 0.009],
        ["done", thread, msg, t + 0.0095],
        ["ack", thread, msg, t + 0.011],
    ]


def test_each_message_gets_the_steps_of_its_own_thread() -> None:
    # Given two threads whose records interleave in the file
    a, b = _job(1, "m1", 1.0), _job(2, "m2", 1.002)
    records = [r for pair in zip(a, b, strict=True) for r in pair]
    # When the timeline is read
    jobs, by_thread = job_timeline._jobs(records)
    # Then each message's steps are its own thread's
    assert sorted(by_thread) == [1, 2]
    steps = {round(j["start"], 3): job_timeline._steps(j) for j in jobs}
    assert steps[1.0] == pytest.approx(
        {
            "queued": 0.003,
            "pre": 0.001,
            "claim": 0.003,
            "actor": 0.001,
            "outcome": 0.004,
            "post": 0.0005,
            "ack": 0.0015,
        }
    )
    assert steps[1.002]["queued"] == pytest.approx(0.003)


def test_a_wait_is_split_at_the_round_that_answered_it() -> None:
    [job], _ = job_timeline._jobs(_job(1, "m1", 1.0))
    # The claim (1.001-1.004) waited for a round in flight (1.000-1.002),
    # then went in the next one (1.002-1.0035); the outcome in one round.
    rounds = [
        (1.000, 1.002, 2, 0, 0.0),
        (1.002, 1.0035, 1, 1, 0.0),
        (1.006, 1.0085, 1, 1, 0.0),
    ]
    waits = job_timeline._split_waits([job], rounds)
    assert waits["claim before its round"] == pytest.approx([0.001])
    assert waits["claim its round"] == pytest.approx([0.0015])
    assert waits["claim wake after"] == pytest.approx([0.0005])
    assert waits["outcome before its round"] == pytest.approx([0.001])
    assert waits["outcome its round"] == pytest.approx([0.0025])
    assert waits["outcome wake after"] == pytest.approx([0.0005])
