"""Structured fields through the real workers: a PIX receipt as a text PDF and as
a scan, expected values checked, the ``fields`` stage in the job's events, and
a reprocess that leaves one row."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa
from documents import pdf, png, scanned_page
from e2ekit import Api, finished, job_done, requeue, submit

from folio_shared.db.enums import DocumentKind
from folio_shared.db.models import DocumentFields, Job
from folio_shared.jobs import events
from folio_worker_docs.extraction.pix import PixReceiptExtractor

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RECEIPT = [
    "Comprovante de transferencia Pix",
    "Valor pago: R$ 150,00",
    "Data do pagamento: 05/12/2026 14:32",
    "Para",
    "Nome: Padaria Pao Quente Ltda",
    "CNPJ: 11.222.333/0001-81",
    "Instituicao: Banco Inter S.A.",
    "De",
    "Nome: Ana Souza",
    "CPF: ***.456.789-**",
    "ID da transacao: E00416968202612051732aB3dE4fG5hI",
]


async def _fields(api: Api, document_id: uuid.UUID) -> list[DocumentFields]:
    engine = api.engine
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(DocumentFields).where(DocumentFields.document_id == document_id)
        )
        return [DocumentFields(**row._mapping) for row in rows]


async def test_receipt_fields_and_expected_values_from_a_text_pdf(api: Api) -> None:
    jobs, engine = api.jobs, api.engine
    # Given a receipt PDF sent with the values the client expects
    document_id = await submit(
        api,
        DocumentKind.PDF,
        "application/pdf",
        pdf(["\n".join(RECEIPT)]),
        expected={
            "payee_tax_id": "11222333000181",
            "amount": "150.00",
            "end_to_end_id": "E00416968202612051732aB3dE4fG5hX",
            "payer_name": "Ana Souza",
            "due_date": "2026-12-05",
        },
    )
    # When it has been processed
    assert await finished(engine, document_id) == "ready"

    # Then its fields are stored with the type, the version and the verdicts
    [row] = await _fields(api, document_id)
    assert row.document_type == "pix_receipt"
    assert row.extractor_version == f"pix_receipt/{PixReceiptExtractor.version}"
    assert row.fields["amount"]["value"] == "150.00"
    assert row.fields["payee_tax_id"] == {
        **row.fields["payee_tax_id"],
        "value": "11222333000181",
        "valid": True,
    }
    assert row.fields["paid_at"]["value"] == "2026-12-05T14:32"
    assert row.verdicts == {
        "payee_tax_id": "match",
        "amount": "match",
        "end_to_end_id": "mismatch",
        "payer_name": "match",
        "due_date": "missing",
    }

    # and the job reported the fields stage
    async with engine.connect() as conn:
        job_id = await conn.scalar(sa.select(Job.id).where(Job.document_id == document_id))
    stages = [e.data.get("stage") for e in await events.read(jobs.redis, job_id)]
    assert "fields" in stages
    assert "chunking" in stages[stages.index("fields") :]  # finalize: fields, then chunks

    # When it is processed again, Then it still has one row, re-extracted
    await job_done(engine, await requeue(api, document_id))
    assert await finished(engine, document_id) == "ready"
    [again] = await _fields(api, document_id)
    assert again.fields == row.fields
    assert again.expected == row.expected  # kept: the new request sent none
    assert again.extracted_at is not None
    assert row.extracted_at is not None
    assert again.extracted_at > row.extracted_at


async def test_scanned_receipt_and_a_non_payment_document(api: Api) -> None:
    engine = api.engine
    # Given a scanned receipt (OCR) uploaded with the values the client expects
    uploaded = await api.client.post(
        "/v1/documents",
        headers=api.headers,
        files={"file": ("recibo.png", png(scanned_page(RECEIPT)), "image/png")},
        data={"expected": json.dumps({"amount": "150.00", "payee_tax_id": "11222333000181"})},
    )
    assert uploaded.status_code == 201, uploaded.text
    scan = uuid.UUID(uploaded.json()["document"]["id"])
    # and a letter
    letter = await submit(
        api,
        DocumentKind.PDF,
        "application/pdf",
        pdf(["Prezada Juliana,\nSegue o relatorio do trimestre.\nAbracos"]),
    )
    # When both are processed
    assert await finished(engine, scan) == "ready"
    assert await finished(engine, letter) == "ready"
    # Then the scan's fields are read from its OCR text, the letter is "other"
    [row] = await _fields(api, scan)
    assert row.document_type == "pix_receipt"
    assert row.fields["amount"]["value"] == "150.00"
    assert row.fields["payee_tax_id"]["value"] == "11222333000181"
    assert row.verdicts == {"amount": "match", "payee_tax_id": "match"}
    [other] = await _fields(api, letter)
    assert (other.document_type, other.fields) == ("other", {})

    # Given the scan's fields as an older extractor version stored them
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(DocumentFields)
            .where(DocumentFields.document_id == scan)
            .values(extractor_version="pix_receipt/4", fields={})
        )
    ocr_jobs = sa.select(sa.func.count()).where(Job.document_id == scan, Job.parent_id.is_not(None))
    async with engine.connect() as conn:
        ocr_before = await conn.scalar(ocr_jobs)
    assert ocr_before == 1  # its one page was OCRed
    # When it is processed again
    await job_done(engine, await requeue(api, scan))
    assert await finished(engine, scan) == "ready"
    # Then the current extractor re-extracted it from the stored page, without OCR
    [again] = await _fields(api, scan)
    assert again.extractor_version == f"pix_receipt/{PixReceiptExtractor.version}"
    assert again.fields["amount"]["value"] == "150.00"
    async with engine.connect() as conn:
        assert await conn.scalar(ocr_jobs) == ocr_before


async def test_expected_names_match_the_same_party_printed_otherwise(api: Api) -> None:
    # Given a receipt whose institution is printed with its legal qualifiers,
    # sent with names as a client types them
    receipt = [
        "Comprovante de transferencia Pix",
        "Valor: R$ 150,00",
        "Data e hora: 05/12/2026 14:32",
        "Destino",
        "Nome: PADARIA PAO QUENTE LTDA",
        "CNPJ: 11.222.333/0001-81",
        "Instituicao: Nu Pagamentos S.A. - Instituicao de Pagamento",
        "Origem",
        "Nome: Ana Souza",
        "ID da transacao: E00416968202612051732aB3dE4fG5hI",
    ]
    expected = {
        "payee_institution": "Nu Pagamentos S.A.",
        "payee_name": "Padaria Pão Quente",
        "payer_name": "Ana Sousa",
        "payee_tax_id": "11222333000181",
        "amount": "150.01",
    }
    document_id = await submit(
        api, DocumentKind.PDF, "application/pdf", pdf(["\n".join(receipt)]), expected=expected
    )
    # When it has been processed
    assert await finished(api.engine, document_id) == "ready"
    # Then the API says the names match as the same party, and another name,
    # a tax id or an amount must agree exactly
    answer = await api.client.get(f"/v1/documents/{document_id}/fields", headers=api.headers)
    assert answer.status_code == 200, answer.text
    verdicts = {name: v["result"] for name, v in answer.json()["expected"].items()}
    assert verdicts == {
        "payee_institution": "match",
        "payee_name": "match",
        "payer_name": "mismatch",
        "payee_tax_id": "match",
        "amount": "mismatch",
    }
