"""The rules of targeted re-reading: which words are read again, which readings count."""

from __future__ import annotations

from PIL import Image

from folio_shared.identifiers import bank_line_valid, nfe_key_valid
from folio_worker_ocr.ocr.id_digits import digit_window
from folio_worker_ocr.ocr.id_regions import Word, regions
from folio_worker_ocr.ocr.variants import TARGET_HEIGHTS, otsu
from folio_worker_ocr.ocr.variants import variants as _variants

LINE = "00192914187776317066790743915002416510000015000"  # a valid bank line
KEY = "35261211222333000181550010000012341806360831"  # a valid NF-e key
E2E = "E00416968202612051732aB3dE4fG5hI"


def _line(number: int, *texts: str, top: int | None = None) -> list[Word]:
    y = number * 30 if top is None else top
    words, x = [], 10
    for text in texts:
        words.append(Word(text, (x, y, x + 12 * len(text), y + 20), number))
        x += 12 * len(text) + 10
    return words


def test_the_samples_are_valid() -> None:
    assert bank_line_valid(LINE)
    assert nfe_key_valid(KEY)


def test_a_valid_line_is_found_among_the_groups_of_a_reading() -> None:
    # Given a reading with a bank code before the line and a stray group after
    reading = f"2 3417 {LINE[:10]} {LINE[10:21]} {LINE[21:32]} {LINE[32]} {LINE[33:]} 9"
    # When the groups are searched
    window = digit_window(reading)
    # Then the line's groups are found, with the digits read before them
    assert window is not None
    assert window.digits == LINE
    assert window.before == 5
    assert window.text == f"{LINE[:10]} {LINE[10:21]} {LINE[21:32]} {LINE[32]} {LINE[33:]}"


def test_a_key_in_groups_of_four_is_found_and_a_wrong_digit_is_not() -> None:
    spaced = " ".join(KEY[i : i + 4] for i in range(0, 44, 4))
    found = digit_window(spaced)
    assert found is not None
    assert found.digits == KEY
    wrong = KEY[:20] + str((int(KEY[20]) + 1) % 10) + KEY[21:]
    assert digit_window(" ".join(wrong[i : i + 4] for i in range(0, 44, 4))) is None
    assert digit_window("1234 5678") is None


def test_runs_of_digit_groups_and_id_heads_become_regions() -> None:
    words = [
        *_line(0, "Banco", "Exemplo", "|", "341-7", "|", "00192.91418", "77763.170667"),
        *_line(1, "Valor:", "R$", "150,00"),
        *_line(2, "ID", "da", "transação:", "E0041696820261205", "1732aB3dE4fG5hI"),
    ]
    found = regions(words)
    assert [(r.kind, r.part_text(0)) for r in found] == [
        ("digits", "| 341-7 | 00192.91418 77763.170667"),
        ("e2e", "E0041696820261205 1732aB3dE4fG5hI"),
    ]


def test_an_id_under_its_label_and_a_wrapped_id_become_regions() -> None:
    # Given an id the page OCR misread under its label, and another wrapped on two lines
    words = [
        *_line(0, "Autenticação"),
        *_line(1, "F0O416968", "2O2612051732aB3"),
        *_line(2, "Código", "da", "operação"),
        *_line(3, E2E[:20]),
        *_line(4, E2E[20:]),
    ]
    found = regions(words)
    # Then the first is read where the label points, the second as two parts
    assert [(r.kind, r.part_text(0)) for r in found] == [
        ("e2e", "F0O416968 2O2612051732aB3"),
        ("e2e", E2E[:20]),
    ]
    assert found[1].part_text(1) == E2E[20:]


