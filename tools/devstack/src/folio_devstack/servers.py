"""Real servers for development and tests: Redis, PostgreSQL (with pgvector), moto's S3.

Each one is a child process on a loopback port with its own data directory;
use it as a context manager or call ``start()`` / ``stop()`` / ``kill()`` /
``restart()`` (see :class:`folio_devstack.process.ChildServer` for the shared
options: log file, start and stop timeouts).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from folio_devstack.errors import DevstackError, MissingSystemDependency
from folio_devstack.ports import LOOPBACK, listens
from folio_devstack.process import ChildServer

INSTALL_HINT = (
    "install it with `make system-deps` (Debian/Ubuntu, as root: "
    "apt-get install redis-server) or your system's package manager"
)


class RedisServer(ChildServer):
    """The system's ``redis-server`` on ``127.0.0.1:port``.

    - ``port``: TCP port on 127.0.0.1.
    - ``data_dir``: the server's ``--dir`` (AOF files, dumps); created if missing.
    - ``appendonly``: keep an append-only file (``--appendonly yes``) so the
      data survives a restart or a SIGKILL (fsync every second).
    - ``log_path``: default ``data_dir / "redis.log"``.
    - Other options: see :class:`ChildServer`.

    RDB snapshots are off (``--save ''``). ``url`` is ``redis://127.0.0.1:port/0``.
    """

    name = "redis"

    def __init__(
        self,
        port: int,
        data_dir: Path,
        *,
        appendonly: bool,
        log_path: Path | None = None,
        **options: Any,
    ) -> None:
        super().__init__(log_path=log_path or Path(data_dir) / "redis.log", **options)
        self.port = port
        self.data_dir = Path(data_dir).resolve()
        self.appendonly = appendonly

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def command(self) -> Sequence[str]:
        binary = shutil.which("redis-server")
        if binary is None:
            raise MissingSystemDependency(
                f"redis-server was not found on PATH; {INSTALL_HINT}", program="redis-server"
            )
        return [
            binary,
            "--bind",
            LOOPBACK,
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--daemonize",
            "no",
        ]

    def is_ready(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def is_own(self) -> bool:
        """True when the Redis on the port works in this server's ``data_dir``."""
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=0.5) as sock:
                sock.sendall(b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$3\r\ndir\r\n")
                reply = sock.recv(65536)
        except OSError:
            return False
        # *2 $3 dir $<n> <the folder>
        parts = reply.split(b"\r\n")
        return len(parts) >= 5 and parts[4].decode(errors="replace") == str(self.data_dir)


def pg_bin_dir() -> Path:
    """The ``bin`` folder of the PostgreSQL (with pgvector) bundled by ``pgserver``."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        raise MissingSystemDependency(
            "the pgserver package is not installed; run `make venv`", program="pgserver"
        )
    return Path(spec.origin).parent / "pginstall" / "bin"


class PostgresServer(ChildServer):
    """PostgreSQL 16 with pgvector, from the ``pgserver`` package, on ``127.0.0.1:port``.

    - ``port``: TCP port on 127.0.0.1 (no other interface).
    - ``data_dir``: the cluster; created with ``initdb -U postgres --auth=trust
      -E UTF8`` when it has no ``PG_VERSION``, reused otherwise.
    - ``fsync``: flush to disk (default true; tests turn it off for speed:
      commits still survive a SIGKILL of the server, not a machine crash).
    - ``max_connections``: server limit (default 200).
    - ``system_user``: when running as root (PostgreSQL refuses root), the
      unprivileged account that owns the cluster and runs the server; created
      with ``useradd`` if missing (default ``folio-pg``). Unused otherwise.
    - ``log_path``: default ``data_dir.parent / (data_dir.name + ".log")``.
    - Other options: see :class:`ChildServer`.

    The Unix socket lives in a short folder under the temp dir (socket paths
    are limited to ~100 bytes). Stop is a fast shutdown (SIGINT): clients are
    disconnected instead of waited for.
    """

    name = "postgres"
    stop_signal = signal.SIGINT
    _DB_NAME: ClassVar[re.Pattern[str]] = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

    def __init__(
        self,
        port: int,
        data_dir: Path,
        *,
        fsync: bool = True,
        max_connections: int = 200,
        system_user: str = "folio-pg",
        log_path: Path | None = None,
        **options: Any,
    ) -> None:
        data_dir = Path(data_dir).resolve()
        super().__init__(log_path=log_path or data_dir.parent / f"{data_dir.name}.log", **options)
        self.port = port
        self.data_dir = data_dir
        self.fsync = fsync
        self.max_connections = max_connections
        self.system_user = system_user if os.geteuid() == 0 else None
        self.socket_dir = Path(tempfile.gettempdir()) / f"folio-pg-{port}"
        self.bin_dir = pg_bin_dir()

    def url(self, dbname: str = "postgres") -> str:
        """``postgresql://postgres@127.0.0.1:PORT/dbname`` (trust authentication)."""
        return f"postgresql://postgres@{LOOPBACK}:{self.port}/{dbname}"

    # --- set-up -------------------------------------------------------------------

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.socket_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.system_user is not None:
            account = _ensure_system_user(self.system_user)
            _make_traversable(self.data_dir.parent)
            for path in (self.data_dir, self.socket_dir):
                if path.stat().st_uid != account.pw_uid:
                    _chown_tree(path, account.pw_uid, account.pw_gid)
        self.data_dir.chmod(0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run_as_owner(
                [
                    str(self.bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-instructions",
                ]
            )

    def command(self) -> Sequence[str]:
        return [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-k",
            str(self.socket_dir),
            "-c",
            f"listen_addresses={LOOPBACK}",
            "-c",
            f"fsync={'on' if self.fsync else 'off'}",
            "-c",
            f"full_page_writes={'on' if self.fsync else 'off'}",
            "-c",
            f"max_connections={self.max_connections}",
        ]

    def popen_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"cwd": str(self.data_dir)}
        if self.system_user is not None:
            account = pwd.getpwnam(self.system_user)
            options.update(user=account.pw_uid, group=account.pw_gid, extra_groups=[])
        return options

    def is_ready(self) -> bool:
        result = subprocess.run(
            [
                str(self.bin_dir / "pg_isready"),
                "-h",
                LOOPBACK,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-t",
                "1",
            ],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def is_own(self) -> bool:
        """True when the PostgreSQL on the port serves this server's ``data_dir``."""
        try:
            return self.psql("SHOW data_directory") == str(self.data_dir)
        except DevstackError:
            return False

    # --- SQL ----------------------------------------------------------------------

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run ``sql`` with ``psql`` as the ``postgres`` superuser; its
        unaligned, tuples-only output. Raises :class:`DevstackError` on error."""
        result = subprocess.run(
            [
                str(self.bin_dir / "psql"),
                "-X",
                "-q",
                "-tA",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                LOOPBACK,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                dbname,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise DevstackError(
                f"psql failed on {dbname}: {result.stderr.strip()}", sql=sql, dbname=dbname
            )
        return result.stdout.strip()

    def create_database(self, name: str) -> bool:
        """Create database ``name`` unless it exists; True when it was created."""
        if not self._DB_NAME.match(name):
            raise DevstackError(f"invalid database name {name!r}", dbname=name)
        exists = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608 (name matched _DB_NAME)
        if self.psql(exists) == "1":
            return False
        try:
            self.psql(f'CREATE DATABASE "{name}"')
        except DevstackError as exc:
            if "already exists" in str(exc):
                return False
            raise
        return True

    # --- internals ------------------------------------------------------------------

    def _run_as_owner(self, cmd: list[str]) -> None:
        log = self.log_path
        result = subprocess.run(
            cmd, capture_output=True, text=True, check=False, **self.popen_options()
        )
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a", encoding="utf-8") as fh:
                fh.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise DevstackError(
                f"{Path(cmd[0]).name} failed (status {result.returncode}): "
                f"{result.stderr.strip()[-2000:]}",
                command=cmd,
            )


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if shutil.which("useradd") is None:
        raise MissingSystemDependency(
            f"PostgreSQL cannot run as root and `useradd` is missing to create {name!r}",
            program="useradd",
        )
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(name)


def _make_traversable(folder: Path) -> None:
    """Give "others" search (x, not read) permission on ``folder`` and its
    parents, so the unprivileged PostgreSQL account can reach its data dir."""
    for path in (folder, *folder.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            print(f"folio-devstack: chmod o+x {path} (for the PostgreSQL account)", file=sys.stderr)
            path.chmod(mode | stat.S_IXOTH)


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in (*dirnames, *filenames):
            os.chown(os.path.join(dirpath, entry), uid, gid, follow_symlinks=False)


class MotoServer(ChildServer):
    """moto's S3-compatible HTTP server (``python -m moto.server``) on ``127.0.0.1:port``.

    - ``port``: TCP port on 127.0.0.1.
    - ``log_path``: default ``<tempdir>/folio-moto-<port>.log``.
    - Other options: see :class:`ChildServer`.

    State is in memory: a restart starts empty. ``url`` is the endpoint URL
    (any access key and secret are accepted).
    """

    name = "moto"

    def __init__(self, port: int, *, log_path: Path | None = None, **options: Any) -> None:
        super().__init__(
            log_path=log_path or Path(tempfile.gettempdir()) / f"folio-moto-{port}.log",
            **options,
        )
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def command(self) -> Sequence[str]:
        return [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(self.port)]

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1) as response:  # noqa: S310
                return int(response.status) == 200
        except (urllib.error.URLError, OSError):
            return False

    def is_own(self) -> bool:
        """True when this server's process holds the listening socket (moto
        has no state of its own to ask for; where ``/proc`` cannot tell,
        true)."""
        pid = self.pid
        return pid is not None and listens(pid, self.port) is not False
