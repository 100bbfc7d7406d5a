"""Table rules off a page (:func:`folio_worker_ocr.ocr.clean.without_rules`):
thin long rules go, text and filled boxes stay, a page without rules is
left alone (``None``)."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from folio_worker_ocr.ocr.clean import DARK, without_rules

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DPI = 300


def _page(*, rules: bool, box: bool = False) -> Image.Image:
    page = Image.new("L", (1200, 700), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, 40)
    for row in range(4):
        draw.text((60, 80 + row * 140), f"Valor pago R$ 1.234,5{row} 44 22", font=font, fill=0)
    if rules:
        for row in range(4):
            y = 60 + row * 140
            draw.line([(40, y), (1160, y + 3)], fill=40, width=3)  # slightly tilted
        draw.line([(700, 40), (700, 640)], fill=40, width=3)
    if box:
        draw.rectangle([(900, 560), (1150, 660)], fill=30)
    return page


def _dark(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    return sum(image.crop(box).histogram()[:DARK])


def test_a_page_without_rules_is_left_alone() -> None:
    assert without_rules(_page(rules=False, box=True), DPI) is None


def test_rules_go_and_text_and_boxes_stay() -> None:
    plain = _page(rules=False, box=True)
    ruled = _page(rules=True, box=True)
    cleaned = without_rules(ruled, DPI)
    assert cleaned is not None
    # the rules' pixels are white again, between the lines of text
    assert _dark(ruled, (40, 55, 1160, 68)) > 1000
    assert _dark(cleaned, (40, 55, 1160, 68)) == 0
    assert _dark(cleaned, (695, 140, 706, 200)) == 0  # the vertical rule, between rows
    # the text and the filled box are as they were (but where a rule crossed them)
    text = (60, 80, 690, 130)
    assert abs(_dark(cleaned, text) - _dark(plain, text)) <= 0.02 * _dark(plain, text)
    assert _dark(cleaned, (900, 560, 1150, 660)) == _dark(plain, (900, 560, 1150, 660))


def test_a_coarse_page_is_never_cleaned() -> None:
    assert without_rules(_page(rules=True), 110) is None
