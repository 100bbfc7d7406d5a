"""Tax ids kept out of logs and traces.

A CPF or CNPJ identifies a person or a company: what worker-docs logs about
a document's fields shows only the last two digits of each tax id
(``***********09``), never the whole number.
"""

from __future__ import annotations

from folio_worker_docs.extraction.types import DocumentFields

#: Field names holding tax ids (any plugin's field ending in ``tax_id`` too).
TAX_ID_SUFFIX = "tax_id"


def mask_tax_id(value: str) -> str:
    """All but the last two characters replaced by ``*``."""
    return "*" * max(0, len(value) - 2) + value[-2:]


def masked_fields(result: DocumentFields) -> dict[str, str]:
    """Field name → value, tax ids masked (for logs)."""
    return {
        name: mask_tax_id(f.value) if name.endswith(TAX_ID_SUFFIX) else f.value
        for name, f in result.fields.items()
    }


def masked_expected(expected: dict[str, str] | None) -> dict[str, str] | None:
    """Expected values, tax ids masked (for logs)."""
    if expected is None:
        return None
    return {k: mask_tax_id(v) if k.endswith(TAX_ID_SUFFIX) else v for k, v in expected.items()}
