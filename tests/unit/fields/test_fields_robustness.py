"""Extraction never fails on a damaged page: texts of the generated corpus
with separators, marks and digits deleted, inserted and replaced at random
(as OCR damages them) all come out typed, with or without fields. A masked
CPF printed without separators once stopped extraction with an error; this
test finds such a page within its 3,000 draws."""

from __future__ import annotations

import random

from fields_corpus_docs import build_corpus
from fields_corpus_variants import build_unseen_corpus

from folio_worker_docs.extraction import extract

#: What OCR adds or swaps on receipts: separators, masks, digits, the id's head.
DAMAGE = " .-*•xX/\n\t,:;()R$0123456789Ee"


def _damaged(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 30)):
        at = rng.randrange(len(chars))
        roll = rng.random()
        if roll < 0.4:
            del chars[at]
        elif roll < 0.8:
            chars.insert(at, rng.choice(DAMAGE))
        else:
            chars[at] = rng.choice(DAMAGE)
    return "".join(chars)


def test_damaged_pages_never_stop_extraction() -> None:
    rng = random.Random(5)
    texts = [doc.text for doc in build_corpus(27) + build_unseen_corpus(31)]
    for _ in range(3_000):
        found = extract([_damaged(rng.choice(texts), rng)])
        assert found.document_type in {"pix_receipt", "boleto", "nfe", "other"}
