"""The local-directory backend (the embedded default).

Layout under ``root`` (``FOLIO_STORAGE_LOCAL_ROOT``)::

    objects/<key>   the content, one file per object
    meta/<key>      JSON: content type and etag (SHA-256 of the content)
    tmp/            writes in progress; renamed into place when complete

Blocking file calls run in worker threads (:func:`asyncio.to_thread`), so the
event loop never waits on the disk. Writes go to ``tmp/`` first, are fsynced,
then renamed over ``objects/<key>``, and the folders that changed are
fsynced before the write returns: a reader sees the old object or the
whole new one, a written object survives a power cut, and a crash leaves
at most a stray temp file (removed by
:meth:`LocalStorage.open` once older than an hour). Every path is resolved
and must stay inside ``objects/`` (a symlink pointing out is refused).

Presigned URLs point at the API's routes :data:`UPLOAD_PATH` and
:data:`DOWNLOAD_PATH` and carry a :mod:`~folio_shared.storage.signing` token;
the API's handlers enforce the bounds the token names.

A file system cannot hold both ``a`` and ``a/b`` as objects (S3 can): the
second write raises :class:`InvalidStorageKey`. Folio's own keys never
nest that way.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISLNK
from typing import Any, BinaryIO
from urllib.parse import urlencode

from folio_shared.errors import InvalidStorageKey, ObjectNotFound, StorageError
from folio_shared.settings import FolioSettings
from folio_shared.storage.base import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_CONTENT_TYPE,
    PresignedUpload,
    Storage,
    StoredObject,
    check_presign,
    check_range,
)
from folio_shared.storage.durable import commit, create_temp, discard, write_data
from folio_shared.storage.keys import validate_key, validate_prefix
from folio_shared.storage.signing import SignedGrant, Signer

#: API route that receives presigned uploads (``PUT ?token=``).
UPLOAD_PATH = "/storage/upload"
#: API route that serves presigned downloads (``GET ?token=``).
DOWNLOAD_PATH = "/storage/download"

#: Bytes gathered before one write to disk (fewer thread hops for small chunks).
_WRITE_BUFFER_BYTES = 1024 * 1024
#: Temp files older than this are removed at :meth:`LocalStorage.open`.
_STALE_TMP_S = 3600


class LocalStorage(Storage):
    """Objects as files in a local folder.

    - ``root``: the folder (created at :meth:`open`).
    - ``signer``: signs the presigned URLs (shared secret across API replicas).
    - ``public_base_url``: where clients reach the API, e.g.
      ``http://127.0.0.1:8000`` (no trailing slash needed).
    """

    backend_name = "local"

    def __init__(self, root: Path, *, signer: Signer, public_base_url: str) -> None:
        self.root = Path(root).absolute()
        self.signer = signer
        self.public_base_url = public_base_url.rstrip("/")
        self._objects = self.root / "objects"
        self._meta = self.root / "meta"
        self._tmp = self.root / "tmp"

    @classmethod
    def from_settings(cls, settings: FolioSettings) -> LocalStorage:
        """Build from ``settings.storage`` (root, signing secret, public URL)."""
        return cls(
            settings.storage.local_root,
            signer=Signer(settings.storage.signing_secret.get_secret_value()),
            public_base_url=settings.storage.public_base_url,
        )

    # --- life cycle -------------------------------------------------------

    async def open(self) -> None:
        try:
            await asyncio.to_thread(self._open_sync)
        except OSError as e:
            raise StorageError(f"cannot prepare local storage at {self.root}: {e}") from e

    def _open_sync(self) -> None:
        for folder in (self._objects, self._meta, self._tmp):
            folder.mkdir(parents=True, exist_ok=True)
        # Resolve once the folders exist, so containment checks compare real paths.
        self._objects = self._objects.resolve()
        self._meta = self._meta.resolve()
        self._tmp = self._tmp.resolve()
        cutoff = time.time() - _STALE_TMP_S
        for entry in os.scandir(self._tmp):
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)

    async def close(self) -> None:
        return None

    async def check(self) -> None:
        def probe() -> None:
            for folder in (self._objects, self._meta, self._tmp):
                if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
                    raise StorageError(f"local storage folder {folder} is missing or read-only")

        await asyncio.to_thread(probe)

    # --- paths ------------------------------------------------------------

    def _path(self, tree: Path, key: str) -> Path:
        """``tree/key``, refused if a symlink on the way leads out of ``tree``.

        As ``(tree / key).resolve()`` and a containment check, but only the
        segments under ``tree`` (already resolved) are looked at: a resolve
        costs an ``lstat`` per segment of the whole path, ~50 per upload.
        """
        validate_key(key)
        path = os.path.join(tree, key)
        checked = os.fspath(tree)
        for segment in key.split("/"):
            checked = os.path.join(checked, segment)
            try:
                is_link = S_ISLNK(os.lstat(checked).st_mode)
            except OSError:  # the rest does not exist yet (or cannot be read)
                break
            if is_link:
                real = Path(os.path.realpath(path))
                if real == tree or not real.is_relative_to(tree):
                    raise InvalidStorageKey("storage key escapes the storage root", key=key)
                return real
        return Path(path)

    # --- writes -----------------------------------------------------------

    async def put_stream(
        self, key: str, chunks: AsyncIterator[bytes], *, content_type: str
    ) -> StoredObject:
        target = self._path(self._objects, key)
        meta_target = self._path(self._meta, key)
        tmp = self._tmp / f"{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        handle: BinaryIO | None = None
        try:
            buffer = bytearray()
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= _WRITE_BUFFER_BYTES:
                    if handle is None:
                        handle = await asyncio.to_thread(create_temp, tmp, key)
                    await asyncio.to_thread(write_data, handle, digest, bytes(buffer))
                    buffer.clear()
            # The rest, fsync, rename into place and stat in one thread hop
            # (a small file is written in that one alone: each hop costs
            # the event loop a wake-up and a handoff).
            return await asyncio.to_thread(
                self._finish, handle, tmp, digest, bytes(buffer), target, meta_target,
                content_type, key,
            )  # fmt: skip
        except BaseException:
            with contextlib.suppress(OSError):
                await asyncio.shield(asyncio.to_thread(discard, handle, tmp))
            raise

    def _finish(
        self,
        handle: BinaryIO | None,
        tmp: Path,
        digest: Any,
        rest: bytes,
        target: Path,
        meta_target: Path,
        content_type: str,
        key: str,
    ) -> StoredObject:
        if handle is None:
            handle = create_temp(tmp, key)
        with handle:
            write_data(handle, digest, rest, sync=True)
        meta = {"content_type": content_type, "etag": digest.hexdigest()}
        meta_tmp = self._tmp / f"{uuid.uuid4().hex}.meta"
        commit(tmp, meta_tmp, target, meta_target, meta, key=key, trees=(self._objects, self._meta))
        try:
            stored = self._stat_sync(key, target, meta_target, True)
        except OSError as e:
            raise StorageError(f"cannot read from local storage: {e}", key=key) from e
        if stored is None:  # deleted concurrently, right after the write
            raise StorageError("object vanished right after it was written", key=key)
        return stored

    async def delete(self, key: str) -> None:
        target = self._path(self._objects, key)
        meta_target = self._path(self._meta, key)
        try:
            await asyncio.to_thread(self._delete_sync, target, meta_target)
        except OSError as e:
            raise StorageError(f"cannot remove an object in local storage: {e}", key=key) from e

    def _delete_sync(self, target: Path, meta_target: Path) -> None:
        if target.is_dir():  # a folder is not an object: nothing to delete
            return
        target.unlink(missing_ok=True)
        meta_target.unlink(missing_ok=True)
        for path, tree in ((target, self._objects), (meta_target, self._meta)):
            parent = path.parent
            while parent != tree and parent.is_relative_to(tree):
                try:
                    parent.rmdir()
                except OSError:  # not empty (or already gone): stop pruning
                    break
                parent = parent.parent

    # --- reads ------------------------------------------------------------

    async def get_stream(
        self, key: str, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES
    ) -> AsyncIterator[bytes]:
        if chunk_bytes < 1:
            raise ValueError("chunk_bytes must be at least 1")
        path = self._path(self._objects, key)
        handle = await asyncio.to_thread(self._open_for_read, path, key)
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_bytes):
                yield chunk
        except OSError as e:
            raise StorageError(f"cannot read from local storage: {e}", key=key) from e
        finally:
            await asyncio.to_thread(handle.close)

    @staticmethod
    def _open_for_read(path: Path, key: str) -> BinaryIO:
        try:
            return open(path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as e:
            raise ObjectNotFound(f"no object under key {key!r}", key=key) from e
        except OSError as e:
            raise StorageError(f"cannot read from local storage: {e}", key=key) from e

    async def get_range(self, key: str, start: int, end: int) -> bytes:
        check_range(start, end)
        path = self._path(self._objects, key)

        def read() -> bytes:
            with self._open_for_read(path, key) as handle:
                handle.seek(start)
                data: bytes = handle.read(end - start)
                return data

        try:
            return await asyncio.to_thread(read)
        except OSError as e:
            raise StorageError(f"cannot read from local storage: {e}", key=key) from e

    async def stat(self, key: str) -> StoredObject | None:
        path = self._path(self._objects, key)
        meta_path = self._path(self._meta, key)
        try:
            return await asyncio.to_thread(self._stat_sync, key, path, meta_path, True)
        except OSError as e:
            raise StorageError(f"cannot read from local storage: {e}", key=key) from e

    @staticmethod
    def _stat_sync(key: str, path: Path, meta_path: Path, with_type: bool) -> StoredObject | None:
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_bytes())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            meta = {}
        return StoredObject(
            key=key,
            size_bytes=st.st_size,
            content_type=(meta.get("content_type") or DEFAULT_CONTENT_TYPE) if with_type else None,
            etag=meta.get("etag") or f"{st.st_size:x}-{st.st_mtime_ns:x}",
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
        )

    async def list(self, prefix: str = "") -> AsyncIterator[StoredObject]:
        validate_prefix(prefix)
        folder_part, _, name_part = prefix.rpartition("/")
        start = (self._objects / folder_part).resolve() if folder_part else self._objects
        if not start.is_relative_to(self._objects):
            raise InvalidStorageKey("storage prefix escapes the storage root", key=prefix)
        async for item in self._walk(start, f"{folder_part}/" if folder_part else "", name_part):
            yield item

    async def _walk(
        self, folder: Path, folder_key: str, name_filter: str
    ) -> AsyncIterator[StoredObject]:
        try:
            entries = await asyncio.to_thread(self._scan, folder, folder_key, name_filter)
        except OSError as e:
            raise StorageError(f"cannot list local storage: {e}", key=folder_key) from e
        for key, item in entries:
            if item is None:  # a folder: its keys come right here in byte order
                async for nested in self._walk(folder / key.rpartition("/")[2], key + "/", ""):
                    yield nested
            else:
                yield item

    def _scan(
        self, folder: Path, folder_key: str, name_filter: str
    ) -> builtins.list[tuple[str, StoredObject | None]]:
        """One folder's entries as (key, object or None for a sub-folder), sorted
        so that a folder ``x`` sorts as ``x/`` (the order of the keys inside it)."""
        found: builtins.list[tuple[str, str, StoredObject | None]] = []
        try:
            scanner = os.scandir(folder)
        except (FileNotFoundError, NotADirectoryError):
            return []
        with scanner:
            for entry in scanner:
                if not entry.name.startswith(name_filter) or entry.is_symlink():
                    continue
                key = folder_key + entry.name
                if entry.is_dir(follow_symlinks=False):
                    found.append((entry.name + "/", key, None))
                elif entry.is_file(follow_symlinks=False):
                    obj = self._stat_sync(key, Path(entry.path), self._meta / key, False)
                    if obj is not None:
                        found.append((entry.name, key, obj))
        found.sort(key=lambda e: e[0].encode("utf-8"))
        return [(key, obj) for _, key, obj in found]

    # --- signed URLs ------------------------------------------------------

    async def presign_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_s: int
    ) -> PresignedUpload:
        validate_key(key)
        check_presign(max_bytes, expires_s)
        expires_at_s = int(self.signer.now_s()) + expires_s
        token = self.signer.sign(
            "PUT", key, expires_at_s=expires_at_s, max_bytes=max_bytes, content_type=content_type
        )
        return PresignedUpload(
            url=f"{self.public_base_url}{UPLOAD_PATH}?{_query(token)}",
            method="PUT",
            expires_at=datetime.fromtimestamp(expires_at_s, tz=UTC),
            max_bytes=max_bytes,
            content_type=content_type,
            headers={"Content-Type": content_type},
        )

    async def presign_download(
        self, key: str, *, expires_s: int, filename: str | None = None
    ) -> str:
        validate_key(key)
        check_presign(1, expires_s)
        expires_at_s = int(self.signer.now_s()) + expires_s
        token = self.signer.sign("GET", key, expires_at_s=expires_at_s, filename=filename)
        return f"{self.public_base_url}{DOWNLOAD_PATH}?{_query(token)}"

    def verify_upload(self, token: str) -> SignedGrant:
        """The upload grant in ``token`` (raises :class:`InvalidSignature`)."""
        grant = self.signer.verify(token, method="PUT")
        validate_key(grant.key)
        return grant

    def verify_download(self, token: str) -> SignedGrant:
        """The download grant in ``token`` (raises :class:`InvalidSignature`)."""
        grant = self.signer.verify(token, method="GET")
        validate_key(grant.key)
        return grant


def _query(token: str) -> str:
    return urlencode({"token": token})
