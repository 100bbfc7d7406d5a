"""The embedding models a deployment can choose
(``FOLIO_PIPELINE_EMBEDDING_MODEL``): the multilingual one loads from its
package, gives unit vectors of the column's size, and reads Portuguese."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from folio_shared.db.models import EMBEDDING_DIMENSIONS
from folio_worker_docs.embeddings.e5 import E5Embedder
from folio_worker_docs.embeddings.model import DEFAULT_MODEL_NAME, EmbeddingModelUnavailable
from folio_worker_docs.embeddings.select import MODEL_NAMES, load_embedder

pytestmark = pytest.mark.integration

PASSAGES = [
    "O inquilino deve pagar o aluguel até o quinto dia útil de cada mês.",
    "A garantia do aspirador robô cobre defeitos de fabricação por dois anos.",
    "Bees dance to tell the hive where the flowers are.",
]


@pytest.mark.parametrize("name", ["multilingual-e5-small", "multilingual-e5-small-enpt"])
def test_the_multilingual_model_reads_portuguese(name: str) -> None:
    model = load_embedder(name)
    assert load_embedder(name) is model  # loaded once per process
    assert model.model_version.startswith(f"{name}@")
    assert not model.use_onnx_for_documents()  # its own engine embeds chunks
    vectors = model.encode(PASSAGES)
    assert vectors.shape == (3, EMBEDDING_DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    # a question in other words finds its passage, in Portuguese and across languages
    for question, expected in [
        ("quando vence o pagamento da locação?", 0),
        ("por quanto tempo o robô de limpeza tem garantia?", 1),
        ("how long is the vacuum cleaner's warranty?", 1),
    ]:
        query = np.asarray(model.encode_query(question))
        assert np.isclose(np.linalg.norm(query), 1.0, atol=1e-3)
        assert int(np.argmax(vectors @ query)) == expected, question
    # chunks are cut by all-MiniLM-L6-v2's tokenizer, which the package bundles
    spans = model.token_spans(PASSAGES[0])
    assert len(spans) > 10
    assert spans[-1][1] == len(PASSAGES[0])
    assert all(0 <= start < end <= len(PASSAGES[0]) for start, end in spans)


def test_an_unknown_model_is_refused() -> None:
    assert DEFAULT_MODEL_NAME in MODEL_NAMES
    with pytest.raises(EmbeddingModelUnavailable):
        load_embedder("no-such-model")


def test_a_query_runs_beside_a_batch_of_chunks_on_its_own_engine_handle() -> None:
    # Given the multilingual model, a query's vector alone and a batch's vectors alone
    model = load_embedder("multilingual-e5-small")
    assert isinstance(model, E5Embedder)
    assert model.query_model is not None
    assert model.query_model is not model.model
    question = "por quanto tempo o robô de limpeza tem garantia?"
    alone = np.asarray(model.encode_query(question))
    batch = PASSAGES * 22  # 66 texts: two batches of the engine
    batch_alone = model.encode(batch)

    # When queries run while another thread embeds the batch
    results: list[np.ndarray] = []
    worker = threading.Thread(target=lambda: results.append(model.encode(batch)))
    worker.start()
    during = [np.asarray(model.encode_query(question)) for _ in range(5)]
    worker.join()

    # Then both give the vectors they give alone: the handles share no state
    assert all(np.allclose(vector, alone, atol=1e-5) for vector in during)
    assert np.allclose(results[0], batch_alone, atol=1e-5)
