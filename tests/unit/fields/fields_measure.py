"""Runs extraction over the generated corpus as text, text PDFs, scans or photos.

``python tests/unit/fields/fields_measure.py pdf scan photo`` prints the figures
recorded in ``docs/benchmarks.md``; ``scan-page`` and ``photo-page`` are the
same images without the targeted re-reading of id regions (the page OCR alone),
``scan-tesseract`` and ``photo-tesseract`` with it but without the second
OCR engine.
``--seed N`` measures another draw of the corpus (same layouts, other values);
``--pix`` only its PIX receipts (the corpus's first documents, so read from
the same images as in a whole run).
``--unseen`` measures the corpus of layouts the rules were not written from
(:mod:`fields_corpus_variants`) instead of the first one; ``--wordings`` the
third family, written after the rules (:mod:`fields_corpus_wordings`).
``--single-case`` draws the ids' tails in one case each
(:func:`fields_corpus.single_case_tails`), as many banks print them.
``cost`` times the OCR of seven receipts four ways (:func:`cost`).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

import fields_render as render
from fields_corpus import Doc, single_case_tails
from fields_corpus_docs import build_corpus
from fields_corpus_variants import build_unseen_corpus
from fields_corpus_wordings_docs import build_wordings_corpus
from fields_scoring import Score
from PIL import Image

from folio_worker_docs.extraction import extract
from folio_worker_docs.text.pdf import extract_pdf
from folio_worker_ocr.ocr.engine import OcrEngine
from folio_worker_ocr.ocr.page import OcrOptions

#: Fields held to the 95 % target (the rest, names and tax ids, to 90 %).
STRICT = {
    "amount",
    "total_amount",
    "end_to_end_id",
    "digitable_line",
    "access_key",
    "paid_at",
    "due_date",
    "issued_at",
}


def pdf_pages(doc: Doc) -> list[str]:
    """The page texts of the document's text PDF, as worker-docs extracts them."""
    return [page.text for page in extract_pdf(render.pdf(doc)).pages]


#: Seconds spent in OCR (page OCR and re-reading) per reader, for the report.
OCR_SECONDS: dict[int, float] = {}


def _ocr_pages(
    make: Callable[[bytes, random.Random], Image.Image],
    dpi: int,
    reread_ids: bool = True,
    second_engine: bool = True,
) -> Callable[[Doc], list[str]]:
    engine = OcrEngine()
    rng = random.Random(7)
    upscale = OcrOptions().upscale_below_dpi

    def pages(doc: Doc) -> list[str]:
        image = make(render.pdf(doc), rng)
        started = time.perf_counter()
        found = engine.recognize(
            image,
            languages="por",
            dpi=dpi,
            reread_ids=reread_ids,
            upscale_below_dpi=upscale,
            second_engine=second_engine,
        )
        OCR_SECONDS[id(pages)] = OCR_SECONDS.get(id(pages), 0.0) + time.perf_counter() - started
        return [found.text]

    return pages


READERS: dict[str, Callable[[], Callable[[Doc], list[str]]]] = {
    "text": lambda: lambda doc: [doc.text],
    "pdf": lambda: pdf_pages,
    "scan": lambda: _ocr_pages(render.scan, 200),
    "photo": lambda: _ocr_pages(render.photo, 110),
    "scan-page": lambda: _ocr_pages(render.scan, 200, reread_ids=False),
    "photo-page": lambda: _ocr_pages(render.photo, 110, reread_ids=False),
    "scan-tesseract": lambda: _ocr_pages(render.scan, 200, second_engine=False),
    "photo-tesseract": lambda: _ocr_pages(render.photo, 110, second_engine=False),
}


def measure(
    kind: str, corpus: list[Doc] | None = None, seed: int | None = None, pix: bool = False
) -> Score:
    """Type accuracy and per-field counts over the corpus read as ``kind``
    (``seed``: another draw of the generated corpus, same layouts; ``pix``:
    its PIX receipts only)."""
    read = READERS[kind]()
    score = Score()
    if corpus is None:
        corpus = build_corpus() if seed is None else build_corpus(seed)
        if pix:
            corpus = [doc for doc in corpus if doc.kind == "pix_receipt"]
    for doc in corpus:
        score.add(doc, extract(read(doc)))
    score.ocr_seconds = OCR_SECONDS.get(id(read), 0.0)
    return score


def below(score: Score, strict: float, loose: float) -> list[str]:
    """Fields under their floor (``strict`` for ids, amounts and dates, ``loose`` for the rest)."""
    out = []
    for key in sorted(set(score.tp) | set(score.fp) | set(score.fn)):
        floor = strict if key.split(".", 1)[1] in STRICT else loose
        for what, value in (("precision", score.precision(key)), ("recall", score.recall(key))):
            if value < floor:
                out.append(f"{key} {what} {value:.3f} < {floor}")
    return out


def cost(receipts: int = 7) -> str:
    """Process CPU seconds over the first ``receipts`` PIX receipts (one of
    each layout) as scans and photos: the page OCR alone, with id regions
    read again by Tesseract, with the second engine too, and with the
    upscaled second reading of low-resolution pages too."""
    engine = OcrEngine()
    docs = [d for d in build_corpus() if d.kind == "pix_receipt"][:receipts]
    ways = {
        "page": (False, 0, False),
        "reread": (True, 0, False),
        "reread+second": (True, 0, True),
        "reread+second+upscale": (True, 150, True),
    }
    rows = ["| images | " + " | ".join(ways) + " |", "|---|" + "---:|" * len(ways)]
    for kind, make, dpi in (("scan", render.scan, 200), ("photo", render.photo, 110)):
        totals = dict.fromkeys(ways, 0.0)
        for doc in docs:
            image = make(render.pdf(doc), random.Random(5))
            for way, (again, upscale, second) in ways.items():
                started = time.process_time()
                engine.recognize(
                    image,
                    languages="por",
                    dpi=dpi,
                    reread_ids=again,
                    upscale_below_dpi=upscale,
                    second_engine=second,
                )
                totals[way] += time.process_time() - started
        cells = [f"{t:.1f} s ({t / totals['page']:.2f})" for t in totals.values()]
        rows.append(f"| {kind} ({dpi} dpi) | " + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    if sys.argv[1:] == ["cost"]:
        print(cost())
        sys.exit()
    args = sys.argv[1:]
    seed = None
    if "--seed" in args:  # e.g. pdf scan photo --seed 28
        at = args.index("--seed")
        seed, args = int(args[at + 1]), args[:at] + args[at + 2 :]
    pix, unseen, single = "--pix" in args, "--unseen" in args, "--single-case" in args
    wordings = "--wordings" in args
    args = [a for a in args if a not in ("--pix", "--unseen", "--single-case", "--wordings")]
    build = build_wordings_corpus if wordings else build_unseen_corpus if unseen else build_corpus
    for name in args or ["text", "pdf"]:
        if single:
            with single_case_tails():
                corpus = build() if seed is None else build(seed)
        else:
            corpus = build() if seed is None else build(seed)
        if pix:
            corpus = [doc for doc in corpus if doc.kind == "pix_receipt"]
        result = measure(name, corpus)
        print(f"## {name}\n{result.table()}\n")
        if result.ocr_seconds:
            per_doc = result.ocr_seconds / result.documents
            print(f"OCR {result.ocr_seconds:.1f} s, {per_doc:.2f} s per document\n")
        print("\n".join(result.misses), file=sys.stderr)
