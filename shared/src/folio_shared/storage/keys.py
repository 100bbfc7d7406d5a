"""Storage keys: the one place that decides what a valid key is.

A key is a relative, ``/``-separated path of at most :data:`MAX_KEY_BYTES`
UTF-8 bytes, e.g. ``tenants/7f3a/documents/0b9c.pdf``. Both backends apply
the same rules, so a key that works on the local backend works on S3 and
the other way round:

- not empty, not absolute (no leading ``/``), no trailing ``/``;
- no empty segment (``a//b``), no ``.`` or ``..`` segment;
- no backslash, no NUL or other control character, valid UTF-8.

Prefixes (for :meth:`Storage.list`) follow the same rules except that the
empty prefix is allowed and a trailing ``/`` is allowed.
"""

from __future__ import annotations

import re
import uuid

from folio_shared.errors import InvalidStorageKey

_CONTROL = re.compile("[\x00-\x1f\x7f]")

#: Longest key accepted, in UTF-8 bytes (S3's own limit).
MAX_KEY_BYTES = 1024


def validate_key(key: str) -> str:
    """Return ``key`` unchanged if it is valid, else raise :class:`InvalidStorageKey`."""
    if not isinstance(key, str) or not key:
        raise InvalidStorageKey("storage key is empty", key=key)
    if key.endswith("/"):
        raise InvalidStorageKey("storage key ends with '/'", key=key)
    _check_path(key, what="storage key")
    return key


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` unchanged if it is a valid listing prefix (``""`` is valid)."""
    if not isinstance(prefix, str):
        raise InvalidStorageKey("storage prefix must be a string", key=prefix)
    if prefix:
        _check_path(prefix.removesuffix("/") or "/", what="storage prefix", raw=prefix)
    return prefix


def _check_path(path: str, *, what: str, raw: str | None = None) -> None:
    shown = path if raw is None else raw
    try:
        size_bytes = len(path.encode("utf-8"))
    except UnicodeEncodeError as e:
        raise InvalidStorageKey(f"{what} is not valid Unicode", key=shown) from e
    if size_bytes > MAX_KEY_BYTES:
        raise InvalidStorageKey(f"{what} is longer than {MAX_KEY_BYTES} bytes", key=shown)
    if path.startswith("/"):
        raise InvalidStorageKey(f"{what} is absolute", key=shown)
    if "\\" in path:
        raise InvalidStorageKey(f"{what} contains a backslash", key=shown)
    if _CONTROL.search(path):
        raise InvalidStorageKey(f"{what} contains a control character", key=shown)
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidStorageKey(f"{what} has an empty, '.' or '..' segment", key=shown)


#: The prefix every tenant's stored documents live under.
TENANTS_PREFIX = "tenants/"


def tenant_prefix(tenant_id: object) -> str:
    """The prefix every stored document of ``tenant_id`` lives under."""
    return f"{TENANTS_PREFIX}{tenant_id}/"


def check_document_key(key: str, *, tenant_id: object, recorded_key: str) -> str:
    """``key`` if a worker may read it for a document of ``tenant_id``:
    it must be the key the document's row records and lie under the
    tenant's prefix. A message naming any other key (altered on the way,
    or re-driven with other options) raises :class:`InvalidStorageKey`."""
    validate_key(key)
    if key != recorded_key:
        raise InvalidStorageKey(
            "the message's storage key is not the one its document records", key=key
        )
    if not key.startswith(tenant_prefix(tenant_id)):
        raise InvalidStorageKey("the storage key is outside its tenant's prefix", key=key)
    return key


#: Under a tenant's prefix: job inputs uploaded through the API
#: (``tenants/<id>/inputs/…``) and job outputs (``tenants/<id>/jobs/<job id>/…``).
JOB_INPUTS_DIR = "inputs"
JOB_OUTPUTS_DIR = "jobs"


def is_job_input_key(key: str) -> bool:
    """Whether ``key`` is a job input's (``tenants/<id>/inputs/…``)."""
    parts = key.split("/")
    return key.startswith(TENANTS_PREFIX) and len(parts) > 3 and parts[2] == JOB_INPUTS_DIR


def is_job_object_key(key: str) -> bool:
    """Whether ``key`` belongs to jobs rather than documents: a job input,
    or a job output (``tenants/<id>/jobs/…``, or ``jobs/…`` for a job
    without a tenant). No document row refers to these."""
    parts = key.split("/")
    if parts[0] == JOB_OUTPUTS_DIR:
        return len(parts) > 1
    return is_job_input_key(key) or (
        key.startswith(TENANTS_PREFIX) and len(parts) > 3 and parts[2] == JOB_OUTPUTS_DIR
    )


def job_output_id(key: str) -> uuid.UUID | None:
    """The job a job output's key names (``tenants/<id>/jobs/<job id>/…`` or
    ``jobs/<job id>/…``); ``None`` for any other key, or a malformed id."""
    parts = key.split("/")
    if parts[0] == JOB_OUTPUTS_DIR and len(parts) > 2:
        name = parts[1]
    elif key.startswith(TENANTS_PREFIX) and len(parts) > 4 and parts[2] == JOB_OUTPUTS_DIR:
        name = parts[3]
    else:
        return None
    try:
        return uuid.UUID(name)
    except ValueError:
        return None
