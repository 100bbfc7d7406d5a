"""The ``folio`` command: every group, registered in one place.

Each concern is a Typer group in its own module, registered on :data:`app`
with one ``app.add_typer(group, name=...)`` line below. Admin groups
(:mod:`folio_cli.admin`) talk to PostgreSQL, Redis and object storage
directly, configured by Folio's ``FOLIO_*`` settings; the commands for
people (:mod:`folio_cli.remote`: login, upload, documents, search) go
through the HTTP API with the key ``folio login`` saved.

Exit codes (:mod:`folio_cli.errors`): 0 done; 1 refused (invalid input,
unknown id, name taken, wrong state, nothing chosen); 2 could not run (a
usage error, a dependency unreachable or failing, the schema not migrated,
invalid settings, a service not installed). Errors are one ``error:`` line
on stderr. Commands that create a key print it alone on their last line, so
scripts can take it with ``| tail -n 1``.
"""

from __future__ import annotations

import typer

from folio_cli.admin.database import migrate_app
from folio_cli.admin.dead import dead_app
from folio_cli.admin.jobs import jobs_app
from folio_cli.admin.keys import keys_app
from folio_cli.admin.maintenance import maintenance_app
from folio_cli.admin.queues import queue_app, queues_app, stalled_app, workers_app
from folio_cli.admin.tenants import tenants_app
from folio_cli.admin.worker import worker_app
from folio_cli.errors import EXIT_CODES_HELP
from folio_cli.remote.commands import documents_app, login, search, upload
from folio_cli.remote.jobs import jobs_list, jobs_submit, jobs_watch
from folio_cli.remote.keys import keys_create
from folio_cli.remote.webhooks import webhooks_app

app = typer.Typer(
    name="folio",
    help="Folio: asynchronous document processing. Operate a deployment.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold keys and URLs
)

# --- admin: PostgreSQL, Redis and storage, directly ----------------------------------
app.add_typer(migrate_app, name="migrate")
app.add_typer(tenants_app, name="tenants")
app.add_typer(keys_app, name="keys")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(queues_app, name="queues")
app.add_typer(workers_app, name="workers")
app.add_typer(jobs_app, name="jobs")
app.add_typer(dead_app, name="dead")
app.add_typer(queue_app, name="queue")
app.add_typer(stalled_app, name="stalled")
app.add_typer(worker_app, name="worker")

# --- for people: the HTTP API with a tenant key (folio login) ------------------------
app.command("login")(login)
app.command("upload")(upload)
app.add_typer(documents_app, name="documents")
app.command("search")(search)
jobs_app.command("list")(jobs_list)
jobs_app.command("watch")(jobs_watch)
jobs_app.command("submit")(jobs_submit)
keys_app.command("create")(keys_create)
app.add_typer(webhooks_app, name="webhooks")


def main() -> None:
    """Entry point of the ``folio`` console script."""
    app()


if __name__ == "__main__":
    main()
