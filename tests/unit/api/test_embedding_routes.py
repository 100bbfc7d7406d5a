"""Which model embeds what (``folio_shared.embedding_models``), the
setting that chooses it, and which model's semantic list search uses
(``folio_api.domain.search.fusion.preferred``, ``query_model``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from folio_api.domain.search.fusion import language_weights, preferred, query_model
from folio_api.domain.search.statements import statement
from folio_shared.embedding_models import (
    BY_LANGUAGE,
    DEFAULT_MODEL,
    model_for,
    models_of,
    version_pattern,
)
from folio_shared.settings import PipelineSettings

E5 = "multilingual-e5-small"


def test_by_language_routes_portuguese_to_e5_and_the_rest_to_the_default() -> None:
    assert models_of(BY_LANGUAGE) == (DEFAULT_MODEL, E5)
    assert model_for(BY_LANGUAGE, "pt") == E5
    assert model_for(BY_LANGUAGE, "en") == DEFAULT_MODEL
    assert model_for(BY_LANGUAGE, None) == DEFAULT_MODEL
    # one model for everything otherwise
    assert models_of(E5) == (E5,)
    assert model_for(E5, "en") == E5
    assert model_for(DEFAULT_MODEL, "pt") == DEFAULT_MODEL


def test_the_setting_takes_only_known_models() -> None:
    assert PipelineSettings.model_fields["embedding_model"].default == BY_LANGUAGE
    assert PipelineSettings(embedding_model=BY_LANGUAGE).embedding_model == BY_LANGUAGE
    with pytest.raises(ValidationError):
        PipelineSettings(embedding_model="no-such-model")
    with pytest.raises(ValueError, match="unknown"):
        version_pattern("x'; DROP TABLE chunks; --")


def test_the_query_languages_model_comes_first() -> None:
    models = [DEFAULT_MODEL, E5]
    assert preferred(models, "pt") == [E5, DEFAULT_MODEL]
    assert preferred(models, "en") == [DEFAULT_MODEL, E5]
    # unknown language: the default model's list first
    assert preferred(models, None) == [DEFAULT_MODEL, E5]
    assert preferred([DEFAULT_MODEL], "pt") == [DEFAULT_MODEL]
    assert language_weights(BY_LANGUAGE) == {"en": 0.9, "pt": 0.95}


def test_one_semantic_list_per_model_each_on_its_own_chunks() -> None:
    sql = statement(
        semantic=True, models=[DEFAULT_MODEL, E5], keyword=True, by_document=True,
        excluding=False, where="", headline_config="'simple'",
    )  # fmt: skip
    assert f"c.model_version LIKE '{DEFAULT_MODEL}@%'" in sql
    assert f"c.model_version LIKE '{E5}@%'" in sql
    assert ":query_vector_0" in sql
    assert ":query_vector_1" in sql
    assert ":query_vector)" not in sql
    # the second model's list only where the tenant holds none of the first's
    assert "WHERE NOT EXISTS (SELECT 1 FROM s0)" in sql
    # one model's deployment: one list over every chunk, as before
    single = statement(
        semantic=True, keyword=True, by_document=True, excluding=False, where="",
        headline_config="'simple'",
    )  # fmt: skip
    assert "model_version" not in single


def test_a_query_uses_the_old_model_until_its_languages_chunks_all_moved() -> None:
    mini, e5 = f"{DEFAULT_MODEL}@aa", f"{E5}@bb"
    pt, en = [E5, DEFAULT_MODEL], [DEFAULT_MODEL, E5]
    # before and during a switch to by-language: Portuguese chunks still on MiniLM
    during = [("en", mini), ("pt", mini), ("pt", e5)]
    assert query_model(pt, during) == DEFAULT_MODEL
    assert query_model(en, during) == DEFAULT_MODEL
    # complete: every Portuguese chunk on e5, English ones on MiniLM
    after = [("en", mini), ("", mini), ("pt", e5)]
    assert query_model(pt, after) == E5
    assert query_model(en, after) == DEFAULT_MODEL
    # a tenant holding none of the query's model: the other; no chunk at all: its own
    assert query_model(pt, [("en", mini)]) == DEFAULT_MODEL
    assert query_model(en, [("pt", e5)]) == E5
    assert query_model(pt, []) == E5
    # chunks not embedded yet, or by a model Folio does not know, do not count
    assert query_model(pt, [("pt", ""), ("pt", "retired-model@cc"), ("pt", e5)]) == E5
