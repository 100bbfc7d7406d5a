"""A pool's ``preload`` modules are imported by the forkserver, so every new
child starts with them loaded (worker-docs preloads its parsers: a child is
replaced every 50 documents). Real child processes; no servers. Each case
runs in a fresh interpreter: Python keeps one forkserver per process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: A module nothing in the child imports on its own.
PROBE = "colorsys"


def imported(name: str) -> bool:
    """Whether ``name`` is loaded in this process (run in the child)."""
    return name in sys.modules


def _loaded_in_child(preload: list[str]) -> bool:
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from folio_shared.isolation import IsolatedPool\n"
        "from test_isolated_pool_preload import imported\n"
        f"with IsolatedPool(1, preload={preload!r}) as pool:\n"
        f"    print(pool.run(imported, {PROBE!r}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.parametrize("preload", [[PROBE], []], ids=["preloaded", "not-preloaded"])
def test_a_new_child_starts_with_the_preloaded_modules(preload: list[str]) -> None:
    assert _loaded_in_child(preload) is bool(preload)
