"""Actors of worker-docs. Each module declares its actors with explicit dotted names."""

from folio_worker_docs.actors import maintenance

__all__ = ["maintenance"]
