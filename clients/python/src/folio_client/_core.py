"""What the sync and async clients share: request shapes and answer parsing."""

from __future__ import annotations

import io
import json
import os
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx

from folio_client.errors import error_from_response

#: The client's version (the distribution's, ``folio-docproc-client``).
VERSION = "0.3.0"

#: Default request timeout, in seconds.
DEFAULT_TIMEOUT_S = 60.0

FileInput = str | os.PathLike[str] | bytes | IO[bytes]


def headers_for(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "User-Agent": f"folio-docproc-client/{VERSION}"}


def name_of(file: FileInput, filename: str | None) -> str:
    """The file name an upload of ``file`` goes by."""
    if filename:
        return filename
    if isinstance(file, bytes):
        raise ValueError("filename is required when uploading bytes")
    if isinstance(file, str | os.PathLike):
        return Path(file).name
    name = getattr(file, "name", "")
    if not name or not isinstance(name, str):
        raise ValueError("filename is required for this file object")
    return Path(name).name


def file_part(file: FileInput, filename: str | None) -> tuple[str, Any]:
    """``(filename, content)`` for an upload: a path (opened), bytes or a
    binary file."""
    name = name_of(file, filename)
    if isinstance(file, str | os.PathLike):
        return name, Path(file).open("rb")
    return name, file


def sized_body(file: FileInput, size_bytes: int | None) -> tuple[IO[bytes], int, bool]:
    """A binary stream for ``file``, its length from where it stands and
    whether the caller opened it (and must close it). A path is opened, not
    read; a stream's length is ``size_bytes`` or measured by seeking."""
    if isinstance(file, bytes):
        return io.BytesIO(file), len(file), True
    if isinstance(file, str | os.PathLike):
        stream = Path(file).open("rb")  # noqa: SIM115 (closed by the caller)
        return stream, os.fstat(stream.fileno()).st_size, True
    if size_bytes is None:
        start = file.tell()
        size_bytes = file.seek(0, io.SEEK_END) - start
        file.seek(start)
    return file, size_bytes, False


def upload_params(process: bool, priority: str) -> dict[str, str]:
    return {"process": "true" if process else "false", "priority": priority}


def metadata_form(metadata: dict[str, Any] | None) -> dict[str, str]:
    return {"metadata": json.dumps(metadata)} if metadata else {}


def clean_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def job_input_body(size_bytes: int, filename: str, content_type: str) -> dict[str, Any]:
    """The body of ``POST /v1/uploads`` granting a job's input of ``size_bytes``."""
    return {
        "purpose": "job_input",
        "filename": filename,
        "content_type": content_type,
        "size_bytes": size_bytes,
    }


def job_body(
    kind: str,
    payload: dict[str, Any] | None,
    *,
    priority: str | None = None,
    delay_ms: int | None = None,
    run_at: str | datetime | None = None,
    metadata: dict[str, str] | None = None,
    max_retries: int | None = None,
) -> dict[str, Any]:
    """The body of ``POST /v1/jobs`` (and of a batch member): ``type``,
    ``payload`` and the options given."""
    return clean_params(
        {
            "type": kind,
            "payload": payload or {},
            "priority": priority,
            "delay_ms": delay_ms,
            "run_at": run_at.isoformat() if isinstance(run_at, datetime) else run_at,
            "metadata": metadata,
            "max_retries": max_retries,
        }
    )


def checked(response: httpx.Response) -> Any:
    """The JSON of a successful answer; a typed error otherwise."""
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text}
        raise error_from_response(response.status_code, body, response.headers)
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


def hit_items(data: Any) -> list[dict[str, Any]]:
    """The hits of a search answer (``results`` or ``items``, or a bare list)."""
    if isinstance(data, dict):
        data = data.get("results", data.get("items", []))
    return [hit for hit in (data or []) if isinstance(hit, dict)]


When = str | datetime


def iso(value: When | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def document_params(
    *,
    status: str | None,
    kind: str | None,
    created_after: When | None,
    created_before: When | None,
    document_type: list[str] | None,
) -> dict[str, Any]:
    """The filters of ``GET /v1/documents``."""
    return clean_params(
        {
            "status": status,
            "kind": kind,
            "created_after": iso(created_after),
            "created_before": iso(created_before),
            "document_type": document_type,
        }
    )


def search_params(
    query: str,
    *,
    k: int,
    mode: str | None,
    group: str | None,
    document_ids: list[str] | None,
    kind: list[str] | None,
    created_from: When | None,
    created_to: When | None,
    document_type: list[str] | None,
    metadata: dict[str, str] | None,
) -> dict[str, Any]:
    """The query of ``GET /v1/search`` (``metadata``: ``metadata.<key>=<value>``)."""
    labels = {f"metadata.{key}": value for key, value in (metadata or {}).items()}
    return clean_params(
        {
            "q": query,
            "k": k,
            "mode": mode,
            "group": group,
            "document_ids": document_ids,
            "kind": kind,
            "created_from": iso(created_from),
            "created_to": iso(created_to),
            "document_type": document_type,
            **labels,
        }
    )


def job_params(
    *,
    status: str | None,
    kind: str | None,
    since: When | None,
    batch_id: str | None,
    document_id: str | None,
    top_level: bool | None,
    created_after: When | None,
    created_before: When | None,
    metadata: dict[str, str] | None,
) -> dict[str, Any]:
    """The filters of ``GET /v1/jobs`` (``metadata``: ``metadata.<key>=<value>``)."""
    labels = {f"metadata.{key}": value for key, value in (metadata or {}).items()}
    return clean_params(
        {
            "status": status,
            "type": kind,
            "since": iso(since),
            "batch_id": batch_id,
            "document_id": document_id,
            "top_level": None if top_level is None else str(top_level).lower(),
            "created_after": iso(created_after),
            "created_before": iso(created_before),
            **labels,
        }
    )


def process_body(
    *,
    priority: str,
    force_ocr: bool,
    ocr_languages: str | None,
    expected: dict[str, str] | None,
) -> dict[str, Any]:
    """The body of ``POST /v1/documents/{id}/process``."""
    return clean_params(
        {
            "priority": priority,
            "force_ocr": force_ocr or None,
            "ocr_languages": ocr_languages,
            "expected": expected,
        }
    )
