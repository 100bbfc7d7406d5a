"""Actors of worker-docs. Each module declares its actors with explicit dotted names."""

from folio_worker_docs.actors import documents, maintenance, queries, webhooks

__all__ = ["documents", "maintenance", "queries", "webhooks"]
