"""``folio worker start KIND`` starts the chosen service's own script;
``--jobs`` a worker of job kinds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FOLIO = Path(sys.executable).with_name("folio")
TESTS_DIR = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FOLIO), "worker", "start", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_unknown_kind_is_refused_with_the_choices() -> None:
    result = run("bogus")
    assert result.returncode == 2
    assert "unknown kind 'bogus'" in result.stderr
    assert "docs, ocr, scheduler, api" in result.stderr


def test_arguments_reach_the_service_script() -> None:
    # periodiq answers --version without connecting anywhere
    result = run("scheduler", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()[0].isdigit()


def test_a_job_module_that_does_not_import_is_refused() -> None:
    result = run("--jobs", "no_such_package.jobs")
    assert result.returncode == 2
    assert "cannot import job module 'no_such_package.jobs'" in result.stderr


def test_a_queue_no_kind_uses_is_refused() -> None:
    env = {**os.environ, "PYTHONPATH": str(TESTS_DIR)}
    result = subprocess.run(
        [str(FOLIO), "worker", "start", "--jobs", "support.kinds", "--queues", "media"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 2
    assert "no job kind uses the queue(s) media" in result.stderr
