"""Limits a document must keep before it fans out.

A small file can hold many pages (a PDF of 20,000 blank pages is a few
hundred kilobytes; plain text has one page per form feed), and every page
that needs OCR becomes a job. :func:`check_page_count` refuses a document
past its tenant's maximum before any page is stored or OCRed: the job fails
with :class:`TooManyPages`, a readable reason, and is not retried.
"""

from __future__ import annotations

from folio_shared.errors import InvalidInput
from folio_shared.settings import PipelineSettings


class TooManyPages(InvalidInput):
    """A document has more pages than its tenant may send."""

    code = "too_many_pages"


def max_document_pages(settings: PipelineSettings, tenant_id: str) -> int:
    """The most pages a document of ``tenant_id`` may have: the tenant's own
    maximum (``FOLIO_PIPELINE_TENANT_MAX_DOCUMENT_PAGES``) or the default
    (``FOLIO_PIPELINE_MAX_DOCUMENT_PAGES``)."""
    return settings.tenant_max_document_pages.get(tenant_id, settings.max_document_pages)


def check_page_count(settings: PipelineSettings, tenant_id: str, page_count: int) -> None:
    """Raise :class:`TooManyPages` when ``page_count`` is past the tenant's maximum."""
    limit = max_document_pages(settings, tenant_id)
    if page_count > limit:
        raise TooManyPages(
            f"the document has {page_count} pages; at most {limit} pages per document are accepted",
            page_count=page_count,
            max_pages=limit,
        )
