"""Structured fields of payment documents: ``GET /v1/documents/{id}/fields``."""
