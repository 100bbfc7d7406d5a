"""A second OCR engine that fails never fails the page: its id region keeps
Tesseract's reading. Real failures, in a real OCR child: PP-OCR refused
memory under the child's address-space limit (onnxruntime's ``bad_alloc``,
as a CI run saw), and a child killed while PP-OCR runs (as the kernel's OOM
killer would)."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from prometheus_client import REGISTRY

from folio_worker_ocr.ocr import OcrOptions, OcrPool, PageResult, PageSource

pytestmark = pytest.mark.slow

E2E = "E00416968202612051732aB3dE4fG5hK"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
OPTIONS = OcrOptions(languages="por", dpi=300)


def _receipt() -> PageSource:
    """A clean 300-dpi PIX receipt whose id Tesseract reads right on its own."""
    page = Image.new("L", (2000, 900), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, 44)
    lines = [
        "Comprovante de transferência Pix",
        "Valor: R$ 150,00",
        "Data: 05/12/2026 14:32",
        f"ID da transação: {E2E}",
    ]
    for row, line in enumerate(lines):
        draw.text((80, 80 + row * 150), line, font=font, fill=0)
    out = io.BytesIO()
    page.save(out, format="PNG", dpi=(300, 300))
    return PageSource(content_type="image/png", page_no=1, data=out.getvalue())


def _engine_failures() -> float:
    """``folio_ocr_second_engine_failures_total`` in this process."""
    return REGISTRY.get_sample_value("folio_ocr_second_engine_failures_total") or 0.0


def _peak_bytes(pid: int) -> int:
    """The largest address space the process has had (``VmPeak``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmPeak:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmPeak")


def test_an_engine_refused_memory_leaves_the_page_to_tesseract() -> None:
    # Given the address space an OCR child takes to read the receipt with its
    # id region re-read by Tesseract alone, and with the second engine too
    source = _receipt()
    without = OcrOptions(languages="por", dpi=300, second_engine=False)
    with OcrPool(1, languages="por", memory_limit_bytes=None) as free:
        alone = free.ocr_page(source, without)
        tesseract_peak = _peak_bytes(free.pool.pids()[0])
        assert free.ocr_page(source, OPTIONS).second_engine_failures == 0
        both_peak = _peak_bytes(free.pool.pids()[0])
    assert E2E in alone.text
    # When a child limited to halfway between the two reads it with the second
    # engine on, so that PP-OCR cannot map or allocate all it needs (where it
    # fails, loading its libraries or in inference, depends on the layout)
    limit = (tesseract_peak + both_peak) // 2
    with OcrPool(1, languages="por", memory_limit_bytes=limit) as tight:
        tight.start()
        child = tight.pool.pids()
        counted = _engine_failures()
        result = tight.ocr_page(source, OPTIONS)
        # Then the page comes back with Tesseract's reading of the id, and
        # counts the region the engine failed on, in its result and metric
        assert E2E in result.text
        assert result.second_engine_failures == 1
        assert _engine_failures() == counted + 1
        # and the child caught it, but it is replaced: what PP-OCR took is
        # not given back, and the next page in that child could run out of memory
        assert tight.pool.pids() != child
        # When the pool reads another page, Then a fresh child reads it
        again = tight.ocr_page(source, OPTIONS)
        assert E2E in again.text
        assert again.second_engine_failures == 1


def _kill_when_mapped(pids: Callable[[], list[int]], library: str, done: threading.Event) -> None:
    """SIGKILL the pool's child as soon as ``library`` is mapped in it."""
    while not done.is_set():
        for pid in pids():
            try:
                maps = Path(f"/proc/{pid}/maps").read_text()
            except OSError:
                continue
            if library in maps:
                os.kill(pid, signal.SIGKILL)
                return
        time.sleep(0.002)


def test_a_child_killed_in_the_engine_is_followed_by_a_read_without_it() -> None:
    # Given a pool whose child is killed the moment onnxruntime is loaded into
    # it, that is while the second engine reads the receipt's id region
    source = _receipt()
    with OcrPool(1, languages="por", memory_limit_bytes=None) as pool:
        pool.start()
        done = threading.Event()
        killer = threading.Thread(
            target=_kill_when_mapped, args=(pool.pool.pids, "onnxruntime", done)
        )
        killer.start()
        counted = _engine_failures()
        try:
            # When the page is OCRed
            result: PageResult = pool.ocr_page(source, OPTIONS)
        finally:
            done.set()
            killer.join()
    # Then it comes back, read again without the second engine, with
    # Tesseract's reading of the id, and the failure counted (result, metric)
    assert E2E in result.text
    assert result.second_engine_failures == 1
    assert _engine_failures() == counted + 1
