"""Each distribution declares what its source imports.

For every Folio distribution, the top-level imports its source runs (read
with ``ast``; those under ``if TYPE_CHECKING:`` left out) are mapped to the
distributions that provide them (:func:`importlib.metadata.packages_distributions`)
and must be among its declared requirements plus those of the Folio
distributions it requires. A package that only arrives as a dependency of a
dependency is not declared: the next release of that dependency may drop it.
A module named after an extra of its distribution (the client's
``integrations/langchain.py`` and extra ``langchain``) may import that
extra's requirements too, and only it.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from dist_support import FIRST_PARTY, PARTS, ROOT, declared, imports_of
from packaging.utils import canonicalize_name


def undeclared(
    source: Path, allowed: Iterable[str], extras: dict[str, set[str]] | None = None
) -> list[str]:
    """Each import under ``source`` whose distribution is not in ``allowed``
    (or, in a module named after an extra, in that extra's ``extras``)."""
    base = {canonicalize_name(a) for a in allowed}
    owners = importlib.metadata.packages_distributions()
    bad: list[str] = []
    for path in sorted(source.rglob("*.py")):
        allowed = base | (extras or {}).get(path.stem, set())
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        for module, line in sorted(imports_of(path).items()):
            if module in sys.stdlib_module_names or module == "__future__":
                continue
            dists = [FIRST_PARTY[module]] if module in FIRST_PARTY else owners.get(module, [])
            if not dists:
                bad.append(f"{where}:{line} imports {module}: no installed distribution has it")
            elif not {canonicalize_name(d) for d in dists} & allowed:
                bad.append(f"{where}:{line} imports {module} ({', '.join(sorted(dists))})")
    return bad


@pytest.mark.parametrize("name", sorted(PARTS))
def test_declared_requirements_cover_the_imports(name: str) -> None:
    # Given a distribution's source and its declared requirements,
    # When its imports are mapped to distributions,
    # Then each is declared by it or by a Folio distribution it requires.
    part = PARTS[name]
    assert part.source.is_dir(), part.source
    extras = {
        extra: {canonicalize_name(r.name) for r in requirements}
        for extra, requirements in part.extras().items()
    }
    assert undeclared(part.source, declared(name), extras) == []


def test_the_api_declares_no_document_parser_nor_pytorch() -> None:
    for name in ("folio-api", "folio-scheduler", "folio-cli", "folio-shared"):
        assert not {"python-docx", "selectolax", "torch"} & declared(name), name
    # PDFium renders the dashboard's page images in the API, in an isolated
    # child (folio_api.ui.pageimage); the other parts never render a page.
    for name in ("folio-scheduler", "folio-cli", "folio-shared"):
        assert "pypdfium2" not in declared(name), name


def test_the_checker_sees_an_undeclared_import(tmp_path: Path) -> None:
    # A checker that finds nothing must be able to find something.
    (tmp_path / "mod.py").write_text(
        "from __future__ import annotations\n"
        "import json\n"
        "from typing import TYPE_CHECKING\n"
        "import msgspec\n"
        "if TYPE_CHECKING:\n"
        "    import httpx\n"
        "from folio_shared import errors\n"
        "import yaml\n"
    )
    found = undeclared(tmp_path, {"msgspec", "folio-shared"})
    assert found == ["" + str(tmp_path / "mod.py") + ":8 imports yaml (PyYAML)"]
    assert len(undeclared(tmp_path, {"folio-shared"})) == 2
