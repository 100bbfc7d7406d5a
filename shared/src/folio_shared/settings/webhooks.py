"""Settings of webhook deliveries (``FOLIO_WEBHOOKS_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from folio_shared.settings._base import _group


class WebhookSettings(BaseSettings):
    """How webhooks are sent.

    - ``FOLIO_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES``: send to private, loopback,
      link-local and other non-global addresses too (default false: such
      an address is refused, at registration and at every send).
    - ``FOLIO_WEBHOOKS_TIMEOUT_MS``: per attempt, connect to last byte
      (default 10000).
    - ``FOLIO_WEBHOOKS_MIN_BACKOFF_MS`` / ``FOLIO_WEBHOOKS_MAX_BACKOFF_MS``:
      the factor and the cap of the exponential backoff with jitter
      (Dramatiq's ``compute_backoff``): the first retry comes after one to
      two factors, each next one about twice as late, never later than the
      cap (defaults 5000 and 3600000).
    - ``FOLIO_WEBHOOKS_MAX_ATTEMPTS``: attempts per delivery before it is
      given up (default 30: about a day with the defaults).
    - ``FOLIO_WEBHOOKS_DISABLE_AFTER_S``: an endpoint whose attempts have
      all failed for this long is disabled (default 86400: a day).
    - ``FOLIO_WEBHOOKS_RESPONSE_CAPTURE_BYTES``: bytes of each answer kept
      in the delivery log (default 2048).
    - ``FOLIO_WEBHOOKS_RELAY_INTERVAL_MS``: how often a worker looks for
      due deliveries (default 1000).
    - ``FOLIO_WEBHOOKS_DELIVERY_RETENTION_DAYS``: delivered or given-up
      deliveries (and their attempts) kept, counted from their creation
      (default 30; 0: kept forever). Pending ones are never deleted.
    """

    model_config = _group("FOLIO_WEBHOOKS_")

    allow_private_addresses: bool = False
    timeout_ms: int = Field(default=10_000, ge=100, le=120_000)
    min_backoff_ms: int = Field(default=5_000, ge=10)
    max_backoff_ms: int = Field(default=3_600_000, ge=10)
    max_attempts: int = Field(default=30, ge=1, le=100)
    disable_after_s: float = Field(default=86_400, gt=0)
    response_capture_bytes: int = Field(default=2_048, ge=0, le=65_536)
    relay_interval_ms: int = Field(default=1_000, ge=50)
    delivery_retention_days: int = Field(default=30, ge=0)
