"""Folio's distributions as the packaging tests see them: each one's folder,
import package, declared requirements and the local folders it installs.

Read from each ``pyproject.toml`` (the declaration a ``pip install`` uses),
never from what happens to be installed in the development virtualenv.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"


@dataclass(frozen=True)
class Part:
    """One of Folio's distributions: ``name`` (``folio-api``), its project
    ``folder`` (relative to the repository root) and import ``package``."""

    name: str
    folder: str
    package: str

    @property
    def source(self) -> Path:
        """The import package's source folder."""
        return ROOT / self.folder / "src" / self.package

    @functools.cached_property
    def project(self) -> dict[str, object]:
        data = tomllib.loads((ROOT / self.folder / "pyproject.toml").read_text())
        project: dict[str, object] = data["project"]
        return project

    def requirements(self) -> list[Requirement]:
        """The ``[project] dependencies``, parsed."""
        raw = self.project.get("dependencies", [])
        assert isinstance(raw, list)
        return [Requirement(str(r)) for r in raw]

    def extras(self) -> dict[str, list[Requirement]]:
        """The ``[project.optional-dependencies]``: extra → requirements, parsed."""
        raw = self.project.get("optional-dependencies", {})
        assert isinstance(raw, dict)
        return {str(k): [Requirement(str(r)) for r in v] for k, v in raw.items()}

    def scripts(self) -> dict[str, str]:
        """The console scripts: name → ``module:function``."""
        raw = self.project.get("scripts", {})
        assert isinstance(raw, dict)
        return {str(k): str(v) for k, v in raw.items()}


PARTS = {
    p.name: p
    for p in (
        Part("folio-shared", "shared", "folio_shared"),
        Part("folio-api", "services/api", "folio_api"),
        Part("folio-worker-docs", "services/worker-docs", "folio_worker_docs"),
        Part("folio-worker-ocr", "services/worker-ocr", "folio_worker_ocr"),
        Part("folio-scheduler", "services/scheduler", "folio_scheduler"),
        Part("folio-cli", "clients/cli", "folio_cli"),
        Part("folio-docproc-client", "clients/python", "folio_client"),
        Part("folio-devstack", "tools/devstack", "folio_devstack"),
    )
}
#: import package → distribution, for Folio's own packages.
FIRST_PARTY = {p.package: p.name for p in PARTS.values()}


def local_parts(name: str) -> list[Part]:
    """``name`` and the Folio distributions it requires, dependencies first."""
    out: list[Part] = []
    for req in PARTS[name].requirements():
        if req.name in PARTS:
            out.extend(p for p in local_parts(req.name) if p not in out)
    return [*out, PARTS[name]]


def _extras(req: Requirement) -> set[str]:
    """The distributions ``req``'s extras ask for (``redis[hiredis]`` →
    ``hiredis``), read from the installed metadata of ``req``."""
    found: set[str] = set()
    for raw in importlib.metadata.requires(req.name) or []:
        dep = Requirement(raw)
        if dep.marker is not None and any(dep.marker.evaluate({"extra": e}) for e in req.extras):
            found.add(canonicalize_name(dep.name))
    return found


def declared(name: str) -> set[str]:
    """Canonical names of every distribution ``name`` may import: its own
    requirements (with what their extras ask for) and those of the Folio
    distributions it requires — only those: a package pulled in by a
    third-party one is not declared."""
    out = {canonicalize_name(p.name) for p in local_parts(name)}
    for part in local_parts(name):
        for req in part.requirements():
            out.add(canonicalize_name(req.name))
            if req.extras and req.name not in PARTS:
                out |= _extras(req)
    return out


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Top-level names of the absolute imports that run (not those under
    ``if TYPE_CHECKING:``), each with the first line importing it."""

    def __init__(self) -> None:
        self.found: dict[str, int] = {}

    def _add(self, module: str, line: int) -> None:
        self.found.setdefault(module.split(".")[0], line)

    def visit_If(self, node: ast.If) -> None:
        if _type_checking(node):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self._add(node.module, node.lineno)


def imports_of(path: Path) -> dict[str, int]:
    """Top-level modules ``path`` imports at run time → first line."""
    visitor = _Imports()
    visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return visitor.found


def closure(name: str) -> dict[str, importlib.metadata.Distribution]:
    """The third-party distributions installing ``name`` brings, found in
    the installed metadata (the lock file pins every version, so this is
    the set ``pip install -c requirements/constraints.txt`` resolves):
    canonical name → installed distribution. Extras and environment markers
    are followed as pip follows them."""
    todo = [r for p in local_parts(name) for r in p.requirements() if r.name not in PARTS]
    found: dict[str, importlib.metadata.Distribution] = {}
    extras: dict[str, set[str]] = {}
    while todo:
        req = todo.pop()
        key = canonicalize_name(req.name)
        if key in found and set(req.extras) <= extras[key]:
            continue
        dist = found.get(key) or importlib.metadata.distribution(req.name)
        assert req.specifier.contains(dist.version, prereleases=True), (req, dist.version)
        found[key] = dist
        extras[key] = extras.get(key, set()) | set(req.extras)
        for raw in dist.requires or []:
            dep = Requirement(raw)
            wanted = {"", *extras[key]}
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in wanted):
                todo.append(dep)
    return found
