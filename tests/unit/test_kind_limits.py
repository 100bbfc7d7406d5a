"""Parsing a kind's ``rate_limit``."""

from __future__ import annotations

import pytest

from folio_shared.errors import ConfigurationError
from folio_shared.jobs.limits import Rate, check_concurrency, parse_rate


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("60/m", Rate(60, 60_000)),
        ("10/s", Rate(10, 1_000)),
        ("1000/h", Rate(1000, 3_600_000)),
        ("10/5s", Rate(10, 5_000)),
        (" 3 / 2m ", Rate(3, 120_000)),
    ],
)
def test_rates(text: str, rate: Rate) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "60", "60/min", "0/m", "5/0s", "-1/s", "1.5/s"])
def test_bad_rates(text: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_rate(text)


def test_guard_is_two_percent_between_100_ms_and_a_second() -> None:
    assert Rate(60, 60_000).guard_ms == 1_000
    assert Rate(10, 10_000).guard_ms == 200
    assert Rate(10, 1_000).guard_ms == 100


@pytest.mark.parametrize("value", [0, -1, True, "4", 2.0])
def test_bad_concurrency(value: object) -> None:
    with pytest.raises(ConfigurationError):
        check_concurrency(value)
