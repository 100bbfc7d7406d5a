"""How often Folio's Redis broker polls an idle queue (no server needed:
building a consumer does not connect)."""

from __future__ import annotations

from folio_shared.broker import FolioRedisBroker


def test_idle_polls_are_short_where_someone_waits() -> None:
    broker = FolioRedisBroker(url="redis://127.0.0.1:1/0", middleware=[])
    try:
        consumers = {
            name: broker.consume(name, timeout=1000)
            for name in (
                "queries.high",
                "queries.critical",
                "queries",
                "documents.high",
                "documents",
            )
        }
    finally:
        broker.close()
    waits = {name: getattr(c, "wait_s", None) for name, c in consumers.items()}
    timeouts = {name: c.timeout for name, c in consumers.items()}
    # a search waits on its query's vector: woken by the send, else every 50 ms
    assert waits["queries.high"] == waits["queries.critical"] == 0.05
    assert consumers["queries.high"].wake_key == "dramatiq:queries.high.wake"
    assert {k: v for k, v in timeouts.items() if not k.startswith("queries.")} == {
        "queries": 1000,
        "documents.high": 100,  # priority work, not awaited by a request
        "documents": 1000,
    }
    assert waits["queries"] is None
    assert waits["documents.high"] is None


def test_a_job_queue_fetches_more_as_its_acks_wait_for_their_outcomes() -> None:
    broker = FolioRedisBroker(url="redis://127.0.0.1:1/0", middleware=[])
    try:
        # held acks count against Dramatiq's prefetch until they are made
        assert broker.consume("documents", prefetch=16).prefetch == 24
        assert broker.consume("documents.DQ", prefetch=16).prefetch == 16
        assert broker.consume("queries.high", prefetch=16).prefetch == 16
    finally:
        broker.close()


def test_a_job_queue_claiming_early_fetches_more_still() -> None:
    broker = FolioRedisBroker(url="redis://127.0.0.1:1/0", middleware=[], early_claims=True)
    try:
        # claimed messages waiting for a thread count against it too
        assert broker.consume("documents", prefetch=16).prefetch == 40
        assert broker.consume("documents.DQ", prefetch=16).prefetch == 16
    finally:
        broker.close()
