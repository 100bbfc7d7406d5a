"""The images an identifier's region is read from again: the region of the
page upscaled to a few text heights and binarised (Otsu), and, for
end-to-end ids, also as it is (contrast stretched)."""

from __future__ import annotations

from collections.abc import Iterator

from PIL import Image, ImageFilter, ImageOps

#: Text heights (pixels) the region is upscaled to and binarised at, one reading each.
TARGET_HEIGHTS = (24, 32, 40)


def otsu(image: Image.Image) -> int:
    """The grey level that best splits ``image`` into ink and paper (Otsu's method)."""
    histogram = image.histogram()[:256]
    total = sum(histogram)
    grand = sum(i * n for i, n in enumerate(histogram))
    best, best_level, below, below_sum = -1.0, 128, 0, 0
    for level in range(256):
        below += histogram[level]
        below_sum += level * histogram[level]
        above = total - below
        if below == 0 or above == 0:
            continue
        spread = below * above * (below_sum / below - (grand - below_sum) / above) ** 2
        if spread > best:
            best, best_level = spread, level
    return best_level


def variants(
    image: Image.Image,
    box: tuple[int, int, int, int],
    grey: Image.Image | None = None,
    median: bool = False,
) -> Iterator[Image.Image]:
    """The region of ``image`` at each of :data:`TARGET_HEIGHTS` (once per
    size: a region already taller is read once, not once per height), binarised
    (Otsu); with ``grey``, also that image's region as it is (contrast
    stretched): the readings differ where a glyph is in doubt, and the vote
    settles it. With ``median``, the region goes through a 3x3 median filter
    first (specks off digits, whose strokes are thick enough to keep)."""
    left, top, right, bottom = box
    height = max(bottom - top, 1)
    pad = max(2, height // 2)
    area = (max(0, left - pad), max(0, top - pad), min(image.width, right + pad), bottom + pad)
    crop = image.crop(area)
    crop = ImageOps.autocontrast(
        crop.filter(ImageFilter.MedianFilter(3)) if median else crop, cutoff=1
    )
    grey_crop = None if grey is None else ImageOps.autocontrast(grey.crop(area), cutoff=1)
    sizes = []
    for target in TARGET_HEIGHTS:
        scale = max(1.0, target / height)
        size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
        if size in sizes:  # a tall region is not upscaled: one reading of it is enough
            continue
        sizes.append(size)
        big = crop.resize(size, Image.Resampling.LANCZOS)
        level = otsu(big)
        yield big.point(lambda p, level=level: 0 if p <= level else 255)
        if grey_crop is not None:
            yield grey_crop.resize(size, Image.Resampling.LANCZOS)
