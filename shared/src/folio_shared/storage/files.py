"""Stored objects as local files, for parsers that need a path.

:class:`FileCache` keeps the last few downloaded objects of a worker process
on local disk, so the OCR of the 40 pages of one PDF downloads it once, not
40 times. Downloads are streamed and written atomically (a temp file, then a
rename), so a reader never sees half a file.

A download may name what the object must be (:class:`Expected`: the size
and SHA-256 its document row recorded when the upload was checked): the
bytes are hashed as they are written, and an object that differs raises
:class:`~folio_shared.errors.StoredFileChanged` and leaves no file, so a
worker never parses bytes swapped in after the check.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from folio_shared.errors import StoredFileChanged
from folio_shared.storage.base import Storage


@dataclass(frozen=True, slots=True)
class Expected:
    """What a stored object must be: ``size_bytes`` and ``sha256`` (hex) as
    its document row recorded them; ``None`` leaves that part unchecked."""

    size_bytes: int | None = None
    sha256: str | None = None

    @property
    def cache_tag(self) -> str:
        return f"{self.size_bytes}:{self.sha256}"


async def download(
    storage: Storage, key: str, dest: Path, *, expected: Expected | None = None
) -> Path:
    """Stream object ``key`` into the file ``dest``; returns ``dest``.
    With ``expected``, an object of another size or SHA-256 raises
    :class:`StoredFileChanged` (and ``dest`` is not written)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
    digest = hashlib.sha256()
    size_bytes = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in storage.get_stream(key):
                digest.update(chunk)
                size_bytes += len(chunk)
                await asyncio.to_thread(out.write, chunk)
        if expected is not None:
            _check(key, expected, size_bytes, digest.hexdigest())
        os.replace(tmp, dest)
    except BaseException:
        os.unlink(tmp)
        raise
    return dest


def _check(key: str, expected: Expected, size_bytes: int, sha256: str) -> None:
    if expected.size_bytes is not None and size_bytes != expected.size_bytes:
        raise StoredFileChanged(
            f"the stored file is {size_bytes} bytes, not the {expected.size_bytes} bytes "
            "checked at upload: it was replaced after the check",
            key=key,
        )
    if expected.sha256 is not None and sha256 != expected.sha256:
        raise StoredFileChanged(
            "the stored file's SHA-256 is not the one checked at upload: "
            "it was replaced after the check",
            key=key,
        )


class FileCache:
    """Local copies of stored objects, least recently used evicted.

    - ``root``: the cache folder (default: a fresh temp folder).
    - ``max_files``: copies kept (default 16).
    """

    def __init__(self, root: Path | None = None, *, max_files: int = 16) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="folio-cache-"))
        self.max_files = max_files
        self._entries: OrderedDict[str, Path] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def path(self, storage: Storage, key: str, *, expected: Expected | None = None) -> Path:
        """A local file with the object's bytes (downloaded once; checked
        against ``expected`` when downloaded, see :func:`download`)."""
        entry = key if expected is None else f"{key}\n{expected.cache_tag}"
        lock = self._locks.setdefault(entry, asyncio.Lock())
        async with lock:
            cached = self._entries.get(entry)
            if cached is not None and cached.exists():
                self._entries.move_to_end(entry)
                return cached
            name = hashlib.sha256(entry.encode()).hexdigest()[:32]
            path = await download(storage, key, self.root / name, expected=expected)
            self._entries[entry] = path
            while len(self._entries) > self.max_files:
                _, old = self._entries.popitem(last=False)
                old.unlink(missing_ok=True)
            return path
