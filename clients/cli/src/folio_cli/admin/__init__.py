"""Admin commands: they talk to the servers directly, not to the HTTP API.

Each reads Folio's settings (``FOLIO_DATABASE_URL``, ``FOLIO_REDIS_URL``,
``FOLIO_STORAGE_*``, ...) and opens PostgreSQL, Redis or object storage
itself (:mod:`.servers`), so it runs where those are reachable: an operator's
shell inside the deployment, an init container, a job. One module per group:

- :mod:`.database`: ``folio migrate`` (the schema);
- :mod:`.tenants`, :mod:`.keys`: ``folio tenants``, ``folio keys``;
- :mod:`.queues`: ``folio queues``, ``workers``, ``stalled``, ``queue``;
- :mod:`.jobs`, :mod:`.dead`: ``folio jobs``, ``folio dead`` (the workbench);
- :mod:`.maintenance`: ``folio maintenance`` (tasks run inline);
- :mod:`.worker`: ``folio worker start`` (runs a service's own script).
"""
