"""The ``audio.analyze`` example kind (examples/audio-analysis) run by a
real worker on real Redis, PostgreSQL and storage: its numbers against
numpy's, progress while it decodes, cancel at the next progress, and a
failed job retried after its file was fixed."""

from __future__ import annotations

import io
import math
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import dramatiq
import httpx
import numpy as np
import pytest
import redis.asyncio as aioredis
import soundfile
from folio_audio.jobs import AnalyzeAudio, analyze
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from support.jobs import state_history, wait_for, wait_status
from support.live_server import serve, sse_events
from support.workers import kind_worker

from folio_client import AsyncFolio
from folio_shared.db.engine import create_session_factory
from folio_shared.db.repositories.tenants import create_tenant
from folio_shared.jobs import Jobs, outbox
from folio_shared.settings import FolioSettings, S3Settings, StorageSettings
from folio_shared.storage import create_storage
from folio_shared.storage.s3 import S3Storage

RATE = 8_000
#: The physical queue of normal-priority audio.analyze jobs.
QUEUE_DEFAULT = "media"


@pytest.fixture
def audio_worker(settings: FolioSettings) -> Iterator[dramatiq.Broker]:
    with kind_worker(settings, [analyze], threads=4) as broker:
        yield broker


@pytest.fixture
async def jobs(
    engine: AsyncEngine, audio_worker: dramatiq.Broker, settings: FolioSettings
) -> AsyncIterator[Jobs]:
    client = aioredis.Redis.from_url(settings.redis.url)
    yield Jobs(engine, audio_worker, client)
    await client.aclose()


def signal(seconds: float, channels: int = 2) -> np.ndarray[Any, Any]:
    """1 s of silence, then a 440 Hz tone at half scale, then quiet noise;
    quantised to 16 bits as the file stores it."""
    t = np.arange(int(seconds * RATE)) / RATE
    mono = np.where(t < 1.0, 0.0, 0.5 * np.sin(2 * np.pi * 440 * t))
    mono[t >= seconds - 0.5] = 0.01 * np.random.default_rng(7).standard_normal(
        int((t >= seconds - 0.5).sum())
    )
    data = np.stack([mono * (1 - 0.5 * c) for c in range(channels)], axis=1)
    return np.round(data * 32767).astype(np.int16)


def encode(samples: np.ndarray[Any, Any], fmt: str) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, samples, RATE, format=fmt, subtype="PCM_16")
    return out.getvalue()


def db(v: float) -> float:
    return 20 * math.log10(v) if v > 0 else -120.0


def expected(samples: np.ndarray[Any, Any]) -> dict[str, Any]:
    """The measures, computed here with numpy on the whole signal."""
    x = samples.astype(np.float64) / 32768
    frame = RATE // 100
    whole = len(x) // frame * frame
    frames = x[:whole].reshape(-1, frame * x.shape[1])
    frame_rms = np.sqrt((frames**2).mean(axis=1))
    seconds = [
        round(db(float(np.sqrt((x[i : i + RATE] ** 2).mean()))), 2) for i in range(0, len(x), RATE)
    ]
    return {
        "duration_s": len(x) / RATE,
        "sample_rate": RATE,
        "channels": x.shape[1],
        "rms_dbfs": round(db(float(np.sqrt((x**2).mean()))), 2),
        "peak": round(float(np.abs(x).max()), 6),
        "silence_ratio": round(float((frame_rms < 10 ** (-60 / 20)).mean()), 4),
        "loudness_per_second_dbfs": seconds,
    }


async def put(settings: FolioSettings, key: str, data: bytes) -> None:
    storage = create_storage(settings)
    await storage.put_bytes(key, data, content_type="application/octet-stream")


async def submit(jobs: Jobs, key: str, block_s: float = 1.0) -> uuid.UUID:
    env = analyze.envelope(AnalyzeAudio(storage_key=key, block_s=block_s))
    async with create_session_factory(jobs.engine)() as session:
        job = outbox.enqueue_envelope(session, env)
        await session.commit()
        ids = outbox.pending_ids(session)
    await jobs.dispatch(ids)
    return job.id


