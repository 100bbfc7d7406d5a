"""Declaring job kinds: checks at import time, payload versions, schemas."""

from __future__ import annotations

import msgspec
import pytest

from folio_shared.errors import ConfigurationError, InvalidMessage, UnsupportedMessageVersion
from folio_shared.kinds import JobContext, job
from folio_shared.kinds.actors import dramatiq_options
from folio_shared.kinds.record import kind_row


class ResizeV1(msgspec.Struct, frozen=True, tag="unit.resize.v1"):
    key: str
    width: int


class ResizeV2(msgspec.Struct, frozen=True, tag="unit.resize.v2"):
    key: str
    size: tuple[int, int]
    quality: int = 90


@job(
    "unit.resize",
    queue="images",
    payload=ResizeV2,
    also=(ResizeV1,),
    max_retries=2,
    time_limit_ms=60_000,
    rate_limit="120/m",
    concurrency=4,
    priority="high",
)
async def resize(ctx: JobContext, p: ResizeV1 | ResizeV2) -> None:
    """Resizes an image."""


def test_the_version_comes_from_the_payload_tag_and_older_ones_still_decode() -> None:
    assert resize.version == 2
    assert resize.decode({"type": "unit.resize.v1", "key": "k", "width": 3}) == ResizeV1("k", 3)
    new = resize.decode({"type": "unit.resize.v2", "key": "k", "size": [1, 2], "extra": True})
    assert new == ResizeV2("k", (1, 2))


def test_an_unknown_version_and_an_invalid_payload_say_why() -> None:
    with pytest.raises(UnsupportedMessageVersion, match=r"v3 is not known .* knows v1, v2"):
        resize.decode({"type": "unit.resize.v3", "key": "k"})
    with pytest.raises(InvalidMessage, match=r"\$\.size"):
        resize.decode({"type": "unit.resize.v2", "key": "k", "size": "big"})


def test_the_envelope_tags_the_payload_and_picks_the_priority_queue() -> None:
    env = resize.envelope(ResizeV2("k", (1, 2)))
    assert env["actor"] == "unit.resize"
    assert env["queue"] == "images.high"
    assert env["payload"] == {"key": "k", "size": [1, 2], "quality": 90, "type": "unit.resize.v2"}


def test_limits_are_dramatiq_options_and_the_row_keeps_every_option() -> None:
    assert dramatiq_options(resize) == {
        "time_limit": 60_000,
        "max_retries": 2,
        "rate_limit": "120/m",
        "concurrency": 4,
    }
    row = kind_row(resize)
    assert row["options"] == {
        "max_retries": 2,
        "time_limit_ms": 60_000,
        "rate_limit": "120/m",
        "concurrency": 4,
        "priority": "high",
    }
    assert row["description"] == "Resizes an image."
    definition = row["payload_schema"]["$defs"]["ResizeV2"]
    assert "type" not in definition["properties"]
    assert definition["required"] == ["key", "size"]


class Plain(msgspec.Struct):
    n: int


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("Bad Name", {}, "invalid kind name"),
        ("unit.q", {"queue": "Media"}, "invalid queue name"),
        ("unit.rate", {"rate_limit": "fast"}, "rate_limit 'fast'"),
        ("unit.conc", {"concurrency": 0}, "concurrency must be"),
        ("unit.ver", {"payload": ResizeV1}, "tagged 'unit.resize.v1'"),
    ],
)
def test_a_bad_declaration_fails_at_import_time(
    name: str, options: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"queue": "q", "payload": Plain, **options}
    with pytest.raises(Exception, match=message) as caught:
        job(name, **args)(lambda ctx, p: None)  # type: ignore[arg-type]
    assert isinstance(caught.value, ConfigurationError) or "queue" in message


def test_one_name_cannot_mean_two_functions() -> None:
    def first(ctx: JobContext, p: Plain) -> None: ...

    def second(ctx: JobContext, p: Plain) -> None: ...

    job("unit.twice", queue="q", payload=Plain)(first)
    with pytest.raises(ConfigurationError, match="declared twice"):
        job("unit.twice", queue="q", payload=Plain)(second)
