#!/usr/bin/env python3
"""The pytest node ids docs/reliability.md lists, one per line (its tables'
``test`` column): what ``make test-reliability`` runs.

A cell names tests as backticked ``tests/<file>.py::<test>``, then
``::<test>`` for another test of the same file, or ``tests/<file>.py`` for
every test of a file; "same test" repeats the row above.

    .venv/bin/python scripts/reliability_tests.py [docs/reliability.md]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"


def node_ids(markdown: str) -> list[str]:
    """Every test the tables' ``test`` column names, in order, once (a
    test of a file listed whole is left to the file)."""
    found: list[str] = []
    column: int | None = None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            column = None  # a table ended
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if column is None:
            column = cells.index("test") if "test" in cells else -1
            continue
        if column < 0 or column >= len(cells) or set(cells[0]) <= {"-", " ", ":"}:
            continue
        path = ""
        for token in re.findall(r"`([^`]+)`", cells[column]):
            if token.startswith("tests/"):
                path, _, name = token.partition("::")
                node = f"{path}::{name}" if name else path
            elif token.startswith("::") and path:
                node = path + token
            else:
                continue
            if node not in found:
                found.append(node)
    files = {n for n in found if "::" not in n}
    return [n for n in found if n in files or n.split("::")[0] not in files]


def main() -> None:
    doc = Path(sys.argv[1]) if len(sys.argv) > 1 else DOC
    print("\n".join(node_ids(doc.read_text())))


if __name__ == "__main__":
    main()
