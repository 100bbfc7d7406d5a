"""Which copy of the model embeds chunks, by what the CPU reports
(``FOLIO_PIPELINE_DOCUMENT_RUNTIME=auto``, the default).

- **bfloat16** where the CPU has bfloat16 matrix instructions (AMX or
  AVX-512 BF16): a bfloat16 torch copy, 1.6-2.7x plain float32
  sentence-transformers (:mod:`folio_worker_docs.embeddings.bf16`).
- **int8** where it has no bfloat16 instructions but int8 dot products:
  VNNI (AVX-512 VNNI, AVX-VNNI, AMX int8) or AVX2's 8-bit multiply-adds.
  The int8 copy of the ONNX export embeds chunks; queries and a tenant's
  vocabulary words stay on the float32 export
  (:meth:`~folio_worker_docs.embeddings.model.Embedder.use_int8`). On an
  AMD EPYC with AVX2 alone the relevance sets then ranked exactly as with
  float32 in every mode (top-1, MRR@5, nDCG@10), while chunks took
  0.72x float32 ONNX Runtime's CPU seconds (one loaded pair); with queries
  on the copy too, keyword search had moved (ADR 0008,
  ``docs/benchmarks.md``).
- **ONNX Runtime in float32** anywhere else (x86 without AVX2, ARM).

This module decides, and divides torch's threads among model calls
(:func:`share_cores`); each copy is still checked against float32
before use, and a copy that fails its check falls back as the explicit
settings do (:meth:`~folio_worker_docs.embeddings.model.Embedder.use_runtime_for_cpu`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from folio_shared.cpus import available_cpus

#: Where Linux lists the CPU's flags.
CPUINFO = Path("/proc/cpuinfo")
#: CPU flags (``/proc/cpuinfo``) of bfloat16 matrix instructions.
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
#: CPU flags of int8 dot products, which choose the int8 copy: VNNI (512-
#: and 256-bit, AMX) and AVX2, whose 8-bit multiply-adds ONNX Runtime uses
#: where VNNI is missing (the copy's 7-bit weights keep them from saturating).
INT8_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8", "avx2"})

CpuRuntime = Literal["bf16", "int8", "onnx"]


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The flags of the first CPU ``cpuinfo`` lists (Linux); empty where it
    cannot be read or lists none."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def runtime_for(flags: frozenset[str]) -> CpuRuntime:
    """The runtime ``auto`` tries first on a CPU with ``flags``: ``bf16``
    with bfloat16 instructions, else ``int8`` with VNNI or AVX2, else
    ``onnx``."""
    if flags & BF16_FLAGS:
        return "bf16"
    if flags & INT8_FLAGS:
        return "int8"
    return "onnx"


def share_cores(calls: int, cores: int | None = None) -> None:
    """Torch's threads per model call when ``calls`` run at once: ``cores``
    divided among them (at least one each). ``cores`` defaults to the
    threads torch would use, at most the container's CPU limit
    (:func:`folio_shared.cpus.available_cpus`): torch counts the host's
    cores. Call it before the first forward pass of the process: threads
    that already ran one keep their count."""
    import torch

    global _TORCH_THREADS
    if _TORCH_THREADS is None:
        _TORCH_THREADS = torch.get_num_threads()
    if cores is None:
        cores = min(_TORCH_THREADS, available_cpus())
    torch.set_num_threads(max(1, cores // max(1, calls)))


#: Torch's own thread count, before :func:`share_cores` divided it.
_TORCH_THREADS: int | None = None
