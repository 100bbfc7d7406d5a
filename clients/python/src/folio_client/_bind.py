"""Turning a plan function into a client method: the method keeps the
plan's name, docstring and parameters (``inspect.signature`` and
``typing.get_type_hints`` show them, with ``self`` first) and returns what
the plan returns (sync), a coroutine of it (async) or an iterator of the
items a paged plan emits."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any


def _result(plan: Callable[..., Any]) -> Any:
    """What a ``Plan[T]`` function returns in the end: ``T``."""
    hint = typing.get_type_hints(plan)["return"]
    return typing.get_args(hint)[2]


def method(plan: Callable[..., Any], runner: str, returns: Any) -> Any:
    """A method returning ``self.<runner>(plan(*args, **kwargs))``, with the
    plan's signature and ``returns`` as its return annotation."""

    @functools.wraps(plan)
    def bound(self: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(self, runner)(plan(*args, **kwargs))

    return _describe(bound, plan, returns)


def async_method(plan: Callable[..., Any]) -> Any:
    """An ``async def`` method awaiting ``self._run(plan(...))``."""

    @functools.wraps(plan)
    async def bound(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await self._run(plan(*args, **kwargs))

    return _describe(bound, plan, _result(plan))


def sync_returns(plan: Callable[..., Any]) -> Any:
    return _result(plan)


def iterator_of(item: type) -> Any:
    return Iterator[item]  # type: ignore[valid-type]


def async_iterator_of(item: type) -> Any:
    return AsyncIterator[item]  # type: ignore[valid-type]


def _describe(bound: Any, plan: Callable[..., Any], returns: Any) -> Any:
    hints = {**typing.get_type_hints(plan), "return": returns}
    signature = inspect.signature(plan)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    bound.__signature__ = signature.replace(
        parameters=[self_param, *signature.parameters.values()], return_annotation=returns
    )
    bound.__annotations__ = hints
    del bound.__wrapped__  # the hints above are resolved already
    return bound
