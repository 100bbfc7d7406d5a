"""A worker process imports only the clients it is configured for.

Every worker process imports the broker and the job engine before its first
job. The S3 client libraries (aioboto3, aiobotocore, boto3, botocore: about
a second of CPU on this machine's cores) are imported only when the S3
storage backend is created, and the RabbitMQ client (pika) only for an
``amqp://`` broker URL.
"""

from __future__ import annotations

import subprocess
import sys

OPTIONAL_CLIENTS = ("aioboto3", "aiobotocore", "boto3", "botocore", "pika")

PROBE = f"""
import sys
import folio_shared.broker, folio_shared.jobs, folio_shared.resources, folio_shared.storage
print(",".join(m for m in {OPTIONAL_CLIENTS!r} if m in sys.modules))
"""


def test_worker_modules_import_no_optional_client() -> None:
    # Given a fresh interpreter (this one may have imported them already)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    # Then the broker, the job engine and the worker's resources loaded none of them
    assert out.stdout.strip() == ""
