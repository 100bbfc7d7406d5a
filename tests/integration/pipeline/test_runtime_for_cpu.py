"""``FOLIO_PIPELINE_DOCUMENT_RUNTIME=auto`` with the real all-MiniLM-L6-v2
(exported, and quantised where int8 is chosen, for real): on this machine's
CPU the copy its flags call for passes its check against float32 and embeds
the chunks; a CPU with VNNI or AVX2 and no bfloat16 gets the int8 copy for
chunks, its queries staying on the float32 export; one with neither gets
float32 ONNX Runtime; an int8 copy that fails its check leaves the float32
path in place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from folio_worker_docs.embeddings import bf16, onnx
from folio_worker_docs.embeddings.cpu import cpu_flags, runtime_for
from folio_worker_docs.embeddings.model import Embedder
from tests.integration.pipeline.pipeline_helpers import unswitched
from tests.integration.pipeline.relevance_corpus import DOCUMENTS, QUERIES

pytestmark = pytest.mark.integration

#: The bar each copy is checked to before use.
BARS = {"bf16": bf16.MIN_COSINE, "int8": onnx.INT8_MIN_COSINE, "onnx": onnx.MIN_COSINE}


def _cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nflags\t\t: fpu sse sse4_2 avx fma {flags}\n")
    return path


def _worst_cosine(model: Embedder, reference: Embedder) -> float:
    texts = list(DOCUMENTS.values())
    return float(np.sum(model.encode(texts) * reference.encode_torch(texts), axis=1).min())


def test_this_cpus_choice_passes_its_check(embedder: Embedder, tmp_path: Path) -> None:
    # Given this machine's CPU and the copy its flags call for
    expected = runtime_for(cpu_flags())

    # When chunks are switched as the default setting switches them
    model = unswitched(embedder)
    chosen = model.use_runtime_for_cpu(cache_dir=tmp_path, threads=2)

    # Then that copy passed its check (no fallback) and embeds the chunks
    assert chosen == expected == model.documents_runtime
    assert _worst_cosine(model, embedder) >= BARS[chosen]
    assert model.use_runtime_for_cpu(cache_dir=tmp_path, threads=2) == chosen  # idempotent


@pytest.mark.parametrize(
    "flags",
    # A Xeon with AVX-512 VNNI and no BF16; an AMD EPYC (Zen 3) with AVX2 alone.
    ["avx512f avx512_vnni", "f16c avx2 bmi2 sha_ni vaes vpclmulqdq"],
    ids=["vnni", "avx2-alone"],
)
def test_int8_instructions_without_bf16_embed_chunks_in_int8_and_queries_in_float32(
    embedder: Embedder, tmp_path: Path, flags: str
) -> None:
    # Given a CPU with int8 dot products and no bfloat16 instructions
    cpuinfo = _cpuinfo(tmp_path, flags)

    # When chunks are switched by its flags
    model = unswitched(embedder)
    assert model.use_runtime_for_cpu(cache_dir=tmp_path, threads=2, cpuinfo=cpuinfo) == "int8"

    # Then the int8 copy embeds chunks, close to float32 but not it
    assert model.documents_runtime == "int8"
    assert not model.bf16
    worst = _worst_cosine(model, embedder)
    assert onnx.INT8_MIN_COSINE <= worst < 0.9999
    # and queries are float32's, from the export the copy was made from
    assert model.query_encoder is not model.document_encoder
    query = QUERIES[0][0]
    exact = embedder.encode_torch([query])[0]
    assert float(np.dot(model.encode_query(query), exact)) >= onnx.MIN_COSINE


def test_neither_instruction_gives_float32_onnx(embedder: Embedder, tmp_path: Path) -> None:
    # AVX without AVX2, VNNI or bfloat16 (older x86)
    cpuinfo = _cpuinfo(tmp_path, "")
    model = unswitched(embedder)
    assert model.use_runtime_for_cpu(cache_dir=tmp_path, threads=2, cpuinfo=cpuinfo) == "onnx"
    assert model.documents_runtime == "onnx"
    assert _worst_cosine(model, embedder) >= onnx.MIN_COSINE


def test_an_int8_copy_failing_its_check_falls_back_to_float32(
    embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a VNNI CPU and a bar no int8 copy can meet
    cpuinfo = _cpuinfo(tmp_path, "avx512_vnni")
    monkeypatch.setattr(onnx, "INT8_MIN_COSINE", 1.01)

    # When chunks are switched by its flags
    model = unswitched(embedder)
    chosen = model.use_runtime_for_cpu(cache_dir=tmp_path, threads=2, cpuinfo=cpuinfo)

    # Then the int8 copy is refused and float32 ONNX Runtime embeds them
    assert chosen == "onnx" == model.documents_runtime
    assert _worst_cosine(model, embedder) >= onnx.MIN_COSINE
