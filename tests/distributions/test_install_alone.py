"""The API, the scheduler and the ``folio`` command line each install alone.

Each gets a fresh virtualenv (``--without-pip``: nothing of this one is
visible) holding only its own closure:

- the third-party distributions its declared requirements bring, followed
  through the installed metadata with extras and markers
  (:func:`dist_support.closure`; the lock file pins every version, so this
  is the set ``pip install -c requirements/constraints.txt`` resolves),
  linked file by file from this virtualenv (no network);
- its own wheel and its Folio requirements' wheels, built once from copies
  of the local folders and installed by pip with ``--no-deps --no-index``.

Then ``pip check`` finds every requirement satisfied (the closure is
complete), every console script's entry point imports, and PyTorch is not
there, nor anything else the app does not declare (the CLI cannot import
Litestar). An import of a package the distribution does not declare fails
here, as it would in its image. The API's set holds no document parser and no
PyTorch.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dist_support import ROOT, closure, local_parts
from packaging.utils import canonicalize_name

#: What only the workers need: never in the API's, the scheduler's or the CLI's set.
WORKER_ONLY = {
    "python-docx",
    "selectolax",
    "torch",
    "pypdfium2",
    "sentence-transformers",
    "onnxruntime",
    "tesserocr",
}
APPS = ["folio-api", "folio-scheduler", "folio-cli"]

pytestmark = pytest.mark.slow


def run(*args: str | Path) -> str:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def pip(python: Path, *args: str | Path) -> str:
    """This virtualenv's pip, acting on the virtualenv of ``python``."""
    return run(sys.executable, "-m", "pip", "--python", python, *args)


def site_packages(python: Path) -> Path:
    return Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())


def link_closure(name: str, target: Path) -> None:
    """Link the files of ``name``'s third-party closure into ``target``."""
    for dist in closure(name).values():
        here = Path(str(dist.locate_file(""))).resolve()
        assert dist.files is not None, f"{dist.metadata['Name']} has no RECORD"
        for file in dist.files:
            source = Path(str(dist.locate_file(file))).resolve()
            if not source.is_relative_to(here) or source.suffix == ".pyc":
                continue  # console scripts in bin/, byte code
            copy = target / source.relative_to(here)
            copy.parent.mkdir(parents=True, exist_ok=True)
            if not copy.exists():
                copy.symlink_to(source)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The wheels of the apps and their Folio requirements, built once from
    copies of the local folders with this virtualenv's setuptools (no build
    environment to download): distribution → wheel."""
    where = tmp_path_factory.mktemp("wheels")
    parts = {p for name in APPS for p in local_parts(name)}
    for part in parts:
        shutil.copytree(
            ROOT / part.folder,
            where / "src" / part.folder,
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"),
        )
    folders = [where / "src" / p.folder for p in parts]
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        where / "dist",
        *folders,
    )
    # a wheel is named after its distribution (folio_docproc_client-…), not
    # its import package (folio_client)
    return {p.name: next((where / "dist").glob(f"{p.name.replace('-', '_')}-*.whl")) for p in parts}


def install_alone(name: str, wheels: dict[str, Path], where: Path) -> Path:
    """A fresh virtualenv with ``name``, its Folio requirements and their
    closure, nothing else; its python."""
    run(sys.executable, "-m", "venv", "--without-pip", where / "venv")
    python = where / "venv" / "bin" / "python"
    link_closure(name, site_packages(python))
    own = [wheels[p.name] for p in local_parts(name)]
    pip(python, "install", "--quiet", "--no-deps", "--no-index", *own)
    return python


@pytest.mark.parametrize("name", APPS)
def test_installs_alone_and_its_entry_points_import(
    name: str, wheels: dict[str, Path], tmp_path: Path
) -> None:
    python = install_alone(name, wheels, tmp_path)

    listed = json.loads(pip(python, "list", "--format=json"))
    installed = {canonicalize_name(d["name"]) for d in listed}
    assert {canonicalize_name(p.name) for p in local_parts(name)} <= installed
    # PDFium renders the dashboard's page images in the API (ADR 0006)
    allowed = {"pypdfium2"} if name == "folio-api" else set()
    assert not (WORKER_ONLY - allowed) & installed
    pip(python, "check")  # every requirement of every installed distribution is there
    part = local_parts(name)[-1]
    checks = [
        f"getattr(importlib.import_module({module!r}), {function!r})"
        for module, _, function in (t.partition(":") for t in part.scripts().values())
    ]
    checks.append(f"importlib.import_module({part.package!r})")
    # Isolated: what this virtualenv has and the app does not declare is absent.
    absent = ["torch", "docx", "selectolax", *(["litestar"] if name != "folio-api" else [])]
    checks.append(f"assert not [m for m in {absent!r} if importlib.util.find_spec(m)]")
    run(python, "-c", "import importlib, importlib.util\n" + "\n".join(checks))
