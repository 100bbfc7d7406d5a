"""The storage contract: the same assertions against every backend.

Each test runs once per backend (``local`` and ``s3``, see ``conftest.py``).
Presigned URLs are used over real HTTP: against the live Folio API for the
local backend, against moto's S3 server for S3. The local backend's own
routes and guarantees are in ``test_local_signed_routes.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from storagekit import sha256, upload

from folio_shared.errors import InvalidStorageKey, ObjectNotFound
from folio_shared.storage import LocalStorage, Storage
from folio_shared.storage.s3 import S3Storage

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


async def chunked(data: bytes, chunk_bytes: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), chunk_bytes):
        yield data[offset : offset + chunk_bytes]


# --- writes and reads ----------------------------------------------------------


async def test_put_stream_and_get_stream_roundtrip_a_multi_mib_body(storage: Storage) -> None:
    # Given a 12 MiB body (over two S3 parts) sent in 64 KiB chunks
    body = os.urandom(12 * MIB + 12345)
    # When it is streamed in and out
    stored = await storage.put_stream(
        "docs/big.bin", chunked(body, 64 * 1024), content_type="application/pdf"
    )
    digest = hashlib.sha256()
    sizes = []
    async for chunk in storage.get_stream("docs/big.bin", chunk_bytes=MIB):
        digest.update(chunk)
        sizes.append(len(chunk))
    # Then the content, size and type survive and chunks respect chunk_bytes
    assert digest.hexdigest() == sha256(body)
    assert max(sizes) <= MIB
    assert sum(sizes) == len(body)
    assert stored.key == "docs/big.bin"
    assert stored.size_bytes == len(body)
    assert stored.content_type == "application/pdf"
    assert stored.etag
    assert stored.last_modified.tzinfo is not None


async def test_put_stream_memory_stays_bounded(storage: Storage) -> None:
    # Given a 24 MiB body generated chunk by chunk (never held whole)
    chunk = os.urandom(256 * 1024)
    chunks = 96

    async def generate() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            yield chunk

    # When it is stored while allocations are traced
    tracemalloc.start()
    try:
        stored = await storage.put_stream(
            "docs/huge.bin", generate(), content_type="application/octet-stream"
        )
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Then the peak is well under the body's size
    assert stored.size_bytes == chunks * len(chunk)
    assert peak_bytes < 20 * MIB, f"peak {peak_bytes / MIB:.1f} MiB for a 24 MiB body"


async def test_put_bytes_replaces_and_get_bytes_reads(storage: Storage) -> None:
    first = await storage.put_bytes("a/b.txt", b"first", content_type="text/plain")
    second = await storage.put_bytes("a/b.txt", b"second version", content_type="text/markdown")
    assert await storage.get_bytes("a/b.txt") == b"second version"
    assert second.size_bytes == len(b"second version")
    assert second.content_type == "text/markdown"
    assert second.etag != first.etag


async def test_empty_object(storage: Storage) -> None:
    stored = await storage.put_bytes("empty", b"", content_type="text/plain")
    assert stored.size_bytes == 0
    assert await storage.get_bytes("empty") == b""
    assert [c async for c in storage.get_stream("empty")] == []


async def test_a_failing_stream_stores_nothing(storage: Storage) -> None:
    # Given a stream that breaks after 6 MiB (past one S3 part)
    class Broken(Exception):
        pass

    async def breaks() -> AsyncIterator[bytes]:
        for _ in range(6):
            yield os.urandom(MIB)
        raise Broken

    # When it is stored, the caller's error comes back unchanged
    with pytest.raises(Broken):
        await storage.put_stream("docs/partial.bin", breaks(), content_type="text/plain")
    # Then no object appears, and no half-written upload is left behind
    assert not await storage.exists("docs/partial.bin")
    if isinstance(storage, LocalStorage):
        assert list((storage.root / "tmp").iterdir()) == []
    if isinstance(storage, S3Storage):
        pending = await storage.client.list_multipart_uploads(Bucket=storage.bucket)
        assert pending.get("Uploads", []) == []


async def test_ranged_read_is_start_inclusive_end_exclusive(storage: Storage) -> None:
    data = bytes(range(256)) * 4  # 1024 bytes
    await storage.put_bytes("r.bin", data, content_type="application/octet-stream")
    assert await storage.get_range("r.bin", 0, 10) == data[0:10]
    assert await storage.get_range("r.bin", 100, 300) == data[100:300]
    assert await storage.get_range("r.bin", 1000, 2000) == data[1000:]  # cut at the end
    assert await storage.get_range("r.bin", 1024, 2000) == b""  # past the end
    assert await storage.get_range("r.bin", 5, 5) == b""
    with pytest.raises(ValueError, match="range"):
        await storage.get_range("r.bin", 10, 5)
    with pytest.raises(ValueError, match="range"):
        await storage.get_range("r.bin", -1, 5)


async def test_exists_stat_and_idempotent_delete(storage: Storage) -> None:
    assert not await storage.exists("x/y.json")
    assert await storage.stat("x/y.json") is None
    await storage.put_bytes("x/y.json", b'{"a":1}', content_type="application/json")
    assert await storage.exists("x/y.json")
    stat = await storage.stat("x/y.json")
    assert stat is not None
    assert (stat.key, stat.size_bytes, stat.content_type) == ("x/y.json", 7, "application/json")
    assert abs((datetime.now(UTC) - stat.last_modified).total_seconds()) < 60
    await storage.delete("x/y.json")
    await storage.delete("x/y.json")  # a second delete is not an error
    assert not await storage.exists("x/y.json")
    await storage.delete("never/existed")


async def test_list_by_prefix(storage: Storage) -> None:
    keys = ["a/1", "a/2", "a/sub/3", "a-b/4", "ab/5", "b/6"]
    for key in keys:
        await storage.put_bytes(key, key.encode(), content_type="text/plain")

    async def listed(prefix: str) -> list[str]:
        return [o.key async for o in storage.list(prefix)]

    assert await listed("a/") == ["a/1", "a/2", "a/sub/3"]
    assert await listed("a") == ["a-b/4", "a/1", "a/2", "a/sub/3", "ab/5"]  # byte order
    assert await listed("a/s") == ["a/sub/3"]
    assert await listed("") == sorted(keys)
    assert await listed("zzz/") == []
    objects = [o async for o in storage.list("b/")]
    assert [(o.key, o.size_bytes, o.content_type) for o in objects] == [("b/6", 3, None)]
    assert objects[0].etag


async def test_missing_key_raises_object_not_found(storage: Storage) -> None:
    with pytest.raises(ObjectNotFound):
        await storage.get_bytes("nope/missing")
    with pytest.raises(ObjectNotFound):
        await storage.get_range("nope/missing", 0, 10)
    with pytest.raises(ObjectNotFound):
        await storage.get_range("nope/missing", 0, 0)
    with pytest.raises(ObjectNotFound):
        async for _ in storage.get_stream("nope/missing"):
            pass


BAD_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "a/../../outside",
    "..",
    "a/./b",
    "a\\b",
    "a//b",
    "a/",
    "a\x00b",
    "a\nb",
    "k" * 1025,
    "é" * 513,  # 1026 UTF-8 bytes
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidStorageKey):
        await storage.put_bytes(key, b"x", content_type="text/plain")
    with pytest.raises(InvalidStorageKey):
        await storage.get_bytes(key)
    with pytest.raises(InvalidStorageKey):
        await storage.stat(key)
    with pytest.raises(InvalidStorageKey):
        await storage.delete(key)
    with pytest.raises(InvalidStorageKey):
        await storage.presign_upload(key, content_type="text/plain", max_bytes=10, expires_s=60)
    with pytest.raises(InvalidStorageKey):
        await storage.presign_download(key, expires_s=60)


@pytest.mark.parametrize("prefix", ["/abs", "../x", "a/../b/", "a\\b"])
async def test_bad_prefixes_are_refused(storage: Storage, prefix: str) -> None:
    with pytest.raises(InvalidStorageKey):
        [o async for o in storage.list(prefix)]


async def test_long_valid_key(storage: Storage) -> None:
    key = "k/" + "x" * 200 + "/" + "y" * 200 + "/" + "z" * 200
    await storage.put_bytes(key, b"deep", content_type="text/plain")
    assert await storage.get_bytes(key) == b"deep"


# --- presigned URLs over real HTTP ------------------------------------------------


async def test_presigned_upload_accepts_the_bound_type_and_size(storage: Storage) -> None:
    presigned = await storage.presign_upload(
        "up/ok.pdf", content_type="application/pdf", max_bytes=MIB, expires_s=120
    )
    assert presigned.max_bytes == MIB
    assert presigned.content_type == "application/pdf"
    assert 100 < (presigned.expires_at - datetime.now(UTC)).total_seconds() <= 121
    body = os.urandom(MIB)  # exactly max_bytes
    response = await upload(presigned, body, "application/pdf")
    assert response.status_code in (200, 201, 204), response.text
    assert await storage.get_bytes("up/ok.pdf") == body
    stat = await storage.stat("up/ok.pdf")
    assert stat is not None
    assert stat.content_type == "application/pdf"


async def test_presigned_download_serves_the_bytes(storage: Storage) -> None:
    body = os.urandom(3 * MIB + 7)
    await storage.put_bytes("down/report.pdf", body, content_type="application/pdf")
    url = await storage.presign_download("down/report.pdf", expires_s=60, filename="Q3 résumé.pdf")
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(url)
    assert response.status_code == 200
    assert sha256(response.content) == sha256(body)
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9.pdf" in disposition


async def test_s3_presigned_post_policy_bounds_size_type_and_expiry(
    s3_storage: S3Storage,
) -> None:
    """moto accepts any POST without checking its policy, so the bounds S3
    enforces are asserted on the signed policy document itself."""
    storage = s3_storage
    presigned = await storage.presign_upload(
        "up/p.png", content_type="image/png", max_bytes=1234, expires_s=300
    )
    assert presigned.method == "POST"
    assert presigned.fields["key"] == "up/p.png"
    assert presigned.fields["Content-Type"] == "image/png"
    policy = json.loads(base64.b64decode(presigned.fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 0, 1234] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert {"bucket": storage.bucket} in conditions
    assert {"key": "up/p.png"} in conditions
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert abs((expiration - presigned.expires_at).total_seconds()) <= 2
    assert presigned.fields["x-amz-signature"]
