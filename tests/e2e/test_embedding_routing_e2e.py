"""``FOLIO_PIPELINE_EMBEDDING_MODEL=by-language`` through the real API and
worker-docs: a Portuguese document's chunks are embedded by
multilingual-e5-small, an English one's by all-MiniLM-L6-v2, and
``GET /v1/search`` embeds the query by its language's model alone (one
``queries.embed`` message) and finds each language's document by meaning,
comparing the query only with the chunks of that model."""

from __future__ import annotations

import re
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from e2ekit import Api, e2e_settings, finished, submit

from folio_shared.db.enums import DocumentKind
from folio_shared.db.models import Chunk
from folio_shared.embedding_models import BY_LANGUAGE
from folio_shared.settings import FolioSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENGLISH = (
    b"# Boiler care\n\nDescale the boiler every three months. The pressure gauge should "
    b"read about 1.5 bar when the water is cold, and the flue must be kept clear.\n"
)
PORTUGUESE = (
    "# Contrato de locação\n\nO inquilino paga o aluguel até o quinto dia útil de cada mês "
    "na conta do locador, e a multa por atraso é de dez por cento do valor devido.\n"
).encode()


@pytest.fixture(scope="module")
def settings(database_url: str, test_servers: Any, tmp_path_factory: Any) -> FolioSettings:
    base = e2e_settings(database_url, test_servers.redis_url, tmp_path_factory.mktemp("e2e"))
    pipeline = base.pipeline.model_copy(update={"embedding_model": BY_LANGUAGE})
    return base.model_copy(update={"pipeline": pipeline})


@pytest.fixture(scope="module")
def workers(docs_worker: None) -> None:
    """worker-docs alone: these documents need no OCR."""


def _results(settings: FolioSettings) -> set[bytes]:
    """The keys of the results worker-docs has answered with (query
    vectors: Dramatiq names each by a hash of its message)."""
    with redis.Redis.from_url(settings.redis.url) as client:
        return {k for k in client.scan_iter(count=1000) if re.fullmatch(rb"[0-9a-f]{32}", k)}


async def test_each_language_by_its_model_end_to_end(api: Api, settings: FolioSettings) -> None:
    english = await submit(api, DocumentKind.MARKDOWN, "text/markdown", ENGLISH)
    portuguese = await submit(api, DocumentKind.MARKDOWN, "text/markdown", PORTUGUESE)
    assert await finished(api.engine, english) == "ready"
    assert await finished(api.engine, portuguese) == "ready"
    async with api.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(Chunk.document_id, Chunk.language, Chunk.model_version).where(
                    Chunk.document_id.in_([english, portuguese])
                )
            )
        ).all()
    assert {(r.document_id, r.language, r.model_version.split("@")[0]) for r in rows} == {
        (english, "en", "all-MiniLM-L6-v2"),
        (portuguese, "pt", "multilingual-e5-small"),
    }

    for query, expected in (
        ("how often should the heater be cleaned of scale", english),
        ("quando vence o pagamento da moradia alugada", portuguese),
    ):
        for mode in ("semantic", "hybrid"):
            before = _results(settings)
            answer = await api.client.get(
                "/v1/search", params={"q": query, "k": 5, "mode": mode}, headers=api.headers
            )
            # embedded once, by the query language's model only
            assert len(_results(settings) - before) == 1
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body.get("fallback") is None, body
            hits = body["results"]
            assert hits[0]["document_id"] == str(expected), (query, mode, hits)
            if mode == "semantic":  # compared only with its language's model's chunks
                assert {h["document_id"] for h in hits} == {str(expected)}


async def test_a_query_of_keywords_is_embedded_by_the_model_of_the_words_it_matches(
    api: Api, settings: FolioSettings
) -> None:
    # Given a tenant holding documents of each language
    english = b"# Lawn care\n\nMow the lawn once a week in summer and keep the blades sharp.\n"
    portuguese = (
        "# Recibo\n\nRecebi do inquilino o valor do aluguel de março, pago ao locador "
        "por transferência, sem multa nem juros.\n"
    ).encode()
    for data in (english, portuguese):
        document = await submit(api, DocumentKind.MARKDOWN, "text/markdown", data)
        assert await finished(api.engine, document) == "ready"
    query = "inquilino aluguel locador"  # no function word, no accent: unknown language
    embedded = []
    for _ in range(2):
        before = _results(settings)
        answer = await api.client.get(
            "/v1/search", params={"q": query, "k": 5, "mode": "semantic"}, headers=api.headers
        )
        embedded.append(len(_results(settings) - before))
        assert answer.status_code == 200, answer.text
        # Then it is compared with the Portuguese chunks only, the words' language
        assert {h["language"] for h in answer.json()["results"]} == {"pt"}
    # embedded by the default model, then by e5; the next such query by e5 alone
    assert embedded == [2, 1]
