"""PDF text has a blank line where a printed paragraph ends, found from the
lines' boxes; table rows and receipt lines stay the lines they are."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
from relevance.pdf_render import STYLES, render_pdf
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table
from text_documents import make_pdf

from folio_worker_docs.text.extract import extract_document
from folio_worker_docs.text.plain import clean_text

WORDS = (
    "The pump draws water through the intake and pushes it past the filter "
    "before it returns to the tank, so the flow stays steady while the cartridge "
    "traps the fine particles that cloud the water."
)
PARAGRAPHS = [f"{WORDS} Paragraph {n} ends here." for n in range(1, 9)]
MARKDOWN = "\n\n".join(
    ["# Filter Manual"]
    + [
        f"## Part {n}\n\n{a}\n\n{b}"
        for n, (a, b) in enumerate(zip(PARAGRAPHS[::2], PARAGRAPHS[1::2], strict=True), 1)
    ]
)


def _blocks(text: str) -> list[str]:
    return [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]


def _pdfium_lines(data: bytes) -> list[list[str]]:
    """Each page's printed lines as PDFium's page text gives them."""
    document = pdfium.PdfDocument(data)
    try:
        return [
            [
                line
                for line in clean_text(page.get_textpage().get_text_bounded()).split("\n")
                if line.strip()
            ]
            for page in document
        ]
    finally:
        document.close()


def test_every_printed_paragraph_and_heading_is_a_block_of_its_own() -> None:
    for style in STYLES:
        # Given a manual of several pages printed in a word processor's style
        data = render_pdf(MARKDOWN, style)
        # When its text is extracted
        pages = extract_document("pdf", data).pages
        assert len(pages) >= 2, style
        blocks = [b for page in pages for b in _blocks(page.text)]
        # Then every paragraph and heading is one block, split nowhere else
        # (the running header and footer are blocks of their own on page 1)
        body = [b for b in blocks if b != "Filter Manual" and not b.startswith("Page ")]
        expected = [f"Part {n}" for n in range(1, 5)]
        for text in PARAGRAPHS:
            assert text in body, (style, text)
        assert [b for b in body if b.startswith("Part ")] == expected, style
        assert len(body) == len(PARAGRAPHS) + len(expected), (style, body)


def test_the_lines_of_a_paragraph_are_kept_one_per_line() -> None:
    data = render_pdf(MARKDOWN, "spaced")
    pages = extract_document("pdf", data).pages
    printed = _pdfium_lines(data)
    # The first page is whole: removing the blank lines gives PDFium's lines back
    assert [line for line in pages[0].text.split("\n") if line] == printed[0]


def _receipt() -> bytes:
    """A receipt: labels and values in columns, small grey lines, gaps."""
    buf = io.BytesIO()
    page = canvas.Canvas(buf, pagesize=A4)
    y = A4[1] - 50
    rows = [
        ("Comprovante de transferência", "", 14),
        ("25 AGO 2026 - 10:39:00", "", 28),
        ("Valor", "", 14),
        ("R$ 1.250,00", "", 28),
        ("Destino", "", 14),
        ("Nome", "Auto Peças Rodovia Eireli", 14),
        ("CPF/CNPJ", "37.191.966/0001-63", 10),
        ("Instituição", "Banco do Brasil S.A.", 14),
        ("Agência", "0001", 14),
        ("Conta", "1234567-8", 28),
        ("ID da transação:", "", 14),
        ("E60701190202608251339VdQCwa20PEq", "", 14),
    ]
    for label, value, step in rows:
        page.setFont("Helvetica", 7 if step == 10 else 10)
        page.drawString(40, y, label)
        if value:
            page.drawString(290, y, value)
        y -= step
    page.save()
    return buf.getvalue()


def test_a_receipt_s_lines_are_neither_merged_nor_reordered() -> None:
    data = _receipt()
    text = extract_document("pdf", data).pages[0].text
    lines = [line for line in text.split("\n") if line]
    assert lines == _pdfium_lines(data)[0]
    assert "Nome Auto Peças Rodovia Eireli" in lines
    # its label and value lines stay together; a wide gap is a paragraph break
    assert "Valor\nR$ 1.250,00" in text
    assert "25 AGO 2026 - 10:39:00\n\nValor" in text


def test_a_table_s_rows_stay_lines_of_one_block() -> None:
    buf = io.BytesIO()
    cell = ParagraphStyle("cell", fontSize=10, leading=12)
    rows = [["Item", "Quantity", "Price"]] + [
        [f"Part {n}", str(n), f"{n * 3}.00"] for n in range(1, 13)
    ]
    story = [Paragraph(WORDS, cell), Paragraph(WORDS, cell), Table(rows)]
    SimpleDocTemplate(buf, pagesize=A4).build(story)
    text = extract_document("pdf", buf.getvalue()).pages[0].text
    table = text[text.index("Item") :]
    assert "\n\n" not in table
    assert table.split("\n")[1:4] == ["Part 1 1 3.00", "Part 2 2 6.00", "Part 3 3 9.00"]


def test_evenly_spaced_lines_get_no_blank_line() -> None:
    lines = [f"Line {n} of a plain listing, printed at an even spacing" for n in range(12)]
    data = make_pdf(["\n".join(lines)])
    assert extract_document("pdf", data).pages[0].text == "\n".join(lines)


def test_a_list_s_hanging_indent_does_not_split_its_items() -> None:
    buf = io.BytesIO()
    item = ParagraphStyle("item", fontSize=10, leading=12, leftIndent=24, firstLineIndent=-24)
    story = [Paragraph(f"{n}. {WORDS}", item) for n in range(1, 7)]
    SimpleDocTemplate(buf, pagesize=A4).build(story)
    text = extract_document("pdf", buf.getvalue()).pages[0].text
    assert "\n\n" not in text
