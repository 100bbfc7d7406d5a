"""The ISPB of a decoded PIX end-to-end id, settled against the institutions
Banco Central do Brasil lists.

An id's characters 2-9 are the payer institution's ISPB, 8 digits with no
check digit: on a phone photo one of them is read wrong as easily as any
other digit. Of the 10^8 possible codes, some 500 are institutions
(:func:`~folio_shared.identifiers.known_ispbs`, the kernel's ``ispb.txt``).
:func:`prior` scores every known ISPB over the 8 positions' probabilities
(:attr:`~.id_ctc.Voted.sums`) and reads the most likely one when its
likelihood is within :data:`MARGIN` of the best unconstrained reading's;
the ISPB positions' confidence is then that code's share among the known
codes. A decoding whose ISPB is none of them keeps its confidence only when
it is sure (:data:`SURE`: a participant newer than the list); otherwise its
ISPB positions' confidence is 0, and the id is withheld
(:func:`~.id_read.settle_coarse`): a wrong id is worse than none.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from folio_shared.identifiers import ISPB_AT, ISPB_DIGITS, e2e_ispb_known, known_ispbs
from folio_worker_ocr.ocr.id_ctc import Voted

#: How much less likely (natural log of the likelihood ratio over the 8
#: positions) than the unconstrained best reading a known ISPB may be and
#: still be read (tuned on one corpus draw, checked on another and on unseen
#: layouts: docs/benchmarks.md).
MARGIN = 6.0
#: Confidence (:attr:`~.id_ctc.Voted.confidence`) from which a decoding whose
#: ISPB is no known one is kept.
SURE = 0.9
#: Probability floor of a digit, so one improbable digit does not outweigh all.
FLOOR = 1e-4


def known_codes() -> frozenset[str]:
    """The ISPBs of the listed institutions."""
    return known_ispbs()


@cache
def _matrix() -> np.ndarray:
    """The known codes as rows of digits (codes x 8)."""
    codes = sorted(known_codes())
    return np.array([[int(c) for c in code] for code in codes], dtype=np.intp)


def known(e2e: str) -> bool:
    """Whether the id ``e2e``'s ISPB is a known one."""
    return e2e_ispb_known(e2e)


def prior(voted: Voted, margin: float = MARGIN, sure: float = SURE) -> Voted:
    """``voted`` with its ISPB read as the most likely known one, when that
    one's likelihood is within ``margin`` of the unconstrained best; else
    ``voted`` as it is when it is ``sure``, else ``voted`` unsure (its ISPB
    positions' confidence 0)."""
    span = range(ISPB_AT, ISPB_AT + ISPB_DIGITS)
    sums = np.array([voted.sums[j] for j in span], dtype=np.float64)
    totals = sums.sum(axis=1, keepdims=True)
    if sums.shape[1] != 10 or not np.all(totals > 0):
        return _unknown(voted, sure)
    logs = np.log(np.maximum(sums / totals, FLOOR))
    codes = _matrix()
    scores = logs[np.arange(ISPB_DIGITS), codes].sum(axis=1)
    best = int(scores.argmax())
    if logs.max(axis=1).sum() - scores[best] > margin:
        return _unknown(voted, sure)
    weights = np.exp(scores - scores[best])
    share = float(1.0 / weights.sum())
    ispb = "".join(str(d) for d in codes[best])
    text = voted.text[:ISPB_AT] + ispb + voted.text[ISPB_AT + ISPB_DIGITS :]
    shares = tuple(share if j in span else s for j, s in enumerate(voted.shares))
    return Voted(text, shares, voted.sums, voted.shaky)


def _unknown(voted: Voted, sure: float) -> Voted:
    if voted.confidence >= sure:
        return voted
    span = range(ISPB_AT, ISPB_AT + ISPB_DIGITS)
    shares = tuple(0.0 if j in span else s for j, s in enumerate(voted.shares))
    return Voted(voted.text, shares, voted.sums, voted.shaky)
