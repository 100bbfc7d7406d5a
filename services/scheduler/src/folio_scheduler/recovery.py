"""Sending the ticks missed while Redis or PostgreSQL was down.

A tick that could not be sent (:class:`~folio_scheduler.ticks.TickNotSent`)
makes the scheduler owe a catch-up. :class:`CatchUpKeeper` runs it on a
thread of its own, every ``retry_s`` seconds, until it goes through: then
every task whose latest due tick was not sent gets one run
(:func:`~folio_scheduler.catchup.catch_up`). periodiq's own ticks go on
meanwhile; each one that fails owes the catch-up again. Ticks stay claimed
once, so a catch-up and a regular tick, or two replicas, never send the
same tick twice.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from folio_scheduler.catchup import catch_up
from folio_scheduler.ticks import Periodic, TickNotSent
from folio_shared.logging import get_logger

log = get_logger(__name__)


class CatchUpKeeper:
    """Retries the catch-up of missed ticks until Redis and PostgreSQL answer.

    - ``retry_s``: seconds between two tries while a catch-up is owed
      (``FOLIO_SCHEDULER_CATCH_UP_RETRY_S``, default 10).

    :meth:`attach` gives it the tasks, :meth:`start` its daemon thread;
    :meth:`owe` (the tasks' ``on_missed``) asks for a catch-up.
    """

    def __init__(self, *, retry_s: float) -> None:
        self.retry_s = retry_s
        self.tasks: Sequence[Periodic] = ()
        self._owed = threading.Event()
        self._trying = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def attach(self, tasks: Sequence[Periodic]) -> None:
        self.tasks = tasks

    def owe(self) -> None:
        """Ask for a catch-up (at the next try)."""
        self._owed.set()

    @property
    def owed(self) -> bool:
        """Whether a catch-up is owed or under way."""
        return self._owed.is_set() or self._trying.locked()

    def try_now(self) -> bool:
        """One catch-up, now; ``False`` (and the catch-up still owed) when a
        task's tick could not be sent."""
        with self._trying:
            return self._try()

    def _try(self) -> bool:
        # Cleared first: a tick missed while this runs owes another round.
        self._owed.clear()
        try:
            sent = catch_up(self.tasks, datetime.now(UTC), attempts=1)
        except TickNotSent as e:
            log.warning(
                "missed ticks not sent yet; trying again", retry_s=self.retry_s, **e.details
            )
            self._owed.set()
            return False
        log.info("missed ticks caught up", caught_up=sent)
        return True

    def start(self) -> None:
        """Start the retry thread (a daemon: it never holds the process)."""
        self._thread = threading.Thread(target=self._run, name="catch-up", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._owed.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._owed.wait()
            if self._stop.wait(self.retry_s):
                return
            self.try_now()
