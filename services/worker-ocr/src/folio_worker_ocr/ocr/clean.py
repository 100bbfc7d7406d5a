"""Specks and table rules off a page before its OCR.

Dust and paper grain on a flatbed scan leave isolated dark pixels; the page
OCR reads them as accents (``Gômes``), hyphens (``Lima-Souza``) or stray
points, and they split words and numbers. :func:`despeckled` finds the dark
pixels that stand alone (no dark neighbour in their 3x3 square) and, when
they are more than :data:`SPECKLED_SHARE` of the page, turns them white.
Strokes, dots and asterisks of the text have dark neighbours and stay as
they are; so do clean pages and blurred photos (whose pixels never stand
alone).

Receipts and DANFEs print their fields in ruled tables; the page OCR reads
a rule beside a word as ``|``, ``[`` or ``“`` and mixes rows.
:func:`without_rules` turns white the long thin runs of dark pixels: rows
dark over :data:`RULE_INCHES` or more and at most :data:`RULE_MAX_PX`
thick (so a filled box, a logo's background, stays), and columns dark
over :data:`VERTICAL_RULE_INCHES` (taller than a letter).
"""

from __future__ import annotations

from PIL import Image, ImageChops, ImageFilter

#: Share of the page's pixels that are lone dark pixels above which it is despeckled.
SPECKLED_SHARE = 0.001
#: The speck count is first estimated from this many bands of the page,
#: together a quarter of it; a page estimated under half of
#: :data:`SPECKLED_SHARE` (a clean page: a few lone pixels, where a dusty
#: scan has thousands spread all over it) is left alone without the full count.
SAMPLE_BANDS = 4
#: Grey level (0-255) below which a pixel counts as dark (Otsu's threshold of
#: a printed page lies around 150-190).
DARK = 170
#: Lowest resolution (dpi) cleaned: below it the dot of an ``i`` may be one
#: pixel, and a word's letters blur into runs as long as a rule.
MIN_DPI = 150


#: Shortest horizontal rule removed, in inches (longer than the strokes of
#: letters side by side: the bars of "44", the feet of "22").
RULE_INCHES = 0.3
#: Shortest vertical rule removed, in inches (taller than a 24-point letter).
VERTICAL_RULE_INCHES = 0.4
#: Thickest rule removed, in pixels (a darker band is a box, kept).
RULE_MAX_PX = 5


def _thicker(mask: Image.Image, vertical: bool) -> Image.Image:
    """``mask`` grown by one pixel across the runs sought (up and down for
    horizontal runs): a slightly tilted rule steps from row to row."""
    shifts = ((0, 1), (0, -1)) if not vertical else ((1, 0), (-1, 0))
    out = mask
    for dx, dy in shifts:
        out = ImageChops.lighter(out, ImageChops.offset(mask, dx, dy))
    return out


