"""Search queries embedded by ONNX Runtime give the model's own vectors
(the real all-MiniLM-L6-v2, exported for real), and anything that cannot
leaves queries on torch."""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

import numpy as np
import pytest
from onnx import load as load_graph
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Pooling

from folio_worker_docs.embeddings.bf16 import bf16_copy
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.onnx import (
    EXPORT_SUFFIX,
    MIN_COSINE,
    load_onnx_query_encoder,
)
from tests.integration.pipeline.pipeline_helpers import unswitched
from tests.integration.pipeline.relevance_corpus import QUERIES

pytestmark = pytest.mark.integration


def _fresh(embedder: Embedder, model: SentenceTransformer | None = None) -> Embedder:
    """The same loaded model in a new Embedder (no query encoder yet)."""
    return dataclasses.replace(
        embedder, model=model or embedder.model, query_encoder=None, document_encoder=None
    )


def test_onnx_queries_give_the_models_vectors(embedder: Embedder, tmp_path: Path) -> None:
    # Given the model, with queries switched to ONNX Runtime
    fresh = _fresh(embedder)
    assert fresh.use_onnx_for_queries(cache_dir=tmp_path, threads=2)
    exported = list(tmp_path.glob("*.onnx"))
    assert [p.name for p in exported] == [embedder.model_version.replace("@", "-") + EXPORT_SUFFIX]

    # When the relevance queries (and a query longer than the model reads)
    # are embedded one by one
    texts = [q for q, _ in QUERIES] + ["lorem ipsum dolor " * 200]
    onnx = np.asarray([fresh.encode_query(t) for t in texts])
    torch = embedder.encode(texts)

    # Then each is sentence-transformers' vector: unit length, same direction
    assert onnx.shape == torch.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(onnx * torch, axis=1)
    assert cosines.min() >= MIN_COSINE


def test_the_export_is_reused_and_threads_share_one_encoder(
    embedder: Embedder, tmp_path: Path
) -> None:
    first = load_onnx_query_encoder(embedder, cache_dir=tmp_path)
    assert first is not None
    (path,) = tmp_path.glob("*.onnx")
    written = path.stat().st_mtime_ns
    second = load_onnx_query_encoder(embedder, cache_dir=tmp_path)
    assert second is not None
    assert path.stat().st_mtime_ns == written  # read, not exported again
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left

    expected = {q: second(q) for q, _ in QUERIES[:8]}
    results: list[bool] = []

    def run() -> None:
        for _ in range(5):
            results.extend(first(q) == v for q, v in expected.items())

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 * 5 * 8
    assert all(results)


def test_a_damaged_cached_export_is_made_again(embedder: Embedder, tmp_path: Path) -> None:
    name = embedder.model_version.replace("@", "-") + EXPORT_SUFFIX
    (tmp_path / name).write_bytes(b"not an onnx graph")
    encoder = load_onnx_query_encoder(embedder, cache_dir=tmp_path)
    assert encoder is not None
    assert (tmp_path / name).stat().st_size > 10_000_000
    vector = np.asarray(encoder("coral reefs losing colour"))
    assert float(vector @ embedder.encode(["coral reefs losing colour"])[0]) >= MIN_COSINE


def test_the_export_is_written_from_eager_attention_under_a_name_of_its_own(
    embedder: Embedder, tmp_path: Path
) -> None:
    # Given a cache holding the earlier export (torch's scaled-dot-product
    # attention, under the model version's bare name)
    earlier = tmp_path / (embedder.model_version.replace("@", "-") + ".onnx")
    earlier.write_bytes(b"an earlier export")

    # When queries switch to ONNX Runtime
    encoder = load_onnx_query_encoder(embedder, cache_dir=tmp_path)

    # Then the earlier file is not read: the export is made beside it, from
    # the eager attention (no NaN guard over each softmax, one mask for all
    # layers), and it gives the model's vectors
    assert encoder is not None
    assert earlier.read_bytes() == b"an earlier export"
    graph = load_graph(encoder.path).graph
    ops = [node.op_type for node in graph.node]
    assert "IsNaN" not in ops
    assert ops.count("Where") <= 2
    vector = np.asarray(encoder("coral reefs losing colour"))
    assert float(vector @ embedder.encode_torch(["coral reefs losing colour"])[0]) >= MIN_COSINE


def test_a_model_that_is_not_mean_pooled_stays_on_torch(
    embedder: Embedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the same transformer pooled on its [CLS] token
    cls_model = SentenceTransformer(
        modules=[embedder.model[0], Pooling(384, pooling_mode="cls")], device="cpu"
    )
    fresh = _fresh(embedder, cls_model)
    with caplog.at_level(logging.WARNING, logger="folio_worker_docs.embeddings.onnx"):
        assert not fresh.use_onnx_for_queries(cache_dir=tmp_path)
    assert "not mean-pooled" in caplog.text
    assert not fresh.use_onnx_for_documents(cache_dir=tmp_path)  # nor chunks
    assert not list(tmp_path.glob("*.onnx"))
    # queries still get that model's own (CLS) vectors
    vector = np.asarray(fresh.encode_query("a query"))
    expected = cls_model.encode(["a query"], normalize_embeddings=True)[0]
    np.testing.assert_allclose(vector, expected, atol=1e-6)


def test_the_export_is_checked_against_float32_whatever_embeds_chunks(
    embedder: Embedder, tmp_path: Path
) -> None:
    # Given the model with its chunks already on the bfloat16 copy
    model = unswitched(embedder)
    model.bf16_model = bf16_copy(model.model)
    assert model.documents_runtime == "bf16"

    # When its queries switch to ONNX Runtime
    encoder = load_onnx_query_encoder(model, cache_dir=tmp_path)

    # Then the float32 export is checked against float32 sentence-transformers
    # (the bfloat16 copy's vectors are further from it than the bar)
    assert encoder is not None
