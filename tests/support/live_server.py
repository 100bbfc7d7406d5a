"""The real API served by uvicorn on a free loopback port, in a thread, with
the HTTP protocol ``folio-api`` uses (:mod:`folio_api.http`)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from folio_api.app import create_app
from folio_api.http import HttpToolsProtocol
from folio_shared.settings import FolioSettings


@dataclass
class LiveServer:
    base_url: str
    server: uvicorn.Server
    settings: FolioSettings


@contextlib.contextmanager
def serve(
    settings_for: Callable[[str], FolioSettings], **app_options: float
) -> Iterator[LiveServer]:
    """Serve ``create_app(settings_for(base_url))`` until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = settings_for(base_url)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, **app_options),
            log_level="warning",
            lifespan="on",
            http=HttpToolsProtocol,  # as folio-api serves it
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(base_url, server, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Wait for ``GET {base_url}/healthz`` to answer 200; kill ``process``
    and raise when it exits or ``timeout_s`` passes first."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the API process did not start")
        time.sleep(0.1)


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """The events (``event:`` and ``data:`` lines) of a server-sent stream's body."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in block.split("\n")
            if ": " in line and not line.startswith(":")
        )
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out
