"""The corpora of layouts the rules were not written from (other banks' and
apps' receipts, boleto and DANFE variants, bills and statements that must
come out ``other``; the third family, written after the rules), as text and
as text PDFs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from fields_corpus import Doc
from fields_corpus_variants import build_unseen_corpus
from fields_corpus_wordings_docs import build_wordings_corpus
from fields_measure import below, measure


def test_unseen_corpus_is_varied() -> None:
    corpus = build_unseen_corpus()
    kinds = Counter(doc.kind for doc in corpus)
    layouts = {doc.name for doc in corpus if doc.kind == "pix_receipt"}
    assert len(layouts) >= 8
    assert kinds["boleto"] >= 6
    assert kinds["nfe"] >= 6
    assert kinds["other"] >= 6


@pytest.mark.parametrize(
    ("build", "seed"),
    [
        (build_unseen_corpus, 31),
        (build_unseen_corpus, 32),
        (build_wordings_corpus, 41),
        (build_wordings_corpus, 42),
    ],
)
@pytest.mark.parametrize("kind", ["text", "pdf"])
def test_unseen_layouts_meet_the_targets(
    kind: str, build: Callable[[int], list[Doc]], seed: int
) -> None:
    score = measure(kind, build(seed))
    assert score.type_accuracy >= 0.95, score.table()
    assert below(score, strict=0.95, loose=0.90) == [], "\n".join(score.misses)
