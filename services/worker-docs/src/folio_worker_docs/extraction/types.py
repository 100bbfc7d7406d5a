"""What extraction returns: typed fields with where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Candidate:
    """One value found for a field, before the best is chosen.

    - ``value``: the normalised value (amounts ``"1234.56"``, dates
      ``YYYY-MM-DD``, date-times ``YYYY-MM-DDTHH:MM``, tax ids digits only).
    - ``confidence``: 0-1, how sure the rule that found it is.
    - ``page``: the page it was read on, 1-based.
    - ``span``: ``(start, end)`` character offsets in that page's text.
    - ``valid``: the check-digit verdict where one applies, else ``None``.
    """

    value: str
    confidence: float
    page: int
    span: tuple[int, int]
    valid: bool | None = None


@dataclass(frozen=True)
class Field:
    """One extracted field: the chosen candidate and the ones that competed.

    ``alternatives`` lists other values found for the same field (a tariff
    beside the amount paid, an issue date beside a payment date), best first.
    """

    value: str
    confidence: float
    page: int
    span: tuple[int, int]
    valid: bool | None = None
    alternatives: tuple[Candidate, ...] = ()

    @classmethod
    def from_candidates(cls, best: Candidate, others: list[Candidate]) -> Field:
        """The field for ``best``, the distinct ``others`` as alternatives."""
        seen = {best.value}
        alternatives: list[Candidate] = []
        for other in others:
            if other.value not in seen:
                seen.add(other.value)
                alternatives.append(other)
        return cls(
            value=best.value,
            confidence=best.confidence,
            page=best.page,
            span=best.span,
            valid=best.valid,
            alternatives=tuple(alternatives),
        )

    def to_dict(self) -> dict[str, object]:
        """The field as JSON-ready data (what the API returns)."""
        out: dict[str, object] = {
            "value": self.value,
            "confidence": round(self.confidence, 3),
            "page": self.page,
            "span": [self.span[0], self.span[1]],
        }
        if self.valid is not None:
            out["valid"] = self.valid
        if self.alternatives:
            out["alternatives"] = [
                {
                    "value": a.value,
                    "confidence": round(a.confidence, 3),
                    "page": a.page,
                    "span": [a.span[0], a.span[1]],
                }
                for a in self.alternatives
            ]
        return out


@dataclass(frozen=True)
class DocumentFields:
    """A document's type and fields.

    - ``document_type``: ``"pix_receipt"``, ``"boleto"``, ``"nfe"``, a
      plugin's type, or ``"other"`` (then ``fields`` is empty).
    - ``extractor_version``: ``"<type>/<version>"`` of the extractor that ran
      (``"other/<classifier version>"`` when none applied).
    """

    document_type: str
    extractor_version: str
    fields: dict[str, Field] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready data: type, version and each field's dict."""
        return {
            "document_type": self.document_type,
            "extractor_version": self.extractor_version,
            "fields": {name: f.to_dict() for name, f in self.fields.items()},
        }


@runtime_checkable
class Extractor(Protocol):
    """What an extractor plugin provides (entry-point group ``folio.extractors``).

    - ``document_type``: the type it recognises (a short snake_case name).
    - ``version``: bumped whenever its output may change; stored with the
      fields so a newer version can re-extract without re-OCR.
    - ``score(pages)``: 0-1, how much the pages look like its type; the
      classifier picks the highest score at or above 0.5, else ``"other"``.
    - ``extract(pages)``: the fields found, by name.
    """

    document_type: str
    version: str

    def score(self, pages: list[str]) -> float: ...

    def extract(self, pages: list[str]) -> dict[str, Field]: ...
