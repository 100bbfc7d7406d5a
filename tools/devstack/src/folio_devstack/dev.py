"""``python -m folio_devstack dev``: the embedded stack behind ``make dev``.

Everything lives under ``FOLIO_HOME`` (default ``.folio/``, git-ignored) and
is reused by the next run:

- Redis on the port of ``FOLIO_REDIS_URL`` (default 6380), AOF on, data in
  ``.folio/redis``;
- PostgreSQL with pgvector on the port of ``FOLIO_DATABASE_URL`` (default
  5433), data in ``.folio/pg``, database ``folio``;
- ``folio migrate``; a demo tenant created once, its API key kept in
  ``.folio/dev-api-key`` (mode 0600) and printed on every run;
- local storage in ``.folio/storage``, its URLs signed with a random
  secret made once and kept in ``.folio/signing-secret`` (mode 0600; an
  exported ``FOLIO_STORAGE_SIGNING_SECRET`` wins), never the public
  development default, and pointing at the API's host and port
  (``FOLIO_API_HOST``, ``FOLIO_API_PORT``; an exported
  ``FOLIO_STORAGE_PUBLIC_BASE_URL`` wins); server logs in ``.folio/logs``;
- the services ``folio-api``, ``folio-worker-docs``, ``folio-worker-ocr`` and
  ``folio-scheduler`` (those installed; a missing one is reported and
  skipped), and ``folio worker start jobs`` for the job kinds installed packages
  offer (the examples', e.g. ``audio.analyze``), their output merged into
  this terminal as ``api | ...`` lines;
- each service's metrics on a port of its own (one host, unlike pods):
  worker-docs on ``FOLIO_METRICS_PORT`` (default 9191), worker-ocr on the
  next port (9192), the API on the one after (9193), worker-jobs on 9194.

Ctrl-C or SIGTERM stops the services (SIGTERM, SIGKILL after
``STOP_TIMEOUT_S``), then PostgreSQL and Redis. A second Ctrl-C kills at
once. **When a service dies, the whole stack stops** with exit status 1:
a half-running stack hides the failure in scrolling logs, and a restart is
one command.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from folio_devstack.errors import DevstackError, MissingSystemDependency, PortInUse
from folio_devstack.logmux import LogMux
from folio_devstack.ports import port_accepts, port_is_free
from folio_devstack.process import die_with_parent
from folio_devstack.servers import PostgresServer, RedisServer
from folio_shared.kinds.load import entry_point_modules
from folio_shared.settings import FolioSettings, get_settings

#: (log prefix, console script), in start order.
SERVICES = (
    ("api", "folio-api"),
    ("worker-docs", "folio-worker-docs"),
    ("worker-ocr", "folio-worker-ocr"),
    ("scheduler", "folio-scheduler"),
)
#: The worker of job kinds that installed packages offer through the
#: ``folio.jobs`` entry-point group (``make venv`` installs the examples'):
#: started only when there is one.
JOBS_WORKER: tuple[str, str, tuple[str, ...]] = (
    "worker-jobs",
    "folio",
    ("worker", "start", "jobs"),
)
#: Services serving their own metrics port, in the order their ports are given.
METRICS_SERVICES = ("worker-docs", "worker-ocr", "api", "worker-jobs")
#: How long services get to stop after SIGTERM before SIGKILL, in seconds.
STOP_TIMEOUT_S = 30.0
DEMO_TENANT = "demo"
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}


class StopRequested(Exception):
    """SIGINT or SIGTERM arrived."""


@dataclass
class Service:
    name: str
    proc: subprocess.Popen[bytes]


@dataclass(frozen=True)
class DevPlan:
    """Where the dev stack runs, derived from Folio's settings."""

    home: Path
    redis_port: int
    pg_port: int
    dbname: str
    api_host: str
    api_port: int
    metrics_port: int = 9191

    @classmethod
    def from_settings(cls, settings: FolioSettings) -> DevPlan:
        redis = urlsplit(settings.redis.url)
        database = urlsplit(settings.database.url)
        for what, parts in (("FOLIO_REDIS_URL", redis), ("FOLIO_DATABASE_URL", database)):
            if parts.hostname not in _LOOPBACK_HOSTS:
                raise DevstackError(
                    f"{what} points at {parts.hostname}; the dev stack runs its own "
                    "servers on 127.0.0.1 (unset it to use the defaults)"
                )
        return cls(
            home=settings.home.resolve(),
            redis_port=redis.port or 6380,
            pg_port=database.port or 5433,
            dbname=database.path.lstrip("/") or "folio",
            api_host=settings.api.host,
            api_port=settings.api.port,
            metrics_port=settings.metrics.port,
        )

    def environment(self) -> dict[str, str]:
        """The variables every service and CLI call of the stack gets."""
        env = dict(os.environ)
        if not env.get("FOLIO_STORAGE_SIGNING_SECRET"):
            env["FOLIO_STORAGE_SIGNING_SECRET"] = signing_secret(self.home)
        # Presigned URLs name the API where this stack serves it (its port may not be 8000).
        env.setdefault("FOLIO_STORAGE_PUBLIC_BASE_URL", f"http://{self.api_host}:{self.api_port}")
        env.update(
            FOLIO_ENV="dev",
            FOLIO_HOME=str(self.home),
            FOLIO_REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            FOLIO_DATABASE_URL=(
                f"postgresql+asyncpg://postgres@127.0.0.1:{self.pg_port}/{self.dbname}"
            ),
            FOLIO_STORAGE_BACKEND="local",
            FOLIO_STORAGE_LOCAL_ROOT=str(self.home / "storage"),
            FOLIO_LOG_FORMAT="console",
            PYTHONUNBUFFERED="1",
        )
        return env

    def metrics_ports(self) -> dict[str, int]:
        """Each service's metrics port (none when ``FOLIO_METRICS_PORT`` is 0)."""
        if not self.metrics_port:
            return {}
        return {name: self.metrics_port + i for i, name in enumerate(METRICS_SERVICES)}

    def service_environment(self, env: dict[str, str], name: str) -> dict[str, str]:
        """``env`` for the service ``name``: its own metrics port, if it serves one."""
        port = self.metrics_ports().get(name)
        return env if port is None else {**env, "FOLIO_METRICS_PORT": str(port)}


