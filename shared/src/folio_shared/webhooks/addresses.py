"""Where a webhook may go: never to the deployment's own network (SSRF).

A URL is checked when it is registered (scheme, host, a literal address)
and again at every send: the host is resolved and **every** address it
resolves to must be global, and the request then goes to one of those
checked addresses (the URL's host name stays in the ``Host`` header and
the TLS server name), so a name that resolves elsewhere between the check
and the connection (DNS rebinding) cannot reach an internal address.
Private, loopback, link-local, shared, reserved, multicast and
unspecified addresses are all refused unless the operator allows them
(``FOLIO_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import ClassVar
from urllib.parse import urlsplit

from folio_shared.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: The longest URL accepted.
MAX_URL_LENGTH = 2_000


class InvalidWebhookUrl(InvalidInput):
    """A webhook URL that is malformed or may not be used."""

    code = "invalid_webhook_url"
    http_status = 422
    public_details: ClassVar[tuple[str, ...]] = ("url",)


class AddressRefused(InvalidWebhookUrl):
    """The URL's host is, or resolves to, a non-global address."""

    code = "webhook_address_refused"
    public_details = ("url", "address")


def is_global(address: IPAddress) -> bool:
    """Whether ``address`` is a public unicast address (an IPv4-mapped
    IPv6 address is judged as the IPv4 address it carries)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def split(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an ``http``/``https`` URL, else
    :class:`InvalidWebhookUrl`."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"the URL is longer than {MAX_URL_LENGTH} characters", url=url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise InvalidWebhookUrl(f"not a valid URL: {e}", url=url) from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhookUrl("the URL must be http:// or https:// with a host", url=url)
    if parts.username or parts.password:
        raise InvalidWebhookUrl("the URL may not carry a user name or password", url=url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname, port or default


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: str, *, allow_private: bool) -> str:
    """``url`` when it may be registered: ``http``/``https``, a host, no
    credentials, and no literal non-global address (names are resolved at
    send time, by :func:`resolve`)."""
    _, host, _ = split(url)
    address = _literal(host)
    if address is not None and not allow_private and not is_global(address):
        raise AddressRefused(f"{address} is not a public address", url=url, address=str(address))
    if not allow_private and host.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        raise AddressRefused(f"{host} is the local host", url=url, address=host)
    return url


async def resolve(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """The addresses of ``host``, all checked; :class:`AddressRefused` when
    any is not global (and private ones are not allowed), or when the name
    does not resolve."""
    literal = _literal(host)
    if literal is not None:
        found = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as e:
            raise AddressRefused(f"{host} does not resolve: {e}", url=host, address=host) from e
        found = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    if not allow_private:
        for address in found:
            if not is_global(address):
                raise AddressRefused(
                    f"{host} resolves to {address}, which is not a public address",
                    url=host,
                    address=str(address),
                )
    if not found:
        raise AddressRefused(f"{host} has no address", url=host, address=host)
    return found
