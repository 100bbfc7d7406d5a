"""Render one PDF page to a greyscale image at a given resolution (pypdfium2).

The bitmap's size is computed from the page box and the resolution before
anything is rendered, and refused past ``max_pixels``: a page that claims to
be 200 inches wide is an :class:`ImageTooLarge`, not a 10 GB allocation.
The page's own ``/Rotate`` is honoured by PDFium.
"""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from folio_worker_ocr.ocr.errors import ImageTooLarge, PageOutOfRange, UnreadableImage

#: PDF user space is 72 units per inch.
_PDF_UNITS_PER_INCH = 72.0


def render_pdf_page(
    source: Path | bytes, page_no: int, *, dpi: int, max_pixels: int, password: str | None = None
) -> Image.Image:
    """Render page ``page_no`` (1-based) of a PDF at ``dpi`` to a mode ``L`` image.

    ``source`` is a file path or the file's bytes. Raises
    :class:`UnreadableImage` (not a PDF, damaged, encrypted),
    :class:`PageOutOfRange` or :class:`ImageTooLarge`.
    """
    try:
        document = pdfium.PdfDocument(
            str(source) if isinstance(source, Path) else source, password=password
        )
    except pdfium.PdfiumError as e:
        raise UnreadableImage(f"the PDF cannot be opened: {e}", reason=str(e)) from e
    try:
        page_count = len(document)
        if not 1 <= page_no <= page_count:
            raise PageOutOfRange(
                f"page {page_no} does not exist (the PDF has {page_count})",
                page_no=page_no,
                page_count=page_count,
            )
        try:
            page = document[page_no - 1]
        except pdfium.PdfiumError as e:
            raise UnreadableImage(f"page {page_no} cannot be loaded: {e}", reason=str(e)) from e
        try:
            scale = dpi / _PDF_UNITS_PER_INCH
            width_pt, height_pt = page.get_size()  # already swapped for /Rotate 90 and 270
            width, height = round(width_pt * scale), round(height_pt * scale)
            if width <= 0 or height <= 0:
                raise UnreadableImage(f"page {page_no} has an empty page box", reason="empty")
            if width * height > max_pixels:
                raise ImageTooLarge(
                    f"page {page_no} at {dpi} dpi would be {width} x {height} pixels, "
                    f"more than {max_pixels}",
                    width=width,
                    height=height,
                    pixels=width * height,
                    max_pixels=max_pixels,
                )
            try:
                bitmap = page.render(scale=scale, grayscale=True, may_draw_forms=False)
                image: Image.Image = bitmap.to_pil()
            except pdfium.PdfiumError as e:
                raise UnreadableImage(
                    f"page {page_no} cannot be rendered: {e}", reason=str(e)
                ) from e
            return image.convert("L")  # a copy: the bitmap's buffer is freed with it
        finally:
            page.close()
    finally:
        document.close()
