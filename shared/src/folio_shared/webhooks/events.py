"""The event types of webhooks (written by the triggers of migration 0013)."""

from __future__ import annotations

from collections.abc import Iterable

from folio_shared.errors import InvalidInput


class UnknownEventType(InvalidInput):
    """An event filter names an event type Folio does not send."""

    code = "unknown_event_type"
    http_status = 422
    public_details = ("unknown", "known")


#: Every event type, in the order the documentation lists them.
EVENT_TYPES: tuple[str, ...] = (
    "document.ready",
    "document.failed",
    "document.fields_ready",
    "job.succeeded",
    "job.failed",
    "job.dead",
    "batch.completed",
)


def check_event_types(names: Iterable[str]) -> list[str]:
    """``names`` without duplicates (in their order) when each is a known
    event type; else :class:`UnknownEventType` naming the
    unknown ones and the known ones."""
    chosen = list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in EVENT_TYPES]
    if unknown:
        raise UnknownEventType(
            f"unknown event type(s) {', '.join(map(repr, unknown))};"
            f" known: {', '.join(EVENT_TYPES)}",
            unknown=unknown,
            known=list(EVENT_TYPES),
        )
    return chosen
