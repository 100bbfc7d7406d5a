"""PP-OCR's recogniser loads its model on first use, whichever method comes first."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from folio_worker_ocr.ocr.id_ctc import Recogniser

E2E = "E00416968202612051732aB3dE4fG5hK"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def test_decode_before_any_read_loads_the_model() -> None:
    # Given a line's column probabilities from one recogniser
    image = Image.new("L", (330, 24), 235)
    ImageDraw.Draw(image).text((4, 4), E2E, font=ImageFont.truetype(FONT, 13), fill=90)
    probs = Recogniser().probabilities(image.filter(ImageFilter.GaussianBlur(0.5)))
    # When a fresh recogniser, which has read nothing yet, decodes them
    decoded = Recogniser().decode(probs)
    # Then it loads its model and decodes the id, instead of failing on a missing index
    assert decoded is not None
    assert decoded.text == E2E
