"""Field extraction's precision and recall on the generated corpus, held to
the design's floors: one line per way of reading the documents.

Runs the measure of ``tests/unit/fields/fields_measure.py`` (68 generated
PIX receipts, boletos and NF-e, read as text PDFs, 200 dpi scans or 110 dpi
photos through Folio's OCR) and prints, for each reading, how many
``type.field`` figures (precision and recall of each field) are below their
floor: 0.95 for amounts, ids and dates, 0.90 for names and tax ids.

    .venv/bin/python bench/fields_accuracy.py [pdf scan photo] [--unseen | --wordings]

``--unseen`` measures the corpus of layouts the rules were not written from
(``fields_corpus_variants.py``: ten more PIX layouts, boleto and DANFE
variants, bills and statements that must come out ``other``); ``--wordings``
a third family written after the rules (``fields_corpus_wordings.py``: other
label wordings, English receipts, values under or right of their labels,
tables, bank codes, masked CNPJs, boleto lines and access keys spaced other
ways).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "fields"))
# the corpus and its scoring live with the tests of the extractors
from fields_corpus_docs import build_corpus  # type: ignore[import-not-found]
from fields_corpus_variants import build_unseen_corpus  # type: ignore[import-not-found]
from fields_corpus_wordings_docs import build_wordings_corpus  # type: ignore[import-not-found]
from fields_measure import below, measure  # type: ignore[import-not-found]

#: Floors of the design's target: ids, amounts and dates; the rest (names, tax ids).
STRICT_FLOOR = 0.95
LOOSE_FLOOR = 0.90


#: The readings measured: text PDFs, 200 dpi scans and 110 dpi photos.
KINDS = ("pdf", "scan", "photo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kinds", nargs="*", metavar="KIND", help="pdf, scan, photo (default: all)")
    family = parser.add_mutually_exclusive_group()
    family.add_argument(
        "--unseen", action="store_true", help="the layouts the rules were not written from"
    )
    family.add_argument(
        "--wordings", action="store_true", help="the third family, written after the rules"
    )
    args = parser.parse_args()
    kinds = args.kinds or list(KINDS)
    if unknown := sorted(set(kinds) - set(KINDS)):
        parser.error(f"unknown reading {', '.join(unknown)}: choose from {', '.join(KINDS)}")
    build = build_wordings_corpus if args.wordings else build_unseen_corpus
    corpus = build() if args.wordings or args.unseen else build_corpus()
    for kind in kinds:
        started = time.perf_counter()
        score = measure(kind, corpus)
        seconds = time.perf_counter() - started
        keys = set(score.tp) | set(score.fp) | set(score.fn)
        missed = below(score, STRICT_FLOOR, LOOSE_FLOOR)
        print(f"## {kind}: {score.documents} documents in {seconds:.1f} s")
        print("\n".join(missed))
        print(
            f"fields {kind}: {2 * len(keys) - len(missed)} of {2 * len(keys)} figures at their"
            f" floor; type accuracy {score.type_accuracy:.3f}\n",
            flush=True,
        )


if __name__ == "__main__":
    main()
