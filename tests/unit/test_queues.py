"""Queues and priorities: their names, their order, the physical queue names."""

from __future__ import annotations

import pytest

from folio_shared.errors import InvalidInput
from folio_shared.jobs.outbox import kind_envelope
from folio_shared.messages import (
    Priority,
    Queue,
    check_queue_name,
    parse_physical_queue_name,
    physical_queue_name,
    physical_queue_names,
)


def test_priority_order_is_critical_first() -> None:
    assert Priority.in_order() == (
        Priority.CRITICAL,
        Priority.HIGH,
        Priority.NORMAL,
        Priority.LOW,
    )
    assert [p.rank for p in Priority.in_order()] == [0, 1, 2, 3]
    assert sorted(Priority, key=lambda p: p.rank)[0] is Priority.CRITICAL


@pytest.mark.parametrize(
    ("text", "priority"),
    [("critical", Priority.CRITICAL), (" HIGH ", Priority.HIGH), ("low", Priority.LOW)],
)
def test_priority_parse(text: str, priority: Priority) -> None:
    assert Priority.parse(text) is priority
    assert Priority.parse(priority) is priority


def test_unknown_priority_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="unknown priority 'urgent'") as info:
        Priority.parse("urgent")
    assert "critical, high, normal, low" in str(info.value)


def test_queue_parse() -> None:
    assert Queue.parse("OCR") is Queue.OCR
    assert Queue.parse("documents-large") is Queue.DOCUMENTS_LARGE
    with pytest.raises(InvalidInput, match="unknown queue 'pages'"):
        Queue.parse("pages")


def test_physical_queue_names() -> None:
    assert physical_queue_name(Queue.OCR, Priority.CRITICAL) == "ocr.critical"
    assert physical_queue_name(Queue.OCR, Priority.HIGH) == "ocr.high"
    assert physical_queue_name(Queue.OCR, Priority.NORMAL) == "ocr"
    assert physical_queue_name(Queue.OCR) == "ocr"
    assert physical_queue_name(Queue.OCR, Priority.LOW) == "ocr.low"
    assert physical_queue_name(Queue.DOCUMENTS_LARGE, Priority.HIGH) == "documents-large.high"
    assert physical_queue_names(Queue.OCR) == ("ocr.critical", "ocr.high", "ocr", "ocr.low")


def test_physical_names_are_unique_and_parse_back() -> None:
    seen = set()
    for queue in Queue:
        for priority in Priority:
            name = physical_queue_name(queue, priority)
            # Dramatiq's Redis broker reserves the .DQ / .XQ suffixes
            assert not name.endswith((".DQ", ".XQ"))
            assert parse_physical_queue_name(name) == (queue, priority)
            seen.add(name)
    assert len(seen) == len(Queue) * len(Priority)


@pytest.mark.parametrize("name", ["pages", "ocr.urgent", "ocr.normal", "pages.high", "", "ocr.DQ"])
def test_unknown_physical_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        parse_physical_queue_name(name)


@pytest.mark.parametrize("name", ["media", "audio-analysis", "q_2", "a" * 48])
def test_kind_queue_names_that_are_accepted(name: str) -> None:
    assert check_queue_name(name) == name
    assert physical_queue_names(name) == (f"{name}.critical", f"{name}.high", name, f"{name}.low")


@pytest.mark.parametrize("name", ["", "Media", "media.high", "2media", "a" * 49, "me dia", "-x"])
def test_kind_queue_names_that_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid queue name"):
        check_queue_name(name)


def test_a_kind_envelope_tags_its_payload_and_routes_by_priority() -> None:
    env = kind_envelope("audio.analyze", 2, "media", {"key": "k"}, priority=Priority.HIGH)
    assert env == {
        "actor": "audio.analyze",
        "queue": "media.high",
        "payload": {"key": "k", "type": "audio.analyze.v2"},
        "options": {},
    }
    with pytest.raises(InvalidInput):
        kind_envelope("audio.analyze", 1, "Media", {}, priority=Priority.NORMAL)
