"""worker-docs loads its first model when it starts, so the first search
after a start is answered within the API's wait (a real worker-docs process, the
real model, real Redis)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from e2ekit import e2e_settings, start_worker

from folio_api.domain.search.queries import embed_query, results_backend
from folio_shared.broker import create_broker
from folio_worker_docs.embeddings.bf16 import cpu_has_bf16

pytestmark = pytest.mark.integration


def test_the_model_is_ready_before_the_first_query(
    database_url: str, test_servers: Any, tmp_path: Path
) -> None:
    # Given a worker-docs that has been sent nothing at all
    settings = e2e_settings(database_url, test_servers.redis_url, tmp_path)
    worker = start_worker(settings, "docs", tmp_path, FOLIO_LOG_LEVEL="INFO")
    broker = create_broker(settings, middleware=[])
    try:
        log = worker.log.name
        deadline = time.monotonic() + 180
        while "embedding model ready" not in Path(log).read_text(errors="replace"):
            assert time.monotonic() < deadline, Path(log).read_text(errors="replace")[-3000:]
            time.sleep(0.5)

        # When the first search query comes, with less time than loading
        # the model takes (several seconds)
        started = time.monotonic()
        vector = embed_query(
            broker,
            "fishing boats in the harbour",
            tenant_id=str(uuid.uuid4()),
            timeout_ms=3_000,
            backend=results_backend(settings.redis.url),
        )

        # Then it is answered in time
        assert len(vector) == 384
        assert time.monotonic() - started < 3
        assert "onnx_queries=True" in Path(log).read_text(errors="replace")
        # only the default deployment's first model was loaded: under by-language
        # multilingual-e5-small waits for a Portuguese document or query
        ready = [line for line in Path(log).read_text(errors="replace").splitlines()
                 if "embedding model ready" in line]  # fmt: skip
        assert len(ready) == 1, ready
        assert "all-MiniLM-L6-v2@" in ready[0], ready
        # and chunks are embedded in bfloat16 where the CPU has it (the default)
        expected = f"bf16_documents={cpu_has_bf16()}"
        assert expected in Path(log).read_text(errors="replace")
    finally:
        broker.close()
        worker.close()
