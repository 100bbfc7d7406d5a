"""The ONNX Runtime encoder of a sentence-transformers export: one text or
a batch of texts to unit-length vectors, as the model's mean pooling gives
them (:mod:`folio_worker_docs.embeddings.onnx` exports and checks the
graph)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Padded tokens per forward pass of :meth:`OnnxQueryEncoder.encode_many`.
BATCH_TOKENS = 8192
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def ort_session(path: Path, threads: int) -> Any:
    """An ONNX Runtime session of the graph in ``path``: ``threads`` threads
    per forward pass, which do not spin between runs."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxQueryEncoder:
    """One text → its unit-length vector, as sentence-transformers' mean
    pooling would give it, from an ONNX Runtime session.

    ``session``: an ``onnxruntime.InferenceSession`` of the transformer
    (inputs among ``input_ids``, ``attention_mask``, ``token_type_ids``;
    first output the last hidden state). ``tokenizer``: a ``tokenizers``
    ``Tokenizer`` with truncation set and no padding; it is only read, so
    the encoder is safe to call from several threads. ``path``: the graph's
    file, where :meth:`with_threads` reads it again (default none).
    """

    def __init__(self, session: Any, tokenizer: Any, path: Path | None = None) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.path = path
        self.input_names = [i.name for i in session.get_inputs()]

    @property
    def threads(self) -> int:
        """The threads each of the session's forward passes runs on."""
        threads: int = self.session.get_session_options().intra_op_num_threads
        return threads

    def with_threads(self, threads: int) -> OnnxQueryEncoder:
        """An encoder of the same graph and tokenizer whose forward passes
        each run on ``threads`` threads: a session of its own (the graph's
        weights in memory once more), or this encoder where it already runs
        so. Concurrent calls of a one-thread session each run on their
        caller's thread, with no pool for a busy machine to stall."""
        if threads == self.threads or self.path is None:
            return self
        return OnnxQueryEncoder(ort_session(self.path, threads), self.tokenizer, self.path)

    def __call__(self, text: str) -> list[float]:
        import numpy as np

        enc = self.tokenizer.encode(text)
        columns = {
            "input_ids": enc.ids,
            "attention_mask": enc.attention_mask,
            "token_type_ids": enc.type_ids,
        }
        feeds = {name: np.asarray([columns[name]], dtype=np.int64) for name in self.input_names}
        hidden = self.session.run(None, feeds)[0][0]
        mask = np.asarray(enc.attention_mask, dtype=np.float32)[:, None]
        vector = (hidden * mask).sum(axis=0) / max(float(mask.sum()), 1e-9)
        vector /= max(float(np.linalg.norm(vector)), 1e-12)
        return [float(x) for x in vector]

    def encode_many(
        self, texts: list[str], *, batch_size: int = 64, batch_tokens: int = BATCH_TOKENS
    ) -> Any:
        """Unit-length vectors of ``texts`` (``float32``, one row each, in
        their order), embedded in batches of texts of similar token length:
        at most ``batch_size`` texts and ``batch_tokens`` padded tokens per
        forward pass, so short texts are not padded to a long one's length."""
        import numpy as np

        encodings = self.tokenizer.encode_batch(texts)
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        rows: dict[int, Any] = {}
        start = 0
        while start < len(order):
            end = start + 1
            while (
                end < len(order)
                and end - start < batch_size
                and (end + 1 - start) * lengths[order[end]] <= batch_tokens
            ):
                end += 1
            batch = order[start:end]
            width = lengths[batch[-1]]
            columns = {name: np.zeros((len(batch), width), dtype=np.int64) for name in INPUTS}
            for row, i in enumerate(batch):
                e, n = encodings[i], lengths[i]
                columns["input_ids"][row, :n] = e.ids
                columns["attention_mask"][row, :n] = e.attention_mask
                columns["token_type_ids"][row, :n] = e.type_ids
            feeds = {name: columns[name] for name in self.input_names}
            hidden = self.session.run(None, feeds)[0]
            mask = columns["attention_mask"].astype(np.float32)[:, :, None]
            pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            rows.update(zip(batch, pooled, strict=True))
            start = end
        return np.asarray([rows[i] for i in range(len(texts))], dtype=np.float32)
