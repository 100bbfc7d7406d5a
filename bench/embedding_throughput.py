"""Embedding throughput: Folio's document embedding against plain sentence-transformers.

Both encode the same chunks (made by Folio's chunker from synthetic
prose) with the same model on the same cores, in alternating rounds in the
same process: Folio's ``Embedder.encode`` as the worker runs it
(``--runtime auto``, the default: the copy the worker's default picks by
the CPU's flags, after its agreement check; ``bf16``: bfloat16 after its
agreement check; ``onnx``: ONNX Runtime in batches of similar token
length; ``int8``: the same with the int8 copy of the export; ``torch``:
float32 sentence-transformers behind Folio's wrapper) and plain float32
``SentenceTransformer.encode``. The report is the ratio of Folio's best
round to plain's best round in wall time (target >= 1.5, >= 0.9 for
``torch``), each round's ratio to show the spread on a busy machine, and
the ratio of CPU seconds, which moves less when other work shares the cores.

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
    parser.add_argument(
        "--runtime", choices=("auto", "bf16", "onnx", "int8", "torch"), default="auto"
    )
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")
    args = parser.parse_args()

    embedder = get_embedder(batch_size=args.batch_size)
    if args.runtime == "onnx" and not embedder.use_onnx_for_documents(threads=args.threads):
        raise SystemExit("ONNX Runtime does not give the model's vectors here")
    if args.runtime == "int8" and not embedder.use_int8(threads=args.threads):
        raise SystemExit("the int8 copy does not agree with the model here")
    if args.runtime == "bf16" and not embedder.use_bf16_for_documents():
        raise SystemExit("no bfloat16 here (CPU instructions or agreement)")
    if args.runtime == "auto":
        args.runtime = f"auto: {embedder.use_runtime_for_cpu(threads=args.threads)}"
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
    cpu = {"plain": float("inf"), "folio": float("inf")}
    ratios = []
    for _ in range(args.rounds):
        took = {}
        for name, run in (("plain", plain), ("folio", folio)):
            started, cpu_started = time.perf_counter(), time.process_time()
            run()
            took[name] = time.perf_counter() - started
            best[name] = min(best[name], took[name])
            cpu[name] = min(cpu[name], time.process_time() - cpu_started)
        ratios.append(took["plain"] / took["folio"])
    rate = {name: len(texts) / seconds for name, seconds in best.items()}
    target = 0.9 if args.runtime == "torch" else 1.5
    ratio = rate["folio"] / rate["plain"]
    print(f"chunks: {len(texts)}, batch size {args.batch_size}, best of {args.rounds} rounds")
    print(f"plain sentence-transformers encode: {rate['plain']:.1f} chunks/s")
    print(f"folio Embedder.encode ({args.runtime}):      {rate['folio']:.1f} chunks/s")
    print("ratio of each round: " + ", ".join(f"{r:.2f}" for r in ratios))
    print(
        f"CPU seconds (best round): plain {cpu['plain']:.2f}, folio {cpu['folio']:.2f};"
        f" ratio {cpu['plain'] / cpu['folio']:.2f}"
    )
    print(f"ratio folio / plain: {ratio:.3f} (target >= {target})")
    print(
        f"RESULT embedding {args.runtime} vs sentence-transformers: {ratio:.2f}x "
        f"(target >= {target}) {'met' if ratio >= target else 'missed'}"
    )


if __name__ == "__main__":
    main()
