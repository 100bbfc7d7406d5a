"""OCR messages: one per page that has no usable text layer."""

from __future__ import annotations

from typing import Annotated

import msgspec

from folio_shared.messages.base import ContentType, Id, Message, StorageKey
from folio_shared.messages.documents import Dpi, Languages, OcrRotation, PageCount
from folio_shared.messages.queues import Priority, Queue

#: A 1-based page number.
PageNo = Annotated[int, msgspec.Meta(ge=1)]


class OcrPageV1(Message, frozen=True, tag="ocr.page.v1"):
    """Render one page and OCR it with Tesseract (actor ``ocr.page``).

    Fanned out by ``docs.process``; the last page done triggers exactly one
    :class:`~folio_shared.messages.documents.FinalizeDocumentV1`.

    - ``job_id``: this page's job id.
    - ``parent_job_id``: the document job that fanned the page out.
    - ``tenant_id``, ``document_id``: the document the page belongs to.
    - ``storage_key``: the stored file to render the page from (the
      original upload, or an image of the page).
    - ``content_type``: MIME type of the object at ``storage_key``.
    - ``page_no``: the page, 1-based.
    - ``page_count``: pages in the document, for progress (default none).
    - ``priority``: the document job's priority (default ``normal``).
    - ``dpi``: rendering resolution, in dpi (default none: ``FOLIO_OCR_DPI``).
    - ``languages``: Tesseract languages, e.g. ``"eng+por"`` (default none:
      ``FOLIO_OCR_LANGUAGES``).
    - ``rotate``: detect the page's orientation and rotate it upright before
      OCR, whatever the confidence (default false).
    - ``rotation``: how the page is turned otherwise,
      :data:`~folio_shared.messages.documents.OcrRotation` (default
      ``"auto"``: detected when the page reads with low confidence; added
      in a minor change).
    """

    actor_name = "ocr.page"
    queue = Queue.OCR
    redrive_options = frozenset({"priority", "dpi", "languages", "rotate", "rotation"})

    job_id: Id
    parent_job_id: Id
    tenant_id: Id
    document_id: Id
    storage_key: StorageKey
    content_type: ContentType
    page_no: PageNo
    page_count: PageCount | None = None
    priority: Priority = Priority.NORMAL
    dpi: Dpi | None = None
    languages: Languages | None = None
    rotate: bool = False
    rotation: OcrRotation = "auto"
