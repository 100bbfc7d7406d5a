"""Errors of the developer tooling, under Folio's root :class:`FolioError`."""

from __future__ import annotations

from folio_shared.errors import FolioError


class DevstackError(FolioError):
    """Root of the developer tooling's errors."""

    code = "devstack_error"


class MissingSystemDependency(DevstackError):
    """A program the embedded stack needs (``redis-server``, ...) is not installed."""

    code = "missing_system_dependency"


class PortInUse(DevstackError):
    """A fixed port the dev stack needs is taken by another program."""

    code = "port_in_use"


class ServerStartFailed(DevstackError):
    """A server exited or did not become ready in time."""

    code = "server_start_failed"
