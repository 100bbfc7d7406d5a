"""Which copy of the model embeds chunks, by what the CPU reports
(``FOLIO_PIPELINE_DOCUMENT_RUNTIME=auto``, the default).

- **bfloat16** where the CPU has bfloat16 matrix instructions (AMX or
  AVX-512 BF16): a bfloat16 torch copy, 1.6-2.7x plain float32
  sentence-transformers (:mod:`folio_worker_docs.embeddings.bf16`).
- **int8** where it has no bfloat16 instructions but int8 dot products:
  VNNI (AVX-512 VNNI, AVX-VNNI), or AVX2, whose 8-bit multiply-adds ONNX
  Runtime's int8 kernels use where VNNI is missing (the copy's weights use
  7 bits, so they cannot saturate there): the int8 copy of the ONNX
  export, chunks and queries alike
  (:func:`~folio_worker_docs.embeddings.onnx.load_int8_encoder`). On an
  Intel Xeon with AVX-512 VNNI and no BF16 it took 0.76-0.79x the CPU per
  chunk of float32 ONNX Runtime; on an AMD EPYC with AVX2 alone,
  0.72-0.75x, where float32 ONNX Runtime saved little or nothing against
  plain torch (``docs/benchmarks.md``).
- **ONNX Runtime in float32** anywhere else (no AVX2: older x86, ARM).

This module only decides; each copy is still checked against float32
before use, and a copy that fails its check falls back as the explicit
settings do (:meth:`~folio_worker_docs.embeddings.model.Embedder.use_runtime_for_cpu`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

#: Where Linux lists the CPU's flags.
CPUINFO = Path("/proc/cpuinfo")
#: CPU flags (``/proc/cpuinfo``) of bfloat16 matrix instructions.
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
#: CPU flags of int8 dot-product instructions (VNNI, 512- and 256-bit).
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})
#: CPU flags of any int8 products ONNX Runtime's int8 kernels use: VNNI's,
#: or AVX2's 8-bit multiply-adds (every x86 CPU with AVX-512 has AVX2 too).
INT8_FLAGS = VNNI_FLAGS | {"avx2"}

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
