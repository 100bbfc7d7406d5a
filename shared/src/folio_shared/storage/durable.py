"""Durable writes on a local file system, for :class:`~folio_shared.storage.local.LocalStorage`.

A write goes to a temporary file, is fsynced, then renamed into place, and
the folders that gained an entry are fsynced too: a reader sees the old
file or the whole new one, and a written file survives a power cut.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, BinaryIO

from folio_shared.errors import InvalidStorageKey, StorageError


def commit(
    tmp: Path,
    meta_tmp: Path,
    target: Path,
    meta_target: Path,
    meta: dict[str, str],
    *,
    key: str,
    trees: tuple[Path, Path],
) -> None:
    """Move the written ``tmp`` to ``target`` and its metadata (written to
    ``meta_tmp`` here) to ``meta_target``, creating their folders under
    ``trees`` (objects, metadata), then sync every folder that changed."""
    objects, metas = trees
    try:
        with open(meta_tmp, "xb") as handle:
            write_data(handle, None, json.dumps(meta).encode(), sync=True)
        for attempt in range(3):  # a concurrent delete may prune a fresh folder
            try:
                changed = make_dirs(target.parent, objects)
                changed |= make_dirs(meta_target.parent, metas)
                os.replace(meta_tmp, meta_target)
                os.replace(tmp, target)
                break
            except FileNotFoundError:
                if attempt == 2 or not tmp.exists():
                    raise
        # A rename is durable once its folder is: without this, a power
        # cut after the answer could lose an object the database names.
        for folder in changed | {target.parent, meta_target.parent}:
            sync_dir(folder)
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as e:
        raise InvalidStorageKey(
            "storage key conflicts with an existing object or folder", key=key
        ) from e
    except OSError as e:
        raise StorageError(f"cannot write to local storage: {e}", key=key) from e
    finally:
        meta_tmp.unlink(missing_ok=True)


def create_temp(tmp: Path, key: str) -> BinaryIO:
    try:
        return open(tmp, "xb")  # closed by the caller
    except OSError as e:
        raise StorageError(f"cannot write to local storage: {e}", key=key) from e


def discard(handle: BinaryIO | None, tmp: Path) -> None:
    """Close and remove a write that did not complete."""
    if handle is not None:
        handle.close()
    tmp.unlink(missing_ok=True)


def write_data(handle: Any, digest: Any, data: bytes, *, sync: bool = False) -> None:
    if data:
        handle.write(data)
        if digest is not None:
            digest.update(data)
    if sync:
        handle.flush()
        os.fsync(handle.fileno())


def make_dirs(folder: Path, tree: Path) -> set[Path]:
    """Create ``folder`` and its missing parents (under ``tree``, which
    exists); returns the folders that gained an entry, whose own entries
    must be synced for the new folders to last."""
    missing: list[Path] = []
    while folder != tree and folder != folder.parent and not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        try:
            new.mkdir()
        except FileExistsError:
            if not new.is_dir():  # an object where a folder should be
                raise
            # else a concurrent write made it
    return {new.parent for new in missing}


def sync_dir(folder: Path) -> None:
    """fsync a folder, so the entries renamed or created in it are on disk."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
