"""What ``GET /v1/documents/{id}/fields`` returns."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Verdict = Literal["match", "mismatch", "missing"]


class FieldOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One field: its normalised ``value``, ``confidence`` (0-1), the ``page``
    (1-based) and ``span`` (``[start, end)`` character offsets in that page's
    text) it was read from; ``valid`` where a check digit applies;
    ``alternatives``: other candidates, best first."""

    value: str
    confidence: float
    page: int
    span: list[int]
    valid: bool | None = None
    alternatives: list[dict[str, Any]] = msgspec.field(default_factory=list)


class ExpectedOut(msgspec.Struct, frozen=True, kw_only=True):
    """An expected value the client sent and its verdict."""

    value: str
    result: Verdict


class DocumentFieldsOut(msgspec.Struct, frozen=True, kw_only=True):
    """A document's type (``pix_receipt``, ``boleto``, ``nfe``, a plugin's,
    or ``other`` with no fields), the extractor version that produced the
    fields, the fields by name, and the expected values' verdicts."""

    document_id: str
    document_type: str
    extractor_version: str
    fields: dict[str, FieldOut]
    expected: dict[str, ExpectedOut]
