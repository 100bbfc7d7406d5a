"""The fast path of getting documents in: the same outcomes as the
reference path (:mod:`..reference`), in fewer statements and round trips.

- :mod:`.queueing`: the statements, on the API's raw asyncpg pool.
- :mod:`.batching`: ``process`` requests of one API process queued together.
- :mod:`.process`: a ``process`` request through the batches.
- :mod:`.upload`: a multipart upload's rows in one statement.

At the HTTP edge, the ``process`` route has a shortcut of its own
(:mod:`..shortcut`, ADR 0005), beside its handler.
"""
