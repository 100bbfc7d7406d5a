"""``scripts/install-system-deps.sh``: ``make dev`` needs only the dev set
(no ``prometheus``, no ``wrk``); a missing package is installed as root, and
as another user the script prints the one command to run. The check reads a
real dpkg database: this machine's, less the packages a test takes out
(``DPKG_ADMINDIR``, dpkg's own variable)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-system-deps.sh"
STATUS = Path("/var/lib/dpkg/status")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

pytestmark = pytest.mark.skipif(
    not STATUS.exists() or shutil.which("setpriv") is None or os.geteuid() != 0,
    reason="needs a Debian system (dpkg) and root to run the script as another user",
)


def _run(*args: str, admindir: Path | None = None, user: list[str] | None = None) -> Any:
    env = dict(os.environ)
    if admindir is not None:
        env["DPKG_ADMINDIR"] = str(admindir)
    return subprocess.run(
        [*(user or []), "bash", str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def dpkg_dir() -> Iterator[Path]:
    """A folder the unprivileged user can read (pytest's ``tmp_path`` sits
    under a folder only root may enter)."""
    folder = Path(tempfile.mkdtemp(prefix="folio-dpkg-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def _without(folder: Path, *packages: str) -> Path:
    """A copy of this machine's dpkg database without ``packages``, where
    every other package of Folio's sets is installed (so the result does not
    depend on what this machine happens to lack)."""
    stanzas = STATUS.read_text().split("\n\n")
    pattern = re.compile(rf"^Package: ({'|'.join(map(re.escape, packages))})$", re.M)
    kept = [s for s in stanzas if s.strip() and not pattern.search(s.split("\n", 1)[0])]
    present = {s.split("\n", 1)[0].removeprefix("Package: ") for s in kept}
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    kept += [
        f"Package: {name}\nStatus: install ok installed\nArchitecture: {arch}\nVersion: 1.0"
        for name in _listed("all")
        if name not in present and name not in packages
    ]
    (folder / "status").write_text("\n\n".join(kept) + "\n")
    (folder / "status").chmod(0o644)
    return folder


def _listed(set_name: str) -> list[str]:
    return _run("--list", set_name).stdout.split()


def test_make_dev_needs_neither_prometheus_nor_wrk_nor_a_browser() -> None:
    dev = _listed("dev")
    assert "redis-server" in dev
    assert "tesseract-ocr" in dev
    assert "prometheus" not in dev
    assert "wrk" not in dev
    assert "chromium" not in dev
    assert {"prometheus", "chromium", "chromium-driver"} <= set(_listed("test"))
    assert "wrk" in _listed("bench")
    browser = {"chromium", "chromium-driver"}
    assert set(_listed("all")) == set(dev) | {"prometheus", "wrk"} | browser


def test_without_the_test_tools_the_dev_set_is_complete(dpkg_dir: Path) -> None:
    admindir = _without(dpkg_dir, "prometheus", "wrk")
    result = _run("dev", admindir=admindir, user=NOBODY)
    assert result.returncode == 0, result.stderr
    assert "all present" in result.stdout


def test_as_another_user_a_missing_package_is_one_command_to_run(dpkg_dir: Path) -> None:
    admindir = _without(dpkg_dir, "redis-server", "prometheus")
    result = _run("test", admindir=admindir, user=NOBODY)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    command = lines[0].split("run: ", 1)[1]
    assert command == (
        "sudo apt-get update && sudo apt-get install -y --no-install-recommends "
        "redis-server prometheus"
    )
