"""PIX end-to-end ids read on a coarse page's id band by decoding PP-OCR's
probabilities under the id's grammar (:mod:`.id_ctc`), and settled with the
engines' own id.

:func:`read_e2e` reads the lines PP-OCR detected around an id's region (an
id wrapped over two lines is read as one), settles each decoding's ISPB by
the known institutions (:mod:`.id_ispb`) and keeps the surest;
:func:`settle_coarse` decides between it and the engines' id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date

import numpy as np
from PIL import Image, ImageFilter

from folio_shared.identifiers import e2e_valid
from folio_worker_ocr.ocr.id_ctc import (
    DATE_AT,
    DATE_SETTLES,
    REAL_DATE_DIGITS,
    Line,
    Reading,
    Recogniser,
    Voted,
    grammar,
    vote,
)
from folio_worker_ocr.ocr.id_ispb import known, prior

#: Confidence (:attr:`Voted.confidence`) from which a decoded id is kept
#: (:func:`settle_coarse`); 3 of 30 photo decodings at 0.4-0.5 were right (docs/benchmarks.md).
TRUST = 0.5
#: Fewest digits PP-OCR must have read on a line (or two, wrapped) for it to be
#: decoded as an id (an id has 20).
MIN_DIGITS = 12
#: Most and fewest characters two lines read for them to be decoded as one
#: wrapped id (a character or two lost or gained).
WRAPPED_CHARS = (28, 36)
#: Gaussian blur (radius, pixels of the photo) of a line a sure decoding must
#: survive (:func:`sure`).
STEADY_BLUR = 0.5


def _alnum(text: str) -> str:
    return "".join(c for c in text if c.isalnum())


def _joined(first: Image.Image, second: Image.Image) -> Image.Image:
    """Two line crops side by side at the first's height, a space apart."""
    height = first.height
    width = max(1, round(second.width * height / max(1, second.height)))
    second = second.resize((width, height), Image.Resampling.BICUBIC)
    gap = height // 2
    paper = int(max(np.asarray(first).max(), np.asarray(second).max()))
    out = Image.new(first.mode, (first.width + gap + width, height), paper)
    out.paste(first, (0, 0))
    out.paste(second, (first.width + gap, 0))
    return out


def read_e2e(
    recogniser: Recogniser,
    image: Image.Image,
    lines: Sequence[Line],
    days: Iterable[date] = (),
) -> Voted | None:
    """The surest valid id :func:`decode` reads on ``lines`` (detected in
    ``image``) holding at least :data:`MIN_DIGITS` digits, or on two
    consecutive ones that together read about 32 characters, under
    :func:`grammar` of ``days`` (the dates printed on the page), its ISPB
    settled by the known ones (:func:`~.id_ispb.prior`), a sure one first
    (:func:`sure`: a confident decoding the line slightly blurred reads
    the same); ``None`` if none."""
    allowed = grammar(days)
    grey = image.convert("L")
    crops: list[Image.Image] = []
    for index, line in enumerate(lines):
        text = _alnum(line.text)
        if sum(c.isdigit() for c in text) >= MIN_DIGITS and len(text) >= WRAPPED_CHARS[0]:
            crops.append(line.crop(grey))
        if index + 1 < len(lines):
            both = text + _alnum(lines[index + 1].text)
            low, high = WRAPPED_CHARS
            if (
                len(text) < low
                and low <= len(both) <= high
                and sum(c.isdigit() for c in both) >= MIN_DIGITS
            ):
                crops.append(_joined(line.crop(grey), lines[index + 1].crop(grey)))
    found = [
        _steadied(recogniser, crop, allowed, decoded)
        for crop in crops
        if (decoded := _decoded(recogniser, crop, allowed)) is not None
    ]
    return max(found, key=lambda v: (sure(v), v.confidence), default=None)


def _decoded(recogniser: Recogniser, crop: Image.Image, allowed: Sequence[str]) -> Voted | None:
    reading = _dated(recogniser, crop, allowed)
    voted = None if reading is None else vote([reading])
    return None if voted is None or not e2e_valid(voted.text) else prior(voted)


def _steadied(
    recogniser: Recogniser, crop: Image.Image, allowed: Sequence[str], decoded: Voted
) -> Voted:
    """``decoded`` (a reading of ``crop``), ``shaky`` when it is confident
    (:data:`TRUST`) but the crop blurred by :data:`STEADY_BLUR` decodes to
    another id: a character read right only at this photo's exact pixels is
    a guess (on three sets of generated photos it withheld 5 of 15 wrong ids
    and no right one: docs/benchmarks.md)."""
    if decoded.confidence < TRUST:
        return decoded
    blurred = _decoded(recogniser, crop.filter(ImageFilter.GaussianBlur(STEADY_BLUR)), allowed)
    if blurred is not None and blurred.text == decoded.text:
        return decoded
    return replace(decoded, shaky=True)


def sure(decoded: Voted) -> bool:
    """Whether a decoded id is sure enough to be read as it is: confident
    (:data:`TRUST`) and not :attr:`~.id_ctc.Voted.shaky`."""
    return decoded.confidence >= TRUST and not decoded.shaky


def _dated(recogniser: Recogniser, crop: Image.Image, allowed: Sequence[str]) -> Reading | None:
    """The reading of ``crop`` under a real date's digits; when its date is
    not one ``allowed`` (the page's dates) allows, the reading under those,
    if it differs only in at most :data:`DATE_SETTLES` digits of the date: a
    line whose digits are another number (a tax id) is not made an id."""
    probs = recogniser.probabilities(crop)
    free = recogniser.decode(probs, grammar())
    span = range(DATE_AT, DATE_AT + len(REAL_DATE_DIGITS))
    if free is None or all(free.text[i] in allowed[i] for i in span):
        return free
    dated = recogniser.decode(probs, allowed)
    if dated is None:
        return free
    changed = [i for i, (a, b) in enumerate(zip(free.text, dated.text, strict=True)) if a != b]
    return dated if len(changed) <= DATE_SETTLES and set(changed) <= set(span) else free


def settle_coarse(
    picked: str | None, decoded: Voted | None, tesseract: str | None = None
) -> str | None:
    """The id to keep on a coarse page, from the engines' pick, the id decoded
    under the grammar and Tesseract's own id: the decoded one when it is
    :func:`sure`; else none when it differs from the pick (no id beats a
    wrong one), or is the pick but Tesseract did not read it (the pick is then
    PP-OCR's reading of the line it decoded: one engine's word twice); else
    the pick, unless its ISPB is no known one (:func:`~.id_ispb.known`)."""
    if decoded is not None and sure(decoded):
        return decoded.text
    if picked is not None and decoded is not None and picked != decoded.text:
        return None
    if decoded is not None and picked == decoded.text and tesseract != picked:
        return None
    return picked if picked is None or known(picked) else None