def signing_secret(home: Path) -> str:
    """The stack's signing secret: read from ``home/signing-secret``, or
    made once (32 random bytes, hex) and kept there, readable by its owner only."""
    path = home / "signing-secret"
    if path.exists() and path.read_text().strip():
        return path.read_text().strip()
    home.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    path.chmod(0o600)
    return secret


def _raise_stop(_signum: int, _frame: FrameType | None) -> None:
    raise StopRequested


def script_path(name: str) -> Path | None:
    """The console script ``name`` next to this interpreter (the venv), else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def ensure_redis_installed(mux: LogMux) -> None:
    """Install the system packages when root and ``redis-server`` is missing; else explain."""
    if shutil.which("redis-server"):
        return
    script = Path("scripts/install-system-deps.sh")
    if os.geteuid() == 0 and script.exists():
        mux.say("dev", "redis-server is missing: running scripts/install-system-deps.sh dev")
        subprocess.run(["bash", str(script), "dev"], check=True)
        return
    raise MissingSystemDependency(
        "redis-server is not installed. On Debian/Ubuntu run `sudo make system-deps` "
        "(or `sudo apt-get install redis-server`); elsewhere install Redis >= 7 so "
        "that `redis-server` is on PATH.",
        program="redis-server",
    )


def run_cli(mux: LogMux, args: list[str], env: dict[str, str]) -> str | None:
    """Run ``folio ARGS``; echo its output under ``folio``; its stdout (None on failure)."""
    folio = script_path("folio")
    if folio is None:
        mux.say("dev", "!! the `folio` CLI is not installed (run `make venv`)")
        return None
    result = subprocess.run([str(folio), *args], env=env, capture_output=True, text=True)
    for line in (result.stdout + result.stderr).splitlines():
        mux.say("folio", line)
    if result.returncode != 0:
        mux.say("dev", f"!! `folio {' '.join(args)}` failed with status {result.returncode}")
        return None
    return result.stdout


def demo_key(mux: LogMux, plan: DevPlan, env: dict[str, str]) -> str | None:
    """The demo tenant's key: read from ``.folio/dev-api-key``, or create the tenant once."""
    key_file = plan.home / "dev-api-key"
    if key_file.exists() and key_file.read_text().strip():
        return key_file.read_text().strip()
    for name in (DEMO_TENANT, f"{DEMO_TENANT}-{int(time.time())}"):
        out = run_cli(mux, ["tenants", "create", name], env)
        lines = [line.strip() for line in (out or "").splitlines() if line.strip()]
        if lines:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(lines[-1] + "\n")
            key_file.chmod(0o600)
            return lines[-1]
    return None


