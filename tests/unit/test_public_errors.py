"""What a tenant reads of a job's error (the rule; the routes and the
worker's writes are shown by the integration tests)."""

from __future__ import annotations

from folio_shared.jobs.public_errors import INTERNAL, tenant_message, tenant_reason


def test_a_purposeful_failure_keeps_its_reason() -> None:
    reason = "this file type cannot be processed"
    assert tenant_message("failed", "error", "UnsupportedFileType", reason) == reason


def test_internal_errors_become_folios_sentence() -> None:
    secret = 'relation "documents" does not exist at db-primary.internal'
    for status in ("dead", "queued", "running"):
        assert tenant_message(status, "error", "ProgrammingError", secret) == INTERNAL
    assert tenant_message("dead", "timeout", "TimeLimitExceeded", secret) != secret
    assert tenant_message("dead", "poison", "WorkerLost", secret) != secret
    assert tenant_reason("dead", "error", "ProgrammingError", secret) == (
        f"ProgrammingError: {INTERNAL}"
    )


def test_no_error_stays_none() -> None:
    assert tenant_message("succeeded", None, None, None) is None
