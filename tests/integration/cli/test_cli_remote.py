"""The ``folio`` commands for people (login, upload, documents, search)
against the real API served on loopback, run as the real console script."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from support.jobs import finish_as_worker
from support.live_server import LiveServer
from support.plain_kinds import WORK, record_kinds

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
from apikit import TenantKey, live_api, make_tenant

pytestmark = pytest.mark.integration

FOLIO = Path(sys.executable).with_name("folio")


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, test_servers: Any
) -> Iterator[LiveServer]:
    with live_api(
        tmp_path_factory.mktemp("cli-remote"),
        database_url=database_url,
        redis_url=test_servers.redis_url,
    ) as server:
        yield server


@pytest.fixture(scope="module")
async def tenant(engine: AsyncEngine) -> TenantKey:
    await record_kinds(engine)
    return await make_tenant(engine, "cli")


def folio(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(home), "COLUMNS": "100"}
    return subprocess.run(
        [str(FOLIO), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_login_upload_a_folder_list_and_show(
    live: LiveServer, tenant: TenantKey, tmp_path: Path
) -> None:
    home = tmp_path / "config"
    assert folio(home, "documents", "list").returncode == 2  # not logged in yet
    refused = folio(home, "login", live.base_url, "--api-key", "folio_nope_nope")
    assert refused.returncode == 1, refused.stderr
    done = folio(home, "login", live.base_url, "--api-key", tenant.key)
    assert done.returncode == 0, done.stderr
    saved = home / "folio" / "config.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_text())["api_key"] == tenant.key

    folder = tmp_path / "notes"
    (folder / "deeper").mkdir(parents=True)
    for i in range(19):
        (folder / f"note-{i:02}.txt").write_text(f"note number {i}\n")
    (folder / "deeper" / "last.txt").write_text("the twentieth\n")
    flat = folio(home, "upload", str(folder))
    assert flat.returncode == 0, flat.stderr
    assert "19/19" in flat.stderr  # the progress bar, finished
    uploaded = folio(home, "upload", str(folder), "--recursive", "--priority", "low")
    assert uploaded.returncode == 0, uploaded.stderr
    assert "uploading" in uploaded.stderr
    assert "20/20" in uploaded.stderr
    lines = uploaded.stdout.strip().splitlines()
    assert lines[0].split() == ["ID", "FILENAME", "STATUS", "KIND", "PAGES"]
    assert len(lines) == 21
    assert {line.split()[1] for line in lines[1:]} >= {"note-00.txt", "last.txt"}

    listed = folio(home, "documents", "list", "--limit", "100", "--json")
    assert listed.returncode == 0, listed.stderr
    documents = json.loads(listed.stdout)
    # the second upload of the 19 flat files found them stored already
    assert len({d["id"] for d in documents}) == 20
    shown = folio(home, "documents", "show", documents[0]["id"], "--json")
    assert json.loads(shown.stdout)["id"] == documents[0]["id"]
    missing = folio(home, "documents", "show", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: 404")


def test_search_prints_json_that_parses(
    live: LiveServer, tenant: TenantKey, tmp_path: Path
) -> None:
    home = tmp_path / "config"
    assert folio(home, "login", live.base_url, "--api-key", tenant.key).returncode == 0
    found = folio(home, "search", "twentieth", "--mode", "keyword", "--json")
    assert found.returncode == 0, found.stderr
    assert isinstance(json.loads(found.stdout), list)
    table = folio(home, "search", "twentieth", "--mode", "keyword")
    assert table.stdout.splitlines()[0].split() == ["FILENAME", "PAGE", "SCORE", "TEXT"]


def test_a_documents_file_fields_download_and_delete(
    live: LiveServer, tenant: TenantKey, tmp_path: Path
) -> None:
    home = tmp_path / "config"
    assert folio(home, "login", live.base_url, "--api-key", tenant.key).returncode == 0
    source = tmp_path / "memo.txt"
    source.write_bytes(b"a memo to download\n")
    made = json.loads(folio(home, "upload", str(source), "--json").stdout)
    document_id = made[0]["id"]
    target = tmp_path / "copy.txt"
    got = folio(home, "documents", "download", document_id, "--out", str(target), "--json")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["bytes"] == source.stat().st_size
    assert target.read_bytes() == source.read_bytes()
    # no worker runs here: the fields are not extracted, a refusal naming why
    fields = folio(home, "documents", "fields", document_id, "--json")
    assert fields.returncode == 1
    assert fields.stderr.startswith("error: 404 fields_not_ready")
    deleted = folio(home, "documents", "delete", document_id, "--json")
    assert json.loads(deleted.stdout) == {"document_id": document_id, "deleted": True}
    gone = folio(home, "documents", "show", document_id)
    assert gone.returncode == 1
    assert "404" in gone.stderr


async def test_jobs_submit_list_and_watch(
    live: LiveServer, tenant: TenantKey, tmp_path: Path, database_url: str, test_servers: Any
) -> None:
    home = tmp_path / "config"
    assert folio(home, "login", live.base_url, "--api-key", tenant.key).returncode == 0
    bad = folio(home, "jobs", "submit", WORK, "--payload", "{not json")
    assert bad.returncode == 1
    assert "not JSON" in bad.stderr
    made = folio(home, "jobs", "submit", WORK, "--payload", '{"key": "cli"}', "--json")
    assert made.returncode == 0, made.stderr
    job_id = json.loads(made.stdout)["id"]
    listed = json.loads(folio(home, "jobs", "list", "--kind", WORK, "--json").stdout)
    assert job_id in {j["id"] for j in listed}
    env = {**os.environ, "XDG_CONFIG_HOME": str(home)}
    watcher = subprocess.Popen(
        [str(FOLIO), "jobs", "watch", job_id],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    redis = Redis.from_url(test_servers.redis_url)
    try:
        await asyncio.sleep(1.0)
        assert watcher.poll() is None  # still following the queued job
        await finish_as_worker(database_url, redis, job_id, "succeeded")
    finally:
        await redis.aclose()
    out, err = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, err
    assert out.splitlines()[0].startswith("snapshot")
    assert out.splitlines()[-1] == f"job {job_id}: succeeded"


async def test_upload_wait_follows_processing_to_the_end(
    live: LiveServer, tenant: TenantKey, tmp_path: Path, database_url: str, test_servers: Any
) -> None:
    home = tmp_path / "config"
    assert folio(home, "login", live.base_url, "--api-key", tenant.key).returncode == 0
    source = tmp_path / "wait.txt"
    source.write_text(f"wait for me {tmp_path.name}\n")
    before = {j["id"] for j in json.loads(folio(home, "jobs", "list", "--json").stdout)}
    env = {**os.environ, "XDG_CONFIG_HOME": str(home)}
    uploader = subprocess.Popen(
        [str(FOLIO), "upload", str(source), "--wait", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    redis = Redis.from_url(test_servers.redis_url)
    try:
        job_id = None
        for _ in range(100):  # the upload's job, once the API has it
            await asyncio.sleep(0.2)
            listed = json.loads(folio(home, "jobs", "list", "--json").stdout)
            mine = [j for j in listed if j["id"] not in before]
            if mine:
                job_id = mine[0]["id"]
                break
        assert job_id is not None
        assert uploader.poll() is None  # waiting for processing
        await finish_as_worker(database_url, redis, job_id, "succeeded")
    finally:
        await redis.aclose()
    out, err = uploader.communicate(timeout=60)
    assert uploader.returncode == 0, err
    assert "processing" in err
    assert "1/1" in err
    assert json.loads(out)[0]["filename"] == "wait.txt"


def test_a_tenant_rotates_its_key_from_the_command_line(
    live: LiveServer, tenant: TenantKey, tmp_path: Path
) -> None:
    home = tmp_path / "config"
    assert folio(home, "login", live.base_url, "--api-key", tenant.key).returncode == 0
    made = folio(home, "keys", "create", "deploy 2")
    assert made.returncode == 0, made.stderr
    new_key = made.stdout.strip().splitlines()[-1]
    assert new_key.startswith("folio_")
    old = json.loads(folio(home, "keys", "list", "--mine", "--json").stdout)
    old_id = next(k["id"] for k in old if k["current"])
    assert folio(home, "login", live.base_url, "--api-key", new_key).returncode == 0
    revoked = folio(home, "keys", "revoke", old_id, "--mine")
    assert revoked.returncode == 0, revoked.stderr
    after = json.loads(folio(home, "keys", "list", "--mine", "--json").stdout)
    states = {k["id"]: (k["revoked_at"] is not None, k["current"]) for k in after}
    assert states[old_id] == (True, False)
    assert sum(current for _, current in states.values()) == 1
    table = folio(home, "keys", "list", "--mine").stdout.splitlines()
    assert table[0].split() == ["ID", "PREFIX", "STATE", "CURRENT", "NAME"]


async def test_webhooks_create_list_deliveries_delete(
    live: LiveServer, engine: AsyncEngine, tmp_path: Path
) -> None:
    # a tenant of its own: the key rotation test above revokes the module
    # tenant's key, which the API refuses once its key cache has expired
    tenant = await make_tenant(engine, "hooks")
    home = tmp_path / "config"
    assert folio(home, "login", live.base_url, "--api-key", tenant.key).returncode == 0
    made = folio(
        home,
        "webhooks",
        "create",
        "https://hooks.example.com/folio",
        "--event",
        "document.ready",
        "--event",
        "job.failed",
        "--json",
    )
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["secret"].startswith("whsec_")
    hook_id = created["webhook"]["id"]
    assert created["webhook"]["events"] == ["document.ready", "job.failed"]

    table = folio(home, "webhooks", "list")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:3] == ["ID", "URL", "EVENTS"]
    listed = json.loads(folio(home, "webhooks", "list", "--json").stdout)
    assert [(h["id"], h["url"]) for h in listed] == [(hook_id, "https://hooks.example.com/folio")]

    log = folio(home, "webhooks", "deliveries", hook_id, "--json")
    assert log.returncode == 0, log.stderr
    assert json.loads(log.stdout) == []

    wrong = folio(home, "webhooks", "create", "https://x.example.com/", "--event", "nope")
    assert wrong.returncode == 1
    assert "422" in wrong.stderr
    assert "unknown event type" in wrong.stderr

    gone = folio(home, "webhooks", "delete", hook_id, "--json")
    assert gone.returncode == 0, gone.stderr
    assert json.loads(gone.stdout) == {"deleted": hook_id}
    assert json.loads(folio(home, "webhooks", "list", "--json").stdout) == []
    missing = folio(home, "webhooks", "deliveries", hook_id)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: 404")
