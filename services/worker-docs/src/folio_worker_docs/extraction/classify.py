"""The classifier: which extractor a document's pages belong to.

Every installed extractor scores the pages (0-1); the highest score at or
above :data:`MIN_SCORE` wins, else the document is ``"other"``. A tie goes to
the type that sorts first, so the answer never depends on install order.
"""

from __future__ import annotations

from collections.abc import Sequence

from folio_worker_docs.extraction.types import Extractor

#: Type of a document no extractor claims.
OTHER = "other"

#: Lowest score that claims a document.
MIN_SCORE = 0.5


def classify(pages: list[str], extractors: Sequence[Extractor]) -> Extractor | None:
    """The extractor whose type the pages are, or ``None`` for ``"other"``."""
    best: Extractor | None = None
    best_score = MIN_SCORE
    for extractor in extractors:
        score = extractor.score(pages)
        if score > best_score or (score == best_score and best is None):
            best, best_score = extractor, score
    return best
