"""Folio search as a LlamaIndex retriever (extra ``llamaindex``)::

    from folio_client import Folio
    from folio_client.integrations.llamaindex import FolioRetriever

    retriever = FolioRetriever(Folio(url, key))
    nodes = retriever.retrieve("when is the rent due?")

Each result is a ``NodeWithScore``: a ``TextNode`` holding a chunk's whole
text (its id the chunk's, its metadata that of
:func:`~folio_client.integrations.hit_metadata`) and the search score.
With ``async_client`` (an :class:`~folio_client.AsyncFolio`),
``aretrieve`` awaits the API instead of blocking.
"""

from __future__ import annotations

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from folio_client.async_client import AsyncFolio
from folio_client.integrations import SearchOptions, hit_metadata
from folio_client.models import SearchHit
from folio_client.sync_client import Folio


def _node(hit: SearchHit) -> NodeWithScore:
    return NodeWithScore(
        node=TextNode(id_=hit.chunk_id, text=hit.text, metadata=hit_metadata(hit)),
        score=hit.score,
    )


class FolioRetriever(BaseRetriever):
    """Retrieve chunks from Folio's search: ``client`` (a
    :class:`~folio_client.Folio`, for ``retrieve``), ``async_client`` (an
    :class:`~folio_client.AsyncFolio`, for ``aretrieve``; without it
    ``aretrieve`` calls ``client``), ``options``
    (:class:`~folio_client.integrations.SearchOptions`)."""

    def __init__(
        self,
        client: Folio | None = None,
        *,
        async_client: AsyncFolio | None = None,
        options: SearchOptions | None = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        if client is None and async_client is None:
            raise ValueError("FolioRetriever needs client= or async_client=")
        self._client = client
        self._async_client = async_client
        self._options = options or SearchOptions()
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if self._client is None:
            raise ValueError("FolioRetriever needs client= to retrieve synchronously")
        hits = self._client.search(query_bundle.query_str, **self._options.keywords())
        return [_node(h) for h in hits]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if self._async_client is None:
            return self._retrieve(query_bundle)
        hits = await self._async_client.search(query_bundle.query_str, **self._options.keywords())
        return [_node(h) for h in hits]
