"""A scanned PIX receipt whose id's tail is all lower case, as many banks
print it, and whose ``l`` both OCR engines read as ``i``: the glyph measures
as a bare stem (as tall as the capitals, no dot), and the tail's case makes
it an ``l`` (real Tesseract and PP-OCR on a generated scan)."""

from __future__ import annotations

import random

import fields_render as render
from fields_corpus import single_case_tails
from fields_corpus_docs import build_corpus

from folio_worker_docs.extraction import extract
from folio_worker_ocr.ocr.engine import OcrEngine


def test_a_stem_in_a_lower_case_tail_is_read_as_l() -> None:
    # Given the one-case draw of the corpus's receipts, scanned in order as
    # fields_measure.py scans them, up to a wallet receipt whose tail is
    # nklgptole8z
    with single_case_tails():
        docs = [d for d in build_corpus(27) if d.kind == "pix_receipt"]
    rng = random.Random(7)
    for doc in docs[:19]:
        render.scan(render.pdf(doc), rng)
    doc = docs[19]
    e2e = doc.truth["end_to_end_id"]
    assert e2e[21:] == "nklgptole8z"
    image = render.scan(render.pdf(doc), rng)
    # When it is read with the id re-read by both engines
    found = OcrEngine().recognize(
        image, languages="por", dpi=200, reread_ids=True, second_engine=True
    )
    # Then the stem both engines read as i comes out as the tail's l
    assert extract([found.text]).fields["end_to_end_id"].value == e2e
