"""A scanned PIX receipt whose id the two OCR engines read in a different
letter case (``O`` and ``o`` in its tail): the glyph's size in the image
settles it (real Tesseract and PP-OCR on a generated scan)."""

from __future__ import annotations

import random

import fields_render as render
from fields_corpus_docs import build_corpus

from folio_worker_docs.extraction import extract
from folio_worker_ocr.ocr.engine import OcrEngine


def test_a_scanned_ids_letter_case_is_settled_by_the_glyphs_size() -> None:
    # Given a scan of a receipt whose id's tail holds an O beside lower-case letters
    doc = [d for d in build_corpus(27) if d.kind == "pix_receipt"][7]
    e2e = doc.truth["end_to_end_id"]
    assert "O" in e2e[21:]
    image = render.scan(render.pdf(doc), random.Random(0))
    # When it is read with the id re-read by both engines
    found = OcrEngine().recognize(
        image, languages="por", dpi=200, reread_ids=True, second_engine=True
    )
    # Then the id comes out whole, in its case
    assert extract([found.text]).fields["end_to_end_id"].value == e2e
