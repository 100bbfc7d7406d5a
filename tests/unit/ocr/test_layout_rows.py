"""Key/value columns that Tesseract reads as two blocks, joined row by row."""

from __future__ import annotations

from folio_worker_ocr.ocr.layout import Line, rows_text


def _line(text: str, left: int, top: int, block: int) -> Line:
    return Line(text, (left, top, left + 8 * len(text), top + 14), block)


def test_values_beside_their_labels_come_back_on_their_rows() -> None:
    # Given labels in one block and their values in a block to their right
    lines = [
        _line("Comprovante de transferência", 60, 10, 0),
        _line("Destino", 60, 40, 1),
        _line("Nome", 60, 60, 1),
        _line("CPF/CNPJ", 60, 80, 1),
        _line("Instituição", 60, 100, 1),
        _line("Ana Souza", 400, 61, 2),
        _line("11.222.333/0001-81", 400, 81, 2),
        _line("Banco Inter S.A.", 400, 99, 2),
        _line("0001", 400, 120, 2),  # no label beside it
    ]
    # When the page text is made of them
    text = rows_text(lines)
    # Then each value follows its label on one line
    assert text == (
        "Comprovante de transferência\n\n"
        "Destino\n"
        "Nome\tAna Souza\n"
        "CPF/CNPJ\t11.222.333/0001-81\n"
        "Instituição\tBanco Inter S.A.\n"
        "0001\n"
    )


def test_columns_of_prose_keep_tesseract_text() -> None:
    # Given two newspaper-like columns of long lines side by side
    long = "uma linha longa de texto corrido na coluna"
    lines = [_line(long, 10, 20 * i, 0) for i in range(4)]
    lines += [_line(long, 420, 20 * i, 1) for i in range(4)]
    # Then they are not joined
    assert rows_text(lines) is None
    # nor is a single column
    assert rows_text(lines[:4]) is None
