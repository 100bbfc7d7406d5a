"""A rollout never loses a running job: SIGTERM in the middle of a job.

Kubernetes stops a pod by sending SIGTERM, waiting
``terminationGracePeriodSeconds``, then sending SIGKILL. These tests run the
worker entry point (``folio_shared.worker.run_worker``, what
``folio-worker-docs`` calls, on worker-docs's real broker and middleware) as a
real process against the test Redis, send it SIGTERM while a job runs, and
check both outcomes Folio relies on:

- a job shorter than ``FOLIO_WORKER_SHUTDOWN_TIMEOUT_MS`` finishes, and the
  process exits within the shutdown timeout (so well within the grace period
  the manifests set, which is longer);
- a job longer than that timeout is handed back: the process still exits in
  time, the message stays in Redis under the stopped worker's
  acknowledgements, Dramatiq's broker maintenance puts it back on its queue
  once the worker's heartbeat has expired, and a second worker runs it to the
  end. Nothing is lost either way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest
import redis
from deploy_support import manifest_worker_grace
from dramatiq.brokers.redis import RedisBroker

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
QUEUE = "maintenance"  # graceful_actors.QUEUE
SHUTDOWN_TIMEOUT_MS = 10_000
HEARTBEAT_TIMEOUT_MS = 2_000
BOOT_TIMEOUT_S = 90.0

_RUNNER = (
    "from folio_shared.messages import Queue; from folio_shared.worker import run_worker; "
    "run_worker('graceful_actors', [Queue.MAINTENANCE])"
)


class WorkerProcess:
    """One worker-docs process consuming the test queue."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _RUNNER],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def terminate_and_wait(self, limit_s: float) -> float:
        """Send SIGTERM; return how long the process took to exit."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"worker did not exit within {limit_s}s of SIGTERM\n{self.log()}")
        return time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
def namespace() -> str:
    return f"folio-deploy-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def redis_sync(test_servers: object, namespace: str) -> Iterator[redis.Redis]:
    url: str = test_servers.redis_url  # type: ignore[attr-defined]
    c = redis.Redis.from_url(url, decode_responses=True)
    yield c
    keys = list(c.scan_iter(f"{namespace}:*"))
    if keys:
        c.delete(*keys)
    c.close()


@pytest.fixture
def worker_env(test_servers: object, namespace: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
    env.update(
        {
            "FOLIO_ENV": "test",
            "FOLIO_REDIS_URL": test_servers.redis_url,  # type: ignore[attr-defined]
            "FOLIO_DATABASE_URL": test_servers.pg_admin_url,  # type: ignore[attr-defined]
            "FOLIO_STORAGE_BACKEND": "local",
            "FOLIO_STORAGE_LOCAL_ROOT": str(tmp_path / "storage"),
            "FOLIO_BROKER_NAMESPACE": namespace,
            "FOLIO_BROKER_HEARTBEAT_TIMEOUT_MS": str(HEARTBEAT_TIMEOUT_MS),
            "FOLIO_WORKER_PROCESSES": "1",
            "FOLIO_WORKER_THREADS": "2",
            "FOLIO_WORKER_SHUTDOWN_TIMEOUT_MS": str(SHUTDOWN_TIMEOUT_MS),
            "FOLIO_WORKER_QUEUES": QUEUE,
            "FOLIO_LOG_LEVEL": "INFO",
            "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _broker(url: str, namespace: str, maintenance: bool = False) -> RedisBroker:
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=url,
        namespace=namespace,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=1_000_000 if maintenance else 0,
        middleware=[],
    )


def _send(url: str, namespace: str, token: str, seconds: float) -> str:
    broker = _broker(url, namespace)
    try:
        broker.declare_queue(QUEUE)
        message: dramatiq.Message[object] = dramatiq.Message(
            queue_name=QUEUE, actor_name="deploy.slow", args=(token, seconds), kwargs={}, options={}
        )
        # The Redis broker keys a message by its own id, not Dramatiq's.
        return str(broker.enqueue(message).options["redis_message_id"])
    finally:
        broker.close()


def _records(redis_sync: redis.Redis, namespace: str, event: str) -> list[str]:
    return [str(v) for v in redis_sync.lrange(f"{namespace}:deploy-test:{event}", 0, -1)]


def _wait_for(predicate: object, timeout_s: float, what: str, worker: WorkerProcess) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        if worker.proc.poll() is not None:
            pytest.fail(
                f"worker exited early ({worker.proc.returncode}) waiting for {what}\n{worker.log()}"
            )
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}\n{worker.log()}")


def test_manifests_give_workers_longer_than_their_shutdown_timeout() -> None:
    # The grace period that makes the outcomes below hold in a cluster.
    for name, (grace_s, shutdown_ms) in manifest_worker_grace().items():
        assert grace_s * 1000 > shutdown_ms, name


def test_sigterm_mid_job_lets_the_job_finish(
    worker_env: dict[str, str], redis_sync: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    # Given a worker running a 3 s job
    url = worker_env["FOLIO_REDIS_URL"]
    worker = WorkerProcess(worker_env, tmp_path / "worker.log")
    try:
        token = uuid.uuid4().hex
        _send(url, namespace, token, 3.0)
        _wait_for(
            lambda: token in _records(redis_sync, namespace, "started"),
            BOOT_TIMEOUT_S,
            "start",
            worker,
        )
        assert token not in _records(redis_sync, namespace, "done")

        # When it is told to stop in the middle of the job
        took_s = worker.terminate_and_wait(limit_s=SHUTDOWN_TIMEOUT_MS / 1000 + 20)
    finally:
        worker.kill()

    # Then the job finished before the process exited, in time, and nothing
    # is left on the queue.
    assert _records(redis_sync, namespace, "done") == [token], worker.log()
    assert took_s < SHUTDOWN_TIMEOUT_MS / 1000 + 10, worker.log()
    assert redis_sync.llen(f"{namespace}:{QUEUE}") == 0
    assert worker.proc.returncode == 0, worker.log()


def test_sigterm_past_the_shutdown_timeout_hands_the_job_back(
    worker_env: dict[str, str], redis_sync: redis.Redis, namespace: str, tmp_path: Path
) -> None:
    # Given a worker running a job longer than its shutdown timeout
    url = worker_env["FOLIO_REDIS_URL"]
    long_s = SHUTDOWN_TIMEOUT_MS / 1000 + 20
    first = WorkerProcess(worker_env, tmp_path / "first.log")
    try:
        token = uuid.uuid4().hex
        message_id = _send(url, namespace, token, long_s)
        _wait_for(
            lambda: token in _records(redis_sync, namespace, "started"),
            BOOT_TIMEOUT_S,
            "start",
            first,
        )

        # When it is told to stop
        took_s = first.terminate_and_wait(limit_s=SHUTDOWN_TIMEOUT_MS / 1000 + 20)
    finally:
        first.kill()

    # Then it exited within the shutdown timeout (plus start-up/teardown
    # slack), without finishing the job ...
    assert took_s < SHUTDOWN_TIMEOUT_MS / 1000 + 10, first.log()
    assert token not in _records(redis_sync, namespace, "done")
    # ... and the message is still in Redis: its body in the queue's message
    # hash, its id held by the stopped worker's acknowledgements.
    assert redis_sync.hexists(f"{namespace}:{QUEUE}.msgs", message_id)
    held = list(redis_sync.scan_iter(f"{namespace}:__acks__.*.{QUEUE}"))
    assert any(redis_sync.sismember(k, message_id) for k in held), held

    # When the stopped worker's heartbeat has expired and a broker runs its
    # maintenance (any worker's fetch does, by chance; here on purpose)
    time.sleep(HEARTBEAT_TIMEOUT_MS / 1000 + 1)
    maintainer = _broker(url, namespace, maintenance=True)
    try:
        maintainer.do_qsize(QUEUE)  # read-only command
    finally:
        maintainer.close()

    # Then the message is back on its queue ...
    queued = [str(v) for v in redis_sync.lrange(f"{namespace}:{QUEUE}", 0, -1)]
    assert queued == [message_id]

    # ... and a second worker runs it to the end: handed back, not lost.
    env = dict(worker_env, FOLIO_WORKER_SHUTDOWN_TIMEOUT_MS=str(int(long_s * 1000) + 10_000))
    second = WorkerProcess(env, tmp_path / "second.log")
    try:
        _wait_for(
            lambda: token in _records(redis_sync, namespace, "done"),
            BOOT_TIMEOUT_S + long_s,
            "redelivery",
            second,
        )
        second.terminate_and_wait(limit_s=30)
    finally:
        second.kill()
    assert _records(redis_sync, namespace, "done") == [token]
