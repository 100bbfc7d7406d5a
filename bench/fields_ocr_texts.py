"""Field extraction old against new on the same OCR texts.

OCR is the slow part of measuring fields on scans and photos, and it must
not move while only the extraction rules change. ``read`` OCRs a generated
corpus once (as ``tests/unit/fields/fields_measure.py`` does: 200 dpi scans
or 110 dpi photos through Folio's OCR) and stores each document's page texts
in a JSON file, with a digest of all of them (two codes whose digests agree
read the same texts). ``score`` runs the extraction found on ``PYTHONPATH``
over the stored texts and prints type accuracy, per kind, each field's
precision and recall, and the median time of one document's extraction:
run it once with the old code's sources on ``PYTHONPATH`` and once with the
new code's.

    python bench/fields_ocr_texts.py read photo --seed 27 [--unseen | --wordings] [--pix] OUT.json
    python bench/fields_ocr_texts.py score OUT.json [--withhold-ids] [--misread-pix] [--cpu]

``--withhold-ids`` scores the PIX receipts with their end-to-end id's lines
taken out of the text (as when OCR could not read the id at all): the
document type must not depend on it. ``--misread-pix`` also replaces the
word Pix with ``Plx`` in every document, as a coarse photo's OCR may read
it. ``read text`` stores the generated texts themselves (no OCR).
``--wordings`` reads the third layout family (``fields_corpus_wordings.py``,
its own draws from seed 41).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "fields"))
# the corpus and its scoring live with the tests of the extractors
from fields_corpus_docs import build_corpus  # type: ignore[import-not-found]
from fields_corpus_variants import build_unseen_corpus  # type: ignore[import-not-found]
from fields_corpus_wordings_docs import build_wordings_corpus  # type: ignore[import-not-found]
from fields_measure import READERS  # type: ignore[import-not-found]
from fields_scoring import Score  # type: ignore[import-not-found]

from folio_worker_docs.extraction import extract


def _corpus(seed: int, unseen: bool, pix: bool, wordings: bool = False) -> list:  # type: ignore[type-arg]
    build = build_wordings_corpus if wordings else build_unseen_corpus if unseen else build_corpus
    docs = build(seed)
    return [d for d in docs if d.kind == "pix_receipt"] if pix else docs


def read(kind: str, seed: int, unseen: bool, pix: bool, out: Path, wordings: bool) -> None:
    """OCR the corpus as ``kind`` and store the page texts."""
    reader = READERS[kind]()
    texts = [reader(doc) for doc in _corpus(seed, unseen, pix, wordings)]
    digest = hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:16]
    body = {"kind": kind, "seed": seed, "unseen": unseen, "wordings": wordings, "pix": pix}
    out.write_text(json.dumps({**body, "texts": texts}, ensure_ascii=False))
    family = " wordings" if wordings else " unseen" if unseen else ""
    print(f"{kind} seed {seed}{family}: {len(texts)} documents, {digest}")


def _withheld(pages: list[str], e2e: str | None) -> list[str]:
    if not e2e:
        return pages
    return ["\n".join(ln for ln in p.splitlines() if e2e[:12] not in ln) for p in pages]


def _misread(pages: list[str]) -> list[str]:
    return [re.sub(r"(?i)(?<![a-z0-9])pix(?![a-z0-9])", "Plx", p) for p in pages]


def score(path: Path, withhold_ids: bool, misread_pix: bool = False, cpu: bool = False) -> None:
    """Extraction on ``PYTHONPATH`` over stored texts: the figures (``cpu``:
    each document's extraction timed in process CPU time, which a loaded
    machine moves less than wall time)."""
    clock = time.process_time if cpu else time.perf_counter
    body = json.loads(path.read_text())
    docs = _corpus(body["seed"], body["unseen"], body["pix"], body.get("wordings", False))
    result, right, total = Score(), Counter[str](), Counter[str]()
    spent: list[float] = []
    for doc, pages in zip(docs, body["texts"], strict=True):
        if withhold_ids:
            pages = _withheld(pages, doc.truth.get("end_to_end_id"))
        if misread_pix:
            pages = _misread(pages)
        started = clock()
        found = extract(pages)
        spent.append(clock() - started)
        result.add(doc, found)
        total[doc.kind] += 1
        right[doc.kind] += found.document_type == doc.kind
    print(result.table())
    what = "CPU" if cpu else "wall"
    print(f"extraction: median {statistics.median(spent) * 1000:.2f} ms {what} per document")
    print("type by kind: " + ", ".join(f"{k} {right[k]}/{n}" for k, n in sorted(total.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("read")
    r.add_argument("kind", choices=sorted(READERS))
    r.add_argument("--seed", type=int, default=27)
    family = r.add_mutually_exclusive_group()
    family.add_argument("--unseen", action="store_true")
    family.add_argument("--wordings", action="store_true")
    r.add_argument("--pix", action="store_true")
    r.add_argument("out", type=Path)
    s = sub.add_parser("score")
    s.add_argument("path", type=Path)
    s.add_argument("--withhold-ids", action="store_true")
    s.add_argument("--misread-pix", action="store_true")
    s.add_argument("--cpu", action="store_true", help="time extraction in process CPU time")
    args = parser.parse_args()
    if args.command == "read":
        read(args.kind, args.seed, args.unseen, args.pix, args.out, args.wordings)
    else:
        score(args.path, args.withhold_ids, args.misread_pix, args.cpu)


if __name__ == "__main__":
    main()
