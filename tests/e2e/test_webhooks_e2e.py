"""Webhooks end to end: a receiver on loopback gets signed events from a
real worker-docs, only once what they report is committed; deliveries are
retried while the receiver is down and logged attempt by attempt; an
endpoint failing for the (short) configured window is disabled and says
why; the sender refuses loopback unless the operator allows it.

The real API is served on a loopback port; worker-docs runs as a
supervised process, its webhook settings shortened (relay every 100 ms,
backoff from 300 ms to 1 s, disabled after 6 s of failures).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2ekit import Api, e2e_settings, open_api, start_worker, submit
from support.webhook_receiver import Received, Receiver
from support.workers import free_port

from folio_shared.db.enums import DocumentKind
from folio_shared.settings import FolioSettings, WebhookSettings
from folio_shared.webhooks.signing import headers as signed_headers
from folio_worker_docs.webhooks.send import attempt

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"

#: worker-docs's webhook settings for this module.
WEBHOOK_ENV = {
    "FOLIO_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES": "true",
    "FOLIO_WEBHOOKS_RELAY_INTERVAL_MS": "100",
    "FOLIO_WEBHOOKS_MIN_BACKOFF_MS": "300",
    "FOLIO_WEBHOOKS_MAX_BACKOFF_MS": "1000",
    "FOLIO_WEBHOOKS_MAX_ATTEMPTS": "40",
    "FOLIO_WEBHOOKS_DISABLE_AFTER_S": "6",
    "FOLIO_WEBHOOKS_TIMEOUT_MS": "3000",
}
#: worker-docs's metrics port in this module.
METRICS_PORT = free_port()


def documented_verifier() -> Callable[..., dict[str, Any]]:
    """The ``verify`` function of docs/webhooks.md's Python snippet."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    [snippet] = [b for b in blocks if "def verify(" in b]
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # noqa: S102 (the documentation's own code, on purpose)
    verify: Callable[..., dict[str, Any]] = namespace["verify"]
    return verify


@pytest.fixture(scope="module")
def settings(database_url: str, test_servers: Any, tmp_path_factory: Any) -> FolioSettings:
    # the API registers loopback receivers only when allowed
    base = e2e_settings(database_url, test_servers.redis_url, tmp_path_factory.mktemp("e2e"))
    allowed = WebhookSettings(allow_private_addresses=True)
    return base.model_copy(update={"webhooks": allowed})


@pytest.fixture(scope="module")
def worker(settings: FolioSettings, tmp_path_factory: Any) -> Iterator[None]:
    started = start_worker(
        settings,
        "docs",
        tmp_path_factory.mktemp("logs"),
        FOLIO_METRICS_PORT=str(METRICS_PORT),
        **WEBHOOK_ENV,
    )
    yield
    started.terminate(timeout_s=30)
    started.close()


@pytest.fixture(scope="module")
async def api(database_url: str, settings: FolioSettings, worker: None) -> AsyncIterator[Api]:
    async for opened in open_api(database_url, settings):
        yield opened


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


