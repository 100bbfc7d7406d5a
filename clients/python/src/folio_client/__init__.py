"""Python client of the Folio API: :class:`Folio` (sync) and :class:`AsyncFolio`.

Distribution ``folio-docproc-client`` (``folioclient`` on PyPI is another
project's), import package ``folio_client``.

::

    with Folio("http://127.0.0.1:8000", api_key) as folio:
        upload = folio.upload("report.pdf")
        job = folio.wait_for_job(upload.job.id)
        print(folio.text(upload.document.id).text)
"""

from folio_client._core import VERSION as __version__
from folio_client.async_client import AsyncFolio
from folio_client.errors import (
    Conflict,
    FileRejected,
    FolioApiError,
    FolioClientError,
    Forbidden,
    InvalidRequest,
    JobTimeout,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
)
from folio_client.models import Document, Event, Job, SearchHit, Text, Upload
from folio_client.models_ops import (
    Attempt,
    AuditEntry,
    DeadJob,
    JobDetail,
    Purged,
    QueuePause,
    QueueState,
    Redriven,
    StalledJob,
    Worker,
)
from folio_client.models_tenant import (
    ApiKey,
    Batch,
    Chunk,
    DocumentFields,
    Expected,
    FieldValue,
    JobInputGrant,
    JobStats,
    JobType,
    KeyCreated,
    KindStats,
    Percentiles,
    PresignedUpload,
    UploadGrant,
)
from folio_client.models_webhooks import (
    Delivery,
    DeliveryAttempt,
    DeliveryPage,
    Webhook,
    WebhookCreated,
    WebhookSecret,
)
from folio_client.retries import Retries
from folio_client.sync_client import Folio

__all__ = [
    "ApiKey",
    "AsyncFolio",
    "Attempt",
    "AuditEntry",
    "Batch",
    "Chunk",
    "Conflict",
    "DeadJob",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryPage",
    "Document",
    "DocumentFields",
    "Event",
    "Expected",
    "FieldValue",
    "FileRejected",
    "Folio",
    "FolioApiError",
    "FolioClientError",
    "Forbidden",
    "InvalidRequest",
    "Job",
    "JobDetail",
    "JobInputGrant",
    "JobStats",
    "JobTimeout",
    "JobType",
    "KeyCreated",
    "KindStats",
    "NotFound",
    "Percentiles",
    "PresignedUpload",
    "Purged",
    "QueuePause",
    "QueueState",
    "RateLimited",
    "Redriven",
    "Retries",
    "SearchHit",
    "ServerError",
    "StalledJob",
    "Text",
    "Unauthorized",
    "Upload",
    "UploadGrant",
    "Webhook",
    "WebhookCreated",
    "WebhookSecret",
    "Worker",
    "__version__",
]
