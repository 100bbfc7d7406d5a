"""The OCR entry point of the worker: :class:`OcrPool` runs pages in isolated children.

Each child process loads Tesseract once (the pool's initializer) and OCRs
page after page with it; a page that hangs Tesseract or exhausts memory
kills only its child (:class:`~folio_shared.isolation.ChildTimedOut`,
:class:`~folio_shared.isolation.ChildCrashed`), the next page gets a fresh
one, and the calling thread waits without holding the GIL, so the worker's
broker heartbeats keep running.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import time

import msgspec
from dramatiq.middleware import Interrupt

from folio_shared.isolation import ChildCrashed, IsolatedPool
from folio_shared.logging import get_logger
from folio_shared.metrics import OCR_SECOND_ENGINE_FAILURES, record_ocr_page
from folio_shared.settings import FolioSettings
from folio_worker_ocr.ocr.engine import Rotate
from folio_worker_ocr.ocr.page import OcrOptions, PageResult, PageSource, recognize_page, warm_up

_log = get_logger(__name__)


def _limit_openmp_threads(threads: int) -> None:
    """Cap the OpenMP threads Tesseract's LSTM uses in this process."""
    name = ctypes.util.find_library("gomp")
    if name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        gomp = ctypes.CDLL(name)
        gomp.omp_set_num_threads(threads)
        if threads == 1:
            # Tesseract asks for its own team size (``num_threads(...)``), which
            # overrides the line above; no active nesting level makes every
            # parallel region run on the calling thread alone.
            gomp.omp_set_max_active_levels(0)


def _init_child(languages: str, omp_threads: int) -> None:
    _limit_openmp_threads(omp_threads)
    if languages:
        warm_up(languages)


class OcrPool:
    """Child processes that OCR pages, each with its own reused Tesseract engine.

    Options:

    - ``workers``: child processes, i.e. pages OCRed at once (default 1;
      with ``omp_threads=1`` one page uses one core, so match the cores).
    - ``languages``: models each child loads at start (default ``eng+por``;
      others load on first use).
    - ``memory_limit_bytes``: address-space limit per child (default 2 GiB).
    - ``cpu_time_limit_s``: CPU seconds per page (default 300).
    - ``wall_time_limit_s``: wall seconds per page before the child is
      killed (default 300, like ``FOLIO_JOBS_OCR_TIME_LIMIT_MS``).
    - ``max_tasks_per_child``: pages before a child is replaced (default 500).
    - ``omp_threads``: OpenMP threads per Tesseract (default 1, which gives
      the best pages per minute when several pages run at once).
    - ``start_method``: ``forkserver`` (default) or ``spawn``.
    """

    def __init__(
        self,
        workers: int = 1,
        *,
        languages: str = "eng+por",
        memory_limit_bytes: int | None = 2 * 1024**3,
        cpu_time_limit_s: float | None = 300.0,
        wall_time_limit_s: float | None = 300.0,
        max_tasks_per_child: int | None = 500,
        omp_threads: int = 1,
        start_method: str = "forkserver",
    ) -> None:
        self.pool = IsolatedPool(
            workers,
            memory_limit_bytes=memory_limit_bytes,
            cpu_time_limit_s=cpu_time_limit_s,
            wall_time_limit_s=wall_time_limit_s,
            max_tasks_per_child=max_tasks_per_child,
            initializer=_init_child,
            initargs=(languages, omp_threads),
            start_method=start_method,
        )

    @classmethod
    def from_settings(cls, settings: FolioSettings, *, workers: int = 1) -> OcrPool:
        """A pool with the OCR and job settings in effect."""
        limit_s = settings.jobs.ocr_time_limit_ms / 1000
        return cls(
            workers,
            languages=settings.ocr.languages,
            cpu_time_limit_s=limit_s,
            wall_time_limit_s=limit_s,
        )

    def ocr_page(
        self, source: PageSource, options: OcrOptions, *, timeout_s: float | None = None
    ) -> PageResult:
        """OCR one page in a child process (blocking; safe from many threads).

        Raises the input errors of :mod:`folio_worker_ocr.ocr.errors`
        (permanent), or :class:`~folio_shared.isolation.ChildTimedOut` /
        :class:`~folio_shared.isolation.ChildCrashed` when the page killed
        its child.

        An error the second engine raises never fails the page (its id
        region keeps Tesseract's reading, in the child). A child that dies
        while the second engine is on (the kernel's OOM killer, a crash in
        native code: nothing in the child can catch those) is followed by
        one more attempt with the second engine off; only if that child
        dies too is the page's :class:`ChildCrashed` raised. The result of
        such an attempt counts one ``second_engine_failures``. A child whose
        second engine failed is replaced after the page (:func:`_engine_failed`).
        """
        started = time.perf_counter()
        try:
            try:
                read = self.pool.run(
                    recognize_page, source, options, timeout_s=timeout_s, retire_if=_engine_failed
                )
                return _counted(read)
            except ChildCrashed as crashed:
                plain = _without_second_engine(options, crashed)
                if plain is None:
                    raise
                result = self.pool.run(recognize_page, source, plain, timeout_s=timeout_s)
        except BaseException as e:
            _count_unread(e, started)
            raise
        return _counted(_engine_crashed(result))

    async def ocr_page_async(
        self, source: PageSource, options: OcrOptions, *, timeout_s: float | None = None
    ) -> PageResult:
        """:meth:`ocr_page` from a coroutine: cancelling it (the job's time
        limit) kills the child and frees its slot at once."""
        started = time.perf_counter()
        try:
            try:
                read = await self.pool.run_async(
                    recognize_page, source, options, timeout_s=timeout_s, retire_if=_engine_failed
                )
                return _counted(read)
            except ChildCrashed as crashed:
                plain = _without_second_engine(options, crashed)
                if plain is None:
                    raise
                result = await self.pool.run_async(
                    recognize_page, source, plain, timeout_s=timeout_s
                )
        except BaseException as e:
            _count_unread(e, started)
            raise
        return _counted(_engine_crashed(result))

    def start(self) -> None:
        """Start every child and load its models now (call at worker boot)."""
        self.pool.start()

    def close(self) -> None:
        """Stop the children."""
        self.pool.close()

    def __enter__(self) -> OcrPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _without_second_engine(options: OcrOptions, crashed: ChildCrashed) -> OcrOptions | None:
    """The options to read a page again with after its child died, or
    ``None`` when the second engine was not on (nothing to leave out)."""
    if not (options.reread_ids and options.second_engine):
        return None
    _log.warning(
        "an OCR child died with the second engine on; the page is read again without it",
        reason=crashed.details.get("reason", ""),
        exitcode=crashed.details.get("exitcode"),
    )
    return msgspec.structs.replace(options, second_engine=False)


