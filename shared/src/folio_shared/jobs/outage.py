"""Messages that arrive while PostgreSQL cannot be reached.

A job is claimed in its row before its actor runs; with PostgreSQL down
the claim cannot be made. Dramatiq logs a middleware's error and runs the
actor anyway (outside any job), so every message of a short outage used
to leave two tracebacks and run untracked. :func:`hand_back` sends such a
message again after :data:`DEFER_MS` (the job stays ``queued`` in its row,
untouched) and the worker skips the fetched copy, without Dramatiq's line
per skipped message; one warning per :data:`LOG_EVERY_S` seconds says how
many were handed back.
"""

from __future__ import annotations

import logging
import random
import threading
import time

import asyncpg
import dramatiq
import sqlalchemy.exc
from dramatiq.broker import MessageProxy

from folio_shared.logging import get_logger

log = get_logger(__name__)

#: What a statement raises when PostgreSQL cannot be reached.
UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ObjectNotInPrerequisiteStateError,  # "not accepting connections"
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)
#: Delay before a handed-back message comes again, in ms (plus up to 50 % jitter).
DEFER_MS = 2_000
#: Most one warning per this many seconds, per process.
LOG_EVERY_S = 10.0

_lock = threading.Lock()
_since_log: dict[str, float] = {"count": 0, "at": 0.0}


class _QuietSkips(logging.Filter):
    """Drops Dramatiq's "Message … was skipped." line for a message handed
    back on purpose (``folio_deferred``): the throttled warning counts them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != "Message %s was skipped." or not record.args:
            return True
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        options = getattr(args[0], "options", None) or {}
        return not options.get("folio_deferred")


def hand_back(broker: dramatiq.Broker, message: MessageProxy, error: BaseException) -> None:
    """Send ``message`` again after a delay (its job could not be claimed);
    the caller then raises ``SkipMessage``."""
    broker.enqueue(message.copy(), delay=int(DEFER_MS * (1 + random.random() / 2)))  # noqa: S311
    message.options["folio_deferred"] = True
    with _lock:
        if not _since_log.get("filtered"):
            logging.getLogger("dramatiq.worker.WorkerThread").addFilter(_QuietSkips())
            _since_log["filtered"] = 1
        _since_log["count"] += 1
        now = time.monotonic()
        if now - _since_log["at"] < LOG_EVERY_S:
            return
        count, _since_log["count"], _since_log["at"] = _since_log["count"], 0, now
    log.warning(
        "database unreachable: messages handed back for later",
        messages=int(count),
        error=type(error).__name__,
        retry_in_ms=DEFER_MS,
    )
