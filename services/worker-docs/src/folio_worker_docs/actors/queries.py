"""``queries.embed``: a search query's vector, as a result over the broker.

The API never loads the model: it sends this message and waits (briefly)
for the result (Dramatiq's Results middleware, stored in Redis). A query is
not a job (nothing to follow, nothing to retry): the API answers with an
error if no result comes in time.

The actor is synchronous on purpose: it runs on the query lane's own
threads (:mod:`folio_shared.lanes`, started by ``main``), never on the
event loop that document jobs share, so a document's CPU-bound step on the
loop cannot hold a query up either.
"""

from __future__ import annotations

from typing import Any

import dramatiq

from folio_shared.messages import EmbedQueryV1, Queue, decode_as, physical_queue_names
from folio_worker_docs.embedders import embedder

for _name in physical_queue_names(Queue.QUERIES):
    dramatiq.get_broker().declare_queue(_name)


@dramatiq.actor(
    actor_name=EmbedQueryV1.actor_name,
    queue_name=Queue.QUERIES.value,
    store_results=True,
    max_retries=0,
    time_limit=30_000,
)
def embed_query(payload: dict[str, Any]) -> list[float]:
    msg = decode_as(payload, EmbedQueryV1)
    return embedder(msg.model).encode_query(msg.query)
