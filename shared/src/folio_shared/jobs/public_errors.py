"""What a tenant is told about a job's error, and what operators keep.

A job row keeps the full error of its last attempt (``error_type``,
``error_message``) and each attempt's traceback is in its history: that is
for operators (``/v1/ops/dead``, the CLI). Tenants — the job routes, the
job's live events and the document's ``error`` — see
:func:`tenant_message` instead:

- a job *failed* on purpose (``status=failed``, ``cause=error``: the actor
  raised a non-retryable ``FolioError``, such as an unsupported or
  unreadable file) keeps its message: it was written for the reader;
- a cancelled job, a job lost with its worker (``WorkerLost``) and a
  timeout get Folio's own sentence;
- anything else — an unexpected exception, retried or dead — is an
  internal error whose text (SQL, host names, paths) stays with the
  operators: the tenant reads :data:`INTERNAL` and the error's type.
"""

from __future__ import annotations

#: What a tenant reads for an internal error.
INTERNAL = "an internal error stopped the job; an operator can see the details"

#: Folio's own sentence per failure cause, for causes whose text is not shown.
BY_CAUSE = {
    "timeout": "the job ran over its time limit",
    "crash": "the worker running the job stopped before the job finished",
    "poison": "the job's message could not be read",
    "cancelled": "cancelled",
}


def tenant_message(
    status: str | None, cause: str | None, error_type: str | None, error_message: str | None
) -> str | None:
    # ``cause`` may be a ``FailureCause`` (a ``StrEnum``): compared as text
    """The text a tenant sees for a job's error (see the module notes)."""
    if error_type is None and error_message is None:
        return None
    if str(status) == "failed" and cause in (None, "error"):
        return error_message
    if error_type == "WorkerLost":
        return BY_CAUSE["crash"]
    if cause is not None and str(cause) in BY_CAUSE:
        return BY_CAUSE[str(cause)]
    return INTERNAL


def tenant_reason(
    status: str | None, cause: str | None, error_type: str | None, error_message: str | None
) -> str:
    """``"<type>: <tenant message>"``, the form of a document's ``error``."""
    message = tenant_message(status, cause, error_type, error_message) or INTERNAL
    return f"{error_type}: {message}" if error_type else message
