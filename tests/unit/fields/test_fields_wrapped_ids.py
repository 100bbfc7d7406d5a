"""PIX end-to-end ids printed wrapped over lines, as bank apps and narrow
PDFs print them and as OCR reads them (a hyphen at the break, spaces
inside, look-alikes, the id under its label), joined only
when the whole has the id's shape, a real embedded date near the page's and
a known institution's ISPB. Codes that only sit next to each other (an
authentication code, a boleto line, a CNPJ, another id) are not joined.
The pages are written here, not drawn from the corpus generator."""

from __future__ import annotations

import pytest

from folio_worker_docs.extraction import extract

#: Bradesco's ISPB (60746948), 05/12/2026 17:32 UTC (14:32 in Brasília).
E2E = "E60746948202612051732a8Xk3Pq9Zt2"
#: Mercado Pago's ISPB (10573521), 05/12/2026 12:10 UTC.
OTHER = "E10573521202612051210Bq7Rn2Wx9Lm"
HEAD = """Comprovante de transferência Pix
Valor pago: R$ 150,00
Data e hora: 05/12/2026 14:32
Recebedor: Padaria Pão Quente Ltda
"""

WRAPPED = {
    "pdf, after its label, split at the date": f"ID da transação: {E2E[:20]}\n{E2E[20:]}",
    "identificador, split in the middle": f"Identificador\n{E2E[:16]}\n{E2E[16:]}\n",
    "a hyphen at the break": f"ID/Transação: {E2E[:23]}-\n{E2E[23:]}",
    "spaces inside the halves": (
        f"Código da transação\n{E2E[:9]} {E2E[9:17]} {E2E[17:21]}\n{E2E[21:26]} {E2E[26:]}"
    ),
    "under its label, split after the ispb": f"E2E\n  {E2E[:9]}  \n {E2E[9:]} \n",
    "label and id on the next line, short tail": f"ID Pix:\n{E2E[:28]}\n{E2E[28:]}\nFim",
    "ocr look-alikes in the digits": (
        f"ID da transação\n{E2E[:6].replace('0', 'O')}{E2E[6:18]}\n{E2E[18:]}"
    ),
    "over three lines": f"Identificador:\n{E2E[:11]}\n{E2E[11:22]}\n{E2E[22:]}",
    "ocr, stray spaces": f"ID da transação :\n {E2E[:14]} {E2E[14:19]}\n {E2E[19:]} ",
}


@pytest.mark.parametrize("printed", WRAPPED.values(), ids=WRAPPED.keys())
def test_a_wrapped_id_is_joined(printed: str) -> None:
    # Given a receipt whose id is wrapped over lines
    # When it is extracted
    found = extract([HEAD + printed + "\nPagador: Ana Lima Souza"])
    # Then the id comes out whole, checked
    assert found.document_type == "pix_receipt"
    field = found.fields["end_to_end_id"]
    assert (field.value, field.valid) == (E2E, True)


NOT_JOINED = {
    "a hex authentication code": "Autenticação:\nE3F2A1B9C8D7E6F5\nA4B3C2D1E0F9A8B7",
    "a digit code whose institution is none": "Autenticação: E98765432202612\n051732XYZ12345678",
    "half an id and a boleto line": (
        f"ID da transação: {E2E[:17]}\n23793.38128 60000.000003 00000.000405 1 97370000012345"
    ),
    "half an id and a cnpj": f"ID da transação: {E2E[:18]}\n11222333000181",
    "half an id and a cpf": f"ID da transação: {E2E[:21]}\n52998224725",
    # the page OCR's layout of a line it read apart: on generated photos
    # such joins had misread tails, and worker-ocr writes an id it read whole
    "halves with a blank line between": f"ID da transação\n{E2E[:20]}\n\n{E2E[20:]}",
    "a date far from the payment's": "ID da transação:\nE607469482025010"  # 2025-01-01 10:00
    "\n11000a8Xk3Pq9Zt2",
}


@pytest.mark.parametrize("printed", NOT_JOINED.values(), ids=NOT_JOINED.keys())
def test_adjacent_codes_are_not_joined_into_an_id(printed: str) -> None:
    # Given a receipt with two codes on adjacent lines that do not make an id
    # When it is extracted
    found = extract([HEAD + printed + "\nPagador: Ana Lima Souza"])
    # Then no checked id comes out of them
    field = found.fields.get("end_to_end_id")
    assert field is None or not field.valid


def test_half_an_id_before_a_whole_one_leaves_the_whole_one() -> None:
    # Given a half id, then a whole id on the next line
    found = extract([HEAD + f"ID da transação: {E2E[:17]}\n{OTHER}\n"])
    # Then the whole one is the id, and nothing joined competes with it
    field = found.fields["end_to_end_id"]
    assert field.value == OTHER
    assert all(a.value == OTHER for a in field.alternatives if a.valid)


def test_an_unknown_institution_s_printed_id_is_kept_at_lower_confidence() -> None:
    # Given two receipts printing their id on one line, one with a known
    # institution's ISPB and one with a code no institution has
    unknown = "E99999999" + E2E[9:]
    known = extract([HEAD + f"ID da transação: {E2E}"]).fields["end_to_end_id"]
    other = extract([HEAD + f"ID da transação: {unknown}"]).fields["end_to_end_id"]
    # Then both are kept as printed, the unknown one less trusted
    assert (known.value, other.value) == (E2E, unknown)
    assert other.valid is True
    assert other.confidence < known.confidence
