"""OCR pages carry the OCR's version: a reprocess OCRs again the pages an
older OCR read, and keeps those the current one read."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from documents import png, scanned_page
from e2ekit import Api, finished, job_done, requeue

from folio_shared.db.models import DocumentFields, Job, Page
from folio_shared.pages import OCR_VERSION

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RECEIPT = [
    "Comprovante de transferencia Pix",
    "Valor pago: R$ 150,00",
    "Data do pagamento: 05/12/2026 14:32",
    "Para",
    "Nome: Padaria Pao Quente Ltda",
    "CNPJ: 11.222.333/0001-81",
]


async def _page(api: Api, document_id: uuid.UUID) -> tuple[str, str | None]:
    async with api.engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(Page.text, Page.ocr_version).where(Page.document_id == document_id)
            )
        ).one()
    return row.text, row.ocr_version


async def _ocr_jobs(api: Api, document_id: uuid.UUID) -> int:
    query = sa.select(sa.func.count()).where(
        Job.document_id == document_id, Job.parent_id.is_not(None)
    )
    async with api.engine.connect() as conn:
        return int(await conn.scalar(query) or 0)


async def _amount(api: Api, document_id: uuid.UUID) -> str | None:
    async with api.engine.connect() as conn:
        fields = await conn.scalar(
            sa.select(DocumentFields.fields).where(DocumentFields.document_id == document_id)
        )
    return (fields or {}).get("amount", {}).get("value")


async def test_a_reprocess_ocrs_again_only_pages_an_older_ocr_read(api: Api) -> None:
    # Given a scanned receipt, read by OCR, its page stored with the OCR's version
    uploaded = await api.client.post(
        "/v1/documents",
        headers=api.headers,
        files={"file": ("recibo.png", png(scanned_page(RECEIPT)), "image/png")},
    )
    assert uploaded.status_code == 201, uploaded.text
    scan = uuid.UUID(uploaded.json()["document"]["id"])
    assert await finished(api.engine, scan) == "ready"
    text, version = await _page(api, scan)
    assert version == OCR_VERSION
    assert await _ocr_jobs(api, scan) == 1

    # When it is processed again with the OCR unchanged
    await job_done(api.engine, await requeue(api, scan))
    assert await finished(api.engine, scan) == "ready"
    # Then its page is kept: no OCR ran
    assert await _ocr_jobs(api, scan) == 1

    # Given its page as an older OCR read it (other text, an older version)
    async with api.engine.begin() as conn:
        await conn.execute(
            sa.update(Page)
            .where(Page.document_id == scan)
            .values(text="Valor pago: R$ 9,99", ocr_version="0")
        )
    # When it is processed again
    await job_done(api.engine, await requeue(api, scan))
    assert await finished(api.engine, scan) == "ready"
    # Then the page was OCRed again by the current OCR, and the fields come from that reading
    assert await _ocr_jobs(api, scan) == 2
    assert await _page(api, scan) == (text, OCR_VERSION)
    assert await _amount(api, scan) == "150.00"
