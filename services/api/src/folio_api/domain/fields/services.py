"""A document's fields as the API returns them."""

from __future__ import annotations

import uuid

import msgspec

from folio_api.domain.fields import repository
from folio_api.domain.fields.schemas import DocumentFieldsOut, ExpectedOut, FieldOut
from folio_api.resources import Resources, reads
from folio_shared.errors import DocumentNotFound, NotFound


class FieldsNotReady(NotFound):
    """The document has not been through field extraction yet (still processing)."""

    code = "fields_not_ready"


async def get_fields(
    resources: Resources, tenant_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentFieldsOut:
    """The document's type, fields and expected-value verdicts.

    :class:`DocumentNotFound` for another tenant's or an unknown document,
    :class:`FieldsNotReady` while it has not been processed.
    """
    assert resources.sessions is not None
    async with reads(resources, tenant_id) as session:
        exists, row = await repository.document_fields(session, tenant_id, document_id)
    if not exists:
        raise DocumentNotFound(f"no document {document_id}", document_id=str(document_id))
    if row is None or row.document_type is None or row.extractor_version is None:
        raise FieldsNotReady(
            f"document {document_id} has not been processed yet", document_id=str(document_id)
        )
    verdicts = row.verdicts or {}
    return DocumentFieldsOut(
        document_id=str(document_id),
        document_type=row.document_type,
        extractor_version=row.extractor_version,
        fields=msgspec.convert(row.fields or {}, dict[str, FieldOut]),
        expected={
            name: ExpectedOut(value=str(value), result=verdicts.get(name, "missing"))
            for name, value in (row.expected or {}).items()
        },
    )
