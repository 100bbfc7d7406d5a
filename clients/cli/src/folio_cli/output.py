"""How ``folio`` commands print: aligned tables for people, JSON for scripts.

Every listing command prints a table, or with ``--json`` one JSON document
(dataclasses become objects, ids and times strings).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import typer

#: The ``--json`` option of listing commands.
AS_JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")


def plain(value: Any) -> Any:
    """``value`` as JSON-able data: dataclasses, dicts, sequences, ids, times."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    if isinstance(value, uuid.UUID | datetime):
        return str(value)
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as one indented JSON document."""
    typer.echo(json.dumps(plain(value), indent=2, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print ``rows`` under ``headers``, columns aligned; ``None`` shows as ``-``."""
    cells = [[str(c) for c in headers], *[["-" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for r in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def when(value: datetime | None) -> str | None:
    """A time as ISO 8601 in UTC, to the second (``None`` stays ``None``)."""
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None
