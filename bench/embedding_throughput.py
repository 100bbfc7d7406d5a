"""Embedding throughput: Folio's embedder against plain sentence-transformers.

Both encode the same chunks (made by Folio's chunker from synthetic
prose) with the same loaded model, in alternating rounds in the same
process; the report is the ratio of Folio's best round to plain
``SentenceTransformer.encode``'s best round (target >= 0.9).

    .venv/bin/python bench/embedding_throughput.py --chunks 300 --rounds 3
"""

from __future__ import annotations

import argparse
import random
import time

from folio_worker_docs.embeddings.model import get_embedder
from folio_worker_docs.text.chunking import ChunkingOptions, chunk_pages
from folio_worker_docs.text.types import ExtractedPage

WORDS = [
    "archive",
    "invoice",
    "river",
    "budget",
    "engine",
    "protocol",
    "harvest",
    "station",
    "mineral",
    "ledger",
    "contract",
    "signal",
    "forest",
    "battery",
    "patient",
    "voltage",
    "orbit",
    "grammar",
    "festival",
    "quarry",
    "license",
    "harbour",
    "census",
    "pigment",
    "reactor",
    "glacier",
    "tariff",
    "museum",
    "vaccine",
    "terminal",
]


def make_chunks(count: int, max_tokens: int) -> list[str]:
    rng = random.Random(7)
    pages = []
    for page_no in range(1, count + 1):
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."
            for _ in range(24)
        ]
        pages.append(ExtractedPage(page_no, " ".join(sentences)))
    embedder = get_embedder()
    chunks = chunk_pages(pages, embedder.token_spans, ChunkingOptions(max_tokens, 16))
    return [c.text for c in chunks[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=254)
    args = parser.parse_args()

    embedder = get_embedder(batch_size=args.batch_size)
    texts = make_chunks(args.chunks, args.max_tokens)
    model = embedder.model

    def plain() -> None:
        model.encode(
            texts, batch_size=args.batch_size, normalize_embeddings=True, show_progress_bar=False
        )

    def folio() -> None:
        embedder.encode(texts)

    embedder.encode(texts[:16])  # warm-up
    best = {"plain": float("inf"), "folio": float("inf")}
    for _ in range(args.rounds):
        for name, run in (("plain", plain), ("folio", folio)):
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    rate = {name: len(texts) / seconds for name, seconds in best.items()}
    print(f"chunks: {len(texts)}, batch size {args.batch_size}, best of {args.rounds} rounds")
    print(f"plain sentence-transformers encode: {rate['plain']:.1f} chunks/s")
    print(f"folio Embedder.encode:              {rate['folio']:.1f} chunks/s")
    print(f"ratio folio / plain: {rate['folio'] / rate['plain']:.3f} (target >= 0.9)")


if __name__ == "__main__":
    main()
