"""Detecting the language of a document or a query from its function words."""

from __future__ import annotations

import pytest

from folio_shared.language import detect_language, detect_query_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (
            "O locatário pagará o aluguel até o dia cinco de cada mês, e não poderá "
            "sublocar o imóvel sem autorização por escrito do locador.",
            "pt",
        ),
        (
            "The tenant shall pay the rent on the first day of each month and shall "
            "not sublet the property without the written consent of the landlord.",
            "en",
        ),
        ("12,50 34,10 R$ 99 CNPJ 12.345.678/0001-90", None),
        ("", None),
        ("Der Mieter zahlt die Miete am ersten Tag jedes Monats.", None),
    ],
)
def test_language_is_detected_from_function_words(text: str, language: str | None) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize(
    ("query", "language"),
    [
        ("o aparelho que gela o quarto está vazando água na parede", "pt"),
        ("multa rescisão antecipada", "pt"),  # no function word: "ã" decides
        ("férias funcionário", "pt"),  # no function word: an accented vowel decides
        ("recibo veterinário gato", "pt"),
        ("boleto vencido juros", None),  # no function word, no accent
        ("the café receipt", "en"),  # an English function word outweighs the accent
        ("do make home internet box secure", None),  # "do" is English too
        ("no signal after firmware update", None),  # and "no"
        ("prazo do boleto", None),  # "do" alone decides nothing: the tenant's chunks will
        ("juros do boleto após vencimento", "pt"),  # with another Portuguese word it counts
        ("segunda via do boleto", None),
        ("taxa de juros do boleto", "pt"),
        ("how often should I remove mineral deposits from my coffee maker", "en"),
        ("what is the warranty of the drill", "en"),
        ("router firmware", None),
        ("", None),
    ],
)
def test_query_language_is_detected_from_a_few_words(query: str, language: str | None) -> None:
    assert detect_query_language(query) == language
