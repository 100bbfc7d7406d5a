"""The SQL of idempotency keys (table ``idempotency_keys``, migration 0009),
on the API's raw asyncpg pool (autocommitted statements)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

_CLAIM = """
INSERT INTO idempotency_keys (scope, key, method, path) VALUES ($1, $2, $3, $4)
ON CONFLICT (scope, key) DO NOTHING RETURNING created_at
"""
_READ = """
SELECT request_hash, status_code, response_headers, response_body, created_at,
       extract(epoch FROM now() - created_at) AS age_s
FROM idempotency_keys WHERE scope = $1 AND key = $2
"""
_COMPLETE = """
UPDATE idempotency_keys
SET request_hash = $3, status_code = $4, response_headers = $5, response_body = $6,
    completed_at = now()
WHERE scope = $1 AND key = $2
"""
_RELEASE = "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2"
_DROP_OLD = "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at = $3"
_PURGE = """
DELETE FROM idempotency_keys WHERE (scope, key) IN (
  SELECT scope, key FROM idempotency_keys
  WHERE created_at < now() - make_interval(secs => $1) LIMIT $2
)
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """A key's row: the first request's ``request_hash`` and response
    (``status_code`` is ``None`` while that request runs), and its age."""

    request_hash: str | None
    status_code: int | None
    headers: list[list[str]]
    body: bytes
    created_at: Any
    age_s: float

    @property
    def completed(self) -> bool:
        return self.status_code is not None


async def claim(pg: asyncpg.Pool, scope: str, key: str, method: str, path: str) -> bool:
    """Insert the key's row; ``False`` when it exists already."""
    return await pg.fetchval(_CLAIM, scope, key, method, path) is not None


async def read(pg: asyncpg.Pool, scope: str, key: str) -> Stored | None:
    row = await pg.fetchrow(_READ, scope, key)
    if row is None:
        return None
    return Stored(
        row["request_hash"],
        row["status_code"],
        list(row["response_headers"] or []),
        bytes(row["response_body"] or b""),
        row["created_at"],
        float(row["age_s"]),
    )


async def complete(
    pg: asyncpg.Pool,
    scope: str,
    key: str,
    request_hash: str,
    status_code: int,
    headers: list[list[str]],
    body: bytes,
) -> None:
    """Store the first request's response."""
    await pg.execute(_COMPLETE, scope, key, request_hash, status_code, headers, body)


async def release(pg: asyncpg.Pool, scope: str, key: str) -> None:
    """Drop a claim whose request did not answer something worth replaying."""
    await pg.execute(_RELEASE, scope, key)


async def drop_old(pg: asyncpg.Pool, scope: str, key: str, created_at: Any) -> None:
    """Drop an expired or abandoned row (only the one that was read)."""
    await pg.execute(_DROP_OLD, scope, key, created_at)


async def purge(pg: asyncpg.Pool, older_than_s: float, *, batch_size: int = 1_000) -> int:
    """Delete rows older than ``older_than_s``, ``batch_size`` per statement;
    how many went."""
    total = 0
    while True:
        status = await pg.execute(_PURGE, float(older_than_s), batch_size)
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < batch_size:
            return total
