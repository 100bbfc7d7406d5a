"""Contract: every message version ever shipped still decodes, unchanged.

``golden/<tag>.json`` is a payload of that version as it was first shipped,
with every field set to a non-default value. These files are fixed: never
edit one to make a test pass. A failure here means a change would break
messages already in queues or sent by older producers (a field renamed,
retyped or made required): make it a new major version instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from folio_shared.messages import (
    decode,
    decode_as,
    describe,
    encode,
    encode_json,
    known_tags,
    registry,
    types_for_actor,
)

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_FILES = sorted(GOLDEN.glob("*.json"))
#: Shapes added by minor changes (a new optional field set): ``minor/<tag>.<what>.json``.
MINOR_FILES = sorted((GOLDEN / "minor").glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_every_registered_tag_has_a_golden_file() -> None:
    missing = sorted(set(known_tags()) - {p.stem for p in GOLDEN_FILES})
    assert not missing, f"add tests/contract/golden/<tag>.json for: {missing}"


def test_every_golden_file_names_a_registered_tag() -> None:
    # A version may only be removed once drained; its golden file goes with it.
    unknown = sorted({p.stem for p in GOLDEN_FILES} - set(known_tags()))
    assert not unknown, f"golden files of unregistered tags: {unknown}"


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.stem)
def test_golden_file_decodes_to_its_type_with_its_values(path: Path) -> None:
    # Given a payload as shipped
    golden = _load(path)
    expected_type = registry()[path.stem]
    assert golden["type"] == path.stem

    # When it is decoded from the dict and from the JSON bytes
    from_dict = decode(golden)
    from_bytes = decode(path.read_bytes())

    # Then it is the right type, with every shipped value intact
    assert type(from_dict) is expected_type
    assert from_bytes == from_dict
    assert decode_as(golden, expected_type) == from_dict
    assert decode_as(golden, types_for_actor(expected_type.actor_name)) == from_dict
    encoded = encode(from_dict)
    for key, value in golden.items():
        assert key in encoded, f"{path.stem}: field {key!r} no longer exists"
        assert encoded[key] == value, f"{path.stem}: field {key!r} changed"
    assert msgspec.json.decode(encode_json(from_dict)) == encoded


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.stem)
def test_fields_added_since_the_golden_file_have_defaults(path: Path) -> None:
    golden = _load(path)
    spec = describe(registry()[path.stem])
    added_required = [f.name for f in spec.fields if f.name not in golden and f.required]
    assert not added_required, f"{path.stem}: new fields need defaults: {added_required}"


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.stem)
def test_golden_file_sets_every_field_it_knew(path: Path) -> None:
    # Golden files use non-default values, so a changed default or a lost
    # value cannot hide behind an equal default.
    golden = _load(path)
    spec = describe(registry()[path.stem])
    for f in spec.fields:
        if f.name in golden and not f.required:
            assert golden[f.name] != f.default, f"{path.stem}: {f.name!r} holds its default"


@pytest.mark.parametrize("path", MINOR_FILES, ids=lambda p: p.stem)
def test_minor_shape_decodes_with_its_values_and_older_shapes_still_do(path: Path) -> None:
    # Given a payload using a field added in a minor change
    golden = _load(path)
    expected_type = registry()[golden["type"]]
    assert path.stem.startswith(golden["type"] + ".")

    # When it is decoded, Then it is its type with every value intact
    decoded = decode(golden)
    assert type(decoded) is expected_type
    encoded = encode(decoded)
    for key, value in golden.items():
        assert encoded[key] == value, f"{path.stem}: field {key!r} changed"
    # and the shipped shape without the new fields decodes to their defaults
    shipped = _load(GOLDEN / f"{golden['type']}.json")
    spec = {f.name: f for f in describe(expected_type).fields}
    for name in set(golden) - set(shipped):
        assert getattr(decode(shipped), name) == spec[name].default
