"""An open-loop HTTP/1.1 load generator: a fixed request rate over N
keep-alive connections, latency measured from each request's *scheduled*
time (so a stalled server is charged for the requests it held up: no
coordinated omission).

``wrk`` keeps every connection busy (closed loop): at C connections and
R requests/s, Little's law makes the mean latency C / R, whatever the
server does. A latency target at a given rate needs the rate fixed and the
latency measured, which is what this does.

Run standalone: ``python bench/_openloop.py URL --rate 1500 --connections
100 --duration-s 10 --header 'Authorization: Bearer …' --method POST
--paths-file ids.txt --path-template '/v1/documents/{}/process'``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    """Latencies (ms) of the answered requests, status counts, errors."""

    latencies_ms: list[float] = field(default_factory=list)
    #: each answered request's scheduled time, in s from the run's start
    #: (``started_at``, a ``time.perf_counter()`` value), beside its latency
    scheduled_s: list[float] = field(default_factory=list)
    started_at: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    late_starts: int = 0
    duration_s: float = 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        values = sorted(self.latencies_ms)
        return values[min(len(values) - 1, int(q / 100 * len(values)))]

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.duration_s if self.duration_s else 0.0

    def stalls(
        self, *, over_ms: float = 10.0, within_s: float = 0.1, at_least: int = 5
    ) -> list[Stall]:
        """Spans where ``at_least`` requests, each scheduled within
        ``within_s`` of the one before, all took longer than ``over_ms``:
        the server (or the machine) held them up together."""
        slow = sorted(
            (s, ms)
            for s, ms in zip(self.scheduled_s, self.latencies_ms, strict=True)
            if ms > over_ms
        )
        spans: list[Stall] = []
        for at, ms in slow:
            last = spans[-1] if spans else None
            if last is not None and at - last.end_s <= within_s:
                last.end_s, last.requests = at, last.requests + 1
                last.max_ms = max(last.max_ms, ms)
            else:
                spans.append(Stall(at, at, 1, ms))
        return [span for span in spans if span.requests >= at_least]


@dataclass
class Stall:
    """Requests held up together (see :meth:`Result.stalls`); times in s
    from the run's start, by scheduled time."""

    start_s: float
    end_s: float
    requests: int
    max_ms: float


