"""Import boundaries between Folio's packages, checked on the source with ``ast``.

- ``folio_shared`` is a library: it imports none of its consumers.
- A service never imports another service: services talk through messages.
- The ``folio`` command line (``folio_cli``) is an application on top of the
  kernel: it imports no service (it starts them by their console scripts),
  and nothing imports it.
- ``folio_devstack`` (developer tooling) is imported by tests and tools only.
- The Python client (``folio_client``) talks to the HTTP API only: it imports
  no other Folio package, so an app installs it without the kernel.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("folio_api", "folio_worker_docs", "folio_worker_ocr", "folio_scheduler")
APPS = ("folio_cli",)
TOOLING = ("folio_devstack",)

#: import package -> its source folder
PACKAGES = {
    "folio_shared": ROOT / "shared/src/folio_shared",
    "folio_api": ROOT / "services/api/src/folio_api",
    "folio_worker_docs": ROOT / "services/worker-docs/src/folio_worker_docs",
    "folio_worker_ocr": ROOT / "services/worker-ocr/src/folio_worker_ocr",
    "folio_scheduler": ROOT / "services/scheduler/src/folio_scheduler",
    "folio_cli": ROOT / "clients/cli/src/folio_cli",
    "folio_client": ROOT / "clients/python/src/folio_client",
}

FORBIDDEN = {
    "folio_shared": {*SERVICES, *APPS, *TOOLING},
    **{service: {*(s for s in SERVICES if s != service), *APPS, *TOOLING} for service in SERVICES},
    "folio_cli": {*SERVICES, *TOOLING},
    "folio_client": {"folio_shared", *SERVICES, *APPS, *TOOLING},
}


def imported_names(path: Path, module: str = "") -> Iterator[tuple[str, str | None, int]]:
    """``(module, name or None, line)`` of every import in ``path``, wherever it
    is written (in a function, under ``TYPE_CHECKING``), and of every
    ``importlib.import_module`` of a literal name. Relative imports are
    resolved against ``module`` (the dotted name of ``path``), or left out
    when it is not given."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                if not module:
                    continue
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield base, alias.name, node.lineno
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value, None, node.lineno


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """Top-level package of every absolute import in ``path``, with its line."""
    return {(target.split(".")[0], line) for target, _name, line in imported_names(path)}


def violations(package: str) -> list[str]:
    folder = PACKAGES[package]
    bad: list[str] = []
    for path in sorted(folder.rglob("*.py")):
        for imported, line in sorted(imported_packages(path)):
            if imported in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    return bad


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_package_respects_import_boundaries(package: str) -> None:
    # Given the package's source, When its imports are listed,
    # Then none crosses a boundary.
    assert PACKAGES[package].is_dir(), f"missing source folder {PACKAGES[package]}"
    assert violations(package) == []


def test_the_checker_sees_forbidden_imports(tmp_path: Path) -> None:
    # A checker that finds nothing must be able to find something.
    source = tmp_path / "mod.py"
    source.write_text(
        "import folio_api.app\n"
        "from folio_worker_ocr import actors\n"
        "from . import sibling\n"
        "importlib.import_module('folio_devstack.servers')\n"
    )
    assert imported_packages(source) == {
        ("folio_api", 1),
        ("folio_worker_ocr", 2),
        ("folio_devstack", 4),
    }