@pytest.mark.parametrize("fmt", ["WAV", "FLAC"])
async def test_the_report_matches_numpy(jobs: Jobs, settings: FolioSettings, fmt: str) -> None:
    samples = signal(3.5)
    key = f"audio/{uuid.uuid4()}.{fmt.lower()}"
    await put(settings, key, encode(samples, fmt))
    job_id = await submit(jobs, key)
    done = await wait_status(jobs, job_id, "succeeded", timeout_s=60)
    report = done.result
    assert report is not None
    want = expected(samples)
    assert report["format"] == fmt
    for name in ("duration_s", "sample_rate", "channels", "rms_dbfs", "peak", "silence_ratio"):
        assert report[name] == pytest.approx(want[name], abs=0.01), name
    assert report["loudness_per_second_dbfs"] == pytest.approx(
        want["loudness_per_second_dbfs"], abs=0.01
    )
    # 1 s of 3.5 s is digital silence (and none of the rest)
    assert report["silence_ratio"] == pytest.approx(1 / 3.5, abs=0.01)
    assert report["loudness_per_second_dbfs"][0] == -120.0
    # It reported its decoding (the engine sends at most a few events a second)
    events = await jobs.events(job_id)
    assert any(e.type == "progress" and e.data.get("stage") == "decode" for e in events)


async def test_a_long_file_stops_at_its_next_progress_when_cancelled(
    jobs: Jobs, settings: FolioSettings, engine: AsyncEngine
) -> None:
    key = f"audio/{uuid.uuid4()}.wav"
    await put(settings, key, encode(signal(600.0, channels=1), "WAV"))
    # 10 ms blocks: 60,000 decode steps, each ending at a progress call
    job_id = await submit(jobs, key, block_s=0.01)

    async def decoding() -> bool:
        job = await jobs.get(job_id)
        return job.stage == "decode"

    await wait_for(decoding, timeout_s=60, what="decoding under way")
    await jobs.cancel(job_id)
    done = await wait_status(jobs, job_id, "cancelled", "succeeded", timeout_s=60)
    assert str(done.status) == "cancelled"
    assert done.result is None
    assert done.progress < 100
    assert "cancelled" in await state_history(engine, job_id)


async def test_an_unreadable_file_fails_and_its_retry_succeeds_once_fixed(
    jobs: Jobs, settings: FolioSettings
) -> None:
    key = f"audio/{uuid.uuid4()}.wav"
    await put(settings, key, b"this is not audio")
    job_id = await submit(jobs, key)
    failed = await wait_status(jobs, job_id, "failed", timeout_s=60)
    assert failed.attempts == 1  # a permanent error: no retry
    assert failed.error_type == "UnreadableAudio"
    assert "not a readable audio file" in (failed.error_message or "")
    # The client uploads the right file and retries the job
    await put(settings, key, encode(signal(2.0), "WAV"))
    await jobs.retry(job_id)
    done = await wait_status(jobs, job_id, "succeeded", timeout_s=60)
    assert done.result is not None
    assert done.result["duration_s"] == pytest.approx(2.0)


async def test_end_to_end_through_the_api(
    audio_worker: dramatiq.Broker, settings: FolioSettings, engine: AsyncEngine
) -> None:
    """What the example's README shows with curl: the kind is listed, the WAV
    is uploaded through a presigned URL (``purpose=job_input``), a job naming
    its key is submitted with ``POST /v1/jobs``, its events are followed to
    the end and its result read back."""
    async with create_session_factory(engine)() as session:
        tenant, api_key = await create_tenant(session, f"audio-{uuid.uuid4().hex[:8]}")
        await session.commit()
    wav = encode(signal(2.0), "WAV")
    auth = {"Authorization": f"Bearer {api_key}"}

    def settings_for(base_url: str) -> FolioSettings:
        storage = settings.storage.model_copy(update={"public_base_url": base_url})
        return settings.model_copy(update={"storage": storage})

    with serve(settings_for) as live:
        async with httpx.AsyncClient(base_url=live.base_url, headers=auth, timeout=20) as http:
            kinds = (await http.get("/v1/job-types")).json()
            listed = kinds["items"] if isinstance(kinds, dict) else kinds
            assert "audio.analyze" in [k["name"] for k in listed]
            granted = await http.post(
                "/v1/uploads",
                json={
                    "purpose": "job_input",
                    "filename": "take-1.wav",
                    "content_type": "audio/wav",
                    "size_bytes": len(wav),
                },
            )
            assert granted.status_code == 201, granted.text
            key, upload = granted.json()["key"], granted.json()["upload"]
            assert key.startswith(f"tenants/{tenant.id}/inputs/")
            assert key.endswith("/take-1.wav")
            put = await http.put(upload["url"], content=wav, headers={"Content-Type": "audio/wav"})
            assert put.status_code == 201, put.text
            bad = await http.post(
                "/v1/jobs", json={"type": "audio.analyze", "payload": {"storage_key": 7}}
            )
            assert bad.status_code == 422, bad.text
            assert "payload.storage_key" in bad.text
            sent = await http.post(
                "/v1/jobs",
                json={"type": "audio.analyze", "payload": {"storage_key": key, "block_s": 0.5}},
            )
            assert sent.status_code == 202, sent.text
            job_id = sent.json()["id"]
            # The events stream ends with the job's end
            events = await http.get(f"/v1/jobs/{job_id}/events", timeout=60)
            job = (await http.get(f"/v1/jobs/{job_id}")).json()
    received = sse_events(events.text)
    stages = [data["stage"] for kind, data in received if kind == "progress"]
    assert "decode" in stages, received
    assert received[-1][0] == "state"
    assert received[-1][1]["status"] == "succeeded"
    assert job["status"] == "succeeded", job
    assert job["result"]["duration_s"] == pytest.approx(2.0)
    assert job["result"]["sample_rate"] == RATE
    assert job["result"]["loudness_per_second_dbfs"][0] == -120.0


