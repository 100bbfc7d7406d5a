"""Chunks by an int8 copy of the ONNX export (the real all-MiniLM-L6-v2,
exported and quantised for real): made once from the model's own weights,
close to sentence-transformers' float32 vectors, queries and vocabulary
words left on the float32 export, and the same top document for every
query of a small corpus."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.onnx import INT8_MIN_COSINE, INT8_SUFFIX, MIN_COSINE
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


def test_int8_copy_embeds_chunks(embedder: Embedder, int8: Embedder, cache: Path) -> None:
    # Given the model switched to its int8 copy
    fresh = int8
    copies = list(cache.glob("*" + INT8_SUFFIX))
    assert len(copies) == 1
    export = copies[0].with_name(copies[0].name.replace(".int8.onnx", ".onnx"))
    assert export.is_file()
    assert copies[0].stat().st_size < 0.8 * export.stat().st_size
    made = copies[0].stat().st_mtime_ns

    # When chunks and a query are embedded
    texts = list(DOCUMENTS.values())
    vectors = fresh.encode(texts)
    exact = embedder.encode_torch(texts)

    # Then each chunk is close to the float32 vector, but int8 did run
    assert vectors.dtype == np.float32
    assert vectors.shape == exact.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.sum(vectors * exact, axis=1).min() >= INT8_MIN_COSINE
    assert np.abs(vectors - exact).max() > 1e-4

    # and a second process reuses the copy instead of making it again
    again = _fresh(embedder)
    assert again.use_int8(cache_dir=cache, threads=1)
    assert copies[0].stat().st_mtime_ns == made


def test_queries_and_vocabulary_words_stay_float32(embedder: Embedder, int8: Embedder) -> None:
    # Given the model switched to its int8 copy, and words of a tenant's
    # vocabulary as worker-docs embeds them (Embedder.encode_queries)
    words = ["invoice", "passport", "warehouse", "tariff", "glacier", "vaccination"]
    query = QUERIES[0][0]

    # When words and a query are embedded, and the same texts as chunks
    exact = embedder.encode_torch([*words, query])
    got = np.asarray([*int8.encode_queries(words), int8.encode_query(query)], dtype=np.float32)
    as_chunks = int8.encode([*words, query])

    # Then words and the query are float32's vectors: a keyword search's
    # added words, the vocabulary's nearest to the query, are chosen as
    # float32 chooses them, while the same texts as chunks are the copy's
    assert np.sum(got * exact, axis=1).min() >= MIN_COSINE
    assert np.abs(as_chunks - exact).max() > 1e-4
    assert int8.query_encoder is not int8.document_encoder


def test_concurrent_calls_run_on_the_session_threads_divided_among_them(
    embedder: Embedder, int8: Embedder
) -> None:
    # Given the int8 copy, its session on two threads
    assert int8.document_threads == 2
    texts = list(DOCUMENTS.values())
    alone = int8.encode(texts)

    # When the batcher asks for two functions that run at once
    functions = int8.batch_functions(2)

    # Then each call's forward passes run on one thread (two calls on two
    # cores, with no shared pool between them), with the same vectors
    assert int8.document_threads == 1
    for encode in functions:
        np.testing.assert_allclose(encode(texts), alone, atol=1e-5)
    # the copy's own session keeps its two threads for the next single call
    assert int8.document_encoder is not None
    assert int8.document_encoder.threads == 2
    # one call at a time gets them back
    int8.batch_functions(1)
    assert int8.document_threads == 2


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
