"""A loopback TCP proxy that loses one answer: it forwards everything to an
upstream server, except that the first response to a request whose first
bytes match ``prefix`` (``b"POST /v1/documents"``) is swallowed and the
client's connection closed, as a network failure after the server did the
work would."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


class DroppingProxy:
    """See the module notes; ``dropped`` counts the answers lost."""

    def __init__(self, upstream_port: int, prefix: bytes) -> None:
        self.upstream_port = upstream_port
        self.prefix = prefix
        self.dropped = 0
        self._armed_once = False
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._closing = False

    def _arm(self, chunk: bytes) -> bool:
        with self._lock:
            if self._armed_once or not chunk.startswith(self.prefix):
                return False
            self._armed_once = True
            return True

    def _serve(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(client,), daemon=True).start()

    def _connection(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        armed = threading.Event()

        def close_both() -> None:
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

        def to_upstream() -> None:
            with contextlib.suppress(OSError):
                while chunk := client.recv(65536):
                    if self._arm(chunk):
                        armed.set()  # before the request can be answered
                    upstream.sendall(chunk)

        threading.Thread(target=to_upstream, daemon=True).start()
        with contextlib.suppress(OSError):
            while chunk := upstream.recv(65536):
                if armed.is_set():
                    with self._lock:
                        self.dropped += 1
                    break
                client.sendall(chunk)
        close_both()

    @contextlib.contextmanager
    def running(self) -> Iterator[DroppingProxy]:
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._closing = True
            self._listener.close()
            thread.join(timeout=5)
