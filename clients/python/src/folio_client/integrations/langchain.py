"""Folio search as a LangChain retriever (extra ``langchain``)::

    from folio_client import Folio
    from folio_client.integrations.langchain import FolioRetriever

    retriever = FolioRetriever(client=Folio(url, key))
    docs = retriever.invoke("when is the rent due?")

Each result is a ``Document`` holding a chunk's whole text, with the
metadata of :func:`~folio_client.integrations.hit_metadata` and the
chunk's id. With ``async_client`` (an :class:`~folio_client.AsyncFolio`)
``ainvoke`` awaits the API instead of using a thread.
"""

from __future__ import annotations

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from folio_client.async_client import AsyncFolio
from folio_client.integrations import SearchOptions, hit_metadata
from folio_client.models import SearchHit
from folio_client.sync_client import Folio


def _document(hit: SearchHit) -> Document:
    return Document(page_content=hit.text, metadata=hit_metadata(hit), id=hit.chunk_id)


class FolioRetriever(BaseRetriever):
    """Retrieve chunks from Folio's search.

    - ``client``: a :class:`~folio_client.Folio` (for ``invoke``);
    - ``async_client``: an :class:`~folio_client.AsyncFolio` (for
      ``ainvoke``; without it ``ainvoke`` runs ``client`` in a thread);
    - ``options``: :class:`~folio_client.integrations.SearchOptions`
      (``k``, ``mode``, filters).
    """

    model_config = {"arbitrary_types_allowed": True}  # the clients are not pydantic models

    client: Folio | None = None
    async_client: AsyncFolio | None = None
    options: SearchOptions = SearchOptions()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        if self.client is None:
            raise ValueError("FolioRetriever needs client= to search synchronously")
        return [_document(h) for h in self.client.search(query, **self.options.keywords())]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        if self.async_client is None:
            return await super()._aget_relevant_documents(query, run_manager=run_manager)
        hits = await self.async_client.search(query, **self.options.keywords())
        return [_document(h) for h in hits]
