"""Folio scheduler: sends periodic maintenance messages (periodiq)."""
