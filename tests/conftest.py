"""Test-wide fixtures: where the real servers are.

``make test`` starts Redis, PostgreSQL (pgserver, with pgvector) and moto's S3
server on private loopback ports and exports their addresses in the
``FOLIO_TEST_*`` variables below; RabbitMQ is the machine's own on
127.0.0.1:5672. Integration tests never skip when a server is missing: they
fail, saying which variable is unset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class TestServers:
    """Addresses of the servers the test run talks to."""

    redis_url: str  # redis://127.0.0.1:PORT (database 0 is free for tests)
    pg_admin_url: str  # postgresql://postgres@127.0.0.1:PORT/postgres (superuser)
    s3_endpoint_url: str  # http://127.0.0.1:PORT (moto server)
    amqp_url: str  # amqp://guest:guest@127.0.0.1:5672/


_VARS = {
    "redis_url": "FOLIO_TEST_REDIS_URL",
    "pg_admin_url": "FOLIO_TEST_PG_URL",
    "s3_endpoint_url": "FOLIO_TEST_S3_ENDPOINT",
    "amqp_url": "FOLIO_TEST_AMQP_URL",
}


@pytest.fixture(scope="session")
def test_servers() -> TestServers:
    missing = [var for var in _VARS.values() if not os.environ.get(var)]
    if missing:
        pytest.fail(
            "integration servers are not configured (unset: "
            + ", ".join(missing)
            + "); run the tests with `make test`",
            pytrace=False,
        )
    return TestServers(**{field: os.environ[var] for field, var in _VARS.items()})
