"""Reading a search query as keywords: OR, phrases, exclusions, accents."""

from __future__ import annotations

from folio_api.domain.search.keywords import fold_accents, parse_keywords


def test_every_word_is_wanted_and_joined_by_or() -> None:
    parsed = parse_keywords("how often descale coffee maker")
    assert parsed.wanted == "how or often or descale or coffee or maker"
    assert parsed.words == "how often descale coffee maker"
    assert parsed.excluded == ""


def test_phrases_stay_phrases_and_minus_excludes() -> None:
    parsed = parse_keywords('"security deposit" refund -pets -"sub let" or lease')
    assert parsed.wanted == '"security deposit" or refund or lease'
    assert parsed.words == "security deposit refund lease"
    assert parsed.excluded == 'pets or "sub let"'


def test_accents_are_folded_and_empty_parts_dropped() -> None:
    parsed = parse_keywords('Informação  "" - --  não')
    assert parsed.wanted == "Informacao or nao"
    assert fold_accents("Ação çÉ") == "Acao cE"


def test_an_unclosed_quote_is_a_phrase_to_the_end() -> None:
    assert parse_keywords('refund "security deposit').wanted == 'refund or "security deposit"'


def test_added_words_are_wanted_apart_from_the_query_s_own() -> None:
    parsed = parse_keywords("bichano -racao", ["gato", "castração do gato"])
    assert parsed.wanted == 'bichano or gato or "castracao do gato"'
    assert parsed.words == "bichano gato castracao do gato"
    assert parsed.original == "bichano"
    assert parsed.excluded == "racao"
    assert parse_keywords("bichano").original == parse_keywords("bichano").words


def test_an_added_word_is_never_an_exclusion_a_quote_or_or() -> None:
    parsed = parse_keywords("bichano", ["-gato", 'fel"ino', "or", " ", '"'])
    assert parsed.wanted == 'bichano or gato or "fel ino"'
    assert parsed.excluded == ""


def test_a_dash_apart_from_a_word_is_punctuation_not_an_exclusion() -> None:
    # as in a web search engine: "- gato" wants gato, and a dash in a
    # phrase is no part of it
    assert parse_keywords("cão - gato").wanted == "cao or gato"
    assert parse_keywords('"- gato"').wanted == '"gato"'
    parsed = parse_keywords('"São Paulo - SP" -- -"a - b"')
    assert parsed.wanted == '"Sao Paulo SP"'
    assert parsed.words == "Sao Paulo SP"
    assert parsed.excluded == '"a b"'
    added = parse_keywords("bichano", ["- gato", "castração -do gato", "-"])
    assert added.wanted == 'bichano or gato or "castracao do gato"'


def test_a_word_led_by_two_dashes_is_excluded_not_wanted() -> None:
    # "--gato" excludes gato as "-gato" does: the excluded text is negated
    # once more by the statement, so "-gato" there would want gato
    parsed = parse_keywords("cão --gato")
    assert parsed.wanted == "cao"
    assert parsed.excluded == "gato"
