"""Actors of worker-ocr. Each module declares its actors with explicit dotted names."""

from folio_worker_ocr.actors import ocr

__all__ = ["ocr"]
