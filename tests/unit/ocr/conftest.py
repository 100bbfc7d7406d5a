"""The OCR unit tests' shared Tesseract line reader."""

from __future__ import annotations

import pytest
import tesserocr

from folio_worker_ocr.ocr.engine import OcrEngine


@pytest.fixture(scope="module")
def api() -> tesserocr.PyTessBaseAPI:
    return OcrEngine().line_api("por")