def _engine_failed(result: PageResult) -> bool:
    """Whether the child that read ``result`` should be replaced: its second
    engine failed there. PP-OCR refused memory under the child's limit keeps
    what it had mapped, and the next page in that child ran out of memory
    and died (then had to be read again without the engine)."""
    return result.second_engine_failures > 0


def _count_unread(error: BaseException, started: float) -> None:
    """Count a page that was not read: ``cancelled`` when its reading was
    stopped from outside (the job cancelled or out of time, the worker
    stopping: Dramatiq interrupts a thread with an ``Interrupt``), else
    ``error``."""
    stopped = isinstance(error, asyncio.CancelledError | Interrupt)
    record_ocr_page(
        confidence=None,
        duration_s=time.perf_counter() - started,
        outcome="cancelled" if stopped else "error",
    )


def _counted(result: PageResult) -> PageResult:
    """``result``, counted in the OCR metrics (pages, confidence, duration,
    and the id regions the second engine failed on)."""
    record_ocr_page(
        confidence=result.mean_confidence,
        duration_s=(result.render_ms + result.ocr_ms) / 1000,
    )
    if result.second_engine_failures:  # the page kept Tesseract's ids there
        OCR_SECOND_ENGINE_FAILURES.inc(result.second_engine_failures)
    return result


def _engine_crashed(result: PageResult) -> PageResult:
    """``result``, read without the second engine after a crash, counting it."""
    return msgspec.structs.replace(result, second_engine_failures=result.second_engine_failures + 1)


def options_from_settings(
    settings: FolioSettings,
    *,
    languages: str | None = None,
    dpi: int | None = None,
    rotate: Rotate = "auto",
) -> OcrOptions:
    """Options for one page: the message's values, else the settings' defaults."""
    return OcrOptions(
        languages=languages or settings.ocr.languages,
        dpi=dpi or settings.ocr.dpi,
        rotate=rotate,
        max_pixels=settings.ocr.max_pixels,
        reread_ids=settings.ocr.reread_ids,
        upscale_below_dpi=settings.ocr.reread_low_dpi,
        second_engine=settings.ocr.second_engine,
    )
