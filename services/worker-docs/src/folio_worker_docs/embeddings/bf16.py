"""Document chunks embedded in bfloat16 on CPUs with bfloat16 matrix
instructions (AMX or AVX-512 BF16): the same model and weights, about 2.6 times
less CPU per chunk.

Embedding a batch of chunks is compute-bound: nearly all of it is matrix
products over ~250 tokens. On such CPUs torch's autocast runs them in
bfloat16 (oneDNN), measured at 1.0 s of CPU for 48 chunks against 2.6 s
in float32 (``bench/embedding_throughput.py``). ONNX Runtime in float32
(:mod:`folio_worker_docs.embeddings.onnx`) took 3.4 s: its gain on a
search query is per-operator overhead, which a batch does not have.

Before use, :data:`PROBES` of mixed lengths must give the float32
vectors (cosine ≥ :data:`MIN_COSINE`); a CPU without the instructions or
a probe that disagrees leaves chunks in float32 (logged).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from folio_worker_docs.embeddings.onnx import DOCUMENT_PROBES

log = logging.getLogger(__name__)

#: The bfloat16 vectors must agree with float32 ones this closely.
MIN_COSINE = 0.999
#: CPU flags (``/proc/cpuinfo``) of bfloat16 matrix instructions.
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def cpu_has_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU reports bfloat16 matrix instructions (Linux; ``False``
    where ``cpuinfo`` cannot be read)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool(BF16_FLAGS & set(line.partition(":")[2].split()))
    return False


@contextlib.contextmanager
def bf16() -> Iterator[None]:
    """torch's CPU autocast to bfloat16, in this thread."""
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16):
        yield


def agreement(encode: Callable[[list[str]], Any]) -> float:
    """The lowest cosine between ``encode``'s vectors of the probes in
    bfloat16 and in float32 (``encode`` gives unit vectors)."""
    import numpy as np

    texts = list(DOCUMENT_PROBES)
    exact = np.asarray(encode(texts), dtype=np.float64)
    with bf16():
        fast = np.asarray(encode(texts), dtype=np.float64)
    return float(np.min(np.sum(exact * fast, axis=1)))


def bf16_agrees(encode: Callable[[list[str]], Any], *, device: str = "cpu") -> bool:
    """Whether chunks may be embedded in bfloat16 here: a CPU device with the
    instructions, and probes that agree; why not is logged."""
    if device != "cpu" or not cpu_has_bf16():
        log.info("document embedding in float32: no bfloat16 instructions on %s", device)
        return False
    worst = agreement(encode)
    if worst < MIN_COSINE:
        log.warning("document embedding in float32: bfloat16 cosine %.6f", worst)
        return False
    return True
