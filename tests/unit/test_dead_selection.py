"""Which dead jobs a re-drive or purge touches: one rule (the kernel's
:mod:`folio_shared.ops.selection`), and the ops API and ``folio dead`` agree.

The CLI side runs the real ``folio dead purge|redrive`` command with
PostgreSQL and Redis pointed at a closed loopback port: a selection the rule
refuses exits 1 before any connection; one it accepts goes on to the
servers and exits 2 (could not run). That difference is what is compared.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from typer.testing import CliRunner

from folio_api.domain.ops.schemas import RedriveIn, selection
from folio_cli.app import app
from folio_cli.errors import EXIT_REFUSED, EXIT_UNAVAILABLE
from folio_shared.errors import InvalidInput
from folio_shared.ops.dead import DeadFilter
from folio_shared.ops.selection import (
    HOW_TO_CHOOSE,
    MAX_SELECTION,
    dead_filter,
    narrows,
    select_dead,
)
from folio_shared.settings import reset_settings

JOB = uuid.UUID("8a3e6c1e-7d0b-4f0e-9d55-2f1c1f3a0b11")

#: (API request body, the same request as ``folio dead`` arguments, accepted?)
CASES: list[tuple[dict[str, Any], list[str], bool]] = [
    ({}, [], False),
    ({"job_ids": [str(JOB)]}, [str(JOB)], True),
    ({"filter": {"queue": "ocr"}}, ["--queue", "ocr"], True),
    ({"filter": {"actor": "ocr.page", "limit": 5}}, ["--actor", "ocr.page", "--limit", "5"], True),
    ({"filter": {"since": "2026-01-01T00:00:00"}}, ["--since", "2026-01-01T00:00:00"], True),
    ({"all": True}, ["--all"], True),
    ({"filter": {"limit": 5}}, ["--limit", "5"], False),
    ({"job_ids": [str(JOB)], "all": True}, [str(JOB), "--all"], False),
    ({"job_ids": [str(JOB)], "filter": {"queue": "ocr"}}, [str(JOB), "--queue", "ocr"], False),
    ({"filter": {"queue": "ocr"}, "all": True}, ["--queue", "ocr", "--all"], False),
]


def test_exactly_one_way_of_choosing() -> None:
    assert select_dead([JOB], None, everything=False).job_ids == [JOB]
    by_filter = select_dead(None, DeadFilter(queue="ocr", limit=7), everything=False)
    assert by_filter.job_ids is None
    assert by_filter.flt == DeadFilter(queue="ocr", limit=7)
    assert select_dead([], None, everything=True).flt == DeadFilter()
    for job_ids, flt, everything in (
        (None, None, False),
        ([], DeadFilter(limit=5), False),  # limit alone does not narrow
        ([JOB], None, True),
        ([JOB], DeadFilter(actor="ocr.page"), False),
        (None, DeadFilter(tenant_id=JOB), True),
    ):
        with pytest.raises(InvalidInput, match="choose jobs one way"):
            select_dead(job_ids, flt, everything)


def test_bounds() -> None:
    with pytest.raises(InvalidInput, match=f"at most {MAX_SELECTION} job ids"):
        select_dead([uuid.uuid4() for _ in range(MAX_SELECTION + 1)], None, everything=False)
    for limit in (0, MAX_SELECTION + 1):
        with pytest.raises(InvalidInput, match="limit"):
            select_dead(None, DeadFilter(queue="ocr", limit=limit), everything=False)
    assert select_dead(None, DeadFilter(limit=MAX_SELECTION), everything=True).flt is not None


def test_every_filter_field_narrows_and_naive_times_are_utc() -> None:
    assert not narrows(DeadFilter(limit=3))
    since = datetime(2026, 1, 1)  # naive on purpose
    for field in ("queue", "actor", "error_type", "tenant_id", "since", "until"):
        assert narrows(dead_filter(**{field: JOB if field == "tenant_id" else since}))
    assert dead_filter(since=since).since == since.replace(tzinfo=UTC)


def api_accepts(body: dict[str, Any]) -> bool:
    data = msgspec.json.decode(msgspec.json.encode(body), type=RedriveIn)
    try:
        selection(data.job_ids, data.filter, data.all)
    except InvalidInput:
        return False
    return True


@pytest.fixture
def unreachable_servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FOLIO_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    monkeypatch.setenv("FOLIO_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.delenv("FOLIO_BROKER_URL", raising=False)
    reset_settings()
    yield
    reset_settings()


@pytest.mark.parametrize(("body", "args", "accepted"), CASES)
@pytest.mark.usefixtures("unreachable_servers")
def test_the_api_and_the_cli_choose_alike(
    body: dict[str, Any], args: list[str], accepted: bool
) -> None:
    assert api_accepts(body) is accepted
    runner = CliRunner()
    for command in (["dead", "purge", "--yes"], ["dead", "redrive"]):
        done = runner.invoke(app, [*command, *args])
        if accepted:
            assert done.exit_code == EXIT_UNAVAILABLE, done.output
        else:
            assert done.exit_code == EXIT_REFUSED, done.output
            assert HOW_TO_CHOOSE in done.output
