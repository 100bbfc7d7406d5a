"""API key format, hashing and parsing."""

from __future__ import annotations

import hashlib
import re

import pytest

from folio_shared.errors import Unauthorized
from folio_shared.security import (
    api_key_matches,
    generate_api_key,
    hash_api_key,
    parse_api_key,
)


def test_generated_keys_have_the_documented_shape() -> None:
    key, prefix, key_hash = generate_api_key()
    match = re.fullmatch(r"folio_([a-z0-9]{12})_([a-z2-7]{52})", key)
    assert match is not None
    assert match.group(1) == prefix
    # 52 base32 characters carry 260 bits: at least 32 random bytes.
    assert len(match.group(2)) * 5 >= 32 * 8
    assert key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in key_hash


def test_keys_are_unique() -> None:
    keys = [generate_api_key() for _ in range(1000)]
    assert len({k for k, _, _ in keys}) == 1000
    assert len({p for _, p, _ in keys}) == 1000


def test_hash_is_sha256_hex() -> None:
    assert hash_api_key("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_matching_is_exact() -> None:
    key, _, key_hash = generate_api_key()
    assert api_key_matches(key, key_hash)
    assert not api_key_matches(key + "x", key_hash)
    assert not api_key_matches(key[:-1] + ("a" if key[-1] != "a" else "b"), key_hash)


def test_parse_returns_the_prefix() -> None:
    key, prefix, _ = generate_api_key()
    assert parse_api_key(key) == prefix


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "folio_",
        "Bearer folio_abc",
        "sk_live_abcdef",
        "folio_ABCDEFGHIJKL_" + "a" * 52,  # upper case prefix
        "folio_abcdefghijkl_" + "a" * 51,  # secret too short
        "folio_abcdefghijkl_" + "a" * 53,  # secret too long
        "folio_abcdefghijkl_" + "1" * 52,  # not base32
        "folio_abcdefghijk_" + "a" * 52,  # prefix too short
        " folio_abcdefghijkl_" + "a" * 52,  # surrounding space
        "folio_abcdefghijkl_" + "a" * 52 + "\n",
        "x" * 100_000,
    ],
)
def test_malformed_keys_are_unauthorized(bad: str) -> None:
    with pytest.raises(Unauthorized) as raised:
        parse_api_key(bad)
    assert str(raised.value) == "malformed API key"  # never echoes the key
