"""folio_api.heap: what a settled process's collector walks."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from folio_api.heap import YOUNG_THRESHOLD, settle


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settle_freezes_the_survivors_and_raises_the_young_threshold(restored_gc: None) -> None:
    long_lived = [{"n": i} for i in range(1000)]  # tracked objects that survive
    frozen = settle()
    # frozen objects that die later leave the count (another thread's garbage
    # can do so at any moment), so it may only have fallen since, and it still
    # holds everything that is alive
    assert frozen >= gc.get_freeze_count() >= len(long_lived)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    # a full collection no longer walks them: only objects made since are tracked
    assert not any(obj is long_lived for obj in gc.get_objects(generation=2))
    made_after = [{"n": i} for i in range(10)]
    gc.collect()
    assert any(obj is made_after for obj in gc.get_objects(generation=2))
