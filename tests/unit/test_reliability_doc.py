"""docs/reliability.md and `make test-reliability`: every test the document
names exists, the long fault runs are listed, and each kind of fault has a
case that `make test` runs too (not only the long one)."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
_spec = importlib.util.spec_from_file_location(
    "reliability_tests", ROOT / "scripts" / "reliability_tests.py"
)
assert _spec is not None
assert _spec.loader is not None
reliability_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reliability_tests)

#: Each kind of fault the long runs repeat -> the test names of that kind.
KINDS = {
    "SIGKILL": "sigkill",
    "FLUSHALL": "flush",
    "Redis restart": "redis_restart",
    "PostgreSQL restart": "postgres_restart",
    "soak": "soak",
}


def defined_tests(path: Path) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text())
    return {
        n.name: n
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test")
    }


def is_long_only(test: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether every case of ``test`` is a long one (parametrized with LONG only)."""
    marks = [ast.unparse(d) for d in test.decorator_list]
    return any(re.search(r"parametrize\('run', \[LONG\]\)", m) for m in marks)


def test_the_list_reads_the_test_column() -> None:
    doc = "\n".join([
        "| fault | promise | test | last result |",
        "|---|---|---|---|",
        "| a | b | `tests/x/test_a.py::test_one`, `::test_two` | passed |",
        "| c | d | same test | passed |",
        "| e | f | `tests/test_b.py` and `tests/test_b.py::test_three` | passed |",
        "",
        "| other | columns |",
        "|---|---|",
        "| `tests/not/this.py` | no test column |",
    ])  # fmt: skip
    assert reliability_tests.node_ids(doc) == [
        "tests/x/test_a.py::test_one",
        "tests/x/test_a.py::test_two",
        "tests/test_b.py",
    ]


def test_every_listed_test_exists() -> None:
    nodes = reliability_tests.node_ids(DOC.read_text())
    assert len(nodes) >= 40
    for node in nodes:
        path, _, name = node.partition("::")
        assert (ROOT / path).is_file(), node
        if name:
            assert name in defined_tests(ROOT / path), node


def test_each_fault_kind_runs_long_in_test_reliability_and_short_in_make_test() -> None:
    nodes = reliability_tests.node_ids(DOC.read_text())
    for kind, word in KINDS.items():
        listed = []
        for node in nodes:
            path, _, name = node.partition("::")
            for test_name, test in defined_tests(ROOT / path).items():
                if (not name or name == test_name) and word in test_name.replace(
                    "sigkilled", "sigkill"
                ):
                    listed.append((node, test))
        assert any(not is_long_only(t) for _, t in listed), f"{kind}: no case in make test"
        long_file = ROOT / "tests/integration/jobs/test_job_faults_long.py"
        assert any(Path(n.split("::")[0]) == long_file.relative_to(ROOT) for n, _ in listed), (
            f"{kind}: no long run listed"
        )


def test_make_test_leaves_the_long_runs_out_and_test_reliability_runs_them() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^test:.*\n\t(.*)$", makefile, re.MULTILINE)
    assert recipe is not None
    assert '-m "not long' in recipe.group(1)
    reliability = re.search(r"^test-reliability:.*\n\t(.*)$", makefile, re.MULTILINE)
    assert reliability is not None
    assert "scripts/reliability_tests.py" in reliability.group(1)
    assert "not long" not in reliability.group(1)