def test_a_wrapped_ids_rest_is_the_line_just_below_not_tesseracts_next_block() -> None:
    # Given an id read short at the foot of a receipt, where Tesseract's next
    # line is the first of another block, printed at the top of the page
    # (a column of labels), and the same id wrapped with its rest just below
    words = [
        *_line(12, E2E[:28], top=400),
        *_line(13, "Data", top=130),
        *_line(20, E2E[:20], top=700),
        *_line(21, E2E[20:], top=728),
    ]
    found = regions(words)
    # Then the first is one part (the block's word stays as read), the second two
    assert [len(r.parts) for r in found] == [1, 2]
    assert [r.part_text(0) for r in found] == [E2E[:28], E2E[:20]]
    assert found[1].part_text(1) == E2E[20:]


def test_an_id_label_points_below_it_not_at_tesseracts_next_block() -> None:
    # Given an id label whose id the page OCR lost, where Tesseract's next
    # line is the first of another block, printed at the top of the receipt
    words = [
        *_line(5, "ID", "da", "transação:", top=600),
        *_line(6, "Quantia", "Data", "e", "hora", top=100),
    ]
    # Then no region is made of that block's words
    assert regions(words) == []


def test_an_id_read_with_an_accented_head_after_a_misread_label_is_a_region() -> None:
    # Given an id whose E the Portuguese page OCR read as É, after its label
    # misread (E2E as EZE), so that only its shape can point to it
    words = [*_line(0, "ID/EZE", "É" + E2E[1:]), *_line(1, "Pix", "por", "chave")]
    # Then its words are read again as an id
    assert [(r.kind, r.part_text(0)) for r in regions(words)] == [("e2e", "É" + E2E[1:])]


def test_an_id_split_after_its_first_characters_is_a_region() -> None:
    # Given an id the page OCR split into words after its E1, under a label
    # the rules do not know, and a short word starting with E and a digit
    words = [
        *_line(0, "Código", "de", "identificação"),
        *_line(1, E2E[:2], E2E[2:14], E2E[14:]),
        *_line(2, "E1", "ok", "Ex3", "R$", "10,00"),
    ]
    # Then the split id's words are read again as one id, the short words not
    assert [(r.kind, r.part_text(0)) for r in regions(words)] == [
        ("e2e", f"{E2E[:2]} {E2E[2:14]} {E2E[14:]}")
    ]


def test_a_line_of_words_starting_with_an_e_is_not_an_id() -> None:
    # Given prose whose words from an "every" join to an id's length
    words = [
        *_line(0, "agreed", "with", "every", "supplier", "of", "the", "northern", "region."),
        *_line(1, "Enviado", "por", "Maria", "Souza", "Lima", "Oliveira"),
    ]
    # Then no line is read again as an id (a page of text never reaches the
    # second engine for it)
    assert regions(words) == []


def test_lines_with_short_numbers_are_not_regions() -> None:
    words = [
        *_line(0, "Data:", "05/12/2026", "14:32"),
        *_line(1, "CPF:", "123.456.789-09"),
        *_line(2, "Tipo", "de", "transação"),
        *_line(3, "Pix"),
    ]
    assert regions(words) == []


def test_otsu_splits_ink_from_paper() -> None:
    image = Image.new("L", (100, 10), 230)
    image.paste(60, (0, 0, 20, 10))
    level = otsu(image)
    assert 60 <= level < 230


def test_a_region_already_taller_than_the_reading_heights_is_read_once_per_binarisation() -> None:
    # Given a page with a short line of text (12 px) and a tall one (60 px)
    page = Image.new("L", (400, 200), 255)
    page.paste(0, (20, 20, 300, 32))
    page.paste(0, (20, 100, 300, 160))
    # When each region's variants are made, with the page as it is beside them
    short = list(_variants(page, (20, 20, 300, 32), page))
    tall = list(_variants(page, (20, 100, 300, 160), page))
    # Then the short one is read at each height, binarised and grey ...
    assert len(short) == 2 * len(TARGET_HEIGHTS)
    # ... and the tall one, which no height upscales, once each: the same
    # image read three times would count as three agreeing readings
    assert len(tall) == 2
