"""How the test runner splits a run over pytest processes (pure logic)."""

from __future__ import annotations

import pytest

from folio_devstack.testrun import MAX_DEFAULT_PROCESSES, pytest_process_count, suffixed


def test_the_variable_chooses_the_number_of_processes() -> None:
    assert pytest_process_count([], {"FOLIO_TEST_PROCESSES": "1"}) == 1
    assert pytest_process_count(["-q"], {"FOLIO_TEST_PROCESSES": "3"}) == 3


def test_arguments_that_choose_for_themselves_get_one_runner_process() -> None:
    env = {"FOLIO_TEST_PROCESSES": "2"}
    for args in (["-n", "4"], ["-n=4"], ["--numprocesses=4"], ["-p", "no:xdist"], ["--dist=no"]):
        assert pytest_process_count(args, env) == 1, args


def test_the_default_follows_the_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert pytest_process_count([], {}) == 1
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    assert pytest_process_count([], {}) == MAX_DEFAULT_PROCESSES


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_value_is_refused_with_its_name(value: str) -> None:
    with pytest.raises(SystemExit, match="FOLIO_TEST_PROCESSES"):
        pytest_process_count([], {"FOLIO_TEST_PROCESSES": value})


def test_each_set_of_servers_is_exported_under_its_process_suffix() -> None:
    env = {"FOLIO_TEST_REDIS_URL": "redis://127.0.0.1:1/0"}
    assert suffixed(env, 0) == env
    assert suffixed(env, 1) == {"FOLIO_TEST_REDIS_URL_GW1": "redis://127.0.0.1:1/0"}
