"""PIX end-to-end ids decoded from PP-OCR's character probabilities under the
id's grammar.

On a phone photo an id is a few pixels high, and a reading of it, by either
engine, is often one character off: a letter where a digit must be, a
character dropped or doubled. PP-OCR's recogniser gives, for every column of
a line, a probability for each character (CTC). :func:`decode` finds the most
probable path through them that reads an id: ``E``, 20 digits, 11 letters or
digits, exactly 32 characters (anything before and after it on the line is
free: a label, a border). For each position it keeps the probabilities of
the characters allowed there, at the column where the path reads it; a
position's winner's share is its confidence, and an id is as sure as its
least sure position (:attr:`Voted.confidence`).

:mod:`.id_read` reads an id band's lines with it.

The model is PP-OCRv4's recogniser as shipped inside ``rapidocr-onnxruntime``
(no download), run through onnxruntime's public API; its character list is
in the model's metadata.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from typing import Any

import numpy as np
from PIL import Image

from folio_worker_ocr.ocr.errors import second_engine_call

#: Height (pixels) PP-OCRv4's recogniser reads lines at.
LINE_HEIGHT = 48
#: Characters an id may hold at each of its 32 positions.
GRAMMAR: tuple[str, ...] = (
    ("E",) + (string.digits,) * 20 + (string.digits + string.ascii_letters,) * 11
)
#: Where the embedded ``yyyyMMddHHmm`` starts in an id.
DATE_AT = 9
#: Digits a real date-time allows at each of its 12 positions (months
#: 01-12, days 01-31, hours 00-23, minutes 00-59).
REAL_DATE_DIGITS: tuple[str, ...] = (
    (string.digits,) * 4
    + ("01", string.digits, "0123", string.digits)
    + ("012", string.digits, "012345", string.digits)
)
#: Most digits of an embedded date the page's dates may settle (:func:`grammar`).
DATE_SETTLES = 2


def grammar(days: Iterable[date] = ()) -> tuple[str, ...]:
    """:data:`GRAMMAR` with the embedded date-time held to a real one's digits
    and its ``yyyyMMdd`` to those ``days`` (printed on the page) or the day
    after print at each position (the id's date is UTC, ahead of Brazil's
    local time). A photo's 6-pixel ``2026`` reads ``2028``: the page's dates,
    in larger type, settle it."""
    shown = sorted({(d + timedelta(days=k)).strftime("%Y%m%d") for d in days for k in (0, 1)})
    digits = list(REAL_DATE_DIGITS)
    for i in range(8 if shown else 0):
        digits[i] = "".join(c for c in string.digits if any(s[i] == c for s in shown))
    return GRAMMAR[:DATE_AT] + tuple(digits) + GRAMMAR[DATE_AT + len(digits) :]


@dataclass(frozen=True)
class Line:
    """A line PP-OCR detected: its corners (top left, top right, bottom right,
    bottom left, in pixels of the image read) and its reading."""

    corners: tuple[tuple[float, float], ...]
    text: str

    def crop(self, image: Image.Image) -> Image.Image:
        """The line cut out of ``image`` and straightened (its quadrilateral to a rectangle)."""
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.corners[:4]
        width = max(1, round(max(math.dist((x0, y0), (x1, y1)), math.dist((x3, y3), (x2, y2)))))
        height = max(1, round(max(math.dist((x0, y0), (x3, y3)), math.dist((x1, y1), (x2, y2)))))
        quad = (x0, y0, x3, y3, x2, y2, x1, y1)
        return image.transform(
            (width, height), Image.Transform.QUAD, quad, Image.Resampling.BICUBIC
        )


@dataclass(frozen=True)
class Reading:
    """One crop's decoded id: ``text`` and, per position, the probabilities of
    the grammar's characters there (each row sums to 1)."""

    text: str
    probs: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Voted:
    """The id the readings vote for, each position's share of the vote, and
    the per-position summed probabilities; ``shaky`` when the same line,
    slightly blurred, decodes to another id (:func:`~.id_read.read_e2e`)."""

    text: str
    shares: tuple[float, ...]
    sums: tuple[np.ndarray, ...]
    shaky: bool = False

    @property
    def confidence(self) -> float:
        """The least sure position's share: an id is as sure as its weakest character."""
        return min(self.shares) if self.shares else 0.0


