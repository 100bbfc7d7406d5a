"""Acks that wait for their job's outcome, off the worker thread.

A tracked message may be acked only once its job's outcome is durable
(ADR 0003): acked earlier, a worker killed in between would leave a job
``running`` that no message will run again before its lease ends. Until
now the worker thread waited for the outcome's round before Dramatiq
acked the message on that thread, so each job cost its thread two rounds
in a row (its outcome, then the next message's claim), and a round's
claims and outcomes seldom met.

With an :class:`AckGate`, a success that only changes the job row is
*posted* to the next round (:meth:`Bookkeeper.record_later`) and the
thread goes on to its next message at once; its next claim can share a
round with that outcome. The message's ack is held by the gate instead:

- :meth:`AckGate.hold` (``JobTracking``, in ``after_process_message``)
  ties the message to its outcome's :class:`~folio_shared.jobs.waiters.Posted`;
- Dramatiq then acks it on the worker thread through the consumer, which
  the broker wrapped in a :class:`GatedConsumer`; a held message's ack is
  not made there but handed to the gate's *acker* thread once the round
  has ended, which makes it with the consumer's own ``ack``;
- a message nobody holds (untracked, failed, an outcome that needs a
  transaction) is acked at once, as before.

So a message is still acked only after its outcome committed, and a
worker killed in between leaves the outcome committed and the message
unacked: redelivered, its claim is refused (exactly one final state). A
round that fails (PostgreSQL unreachable) still releases the ack, as the
failed wait did before: the job stays ``running`` until its lease ends and
the reconciler sends it again. An ack that fails on a lost Redis
connection is tried again every :attr:`AckGate.retry_s` until Redis
answers, as Dramatiq's own post-processing does, for as long as the worker
runs. It used to be given up after 30 tries: the message then stayed in
the live worker's set of fetched messages, which Dramatiq hands back only
when that worker dies, so after an outage of more than 30 s it sat "in
flight" (and in Redis's memory) until the worker restarted. Only a
stopping worker gives its acks up (:meth:`AckGate.close`): its messages
come back once its heartbeat ends, and their claims are refused.

Dramatiq's Redis consumer counts a fetched message against its prefetch
until it is acked, so held acks would starve the threads: measured, the
threads waited for a message 37 % of their time, the consumer idling at
its prefetch. :meth:`FolioRedisBroker.consume` therefore gives a gated
consumer half as many more (a thread holds about one ack at a time, and
Dramatiq's prefetch is two messages per thread).

A consumer being closed (worker shutdown, consumer restart) first waits
up to ``flush_s`` for its held acks, so a stopping worker leaves none.
Dramatiq's ``before_ack`` and ``after_ack`` signals still come from the
worker thread, when Dramatiq asks for the ack.

The gate's :attr:`AckGate.watcher`, when set, is told of every message a
gated consumer hands out and of those it gives back to Redis unrun: the
job engine claims jobs there (:mod:`folio_shared.jobs.reserve`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from queue import SimpleQueue
from typing import Any, Protocol

import dramatiq
from dramatiq.broker import Consumer, MessageProxy
from dramatiq.errors import BrokerConnectionError

from folio_shared.jobs.waiters import Posted
from folio_shared.logging import get_logger

log = get_logger(__name__)


class FetchWatcher(Protocol):
    """Told of the messages a gated consumer hands out and gives back."""

    def fetched(self, message: MessageProxy) -> None: ...
    def requeued(self, messages: Iterable[MessageProxy]) -> None: ...


class AckGate:
    """Holds acks of messages until their outcome's round ended (see the
    module docstring). One per broker; thread-safe.

    - ``retry_s``: wait between two tries of an ack that lost its Redis
      connection (default 1 s); it is tried until Redis answers or the
      gate closes;
    - ``flush_s``: longest wait of a closing consumer for its held acks
      (default 5 s).
    """

    def __init__(self, *, retry_s: float = 1.0, flush_s: float = 5.0) -> None:
        self.retry_s = retry_s
        self.flush_s = flush_s
        #: Set by :meth:`close`: an ack failing then is given up.
        self._closing = threading.Event()
        #: Held acks by (queue, message id): a delayed copy of a message
        #: (its ``.DQ`` queue) keeps the message's id.
        self._held: dict[tuple[str, str], Posted] = {}
        self._ready: SimpleQueue[tuple[Consumer, MessageProxy] | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        #: Acks handed over and not yet made, by consumer.
        self._owed: dict[int, int] = {}
        self._thread: threading.Thread | None = None
        #: Acks made after their round (for tests and the benchmark).
        self.acked = 0
        #: Told of the messages the gated consumers fetch and give back.
        self.watcher: FetchWatcher | None = None

    def hold(self, message: MessageProxy, posted: Posted) -> None:
        """The ack of ``message`` waits for ``posted``'s round."""
        self._held[message.queue_name, message.message_id] = posted

    def wrap(self, consumer: Consumer, prefetch: int = 0) -> GatedConsumer:
        """``consumer`` with its acks going through this gate (and, with
        its ``prefetch``, waiting for room as :class:`GatedConsumer` says)."""
        return GatedConsumer(self, consumer, prefetch)

    def ack(self, consumer: Consumer, message: MessageProxy) -> None:
        """Ack ``message`` now, or once its outcome's round ended."""
        posted = self._held.pop((message.queue_name, message.message_id), None)
        if posted is None:
            consumer.ack(message)
            return
        with self._lock:
            self._owed[id(consumer)] = self._owed.get(id(consumer), 0) + 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="folio-job-acks", daemon=True
                )
                self._thread.start()
        posted.when_done(lambda: self._release(posted, consumer, message))

    def flush(self, consumer: Consumer) -> bool:
        """Wait (up to ``flush_s``) until ``consumer`` owes no held ack;
        ``False`` when some are still owed."""
        deadline = time.monotonic() + self.flush_s
        with self._changed:
            while self._owed.get(id(consumer), 0) > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def close(self) -> None:
        """Stop the acker thread once it tried the acks handed to it once
        more (those Redis still refuses are given up)."""
        self._closing.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._ready.put(None)
            thread.join(timeout=self.flush_s)

    def _release(self, posted: Posted, consumer: Consumer, message: MessageProxy) -> None:
        if posted.error is not None:
            log.warning(
                "job outcome not recorded; its lease will end it",
                message_id=message.message_id,
                error=repr(posted.error),
            )
        self._ready.put((consumer, message))

    def _run(self) -> None:
        while (item := self._ready.get()) is not None:
            consumer, message = item
            try:
                self._ack(consumer, message)
            finally:
                with self._changed:
                    left = self._owed[id(consumer)] - 1
                    if left:
                        self._owed[id(consumer)] = left
                    else:
                        del self._owed[id(consumer)]
                    self._changed.notify_all()

    def _ack(self, consumer: Consumer, message: MessageProxy) -> None:
        failed = False
        while True:
            try:
                consumer.ack(message)
            except BrokerConnectionError as e:
                if not failed:
                    failed = True
                    log.warning(
                        "message not acked; trying again until Redis answers",
                        message_id=message.message_id,
                        error=repr(e),
                    )
                if self._closing.wait(self.retry_s):
                    log.warning(
                        "message not acked as the worker stops; it comes back and is skipped",
                        message_id=message.message_id,
                    )
                    return
                continue
            except Exception as e:
                log.warning("message not acked", message_id=message.message_id, error=repr(e))
                return
            self.acked += 1
            if failed:
                log.info("message acked after Redis came back", message_id=message.message_id)
            return


