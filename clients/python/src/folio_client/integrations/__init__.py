"""Folio search inside RAG frameworks, as optional extras:

- ``folio_client.integrations.langchain``: :class:`FolioRetriever`, a
  LangChain retriever (extra ``langchain``: ``langchain-core``);
- ``folio_client.integrations.llamaindex``: :class:`FolioRetriever`, a
  LlamaIndex retriever (extra ``llamaindex``: ``llama-index-core``).

Both search with the client (its retries included), one chunk per result,
and carry what :func:`hit_metadata` names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from folio_client.models import SearchHit


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """What a retriever asks ``GET /v1/search`` for: ``k`` chunks (default
    4), in ``mode`` (``hybrid`` by default, ``semantic`` or ``keyword``),
    within ``document_ids``, file ``kind``, ``document_type`` and the
    documents' ``metadata`` labels."""

    k: int = 4
    mode: str | None = None
    document_ids: list[str] | None = None
    kind: list[str] | None = None
    document_type: list[str] | None = None
    metadata: dict[str, str] | None = None

    def keywords(self) -> dict[str, Any]:
        """The client's ``search`` keywords (chunks, not documents)."""
        return {
            "k": self.k,
            "mode": self.mode,
            "group": "chunk",
            "document_ids": self.document_ids,
            "kind": self.kind,
            "document_type": self.document_type,
            "metadata": self.metadata,
        }


def hit_metadata(hit: SearchHit) -> dict[str, Any]:
    """A hit's metadata for a framework's document or node: ``document_id``,
    ``chunk_id``, ``filename``, ``page_start``/``page_end``, ``score``,
    ``snippet`` (HTML, matches in ``<mark>``) and the document's own
    ``labels``."""
    return {
        "document_id": hit.document_id,
        "chunk_id": hit.chunk_id,
        "filename": hit.filename,
        "page_start": hit.page_start,
        "page_end": hit.page_end,
        "score": hit.score,
        "snippet": hit.snippet,
        "labels": dict(hit.metadata),
    }
