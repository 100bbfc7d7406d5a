"""Which copy of the model embeds chunks, by what the CPU reports
(``FOLIO_PIPELINE_DOCUMENT_RUNTIME=auto``, the default).

- **bfloat16** where the CPU has bfloat16 matrix instructions (AMX or
  AVX-512 BF16): a bfloat16 torch copy, 1.6-2.7x plain float32
  sentence-transformers (:mod:`folio_worker_docs.embeddings.bf16`).
- **int8** where it has no bfloat16 instructions but VNNI int8 dot
  products (AVX-512 VNNI, AVX-VNNI, AMX int8): the int8 copy of the ONNX
  export, chunks and queries alike
  (:func:`~folio_worker_docs.embeddings.onnx.load_int8_encoder`). On an
  Intel Xeon with AVX-512 VNNI and no BF16 it took 0.76-0.79x the CPU per
  chunk of float32 ONNX Runtime, and the relevance sets ranked as with
  float32 (``docs/benchmarks.md``).
- **ONNX Runtime in float32** anywhere else, AVX2-only CPUs included. On an
  AMD EPYC with AVX2 alone the int8 copy saved 0.72-0.75x the CPU of float32,
  but it moved the English relevance set (hybrid top-1 96.7 -> 95.0 %), and
  int8 is used only where the sets do not move (ADR 0008). Such a
  deployment can still choose it: ``FOLIO_PIPELINE_DOCUMENT_RUNTIME=int8``.

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
#: CPU flags of int8 dot-product instructions (VNNI, 512- and 256-bit), which
#: choose the int8 copy. AVX2's 8-bit multiply-adds run it too, but there it
#: moved the relevance sets (module docstring).
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})

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
    with bfloat16 instructions, else ``int8`` with VNNI, else
    ``onnx``."""
    if flags & BF16_FLAGS:
        return "bf16"
    if flags & VNNI_FLAGS:
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
