"""Stored objects as local files, for parsers that need a path.

:class:`FileCache` keeps the last few downloaded objects of a worker process
on local disk, so the OCR of the 40 pages of one PDF downloads it once, not
40 times. Downloads are streamed and written atomically (a temp file, then a
rename), so a reader never sees half a file.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections import OrderedDict
from pathlib import Path

from folio_shared.storage.base import Storage


async def download(storage: Storage, key: str, dest: Path) -> Path:
    """Stream object ``key`` into the file ``dest``; returns ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in storage.get_stream(key):
                await asyncio.to_thread(out.write, chunk)
        os.replace(tmp, dest)
    except BaseException:
        os.unlink(tmp)
        raise
    return dest


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

    async def path(self, storage: Storage, key: str) -> Path:
        """A local file with the object's bytes (downloaded once)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._entries.get(key)
            if cached is not None and cached.exists():
                self._entries.move_to_end(key)
                return cached
            name = hashlib.sha256(key.encode()).hexdigest()[:32]
            path = await download(storage, key, self.root / name)
            self._entries[key] = path
            while len(self._entries) > self.max_files:
                _, old = self._entries.popitem(last=False)
                old.unlink(missing_ok=True)
            return path
