"""Where the identifiers are on a recognised page: the word regions
:mod:`folio_worker_ocr.ocr.reread` reads again.

From Tesseract's word boxes (:func:`page_words`), :func:`regions` finds:

- runs of words on one line made of digits and their look-alikes, with at
  least :data:`MIN_RUN_DIGITS` digits (boleto lines, NF-e access keys,
  printed in groups);
- the start of a PIX end-to-end id: a word shaped like its head (``E`` and
  digits, look-alikes allowed, an ``E`` read accented too, as Portuguese
  OCR may) with the words after it, or words that together read a whole
  id from such a head (split after its first characters), else what follows
  an id label (``ID da transação``, ``Identificador``, ``Autenticação``,
  ``ID fim a fim`` ...) on the label's line or the line below; an id
  wrapped over two lines is two parts.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import tesserocr

from folio_shared.identifiers import DIGIT_LOOKALIKES, e2e_valid, repair_e2e

#: Fewest digits (or look-alikes) in a run of words read again as a digit id.
MIN_RUN_DIGITS = 20

_SPLIT_ID_HEAD = re.compile(r"[EeÉÊ€3£][0-9A-Za-z|!]{9,}")
#: Characters of a whole id read over several words (32, a few gained or lost).
_ID_LENGTH = (30, 36)
#: Of the 20 digits after a whole id's head (ISPB and date), how many must
#: read as digits (look-alikes allowed), so that a line of words starting
#: with an e (``every supplier of the northern region``) is not an id.
_HEAD_DIGITS = 16
#: Farthest under an id's words (in line heights) its wrapped rest may start.
_WRAP_GAP = 3.0
#: Labels printed before an end-to-end id (folded: lower case, no accents).
E2E_LABEL = re.compile(
    r"transa[cg][ao]|identificador|autentica|fim a fim|end.to.end|\be2e\b|id do pix"
)
_PIX_WORD = re.compile(r"\bpix\b")
_DIGITISH = frozenset("0123456789OoIl|DQSBZ.-")
_ALNUM = frozenset(string.digits + string.ascii_letters)


@dataclass(frozen=True)
class Word:
    """A word Tesseract read: its text, box ``(left, top, right, bottom)`` and line."""

    text: str
    box: tuple[int, int, int, int]
    line: int


@dataclass(frozen=True)
class Region:
    """Words to read again: ``kind`` ``"digits"`` or ``"e2e"``; ``parts`` holds
    one run of words per printed line (an end-to-end id may wrap onto a second)."""

    kind: str
    parts: tuple[tuple[Word, ...], ...]

    def part_text(self, index: int) -> str:
        return " ".join(w.text for w in self.parts[index])


def box_of(words: tuple[Word, ...]) -> tuple[int, int, int, int]:
    """The box (left, top, right, bottom) around ``words``."""
    return (
        min(w.box[0] for w in words),
        min(w.box[1] for w in words),
        max(w.box[2] for w in words),
        max(w.box[3] for w in words),
    )


def page_words(api: tesserocr.PyTessBaseAPI) -> list[Word]:
    """The words of the page just recognised by ``api``, with boxes and line numbers."""
    words: list[Word] = []
    iterator = api.GetIterator()
    if iterator is None:
        return words
    line = -1
    level = tesserocr.RIL.WORD
    for item in tesserocr.iterate_level(iterator, level):
        try:
            text = item.GetUTF8Text(level)
        except RuntimeError:  # an empty block ("No text returned")
            continue
        box = item.BoundingBox(level)
        if not text or box is None:
            continue
        if item.IsAtBeginningOf(tesserocr.RIL.TEXTLINE) or line < 0:
            line += 1
        words.append(Word(text, tuple(box), line))
    return words


def _digitish(text: str) -> bool:
    chars = text.strip(",:;()")
    return bool(chars) and sum(c in _DIGITISH for c in chars) >= 0.8 * len(chars)


def _digit_count(words: tuple[Word, ...]) -> int:
    return sum(c.isdigit() for w in words for c in w.text.translate(DIGIT_LOOKALIKES))


def _alnum_word(text: str) -> bool:
    chars = text.strip(".,:;()")
    return len(chars) >= 2 and sum(c in _ALNUM for c in chars) >= 0.85 * len(chars)


def _lines(words: list[Word]) -> list[list[Word]]:
    lines: dict[int, list[Word]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    return [lines[k] for k in sorted(lines)]


def _while(keep: Callable[[str], bool], words: list[Word]) -> Iterator[Word]:
    for word in words:
        if not keep(word.text):
            return
        yield word


def regions(words: list[Word]) -> list[Region]:
    """Runs of words that look like an end-to-end id or a digit-group id, in page order."""
    found: list[Region] = []
    taken: set[Word] = set()
    lines = _lines(words)
    for line in lines:
        head = _e2e_head(line, _line_after(lines, tuple(line)))
        if head is None or head[0] in taken:
            continue
        parts: tuple[tuple[Word, ...], ...] = (head,)
        following = _line_after(lines, head)
        length = sum(len(w.text) for w in head)
        if length < 30 and following:
            tail = tuple(_while(_alnum_word, following[:2]))
            if tail and 30 <= length + sum(len(w.text) for w in tail) <= 36:
                parts = (head, tail)
        found.append(Region("e2e", parts))
        taken.update(w for part in parts for w in part)
    for line in lines:
        run: list[Word] = []
        for word in [*line, None]:
            if word is not None and word not in taken and _digitish(word.text):
                run.append(word)
                continue
            if _digit_count(tuple(run)) >= MIN_RUN_DIGITS:
                found.append(Region("digits", (tuple(run),)))
            run = []
    return sorted(found, key=lambda r: (r.parts[0][0].line, r.parts[0][0].box[0]))


def _digits_after_head(joined: str) -> bool:
    """Whether ``joined``'s ISPB and date read mostly as digits."""
    after = joined[1:21].translate(DIGIT_LOOKALIKES)
    return sum(ch.isdigit() for ch in after) >= _HEAD_DIGITS


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _line_after(lines: list[list[Word]], words: tuple[Word, ...]) -> list[Word]:
    """Tesseract's next line after ``words`` when it is printed just below them
    (:func:`_just_below`), else none."""
    line = words[-1].line
    after = next((other for other in lines if other[0].line == line + 1), [])
    return after if after and _just_below(words, tuple(after)) else []


