"""Fixed one-minute windows (the API's rate limits count per key and per
client address in them): tests that fill a window start well inside one,
as a window edge resets the counts whatever the time of day."""

from __future__ import annotations

import asyncio
import time

#: Length of the API's rate-limit windows, in seconds.
WINDOW_S = 60


def seconds_left() -> float:
    """Seconds until the current one-minute window ends."""
    return WINDOW_S - time.time() % WINDOW_S


async def fresh_window(margin_s: float) -> None:
    """Return at once if at least ``margin_s`` seconds are left in the
    current window, else once the next window has begun."""
    left = seconds_left()
    if left < margin_s:
        await asyncio.sleep(left + 0.1)
