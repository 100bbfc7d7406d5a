"""The synchronous client's calls that return the API's JSON as it is:
the tenant's keys, batches, job kinds and job statistics (a base of
:class:`~folio_client.sync_client.Folio`)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import httpx

from folio_client._core import checked, clean_params


class SyncExtras:
    """Calls made through :meth:`_call`, ``_http`` and ``_headers``, which
    the client defines."""

    _http: httpx.Client
    _headers: dict[str, str]

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    # --- documents -------------------------------------------------------

    def fields(self, document_id: str) -> dict[str, Any]:
        """The document's extracted fields and their verdicts
        (``GET /v1/documents/{id}/fields``)."""
        found: dict[str, Any] = self._call("GET", f"/v1/documents/{document_id}/fields")
        return found

    def download(self, document_id: str, out: str | Path | IO[bytes]) -> int:
        """Stream the document's file to a path or a binary file object
        (following the redirect to storage); how many bytes were written."""
        path = f"/v1/documents/{document_id}/file"
        written = 0
        with self._http.stream(
            "GET", path, headers=self._headers, follow_redirects=True
        ) as response:
            if response.status_code >= 400:
                response.read()
                checked(response)
            sink = open(out, "wb") if isinstance(out, str | Path) else out  # noqa: SIM115
            try:
                for chunk in response.iter_bytes():
                    sink.write(chunk)
                    written += len(chunk)
            finally:
                if sink is not out:
                    sink.close()
        return written

    # --- keys -----------------------------------------------------------

    def create_key(self, name: str) -> dict[str, Any]:
        """A new API key for the tenant (``POST /v1/keys``): ``{"key": …,
        "api_key": {"id", "name", "prefix", …}}``; the key is shown this once."""
        created: dict[str, Any] = self._call("POST", "/v1/keys", json={"name": name})
        return created

    def keys(self) -> list[dict[str, Any]]:
        """The tenant's API keys, revoked ones included (``GET /v1/keys``)."""
        items: list[dict[str, Any]] = (self._call("GET", "/v1/keys"))["items"]
        return items

    def revoke_key(self, key_id: str) -> None:
        """Revoke one of the tenant's keys (``DELETE /v1/keys/{id}``); it
        stops working within the API's key cache lifetime (30 s by default)."""
        self._call("DELETE", f"/v1/keys/{key_id}")

    # --- batches and job kinds -------------------------------------------

    def create_batch(
        self,
        jobs: list[dict[str, Any]],
        *,
        on_complete: dict[str, Any] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Run ``jobs`` (each ``{"type", "payload", ...}``) as one batch, with
        an optional completion job (``POST /v1/batches``); the batch's JSON."""
        body = clean_params({"jobs": jobs, "on_complete": on_complete, "metadata": metadata})
        batch: dict[str, Any] = self._call("POST", "/v1/batches", json=body)
        return batch

    def batch(self, batch_id: str) -> dict[str, Any]:
        """A batch's state, counts and progress (``GET /v1/batches/{id}``)."""
        batch: dict[str, Any] = self._call("GET", f"/v1/batches/{batch_id}")
        return batch

    def job_types(self) -> list[dict[str, Any]]:
        """The job kinds the caller may submit (``GET /v1/job-types``)."""
        kinds: list[dict[str, Any]] = (self._call("GET", "/v1/job-types"))["items"]
        return kinds

    def job_stats(
        self, *, kind: str | None = None, since: str | None = None
    ) -> list[dict[str, Any]]:
        """Per-kind figures (``GET /v1/jobs/stats``): counts, throughput,
        queue wait and run time p50/p95, failure rate."""
        params = clean_params({"type": kind, "since": since})
        stats: list[dict[str, Any]] = (self._call("GET", "/v1/jobs/stats", params=params))["kinds"]
        return stats
