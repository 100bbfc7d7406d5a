"""Several model calls at once (``FOLIO_PIPELINE_DOCUMENT_CALLS``): the
batcher runs a call on each free batch function while another runs, and
each copy of the real model embeds as the model itself does."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from folio_worker_docs.embeddings.batcher import EmbeddingBatcher
from folio_worker_docs.embeddings.model import get_embedder

pytestmark = pytest.mark.integration

TEXTS = [
    "The lease renews every March unless the tenant objects in writing.",
    "Turbine sensors are calibrated after each firmware release.",
    "Quarterly revenue beat the forecast; the margin held at nine percent.",
]


class Overlap:
    """Batch functions that hold their call a moment and count how many
    run at the same time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def function(self, tag: float) -> Any:
        def encode(texts: list[str]) -> npt.NDArray[np.float32]:
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            time.sleep(0.2)
            with self.lock:
                self.running -= 1
            return np.full((len(texts), 2), tag, dtype=np.float32)

        return encode


def _embed_apart(batcher: EmbeddingBatcher, requests: list[list[str]]) -> list[Any]:
    async def main() -> list[Any]:
        tasks = []
        for texts in requests:
            tasks.append(asyncio.create_task(batcher.encode_many(texts)))
            await asyncio.sleep(0.05)  # the next arrives while a call runs
        return list(await asyncio.gather(*tasks))

    return asyncio.run(main())


def test_a_request_arriving_during_a_call_runs_on_a_free_copy_at_once() -> None:
    overlap = Overlap()
    batcher = EmbeddingBatcher(overlap.function(1.0), copies=[overlap.function(2.0)])
    results = _embed_apart(batcher, [TEXTS[:1], TEXTS[1:]])
    assert overlap.most == 2
    assert batcher.calls == 2
    # each request's rows come from one call, in its order
    assert [r.shape for r in results] == [(1, 2), (2, 2)]
    assert {float(r[0, 0]) for r in results} == {1.0, 2.0}


def test_without_copies_a_call_waits_for_the_one_running() -> None:
    overlap = Overlap()
    batcher = EmbeddingBatcher(overlap.function(1.0))
    _embed_apart(batcher, [TEXTS[:1], TEXTS[1:]])
    assert overlap.most == 1


def test_each_copy_of_the_model_embeds_as_the_model_does() -> None:
    model = get_embedder()
    functions = model.batch_functions(2)
    assert len(functions) == 2
    reference = model.encode(TEXTS)
    for encode in functions:
        vectors = encode(TEXTS)
        assert vectors.shape == reference.shape
        assert float(np.sum(vectors * reference, axis=1).min()) >= 0.999
