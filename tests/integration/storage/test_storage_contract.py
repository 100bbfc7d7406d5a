"""The storage contract: the same assertions against every backend.

Each test runs once per backend (``local`` and ``s3``, see ``conftest.py``).
Presigned URLs are used over real HTTP: against the live Folio API for the
local backend, against moto's S3 server for S3.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from folio_shared.errors import InvalidSignature, InvalidStorageKey, ObjectNotFound
from folio_shared.storage import LocalStorage, PresignedUpload, S3Storage, Storage

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


async def chunked(data: bytes, chunk_bytes: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), chunk_bytes):
        yield data[offset : offset + chunk_bytes]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def upload(presigned: PresignedUpload, body: bytes, content_type: str) -> httpx.Response:
    """Send ``body`` the way a client follows ``presigned``."""
    async with httpx.AsyncClient(timeout=30) as client:
        if presigned.method == "POST":
            fields = dict(presigned.fields)
            fields["Content-Type"] = content_type
            return await client.post(
                presigned.url, data=fields, files={"file": ("upload", body, content_type)}
            )
        headers = {**presigned.headers, "Content-Type": content_type}
        return await client.put(presigned.url, content=body, headers=headers)


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


# --- the local backend's signed routes (served by the Folio API) -------------------


@pytest.fixture
def local(local_storage: LocalStorage) -> LocalStorage:
    return local_storage


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, object] = response.json()
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["type"]
    assert problem["title"]
    assert problem["detail"]
    return problem


async def test_local_upload_answers_201_with_the_object(local: LocalStorage) -> None:
    presigned = await local.presign_upload(
        "up/a.txt", content_type="text/plain", max_bytes=100, expires_s=60
    )
    assert presigned.method == "PUT"
    response = await upload(presigned, b"hello", "text/plain")
    assert response.status_code == 201
    assert response.json() == {
        "key": "up/a.txt",
        "size_bytes": 5,
        "content_type": "text/plain",
        "etag": sha256(b"hello"),
    }


async def test_local_upload_over_max_bytes_is_413_and_stores_nothing(local: LocalStorage) -> None:
    presigned = await local.presign_upload(
        "up/big.bin", content_type="application/pdf", max_bytes=64 * 1024, expires_s=60
    )
    # Declared Content-Length over the limit: refused before reading.
    response = await upload(presigned, os.urandom(64 * 1024 + 1), "application/pdf")
    assert_problem(response, 413, "file_too_large")
    assert not await local.exists("up/big.bin")

    # No Content-Length (chunked): reading stops past the limit.
    async def body() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield os.urandom(32 * 1024)

    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.put(
            presigned.url, content=body(), headers={"Content-Type": "application/pdf"}
        )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "file_too_large")
    assert not await local.exists("up/big.bin")
    assert list((local.root / "tmp").iterdir()) == []


async def test_local_upload_with_another_type_is_415(local: LocalStorage) -> None:
    presigned = await local.presign_upload(
        "up/t.pdf", content_type="application/pdf", max_bytes=100, expires_s=60
    )
    response = await upload(presigned, b"<html></html>", "text/html")
    problem = assert_problem(response, 415, "unsupported_file_type")
    assert "application/pdf" in str(problem["detail"])
    assert not await local.exists("up/t.pdf")


async def test_local_tampered_or_expired_tokens_are_403(local: LocalStorage) -> None:
    presigned = await local.presign_upload(
        "up/s.txt", content_type="text/plain", max_bytes=100, expires_s=60
    )
    base, token = presigned.url.split("?token=")
    payload, signature = token.split(".")
    # A token whose payload names another key (signature kept)
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["k"], claims["n"] = "up/other.txt", 10**9
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    expired = local.signer.sign(
        "PUT",
        "up/s.txt",
        expires_at_s=int(time.time()) - 1,
        max_bytes=100,
        content_type="text/plain",
    )
    download_token = (await local.presign_download("up/s.txt", expires_s=60)).split("?token=")[1]
    async with httpx.AsyncClient(timeout=30) as client:
        for bad in (
            f"{forged_payload}.{signature}",
            f"{payload}.{signature[:-2]}AA",
            "garbage",
            expired,
            download_token,  # a GET grant used for PUT
        ):
            response = await client.put(
                f"{base}?token={bad}", content=b"x", headers={"Content-Type": "text/plain"}
            )
            assert_problem(response, 403, "invalid_signature")
        # an upload grant used for GET
        response = await client.get(presigned.url.replace("/upload?", "/download?"))
        assert_problem(response, 403, "invalid_signature")
    assert not await local.exists("up/s.txt")
    assert not await local.exists("up/other.txt")
    with pytest.raises(InvalidSignature):
        local.verify_upload(expired)


async def test_local_download_errors(local: LocalStorage) -> None:
    url = await local.presign_download("down/gone.txt", expires_s=60)
    async with httpx.AsyncClient(timeout=30) as client:
        assert_problem(await client.get(url), 404, "object_not_found")
        problem = assert_problem(
            await client.get(url.split("?")[0]), 400, "invalid_input"
        )  # no token
        assert "token" in str(problem["detail"])


async def test_local_root_cannot_be_escaped(local: LocalStorage, tmp_path: Path) -> None:
    # Given a symlink inside the objects folder that points outside the root
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    (local.root / "objects" / "link").symlink_to(outside, target_is_directory=True)
    # Then no key reaches through it, for reading or writing
    with pytest.raises(InvalidStorageKey):
        await local.get_bytes("link/secret.txt")
    with pytest.raises(InvalidStorageKey):
        await local.put_bytes("link/new.txt", b"x", content_type="text/plain")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert [o.key async for o in local.list("")] == []
    # And traversal keys never touch the file system outside the root
    with pytest.raises(InvalidStorageKey):
        await local.put_bytes("../../outside/x", b"x", content_type="text/plain")
    assert not (tmp_path / "outside" / "x").exists()


async def test_local_write_syncs_every_folder_it_changed(
    local: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rename lasts a power cut only once its folder is synced, and a new
    folder only once its parent is: the write syncs the file, its metadata,
    and each folder that gained an entry, before it returns."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    await local.put_bytes("t/deep/new/doc.txt", b"kept", content_type="text/plain")
    objects, meta = local.root / "objects", local.root / "meta"
    folders = {p for p in synced if Path(p).is_dir()}
    expected = {
        str(tree / sub) for tree in (objects, meta) for sub in ("", "t", "t/deep", "t/deep/new")
    }
    assert folders == {str(Path(p).resolve()) for p in expected}
    # the data and metadata files were synced before their renames (from tmp/)
    assert sum(1 for p in synced if Path(p).parent.name == "tmp") == 2

    # a second object in the same folder syncs only that folder (in each tree)
    synced.clear()
    await local.put_bytes("t/deep/new/other.txt", b"too", content_type="text/plain")
    assert {p for p in synced if Path(p).is_dir()} == {
        str((tree / "t/deep/new").resolve()) for tree in (objects, meta)
    }


async def test_local_key_under_an_object_is_refused(local: LocalStorage) -> None:
    """A file system cannot hold ``a`` and ``a/b`` both: the second is
    refused, the first is left as it was."""
    await local.put_bytes("n/a", b"object", content_type="text/plain")
    with pytest.raises(InvalidStorageKey):
        await local.put_bytes("n/a/b", b"under it", content_type="text/plain")
    assert await local.get_bytes("n/a") == b"object"
    assert list((local.root / "tmp").iterdir()) == []
