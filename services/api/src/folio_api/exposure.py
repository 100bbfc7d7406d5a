"""What the API refuses to serve with, once it listens beyond loopback.

With the local storage backend the API signs upload and download URLs with
``FOLIO_STORAGE_SIGNING_SECRET``, and its upload route needs no API key:
whoever knows the secret can write any key. The development default is
public, so :func:`check_exposure` refuses it whenever ``FOLIO_API_HOST`` is
not a loopback address (``0.0.0.0``, a LAN address, a host name), in every
``FOLIO_ENV`` — a dev or compose deployment reachable from the network is
as exposed as production. On loopback (``make dev``'s default) it is
accepted, and ``make dev`` gives itself a random secret anyway
(``.folio/signing-secret``). With S3 the secret signs nothing.
"""

from __future__ import annotations

import ipaddress

from folio_shared.errors import ConfigurationError
from folio_shared.settings import FolioSettings

#: How the development signing secrets begin (the default is
#: ``folio-dev-signing-secret-change-me``; production refuses them too).
DEV_SECRET_PREFIX = "folio-dev-"  # noqa: S105 (public: what to refuse, not a secret)


def is_loopback(host: str) -> bool:
    """``host`` reaches this machine only (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_exposure(settings: FolioSettings) -> None:
    """Raise :class:`ConfigurationError` if the API would listen beyond
    loopback with the public development signing secret."""
    secret = settings.storage.signing_secret.get_secret_value()
    if settings.storage.backend != "local" or not secret.startswith(DEV_SECRET_PREFIX):
        return
    if not is_loopback(settings.api.host):
        raise ConfigurationError(
            f"FOLIO_API_HOST={settings.api.host} is beyond loopback and "
            "FOLIO_STORAGE_SIGNING_SECRET is the public development default: anyone "
            "could sign upload URLs. Set FOLIO_STORAGE_SIGNING_SECRET to a random value "
            "(e.g. `openssl rand -hex 32`), the same on every API replica.",
            host=settings.api.host,
        )
