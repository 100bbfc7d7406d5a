"""Writing a document's structured fields and the client's expected values.

One ``document_fields`` row per document, written by upserts so that a
redelivered or re-run step leaves one row with the latest result:
:func:`save_expected` when a process request carries expected values (the
fields, if any, stay until the new extraction replaces them), and
:func:`save_fields` from the finalize step, with the verdicts of the
expected values stored beside them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from folio_shared.db.models import DocumentFields
from folio_worker_docs.extraction import DocumentFields as Extracted
from folio_worker_docs.extraction import Verdict, compare_expected
from folio_worker_docs.text.chunking import PageLike


def page_texts(pages: Sequence[PageLike]) -> list[str]:
    """Page texts in page order, a blank one for a page without text (numbers hold)."""
    by_number = {p.page_no: p.text for p in pages}
    return [by_number.get(n, "") for n in range(1, max(by_number, default=0) + 1)]


async def save_expected(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    expected: Mapping[str, str],
) -> None:
    """Store the values the client expects (replacing earlier ones)."""
    stmt = insert(DocumentFields).values(
        document_id=document_id, tenant_id=tenant_id, expected=dict(expected)
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[DocumentFields.document_id], set_={"expected": stmt.excluded.expected}
        )
    )


async def save_fields(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    document_id: uuid.UUID,
    result: Extracted,
) -> dict[str, Verdict] | None:
    """Store the extraction result and the verdicts of the stored expected values.

    Returns the verdicts (``None`` when no values were expected). One
    statement when no values are expected (the upsert returns the stored
    ones), two when some are (their verdicts are written next).
    """
    fields = {name: field.to_dict() for name, field in result.fields.items()}
    stmt = insert(DocumentFields).values(
        document_id=document_id,
        tenant_id=tenant_id,
        document_type=result.document_type,
        extractor_version=result.extractor_version,
        fields=fields,
        verdicts=None,
        extracted_at=sa.func.now(),
    )
    excluded = stmt.excluded
    expected: dict[str, Any] | None = await session.scalar(
        stmt.on_conflict_do_update(
            index_elements=[DocumentFields.document_id],
            set_={
                "document_type": excluded.document_type,
                "extractor_version": excluded.extractor_version,
                "fields": excluded.fields,
                "verdicts": excluded.verdicts,
                "extracted_at": excluded.extracted_at,
            },
        ).returning(DocumentFields.expected)
    )
    if expected is None:
        return None
    verdicts = dict(compare_expected({k: str(v) for k, v in expected.items()}, result.fields))
    await session.execute(
        sa.update(DocumentFields)
        .where(DocumentFields.document_id == document_id)
        .values(verdicts=verdicts)
        .execution_options(synchronize_session=False)
    )
    return verdicts
