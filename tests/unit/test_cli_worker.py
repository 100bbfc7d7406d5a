"""``folio worker start KIND`` starts the chosen service's own script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FOLIO = Path(sys.executable).with_name("folio")


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
