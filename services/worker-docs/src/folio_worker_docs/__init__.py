"""Folio document worker."""
