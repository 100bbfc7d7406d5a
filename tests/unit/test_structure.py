"""Structure of Folio's source: no import cycles, no module over 400 lines.

Cycles are found on a module graph read from the source with ``ast``
(nothing is imported). Nodes are the modules of Folio's packages and of
``bench/`` (whose files import each other as top-level modules); an edge
``a -> b`` means a module ``a`` names ``b`` in an import. How edges count:

- **Every import counts, wherever it is written**: at module level, inside
  a function or a method, inside ``try``. An import moved into a function
  to get past a cycle leaves the cycle where it was, so it is still found.
- **``if TYPE_CHECKING:`` imports count too.** They do not run, but they are
  the other usual way to dodge a cycle, and the dependency is real: the
  module cannot be read, typed or moved without the one it names. A module
  that only needs a type from a module that needs it back shows the concept
  sits in the wrong place.
- **``from pkg import name``** is an edge to ``pkg.name`` when that is a
  module, else to ``pkg`` (its ``__init__``). ``importlib.import_module``
  with a literal name is an edge like an ``import``.
- **A package's ``__init__`` is a module like the others.** When it
  re-exports from its submodules it has edges to them, and a submodule that
  imports a name back *through the package* (``from pkg import X`` instead
  of ``from pkg.mod import X``) closes a cycle: it is reported, because it
  is the one that breaks depending on which module is imported first.
  Importing ``pkg.mod`` is an edge to ``pkg.mod`` only, not to the parent
  packages Python initialises on the way: otherwise every package whose
  ``__init__`` re-exports anything would be one cycle with its submodules.

A module is over size when its file has more than :data:`MAX_LINES` lines,
migrations excepted (they are generated once and never edited).

Both checks take a short allow-list, each entry with its reason. An entry
must still be needed: one that no longer matches a cycle or a big module
fails the check too, so the list only shrinks.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from test_import_boundaries import PACKAGES, imported_names

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400

#: import package -> its source folder (every first-party package).
GRAPH_PACKAGES: dict[str, Path] = {
    **PACKAGES,
    "folio_devstack": ROOT / "tools/devstack/src/folio_devstack",
}
#: folders whose files are top-level modules (``MYPYPATH=bench:bench/noop``).
FLAT_FOLDERS = (ROOT / "bench", ROOT / "bench/noop")

#: folder names never searched for modules over size (besides hidden ones).
SIZE_SKIP = frozenset({"migrations", "node_modules", "__pycache__", "build", "dist"})


@dataclass(frozen=True)
class Allowed:
    """An allowed import cycle: its modules, and why it is allowed for now."""

    members: frozenset[str]
    reason: str


#: Import cycles allowed for now. Each entry is the set of modules of one
#: cycle (a strongly connected component); a cycle passes when its modules
#: are all in one entry. Remove modules as the cycle is broken.
ALLOWED_CYCLES: tuple[Allowed, ...] = ()

#: Modules over MAX_LINES lines allowed for now: path -> reason.
ALLOWED_BIG_MODULES: Mapping[str, str] = {}


# --- the module graph ---------------------------------------------------------


def module_files(packages: Mapping[str, Path], flat: Iterable[Path]) -> dict[str, Path]:
    """Dotted module name -> file, for the packages' trees and the flat folders."""
    modules: dict[str, Path] = {}
    for package, folder in packages.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    for folder in flat:
        for path in sorted(folder.glob("*.py")):
            modules.setdefault(path.stem, path)
    return modules


def resolve(known: Container[str], target: str, name: str | None) -> str | None:
    """The known module an import names: the submodule if there is one, else the
    longest known prefix of ``target``."""
    if name is not None and f"{target}.{name}" in known:
        return f"{target}.{name}"
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def import_graph(modules: Mapping[str, Path]) -> dict[str, dict[str, int]]:
    """Module -> the modules it imports (anywhere in its file), each with the
    line of its first import."""
    graph: dict[str, dict[str, int]] = {module: {} for module in modules}
    for module, path in modules.items():
        for target, name, line in imported_names(path, module):
            found = resolve(modules, target, name)
            if found is not None and found != module:
                graph[module].setdefault(found, line)
    return graph