#: Longest wait of a full gated consumer for room before it hands out
#: nothing (Dramatiq's consumer thread then looks at its delayed messages).
ROOM_WAIT_S = 0.1


class GatedConsumer(Consumer):
    """A broker's consumer whose acks go through an :class:`AckGate`;
    everything else is the consumer's own.

    With a ``prefetch`` (the one the consumer was made with), it also waits
    while that many messages it handed out are not yet acked: Dramatiq's
    Redis consumer, asked for a message with its window full, sleeps with a
    growing backoff (5 to 10 ms at first, doubling each time it is still
    full), which the held acks made the usual case and which left worker
    threads idle. This consumer instead waits until acks made room for an
    eighth of the window (or :data:`ROOM_WAIT_S`), woken by the acks
    themselves, and only then asks Dramatiq's consumer, which fetches.
    """

    def __init__(self, gate: AckGate, consumer: Consumer, prefetch: int = 0) -> None:
        self.gate = gate
        self.consumer = consumer
        self.prefetch = prefetch
        #: Fetch again once at most this many handed-out messages are unacked.
        self.low_water = prefetch - max(1, prefetch // 8)
        self._out: set[str] = set()
        self._room = threading.Condition()
        self._counted = _Counted(self)

    def __next__(self) -> Any:
        if self.prefetch and not self._wait_for_room():
            return None
        message = next(self.consumer)
        if message is None:
            return None
        if self.prefetch:
            with self._room:
                self._out.add(message.message_id)
        watcher = self.gate.watcher
        if watcher is not None:
            try:
                watcher.fetched(message)
            except Exception as e:  # never into Dramatiq's consumer thread
                log.warning("fetched message not watched", error=repr(e))
        return message

    def _wait_for_room(self) -> bool:
        with self._room:
            if len(self._out) < self.prefetch:
                return True
            return self._room.wait_for(lambda: len(self._out) <= self.low_water, ROOM_WAIT_S)

    def settled(self, message: MessageProxy) -> None:
        """``message`` was acked or nacked (or its ack given up)."""
        if self.prefetch:
            with self._room:
                self._out.discard(message.message_id)
                if len(self._out) <= self.low_water:
                    self._room.notify_all()

    def ack(self, message: MessageProxy) -> None:
        self.gate.ack(self._counted, message)

    def nack(self, message: MessageProxy) -> None:
        self._counted.nack(message)

    def requeue(self, messages: Iterable[MessageProxy]) -> None:
        messages = list(messages)
        watcher = self.gate.watcher
        if watcher is not None and messages:
            try:
                watcher.requeued(messages)
            except Exception as e:
                log.warning("requeued messages not watched", error=repr(e))
        self.consumer.requeue(messages)

    def close(self) -> None:
        if not self.gate.flush(self._counted):
            log.warning("consumer closed with acks still held by their outcomes")
        self.consumer.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.consumer, name)


class _Counted(Consumer):
    """A gated consumer's own ack and nack, telling it each message settled."""

    def __init__(self, gated: GatedConsumer) -> None:
        self.gated = gated

    def ack(self, message: MessageProxy) -> None:
        try:
            self.gated.consumer.ack(message)
        finally:
            self.gated.settled(message)

    def nack(self, message: MessageProxy) -> None:
        try:
            self.gated.consumer.nack(message)
        finally:
            self.gated.settled(message)

    def __next__(self) -> Any:
        return next(self.gated.consumer)


def chained(broker: dramatiq.Broker, message: MessageProxy) -> bool:
    """Whether Dramatiq sends a message after this one's success (a
    pipeline's next step, an ``on_success`` callback): its thread then
    waits for the outcome's commit, so the next step never finds the job
    still running."""
    options = message.options
    if options.get("pipe_target") is not None or options.get("on_success"):
        return True
    return bool(broker.get_actor(message.actor_name).options.get("on_success"))