def _just_below(words: tuple[Word, ...], after: tuple[Word, ...]) -> bool:
    """Whether ``after`` starts below the middle of ``words`` and at most
    :data:`_WRAP_GAP` line heights (the taller of the two boxes) under them:
    where a wrapped id goes on. Tesseract's next line may be another block's
    (a column of labels at the top of a receipt), and a word of it taken for
    the id's rest got that part of a right id written over it."""
    _, top, _, bottom = box_of(words)
    _, below, _, end = box_of(after)
    height = max(1, bottom - top, end - below)
    return (top + bottom) / 2 <= below <= bottom + _WRAP_GAP * height


def _e2e_head(line: list[Word], below: list[Word]) -> tuple[Word, ...] | None:
    """The words that start an end-to-end id on ``line``: a word shaped like
    its start, else what follows an id label (on the line, or the line below)."""
    for pos, word in enumerate(line):
        text = word.text.strip(".,:;()")
        if _SPLIT_ID_HEAD.match(text) and not text.isdigit():
            return tuple(_while(_alnum_word, line[pos:]))
        # an id the page OCR split after a character or two (``E1 8236120...``)
        run = tuple(_while(_alnum_word, line[pos:]))
        joined = "".join(w.text.strip(".,:;()") for w in run)
        whole = len(run) > 1 and _ID_LENGTH[0] <= len(joined) <= _ID_LENGTH[1]
        if whole and _SPLIT_ID_HEAD.match(joined) and _digits_after_head(joined):
            return run
    label = E2E_LABEL.search(_fold(" ".join(w.text for w in line)))
    if label is None:
        return None
    for end in range(1, len(line) + 1):
        if len(_fold(" ".join(w.text for w in line[:end]))) >= label.end():
            after = [w for w in line[end:] if _alnum_word(w.text)]
            if sum(len(w.text) for w in after) >= 5:
                return tuple(after)
            break
    if (
        below
        and sum(len(w.text) for w in below) >= 8
        and not E2E_LABEL.search(_fold(" ".join(w.text for w in below)))
    ):
        return tuple(below)
    return None


def has_valid_e2e(text: str) -> bool:
    """Whether ``text`` holds a valid end-to-end id (look-alikes repaired), also
    one wrapped over lines or split by spaces."""
    compact = "".join(text.split())
    return any(
        e2e_valid(repair_e2e(compact[i : i + 32]) or "")
        for i, ch in enumerate(compact)
        if ch in "Ee€"
    )


def pix_without_id(text: str) -> bool:
    """Whether ``text`` reads like a PIX receipt (the word ``pix`` or an id
    label) yet holds no valid end-to-end id: the page OCR missed it."""
    folded = _fold(text)
    return bool(_PIX_WORD.search(folded) or E2E_LABEL.search(folded)) and not has_valid_e2e(text)
