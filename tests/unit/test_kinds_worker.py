"""``folio worker start --jobs``: the worker command it builds, and a kind
whose limits no middleware of the broker knows."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from dramatiq.brokers.stub import StubBroker
from support import kinds as k

from folio_shared.errors import ConfigurationError
from folio_shared.kinds import job
from folio_shared.kinds.actors import bind
from folio_shared.kinds.run import ASYNC_THREADS, BOOT_MODULE, kinds_worker_argv
from folio_shared.settings import get_settings


def test_a_worker_of_async_kinds_gets_many_threads_and_every_priority_queue() -> None:
    argv, kinds = kinds_worker_argv(["support.kinds"], ["kinds-test"], ["--threads", "50"])
    assert argv[:2] == [BOOT_MODULE, "support.kinds"]
    assert argv[argv.index("--threads") + 1] == str(ASYNC_THREADS)
    queues = argv[argv.index("--queues") + 1 : argv.index("--queues") + 5]
    assert queues == ["kinds-test.critical", "kinds-test.high", "kinds-test", "kinds-test.low"]
    # extra arguments come last: Dramatiq's parser keeps the last --threads
    assert argv[-2:] == ["--threads", "50"]
    assert k.nap in kinds


SYNC_ONLY = """
import msgspec
from folio_shared.kinds import job

class P(msgspec.Struct):
    n: int

@job("unit.sync_only", queue="cpu", payload=P)
def work(ctx, p):
    return None
"""


def test_a_worker_of_sync_kinds_only_gets_the_settings_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "unit_sync_only.py").write_text(SYNC_ONLY)
    monkeypatch.syspath_prepend(str(tmp_path))
    argv, kinds = kinds_worker_argv(["unit_sync_only"], [])
    assert [kind.name for kind in kinds] == ["unit.sync_only"]
    assert argv[argv.index("--threads") + 1] == str(get_settings().worker.threads)


class Tick(msgspec.Struct):
    n: int = 0


def test_limits_no_middleware_knows_are_refused_when_the_worker_binds_the_kind() -> None:
    limited = job("unit.limited", queue="q", payload=Tick, rate_limit="60/m")(lambda ctx, p: None)
    with pytest.raises(ConfigurationError, match=r"unit\.limited"):
        bind(limited, StubBroker())


def test_an_untagged_payload_takes_its_version_from_the_declaration() -> None:
    v3 = job("unit.versioned", queue="q", payload=Tick, version=3)(lambda ctx, p: None)
    assert v3.tag == "unit.versioned.v3"
    assert v3.decode({"type": "unit.versioned.v3", "n": 2}) == Tick(n=2)