async def test_a_file_corrupt_half_way_fails_at_once(jobs: Jobs, settings: FolioSettings) -> None:
    data = bytearray(encode(signal(4.0), "FLAC"))
    middle = len(data) // 2
    data[middle : middle + 2000] = b"\xff" * 2000
    key = f"audio/{uuid.uuid4()}.flac"
    await put(settings, key, bytes(data))
    failed = await wait_status(jobs, await submit(jobs, key), "failed", "dead", timeout_s=60)
    assert str(failed.status) == "failed"
    assert failed.attempts == 1
    assert "audio data unreadable after" in (failed.error_message or "")


@pytest.fixture
def s3_settings(settings: FolioSettings, test_servers: Any) -> FolioSettings:
    """The test's settings on S3 (moto), with a bucket that does not exist yet."""
    return settings.model_copy(
        update={
            "storage": StorageSettings(backend="s3"),
            "s3": S3Settings(
                bucket=f"folio-audio-{uuid.uuid4().hex[:12]}",
                endpoint_url=test_servers.s3_endpoint_url,
                access_key_id="testing",
                secret_access_key=SecretStr("testing"),
            ),
        }
    )


def bucket(s3_settings: FolioSettings) -> S3Storage:
    """The test's S3 bucket, created when opened."""
    return S3Storage(
        s3_settings.s3.bucket,
        endpoint_url=s3_settings.s3.endpoint_url,
        access_key_id="testing",
        secret_access_key="testing",
        create_bucket=True,
    )


async def test_a_dead_letter_is_redriven_once_storage_is_fixed(
    engine: AsyncEngine, s3_settings: FolioSettings
) -> None:
    # The worker's bucket is missing (a storage outage, a misconfiguration):
    # every attempt fails with a transient storage error until none is left.
    key = f"audio/{uuid.uuid4()}.wav"
    with kind_worker(s3_settings, [analyze], threads=2) as broker:
        client = aioredis.Redis.from_url(s3_settings.redis.url)
        jobs = Jobs(engine, broker, client)
        try:
            job_id = await submit(jobs, key)
            dead = await wait_status(jobs, job_id, "dead", "failed", "succeeded", timeout_s=90)
            assert str(dead.status) == "dead", dead.error_message
            assert dead.attempts == 4  # the first and max_retries=3 more
            assert dead.error_type == "StorageError"
            # The fix: the bucket exists and holds the file. Re-drive.
            storage = bucket(s3_settings)
            await storage.open()
            try:
                await storage.put_bytes(key, encode(signal(2.0), "WAV"), content_type="audio/wav")
            finally:
                await storage.close()
            assert await jobs.redrive(QUEUE_DEFAULT) == 1
            done = await wait_status(jobs, job_id, "succeeded", timeout_s=60)
        finally:
            await client.aclose()
    assert done.result is not None
    assert done.result["duration_s"] == pytest.approx(2.0)


async def test_on_s3_the_client_uploads_the_input_and_the_job_reads_it(
    engine: AsyncEngine, s3_settings: FolioSettings
) -> None:
    """The same flow with S3: the grant is a presigned POST to the bucket
    (any content type), sent by the Python client, and the job reads it."""
    storage = bucket(s3_settings)
    await storage.open()
    await storage.close()
    async with create_session_factory(engine)() as session:
        tenant, api_key = await create_tenant(session, f"audio-s3-{uuid.uuid4().hex[:8]}")
        await session.commit()
    wav = encode(signal(2.0), "WAV")
    with kind_worker(s3_settings, [analyze], threads=2), serve(lambda _: s3_settings) as live:
        async with AsyncFolio(live.base_url, api_key) as folio:
            key = await folio.upload_job_input(wav, filename="take-1.wav", content_type="audio/wav")
            assert key.startswith(f"tenants/{tenant.id}/inputs/")
            job = await folio.submit("audio.analyze", {"storage_key": key})
            done = await folio.wait_for_job(job.id, timeout_s=60)
    assert done.status == "succeeded", done
    assert done.result is not None
    assert done.result["duration_s"] == pytest.approx(2.0)
