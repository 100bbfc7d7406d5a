"""Document messages: process an upload, finalise it.

The life of a document: the API sends :class:`ProcessDocumentV1`; the
``docs.process`` actor extracts text page by page and fans out one
:class:`~folio_shared.messages.ocr.OcrPageV1` per page that needs OCR; when
the last page is done, exactly one :class:`FinalizeDocumentV1` chunks, embeds
and stores the document.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from folio_shared.messages.base import ContentType, Id, Message, StorageKey
from folio_shared.messages.queues import Priority, Queue

#: Tesseract language list, ``+``-separated (``"eng+por"``).
Languages = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]

#: Rendering resolution in dots per inch.
Dpi = Annotated[int, msgspec.Meta(ge=50, le=1200)]

#: How OCR turns a page: ``"auto"`` (a page read with low confidence has its
#: orientation detected and is read again upright), or 0, 90, 180, 270
#: (turned that many degrees counter-clockwise, no detection).
OcrRotation = Literal["auto", 0, 90, 180, 270]

#: A page count (0 for a document with no pages).
PageCount = Annotated[int, msgspec.Meta(ge=0)]

#: A field name a client expects a value for (``payee_tax_id``).
FieldName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]

#: Expected field values, by field name (at most 32, each at most 256 characters).
ExpectedValues = Annotated[
    dict[FieldName, Annotated[str, msgspec.Meta(max_length=256)]], msgspec.Meta(max_length=32)
]


class ProcessDocumentV1(Message, frozen=True, tag="docs.process.v1"):
    """Extract a stored upload's text, page by page (actor ``docs.process``).

    Sent by the API once the document and job rows are committed. The API
    may route it to ``Queue.DOCUMENTS_LARGE`` instead of the default
    ``Queue.DOCUMENTS`` for large files.

    - ``job_id``: the document job's id (its row holds state and attempts).
    - ``tenant_id``: owner of the document; every query is scoped to it.
    - ``document_id``: the document row.
    - ``storage_key``: where the uploaded file is in object storage.
    - ``content_type``: the MIME type detected from the file's magic bytes
      (never from its extension).
    - ``priority``: the job's priority, kept by the work it fans out
      (default ``normal``).
    - ``force_ocr``: OCR every page, even those with a text layer
      (default false).
    - ``ocr_languages``: Tesseract languages for this document, e.g.
      ``"eng+por"`` (default none: ``FOLIO_OCR_LANGUAGES``).
    - ``ocr_dpi``: rendering resolution for OCR, in dpi (default none:
      ``FOLIO_OCR_DPI``).
    - ``embedding_model``: model to embed the chunks with (default none:
      the configured model).
    - ``expected``: field values the client expects, by field name (e.g.
      ``{"payee_tax_id": "11222333000181", "amount": "150.00"}``); the
      document's fields then say ``match``/``mismatch``/``missing`` for each
      (default none: no check; added in a minor change).
    - ``ocr_rotate``: how OCR turns the pages, :data:`OcrRotation`
      (default ``"auto"``; added in a minor change).
    """

    actor_name = "docs.process"
    queue = Queue.DOCUMENTS
    redrive_options = frozenset(
        {"priority", "force_ocr", "ocr_languages", "ocr_dpi", "embedding_model", "ocr_rotate"}
    )

    job_id: Id
    tenant_id: Id
    document_id: Id
    storage_key: StorageKey
    content_type: ContentType
    priority: Priority = Priority.NORMAL
    force_ocr: bool = False
    ocr_languages: Languages | None = None
    ocr_dpi: Dpi | None = None
    embedding_model: str | None = None
    expected: ExpectedValues | None = None
    ocr_rotate: OcrRotation = "auto"


class FinalizeDocumentV1(Message, frozen=True, tag="docs.finalize.v1"):
    """Chunk, embed and store a document whose pages are all done, then
    mark it ``ready`` (actor ``docs.finalize``).

    Sent exactly once per document job, by whichever actor finished the last
    page; redelivery must leave the same final state.

    - ``job_id``: the document job's id (the one of :class:`ProcessDocumentV1`).
    - ``tenant_id``, ``document_id``: as in :class:`ProcessDocumentV1`.
    - ``page_count``: pages the document has, to check that all are stored
      (default none: read from the database).
    - ``priority``: the job's priority (default ``normal``).
    - ``embedding_model``: model to embed the chunks with (default none:
      the configured model).
    """

    actor_name = "docs.finalize"
    queue = Queue.DOCUMENTS
    redrive_options = frozenset({"priority", "embedding_model"})

    job_id: Id
    tenant_id: Id
    document_id: Id
    page_count: PageCount | None = None
    priority: Priority = Priority.NORMAL
    embedding_model: str | None = None
