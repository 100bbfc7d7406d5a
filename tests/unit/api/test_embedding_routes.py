"""Which model embeds what (``folio_shared.embedding_models``), the
setting that chooses it, and which model's semantic list search uses
(``folio_api.domain.search.fusion.preferred``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from folio_api.domain.search.fusion import language_weights, preferred
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
    assert language_weights(BY_LANGUAGE) == {"en": 0.9, "pt": 0.7}


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
