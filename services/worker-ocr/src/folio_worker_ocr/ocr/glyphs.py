"""Letters and digits told apart by their size, in a line of mixed characters.

The last 11 characters of a PIX end-to-end id mix letters and digits with
no check digit, and OCR reads ``o`` and ``O`` as ``0``. In most typefaces
digits are as tall as capitals while ``o`` is only as tall as the
x-height, and a capital ``O`` is much wider than a ``0``.
:func:`read_by_shape` reads one line (page segmentation mode 7, a
whitelist), takes each character's box, measures the digits' usual height
and width in the same line, and puts back ``o`` for a short round glyph
(``0``/``O`` shorter than :data:`SMALL_HEIGHT` of a digit's height) and
``O`` for a round glyph much wider than a digit (:data:`WIDE`). Other
characters stay as read (``s`` and ``5`` differ less than the boxes
Tesseract gives them).
"""

from __future__ import annotations

import tesserocr
from PIL import Image

#: Height, as a share of the line's usual digit height, under which a glyph is lowercase.
SMALL_HEIGHT = 0.82
#: Width, as a share of the line's usual digit width, over which a round glyph is ``O``.
WIDE = 1.22
#: Fewest digits in a line for their sizes to be a measure.
MIN_DIGITS = 6

_ROUND = frozenset("0Oo")


def _median(values: list[int]) -> float:
    ordered = sorted(values)
    return float(ordered[len(ordered) // 2])


def shaped(symbols: list[tuple[str, tuple[int, int, int, int]]]) -> str:
    """The characters of ``symbols`` (text and box each), round glyphs
    settled by their size against the line's digits."""
    digits = [box for text, box in symbols if text.isdigit() and text not in "05"]
    if len(digits) < MIN_DIGITS:
        return "".join(text for text, _ in symbols)
    height = _median([b[3] - b[1] for b in digits])
    width = _median([b[2] - b[0] for b in digits])
    out = []
    for text, (left, top, right, bottom) in symbols:
        small = bottom - top < SMALL_HEIGHT * height
        if text in _ROUND:
            text = "o" if small else ("O" if right - left > WIDE * width else "0")
        out.append(text)
    return "".join(out)


def read_by_shape(
    api: tesserocr.PyTessBaseAPI,
    image: Image.Image,
    whitelist: str,
    seen: list[tuple[str, tuple[int, int, int, int]]] | None = None,
) -> str:
    """One line of ``image`` (mode ``L``) read with ``whitelist``, its
    characters settled by :func:`shaped`; ``seen`` gets the symbols read
    and their boxes."""
    api.SetPageSegMode(tesserocr.PSM.SINGLE_LINE)
    api.SetVariable("tessedit_char_whitelist", whitelist)
    api.SetImageBytes(image.tobytes(), image.width, image.height, 1, image.width)
    api.SetSourceResolution(300)
    try:
        api.Recognize()
        symbols: list[tuple[str, tuple[int, int, int, int]]] = []
        iterator = api.GetIterator()
        if iterator is not None:
            level = tesserocr.RIL.SYMBOL
            for item in tesserocr.iterate_level(iterator, level):
                try:
                    text = item.GetUTF8Text(level)
                except RuntimeError:
                    continue
                box = item.BoundingBox(level)
                if text and box is not None:
                    symbols.append((text.strip(), tuple(box)))
        symbols = [s for s in symbols if s[0]]
        if seen is not None:
            seen.extend(symbols)
        return shaped(symbols)
    finally:
        api.Clear()
