"""Exit codes of every ``folio`` command, and the one wrapper that sets them.

=====  ==========================================================================
code   meaning
=====  ==========================================================================
0      done
1      refused: the request was understood and said no to — invalid input,
       unknown id, name taken, wrong state, nothing chosen. The same command
       fails the same way until its arguments or the data change.
2      could not run: a usage error (unknown command, option or kind), a
       dependency unreachable or failing (PostgreSQL, Redis, object storage),
       the schema not migrated, invalid ``FOLIO_*`` settings, a service not
       installed. Fix the environment (or the command line) and run again.
=====  ==========================================================================

Any other exit is a bug (a traceback is printed). Errors are one line on
stderr starting with ``error:``; URLs in them never show a password.

Commands run their work inside :func:`reported`, which maps Folio's errors
(:class:`~folio_shared.errors.FolioError`: ``retryable`` → 2, else 1) and
the clients' errors (SQLAlchemy, redis-py, ``OSError``) to these codes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import typer
from pydantic import ValidationError
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, ProgrammingError

from folio_shared.errors import FolioError
from folio_shared.settings import get_settings

#: The command did what it was asked.
EXIT_OK = 0
#: The request was refused (see the module docstring).
EXIT_REFUSED = 1
#: The command could not run (see the module docstring).
EXIT_UNAVAILABLE = 2

#: The policy in one paragraph, for ``folio --help``.
EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 refused (invalid input, unknown id, name taken, wrong state, "
    "nothing chosen); 2 could not run (usage error, PostgreSQL, Redis or storage unreachable "
    "or failing, schema not migrated, invalid FOLIO_* settings, service not installed)."
)


def shown_url(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[2]}"))


def fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _servers() -> str:
    """Where commands are pointed, for a connection error that does not say."""
    settings = get_settings()
    return (
        f"PostgreSQL at {shown_url(settings.database.url)}, "
        f"Redis at {shown_url(settings.redis.url)}"
    )


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """Run the block; turn an expected failure into one ``error:`` line on
    stderr and the exit code of the policy above."""
    try:
        yield
    except FolioError as e:
        fail(str(e), EXIT_UNAVAILABLE if e.retryable else EXIT_REFUSED)
    except ValidationError as e:
        fail(f"invalid settings: {e}", EXIT_UNAVAILABLE)
    except ProgrammingError as e:
        fail(f"database schema problem ({e.orig}); has `folio migrate` run?", EXIT_UNAVAILABLE)
    except DBAPIError as e:
        url = shown_url(get_settings().database.url)
        fail(f"PostgreSQL at {url} failed: {e.orig}", EXIT_UNAVAILABLE)
    except RedisError as e:
        fail(f"Redis at {shown_url(get_settings().redis.url)} failed: {e}", EXIT_UNAVAILABLE)
    except OSError as e:
        fail(f"could not reach a server: {e} (configured: {_servers()})", EXIT_UNAVAILABLE)