#: Shortest sleep of the scheduler: requests due meanwhile go out together
#: at the next tick (their latency still counts from their scheduled time).
TICK_S = 0.001


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time.

    A plain protocol, not asyncio streams: the generator shares the cores
    with the server it measures, and the streams' per-request coroutines
    and buffers cost it ~3x the CPU (0.12 ms of a core per request at
    1,500/s, against ~0.04 ms this way)."""

    def __init__(self, generator: _Generator) -> None:
        self.generator = generator
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.scheduled = 0.0  # of the request in flight; 0: idle
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP transport
        self.generator.idle.append(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.scheduled:  # the request in flight is lost (counted, not retried)
            self.generator.result.errors += 1
            self.generator.outstanding -= 1
            self.scheduled = 0.0
        if not self.closed.done():
            self.closed.set_result(None)

    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def send(self, request: bytes, scheduled: float) -> None:
        assert self.transport is not None
        self.scheduled = scheduled
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.scheduled:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else len(head)])
                total = end + 4 + length
            else:  # chunked: the answers measured here are small, one chunk
                last = self.buffer.find(b"\r\n0\r\n\r\n", end)
                if last < 0:
                    return
                total = last + 7
            if len(self.buffer) < total:
                return
            status = int(self.buffer[9:12])
            self.buffer = self.buffer[total:]
            scheduled, self.scheduled = self.scheduled, 0.0
            self.generator.answered(self, status, scheduled)


class _Generator:
    """Hands scheduled requests to idle connections; a request with none
    idle waits in :attr:`backlog` (its latency still counts from its
    scheduled time)."""

    def __init__(self, request_of: Callable[[int], bytes]) -> None:
        self.request_of = request_of
        self.result = Result()
        #: idle connections, longest idle first: every connection takes its
        #: turn (one left idle past the server's keep-alive timeout is closed)
        self.idle: collections.deque[_Connection] = collections.deque()
        self.backlog: collections.deque[tuple[int, float]] = collections.deque()
        self.outstanding = 0

    def submit(self, i: int, scheduled: float) -> None:
        self.outstanding += 1
        while self.idle:
            conn = self.idle.popleft()
            if conn.usable():
                conn.send(self.request_of(i), scheduled)
                return
        self.backlog.append((i, scheduled))

    def answered(self, conn: _Connection, status: int, scheduled: float) -> None:
        result = self.result
        result.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
        result.scheduled_s.append(scheduled - result.started_at)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        self.outstanding -= 1
        if self.backlog:
            i, waiting_since = self.backlog.popleft()
            conn.send(self.request_of(i), waiting_since)
        else:
            self.idle.append(conn)


async def run(
    url: str,
    *,
    rate: float,
    connections: int,
    duration_s: float,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    path_of: Callable[[int], str] | None = None,
    body: bytes = b"",
) -> Result:
    """Send ``rate`` requests/s for ``duration_s`` over ``connections``
    connections; request *i* goes to ``path_of(i)`` (default: the URL's
    path), each with ``body``."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    default_path = parts.path or "/"
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    tail = (
        f" HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    head = f"{method} ".encode()

    def request_of(i: int) -> bytes:
        return head + (path_of(i) if path_of else default_path).encode() + tail

    total = int(rate * duration_s)
    interval = 1.0 / rate
    generator = _Generator(request_of)
    loop = asyncio.get_running_loop()
    conns = [
        (await loop.create_connection(lambda: _Connection(generator), host, port))[1]
        for _ in range(connections)
    ]
    started = generator.result.started_at = time.perf_counter()
    i = 0
    while i < total:
        now = time.perf_counter()
        due = min(total, int((now - started) / interval) + 1)
        if i < due - 1 and now - (started + i * interval) > 0.005:
            generator.result.late_starts += 1  # the generator itself fell behind
        while i < due:
            generator.submit(i, started + i * interval)
            i += 1
        delay = started + i * interval - time.perf_counter()
        if delay > 0:
            # uvloop's timers tick in whole milliseconds: a shorter sleep
            # returns at once, and the generator spun a core waiting
            await asyncio.sleep(max(delay, TICK_S))
    deadline = time.perf_counter() + 30
    while generator.outstanding and time.perf_counter() < deadline:  # noqa: ASYNC110 - bounded
        await asyncio.sleep(0.01)
    generator.result.duration_s = time.perf_counter() - started
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    await asyncio.gather(*(conn.closed for conn in conns))
    return generator.result


def run_sync(url: str, **kwargs: object) -> Result:
    """:func:`run` on a fresh event loop (uvloop when installed)."""
    return _runner()(run(url, **kwargs))  # type: ignore[arg-type]


def _runner() -> Callable[..., Result]:
    """``uvloop.run`` where uvloop is installed (a faster client), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--duration-s", type=float, default=10)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--paths-file")
    parser.add_argument("--path-template", default="{}")
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    path_of = None
    if args.paths_file:
        with open(args.paths_file) as f:
            items = [line.strip() for line in f if line.strip()]
        path_of = lambda i: args.path_template.format(items[i % len(items)])  # noqa: E731
    r = _runner()(
        run(
            args.url,
            rate=args.rate,
            connections=args.connections,
            duration_s=args.duration_s,
            method=args.method,
            headers=headers,
            path_of=path_of,
        )
    )
    print(
        f"answered {len(r.latencies_ms)} at {r.rate:.0f}/s; p50 {r.percentile(50):.1f} ms, "
        f"p99 {r.percentile(99):.1f} ms, max {max(r.latencies_ms, default=0):.1f} ms; "
        f"statuses {r.statuses}; errors {r.errors}; late starts {r.late_starts}"
    )


if __name__ == "__main__":
    main()
