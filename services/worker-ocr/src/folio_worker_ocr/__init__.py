"""Folio OCR worker."""