async def register(api: Api, url: str, events: list[str]) -> tuple[str, str]:
    answer = await api.client.post(
        "/v1/webhooks", headers=api.headers, json={"url": url, "events": events}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["webhook"]["id"], answer.json()["secret"]


async def until(check: Callable[[], Any], what: str, timeout_s: float = 120) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def _for(received: list[Received], document_id: uuid.UUID) -> list[Received]:
    return [r for r in received if json.loads(r.body)["data"]["document_id"] == str(document_id)]


async def deliveries(api: Api, webhook_id: str) -> list[dict[str, Any]]:
    answer = await api.client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=api.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_document_ready_arrives_signed_after_the_document_is_ready(
    api: Api, receiver: Receiver
) -> None:
    verify = documented_verifier()
    base_url, auth = str(api.client.base_url), api.headers

    def status_now(got: Received) -> str:
        # What a client asking the API on receipt sees: the state is committed.
        event = json.loads(got.body)
        document_id = event["data"].get("document_id")
        if document_id is None:
            return ""
        with httpx.Client(base_url=base_url, headers=auth, timeout=30) as client:
            status: str = client.get(f"/v1/documents/{document_id}").json()["status"]
        return status

    receiver.on_request = status_now
    hook_id, secret = await register(
        api, receiver.url, ["document.ready", "document.fields_ready", "job.succeeded"]
    )
    document_id = await submit(
        api, DocumentKind.TEXT, "text/plain", b"Invoice 42: the total due is 310.00 EUR.\n"
    )

    ready = await until(
        lambda: _for(receiver.of_type("document.ready"), document_id), "document.ready"
    )
    [got] = ready
    event = verify(secret, got.headers, got.body)
    assert event["type"] == "document.ready"
    assert event["id"] == got.headers["webhook-id"]
    assert event["data"]["document_id"] == str(document_id)
    assert event["data"]["state"] == "ready"
    assert event["data"]["chunk_count"] >= 1
    assert got.seen == "ready"  # never before the document is ready
    # a tampered body or another secret does not verify
    with pytest.raises(ValueError, match="signature"):
        verify(secret, got.headers, got.body.replace(b"ready", b"fakes"))
    other = (await api.client.post(f"/v1/webhooks/{hook_id}/rotate-secret", headers=auth)).json()
    with pytest.raises(ValueError, match="signature"):
        verify(other["secret"], got.headers, got.body)

    # the document's job and its fields are events too
    job = await until(
        lambda: [
            json.loads(r.body)["data"]
            for r in receiver.of_type("job.succeeded")
            if json.loads(r.body)["data"]["document_id"] == str(document_id)
        ],
        "job.succeeded",
    )
    assert job[0]["kind"] == "docs.process"
    fields = await until(
        lambda: _for(receiver.of_type("document.fields_ready"), document_id), "fields_ready"
    )
    # (sent with the state, before the rotation: signed with the first secret)
    assert verify(secret, fields[0].headers, fields[0].body)["type"] == "document.fields_ready"

    # the delivery log shows the one attempt; a re-send repeats the event id
    log = await deliveries(api, hook_id)
    [entry] = [d for d in log if d["event_id"] == got.headers["webhook-id"]]
    assert (entry["status"], entry["attempts"]) == ("succeeded", 1)
    [only] = entry["attempt_log"]
    assert (only["status_code"], only["error"], only["next_retry_at"]) == (200, None, None)
    assert only["response_body"] == "ok"
    again = await api.client.post(
        f"/v1/webhooks/{hook_id}/deliveries/{entry['id']}/resend", headers=auth
    )
    assert again.status_code == 202, again.text
    resent = await until(
        lambda: len(_for(receiver.of_type("document.ready"), document_id)) == 2, "the re-send"
    )
    assert resent
    second = _for(receiver.of_type("document.ready"), document_id)[1]
    assert second.headers["webhook-id"] == got.headers["webhook-id"]
    assert verify(other["secret"], second.headers, second.body)["type"] == "document.ready"


async def test_deliveries_retry_while_the_receiver_is_down(api: Api) -> None:
    # Given a receiver that is down (its port closed)
    down = Receiver().start()
    down.stop()
    hook_id, secret = await register(api, down.url, ["document.ready"])
    document_id = await submit(api, DocumentKind.TEXT, "text/plain", b"Down and back again.\n")

    async def failed_twice() -> bool:
        log = await deliveries(api, hook_id)
        return bool(log) and len(log[0]["attempt_log"]) >= 2

    await until(failed_twice, "two failed attempts")
    # When it comes back on the same port
    back = Receiver(port=down.port).start()
    try:
        [got] = await until(
            lambda: _for(back.of_type("document.ready"), document_id), "the delivery"
        )
    finally:
        back.stop()
    # Then the event arrived, signed, and the log shows every attempt
    assert documented_verifier()(secret, got.headers, got.body)["data"]["state"] == "ready"

    async def settled() -> list[dict[str, Any]] | None:
        log = await deliveries(api, hook_id)
        return log if log and log[0]["status"] == "succeeded" else None

    [entry] = await until(settled, "the log to show the success")
    attempts = entry["attempt_log"]
    assert len(attempts) == entry["attempts"] >= 3
    assert [a["attempt"] for a in attempts] == list(range(1, len(attempts) + 1))
    for failed in attempts[:-1]:
        assert failed["status_code"] is None
        assert failed["error"]
        assert failed["next_retry_at"] is not None
        assert failed["latency_ms"] >= 0
    assert attempts[-1]["status_code"] == 200
    assert attempts[-1]["next_retry_at"] is None
    hook = (await api.client.get(f"/v1/webhooks/{hook_id}", headers=api.headers)).json()
    assert hook["enabled"]
    assert hook["failing_since"] is None


async def test_an_endpoint_failing_for_the_window_is_disabled(api: Api) -> None:
    failing = Receiver(status=500).start()
    try:
        hook_id, _ = await register(api, failing.url, ["document.ready"])
        await submit(api, DocumentKind.TEXT, "text/plain", b"Nobody answers well.\n")

        async def disabled() -> dict[str, Any] | None:
            answer = await api.client.get(f"/v1/webhooks/{hook_id}", headers=api.headers)
            hook: dict[str, Any] = answer.json()
            return hook if not hook["enabled"] else None

        hook = await until(disabled, "the endpoint to be disabled", timeout_s=90)
    finally:
        failing.stop()
    assert hook["disabled_at"] is not None
    assert "HTTP 500" in hook["disabled_reason"]
    assert len(failing.received) >= 2
    [entry] = await deliveries(api, hook_id)
    assert all(a["status_code"] == 500 for a in entry["attempt_log"])
    # re-enabled by the tenant, it shows no reason any more
    again = await api.client.patch(
        f"/v1/webhooks/{hook_id}", headers=api.headers, json={"enabled": True}
    )
    assert again.status_code == 200, again.text
    assert again.json()["enabled"] is True
    assert (again.json()["disabled_reason"], again.json()["disabled_at"]) == (None, None)


def _delivered_count(outcome: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(f'folio_webhook_deliveries_total{{outcome="{outcome}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_worker_docs_counts_attempts_by_outcome(api: Api) -> None:
    # after the tests above: deliveries, refused connections and 500s
    assert _delivered_count("delivered") >= 3
    assert _delivered_count("network_error") >= 2
    assert _delivered_count("http_error") >= 2


async def test_the_sender_refuses_loopback_unless_allowed(receiver: Receiver) -> None:
    body = b'{"type": "document.ready"}'
    sent = signed_headers("whsec_" + "A" * 44, "evt_1", int(time.time()), body)
    for url in (receiver.url, f"http://localhost:{receiver.port}/hook"):
        refused = await attempt(
            url, body, sent, timeout_ms=3_000, capture_bytes=100, allow_private=False
        )
        assert refused.outcome == "refused", refused
        assert "not a public address" in (refused.error or "")
    assert receiver.received == []
    allowed = await attempt(
        f"http://localhost:{receiver.port}/hook",
        body,
        sent,
        timeout_ms=3_000,
        capture_bytes=100,
        allow_private=True,
    )
    assert (allowed.outcome, allowed.status_code) == ("delivered", 200)
    assert receiver.received[0].headers["host"] == f"localhost:{receiver.port}"
    assert receiver.received[0].headers["webhook-id"] == "evt_1"


async def test_redirects_are_not_followed(receiver: Receiver) -> None:
    moved = Receiver(status=302, extra_headers={"Location": receiver.url}).start()
    try:
        result = await attempt(
            moved.url, b"{}", {}, timeout_ms=3_000, capture_bytes=10, allow_private=True
        )
    finally:
        moved.stop()
    assert (result.outcome, result.status_code) == ("http_error", 302)
    assert "redirects are not followed" in (result.error or "")
    assert len(moved.received) == 1
    assert receiver.received == []
