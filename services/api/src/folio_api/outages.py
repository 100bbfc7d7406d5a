"""Which dependency an unexpected exception says is down.

A request that fails because PostgreSQL or Redis cannot be reached is not
an internal error: the client should retry later. :func:`unavailable`
names the dependency (``"postgres"``, ``"redis"``) when the exception, or
one it was raised from, is that dependency being unreachable: a refused or
lost connection, a pool timeout, a server refusing new connections. A bare
``OSError`` or ``TimeoutError`` is attributed by the library it was raised
in. Anything else is ``None`` (a real internal error).
"""

from __future__ import annotations

from types import TracebackType

import asyncpg
import redis.exceptions
import sqlalchemy.exc

#: The names the API gives dependencies in problems and ``/readyz``.
NAMES = {"postgres": "PostgreSQL", "redis": "Redis"}

#: asyncpg's answers of a server that is there but takes no connection.
_PG_REFUSALS = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ObjectNotInPrerequisiteStateError,  # "not accepting connections"
)
_LIBRARIES = (("asyncpg", "postgres"), ("sqlalchemy", "postgres"), ("redis", "redis"))
#: How deep the chain of causes is followed.
_MAX_DEPTH = 8


def _by_traceback(tb: TracebackType | None) -> str | None:
    """The dependency whose client library raised (the innermost frame wins)."""
    found = None
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        for prefix, name in _LIBRARIES:
            if module == prefix or module.startswith(prefix + "."):
                found = name
        tb = tb.tb_next
    return found


def _one(error: BaseException) -> str | None:
    if isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return "redis"
    if isinstance(error, sqlalchemy.exc.DBAPIError) and (
        error.connection_invalidated
        or isinstance(error, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError)
    ):
        return "postgres"
    if isinstance(error, (sqlalchemy.exc.TimeoutError, *_PG_REFUSALS)):
        return "postgres"
    if isinstance(error, OSError | TimeoutError):
        return _by_traceback(error.__traceback__)
    return None


def unavailable(error: BaseException) -> str | None:
    """``"postgres"`` or ``"redis"`` when ``error`` means that dependency is
    unreachable, else ``None``."""
    seen: BaseException | None = error
    for _ in range(_MAX_DEPTH):
        if seen is None:
            return None
        name = _one(seen)
        if name is not None:
            return name
        seen = seen.__cause__ or seen.__context__
    return None
