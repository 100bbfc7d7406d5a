"""Wire types of ``POST /v1/uploads`` beyond a document's."""

from __future__ import annotations

from typing import Literal

import msgspec

from folio_api.domain.documents.schemas import PresignedUploadOut


class JobInputGrantOut(msgspec.Struct, frozen=True, kw_only=True):
    """A presigned upload of a job's input (``purpose=job_input``): send
    the file as ``upload`` says, then name ``key`` in the job's payload."""

    purpose: Literal["job_input"]
    key: str
    filename: str
    upload: PresignedUploadOut
