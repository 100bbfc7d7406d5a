"""Chunks and queries by an int8 copy of the ONNX export (the real
all-MiniLM-L6-v2, exported and quantised for real): made once from the
model's own weights, close to sentence-transformers' float32 vectors, the
same graph on both sides of a search, and the same top document for every
query of a small corpus."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.onnx import INT8_MIN_COSINE
from tests.integration.pipeline.relevance_corpus import DOCUMENTS, QUERIES

pytestmark = pytest.mark.integration


def _fresh(embedder: Embedder) -> Embedder:
    """The same loaded model in a new Embedder (no ONNX encoder yet)."""
    return dataclasses.replace(
        embedder, query_encoder=None, document_encoder=None, bf16_model=None, _onnx_tried=False
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def int8(embedder: Embedder, cache: Path) -> Embedder:
    """The model switched to its int8 copy, made in an empty cache (the
    export and the copy are made once for the module)."""
    fresh = _fresh(embedder)
    assert fresh.use_int8(cache_dir=cache, threads=2)
    return fresh


def test_int8_copy_embeds_chunks_and_queries_alike(
    embedder: Embedder, int8: Embedder, cache: Path
) -> None:
    # Given the model switched to its int8 copy
    fresh = int8
    copies = list(cache.glob("*.int8.onnx"))
    assert len(copies) == 1
    export = copies[0].with_name(copies[0].name.replace(".int8.onnx", ".onnx"))
    assert copies[0].stat().st_size < 0.8 * export.stat().st_size
    made = copies[0].stat().st_mtime_ns

    # When chunks and a query are embedded
    texts = list(DOCUMENTS.values())
    vectors = fresh.encode(texts)
    exact = embedder.encode_torch(texts)
    query = np.asarray(fresh.encode_query(QUERIES[0][0]), dtype=np.float32)

    # Then each chunk is close to the float32 vector, but int8 did run
    assert vectors.dtype == np.float32
    assert vectors.shape == exact.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.sum(vectors * exact, axis=1).min() >= INT8_MIN_COSINE
    assert np.abs(vectors - exact).max() > 1e-4
    # and the query comes from the same int8 graph as the chunks
    np.testing.assert_allclose(query, fresh.encode([QUERIES[0][0]])[0], atol=1e-5)
    assert fresh.query_encoder is fresh.document_encoder

    # and a second process reuses the copy instead of making it again
    again = _fresh(embedder)
    assert again.use_int8(cache_dir=cache, threads=1)
    assert copies[0].stat().st_mtime_ns == made


def test_int8_ranks_the_corpus_as_float32_does(embedder: Embedder, int8: Embedder) -> None:
    fresh = int8
    names = list(DOCUMENTS)
    texts = [q for q, _ in QUERIES]

    def top(chunks: np.ndarray, queries: np.ndarray) -> list[str]:
        return [names[int(i)] for i in np.argmax(queries @ chunks.T, axis=1)]

    exact = top(embedder.encode_torch(list(DOCUMENTS.values())), embedder.encode_torch(texts))
    int8 = top(
        fresh.encode(list(DOCUMENTS.values())),
        np.asarray([fresh.encode_query(t) for t in texts], dtype=np.float32),
    )
    assert int8 == exact
    assert sum(a == b for a, b in zip(exact, [d for _, d in QUERIES], strict=True)) >= 0.8 * len(
        QUERIES
    )
