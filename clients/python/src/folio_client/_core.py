"""What the sync and async clients share: request shapes and answer parsing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

import httpx

from folio_client.errors import error_from_response

#: The client's version (the distribution's, ``folio-docproc-client``).
VERSION = "0.2.0"

#: Default request timeout, in seconds.
DEFAULT_TIMEOUT_S = 60.0

FileInput = str | os.PathLike[str] | bytes | IO[bytes]


def headers_for(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "User-Agent": f"folio-docproc-client/{VERSION}"}


def file_part(file: FileInput, filename: str | None) -> tuple[str, Any]:
    """``(filename, content)`` for an upload: a path, bytes or a binary file."""
    if isinstance(file, bytes):
        if not filename:
            raise ValueError("filename is required when uploading bytes")
        return filename, file
    if isinstance(file, str | os.PathLike):
        path = Path(file)
        return filename or path.name, path.open("rb")
    name = filename or Path(getattr(file, "name", "")).name
    if not name:
        raise ValueError("filename is required for this file object")
    return name, file


def upload_params(process: bool, priority: str) -> dict[str, str]:
    return {"process": "true" if process else "false", "priority": priority}


def metadata_form(metadata: dict[str, Any] | None) -> dict[str, str]:
    return {"metadata": json.dumps(metadata)} if metadata else {}


def clean_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def job_body(kind: str, payload: dict[str, Any] | None, options: dict[str, Any]) -> dict[str, Any]:
    """The body of ``POST /v1/jobs`` (and of a batch member): ``type``,
    ``payload`` and the options given (``priority``, ``delay_ms``,
    ``run_at``, ``metadata``, ``max_retries``)."""
    return clean_params({"type": kind, "payload": payload or {}, **options})


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
