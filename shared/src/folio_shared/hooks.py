"""Middleware signals sent only to the middleware that handle them.

Dramatiq's ``Broker.emit_before`` and ``emit_after`` call the signal's
method on every middleware, and most of Folio's twenty implement only a
few of them: each message made about a hundred calls of inherited empty
methods (``before_process_message``, ``after_process_message``,
``before_ack``, ``after_ack``, …), each through ``getattr`` and a new
``kwargs`` dict, on the worker threads that share one interpreter lock.
:class:`HookDispatch` keeps, per signal, the hooks of the middleware that
override it, in the broker's order, and calls only those. Same order, same
errors: a ``MiddlewareError`` raised by a ``before_*`` hook propagates,
any other exception is logged as Dramatiq logs it.

The lists are rebuilt whenever the broker's middleware list changed (a
middleware added, removed or replaced), compared element by element.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dramatiq.middleware import Middleware, MiddlewareError

Hook = Callable[..., None]


def handles(middleware: Middleware, name: str) -> bool:
    """Whether ``middleware`` does something on signal ``name``: its class
    (or the instance itself) overrides :class:`Middleware`'s empty method."""
    if name in vars(middleware):
        return True
    own = getattr(type(middleware), name, None)
    return own is not None and own is not getattr(Middleware, name, None)


class HookDispatch:
    """Mixin for a Dramatiq broker: ``emit_before`` and ``emit_after``
    call only the hooks that do something (see the module docstring)."""

    middleware: list[Middleware]
    logger: Any

    #: The middleware list the hooks were read from, and the hooks by
    #: signal; replaced as a whole, so threads never mix two versions.
    _hook_state: tuple[list[Middleware], dict[str, tuple[Hook, ...]]] | None = None

    def _hooks_for(self, name: str, reverse: bool) -> tuple[Hook, ...]:
        state = self._hook_state
        if state is None or state[0] != self.middleware:
            state = self._hook_state = (list(self.middleware), {})
        stack, by_name = state
        hooks = by_name.get(name)
        if hooks is None:
            ordered = reversed(stack) if reverse else stack
            hooks = by_name[name] = tuple(getattr(m, name) for m in ordered if handles(m, name))
        return hooks

    def emit_before(self, signal: str, *args: Any, **kwargs: Any) -> None:
        self._emit("before_" + signal, False, args, kwargs)

    def emit_after(self, signal: str, *args: Any, **kwargs: Any) -> None:
        self._emit("after_" + signal, True, args, kwargs)

    def _emit(self, name: str, after: bool, args: Any, kwargs: Any) -> None:
        for hook in self._hooks_for(name, reverse=after):
            try:
                hook(self, *args, **kwargs)
            except MiddlewareError:
                if after:  # Dramatiq lets it stop only a before_* signal
                    self._failed(name, hook)
                else:
                    raise
            except Exception:
                self._failed(name, hook)

    def _failed(self, name: str, hook: Hook) -> None:
        owner = getattr(hook, "__self__", hook)
        self.logger.critical("Unexpected failure in %s of %r.", name, owner, exc_info=True)
