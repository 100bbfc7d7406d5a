"""How often Folio's Redis broker polls an idle queue (no server needed:
building a consumer does not connect)."""

from __future__ import annotations

from folio_shared.broker import FolioRedisBroker


def test_idle_polls_are_short_where_someone_waits() -> None:
    broker = FolioRedisBroker(url="redis://127.0.0.1:1/0", middleware=[])
    try:
        timeouts = {
            name: broker.consume(name, timeout=1000).timeout
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
    assert timeouts == {
        "queries.high": 10,  # a search waits on its query's vector
        "queries.critical": 10,
        "queries": 1000,
        "documents.high": 100,  # priority work, not awaited by a request
        "documents": 1000,
    }
