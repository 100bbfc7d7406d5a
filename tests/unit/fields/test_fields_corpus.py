"""The generated corpus as text and as text PDFs: type accuracy, field precision and recall."""

from __future__ import annotations

from collections import Counter

import pytest
from fields_corpus_docs import build_corpus
from fields_measure import below, measure


def test_corpus_is_varied() -> None:
    corpus = build_corpus()
    kinds = Counter(doc.kind for doc in corpus)
    layouts = {doc.name for doc in corpus if doc.kind == "pix_receipt"}
    assert len(corpus) >= 60
    assert len(layouts) >= 5
    assert kinds["boleto"] >= 6
    assert kinds["nfe"] >= 6
    assert kinds["other"] >= 8


@pytest.mark.parametrize("kind", ["text", "pdf"])
def test_corpus_meets_the_targets(kind: str) -> None:
    score = measure(kind)
    assert score.type_accuracy >= 0.95, score.table()
    assert below(score, strict=0.95, loose=0.90) == [], "\n".join(score.misses)
