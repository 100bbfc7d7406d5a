"""The embedded servers of ``folio_devstack``: they start, serve, persist and stop.

These tests start their own servers on free private ports (independent of
the ones ``make test`` starts), so a broken server class fails here first.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from folio_devstack.errors import ServerStartFailed
from folio_devstack.ports import listens, pick_port, port_accepts
from folio_devstack.process import ChildServer
from folio_devstack.servers import MotoServer, PostgresServer, RedisServer

pytestmark = pytest.mark.integration


def redis_call(port: int, *command: str) -> bytes:
    """One RESP command over a raw socket; the raw reply."""
    payload = f"*{len(command)}\r\n".encode()
    for part in command:
        payload += f"${len(part.encode())}\r\n{part}\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        return sock.recv(65536)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not tmp_path: the unprivileged PostgreSQL account must be able to reach it.
    with tempfile.TemporaryDirectory(prefix="folio-devstack-test-") as folder:
        os.chmod(folder, 0o755)  # noqa: S103 (traverse + read for the PostgreSQL account)
        yield Path(folder)


def test_redis_keeps_data_across_restart_and_kill_with_aof(data_dir: Path) -> None:
    port = pick_port(16479)
    with RedisServer(port, data_dir / "redis", appendonly=True) as redis:
        assert redis.url == f"redis://127.0.0.1:{port}/0"
        assert redis_call(port, "SET", "k", "v1") == b"+OK\r\n"
        redis.restart()
        assert redis_call(port, "GET", "k") == b"$2\r\nv1\r\n"
        assert redis_call(port, "SET", "k", "v2") == b"+OK\r\n"
        redis_call(port, "CONFIG", "SET", "appendfsync", "always")
        assert redis_call(port, "SET", "k", "v3") == b"+OK\r\n"
        pid = redis.pid
        assert pid is not None

        redis.kill()

        assert not alive(pid)
        assert not port_accepts(port)
        redis.start()
        assert redis_call(port, "GET", "k") == b"$2\r\nv3\r\n"
    assert not port_accepts(port)


def test_redis_without_aof_starts_empty_after_restart(data_dir: Path) -> None:
    port = pick_port(16479)
    with RedisServer(port, data_dir / "redis", appendonly=False) as redis:
        redis_call(port, "SET", "k", "v")
        redis.restart()
        assert redis_call(port, "GET", "k") == b"$-1\r\n"


def test_postgres_initialises_creates_databases_and_has_pgvector(data_dir: Path) -> None:
    port = pick_port(15533)
    pg = PostgresServer(port, data_dir / "pg", fsync=False)
    with pg:
        assert pg.url("folio") == f"postgresql://postgres@127.0.0.1:{port}/folio"
        assert pg.create_database("folio_t") is True
        assert pg.create_database("folio_t") is False
        assert pg.psql("CREATE EXTENSION vector; SELECT '[1,2,3]'::vector", "folio_t") == "[1,2,3]"
        assert pg.psql("SHOW listen_addresses") == "127.0.0.1"
        if os.geteuid() == 0:
            assert pg.psql("SELECT current_setting('data_directory')") == str(data_dir / "pg")
    assert not port_accepts(port)

    # A second server on the same data dir reuses the cluster.
    with PostgresServer(port, data_dir / "pg", fsync=False) as again:
        assert again.psql("SELECT extname FROM pg_extension WHERE extname='vector'", "folio_t") == (
            "vector"
        )


def test_postgres_survives_sigkill(data_dir: Path) -> None:
    port = pick_port(15533)
    with PostgresServer(port, data_dir / "pg", fsync=False) as pg:
        pg.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
        pg.kill()
        assert not port_accepts(port)
        pg.start()
        assert pg.psql("SELECT x FROM t") == "1"


def test_moto_serves_s3(data_dir: Path) -> None:
    port = pick_port(15100)
    with MotoServer(port, log_path=data_dir / "moto.log") as moto:
        s3 = boto3.client(
            "s3",
            endpoint_url=moto.url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        s3.create_bucket(Bucket="folio-test")
        s3.put_object(Bucket="folio-test", Key="a.txt", Body=b"hello")
        assert s3.get_object(Bucket="folio-test", Key="a.txt")["Body"].read() == b"hello"
    assert not port_accepts(port)


def test_a_server_that_cannot_start_says_why(data_dir: Path) -> None:
    port = pick_port(16479)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        redis = RedisServer(port, data_dir / "redis", appendonly=False, start_timeout_s=10)
        with pytest.raises(Exception, match="redis exited") as failure:
            redis.start()
    assert "Address already in use" in str(failure.value)
    assert not redis.running


def test_stop_escalates_to_sigkill(data_dir: Path) -> None:
    class Stubborn(ChildServer):
        name = "stubborn"

        def command(self) -> list[str]:
            return ["bash", "-c", "trap '' TERM; sleep 60 & wait; sleep 60"]

        def is_ready(self) -> bool:
            return True

    server = Stubborn(log_path=data_dir / "stubborn.log", stop_timeout_s=0.5).start()
    pid = server.pid
    assert pid is not None
    server.stop()
    assert not alive(pid)


def test_another_redis_on_the_port_is_not_taken_for_this_one(data_dir: Path) -> None:
    # Given a Redis of another run on the port
    port = pick_port(16579)
    with RedisServer(port, data_dir / "theirs", appendonly=False):
        # When a server of this run starts on that port, it never counts as
        # ready: its own process cannot bind and exits
        ours = RedisServer(port, data_dir / "ours", appendonly=False, start_timeout_s=10)
        with pytest.raises(ServerStartFailed):
            ours.start()
        assert not ours.running


def test_another_moto_on_the_port_is_not_taken_for_this_one(data_dir: Path) -> None:
    # Given a moto of another run on the port (ready: it holds the socket)
    port = pick_port(15200)
    with MotoServer(port, log_path=data_dir / "theirs.log") as theirs:
        assert theirs.pid is not None
        assert listens(theirs.pid, port)
        # When a moto of this run starts on that port, it fails to start
        ours = MotoServer(port, log_path=data_dir / "ours.log", start_timeout_s=30)
        with pytest.raises(ServerStartFailed):
            ours.start()
        assert not ours.running
