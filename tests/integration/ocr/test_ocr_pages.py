"""OCR of generated pages with the real Tesseract, through the isolated pool."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator

import pytest
from ocr_samples import (  # type: ignore[import-not-found]
    ENGLISH,
    PORTUGUESE,
    many_page_tiff,
    pdf_bytes,
    png_bytes,
    png_claiming,
    recovered_fraction,
    text_page,
    white_png,
    words,
)
from prometheus_client import REGISTRY

from folio_shared.isolation import ChildCrashed, ChildTimedOut
from folio_worker_ocr.ocr import (
    ImageTooLarge,
    OcrOptions,
    OcrPool,
    PageSource,
    TooManyPages,
    UnreadableImage,
)

pytestmark = pytest.mark.slow

OPTIONS = OcrOptions(languages="eng+por", dpi=300)


@pytest.fixture(scope="module")
def ocr_pool() -> Iterator[OcrPool]:
    with OcrPool(2, memory_limit_bytes=1024**3, wall_time_limit_s=60) as p:
        p.start()
        yield p


def png_source(data: bytes, page_no: int = 1) -> PageSource:
    return PageSource(content_type="image/png", page_no=page_no, data=data)


@pytest.mark.parametrize(
    ("lines", "kind"),
    [(ENGLISH, "png"), (PORTUGUESE, "png"), (ENGLISH, "pdf"), (PORTUGUESE, "pdf")],
    ids=["english-png", "portuguese-png", "english-pdf", "portuguese-pdf"],
)
def test_words_are_recovered_at_300_dpi(ocr_pool: OcrPool, lines: list[str], kind: str) -> None:
    page = text_page(lines)
    if kind == "pdf":
        source = PageSource(content_type="application/pdf", page_no=1, data=pdf_bytes(page))
    else:
        source = png_source(png_bytes(page))

    result = ocr_pool.ocr_page(source, OPTIONS)

    assert recovered_fraction(lines, result.text) >= 0.95, result.text
    assert result.dpi == 300
    assert result.languages == "eng+por"
    assert 60 < result.mean_confidence <= 100
    assert not result.low_confidence
    assert result.word_count >= len(words(" ".join(lines))) * 0.9
    assert result.render_ms > 0
    assert result.ocr_ms > 0
    assert result.rotation_degrees == 0
    if lines is PORTUGUESE:
        found = set(words(result.text))
        assert {"ação", "pagamento", "comprovante"} <= found


@pytest.mark.parametrize("degrees", [90, 180])
def test_rotated_page_is_recovered_with_detection_on(ocr_pool: OcrPool, degrees: int) -> None:
    turned = text_page(ENGLISH).rotate(degrees, expand=True, fillcolor=255)
    result = ocr_pool.ocr_page(
        png_source(png_bytes(turned)), OcrOptions(languages="eng+por", rotate="detect")
    )
    assert recovered_fraction(ENGLISH, result.text) >= 0.95, result.text
    assert result.rotation_degrees in {90, 180, 270}
    assert (degrees + result.rotation_degrees) % 360 == 0


@pytest.mark.parametrize("degrees", [90, 180])
def test_a_turned_page_read_with_low_confidence_is_turned_upright_by_default(
    ocr_pool: OcrPool, degrees: int
) -> None:
    # Given a scan turned on its side or upside down
    turned = png_bytes(text_page(ENGLISH).rotate(degrees, expand=True, fillcolor=255))
    # When it is read as it is, its text is lost
    as_is = ocr_pool.ocr_page(png_source(turned), OcrOptions(languages="eng+por", rotate=0))
    assert recovered_fraction(ENGLISH, as_is.text) < 0.5, as_is.text
    assert as_is.low_confidence
    # Then by default ("auto") the low confidence makes it detect the
    # orientation and read the page upright
    result = ocr_pool.ocr_page(png_source(turned), OPTIONS)
    assert recovered_fraction(ENGLISH, result.text) >= 0.95, result.text
    assert (degrees + result.rotation_degrees) % 360 == 0
    assert not result.low_confidence


def test_a_fixed_rotation_turns_the_page_without_detection(ocr_pool: OcrPool) -> None:
    turned = png_bytes(text_page(ENGLISH).rotate(90, expand=True, fillcolor=255))
    result = ocr_pool.ocr_page(png_source(turned), OcrOptions(languages="eng+por", rotate=270))
    assert recovered_fraction(ENGLISH, result.text) >= 0.95, result.text
    assert result.rotation_degrees == 270


def test_an_upright_page_is_not_turned(ocr_pool: OcrPool) -> None:
    result = ocr_pool.ocr_page(png_source(png_bytes(text_page(ENGLISH))), OPTIONS)
    assert result.rotation_degrees == 0
    assert recovered_fraction(ENGLISH, result.text) >= 0.95


def test_blank_page_is_flagged_low_confidence(ocr_pool: OcrPool) -> None:
    result = ocr_pool.ocr_page(png_source(png_bytes(text_page([]))), OPTIONS)
    assert result.word_count == 0
    assert result.mean_confidence == 0
    assert result.low_confidence


def test_decompression_bomb_is_refused_before_decoding(ocr_pool: OcrPool) -> None:
    bomb = png_claiming(100_000, 100_000)
    assert len(bomb) < 1000
    with pytest.raises(ImageTooLarge) as info:
        ocr_pool.ocr_page(png_source(bomb), OPTIONS)
    assert info.value.code == "image_too_large"
    assert ocr_pool.ocr_page(png_source(png_bytes(text_page(ENGLISH[:1]))), OPTIONS).word_count > 0


def test_image_exploding_in_memory_kills_only_its_child() -> None:
    # 12,000 x 12,000 RGB passes a raised pixel limit but needs ~576 MB decoded.
    huge = white_png(12_000, 12_000)
    options = OcrOptions(max_pixels=200_000_000)
    with OcrPool(1, memory_limit_bytes=512 * 1024**2) as small:
        with pytest.raises(ChildCrashed) as info:
            small.ocr_page(png_source(huge), options)
        assert info.value.details["reason"] == "out_of_memory"
        after = small.ocr_page(png_source(png_bytes(text_page(ENGLISH[:1]))), OPTIONS)
    assert after.word_count > 0


def test_truncated_png_is_unreadable(ocr_pool: OcrPool) -> None:
    data = png_bytes(text_page(ENGLISH))
    with pytest.raises(UnreadableImage) as info:
        ocr_pool.ocr_page(png_source(data[: len(data) // 2]), OPTIONS)
    assert "truncated" in str(info.value)
    assert ocr_pool.ocr_page(png_source(png_bytes(text_page(ENGLISH[:1]))), OPTIONS).word_count > 0


def test_tiff_with_a_thousand_pages_is_refused(ocr_pool: OcrPool) -> None:
    source = PageSource(content_type="image/tiff", page_no=1, data=many_page_tiff(1000))
    began = time.monotonic()
    with pytest.raises(TooManyPages) as info:
        ocr_pool.ocr_page(source, OPTIONS)
    assert time.monotonic() - began < 10
    assert info.value.details["max_pages"] == 500
    assert ocr_pool.ocr_page(png_source(png_bytes(text_page(ENGLISH[:1]))), OPTIONS).word_count > 0


def test_tiff_frames_are_pages(ocr_pool: OcrPool) -> None:
    first, second = text_page(ENGLISH[:2]), text_page(PORTUGUESE)
    out = io.BytesIO()
    first.save(out, format="TIFF", save_all=True, append_images=[second], dpi=(300, 300))
    source = PageSource(content_type="image/tiff", page_no=2, data=out.getvalue())
    result = ocr_pool.ocr_page(source, OPTIONS)
    assert result.page_no == 2
    assert recovered_fraction(PORTUGUESE, result.text) >= 0.95, result.text


def test_a_hanging_page_times_out_and_the_pool_lives_on(ocr_pool: OcrPool) -> None:
    # A 1 ms limit: no page finishes; the child is killed and replaced.
    with pytest.raises(ChildTimedOut):
        ocr_pool.ocr_page(png_source(png_bytes(text_page(ENGLISH))), OPTIONS, timeout_s=0.001)
    assert ocr_pool.ocr_page(png_source(png_bytes(text_page(ENGLISH[:1]))), OPTIONS).word_count > 0


def _sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_pages_are_counted_in_the_ocr_metrics_read_or_refused(ocr_pool: OcrPool) -> None:
    ok, error = {"outcome": "ok"}, {"outcome": "error"}
    before = (
        _sample("folio_ocr_pages_total", ok),
        _sample("folio_ocr_pages_total", error),
        _sample("folio_ocr_page_confidence_count"),
        _sample("folio_ocr_page_confidence_sum"),
        _sample("folio_ocr_page_duration_seconds_count"),
    )
    read = asyncio.run(ocr_pool.ocr_page_async(png_source(png_bytes(text_page(ENGLISH))), OPTIONS))
    data = png_bytes(text_page(ENGLISH))
    with pytest.raises(UnreadableImage):
        ocr_pool.ocr_page(png_source(data[: len(data) // 2]), OPTIONS)
    assert _sample("folio_ocr_pages_total", ok) == before[0] + 1
    assert _sample("folio_ocr_pages_total", error) == before[1] + 1
    assert _sample("folio_ocr_page_confidence_count") == before[2] + 1
    assert _sample("folio_ocr_page_confidence_sum") == pytest.approx(
        before[3] + read.mean_confidence
    )
    assert _sample("folio_ocr_page_duration_seconds_count") == before[4] + 2


def test_a_page_whose_reading_is_cancelled_counts_as_cancelled_not_error(
    ocr_pool: OcrPool,
) -> None:
    cancelled, error = {"outcome": "cancelled"}, {"outcome": "error"}
    before = (_sample("folio_ocr_pages_total", cancelled), _sample("folio_ocr_pages_total", error))

    async def cancel_midway() -> None:
        # Given a page being read
        page = png_source(png_bytes(text_page(ENGLISH)))
        task = asyncio.create_task(ocr_pool.ocr_page_async(page, OPTIONS))
        await asyncio.sleep(0.05)
        # When its job is cancelled (or out of time) meanwhile
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_midway())
    # Then the page counts as cancelled: nothing went wrong with it
    assert _sample("folio_ocr_pages_total", cancelled) == before[0] + 1
    assert _sample("folio_ocr_pages_total", error) == before[1]
