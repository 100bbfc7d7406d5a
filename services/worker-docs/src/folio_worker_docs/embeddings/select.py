"""The embedding model a deployment chose (``FOLIO_PIPELINE_EMBEDDING_MODEL``),
loaded once per process.

- ``all-MiniLM-L6-v2`` (default): English; sentence-transformers on torch,
  queries on ONNX Runtime (:mod:`folio_worker_docs.embeddings.model`).
- ``multilingual-e5-small`` and ``multilingual-e5-small-enpt``: English,
  Portuguese and more (:mod:`folio_worker_docs.embeddings.e5`).

Every name gives 384-dimensional unit vectors; chunks carry the
``model_version`` that made them.
"""

from __future__ import annotations

import threading

from folio_worker_docs.embeddings.e5 import VARIANTS, load_e5
from folio_worker_docs.embeddings.model import (
    DEFAULT_MODEL_NAME,
    Embedder,
    EmbeddingModelUnavailable,
    get_embedder,
)

#: Every model a deployment can choose.
MODEL_NAMES = (DEFAULT_MODEL_NAME, *VARIANTS)

_LOCK = threading.Lock()
_LOADED: dict[str, Embedder] = {}


def load_embedder(name: str = DEFAULT_MODEL_NAME, *, threads: int | None = None) -> Embedder:
    """The model called ``name`` (one of :data:`MODEL_NAMES`), loaded on the
    first call in this process and reused after. ``threads``: the E5
    engine's threads (default every core; the first load decides)."""
    if name == DEFAULT_MODEL_NAME:
        return get_embedder()
    if name not in VARIANTS:
        raise EmbeddingModelUnavailable(
            f"unknown embedding model {name!r}", model=name, known=list(MODEL_NAMES)
        )
    with _LOCK:
        embedder = _LOADED.get(name)
        if embedder is None:
            embedder = _LOADED[name] = load_e5(name, threads=threads)
    return embedder
