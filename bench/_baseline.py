"""The end-to-end documents benchmark as it was at an older commit: the
same-run baseline of the documents target (``documents_throughput.py
--baseline-ref``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

#: Folio's source folders, put first on the path of a baseline run.
SOURCES = [
    "shared/src",
    "services/api/src",
    "services/worker-docs/src",
    "services/worker-ocr/src",
    "services/scheduler/src",
    "clients/cli/src",
    "clients/python/src",
    "tools/devstack/src",
]


def baseline(ref: str, one_page: int, threads: int | None) -> float:
    """One-page PDFs/s of the benchmark at commit ``ref``: a git worktree
    of that commit, its bench script and its sources first on
    ``PYTHONPATH`` (in the worker processes too), with this venv's
    packages."""
    repo = Path(__file__).resolve().parents[1]
    tree = Path(tempfile.mkdtemp(prefix="folio-bench-baseline-")) / "tree"
    subprocess.run(
        ["git", "-C", str(repo), "worktree", "add", "--detach", "-q", str(tree), ref],
        check=True,
    )
    try:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(str(tree / s) for s in SOURCES)
        argv = [sys.executable, str(tree / "bench" / "documents_throughput.py")]
        argv += ["--one-page", str(one_page), "--twenty-page", "0"]
        if threads:
            argv += ["--threads", str(threads)]
        out = subprocess.run(
            argv, env=env, cwd=tree, capture_output=True, text=True, check=False
        ).stdout
        print(out, flush=True)
        match = re.search(r"^\| 1-page PDF \| \d+ \| \d+ \| [\d.]+ \| ([\d.]+) \|", out, re.M)
        if match is None:
            sys.exit("the baseline run gave no one-page figure")
        return float(match.group(1))
    finally:
        subprocess.run(
            ["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)], check=False
        )
