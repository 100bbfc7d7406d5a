"""The ``audio.analyze`` job kind.

Reads a WAV or FLAC file the tenant stored (``storage_key``), decodes it in
blocks of ``block_s`` seconds with soundfile (libsndfile), reports progress
after each block (where a cancel stops it), and returns the measures of
:mod:`folio_audio.analysis`.

A file soundfile cannot read (its header, or its data half-way) fails the
job at once, with libsndfile's reason: retrying cannot help. Storage errors
propagate and are retried.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import msgspec
import soundfile

from folio_audio.analysis import Meter
from folio_shared.errors import FolioError
from folio_shared.kinds import JobContext, job


class AnalyzeAudio(msgspec.Struct, frozen=True):
    """What to analyze: a WAV or FLAC object of the tenant."""

    storage_key: str
    #: Seconds of audio decoded between two progress reports.
    block_s: float = 1.0


class AudioReport(msgspec.Struct, frozen=True):
    duration_s: float
    sample_rate: int
    channels: int
    frames: int
    format: str
    rms_dbfs: float
    peak: float
    peak_dbfs: float
    silence_ratio: float
    loudness_per_second_dbfs: list[float]


class UnreadableAudio(FolioError):
    """The object is not audio soundfile can decode (WAV, FLAC, ...)."""

    code = "unreadable_audio"
    http_status = 422


@job(
    "audio.analyze",
    queue="media",
    payload=AnalyzeAudio,
    result=AudioReport,
    max_retries=3,
    time_limit_ms=600_000,
    rate_limit="120/m",
    concurrency=4,
)
async def analyze(ctx: JobContext, p: AnalyzeAudio) -> AudioReport:
    """Measure the loudness of ``p.storage_key`` (see the module doc)."""
    await ctx.progress(0.0, stage="download")
    with tempfile.TemporaryDirectory(prefix="folio-audio-") as tmp:
        path = await ctx.download(p.storage_key, Path(tmp) / "input")
        try:
            info = soundfile.info(str(path))
        except (RuntimeError, soundfile.LibsndfileError) as e:
            raise UnreadableAudio(f"not a readable audio file: {e}", key=p.storage_key) from e
        meter = Meter(info.samplerate, info.channels)
        block = max(1, int(p.block_s * info.samplerate))
        with soundfile.SoundFile(str(path)) as f:
            while True:
                # Decoding is CPU work: off the event loop, one block at a time.
                try:
                    data = await asyncio.to_thread(f.read, block, "float64", True)
                except (RuntimeError, soundfile.LibsndfileError) as e:
                    # Corrupt data half-way (a FLAC that lost sync): as permanent
                    # as an unreadable header.
                    raise UnreadableAudio(
                        f"audio data unreadable after {meter.frames} frames: {e}",
                        key=p.storage_key,
                    ) from e
                if not len(data):
                    break
                meter.add(data)
                await ctx.progress(meter.frames / max(info.frames, 1), stage="decode")
    ctx.log.info("audio analyzed", frames=meter.frames, sample_rate=info.samplerate)
    return msgspec.convert({**meter.report(), "format": info.format}, AudioReport)
