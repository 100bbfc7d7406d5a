"""Webhooks: what the API, the sender and the relay share.

- :mod:`.events`: the event types a tenant may subscribe to;
- :mod:`.signing`: secrets and the Standard Webhooks signature;
- :mod:`.addresses`: which addresses a webhook may be sent to (SSRF);
- :mod:`.relay`: sending the delivery messages of due deliveries.

The deliveries themselves are written by the database (migration 0013),
in the transaction that commits the state an event reports.
"""

from folio_shared.webhooks.events import EVENT_TYPES, check_event_types

__all__ = ["EVENT_TYPES", "check_event_types"]
