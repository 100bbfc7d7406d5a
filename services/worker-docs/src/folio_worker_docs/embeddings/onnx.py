"""Search queries embedded with ONNX Runtime: the same model and vectors,
about twice as fast for one short text.

A search query is one forward pass over a handful of tokens. Torch spends
most of it dispatching ~400 small operators and streaming fp32 weights
through tiny matrix products (~18 ms for a two-word query on a 2-core
machine); ONNX Runtime runs the same exported graph, fused, in ~8 ms
(``bench/search_latency.py``). Chunks can go through the same session in
batches of similar token length (:meth:`OnnxQueryEncoder.encode_many`,
``FOLIO_PIPELINE_DOCUMENT_RUNTIME=onnx``), but a batch is compute-bound and
took more CPU than torch on the reference machine
(:mod:`folio_worker_docs.embeddings.bf16` is the default there).

The model's transformer is exported once per model version to
``<cache_dir>/<model_version>.eager.onnx`` (about 1.5 s and 90 MB for
all-MiniLM-L6-v2; written under a temporary name and renamed, so processes
starting together never read half a file), written from the model's eager
attention (:data:`EXPORT_SUFFIX`). Before use, probe sentences
must give the sentence-transformers vectors (cosine ≥ :data:`MIN_COSINE`);
a model whose modules are not ``Transformer → mean Pooling [→ Normalize]``,
a failed export, a missing ``onnxruntime`` or a probe that disagrees all
leave queries on torch (logged), never on a different embedding.

An int8 copy of the export (:func:`int8_copy`, made from it on this
machine, nothing downloaded) embeds chunks with
``FOLIO_PIPELINE_DOCUMENT_RUNTIME=int8`` or where ``auto`` picks it
(:func:`load_int8_encoder`); queries stay on the float32 export.

Needs the ``embeddings`` extra (``onnx`` for the export, ``onnxruntime``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from folio_worker_docs.embeddings.onnx_encoder import INPUTS, OnnxQueryEncoder, ort_session

log = logging.getLogger(__name__)

#: The ONNX vectors must agree with sentence-transformers' this closely.
MIN_COSINE = 0.99999
#: An int8 copy (:func:`int8_copy`) must agree this closely: it is an
#: approximation (0.983-0.996 on ~250-token chunks), kept only because the
#: relevance sets rank the same with it (docs/benchmarks.md); the check
#: refuses a broken copy (per-tensor int8 gave 0.73-0.91).
INT8_MIN_COSINE = 0.975
#: Sentences the exported graph is checked with (lengths 1 to ~60 tokens).
PROBES = (
    "invoice",
    "how do I renew my passport?",
    "Résumé: São Paulo, 2024 — 12,5 % VAT on «imported» goods.",
    " ".join(["the quarterly maintenance report for the northern warehouse"] * 6),
)
#: Texts of mixed lengths, batched together so padding is checked too (a
#: chunk's worth, one over the model's 256 tokens, short ones).
DOCUMENT_PROBES = (
    *PROBES,
    " ".join(["Ledger entries for the harbour tariff were filed late."] * 22),
    " ".join(["Glacier station voltage readings, quarry census."] * 80),
    "Total due: 1.234,56 EUR",
)
#: The export's file name after the model version. The graph is written
#: from a copy of the transformer with its eager attention: torch's
#: scaled-dot-product attention, the model's default, exports a mask made
#: per layer and a NaN guard over every softmax (``Where``/``IsNaN``, 14 %
#: of the int8 copy's time), for the same vectors. Earlier exports
#: (``<model_version>.onnx``) are not read: a cache or an image holding
#: one makes this one.
EXPORT_SUFFIX = ".eager.onnx"
#: The int8 copy's (:func:`int8_copy`).
INT8_SUFFIX = ".eager.int8.onnx"


class SentenceModel(Protocol):
    """What the export needs of a loaded model (an
    :class:`~folio_worker_docs.embeddings.model.Embedder`): the
    sentence-transformers ``model``, where its files are, its version, and
    its own float32 vectors to check the export against (``encode_torch``:
    not ``encode``, which a bfloat16 or int8 copy may serve by then)."""

    model: Any
    model_path: Path
    model_version: str

    def encode_torch(self, texts: list[str]) -> Any: ...


def default_cache_dir() -> Path:
    """``~/.cache/folio``."""
    return Path.home() / ".cache" / "folio"


def batch_agreement(encoder: OnnxQueryEncoder, reference: Any) -> float:
    """The lowest cosine between ``encoder``'s batched vectors of
    :data:`DOCUMENT_PROBES` and ``reference(texts)``'s (sentence-transformers')."""
    import numpy as np

    texts = list(DOCUMENT_PROBES)
    ours = encoder.encode_many(texts, batch_size=4)
    theirs = np.asarray(reference(texts), dtype=np.float64)
    return min(_cosine(list(a), b) for a, b in zip(ours, theirs, strict=True))


def _mean_pooled(embedder: SentenceModel) -> bool:
    """Whether the model is Transformer → mean Pooling [→ Normalize]."""
    names = [type(m).__name__ for m in embedder.model]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return False
    config = embedder.model[1].get_config_dict()
    return bool(config.get("pooling_mode_mean_tokens") or config.get("pooling_mode") == "mean")


def _export(embedder: SentenceModel, target: Path) -> None:
    import copy

    import torch

    # A copy: the model itself keeps its own attention for torch's calls.
    transformer = copy.deepcopy(embedder.model[0].auto_model).eval()
    transformer.set_attn_implementation("eager")

    class _Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            out = self.transformer(**dict(zip(INPUTS, inputs, strict=True)))
            hidden: torch.Tensor = out.last_hidden_state
            return hidden

    example = embedder.model.tokenizer(["an example query"], return_tensors="pt")
    with _written(target) as tmp, warnings.catch_warnings(), torch.inference_mode():
        # The TorchScript exporter: the dynamo one needs onnxscript and
        # gains nothing for a plain BERT graph.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Hidden(),
            tuple(example[name] for name in INPUTS),
            tmp,
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes={
                name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")
            },
            opset_version=17,
            dynamo=False,
        )


@contextlib.contextmanager
def _written(target: Path) -> Iterator[str]:
    """A temporary file beside ``target`` to write; it becomes ``target``
    (world-readable) when the block ends without error, so processes
    starting together never read half a file."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _cosine(a: list[float], b: Any) -> float:
    import numpy as np

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(x @ y / max(float(np.linalg.norm(x) * np.linalg.norm(y)), 1e-12))


