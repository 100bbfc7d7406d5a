"""A webhook receiver on loopback for the tests: records every request
(headers, body, what ``on_request`` saw) and answers with ``status``; it
can be stopped and started again on the same port, as a receiver that goes
down and comes back."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    seen: Any = None


@dataclass
class Receiver:
    """``url`` for the endpoint; ``received``: requests, oldest first."""

    port: int = 0
    status: int = 200
    extra_headers: dict[str, str] = field(default_factory=dict)
    on_request: Callable[[Received], Any] | None = None
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if receiver.on_request is not None:
                    got.seen = receiver.on_request(got)
                with receiver._lock:
                    receiver.received.append(got)
                self.send_response(receiver.status)
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def of_type(self, event_type: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if json.loads(r.body).get("type") == event_type]
