"""Where a message goes: actor, physical queue and payload, without worker code.

The API, the outbox relay and the scheduler send messages with only this
package: :func:`route` gives everything a Dramatiq message needs. By
convention the payload is the message's single positional argument::

    r = route(ProcessDocumentV1(...), priority=Priority.HIGH)
    broker.enqueue(dramatiq.Message(queue_name=r.queue_name, actor_name=r.actor_name,
                                    args=(r.payload,), kwargs={}, options={}))
"""

from __future__ import annotations

from typing import Any, NamedTuple

from folio_shared.messages.base import Message
from folio_shared.messages.codec import encode
from folio_shared.messages.queues import Priority, Queue, physical_queue_name


class Route(NamedTuple):
    """A message ready to send.

    - ``actor_name``: the consuming actor's dotted name.
    - ``queue``: the logical queue.
    - ``priority``: the priority it is sent with.
    - ``queue_name``: the physical queue (see
      :func:`~folio_shared.messages.queues.physical_queue_name`).
    - ``payload``: :func:`~folio_shared.messages.codec.encode` of the message.
    """

    actor_name: str
    queue: Queue
    priority: Priority
    queue_name: str
    payload: dict[str, Any]


def message_priority(msg: Message) -> Priority:
    """The priority ``msg`` asks for: its ``priority`` field when it has one,
    else its type's ``default_priority``."""
    own = getattr(msg, "priority", None)
    return own if isinstance(own, Priority) else type(msg).default_priority


def route(msg: Message, *, priority: Priority | None = None, queue: Queue | None = None) -> Route:
    """Where and how to send ``msg``.

    ``priority`` defaults to :func:`message_priority`; for a message with a
    ``priority`` field it may only repeat it (the field is what the work it
    fans out inherits), else :class:`ValueError`. ``queue`` defaults to the
    message type's ``queue`` (the API passes ``Queue.DOCUMENTS_LARGE`` for a
    large document).
    """
    cls = type(msg)
    own = message_priority(msg)
    if priority is not None and priority is not own and hasattr(msg, "priority"):
        raise ValueError(
            f"{cls.type_tag()} carries priority {own.value!r}; "
            f"build the message with priority={priority.value!r} instead"
        )
    chosen_priority = priority if priority is not None else own
    chosen_queue = queue if queue is not None else cls.queue
    return Route(
        actor_name=cls.actor_name,
        queue=chosen_queue,
        priority=chosen_priority,
        queue_name=physical_queue_name(chosen_queue, chosen_priority),
        payload=encode(msg),
    )
