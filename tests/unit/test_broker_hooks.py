"""Folio's brokers send a middleware signal only to the middleware that
handle it (folio_shared.hooks), in Dramatiq's order and with its errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from dramatiq.middleware import Middleware, MiddlewareError

from folio_shared.broker import create_broker
from folio_shared.settings import FolioSettings, RedisSettings

calls: list[str] = []


class Plain(Middleware):
    """Handles nothing."""


class Named(Middleware):
    def __init__(self, name: str) -> None:
        self.name = name

    def before_process_message(self, broker: Any, message: Any) -> None:
        calls.append(f"before {self.name}")

    def after_process_message(self, broker: Any, message: Any, **kwargs: Any) -> None:
        calls.append(f"after {self.name}")


class Refuses(Middleware):
    def before_process_message(self, broker: Any, message: Any) -> None:
        raise MiddlewareError("refused")


class Breaks(Middleware):
    def after_process_message(self, broker: Any, message: Any, **kwargs: Any) -> None:
        raise RuntimeError("broken hook")


def _broker(*stack: Middleware) -> dramatiq.Broker:
    settings = FolioSettings(env="test", redis=RedisSettings(url="redis://127.0.0.1:9/0"))
    return create_broker(settings, middleware=list(stack))


@pytest.fixture(autouse=True)
def _clear() -> Iterator[None]:
    calls.clear()
    yield
    calls.clear()


def test_a_middleware_is_not_called_for_a_signal_it_does_not_handle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inherited: list[str] = []
    monkeypatch.setattr(Middleware, "after_ack", lambda *a, **k: inherited.append("ack"))
    monkeypatch.setattr(Middleware, "before_ack", lambda *a, **k: inherited.append("ack"))
    broker = _broker(Plain(), Named("a"), Plain())
    try:
        for _ in range(3):
            broker.emit_before("ack", None)
            broker.emit_after("ack", None)
            broker.emit_before("process_message", None)
        assert inherited == []
        assert calls == ["before a"] * 3
    finally:
        broker.close()


def test_hooks_run_in_dramatiq_order_and_follow_changes_to_the_stack() -> None:
    broker = _broker(Named("a"), Plain(), Named("b"))
    try:
        broker.emit_before("process_message", None)
        broker.emit_after("process_message", None, result=None)
        assert calls == ["before a", "before b", "after b", "after a"]
        calls.clear()
        broker.add_middleware(Named("c"))
        late = Plain()
        late.before_process_message = lambda broker, message: calls.append("instance")  # type: ignore[method-assign]
        broker.middleware.insert(0, late)
        broker.emit_before("process_message", None)
        broker.emit_after("process_message", None, result=None)
        assert calls == [
            "instance",
            "before a",
            "before b",
            "before c",
            "after c",
            "after b",
            "after a",
        ]
    finally:
        broker.close()


def test_errors_are_handled_as_dramatiq_handles_them(caplog: pytest.LogCaptureFixture) -> None:
    broker = _broker(Named("a"), Breaks(), Refuses(), Named("b"))
    try:
        with pytest.raises(MiddlewareError):
            broker.emit_before("process_message", None)
        assert calls == ["before a"]  # stopped at the refusal
        calls.clear()
        broker.emit_after("process_message", None, result=None)
        assert calls == ["after b", "after a"]  # a broken hook does not stop the others
        failed = "Unexpected failure in after_process_message"
        assert any(failed in r.message for r in caplog.records)
    finally:
        broker.close()
