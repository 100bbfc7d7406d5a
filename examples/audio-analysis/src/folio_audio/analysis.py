"""Loudness measures of decoded audio, block by block (numpy only).

The file is decoded in blocks (:func:`analyze_blocks` takes them as they
come), so a long file never sits in memory whole and the job can report
progress, and stop when cancelled, between two blocks. Measures are over
all channels together:

- RMS loudness in dBFS: ``20·log10(sqrt(mean(x²)))``, full scale = 1.0;
- peak: ``max(|x|)`` (linear, 0 to 1) and in dBFS;
- silence ratio: the share of 10 ms frames whose RMS is below
  ``silence_dbfs`` (default -60 dBFS);
- loudness per second: the RMS in dBFS of each whole or partial second.

Silence is ``-inf`` dBFS; JSON has no infinity, so it is reported as
:data:`FLOOR_DBFS` (-120).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

#: dBFS reported for digital silence.
FLOOR_DBFS = -120.0

Block = npt.NDArray[np.float64]


def dbfs(rms: float) -> float:
    """Linear amplitude (1.0 = full scale) in dBFS, floored at :data:`FLOOR_DBFS`."""
    if rms <= 0:
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 20 * math.log10(rms))


class Meter:
    """Accumulates blocks of samples (``frames x channels``, floats in
    [-1, 1]) at ``sample_rate``; :meth:`report` gives the measures."""

    def __init__(self, sample_rate: int, channels: int, *, silence_dbfs: float = -60.0) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.silence_rms = 10 ** (silence_dbfs / 20)
        self.frame = max(1, sample_rate // 100)  # 10 ms
        self.frames = 0
        self.sum_sq = 0.0
        self.peak = 0.0
        self.silent_frames = 0
        self.counted_frames = 0
        self.per_second: list[float] = []  # sum of squares of each second
        self._carry: Block = np.zeros((0, channels))

    def add(self, block: Block) -> None:
        block = np.asarray(block, dtype=np.float64).reshape(-1, self.channels)
        if not len(block):
            return
        self.frames += len(block)
        squares = block * block
        self.sum_sq += float(squares.sum())
        self.peak = max(self.peak, float(np.abs(block).max()))
        self._seconds(squares)
        self._silence(block)

    def _seconds(self, squares: Block) -> None:
        start = self.frames - len(squares)
        per_frame = squares.sum(axis=1)
        second = start // self.sample_rate
        offset = 0
        while offset < len(per_frame):
            if second >= len(self.per_second):
                self.per_second.append(0.0)
            end_of_second = (second + 1) * self.sample_rate - (start + offset)
            chunk = per_frame[offset : offset + end_of_second]
            self.per_second[second] += float(chunk.sum())
            offset += len(chunk)
            second += 1

    def _silence(self, block: Block) -> None:
        data = np.concatenate([self._carry, block]) if len(self._carry) else block
        whole = len(data) // self.frame * self.frame
        if whole:
            frames = data[:whole].reshape(-1, self.frame * self.channels)
            rms = np.sqrt((frames * frames).mean(axis=1))
            self.silent_frames += int((rms < self.silence_rms).sum())
            self.counted_frames += len(frames)
        self._carry = data[whole:]

    def report(self) -> dict[str, object]:
        samples = self.frames * self.channels
        rms = math.sqrt(self.sum_sq / samples) if samples else 0.0
        seconds = []
        for i, total in enumerate(self.per_second):
            length = min(self.sample_rate, self.frames - i * self.sample_rate)
            seconds.append(round(dbfs(math.sqrt(total / (length * self.channels))), 2))
        return {
            "duration_s": round(self.frames / self.sample_rate, 6) if self.sample_rate else 0.0,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "frames": self.frames,
            "rms_dbfs": round(dbfs(rms), 2),
            "peak": round(self.peak, 6),
            "peak_dbfs": round(dbfs(self.peak), 2),
            "silence_ratio": (
                round(self.silent_frames / self.counted_frames, 4) if self.counted_frames else 0.0
            ),
            "loudness_per_second_dbfs": seconds,
        }


def analyze_blocks(blocks: Iterable[Block], sample_rate: int, channels: int) -> dict[str, object]:
    """The measures of a whole signal given as consecutive blocks."""
    meter = Meter(sample_rate, channels)
    for block in blocks:
        meter.add(block)
    return meter.report()
