"""``make bench``'s table: a benchmark that fails before it measures
anything gets an ``error`` row saying why, not a ``nan`` figure."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import _readers as read  # noqa: E402
import quick  # noqa: E402


def test_a_benchmark_that_fails_before_measuring_gets_an_error_row_with_its_reason() -> None:
    # A module that exits with an error message at once (as api_process.py
    # does when wrk is missing)
    target = quick.Target("api", ["-m", "json.tool", "/no/such/file.json"], read.api)
    [row] = quick.run(target)
    assert row[0] == "api"
    assert row[4] == "error"
    assert row[1].startswith("no result (exit ")
    assert "No such file" in row[1]
    assert "nan" not in row[1]


def test_a_benchmark_that_measured_keeps_its_rows_even_when_it_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fault tests' row: the run fails (a test failed) but says how many passed
    (tmp_path / "some_failed.py").write_text(
        "print('3 passed, 1 failed in 2.0s')\nraise SystemExit(1)\n"
    )
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    )
    [row] = quick.run(quick.Target("faults", ["-m", "some_failed"], read.faults))
    assert row[1] == "3 passed, 1 failed"
    assert row[4] == "missed"
