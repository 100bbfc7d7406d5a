"""``python -m folio_devstack test [-- pytest args]``: the test runner behind ``make test``.

Starts Redis, PostgreSQL (with pgvector) and moto's S3 server on free private
loopback ports drawn at random, with their data in a fresh temp folder (a
server counts as ready only when what answers on its port is itself, so two
runs on one machine never share a server), exports where they are
(``FOLIO_TEST_REDIS_URL``, ``FOLIO_TEST_PG_URL``, ``FOLIO_TEST_S3_ENDPOINT``,
``FOLIO_TEST_AMQP_URL``; the machine's RabbitMQ unless already set), runs
pytest, and always stops the servers (also on Ctrl-C, SIGTERM or failure).
The exit status is pytest's.

With ``FOLIO_TEST_PROCESSES=N`` (N > 1; the default is 2 on a machine of two
cores or more) pytest runs its test files on N processes (pytest-xdist,
``--dist loadfile``: a module's tests stay in one process, with its fixtures),
and each process gets servers of its own: set ``k`` is exported with the
suffix ``_GWk`` (``FOLIO_TEST_REDIS_URL_GW1``...), set 0 without one. Most
tests wait on workers, servers and timers rather than compute, so two
processes cut the run's time even on two cores. ``FOLIO_TEST_PROCESSES=1``
runs one pytest process, as before.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType

from folio_devstack.errors import ServerStartFailed
from folio_devstack.ports import pick_port
from folio_devstack.process import ChildServer, die_with_parent
from folio_devstack.servers import MotoServer, PostgresServer, RedisServer

#: Ports are drawn at random from this range (below Linux's ephemeral
#: ports): test runs and benchmarks started at the same moment on one machine
#: would all take the same preferred port.
PORT_RANGE = (20_000, 32_000)
#: Ports tried per server before the run gives up.
PORT_ATTEMPTS = 5
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
#: Most pytest processes a run starts by default.
MAX_DEFAULT_PROCESSES = 2


def _say(text: str) -> None:
    print(f"folio-test: {text}", file=sys.stderr, flush=True)


def _start(make: Callable[[int], ChildServer], started: list[ChildServer]) -> None:
    """Start ``make(port)`` on a random free port, another one when the
    server cannot start there (another run took the port meanwhile: the
    server then finds something that is not itself answering on it)."""
    taken = frozenset(server.port for server in started)
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = random.randint(*PORT_RANGE)  # noqa: S311 (a port, not a secret)
        server = make(pick_port(port, exclude=taken))
        began = time.monotonic()
        try:
            server.start()
        except ServerStartFailed as e:
            if attempt == PORT_ATTEMPTS:
                raise
            _say(f"{server.name} did not start on port {server.port} ({e}); trying another")
            continue
        started.append(server)
        _say(f"{server.name} ready on port {server.port} ({time.monotonic() - began:.1f} s)")
        return


@contextlib.contextmanager
def test_servers(root: Path) -> Iterator[dict[str, str]]:
    """Start the three servers with data under ``root``; yield the
    ``FOLIO_TEST_*`` variables; stop them on the way out, whatever happens."""
    started: list[ChildServer] = []
    try:
        _start(lambda port: RedisServer(port, root / "redis", appendonly=True), started)
        _start(
            lambda port: PostgresServer(port, root / "pg", fsync=False, max_connections=300),
            started,
        )
        _start(lambda port: MotoServer(port, log_path=root / "moto.log"), started)
        redis, postgres, moto = started
        assert isinstance(postgres, PostgresServer)
        assert isinstance(redis, RedisServer)
        assert isinstance(moto, MotoServer)
        yield {
            "FOLIO_TEST_REDIS_URL": redis.url,
            "FOLIO_TEST_PG_URL": postgres.url("postgres"),
            "FOLIO_TEST_S3_ENDPOINT": moto.url,
        }
    finally:
        for started_server in reversed(started):
            started_server.stop()
        _say("servers stopped")


def pytest_process_count(args: Sequence[str], environ: dict[str, str]) -> int:
    """How many pytest processes to run: ``FOLIO_TEST_PROCESSES``, else up to
    :data:`MAX_DEFAULT_PROCESSES` by the CPU count; 1 when the arguments
    already choose (``-n``, ``--numprocesses``, ``-p no:xdist``)."""
    if any(
        a in ("-n", "no:xdist") or a.startswith(("-n=", "--numprocesses", "--dist")) for a in args
    ):
        return 1
    value = environ.get("FOLIO_TEST_PROCESSES", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise SystemExit(f"FOLIO_TEST_PROCESSES must be a whole number >= 1, not {value!r}")
        return int(value)
    return max(1, min(MAX_DEFAULT_PROCESSES, os.cpu_count() or 1))


def suffixed(server_env: dict[str, str], index: int) -> dict[str, str]:
    """Set ``index``'s variables as pytest-xdist's process ``gw{index}`` reads them."""
    return server_env if index == 0 else {f"{k}_GW{index}": v for k, v in server_env.items()}


def run_pytest(args: Sequence[str], env: dict[str, str]) -> int:
    """Run pytest as a child with ``env``; forward SIGTERM to it; its status."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args],
        env=env,
        preexec_fn=die_with_parent(signal.SIGTERM),
    )

    def forward(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                return _shell_status(proc.wait())
            except KeyboardInterrupt:
                # Ctrl-C reached pytest too (same process group): let it finish
                # its report; a second Ctrl-C ends it at once.
                try:
                    return _shell_status(proc.wait(timeout=30))
                except (KeyboardInterrupt, subprocess.TimeoutExpired):
                    proc.kill()
                    proc.wait()
                    return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


def _shell_status(returncode: int) -> int:
    """A child's status as a shell reports it: 128 + N when killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def main(pytest_args: Sequence[str]) -> int:
    """Start the servers, run pytest with ``pytest_args``, stop them; pytest's status."""
    root = Path(tempfile.mkdtemp(prefix="folio-test-"))
    root.chmod(0o755)  # the unprivileged PostgreSQL account must reach root/pg
    env = dict(os.environ)
    env.setdefault("FOLIO_TEST_AMQP_URL", DEFAULT_AMQP_URL)
    env.update(FOLIO_ENV="test", HF_HUB_OFFLINE="1", FOLIO_TEST_TMP=str(root))
    processes = pytest_process_count(pytest_args, env)
    if processes > 1:
        pytest_args = ["-n", str(processes), "--dist", "loadfile", *pytest_args]
    try:
        with contextlib.ExitStack() as stack:
            for index in range(processes):
                home = root / f"set{index}"
                home.mkdir(mode=0o755)
                server_env = suffixed(stack.enter_context(test_servers(home)), index)
                env.update(server_env)
                for name in sorted(server_env):
                    _say(f"{name}={server_env[name]}")
            status = run_pytest(pytest_args, env)
    except KeyboardInterrupt:
        status = 130
    finally:
        shutil.rmtree(root, ignore_errors=True)
    _say(f"pytest exited with status {status}")
    return status