def _writable(directory: Path) -> Path:
    """``directory``, or a temporary one when it cannot be written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if os.access(directory, os.W_OK):
            return directory
    except OSError:
        pass
    return Path(tempfile.gettempdir()) / "folio"


def _export_path(
    embedder: SentenceModel, cache_dir: Path | None, suffix: str = EXPORT_SUFFIX
) -> Path:
    """Where the export (or its copy ending in ``suffix``) is or goes:
    ``cache_dir``, read even from a read-only image, else a writable folder."""
    name = embedder.model_version.replace("/", "_").replace("@", "-") + suffix
    directory = cache_dir or default_cache_dir()
    if not (directory / name).is_file():
        directory = _writable(directory)
    return directory / name


def _session(embedder: SentenceModel, path: Path, threads: int) -> OnnxQueryEncoder:
    """An encoder of the ONNX graph in ``path`` with ``embedder``'s tokenizer."""
    from tokenizers import Tokenizer

    session = ort_session(path, threads)
    tokenizer = Tokenizer.from_file(str(embedder.model_path / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=int(embedder.model.max_seq_length))
    return OnnxQueryEncoder(session, tokenizer, path)


def _checked(
    embedder: SentenceModel, target: Path, threads: int
) -> tuple[OnnxQueryEncoder | None, str]:
    """The encoder of the exported ``target`` if it loads and gives the
    model's vectors; else ``None`` and why."""
    try:
        encoder = _session(embedder, target, threads)
    except Exception as e:  # ONNX Runtime's load errors have no common base
        return None, f"cannot load {target}: {e}"
    expected = embedder.encode_torch(list(PROBES))
    worst = min(_cosine(encoder(p), v) for p, v in zip(PROBES, expected, strict=True))
    if worst < MIN_COSINE:
        return None, f"ONNX vectors differ (cosine {worst:.6f})"
    return encoder, ""


def load_onnx_query_encoder(
    embedder: SentenceModel, *, cache_dir: Path | None = None, threads: int = 2
) -> OnnxQueryEncoder | None:
    """An ONNX query encoder for ``embedder``'s model, exported on first use
    into ``cache_dir`` (default :func:`default_cache_dir`), or ``None`` (with
    the reason logged) when it cannot give the same vectors. A cached export
    that does not load or disagrees (another torch, a damaged copy) is
    exported again once.

    ``threads``: ONNX Runtime's intra-op threads (default 2; threads do not
    spin between queries)."""
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError as e:
        log.warning("query embedding on torch: %s", e)
        return None
    if not _mean_pooled(embedder):
        log.warning("query embedding on torch: the model is not mean-pooled")
        return None
    target = _export_path(embedder, cache_dir)
    try:
        encoder, why = _checked(embedder, target, threads) if target.is_file() else (None, "")
        if encoder is None:
            _export(embedder, target)
            log.info("exported the query encoder to %s", target)
            encoder, why = _checked(embedder, target, threads)
    except Exception as e:  # export and runtime errors have no common base
        log.warning("query embedding on torch: the ONNX encoder failed: %s", e)
        return None
    if encoder is None:
        log.warning("query embedding on torch: %s", why)
    return encoder


def int8_copy(export: Path, target: Path) -> Path:
    """``target``: the ``export`` with its weight matrices in int8 (dynamic
    quantisation, one scale per output column, 7-bit range so AVX2's int8
    products cannot saturate), made once on this machine, then reused.
    Embeddings, attention and the matrices that narrow their input (the
    feed-forward down-projections, whose inputs have the widest range) stay
    float32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if target.is_file():
        return target
    graph = onnx.load(export).graph
    shapes = {w.name: tuple(w.dims) for w in graph.initializer}
    narrowing = [
        node.name
        for node in graph.node
        if node.op_type == "MatMul"
        and len(shape := shapes.get(node.input[1], ())) == 2
        and shape[0] > shape[1]
    ]
    with _written(target) as tmp:
        quantize_dynamic(
            export,
            tmp,
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=narrowing,
        )
    return target


def write_int8_copy(embedder: SentenceModel, cache_dir: Path | None = None) -> Path:
    """The int8 copy of ``embedder``'s export in ``cache_dir``, made now if
    it is not there (the image build: :func:`int8_copy` depends on the
    weights alone, not on the CPU, so pods on VNNI nodes start without
    making it). The float32 export must be there already."""
    return int8_copy(
        _export_path(embedder, cache_dir), _export_path(embedder, cache_dir, INT8_SUFFIX)
    )


def load_int8_encoder(
    embedder: SentenceModel,
    reference: Any,
    *,
    cache_dir: Path | None = None,
    threads: int = 2,
) -> OnnxQueryEncoder | None:
    """An encoder of the int8 copy (:func:`int8_copy`) of ``embedder``'s
    export, made on first use, if its batched :data:`DOCUMENT_PROBES` agree
    with ``reference`` (float32 sentence-transformers) to
    :data:`INT8_MIN_COSINE`; else ``None`` (logged). The float32 export
    must be there and have passed its own check first
    (:func:`load_onnx_query_encoder`)."""
    try:
        target = _export_path(embedder, cache_dir, INT8_SUFFIX)
        if not target.is_file():
            int8_copy(_export_path(embedder, cache_dir), target)
        encoder = _session(embedder, target, threads)
        worst = batch_agreement(encoder, reference)
    except Exception as e:  # quantisation and runtime errors have no common base
        log.warning("embedding in float32: the int8 copy failed: %s", e)
        return None
    if worst < INT8_MIN_COSINE:
        log.warning("embedding in float32: int8 cosine %.6f", worst)
        return None
    return encoder
