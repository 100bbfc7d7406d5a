"""The generated corpus as scans and phone photos, through real Tesseract.

Half the corpus (every other document: all layouts, boletos, DANFEs and
non-payment documents) to keep the run near a minute;
``tests/unit/fields/fields_measure.py scan photo`` measures all of it (the
figures in docs/benchmarks.md). The floors below sit under what the full
corpus reaches. Ids are read again in their regions (worker-ocr's
``reread``): boleto lines and access keys on scans are held to 85 % and to
no less than the page OCR alone finds; the end-to-end id on small grey print
to no less than the page OCR alone, and to 30 % on scans.
"""

from __future__ import annotations

import pytest
from fields_corpus_docs import build_corpus
from fields_measure import measure

#: OCR of tens of pages, twice over for the comparison: minutes on a busy machine
pytestmark = [pytest.mark.slow, pytest.mark.accuracy, pytest.mark.timeout(900)]

#: field → lowest recall accepted on scans and photos
FLOORS = {
    "pix_receipt.amount": 0.85,
    "pix_receipt.paid_at": 0.85,
    "boleto.amount": 0.85,
    "boleto.due_date": 0.75,
    "nfe.issued_at": 0.85,
    "nfe.issuer_tax_id": 0.85,
}
#: field → lowest recall accepted on scans (key/value rows joined, specks off)
SCAN_FLOORS = {
    "pix_receipt.payer_name": 0.85,
    "pix_receipt.payee_name": 0.85,
    "pix_receipt.payer_tax_id": 0.85,
    "pix_receipt.payee_tax_id": 0.85,
    "pix_receipt.end_to_end_id": 0.3,
}


@pytest.mark.parametrize("kind", ["scan", "photo"])
def test_ocr_corpus_types_and_key_fields(kind: str) -> None:
    score = measure(kind, build_corpus()[::2])
    assert score.type_accuracy >= 0.95, score.table()
    floors = {**FLOORS, **(SCAN_FLOORS if kind == "scan" else {})}
    low = {k: score.recall(k) for k, floor in floors.items() if score.recall(k) < floor}
    assert low == {}, score.table()
    for key in floors:
        assert score.precision(key) >= min(0.9, floors[key]), score.table()


def test_rereading_id_regions_reads_ids_at_least_as_well_as_the_page_ocr() -> None:
    # Given the corpus's boletos and DANFEs, and two receipts of each layout, as scans
    corpus = build_corpus()
    docs = [d for d in corpus if d.kind in ("boleto", "nfe")]
    docs += [d for d in corpus if d.kind == "pix_receipt"][:12]
    # When they are read by the page OCR alone, and with id regions read again
    page, reread = measure("scan-page", docs), measure("scan", docs)
    # Then boleto lines and access keys come out right at least as often as
    # the page OCR alone finds them (which, despeckled, often finds them all)
    for key in ("boleto.digitable_line", "nfe.access_key"):
        assert reread.recall(key) >= max(0.85, page.recall(key)), (page.table(), reread.table())
        assert reread.precision(key) >= page.precision(key), reread.table()
    # and end-to-end ids at least as often as before
    e2e = "pix_receipt.end_to_end_id"
    assert reread.recall(e2e) >= page.recall(e2e), (page.table(), reread.table())
    assert reread.precision(e2e) >= page.precision(e2e), (page.table(), reread.table())
