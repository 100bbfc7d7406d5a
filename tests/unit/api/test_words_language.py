"""A query of unknown language takes the language whose chunks hold the
most of its words (``folio_api.domain.search.wording``)."""

from __future__ import annotations

from folio_api.domain.search.wording import MATCHED_SQL, decide, with_matched, words_language
from folio_shared.db.models import CHUNK_LANGUAGES


def test_the_language_holding_more_of_the_words_wins_and_a_tie_stays_unknown() -> None:
    assert decide({"en": 0, "pt": 3}) == "pt"
    assert decide({"en": 2, "pt": 1}) == "en"
    assert decide({"en": 2, "pt": 2}) is None
    assert decide({"en": 0, "pt": 0}) is None
    assert list(CHUNK_LANGUAGES) == ["en", "pt"]  # the order of the statement's counts
    assert words_language([1, 4], ["en", "pt"]) == "pt"
    # not asked: a tenant of one language takes it, one of none stays unknown
    assert words_language(None, ["pt"]) == "pt"
    assert words_language(None, ["", "en"]) == "en"
    assert words_language(None, [""]) is None
    assert words_language(None, []) is None


def test_each_language_is_stemmed_and_matched_on_its_own_chunks() -> None:
    for code, config in CHUNK_LANGUAGES.items():
        assert f"to_tsvector('{config}', CAST(:words AS text))" in MATCHED_SQL
        assert f"s.language = '{code}'" in MATCHED_SQL
    assert "c.tenant_id = :tenant_id" in MATCHED_SQL
    sql = with_matched("SELECT 1, 2, 3, 4")
    assert sql.endswith("FROM (SELECT 1, 2, 3, 4) AS h(chunks, lexemes, languages, versions)")
    assert "unnest(h.languages)" in sql
