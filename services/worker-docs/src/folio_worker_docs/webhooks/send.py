"""One attempt to deliver a webhook over HTTP.

The host is resolved and every address checked at each attempt
(:func:`folio_shared.webhooks.addresses.resolve`); the request goes to the
first checked address, with the URL's host in ``Host`` and as the TLS
server name, so what was checked is what is connected to. Redirects are
never followed (a ``3xx`` is a failed attempt: a redirect could lead
anywhere); the attempt is bounded by ``timeout_ms`` from connect to the
last byte read, and at most ``capture_bytes`` of the answer are kept.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from folio_shared.webhooks.addresses import AddressRefused, IPAddress, resolve, split

#: The ``User-Agent`` of deliveries.
USER_AGENT = "Folio-Webhooks/1"


@dataclass(frozen=True)
class Attempt:
    """What one attempt gave: ``outcome`` is ``delivered`` (a 2xx),
    ``http_error`` (another status), ``timeout``, ``network_error`` or
    ``refused`` (the address is not allowed)."""

    outcome: str
    latency_ms: int
    status_code: int | None = None
    error: str | None = None
    body: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "delivered"


def _to_address(url: str, address: IPAddress) -> str:
    parts = urlsplit(url)
    host = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


async def _read_some(response: httpx.Response, limit: int) -> bytes:
    kept = b""
    async for chunk in response.aiter_raw():
        kept += chunk[: max(limit - len(kept), 0)]
        if len(kept) >= limit:
            break
    return kept


async def _post(
    addresses: list[IPAddress],
    url: str,
    body: bytes,
    headers: dict[str, str],
    extensions: dict[str, str],
    capture_bytes: int,
) -> tuple[httpx.Response, bytes]:
    """POST to the checked addresses in turn until one takes the connection."""
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        for n, address in enumerate(addresses):
            request = client.build_request(
                "POST",
                _to_address(url, address),
                content=body,
                headers=headers,
                extensions=extensions,
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.ConnectError:
                if n == len(addresses) - 1:
                    raise
                continue
            try:
                return response, await _read_some(response, capture_bytes)
            finally:
                await response.aclose()
    raise AssertionError("resolve() returns at least one address")


async def attempt(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout_ms: int,
    capture_bytes: int,
    allow_private: bool,
) -> Attempt:
    """POST ``body`` to ``url`` once; never raises for the receiver's sake."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        _, host, port = split(url)
        addresses = await resolve(host, port, allow_private=allow_private)
    except AddressRefused as e:
        return Attempt("refused", took(), error=str(e))
    sent_headers = {
        **headers,
        "Host": urlsplit(url).netloc,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    extensions = {"sni_hostname": host} if url.startswith("https:") else {}
    try:
        async with asyncio.timeout(timeout_ms / 1000):
            response, kept = await _post(
                addresses, url, body, sent_headers, extensions, capture_bytes
            )
    except TimeoutError:
        return Attempt("timeout", took(), error=f"no complete answer within {timeout_ms} ms")
    except httpx.HTTPError as e:
        return Attempt("network_error", took(), error=f"{type(e).__name__}: {e}"[:1000])
    text = kept.decode("utf-8", "replace").replace("\x00", "") if capture_bytes else None
    code = response.status_code
    if 200 <= code < 300:
        return Attempt("delivered", took(), status_code=code, body=text)
    why = f"HTTP {code}" + (" (redirects are not followed)" if 300 <= code < 400 else "")
    return Attempt("http_error", took(), status_code=code, error=why, body=text)
