"""The S3 backend (AWS S3, MinIO, Ceph, moto, ... through aioboto3).

The client is created in :meth:`S3Storage.open`, never at import or at
construction. Large bodies are written with a multipart upload of
:attr:`S3Storage.part_bytes` parts, so memory stays bounded whatever the
object's size; a failed or abandoned multipart upload is aborted. Small
bodies (under one part) are a single ``PutObject``.

Presigned URLs are signed for ``public_endpoint_url`` (the clients' view of
S3; :mod:`folio_shared.storage.s3_presign`). Uploads are ``POST`` policies
bounding size (``0..max_bytes``), ``Content-Type`` and expiry, so S3 itself
refuses any other upload; downloads are ``GetObject`` URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

import aioboto3
import aiohttp
from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError, ClientError

from folio_shared.errors import ObjectNotFound, StorageError
from folio_shared.settings import FolioSettings
from folio_shared.storage.base import (
    DEFAULT_CHUNK_BYTES,
    PresignedUpload,
    Storage,
    StoredObject,
    check_presign,
    check_range,
)
from folio_shared.storage.keys import validate_key, validate_prefix
from folio_shared.storage.s3_presign import presigned_get, presigned_post

T = TypeVar("T")

#: S3's smallest allowed part (except the last one), in bytes.
MIN_PART_BYTES = 5 * 1024 * 1024

_TRANSIENT = (BotoCoreError, aiohttp.ClientError, OSError, asyncio.TimeoutError)
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class S3Storage(Storage):
    """Objects in one S3 bucket.

    - ``bucket``: the bucket name.
    - ``region``: region name (default ``us-east-1``).
    - ``endpoint_url``: S3-compatible endpoint; ``None`` means AWS. With an
      endpoint, path-style addressing is used (MinIO, moto, IP addresses).
    - ``access_key_id`` / ``secret_access_key``: credentials; ``None`` uses
      the default credential chain (environment, profile, instance role).
    - ``public_endpoint_url``: the endpoint presigned URLs name, as their
      clients reach it (default ``None``: ``endpoint_url``).
    - ``create_bucket``: create the bucket at :meth:`open` when missing
      (default false).
    - ``part_bytes``: multipart part size and upload buffer, in bytes
      (default 8 MiB, at least 5 MiB).
    - ``connect_timeout_s`` / ``read_timeout_s``: per request (defaults 5
      and 60 seconds); failed requests are retried up to 3 attempts.
    """

    backend_name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        region: str = "us-east-1",
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        public_endpoint_url: str | None = None,
        create_bucket: bool = False,
        part_bytes: int = 8 * 1024 * 1024,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
    ) -> None:
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"part_bytes must be at least {MIN_PART_BYTES}")
        self.bucket = bucket
        self.region = region
        self.endpoint_url = endpoint_url or None
        self.public_endpoint_url = public_endpoint_url or None
        self.create_bucket = create_bucket
        self.part_bytes = part_bytes
        self._credentials = (access_key_id or None, secret_access_key or None)
        self._config = AioConfig(
            signature_version="s3v4",
            connect_timeout=connect_timeout_s,
            read_timeout=read_timeout_s,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": "path"} if self.endpoint_url else {},
        )
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None
        self._signing_client: Any = None

    @classmethod
    def from_settings(cls, settings: FolioSettings) -> S3Storage:
        """Build from ``settings.s3``."""
        s3 = settings.s3
        return cls(
            s3.bucket,
            region=s3.region,
            endpoint_url=s3.endpoint_url or None,
            access_key_id=s3.access_key_id or None,
            secret_access_key=s3.secret_access_key.get_secret_value() or None,
            public_endpoint_url=s3.public_endpoint_url or None,
            create_bucket=s3.create_bucket,
        )

    # --- life cycle -------------------------------------------------------

    async def open(self) -> None:
        if self._client is not None:
            return
        session = aioboto3.Session(
            aws_access_key_id=self._credentials[0],
            aws_secret_access_key=self._credentials[1],
            region_name=self.region,
        )
        stack = contextlib.AsyncExitStack()
        try:
            self._client = await stack.enter_async_context(
                session.client("s3", endpoint_url=self.endpoint_url, config=self._config)
            )
            if self.public_endpoint_url and self.public_endpoint_url != self.endpoint_url:
                self._signing_client = await stack.enter_async_context(
                    session.client("s3", endpoint_url=self.public_endpoint_url, config=self._config)
                )
        except _TRANSIENT as e:
            await stack.aclose()
            raise StorageError(f"cannot create the S3 client: {e}") from e
        self._stack = stack
        if self.create_bucket:
            await self._ensure_bucket()

    async def _ensure_bucket(self) -> None:
        try:
            await self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as e:
            if _code(e) not in _MISSING_CODES | {"NoSuchBucket"}:
                raise _translate(e, "head_bucket", None) from e
        except _TRANSIENT as e:
            raise _translate(e, "head_bucket", None) from e
        params: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            await self._client.create_bucket(**params)
        except ClientError as e:
            if _code(e) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise _translate(e, "create_bucket", None) from e

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        self._signing_client = None
        if stack is not None:
            await stack.aclose()

    @property
    def client(self) -> Any:
        """The open aiobotocore S3 client (raises :class:`StorageError` before :meth:`open`)."""
        if self._client is None:
            raise StorageError("S3 storage is not open; await storage.open() first")
        return self._client

    @property
    def signing_client(self) -> Any:
        """The client that signs presigned URLs: the public endpoint's, else :attr:`client`."""
        return self._signing_client if self._signing_client is not None else self.client

    async def check(self) -> None:
        await self._call(self.client.head_bucket(Bucket=self.bucket), "head_bucket", None)

    async def _call(self, awaitable: Awaitable[T], action: str, key: str | None) -> T:
        try:
            return await awaitable
        except (ClientError, *_TRANSIENT) as e:
            raise _translate(e, action, key) from e

    # --- writes -----------------------------------------------------------

    async def put_stream(
        self, key: str, chunks: AsyncIterator[bytes], *, content_type: str
    ) -> StoredObject:
        validate_key(key)
        client = self.client
        target = {"Bucket": self.bucket, "Key": key}
        pending: list[bytes] = []  # chunks not sent yet
        pending_bytes = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                pending.append(chunk)
                pending_bytes += len(chunk)
                if pending_bytes < self.part_bytes:
                    continue
                # Parts need not be equal: send everything pending as one part,
                # joined once, so at most ~2 parts' worth is held at a time.
                body = b"".join(pending)
                pending.clear()
                pending_bytes = 0
                if upload_id is None:
                    created = await self._call(
                        client.create_multipart_upload(**target, ContentType=content_type),
                        "create_multipart_upload",
                        key,
                    )
                    upload_id = str(created["UploadId"])
                parts.append(await self._upload_part(target, upload_id, len(parts) + 1, body))
                del body
            body = b"".join(pending)
            pending.clear()
            if upload_id is None:
                await self._call(
                    client.put_object(**target, Body=body, ContentType=content_type),
                    "put_object",
                    key,
                )
            else:
                if body:
                    parts.append(await self._upload_part(target, upload_id, len(parts) + 1, body))
                await self._call(
                    client.complete_multipart_upload(
                        **target, UploadId=upload_id, MultipartUpload={"Parts": parts}
                    ),
                    "complete_multipart_upload",
                    key,
                )
                upload_id = None
        except BaseException:
            if upload_id is not None:
                with contextlib.suppress(Exception):
                    abort = client.abort_multipart_upload(**target, UploadId=upload_id)
                    await asyncio.shield(abort)
            raise
        stored = await self.stat(key)
        if stored is None:
            raise StorageError("object vanished right after it was written", key=key)
        return stored

    async def _upload_part(
        self, target: dict[str, str], upload_id: str, number: int, body: bytes
    ) -> dict[str, Any]:
        sent = await self._call(
            self.client.upload_part(**target, UploadId=upload_id, PartNumber=number, Body=body),
            "upload_part",
            target["Key"],
        )
        return {"PartNumber": number, "ETag": sent["ETag"]}

    async def delete(self, key: str) -> None:
        validate_key(key)
        await self._call(
            self.client.delete_object(Bucket=self.bucket, Key=key), "delete_object", key
        )

    # --- reads ------------------------------------------------------------

    async def get_stream(
        self, key: str, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES
    ) -> AsyncIterator[bytes]:
        if chunk_bytes < 1:
            raise ValueError("chunk_bytes must be at least 1")
        validate_key(key)
        response = await self._call(
            self.client.get_object(Bucket=self.bucket, Key=key), "get_object", key
        )
        body = response["Body"]
        try:
            while True:
                try:
                    chunk = await body.read(chunk_bytes)
                except (ClientError, *_TRANSIENT) as e:
                    raise _translate(e, "get_object", key) from e
                if not chunk:
                    break
                yield chunk
        finally:
            body.close()

    async def get_range(self, key: str, start: int, end: int) -> bytes:
        check_range(start, end)
        validate_key(key)
        if start == end:
            if await self.stat(key) is None:
                raise ObjectNotFound(f"no object under key {key!r}", key=key)
            return b""
        try:
            response = await self.client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end - 1}"
            )
        except ClientError as e:
            if _code(e) == "InvalidRange":  # start is past the end of the object
                return b""
            raise _translate(e, "get_object", key) from e
        except _TRANSIENT as e:
            raise _translate(e, "get_object", key) from e
        body = response["Body"]
        try:
            data: bytes = await body.read()
        except (ClientError, *_TRANSIENT) as e:
            raise _translate(e, "get_object", key) from e
        finally:
            body.close()
        return data

    async def stat(self, key: str) -> StoredObject | None:
        validate_key(key)
        try:
            head = await self._call(
                self.client.head_object(Bucket=self.bucket, Key=key), "head_object", key
            )
        except ObjectNotFound:
            return None
        return StoredObject(
            key=key,
            size_bytes=int(head["ContentLength"]),
            content_type=head.get("ContentType") or None,
            etag=str(head.get("ETag", "")).strip('"'),
            last_modified=_utc(head["LastModified"]),
        )

    async def list(self, prefix: str = "") -> AsyncIterator[StoredObject]:
        validate_prefix(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=prefix).__aiter__()
        while True:
            try:
                page = await pages.__anext__()
            except StopAsyncIteration:
                return
            except (ClientError, *_TRANSIENT) as e:
                raise _translate(e, "list_objects_v2", prefix) from e
            for item in page.get("Contents", []):
                yield StoredObject(
                    key=item["Key"],
                    size_bytes=int(item["Size"]),
                    content_type=None,
                    etag=str(item.get("ETag", "")).strip('"'),
                    last_modified=_utc(item["LastModified"]),
                )

    # --- signed URLs ------------------------------------------------------

    async def presign_upload(
        self, key: str, *, content_type: str, max_bytes: int, expires_s: int
    ) -> PresignedUpload:
        validate_key(key)
        check_presign(max_bytes, expires_s)
        return await self._call(
            presigned_post(
                self.signing_client,
                self.bucket,
                key,
                content_type=content_type,
                max_bytes=max_bytes,
                expires_s=expires_s,
            ),
            "generate_presigned_post",
            key,
        )

    async def presign_download(
        self, key: str, *, expires_s: int, filename: str | None = None
    ) -> str:
        validate_key(key)
        check_presign(1, expires_s)
        return await self._call(
            presigned_get(
                self.signing_client, self.bucket, key, expires_s=expires_s, filename=filename
            ),
            "generate_presigned_url",
            key,
        )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _translate(error: BaseException, action: str, key: str | None) -> StorageError:
    if isinstance(error, ClientError) and _code(error) in _MISSING_CODES:
        return ObjectNotFound(f"no object under key {key!r}", key=key)
    return StorageError(f"S3 {action} failed: {error}", key=key, action=action)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
