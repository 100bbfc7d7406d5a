"""Document chunks embedded in bfloat16 on CPUs with bfloat16 matrix
instructions (AMX or AVX-512 BF16): the same model and weights, stored in
bfloat16, about 1.7 to 2.6 times less CPU per chunk than float32.

Embedding a batch of chunks is compute-bound: nearly all of it is matrix
products over ~250 tokens. On such CPUs torch runs them in bfloat16
(oneDNN). A copy of the model whose weights are bfloat16 does less than
torch's autocast over the float32 model, which converts every weight at
every call and runs layer norms and softmax in float32: 49 to 69 ms of CPU
per chunk against 53 to 81 ms, float32 94 to 120 ms (AVX-512 BF16, 1 and 2
threads, ``docs/benchmarks.md``). ONNX Runtime in float32
(:mod:`folio_worker_docs.embeddings.onnx`) took more CPU than torch: its
gain on a search query is per-operator overhead, which a batch does not
have.

Before use, :data:`PROBES` of mixed lengths must give the float32
vectors (cosine ≥ :data:`MIN_COSINE`); a CPU without the instructions or
a probe that disagrees leaves chunks in float32 (logged).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from folio_worker_docs.embeddings.cpu import BF16_FLAGS as BF16_FLAGS
from folio_worker_docs.embeddings.cpu import CPUINFO as CPUINFO
from folio_worker_docs.embeddings.cpu import cpu_flags
from folio_worker_docs.embeddings.onnx import DOCUMENT_PROBES

log = logging.getLogger(__name__)

#: The bfloat16 vectors must agree with float32 ones this closely.
MIN_COSINE = 0.999


def cpu_has_bf16(cpuinfo: Path = CPUINFO) -> bool:
    """Whether the CPU reports bfloat16 matrix instructions (Linux; ``False``
    where ``cpuinfo`` cannot be read)."""
    return bool(BF16_FLAGS & cpu_flags(cpuinfo))


def bf16_copy(model: Any) -> Any:
    """A copy of the torch module ``model`` with bfloat16 weights, for
    inference (``model`` itself is untouched)."""
    import torch

    return copy.deepcopy(model).to(torch.bfloat16).eval()


def agreement(exact: Callable[[list[str]], Any], fast: Callable[[list[str]], Any]) -> float:
    """The lowest cosine between ``fast``'s and ``exact``'s vectors of the
    probes (both give unit vectors)."""
    import numpy as np

    texts = list(DOCUMENT_PROBES)
    reference = np.asarray(exact(texts), dtype=np.float64)
    vectors = np.asarray(fast(texts), dtype=np.float64)
    return float(np.min(np.sum(reference * vectors, axis=1)))


def bf16_agrees(
    exact: Callable[[list[str]], Any],
    fast: Callable[[list[str]], Any] | None,
    *,
    device: str = "cpu",
) -> bool:
    """Whether chunks may be embedded in bfloat16 here: a CPU device with the
    instructions, and probes whose ``fast`` (bfloat16) vectors agree with
    the ``exact`` (float32) ones; why not is logged. ``fast`` is ``None``
    when the bfloat16 model could not be made."""
    if device != "cpu" or not cpu_has_bf16() or fast is None:
        log.info("document embedding in float32: no bfloat16 instructions on %s", device)
        return False
    worst = agreement(exact, fast)
    if worst < MIN_COSINE:
        log.warning("document embedding in float32: bfloat16 cosine %.6f", worst)
        return False
    return True
