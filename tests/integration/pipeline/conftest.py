"""Fixtures for the document pipeline: the real embedding model, loaded
once per test session."""

from __future__ import annotations

import pytest

from folio_worker_docs.embeddings.model import Embedder, get_embedder


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return get_embedder()
