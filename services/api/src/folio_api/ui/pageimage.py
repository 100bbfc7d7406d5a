"""A document page as a PNG, for the document page (image beside its text).

PDF pages are rendered with PDFium, image files (PNG, JPEG, TIFF frames,
WebP) scaled with Pillow; other types have no page image (404). The file is
untrusted: rendering runs in a child process with memory, CPU and wall-time
limits (:class:`~folio_shared.isolation.IsolatedPool`), one at a time per
API process, so a bomb costs a child and never the API. The pool starts on
first use and ends with the app.
"""

from __future__ import annotations

import io
import threading
import uuid

import anyio

from folio_api.domain.documents import services
from folio_api.resources import Resources
from folio_shared.db.enums import DocumentKind
from folio_shared.errors import IsolationError, PageNotFound
from folio_shared.isolation import IsolatedPool

#: Width of a rendered page, in pixels.
WIDTH_PX = 900
#: Limits of the rendering child.
MEMORY_LIMIT_BYTES = 768 * 1024**2
TIME_LIMIT_S = 20.0
#: Types that have page images.
IMAGE_KINDS = {DocumentKind.PNG, DocumentKind.JPEG, DocumentKind.TIFF, DocumentKind.WEBP}
PAGED_KINDS = {DocumentKind.PDF, *IMAGE_KINDS}


def render_png(data: bytes, pdf: bool, page_no: int, width_px: int) -> bytes | None:
    """Page ``page_no`` (1-based) of ``data`` as PNG bytes, ``width_px``
    wide; ``None`` when there is no such page. Runs in the child."""
    from PIL import Image

    if pdf:
        import pypdfium2

        document = pypdfium2.PdfDocument(data)
        try:
            if not 1 <= page_no <= len(document):
                return None
            page = document[page_no - 1]
            scale = width_px / max(1.0, page.get_width())
            image = page.render(scale=min(scale, 4.0)).to_pil()
        finally:
            document.close()
    else:
        image = Image.open(io.BytesIO(data))
        try:
            image.seek(page_no - 1)
        except EOFError:
            return None
        image = image.convert("RGB")
        image.thumbnail((width_px, width_px * 4))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


class PageImages:
    """The rendering child, started on first use (:meth:`close` ends it)."""

    def __init__(self) -> None:
        self._pool: IsolatedPool | None = None
        self._lock = threading.Lock()

    def _get_pool(self) -> IsolatedPool:
        with self._lock:
            if self._pool is None:
                self._pool = IsolatedPool(
                    1,
                    memory_limit_bytes=MEMORY_LIMIT_BYTES,
                    cpu_time_limit_s=TIME_LIMIT_S,
                    wall_time_limit_s=TIME_LIMIT_S,
                )
            return self._pool

    async def render(
        self, resources: Resources, tenant_id: uuid.UUID, document_id: uuid.UUID, page_no: int
    ) -> bytes:
        """The tenant's document's page as PNG (404: other tenant, no such
        page, or a type without pages; 422 when the file cannot be rendered)."""
        document = await services.document_row(resources, tenant_id, document_id)
        if document.kind not in PAGED_KINDS:
            raise PageNotFound(
                f"document {document_id} ({document.kind}) has no page images", page=page_no
            )
        data = await resources.storage.get_bytes(document.storage_key)
        pool = self._get_pool()
        pdf = document.kind == DocumentKind.PDF
        try:
            png = await anyio.to_thread.run_sync(
                lambda: pool.run(render_png, data, pdf, page_no, WIDTH_PX)
            )
        except (IsolationError, Exception) as e:  # a bad file: the child's error, whatever it is
            raise PageNotFound(f"page {page_no} could not be rendered: {e}", page=page_no) from e
        if png is None:
            raise PageNotFound(f"document {document_id} has no page {page_no}", page=page_no)
        return png

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


#: The API process's page renderer (closed by the app at shutdown).
PAGE_IMAGES = PageImages()
