"""A scanned PIX receipt that prints a bank authentication code under its
end-to-end id: the code's label reads like an id label, so its words are
re-read as an id region, and the second engine's page-wide band around them
holds the id's line too. That id, read on another line, must not replace the
code (the extractor then took the copy, with the right id as its
alternative): real Tesseract and PP-OCR on a generated scan."""

from __future__ import annotations

import random

import fields_render as render
from fields_corpus_docs import build_corpus

from folio_worker_docs.extraction import extract
from folio_worker_ocr.ocr.engine import OcrEngine


def test_an_id_read_on_the_line_above_does_not_replace_an_authentication_code() -> None:
    # Given seed 29's ruled bank receipt, scanned in order as fields_measure.py
    # scans the corpus, whose "Autenticação bancária" line is under its id
    docs = [d for d in build_corpus(29) if d.kind == "pix_receipt"]
    rng = random.Random(7)
    for doc in docs[:6]:
        render.scan(render.pdf(doc), rng)
    doc = docs[6]
    code = doc.text.split("Autenticação bancária: ")[1].split()[0]
    e2e = doc.truth["end_to_end_id"]
    assert doc.text.index(e2e) < doc.text.index(code)
    image = render.scan(render.pdf(doc), rng)
    # When it is read with the id regions re-read by both engines
    found = OcrEngine().recognize(
        image, languages="por", dpi=200, reread_ids=True, second_engine=True
    )
    # Then the code's line keeps a reading of its code, the id is printed once,
    # and the extractor returns the id with no competing copy
    assert code in found.text
    assert found.text.count(e2e[:21]) == 1
    field = extract([found.text]).fields["end_to_end_id"]
    assert field.value == e2e
    assert field.alternatives == ()
