"""What a worker-docs pod's first start costs where ``auto`` picks int8
(a CPU with VNNI and no bfloat16): the float32 ONNX export, its int8 copy
and their checks, made in the pod's cache folder
(``folio_worker_docs.embeddings.onnx``), against a later start that finds
both files and only checks them.

Each round is two fresh processes on one empty folder: the first start
(``cold``: export, copy, checks) and a restart (``warm``: checks only).
Each loads all-MiniLM-L6-v2 first (not timed), then times
``Embedder.use_int8`` and prints the files it left::

    .venv/bin/python bench/int8_first_start.py [--rounds 3]

Runs on any x86-64 CPU: the copy is made and checked the same way whether
or not ``auto`` would choose it there.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

CHILD = """
import json, sys, time
from pathlib import Path
from folio_worker_docs.embeddings.model import get_embedder

cache = Path(sys.argv[1])
model = get_embedder()
model.encode(["warm up"])
started = time.perf_counter()
used = model.use_int8(cache_dir=cache)
seconds = time.perf_counter() - started
files = {p.name: p.stat().st_size for p in sorted(cache.iterdir()) if p.is_file()}
print(json.dumps({"used": used, "seconds": seconds, "files": files}))
"""


def start(cache: Path) -> tuple[bool, float, dict[str, int]]:
    """One fresh process's ``use_int8`` on ``cache``: whether the copy is
    used, its seconds, and the files in ``cache`` with their bytes."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(cache)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return bool(result["used"]), float(result["seconds"]), dict(result["files"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cold: list[float] = []
    warm: list[float] = []
    for n in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="folio-int8-") as folder:
            used, seconds, files = start(Path(folder))
            used_again, seconds_again, _ = start(Path(folder))
        if not (used and used_again):
            sys.exit(f"round {n + 1}: the int8 copy was not used")
        cold.append(seconds)
        warm.append(seconds_again)
        sizes = ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in files.items())
        print(f"round {n + 1}: first start {cold[-1]:.2f} s, restart {warm[-1]:.2f} s ({sizes})")
    print(
        f"first start median {median(cold):.2f} s (range {min(cold):.2f}-{max(cold):.2f}); "
        f"restart median {median(warm):.2f} s (range {min(warm):.2f}-{max(warm):.2f})"
    )


if __name__ == "__main__":
    main()
