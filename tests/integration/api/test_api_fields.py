"""``GET /v1/documents/{id}/fields``: stored fields as the API returns them,
404 before processing, tenant-scoped, ``other`` with no fields."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from apikit import TenantKey, make_tenant, pdf_bytes, problem
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.engine import create_session_factory
from folio_shared.db.enums import DocumentStatus
from folio_shared.db.models import Chunk, Document, Job
from folio_worker_docs.extraction import extract
from folio_worker_docs.extraction.pix import PixReceiptExtractor
from folio_worker_docs.fields_store import save_expected, save_fields

pytestmark = pytest.mark.integration

RECEIPT = """Pix enviado
Valor: R$ 150,00
Tarifa: R$ 1,50
Data e hora: 05/12/2026 - 14:32
Para
Nome: Padaria Pão Quente Ltda
CNPJ: 11.222.333/0001-81
ID da transação: E00416968202612051732aB3dE4fG5hI
"""


async def _document(engine: AsyncEngine, tenant_id: uuid.UUID) -> uuid.UUID:
    async with create_session_factory(engine)() as session:
        doc = Document(
            tenant_id=tenant_id,
            filename="recibo.pdf",
            kind="pdf",
            storage_key=f"tenants/{tenant_id}/documents/{uuid.uuid4()}",
            sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
            size_bytes=1,
            status=DocumentStatus.READY,
        )
        session.add(doc)
        await session.commit()
        return doc.id


async def _store(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    text: str,
    expected: dict[str, str] | None = None,
) -> None:
    async with create_session_factory(engine)() as session, session.begin():
        if expected is not None:
            await save_expected(
                session, tenant_id=tenant_id, document_id=document_id, expected=expected
            )
        await save_fields(
            session, tenant_id=tenant_id, document_id=document_id, result=extract([text])
        )


async def test_fields_of_a_processed_receipt(
    client: AsyncTestClient[Any], engine: AsyncEngine, alice: TenantKey, bob: TenantKey
) -> None:
    # Given a receipt processed with expected values
    document_id = await _document(engine, alice.tenant_id)
    await _store(
        engine,
        alice.tenant_id,
        document_id,
        RECEIPT,
        {"payee_tax_id": "11.222.333/0001-81", "amount": "149.00", "payer_name": "Ana"},
    )

    # When its owner asks for its fields
    response = await client.get(f"/v1/documents/{document_id}/fields", headers=alice.headers)

    # Then they come typed, with spans, check digits, alternatives and verdicts
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["document_type"] == "pix_receipt"
    assert body["extractor_version"] == f"pix_receipt/{PixReceiptExtractor.version}"
    amount = body["fields"]["amount"]
    assert amount["value"] == "150.00"
    assert RECEIPT[amount["span"][0] : amount["span"][1]] == "R$ 150,00"
    assert amount["page"] == 1
    assert [a["value"] for a in amount["alternatives"]] == ["1.50"]
    assert body["fields"]["payee_tax_id"]["valid"] is True
    assert body["fields"]["end_to_end_id"]["value"] == "E00416968202612051732aB3dE4fG5hI"
    assert body["expected"] == {
        "payee_tax_id": {"value": "11.222.333/0001-81", "result": "match"},
        "amount": {"value": "149.00", "result": "mismatch"},
        "payer_name": {"value": "Ana", "result": "missing"},
    }

    # and another tenant gets a 404 that does not confirm it exists
    other = await client.get(f"/v1/documents/{document_id}/fields", headers=bob.headers)
    problem(other, 404, "document_not_found")


async def test_404_until_processed_and_other_with_no_fields(
    client: AsyncTestClient[Any], engine: AsyncEngine, alice: TenantKey
) -> None:
    # Given a document not processed yet (expected values stored, nothing extracted)
    document_id = await _document(engine, alice.tenant_id)
    async with create_session_factory(engine)() as session, session.begin():
        await save_expected(
            session,
            tenant_id=alice.tenant_id,
            document_id=document_id,
            expected={"amount": "10.00"},
        )
    response = await client.get(f"/v1/documents/{document_id}/fields", headers=alice.headers)
    problem(response, 404, "fields_not_ready")
    unknown = await client.get(f"/v1/documents/{uuid.uuid4()}/fields", headers=alice.headers)
    problem(unknown, 404, "document_not_found")

    # When a letter is processed, Then it is "other" with no fields
    await _store(engine, alice.tenant_id, document_id, "Prezada Ana,\nSegue o relatório.")
    body = (await client.get(f"/v1/documents/{document_id}/fields", headers=alice.headers)).json()
    assert body["document_type"] == "other"
    assert body["fields"] == {}
    assert body["expected"] == {"amount": {"value": "10.00", "result": "missing"}}


async def test_process_request_carries_expected_values_to_the_job(
    client: AsyncTestClient[Any], engine: AsyncEngine, alice: TenantKey
) -> None:
    # Given a stored document
    r = await client.post(
        "/v1/documents",
        headers=alice.headers,
        params={"process": "false"},
        files={"file": ("recibo.pdf", pdf_bytes("expected"), "application/pdf")},
    )
    assert r.status_code == 201, r.text
    doc_id = r.json()["document"]["id"]
    expected = {"payee_tax_id": "11222333000181", "amount": "150.00"}

    # When it is processed with expected values
    r = await client.post(
        f"/v1/documents/{doc_id}/process", headers=alice.headers, json={"expected": expected}
    )

    # Then the job's message carries them to worker-docs
    assert r.status_code == 202, r.text
    async with engine.connect() as conn:
        message = await conn.scalar(
            sa.select(Job.message).where(Job.id == uuid.UUID(r.json()["job"]["job_id"]))
        )
    assert message["payload"]["expected"] == expected

    # and malformed expected values are a 400 naming nothing stored
    bad = await client.post(
        f"/v1/documents/{doc_id}/process",
        headers=alice.headers,
        json={"expected": {"Not A Field": "1"}},
    )
    assert bad.status_code == 400, bad.text
    many = {f"f{i}": "1" for i in range(33)}
    too_many = await client.post(
        f"/v1/documents/{doc_id}/process", headers=alice.headers, json={"expected": many}
    )
    assert too_many.status_code == 400, too_many.text


async def test_upload_form_carries_expected_values_to_the_job(
    client: AsyncTestClient[Any], engine: AsyncEngine, alice: TenantKey
) -> None:
    expected = {"payee_tax_id": "11222333000181", "amount": "150.00"}
    # When a document is uploaded with the values the client expects
    r = await client.post(
        "/v1/documents",
        headers=alice.headers,
        files={"file": ("recibo.pdf", pdf_bytes("expected upload"), "application/pdf")},
        data={"expected": json.dumps(expected)},
    )
    # Then its job's message carries them to worker-docs
    assert r.status_code == 201, r.text
    async with engine.connect() as conn:
        message = await conn.scalar(
            sa.select(Job.message).where(Job.id == uuid.UUID(r.json()["job"]["job_id"]))
        )
    assert message["payload"]["expected"] == expected


@pytest.mark.parametrize(
    ("expected", "says"),
    [
        ("not json", "not valid JSON"),
        ('["amount"]', "Expected `object`"),
        ('{"Not A Field": "1"}', "at `key`"),
        ('{"amount": 150}', "Expected `str`"),
        (json.dumps({f"f{i}": "1" for i in range(33)}), "length <= 32"),
    ],
)
async def test_upload_with_malformed_expected_values_is_a_400_storing_nothing(
    client: AsyncTestClient[Any], engine: AsyncEngine, alice: TenantKey, expected: str, says: str
) -> None:
    content = pdf_bytes(f"malformed expected {expected}")
    r = await client.post(
        "/v1/documents",
        headers=alice.headers,
        files={"file": ("recibo.pdf", content, "application/pdf")},
        data={"expected": expected},
    )
    body = problem(r, 400, "invalid_input")
    assert "form field 'expected'" in body["detail"]
    assert says in body["detail"]
    async with engine.connect() as conn:
        stored = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(Document)
            .where(Document.sha256 == hashlib.sha256(content).hexdigest())
        )
    assert stored == 0


BOLETO = """Recibo do pagador
Beneficiário: Padaria Pão Quente Ltda
Vencimento: 20/01/2026
Valor do documento: R$ 980,10
Linha digitável:
00190.00009 01234.567890 12345.678901 1 91230000098010
"""


async def _searchable(engine: AsyncEngine, tenant_id: uuid.UUID, document_id: uuid.UUID) -> None:
    async with create_session_factory(engine)() as session:
        session.add(
            Chunk(
                id=uuid.uuid4(), tenant_id=tenant_id, document_id=document_id,
                chunk_index=0, page_start=1, page_end=1, char_start=0, char_end=18,
                text="comprovante padaria", token_count=2, pipeline_version="test",
            )
        )  # fmt: skip
        await session.commit()


async def test_listings_show_fields_and_filter_on_them(
    client: AsyncTestClient[Any], engine: AsyncEngine
) -> None:
    # Given a receipt (150.00, paid 2026-12-05), a boleto (980.10) and a letter
    carol = await make_tenant(engine, "carol")
    receipt, boleto, letter = [await _document(engine, carol.tenant_id) for _ in range(3)]
    await _store(engine, carol.tenant_id, receipt, RECEIPT)
    await _store(engine, carol.tenant_id, boleto, BOLETO)
    await _store(engine, carol.tenant_id, letter, "Prezada Ana,\nSegue o relatório.")
    for document_id in (receipt, boleto, letter):
        await _searchable(engine, carol.tenant_id, document_id)

    async def listed(**params: str | list[str]) -> list[str]:
        r = await client.get("/v1/documents", headers=carol.headers, params=params)
        assert r.status_code == 200, r.text
        return [item["id"] for item in r.json()["items"]]

    async def found(**params: str | list[str]) -> list[str]:
        r = await client.get(
            "/v1/search",
            headers=carol.headers,
            params={"q": "padaria", "mode": "keyword", **params},
        )
        assert r.status_code == 200, r.text
        return sorted(hit["document_id"] for hit in r.json()["results"])

    # When the documents are listed, Then each shows its type and field values
    r = await client.get("/v1/documents", headers=carol.headers)
    items = {item["id"]: item for item in r.json()["items"]}
    assert items[str(receipt)]["document_type"] == "pix_receipt"
    assert items[str(receipt)]["fields"]["amount"] == "150.00"
    assert items[str(receipt)]["fields"]["payee_tax_id"] == "11222333000181"
    assert items[str(letter)]["document_type"] == "other"
    assert items[str(letter)]["fields"] == {}

    # and listings and searches keep the documents whose fields pass the filters
    for ask in (listed, found):
        assert await ask(document_type="pix_receipt") == [str(receipt)]
        assert sorted(await ask(document_type=["pix_receipt", "boleto"])) == sorted(
            [str(receipt), str(boleto)]
        )
        assert await ask(**{"field.payee_tax_id": "11222333000181"}) == [str(receipt)]
        assert await ask(**{"field.amount.min": "100", "field.amount.max": "200"}) == [str(receipt)]
        assert await ask(**{"field.amount.min": "150.01"}) == [str(boleto)]
        assert await ask(**{"field.paid_at.min": "2026-12", "field.paid_at.max": "2026-12"}) == [
            str(receipt)
        ]
        assert await ask(**{"field.paid_at.max": "2026-11-30"}) == []
        assert await ask(**{"field.due_date": "2026-01-20"}) == [str(boleto)]

    # and malformed filters are a 400 naming the parameter
    for params in ({"field.Amount": "1"}, {"field.amount.between": "1"}, {"field.amount": ""}):
        for path in ("/v1/documents", "/v1/search?q=padaria&mode=keyword"):
            r = await client.get(path, headers=carol.headers, params=params)
            body = problem(r, 400, "invalid_input")
            assert next(iter(params)) in body["detail"]
