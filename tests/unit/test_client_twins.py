"""The sync and async clients are one set of plans run two ways: every
public method of one is on the other, with the same parameters, and the
async one is a coroutine (or an async iterator) where the sync one returns
a value (or an iterator)."""

from __future__ import annotations

import inspect

from folio_client import AsyncFolio, Folio

LIFECYCLE = {"close", "aclose"}


def public(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in LIFECYCLE
    }


def test_both_clients_offer_the_same_methods_with_the_same_parameters() -> None:
    sync, async_ = public(Folio), public(AsyncFolio)
    assert set(sync) == set(async_)
    for name in sync:
        assert (
            inspect.signature(sync[name]).parameters  # type: ignore[arg-type]
            == inspect.signature(async_[name]).parameters  # type: ignore[arg-type]
        ), name


def test_async_methods_are_awaited_or_iterated() -> None:
    for name, member in public(AsyncFolio).items():
        returns = str(inspect.signature(member).return_annotation)  # type: ignore[arg-type]
        iterates = "Iterator" in returns
        assert inspect.iscoroutinefunction(member) != iterates, name
        assert ("AsyncIterator" in returns) == iterates, name
