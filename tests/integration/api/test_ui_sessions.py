"""The dashboard's session length (``FOLIO_UI_SESSION_TTL_S``) and its
live route's ``Last-Event-ID`` check, over HTTP (the API in process, real
Redis and PostgreSQL)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from apikit import TenantKey
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from test_ui_pages import sign_in, upload

from folio_api.app import create_app
from folio_api.ui.settings import UiSettings
from folio_shared.jobs import events
from folio_shared.settings import FolioSettings

pytestmark = pytest.mark.integration


async def test_a_session_past_its_configured_length_is_refused(
    settings: FolioSettings, alice: TenantKey
) -> None:
    # Given a dashboard whose sessions last 2 seconds (FOLIO_UI_SESSION_TTL_S)
    short = create_app(settings, ui_settings=UiSettings(session_ttl_s=2))
    async with AsyncTestClient(app=short, timeout=30) as client:
        answer, browser = await sign_in(client, alice.key)
        assert "max-age=2" in answer.headers["set-cookie"].lower()
        assert (await browser.get("/ui/jobs")).status_code == 200
        # When the session's time is up (the browser still sends the cookie)
        await asyncio.sleep(2.5)
        # Then pages send it to sign in and the live route refuses it
        page = await browser.get("/ui/jobs")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/ui/login")
        _, job_id = await upload(client, alice, "alice-expired")
        live = await client.get(
            f"/ui/jobs/{job_id}/events", headers={"Cookie": f"folio_session={browser.token}"}
        )
        assert live.status_code == 401


def test_the_session_length_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FOLIO_UI_SESSION_TTL_S", "900")
    assert UiSettings().session_ttl_s == 900
    monkeypatch.setenv("FOLIO_UI_SESSION_TTL_S", "0")
    with pytest.raises(ValueError, match="session_ttl_s"):
        UiSettings()


async def test_the_live_route_refuses_a_last_event_id_the_api_never_sent(
    client: AsyncTestClient[Any], alice: TenantKey, redis: Redis
) -> None:
    # Given a job whose feed holds two events, followed by a signed-in browser
    _, job_id = await upload(client, alice, "alice-resume")
    first = await events.publish(redis, job_id, "state", {"status": "running"})
    second = await events.publish(redis, job_id, "progress", {"stage": "ocr", "done": 1})
    assert first is not None
    assert second is not None
    _, browser = await sign_in(client, alice.key)
    ms, seq = (int(part) for part in first.split("-"))
    # When it resumes after an id that is not one, one past the feed's end,
    # or one between its events
    for forged in ("not-an-id", f"{int(second.split('-')[0]) + 60_000}-0", f"{ms}-{seq + 7}"):
        answer = await asyncio.wait_for(
            client.get(
                f"/ui/jobs/{job_id}/events",
                headers={**browser.cookie, "Accept": "application/json", "Last-Event-ID": forged},
            ),
            timeout=10,
        )
        # Then it is refused as the API refuses it
        assert answer.status_code == 400, (forged, answer.text)
        assert answer.json()["code"] == "invalid_input"