def _grown(mask: Image.Image, pixels: int) -> Image.Image:
    """``mask`` grown by about ``pixels`` every way (blocks of that size with
    any ink, and their neighbours)."""
    cells = (max(1, mask.width // pixels), max(1, mask.height // pixels))
    small = mask.resize(cells, Image.Resampling.BOX).point(lambda v: 255 if v else 0)
    small = small.filter(ImageFilter.MaxFilter(3))
    return small.resize(mask.size, Image.Resampling.NEAREST)


def _runs(dark: Image.Image, length: int, vertical: bool) -> Image.Image | None:
    """A mask of the pixels of ``dark`` (mask, 255 = ink) in a straight run of
    about ``length`` pixels or more, horizontal or ``vertical`` (blocks of
    ``length`` at least 90 % dark, found by shrinking the mask along the run
    and stretching it back, at two phases); ``None`` when there are none.
    The mask is shrunk along one axis only, so a vertical run needs no
    transposed copy of the page."""
    width, height = dark.size
    along = height if vertical else width
    found: Image.Image | None = None
    for offset in (0, length // 2):
        cells = (along - offset) // length
        if cells < 1:
            continue
        span = (offset, offset + cells * length)
        box = (0, span[0], width, span[1]) if vertical else (span[0], 0, span[1], height)
        small = dark.crop(box).resize(
            (width, cells) if vertical else (cells, height), Image.Resampling.BOX
        )
        small = small.point(lambda v: 255 if v >= 230 else 0)
        if small.getbbox() is None:
            continue  # no block dark enough: most pages of text, at no further cost
        full = small.resize((box[2] - box[0], box[3] - box[1]), Image.Resampling.NEAREST)
        if found is None:
            found = Image.new("L", dark.size, 0)
        found.paste(ImageChops.lighter(found.crop(box), full), box[:2])
    return found


def without_rules(image: Image.Image, dpi: int) -> Image.Image | None:
    """``image`` (mode ``L``) with its table rules turned white, or ``None``
    when it has none (or is under :data:`MIN_DPI`: blurred letters side by
    side make runs as long as a rule)."""
    if dpi < MIN_DPI:
        return None
    dark = image.point(lambda p: 255 if p < DARK else 0)
    found = [
        r
        for r in (
            _rules(dark, round(RULE_INCHES * dpi), vertical=False),
            _rules(dark, round(VERTICAL_RULE_INCHES * dpi), vertical=True),
        )
        if r is not None
    ]
    if not found:
        return None
    rules = found[0] if len(found) == 1 else ImageChops.lighter(*found)
    return ImageChops.lighter(image, rules)


def _rules(dark: Image.Image, length: int, vertical: bool) -> Image.Image | None:
    """The rules of ``dark`` (mask) running one way: runs of ``length`` or
    more (slightly tilted ones too), less the bands thicker than
    :data:`RULE_MAX_PX` (filled boxes) and what borders them, with the run's
    ends (which the blocks miss) and grey edges; ``None`` when there are
    none (most pages of text: the steps after the runs, a dozen passes over
    the whole page, are then skipped)."""
    thick = _thicker(dark, vertical)
    runs = _runs(thick, length, vertical)
    if runs is None:
        return None
    band = _runs(runs, RULE_MAX_PX + 1, not vertical)
    if band is not None:
        runs = ImageChops.subtract(runs, _grown(band, 4 * RULE_MAX_PX))
        if runs.getbbox() is None:
            return None
    ends = runs
    for step in (length // 4, length // 2, 3 * length // 4, length):
        for sign in (1, -1):
            shift = (0, sign * step) if vertical else (sign * step, 0)
            ends = ImageChops.lighter(ends, ImageChops.offset(runs, *shift))
    return ImageChops.multiply(ends, _thicker(thick, not vertical))


def lone_dark(image: Image.Image) -> Image.Image:
    """A mask (255) of ``image``'s dark pixels (mode ``L``) with no dark neighbour."""
    dark = image.point(lambda p: 255 if p < DARK else 0)
    # mean of the 3x3 square: 255/9 ~ 28 where the pixel is dark and alone
    alone = dark.filter(ImageFilter.BoxBlur(1)).point(lambda v: 255 if 0 < v <= 30 else 0)
    return ImageChops.multiply(dark, alone)


def _looks_clean(image: Image.Image) -> bool:
    """Whether :data:`SAMPLE_BANDS` bands of ``image`` spread down the page
    hold under half the lone dark pixels of a speckled page's share."""
    rows = image.height // (4 * SAMPLE_BANDS)
    if rows < 3:
        return False
    lone = 0
    for band in range(SAMPLE_BANDS):
        top = (4 * band + 1) * rows  # the 2nd of every 4 slices of the page
        lone += lone_dark(image.crop((0, top, image.width, top + rows))).histogram()[255]
    sampled = SAMPLE_BANDS * rows * image.width
    return lone < SPECKLED_SHARE * sampled / 2


def despeckled(image: Image.Image, dpi: int) -> Image.Image | None:
    """``image`` (mode ``L``) with its lone dark pixels turned white when it is
    speckled, else ``None``."""
    if dpi < MIN_DPI or _looks_clean(image):
        return None
    lone = lone_dark(image)
    if lone.histogram()[255] < SPECKLED_SHARE * image.width * image.height:
        return None
    return ImageChops.lighter(image, lone)
