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
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    """Latencies (ms) of the answered requests, status counts, errors."""

    latencies_ms: list[float] = field(default_factory=list)
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


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def run(
    url: str,
    *,
    rate: float,
    connections: int,
    duration_s: float,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    path_of: Callable[[int], str] | None = None,
) -> Result:
    """Send ``rate`` requests/s for ``duration_s`` over ``connections``
    connections; request *i* goes to ``path_of(i)`` (default: the URL's path)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    default_path = parts.path or "/"
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    total = int(rate * duration_s)
    interval = 1.0 / rate
    result = Result()
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                i, scheduled = item
                path = path_of(i) if path_of else default_path
                request = (
                    f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}"
                    "Content-Length: 0\r\n\r\n"
                ).encode()
                try:
                    writer.write(request)
                    status = await _read_response(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    result.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                result.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    await asyncio.sleep(0.2)  # connections open
    started = time.perf_counter()
    for i in itertools.count():
        if i >= total:
            break
        scheduled = started + i * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            result.late_starts += 1  # the generator itself fell behind
        queue.put_nowait((i, scheduled))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    result.duration_s = time.perf_counter() - started
    return result


def run_sync(url: str, **kwargs: object) -> Result:
    """:func:`run` on a fresh event loop (uvloop when installed)."""
    return _runner()(run(url, **kwargs))  # type: ignore[arg-type]


def _runner() -> Callable[..., Result]:
    """``uvloop.run`` where uvloop is installed (a faster client), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run  # type: ignore[no-any-return]


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