class Recogniser:
    """PP-OCRv4's line recogniser, loaded at the first call; one thread. An
    error inside onnxruntime raises :class:`~.errors.SecondEngineFailed`."""

    def __init__(self) -> None:
        self._session: Any = None
        self._index: dict[str, int] = {}
        self._blank: list[int] = [0]

    def _load(self) -> None:
        import onnxruntime

        model = resources.files("rapidocr_onnxruntime") / "models" / "ch_PP-OCRv4_rec_infer.onnx"
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        with resources.as_file(model) as path:
            session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        meta = session.get_modelmeta().custom_metadata_map["character"].splitlines()
        characters = ["<blank>", *meta, " "]
        self._index = {c: i for i, c in enumerate(characters) if i}
        self._blank = [0, len(characters) - 1]  # a space is no character of an id
        self._session = session

    def probabilities(self, line: Image.Image) -> np.ndarray:
        """Per column of ``line`` (an image of one text line), the probability
        of each of the model's characters (rows sum to 1)."""
        with second_engine_call():
            if self._session is None:
                self._load()
            width = max(1, math.ceil(LINE_HEIGHT * line.width / max(1, line.height)))
            rgb = line.convert("RGB").resize((width, LINE_HEIGHT), Image.Resampling.BILINEAR)
            batch = (np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
            name = self._session.get_inputs()[0].name
            return np.asarray(self._session.run(None, {name: batch[np.newaxis]})[0][0])

    def read(self, line: Image.Image, allowed: Sequence[str] = GRAMMAR) -> Reading | None:
        """The id :func:`decode` finds in ``line`` under ``allowed`` (the
        characters of each position, within :data:`GRAMMAR`'s), or ``None``
        (too short a line)."""
        return self.decode(self.probabilities(line), allowed)

    def decode(self, probs: np.ndarray, allowed: Sequence[str] = GRAMMAR) -> Reading | None:
        """:func:`decode` of a line's :meth:`probabilities` under ``allowed``."""
        if not self._index:
            with second_engine_call():
                self._load()
        columns = [[self._index[c] for c in chars] for chars in allowed]
        return decode(probs, columns, self._blank, allowed)


def decode(
    probs: np.ndarray,
    columns: Sequence[Sequence[int]],
    blank: Sequence[int],
    allowed: Sequence[str] = GRAMMAR,
) -> Reading | None:
    """The most probable path of ``probs`` (columns x characters) that reads
    an id: any characters, then one of ``columns[j]`` for each position ``j``
    (model indices of the characters ``allowed[j]``, a subset of
    :data:`GRAMMAR`'s), then any characters; ``None`` when the line has fewer
    columns than the id has characters."""
    frames = probs.shape[0]
    size = len(columns)
    if frames < size:
        return None
    width = max(len(c) for c in columns)
    log = np.log(np.maximum(probs, 1e-12))
    free = log.max(axis=1)  # before and after the id: anything
    space = np.log(np.maximum(probs[:, list(blank)].max(axis=1), 1e-12))
    chars = np.full((frames, size, width), -np.inf)
    for j, col in enumerate(columns):
        chars[:, j, : len(col)] = log[:, col]
    return _backtrack(probs, columns, _forward(chars, free, space), free, allowed)


def _forward(chars: np.ndarray, free: np.ndarray, space: np.ndarray) -> _Trellis:
    """Viterbi over the id's states: ``on[t, j, c]``, on character ``c`` of
    position ``j`` at column ``t``; ``after[t, j]``, in a blank after it."""
    frames, size, width = chars.shape
    tr = _Trellis(
        on=np.full((frames, size, width), -np.inf),
        after=np.full((frames, size), -np.inf),
        on_move=np.ones((frames, size, width), dtype=np.int8),
        on_from=np.zeros((frames, size, width), dtype=np.int16),
        after_move=np.zeros((frames, size), dtype=np.int8),
        after_from=np.zeros((frames, size), dtype=np.int16),
    )
    tr.on[0, 0] = chars[0, 0]
    prefix = 0.0  # the columns before the id, free
    rows = np.arange(size)
    for t in range(1, frames):
        prefix += free[t - 1]
        prev_on, prev_after = tr.on[t - 1], tr.after[t - 1]
        top = prev_on.argmax(axis=1)
        best = prev_on[rows, top]
        # CTC merges repeats no blank separates: a character follows the
        # previous position's best, or its second best where that is the same
        masked = prev_on.copy()
        masked[rows, top] = -np.inf
        runner = masked.argmax(axis=1)
        other = np.where(
            np.arange(width)[None, :] == top[:, None], masked[rows, runner][:, None], best[:, None]
        )
        other_from = np.where(
            np.arange(width)[None, :] == top[:, None], runner[:, None], top[:, None]
        )
        enter_blank = np.concatenate(([prefix], prev_after[:-1]))
        options = np.stack(
            [
                prev_on,
                np.broadcast_to(enter_blank[:, None], (size, width)),
                np.concatenate((np.full((1, width), -np.inf), other[:-1])),
            ]
        )
        tr.on_move[t] = options.argmax(axis=0)
        tr.on_from[t, 1:] = other_from[:-1]
        tr.on[t] = options.max(axis=0) + chars[t]
        tr.after_move[t] = best > prev_after
        tr.after_from[t] = top
        tr.after[t] = np.maximum(prev_after, best) + space[t]
    return tr


@dataclass
class _Trellis:
    on: np.ndarray
    after: np.ndarray
    on_move: np.ndarray  # 0 stay, 1 from the blank after j - 1 (or the free start), 2 from j - 1
    on_from: np.ndarray  # the character of j - 1 a move 2 came from
    after_move: np.ndarray  # 0 stay, 1 from the character of j
    after_from: np.ndarray


def _backtrack(
    probs: np.ndarray,
    columns: Sequence[Sequence[int]],
    tr: _Trellis,
    free: np.ndarray,
    allowed: Sequence[str],
) -> Reading | None:
    size = tr.on.shape[1]
    last = size - 1
    # after the id the columns are free: each end pays the best of the rest
    rest = np.concatenate((np.cumsum(free[::-1])[::-1][1:], [0.0]))
    on_end = tr.on[:, last].max(axis=1) + rest
    after_end = tr.after[:, last] + rest
    t_on, t_after = int(on_end.argmax()), int(after_end.argmax())
    if not math.isfinite(max(on_end[t_on], after_end[t_after])):
        return None
    on_state = on_end[t_on] >= after_end[t_after]
    t = t_on if on_state else t_after
    j, c = last, int(tr.on[t, last].argmax())
    chosen, peaks = [0] * size, [-1] * size
    while t >= 0:
        if not on_state:
            if tr.after_move[t, j]:
                c, on_state = int(tr.after_from[t, j]), True
            t -= 1
            continue
        chosen[j] = c
        if peaks[j] < 0 or probs[t, columns[j][c]] > probs[peaks[j], columns[j][c]]:
            peaks[j] = t
        move = int(tr.on_move[t, j, c])
        if move == 1:
            if j == 0:
                break
            j, on_state = j - 1, False
        elif move == 2:
            c, j = int(tr.on_from[t, j, c]), j - 1
        t -= 1
    rows = []
    for j, col in enumerate(columns):
        # over GRAMMAR's characters of the position, those not allowed at 0
        row = np.zeros(len(GRAMMAR[j]))
        for char, p in zip(allowed[j], probs[max(peaks[j], 0), col], strict=True):
            row[GRAMMAR[j].index(char)] = p
        rows.append(row / row.sum() if row.sum() > 0 else row)
    return Reading("".join(allowed[j][chosen[j]] for j in range(size)), tuple(rows))


def vote(readings: Sequence[Reading]) -> Voted | None:
    """Per position, the character with the most probability summed over the
    readings; its share of the sum is that position's confidence."""
    if not readings:
        return None
    sums = tuple(np.sum([r.probs[j] for r in readings], axis=0) for j in range(len(GRAMMAR)))
    text = "".join(GRAMMAR[j][int(np.argmax(s))] for j, s in enumerate(sums))
    shares = tuple(float(s.max() / s.sum()) if s.sum() > 0 else 0.0 for s in sums)
    return Voted(text, shares, sums)
