"""A PIX receipt whose page text holds two valid end-to-end ids that differ
by a look-alike (OCR read two regions of one printed id apart): the id kept
is a guess between them, so it comes at lower confidence with the other as
its alternative; a receipt with one id keeps its confidence."""

from __future__ import annotations

from folio_worker_docs.extraction import extract
from folio_worker_docs.extraction.pix import CONTESTED

READ = "E60746948202605101142QHYC11QQHRI"
OTHER = "E60746948202605101142QHYC1IQQHRI"


def _receipt(*ids: str) -> str:
    lines = [
        "Comprovante de transferência Pix",
        "Valor: R$ 1.234,56",
        "Data: 10/05/2026 08:42",
        "Recebedor: Maria Souza Lima",
    ]
    return "\n".join(lines + [f"ID da transação: {e2e}" for e2e in ids])


def test_an_id_another_reading_contests_comes_at_lower_confidence() -> None:
    # Given a receipt read with one id alone, and with a second reading of it
    alone = extract([_receipt(READ)]).fields["end_to_end_id"]
    both = extract([_receipt(READ, OTHER)]).fields["end_to_end_id"]
    # Then the contested id keeps a share of its confidence, the other listed
    assert alone.alternatives == ()
    assert both.value == READ
    assert [a.value for a in both.alternatives] == [OTHER]
    assert both.confidence == alone.confidence * CONTESTED


def test_the_same_id_read_twice_is_not_contested() -> None:
    alone = extract([_receipt(READ)]).fields["end_to_end_id"]
    twice = extract([_receipt(READ, READ)]).fields["end_to_end_id"]
    assert twice.confidence == alone.confidence


def test_the_id_kept_is_at_least_as_sure_as_the_reading_it_competes_with() -> None:
    # Given a receipt with two readings of one id, as sure as each other
    both = extract([_receipt(READ, OTHER)]).fields["end_to_end_id"]
    # Then the rival is as much a guess: it never comes back surer than the
    # id kept (a client taking the surest reading would take the other)
    assert both.alternatives
    assert all(a.confidence <= both.confidence for a in both.alternatives)
    assert both.to_dict()["alternatives"][0]["confidence"] <= both.to_dict()["confidence"]
