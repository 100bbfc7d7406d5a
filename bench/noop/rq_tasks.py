"""RQ for comparison: the no-op job function (``rq_tasks.noop``)."""

from __future__ import annotations


def noop() -> None:
    return None
