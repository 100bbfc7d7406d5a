"""Query messages: search queries embedded by a worker, request/reply."""

from __future__ import annotations

from typing import Annotated

import msgspec

from folio_shared.messages.base import Id, Message
from folio_shared.messages.queues import Priority, Queue

#: Search text; bounded so one request cannot flood the embedding model.
QueryText = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class EmbedQueryV1(Message, frozen=True, tag="queries.embed.v1"):
    """Embed a search query and return the vector as the actor's result
    (actor ``queries.embed``).

    Sent by ``GET /v1/search``, which waits for the result; it goes at high
    priority by default, since a person is waiting for it.

    - ``query``: the search text.
    - ``tenant_id``: the tenant searching (for logs and limits).
    - ``model``: embedding model (default none: the deployment's first,
      :func:`folio_shared.embedding_models.models_of`); one the deployment
      does not embed with fails the query.
    """

    actor_name = "queries.embed"
    queue = Queue.QUERIES
    default_priority = Priority.HIGH

    query: QueryText
    tenant_id: Id
    model: str | None = None
