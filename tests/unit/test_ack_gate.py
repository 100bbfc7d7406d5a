"""AckGate: a held message is acked only after its outcome's round ended,
off the thread that asked; any other message at once (the real consumer
on Redis: ``tests/integration/jobs/test_job_acks.py``)."""

from __future__ import annotations

import threading
import time
from typing import Any

import dramatiq
import pytest
from dramatiq.broker import Consumer, MessageProxy
from dramatiq.errors import ConnectionClosed

from folio_shared.jobs.acks import AckGate
from folio_shared.jobs.waiters import Posted


class Recording(Consumer):
    """A consumer that records its acks (and fails the first ``fail``)."""

    def __init__(self, fail: int = 0) -> None:
        self.acked: list[tuple[str, str]] = []
        self.fail = fail
        self.closed = False

    def __next__(self) -> Any:
        return None

    def ack(self, message: MessageProxy) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionClosed(OSError("connection lost"))  # type: ignore[no-untyped-call]
        self.acked.append((message.message_id, threading.current_thread().name))

    def nack(self, message: MessageProxy) -> None:
        raise AssertionError("no nack expected")

    def close(self) -> None:
        self.closed = True


def _message() -> MessageProxy:
    return MessageProxy(
        dramatiq.Message(queue_name="q", actor_name="a", args=(), kwargs={}, options={})
    )


def _wait(predicate: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_held_ack_waits_for_its_round_and_others_go_at_once() -> None:
    gate, inner = AckGate(), Recording()
    consumer = gate.wrap(inner)
    held, plain = _message(), _message()
    posted = Posted()
    try:
        # Given a message whose outcome's round is in flight
        gate.hold(held, posted)
        # When Dramatiq acks it, and then a message nobody holds
        consumer.ack(held)
        consumer.ack(plain)
        # Then only the second is acked, at once, on the asking thread
        time.sleep(0.05)
        assert inner.acked == [(plain.message_id, threading.current_thread().name)]
        # And the first is acked once its round ended, by the gate's thread
        posted.set_result(True)
        _wait(lambda: len(inner.acked) == 2)
        assert inner.acked[1] == (held.message_id, "folio-job-acks")
        assert gate.acked == 1
    finally:
        gate.close()


def test_a_failed_round_still_releases_its_ack() -> None:
    gate, inner = AckGate(), Recording()
    message, posted = _message(), Posted()
    try:
        gate.hold(message, posted)
        gate.wrap(inner).ack(message)
        posted.set_exception(OSError("database unreachable"))
        _wait(lambda: len(inner.acked) == 1)
    finally:
        gate.close()


@pytest.mark.parametrize("failures", [2, 100])
def test_an_ack_that_lost_its_connection_is_tried_until_redis_answers(failures: int) -> None:
    # Given an ack whose connection fails a few times, or 100 times (the gate
    # used to give up after 30, leaving the message in the live worker's
    # fetched set)
    gate, inner = AckGate(retry_s=0.001), Recording(fail=failures)
    message, posted = _message(), Posted()
    try:
        gate.hold(message, posted)
        gate.wrap(inner).ack(message)
        posted.set_result(True)
        # Then it is made once the connection works again
        _wait(lambda: len(inner.acked) == 1)
        assert gate.acked == 1
    finally:
        gate.close()


def test_closing_the_gate_gives_up_an_ack_redis_keeps_refusing() -> None:
    # Given an ack failing for as long as the test lasts
    gate, inner = AckGate(retry_s=0.05, flush_s=5.0), Recording(fail=10**9)
    message, posted = _message(), Posted()
    gate.hold(message, posted)
    gate.wrap(inner).ack(message)
    posted.set_result(True)
    _wait(lambda: inner.fail < 10**9)
    # When the worker stops, the gate is closed
    started = time.monotonic()
    gate.close()
    # Then it stops trying at once, not after flush_s
    assert time.monotonic() - started < 1.0
    tries = inner.fail
    time.sleep(0.2)
    assert inner.fail == tries
    assert inner.acked == []


def test_closing_a_consumer_waits_for_its_held_acks() -> None:
    gate, inner = AckGate(flush_s=5.0), Recording()
    consumer = gate.wrap(inner)
    message, posted = _message(), Posted()
    try:
        gate.hold(message, posted)
        consumer.ack(message)
        # When the round ends while the consumer is being closed
        threading.Timer(0.2, posted.set_result, args=(True,)).start()
        started = time.monotonic()
        consumer.close()
        # Then the close returned only after the held ack was made
        assert time.monotonic() - started >= 0.15
        assert [m for m, _ in inner.acked] == [message.message_id]
        assert inner.closed
    finally:
        gate.close()


def test_a_close_gives_up_after_flush_s() -> None:
    gate, inner = AckGate(flush_s=0.1), Recording()
    consumer = gate.wrap(inner)
    message, posted = _message(), Posted()
    try:
        gate.hold(message, posted)
        consumer.ack(message)
        started = time.monotonic()
        consumer.close()  # the round never ends
        assert time.monotonic() - started < 2
        assert inner.acked == []
        assert inner.closed
    finally:
        posted.set_result(True)
        gate.close()


class Fetching(Recording):
    """A consumer that hands out a new message on each call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __next__(self) -> Any:
        self.calls += 1
        return _message()


def test_a_full_consumer_waits_for_acks_to_make_room_then_fetches_at_once() -> None:
    # Given a gated consumer with a window of 8 that handed out 8 messages
    gate, inner = AckGate(), Fetching()
    consumer = gate.wrap(inner, prefetch=8)
    out = [next(consumer) for _ in range(8)]
    try:
        # When it is asked again with none of them acked
        started = time.monotonic()
        assert next(consumer) is None
        # Then it waited (not asking its own consumer, which would sleep
        # with a growing backoff) and handed out nothing
        assert time.monotonic() - started >= 0.05
        assert inner.calls == 8
        # And once an ack makes room, a waiting call fetches at once
        got: list[Any] = []
        asking = threading.Thread(target=lambda: got.append(next(consumer)))
        asking.start()
        time.sleep(0.02)
        consumer.ack(out[0])
        asking.join(timeout=1)
        assert got
        assert got[0] is not None
        assert inner.calls == 9
    finally:
        gate.close()
