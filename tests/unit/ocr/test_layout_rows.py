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


def test_values_each_in_a_block_of_their_own_come_back_beside_a_column_of_labels() -> None:
    # Given a section's labels in one block, and each value in a block of its
    # own (as Tesseract reads an upscaled photo), a table rule read before one
    lines = [
        _line("Dados do recebedor", 60, 40, 0),
        _line("Nome/Razão social", 60, 60, 0),
        _line("CPF/CNPJ", 60, 80, 0),
        _line("Banco", 60, 100, 0),
        _line("| Construtora Alicerce S.A.", 380, 61, 1),
        _line("41.496.508/0001-00", 400, 79, 2),
        _line("Banco Bradesco S.A.", 400, 101, 3),
    ]
    # Then each value follows its label on one line
    assert rows_text(lines) == (
        "Dados do recebedor\n"
        "Nome/Razão social\t| Construtora Alicerce S.A.\n"
        "CPF/CNPJ\t41.496.508/0001-00\n"
        "Banco\tBanco Bradesco S.A.\n"
    )


def test_a_lone_line_beside_prose_is_not_a_value() -> None:
    # Given a block of long lines and a one-line block beside its first line
    long = "uma linha longa de texto corrido na coluna"
    lines = [_line(long, 10, 20 * i, 0) for i in range(3)]
    lines.append(_line("Página 1", 420, 0, 1))
    # Then the page keeps Tesseract's text
    assert rows_text(lines) is None


def test_values_come_back_beside_a_column_of_labels_split_into_blocks() -> None:
    # Given a section's labels that Tesseract split into two blocks (a line
    # lost between them), and the values in one block beside them
    lines = [
        _line("Origem", 60, 40, 0),
        _line("Nome", 60, 60, 0),
        _line("Instituição", 60, 80, 1),
        _line("CPF", 59, 100, 1),
        _line("José Santos Oliveira", 400, 61, 2),
        _line("PicPay Serviços S.A.", 400, 79, 2),
        _line("***.762.252-**", 410, 101, 2),
    ]
    # Then each value follows its label on one line
    assert rows_text(lines) == (
        "Origem\nNome\tJosé Santos Oliveira\n\n"
        "Instituição\tPicPay Serviços S.A.\nCPF\t***.762.252-**\n"
    )
