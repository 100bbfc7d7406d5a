"""Type accuracy and per-field precision/recall of extraction over a corpus."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from fields_corpus import Doc

from folio_worker_docs.extraction import DocumentFields

#: Fields each type is scored on.
FIELDS = {
    "pix_receipt": (
        "amount",
        "paid_at",
        "end_to_end_id",
        "payer_name",
        "payer_tax_id",
        "payee_name",
        "payee_tax_id",
        "payee_institution",
    ),
    "boleto": (
        "digitable_line",
        "amount",
        "due_date",
        "beneficiary_name",
        "beneficiary_tax_id",
        "payer_name",
    ),
    "nfe": (
        "access_key",
        "number",
        "series",
        "issued_at",
        "issuer_name",
        "issuer_tax_id",
        "recipient_name",
        "recipient_tax_id",
        "total_amount",
    ),
}


#: Fields compared exactly: a PIX end-to-end id is case-sensitive (its
#: tail is letters of both cases and digits), so a letter read in the wrong
#: case is a wrong id. Names and the rest are compared case-insensitively.
EXACT = frozenset({"end_to_end_id"})


def _same(name: str, want: str, got: str) -> bool:
    if name in EXACT:
        return want == got
    return want.casefold() == got.casefold()


@dataclass
class Score:
    """Counts over a corpus: documents typed right, and per ``type.field`` tp/fp/fn."""

    documents: int = 0
    typed_right: int = 0
    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)
    ocr_seconds: float = 0.0

    def add(self, doc: Doc, result: DocumentFields) -> None:
        self.documents += 1
        self.typed_right += result.document_type == doc.kind
        if doc.kind == "other":
            return
        for name in FIELDS[doc.kind]:
            key = f"{doc.kind}.{name}"
            want = doc.truth.get(name)
            got = result.fields.get(name) if result.document_type == doc.kind else None
            if want is not None and got is not None and _same(name, want, got.value):
                self.tp[key] += 1
                continue
            if got is not None:
                self.fp[key] += 1
            if want is not None:
                self.fn[key] += 1
            self.misses.append(f"{doc.name}.{name}: want {want!r} got {got and got.value!r}")

    @property
    def type_accuracy(self) -> float:
        return self.typed_right / self.documents

    def precision(self, key: str) -> float:
        found = self.tp[key] + self.fp[key]
        return self.tp[key] / found if found else 1.0

    def recall(self, key: str) -> float:
        wanted = self.tp[key] + self.fn[key]
        return self.tp[key] / wanted if wanted else 1.0

    def table(self) -> str:
        rows = [f"type accuracy {self.type_accuracy:.3f} ({self.typed_right}/{self.documents})"]
        for kind, names in FIELDS.items():
            for name in names:
                key = f"{kind}.{name}"
                rows.append(f"{key:32} P {self.precision(key):.3f} R {self.recall(key):.3f}")
        return "\n".join(rows)
