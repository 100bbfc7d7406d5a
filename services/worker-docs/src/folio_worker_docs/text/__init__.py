"""Turning documents into searchable text: extraction per type
(:mod:`.extract`), the OCR decision per page (:mod:`.ocr_decision`) and
token-aware chunking (:mod:`.chunking`)."""
