"""Turning documents into searchable text: extraction per type
(:mod:`.extract`), the OCR decision per page (:mod:`.ocr_decision`) and
token-aware chunking (:mod:`.chunking`)."""

#: Version of the reading of a text layer (PDF text and its running lines,
#: Markdown rendering, HTML, DOCX, plain-text decoding), stored with every
#: text-layer page (``pages.text_version``). Bump it with any change that can
#: change a text-layer page's text: a reprocessed document's text-layer pages
#: of another version (or of none: read before versions were recorded) are
#: read again, its OCR pages are kept (they follow
#: :data:`folio_shared.pages.OCR_VERSION`).
TEXT_VERSION = "2"
