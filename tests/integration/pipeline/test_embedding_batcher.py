"""Chunks of documents finalised at the same time share model calls
(:class:`folio_worker_docs.embeddings.batcher.EmbeddingBatcher`) and get
the vectors they would get alone, with the real model."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from folio_worker_docs.embeddings.batcher import EmbeddingBatcher
from folio_worker_docs.embeddings.model import get_embedder

pytestmark = pytest.mark.integration

DOCUMENTS = [
    ["The lease renews every March unless the tenant objects in writing."],
    [
        "Turbine sensors are calibrated after each firmware release.",
        "The warehouse ledger balances shipments against customs tariffs.",
    ],
    ["Quarterly revenue beat the forecast; the margin held at nine percent."],
    [
        "Bees dance to tell the hive where the flowers are.",
        "An invoice is due thirty days after the goods arrive.",
        "The adjuster inspects the claim before the premium is renewed.",
    ],
]


def test_concurrent_documents_share_calls_and_keep_their_vectors() -> None:
    model = get_embedder()
    alone = [model.encode(texts) for texts in DOCUMENTS]

    async def main() -> tuple[list[Any], EmbeddingBatcher]:
        batcher = EmbeddingBatcher(model.encode)
        results = await asyncio.gather(*(batcher.encode_many(t) for t in DOCUMENTS))
        return list(results), batcher

    together, batcher = asyncio.run(main())
    assert batcher.calls == 1  # four documents, one model call
    assert batcher.texts == sum(len(t) for t in DOCUMENTS)
    for mine, reference in zip(together, alone, strict=True):
        assert mine.shape == reference.shape
        cosines = np.sum(mine * reference, axis=1)
        assert float(cosines.min()) >= 0.999


def test_a_large_request_is_split_from_the_others_and_order_is_kept() -> None:
    model = get_embedder()

    async def main() -> tuple[list[Any], EmbeddingBatcher]:
        batcher = EmbeddingBatcher(model.encode, max_texts=3)
        results = await asyncio.gather(*(batcher.encode_many(t) for t in DOCUMENTS))
        return list(results), batcher

    together, batcher = asyncio.run(main())
    assert batcher.calls == 3  # [1 + 1 + 1 of 2], [1 + 2 of 3], [1]: at most 3 texts per call
    for mine, texts in zip(together, DOCUMENTS, strict=True):
        reference = model.encode(texts)
        assert float(np.sum(mine * reference, axis=1).min()) >= 0.999


def test_a_failing_call_fails_its_callers_and_the_next_call_works() -> None:
    model = get_embedder()

    async def main() -> tuple[list[Any], Any]:
        batcher = EmbeddingBatcher(model.encode)
        bad: list[Any] = [None]  # not text: the tokenizer refuses it
        first = await asyncio.gather(
            batcher.encode_many(bad), batcher.encode_many(DOCUMENTS[0]), return_exceptions=True
        )
        second = await batcher.encode_many(DOCUMENTS[0])
        return list(first), second

    first, second = asyncio.run(main())
    assert all(isinstance(r, Exception) for r in first)
    assert second.shape == (1, model.dimensions)


def test_a_cancelled_caller_does_not_take_the_others_down() -> None:
    model = get_embedder()

    async def main() -> tuple[Any, Any]:
        batcher = EmbeddingBatcher(model.encode, window_s=0.2)
        gone = asyncio.create_task(batcher.encode_many(DOCUMENTS[1]))
        kept = asyncio.create_task(batcher.encode_many(DOCUMENTS[3]))
        await asyncio.sleep(0.05)
        gone.cancel()
        vectors = await kept
        return vectors, batcher

    vectors, batcher = asyncio.run(main())
    assert vectors.shape == (3, model.dimensions)
    assert batcher.texts == 3  # the cancelled document's texts were never embedded


def test_a_small_request_behind_a_large_one_waits_for_one_slice_only() -> None:
    model = get_embedder()
    manual = [f"Page {n}: the pumps of the northern station are inspected." for n in range(12)]
    receipt = ["Receipt number 7 for one coffee."]

    async def main() -> tuple[list[str], Any, Any, EmbeddingBatcher]:
        batcher = EmbeddingBatcher(model.encode, max_texts=4)
        done: list[str] = []

        async def embed(name: str, texts: list[str]) -> Any:
            vectors = await batcher.encode_many(texts)
            done.append(name)
            return vectors

        large = asyncio.create_task(embed("manual", manual))
        while batcher.calls == 0:  # the manual's first slice is being embedded
            await asyncio.sleep(0.001)
        small = await embed("receipt", receipt)
        return done, await large, small, batcher

    done, large, small, batcher = asyncio.run(main())
    # The receipt went into the second call, beside the manual's next slice,
    # not after the manual's twelve texts (13 texts, 4 per call: 4 calls)
    assert done == ["receipt", "manual"]
    assert batcher.calls == 4
    assert large.shape == (12, model.dimensions)
    assert float(np.sum(large * model.encode(manual), axis=1).min()) >= 0.999
    assert float(np.sum(small * model.encode(receipt), axis=1).min()) >= 0.999