def cycles(graph: Mapping[str, Collection[str]]) -> list[frozenset[str]]:
    """The graph's strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(frozenset(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(found, key=sorted)


def cycle_problems(
    found: Iterable[frozenset[str]],
    allowed: Iterable[Allowed],
    graph: Mapping[str, Mapping[str, int]] | None = None,
) -> list[str]:
    """Cycles no entry allows (with the imports that close them, when
    ``graph`` is given), and entries naming a module no longer in a cycle."""
    allowed = list(allowed)
    problems: list[str] = []
    covered: set[str] = set()
    for component in found:
        entry = next((a for a in allowed if component <= a.members), None)
        if entry is None:
            edges = [
                f"{module}:{line} imports {target}"
                for module in sorted(component)
                for target, line in sorted((graph or {}).get(module, {}).items())
                if target in component
            ]
            where = f" ({'; '.join(edges)})" if edges else ""
            problems.append("import cycle: " + " <-> ".join(sorted(component)) + where)
        else:
            covered |= component
    for entry in allowed:
        stale = sorted(entry.members - covered)
        if stale:
            problems.append(
                f"stale cycle allow-list entry ({entry.reason}): no longer in a cycle: {stale}"
            )
    return problems


# --- module sizes --------------------------------------------------------------


def python_files(root: Path) -> Iterator[Path]:
    """Every ``.py`` file under ``root``, outside hidden folders and :data:`SIZE_SKIP`."""
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            d for d in subfolders if not d.startswith(".") and d not in SIZE_SKIP
        )
        yield from (Path(folder) / name for name in sorted(files) if name.endswith(".py"))


def size_problems(root: Path, allowed: Mapping[str, str]) -> list[str]:
    """Modules over :data:`MAX_LINES` lines not allowed, and allowed ones now small or gone."""
    problems: list[str] = []
    big: set[str] = set()
    for path in python_files(root):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            name = path.relative_to(root).as_posix()
            big.add(name)
            if name not in allowed:
                problems.append(f"{name}: {lines} lines (more than {MAX_LINES})")
    problems += [
        f"stale size allow-list entry: {name} is gone or at most {MAX_LINES} lines"
        for name in sorted(set(allowed) - big)
    ]
    return problems


# --- the checks -----------------------------------------------------------------


def test_no_import_cycles() -> None:
    # Given every first-party module and its imports (function-level and
    # TYPE_CHECKING ones too), When cycles are searched,
    # Then each one is on the reviewed allow-list, and the list is current.
    graph = import_graph(module_files(GRAPH_PACKAGES, FLAT_FOLDERS))
    assert cycle_problems(cycles(graph), ALLOWED_CYCLES, graph) == []


def test_no_module_over_size() -> None:
    # Given every Python file outside migrations, When its lines are counted,
    # Then none is over the limit unless allowed, and the list is current.
    assert size_problems(ROOT, ALLOWED_BIG_MODULES) == []


def test_every_allowed_cycle_has_a_reason() -> None:
    # one test over the list, not one per entry: the list is empty when no
    # cycle is allowed, and an empty parameter set would be a skip
    for entry in ALLOWED_CYCLES:
        assert entry.reason.strip(), sorted(entry.members)
        assert len(entry.members) > 1, sorted(entry.members)


def test_every_allowed_big_module_has_a_reason() -> None:
    # one test over the list, like the cycles': it must not become a skip
    # when the list is empty
    for path, reason in ALLOWED_BIG_MODULES.items():
        assert reason.strip(), path


# --- the checker finds what it must find ------------------------------------------


def _package(tmp_path: Path, files: Mapping[str, str]) -> dict[str, dict[str, int]]:
    folder = tmp_path / "pkg"
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return import_graph(module_files({"pkg": folder}, ()))


def test_the_checker_finds_a_cycle_dodged_by_a_function_level_import(tmp_path: Path) -> None:
    graph = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg.b import g\n",
            "b.py": "def g():\n    from pkg import a\n    return a\n",
            "c.py": "from . import a\n",
        },
    )
    found = cycles(graph)
    assert found == [frozenset({"pkg.a", "pkg.b"})]
    assert cycle_problems(found, (), graph) == [
        "import cycle: pkg.a <-> pkg.b (pkg.a:1 imports pkg.b; pkg.b:2 imports pkg.a)"
    ]


def test_the_checker_counts_type_checking_and_relative_imports(tmp_path: Path) -> None:
    graph = _package(
        tmp_path,
        {
            "__init__.py": "",
            "sub/__init__.py": "",
            "sub/x.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..y import Y\n"
            ),
            "y.py": "from .sub.x import X\n",
        },
    )
    assert cycles(graph) == [frozenset({"pkg.sub.x", "pkg.y"})]


def test_the_checker_finds_a_cycle_through_a_package_reexport(tmp_path: Path) -> None:
    # The package re-exports from a submodule that imports a name back
    # through the package; a sibling importing the submodule itself is fine.
    graph = _package(
        tmp_path,
        {
            "__init__.py": "from pkg.engine import run\nfrom pkg.limits import LIMIT\n",
            "engine.py": "from pkg import LIMIT\n",
            "limits.py": "LIMIT = 1\n",
            "user.py": "from pkg.engine import run\n",
        },
    )
    assert cycles(graph) == [frozenset({"pkg", "pkg.engine"})]


def test_an_allowed_cycle_passes_and_a_stale_entry_fails() -> None:
    entry = Allowed(frozenset({"pkg.a", "pkg.b", "pkg.c"}), "being split")
    assert cycle_problems([frozenset({"pkg.a", "pkg.b", "pkg.c"})], [entry]) == []
    assert cycle_problems([frozenset({"pkg.a", "pkg.b"})], [entry]) == [
        "stale cycle allow-list entry (being split): no longer in a cycle: ['pkg.c']"
    ]
    assert cycle_problems([frozenset({"pkg.a", "pkg.d"})], [entry]) == [
        "import cycle: pkg.a <-> pkg.d",
        "stale cycle allow-list entry (being split): no longer in a cycle: "
        "['pkg.a', 'pkg.b', 'pkg.c']",
    ]


def test_the_checker_finds_a_401_line_module_and_a_stale_entry(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    (folder / "migrations").mkdir(parents=True)
    (folder / "big.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (folder / "fits.py").write_text("x = 1\n" * MAX_LINES)
    (folder / "migrations" / "0001_big.py").write_text("x = 1\n" * 1000)
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "vendored.py").write_text("x = 1\n" * 1000)
    assert size_problems(tmp_path, {}) == [f"src/big.py: 401 lines (more than {MAX_LINES})"]
    assert size_problems(tmp_path, {"src/big.py": "being split"}) == []
    assert size_problems(tmp_path, {"src/big.py": "r", "src/fits.py": "r"}) == [
        f"stale size allow-list entry: src/fits.py is gone or at most {MAX_LINES} lines"
    ]