def start_services(mux: LogMux, plan: DevPlan, env: dict[str, str]) -> list[Service]:
    services: list[Service] = []
    wanted: list[tuple[str, str, tuple[str, ...]]] = [(name, s, ()) for name, s in SERVICES]
    if entry_point_modules():
        wanted.append(JOBS_WORKER)
    else:
        mux.say("dev", "no package offers job kinds (folio.jobs): worker-jobs is not started")
    for name, script, args in wanted:
        path = script_path(script)
        if path is None:
            mux.say("dev", f"!! {script} is not installed: {name} is NOT running")
            continue
        proc = subprocess.Popen(
            [str(path), *args],
            env=plan.service_environment(env, name),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        assert proc.stdout is not None
        mux.add(name, proc.stdout)
        services.append(Service(name, proc))
    return services


def stop_services(mux: LogMux, services: list[Service]) -> None:
    """SIGTERM each service, keep printing their output, SIGKILL what is left."""
    for service in services:
        if service.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                service.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    try:
        while any(s.proc.poll() is None for s in services) and time.monotonic() < deadline:
            mux.pump(0.1)
    except StopRequested:
        mux.say("dev", "second interrupt: killing the services")
    for service in services:
        # The group also holds worker subprocesses; none may outlive the stack.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(service.proc.pid, signal.SIGKILL)
        service.proc.wait()
    mux.drain()


def watch(mux: LogMux, services: list[Service]) -> int:
    """Print output until a service dies (status 1) or a stop is requested (0)."""
    while True:
        mux.pump(0.2)
        for service in services:
            code = service.proc.poll()
            if code is not None:
                for _ in range(5):  # its last words, if any are still in the pipe
                    mux.pump(0.05)
                mux.say("dev", "!" * 60)
                mux.say(
                    "dev", f"!! {service.name} EXITED ({describe_exit(code)}); stopping the stack"
                )
                mux.say("dev", "!" * 60)
                return 1


def describe_exit(code: int) -> str:
    """``status 1`` or ``killed by SIGKILL`` for a Popen return code."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"status {code}"


def banner(mux: LogMux, plan: DevPlan, key: str | None, services: list[Service]) -> None:
    running = ", ".join(s.name for s in services) or "none"
    lines = [
        "Folio dev stack is up",
        f"  dashboard    http://{plan.api_host}:{plan.api_port}/ui   (sign in with the API key)",
        f"  API          http://{plan.api_host}:{plan.api_port}   (/readyz, /schema)",
        f"  API key      {key or '(not created: see the errors above)'}",
        f"               saved in {plan.home / 'dev-api-key'}",
        f"  Redis        redis://127.0.0.1:{plan.redis_port}/0",
        f"  PostgreSQL   postgresql://postgres@127.0.0.1:{plan.pg_port}/{plan.dbname}",
        f"  storage      {plan.home / 'storage'}   logs {plan.home / 'logs'}",
        *(
            f"  metrics      {name}: http://127.0.0.1:{port}/metrics"
            for name, port in plan.metrics_ports().items()
        ),
        f"  services     {running}",
        "Press Ctrl-C to stop.",
    ]
    for line in lines:
        mux.say("dev", line)


def main(argv: list[str]) -> int:
    """Run the dev stack until Ctrl-C / SIGTERM or a service dies."""
    if argv:
        print(f"folio dev takes no arguments (got {argv})", file=sys.stderr)
        return 2
    mux = LogMux()
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    redis: RedisServer | None = None
    postgres: PostgresServer | None = None
    services: list[Service] = []
    status = 0
    try:
        plan = DevPlan.from_settings(get_settings())
        ensure_redis_installed(mux)
        for what, port in (("Redis", plan.redis_port), ("PostgreSQL", plan.pg_port)):
            if not port_is_free(port):
                raise PortInUse(
                    f"port {port} for {what} is taken (is another `make dev` running? "
                    f"see `ss -ltnp | grep :{port}`)",
                    port=port,
                )
        if port_accepts(plan.api_port):
            raise PortInUse(f"port {plan.api_port} for the API is taken", port=plan.api_port)
        for name, port in plan.metrics_ports().items():
            if port_accepts(port):
                mux.say("dev", f"!! port {port} for {name}'s metrics is taken: it serves none")
        for folder in ("storage", "logs"):
            (plan.home / folder).mkdir(parents=True, exist_ok=True)
        env = plan.environment()
        logs = plan.home / "logs"
        redis = RedisServer(
            plan.redis_port, plan.home / "redis", appendonly=True, log_path=logs / "redis.log"
        )
        redis.start()
        mux.say("dev", f"Redis ready on 127.0.0.1:{plan.redis_port} (log {redis.log_path})")
        postgres = PostgresServer(plan.pg_port, plan.home / "pg", log_path=logs / "postgres.log")
        postgres.start()
        postgres.create_database(plan.dbname)
        mux.say("dev", f"PostgreSQL ready on 127.0.0.1:{plan.pg_port}, database {plan.dbname}")
        key: str | None = None
        if run_cli(mux, ["migrate"], env) is not None:
            key = demo_key(mux, plan, env)
        services = start_services(mux, plan, env)
        banner(mux, plan, key, services)
        if key:
            print(f"\nDemo API key: {key}\n", flush=True)
        status = watch(mux, services) if services else _idle(mux)
    except StopRequested:
        mux.say("dev", "stopping")
    except DevstackError as exc:
        mux.say("dev", f"!! {exc}")
        status = 1
    finally:
        stop_services(mux, services)
        for server in (postgres, redis):
            if server is not None:
                try:
                    server.stop()
                except StopRequested:
                    server.kill()
        mux.say("dev", "stopped")
    return status


def _idle(mux: LogMux) -> int:
    mux.say("dev", "no service is installed; servers keep running until Ctrl-C")
    while True:
        time.sleep(1)
