"""The local backend's signed routes, served by the live Folio API: uploads
and downloads through presigned URLs, their errors as problem details, and
the local store's own guarantees (no escape from its root, synced folders)."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from storagekit import sha256, upload

from folio_shared.errors import InvalidSignature, InvalidStorageKey
from folio_shared.storage import LocalStorage

pytestmark = pytest.mark.integration


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
