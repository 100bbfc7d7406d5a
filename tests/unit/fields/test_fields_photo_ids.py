"""A phone photo of a receipt whose id is printed over two lines, the second
of which the page OCR does not find: the id is read from a band that reaches
that line (real Tesseract and PP-OCR on a generated 110-dpi photo)."""

from __future__ import annotations

import random

import fields_render as render
from fields_corpus_docs import build_corpus

from folio_worker_docs.extraction import extract
from folio_worker_ocr.ocr.engine import OcrEngine


def test_a_wrapped_photo_id_whose_second_line_the_page_ocr_lost_is_read_whole() -> None:
    # Given the sixth receipt of draw 27 (its id over two lines: 20 characters,
    # then 12) as a photo, drawn as the corpus measure draws it
    receipts = [d for d in build_corpus(27) if d.kind == "pix_receipt"]
    rng = random.Random(7)
    images = [render.photo(render.pdf(doc), rng) for doc in receipts[:6]]
    doc = receipts[5]
    assert doc.name == "wallet"
    # When it is read with the id regions read again by both engines
    found = OcrEngine().recognize(
        images[5],
        languages="por",
        dpi=110,
        reread_ids=True,
        upscale_below_dpi=150,
        second_engine=True,
    )
    # Then the id comes out whole
    assert extract([found.text]).fields["end_to_end_id"].value == doc.truth["end_to_end_id"]
