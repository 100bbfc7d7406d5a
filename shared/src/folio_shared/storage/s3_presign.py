"""Presigned S3 URLs, signed for the endpoint clients reach.

Inside Docker Compose (or a cluster) Folio's services reach S3 at an
internal address (``http://minio:9000``) that the clients of those URLs —
a browser, ``curl`` on the host — cannot resolve. SigV4 signs the ``Host``
header, so a URL signed for one host cannot be rewritten to another: URLs
are signed by a second client built for the public endpoint. Signing makes
no request, so that client never connects anywhere.

The public endpoint is ``FOLIO_S3_PUBLIC_ENDPOINT_URL``
(:class:`~folio_shared.settings.S3Settings`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from folio_shared.storage.base import PresignedUpload, attachment_disposition


async def presigned_post(
    client: Any, bucket: str, key: str, *, content_type: str, max_bytes: int, expires_s: int
) -> PresignedUpload:
    """A presigned ``POST`` policy bounding the upload's size, type and expiry."""
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=expires_s)
    post = await client.generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 0, max_bytes]],
        ExpiresIn=expires_s,
    )
    return PresignedUpload(
        url=str(post["url"]),
        method="POST",
        expires_at=expires_at,
        max_bytes=max_bytes,
        content_type=content_type,
        fields={str(k): str(v) for k, v in post["fields"].items()},
    )


async def presigned_get(
    client: Any, bucket: str, key: str, *, expires_s: int, filename: str | None
) -> str:
    """A presigned ``GetObject`` URL, naming ``filename`` as an attachment when given."""
    params: dict[str, str] = {"Bucket": bucket, "Key": key}
    if filename is not None:
        params["ResponseContentDisposition"] = attachment_disposition(filename)
    url = await client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
    return str(url)
