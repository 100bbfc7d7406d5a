"""The ``folio`` command line (distribution ``folio-cli``).

- :mod:`folio_cli.app`: the root command; every group is registered there;
- :mod:`folio_cli.admin`: commands that talk to the servers directly
  (PostgreSQL, Redis, object storage) with Folio's ``FOLIO_*`` settings:
  migrate, tenants, keys, queues, jobs, dead letters, maintenance, worker
  start;
- :mod:`folio_cli.errors`: the exit-code policy and the one error wrapper;
- :mod:`folio_cli.output`: tables for people, ``--json`` for scripts.

Commands that talk to a deployment through its HTTP API (with the
``folio-client`` package and an API key) belong in a ``folio_cli.remote``
package beside ``admin``, so a reader sees at the import which side a
command needs.
"""
