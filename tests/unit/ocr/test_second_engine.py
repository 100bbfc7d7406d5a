"""The second OCR engine for PIX end-to-end ids (PP-OCR through RapidOCR):
how its readings are combined with Tesseract's, that it reads a real
tilted id line, and that on a phone photo it reads the photo as taken."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from folio_shared.identifiers import e2e_valid
from folio_shared.settings import FolioSettings
from folio_worker_ocr.ocr.engine import OcrEngine
from folio_worker_ocr.ocr.id_ctc import Line
from folio_worker_ocr.ocr.pool import options_from_settings
from folio_worker_ocr.ocr.reread import _e2e_shaped
from folio_worker_ocr.ocr.second_engine import (
    Native,
    SecondEngine,
    band,
    on_lines,
    pick,
    readings,
)

E2E = "E00416968202612051732aB3dE4fG5hK"
#: The same id with one shape misread in its tail (``q`` for ``a``).
MISREAD = "E00416968202612051732qB3dE4fG5hK"
#: A valid id whose embedded date is far from the page's.
FAR = "E00416968202601051732aB3dE4fG5hK"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _near(value: str) -> bool:
    return value[9:17] == "20261205"


def test_the_engines_agreeing_or_the_second_alone_decide() -> None:
    # Given Tesseract's voted id and the second engine's readings
    # Then the id both read wins, even over a second reading of the other
    assert pick(E2E, [MISREAD, E2E], e2e_valid, _near) == E2E
    # and a valid, well-dated id only the second engine read replaces Tesseract's
    assert pick(MISREAD, [E2E], e2e_valid, _near) == E2E
    assert pick(None, [E2E], e2e_valid, _near) == E2E
    # but not when its date is far from the page's and Tesseract's is near
    assert pick(MISREAD, [FAR], e2e_valid, _near) == MISREAD
    # and Tesseract's stays when the second engine reads no valid id
    assert pick(MISREAD, ["E0041696820261305"], e2e_valid, _near) == MISREAD
    assert pick(None, [], e2e_valid, _near) is None


def test_tesseract_settles_round_glyphs_and_strokes_of_the_same_id() -> None:
    # Given Tesseract's id and PP-OCR's, the same id but for a 0 read for an
    # o and an l read for an I (the glyphs Tesseract measures and votes on)
    tesseract = "E00416968202612051732aB3do4fG5hI"
    second = "E00416968202612051732aB3d04fG5hl"
    # Then PP-OCR's id is kept with Tesseract's reading of those two
    assert pick(tesseract, [second], e2e_valid, _near) == tesseract
    # but not a shape PP-OCR reads better (q for a), which stays PP-OCR's
    assert pick(MISREAD, [E2E], e2e_valid, _near) == E2E
    shapes = "E00416968202612051732qB3do4fG5hl"
    assert pick(shapes, [second], e2e_valid, _near) == "E00416968202612051732aB3do4fG5hl"
    # and not when the two differ in more places (Tesseract's out of step)
    apart = "E00416968202612051732aBdo4fG5hIK"
    assert pick(apart, [second], e2e_valid, _near) == second


def test_wrapped_and_labelled_lines_are_read_as_one_id() -> None:
    # Given an id wrapped over two lines, and one read with its label
    wrapped = readings(["Código da transação", E2E[:20], E2E[20:] + " ."])
    labelled = readings([f"Identificador:{E2E}"])
    # Then each gives the id once shaped
    assert E2E in {_e2e_shaped(r) for r in wrapped}
    assert E2E in {_e2e_shaped(r) for r in labelled}


def _line(left: float, right: float, top_left: float, top_right: float, text: str) -> Line:
    """A detected line 10 pixels high whose top runs from ``top_left`` to ``top_right``."""
    corners = ((left, top_left), (right, top_right), (right, top_right + 10), (left, top_left + 10))
    return Line(corners, text)


def test_only_lines_through_the_regions_words_are_its_readings() -> None:
    # Given a band's detected lines, tilted down 12 pixels over 600: an id
    # line, the line of a code whose label reads like an id label, and a
    # line under it; the code's words at x 300-420 on the second line
    lines = [
        _line(0, 600, 20, 32, f"ID/E2E {E2E}"),
        _line(0, 600, 34, 46, "Autenticacao bancaria: 9BF8A4E4668D"),
        _line(0, 600, 48, 60, "Ouvidoria 0800 000 0000"),
    ]
    code = (300, 41, 420, 51)
    # Then only the code's own line runs through them, though the tilted
    # lines above and below overlap its height somewhere along the page
    assert on_lines(lines, [code]) == {1}
    # and a region over two printed lines (a wrapped id) has both
    assert on_lines(lines, [code, (300, 27, 420, 37)]) == {0, 1}
    # and the id above is no reading of the code's region, while read from
    # its own region it is, also wrapped onto the line after it
    texts = [line.text for line in lines]
    assert E2E not in {_e2e_shaped(r) for r in readings(texts, {1})}
    assert E2E in {_e2e_shaped(r) for r in readings(texts, {0})}
    wrapped = ["Codigo da transacao", E2E[:20], E2E[20:] + " .", "Autenticacao 9BF8"]
    assert E2E in {_e2e_shaped(r) for r in readings(wrapped, {1})}
    assert E2E not in {_e2e_shaped(r) for r in readings(wrapped, {2, 3})}


def test_the_band_holds_the_ids_rows_across_the_page() -> None:
    page = Image.new("L", (400, 200), 255)
    # a 10-pixel line of id words from x=50 to 110 (the page OCR read part of the id)
    crop = band(page, (50, 100, 110, 110), 10, None)
    # the page's whole width, and a margin of two line heights above and below
    assert crop.size == (400, 20 + 10 + 20)
    assert band(page, (0, 0, 60, 10), 10, None).size == (400, 30)
    # or, on a coarse page read upscaled, widened to 32 characters and a margin all round
    assert band(page, (50, 100, 110, 110), 10, 32).size == (20 + 320 + 20, 20 + 10 + 20)
    assert band(page, (0, 0, 60, 10), 10, 0).size == (80, 30)


def test_a_wrapped_id_the_page_ocr_read_in_part_is_read_whole() -> None:
    # Given an id wrapped over two lines at the right of a page, of which the
    # page OCR found only the middle of each line (words from x=600 to 700)
    font = ImageFont.truetype(FONT, 22)
    page = Image.new("L", (1100, 300), 255)
    draw = ImageDraw.Draw(page)
    draw.text((480, 100), E2E[:20], font=font, fill=80)
    draw.text((480, 130), E2E[20:], font=font, fill=80)
    # When the second engine reads the band around those words
    lines = SecondEngine().lines(band(page, (600, 100, 700, 155), 27, None))
    # Then it reads the whole id
    assert E2E in {_e2e_shaped(r) for r in readings(lines)}


def _tilted_line(text: str) -> Image.Image:
    font = ImageFont.truetype(FONT, 22)
    image = Image.new("L", (900, 120), 255)
    ImageDraw.Draw(image).text((30, 45), text, font=font, fill=80)
    return image.rotate(1.5, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)


def test_the_second_engine_reads_a_tilted_grey_id_line() -> None:
    # Given a grey id line tilted 1.5 degrees, as on a scanned receipt
    lines = SecondEngine().lines(_tilted_line(f"ID: {E2E}"))
    # Then PP-OCR finds and reads it whole
    assert E2E in {_e2e_shaped(r) for r in readings(lines)}


def test_the_second_engine_is_turned_off_by_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert options_from_settings(FolioSettings()).second_engine is True
    monkeypatch.setenv("FOLIO_OCR_SECOND_ENGINE", "false")
    assert options_from_settings(FolioSettings()).second_engine is False
    # and an engine told not to use it never loads its models
    engine = OcrEngine()
    page = Image.new("L", (1000, 200), 255)
    ImageDraw.Draw(page).text(
        (20, 80), f"ID da transação: {E2E}", font=ImageFont.truetype(FONT, 20), fill=0
    )
    engine.recognize(page, languages="eng", dpi=200, reread_ids=True, second_engine=False)
    assert engine._second._ocr is None
    found = engine.recognize(page, languages="eng", dpi=200, reread_ids=True, second_engine=True)
    assert engine._second._ocr is not None
    assert E2E in found.text
    engine.close()


def test_a_photo_band_is_cut_from_the_photo_as_taken() -> None:
    # Given a dim photo, and an id's box found on it upscaled three times
    photo = Image.new("L", (300, 100), 200)
    ImageDraw.Draw(photo).rectangle((40, 40, 100, 47), fill=150)
    # Then the band is the photo's own pixels around the box (widened to
    # 32 characters, a margin of two line heights), contrast stretched
    crop = Native(photo, 3.0).band((120, 120, 300, 141), 21, 32)
    assert crop.size == (14 + 32 * 7 + 14, 14 + 7 + 14)
    low, high = crop.getextrema()
    assert low < 5
    assert high > 250
    assert Native(photo).band((40, 40, 100, 47), 7, 32).size == crop.size


def _phone_photo(e2e: str) -> Image.Image:
    """A receipt photographed small: its grey id about 7 pixels high, tilted,
    blurred, dimmed and through JPEG."""
    font, small = ImageFont.truetype(FONT, 14), ImageFont.truetype(FONT, 10)
    page = Image.new("L", (640, 330), 255)
    draw = ImageDraw.Draw(page)
    lines = ["Comprovante de Pix", "Valor: R$ 150,00", "Data: 05/12/2026 14:32"]
    lines += ["Para: Maria Souza", "CPF: ***.456.789-**", "Instituição: Banco do Brasil S.A."]
    for row, line in enumerate([*lines, "ID da transação:"]):
        draw.text((30, 20 + 24 * row), line, font=font, fill=0)
    draw.text((30, 20 + 24 * 7), e2e, font=small, fill=115)
    image = page.rotate(1.2, expand=True, fillcolor=235, resample=Image.Resampling.BICUBIC)
    image = ImageEnhance.Contrast(image.filter(ImageFilter.GaussianBlur(0.6))).enhance(0.7)
    buf = io.BytesIO()
    ImageEnhance.Brightness(image).enhance(0.92).save(buf, format="JPEG", quality=55)
    return ImageOps.grayscale(Image.open(io.BytesIO(buf.getvalue())))


@pytest.mark.parametrize(
    "e2e", ["E90400888202612051732m995ytbxAk7", "E00416968202612051732qevt0MLaMRT"]
)
def test_a_phone_photos_id_is_read_from_the_photo_as_taken(e2e: str) -> None:
    # Given a photo of a receipt at 110 dpi, its id too small for Tesseract
    # (upscaled, the second engine misread 3 and 4 of these characters)
    engine = OcrEngine()
    found = engine.recognize(
        _phone_photo(e2e),
        languages="por",
        dpi=110,
        reread_ids=True,
        upscale_below_dpi=150,
        second_engine=True,
    )
    engine.close()
    # Then the id is read whole
    assert e2e in found.text
