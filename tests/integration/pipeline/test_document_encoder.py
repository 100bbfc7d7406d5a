"""Document chunks embedded in bfloat16, or by ONNX Runtime in batches of
similar token length, give sentence-transformers' float32 vectors (the real
all-MiniLM-L6-v2, exported for real), in the order given; a model or CPU
that cannot keeps its chunks in float32 on torch; without bfloat16
instructions the default embeds them by ONNX Runtime."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from folio_worker_docs.embeddings import bf16
from folio_worker_docs.embeddings.model import Embedder
from folio_worker_docs.embeddings.onnx import MIN_COSINE
from tests.integration.pipeline.relevance_corpus import QUERIES

pytestmark = pytest.mark.integration


def _fresh(embedder: Embedder, model: SentenceTransformer | None = None) -> Embedder:
    """The same loaded model in a new Embedder (no ONNX encoder yet)."""
    return dataclasses.replace(
        embedder,
        model=model or embedder.model,
        query_encoder=None,
        document_encoder=None,
        bf16_model=None,
    )


def _mixed_texts() -> list[str]:
    """Texts of very mixed lengths (a word to more than the model reads),
    shuffled so batches of similar length mix their positions."""
    texts = [q for q, _ in QUERIES] + [
        " ".join(q for q, _ in QUERIES[i : i + n]) for i, n in ((0, 5), (3, 12), (7, 40))
    ]
    return [texts[i] for i in np.random.default_rng(3).permutation(len(texts))]


def _same_vectors(got: np.ndarray, exact: np.ndarray, *, min_cosine: float, atol: float) -> None:
    """Each row of ``got`` is a unit ``float32`` vector in the direction of ``exact``'s."""
    assert got.dtype == np.float32
    assert got.shape == exact.shape
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=atol)
    assert np.sum(got * exact, axis=1).min() >= min_cosine >= 0.999


@pytest.mark.skipif(not bf16.cpu_has_bf16(), reason="the CPU has no bfloat16 instructions")
def test_bf16_chunks_agree_with_float32(embedder: Embedder) -> None:
    # Given the model with chunks switched to bfloat16, three texts per batch
    fresh = _fresh(embedder)
    fresh.batch_size = 3
    assert fresh.use_bf16_for_documents()
    assert fresh.use_bf16_for_documents()  # idempotent

    # When texts of mixed lengths are embedded
    texts = _mixed_texts()
    fast = fresh.encode(texts)
    exact = embedder.encode_torch(texts)

    # Then each row is the float32 vector of the same text, not bit for bit
    assert exact.shape == (len(texts), 384)
    _same_vectors(fast, exact, min_cosine=bf16.MIN_COSINE, atol=1e-3)
    assert np.abs(fast - exact).max() > 1e-6  # bfloat16 did run
    assert not embedder.bf16  # the shared model is untouched


def test_bf16_needs_the_cpu_instructions(tmp_path: Path, embedder: Embedder) -> None:
    with_amx = tmp_path / "amx"
    with_amx.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 amx_bf16 amx_tile\n")
    plain = tmp_path / "plain"
    plain.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n")
    assert bf16.cpu_has_bf16(with_amx)
    assert not bf16.cpu_has_bf16(plain)
    assert not bf16.cpu_has_bf16(tmp_path / "missing")
    assert not bf16.bf16_agrees(embedder.encode_torch, embedder.encode_torch, device="cuda")
    assert not bf16.bf16_agrees(embedder.encode_torch, None)


def test_onnx_batches_give_the_models_vectors_in_order(embedder: Embedder, tmp_path: Path) -> None:
    # Given the model with chunks switched to ONNX Runtime, three texts per batch
    fresh = _fresh(embedder)
    fresh.batch_size = 3
    assert fresh.use_onnx_for_documents(cache_dir=tmp_path, threads=2)
    assert fresh.document_encoder is not None

    # When texts of mixed lengths are embedded
    texts = _mixed_texts()
    onnx = fresh.encode(texts)
    torch = embedder.encode_torch(texts)

    # Then each row is sentence-transformers' vector of the same text
    assert torch.shape == (len(texts), 384)
    _same_vectors(onnx, torch, min_cosine=MIN_COSINE, atol=1e-5)
    assert fresh.encode([]).shape == (0, 384)


def test_chunks_go_to_onnx_on_a_cpu_without_bf16(embedder: Embedder, tmp_path: Path) -> None:
    # Given a CPU that reports no bfloat16 instructions
    plain = tmp_path / "cpuinfo"
    plain.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n")
    fresh = _fresh(embedder)

    # When chunks are switched to the fastest exact runtime
    runtime = fresh.use_fast_documents(cache_dir=tmp_path, threads=2, cpuinfo=plain)

    # Then ONNX Runtime embeds them, with the model's float32 vectors
    assert runtime == "onnx"
    assert not fresh.bf16
    assert fresh.document_encoder is not None
    texts = _mixed_texts()
    exact = embedder.encode_torch(texts)
    _same_vectors(fresh.encode(texts), exact, min_cosine=MIN_COSINE, atol=1e-5)
    assert fresh.use_fast_documents(cache_dir=tmp_path, threads=2, cpuinfo=plain) == "onnx"
