"""Folio developer tooling: the embedded servers behind ``make dev`` and ``make test``.

This package is run, never imported by Folio's own code (only tests and
tools may import it). Entry point: ``python -m folio_devstack {dev,test}``.
"""

from folio_devstack.servers import MotoServer, PostgresServer, RedisServer

__all__ = ["MotoServer", "PostgresServer", "RedisServer"]
