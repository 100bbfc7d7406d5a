"""The API's own search for ``bench/search_latency.py``: ``run_search``
(``folio_api.domain.search.services``), the query embedded by a worker
through the broker, timed from the call to the hits; with
``--before-services FILE`` (an earlier ``services.py``, for example
``git show main:services/api/src/folio_api/domain/search/services.py``),
that one's too, the two alternated query by query on the same data and
worker.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import dramatiq
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_api.domain.search import services
from folio_api.domain.search.repository import SearchFilters, SearchGroup, SearchMode
from folio_api.resources import Resources
from folio_shared.db.engine import create_session_factory
from folio_shared.settings import FolioSettings, PipelineSettings

RunSearch = Callable[..., Awaitable[Any]]

#: Rows of the result table: (key, label).
PARTS = [
    ("api", "**API search (`run_search`, embedding through the broker), this code**"),
    ("api_before", "API search, `--before-services`"),
    ("api_small", "API search, this code, the `--small-tenant-chunks` tenant"),
    ("api_small_before", "API search, `--before-services`, the `--small-tenant-chunks` tenant"),
]


def load_run_search(path: Path) -> RunSearch:
    """``run_search`` of the ``services.py`` at ``path``."""
    spec = importlib.util.spec_from_file_location("services_before", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    found: RunSearch = module.run_search
    return found


def resources(
    settings: FolioSettings, broker: dramatiq.Broker, engine: AsyncEngine, model: str
) -> Resources:
    """What ``run_search`` uses, for a deployment embedding with ``model``."""
    settings = settings.model_copy(update={"pipeline": PipelineSettings(embedding_model=model)})
    return Resources(
        settings=settings, redis=None, engine=engine, storage=None,  # type: ignore[arg-type]
        broker=broker, sessions=create_session_factory(engine),
    )  # fmt: skip


async def measure(
    res: Resources,
    before: RunSearch | None,
    tenants: tuple[uuid.UUID, uuid.UUID],
    texts: list[str],
) -> dict[str, list[float]]:
    """Per query (the first 10 warm up): each code's milliseconds, in
    both tenants, the codes' order swapped every query."""
    codes: list[tuple[str, RunSearch]] = [("", services.run_search)]
    if before is not None:
        codes.append(("_before", before))
    out: dict[str, list[float]] = {}
    for i, text in enumerate(texts):
        for suffix, run in codes if i % 2 else codes[::-1]:
            for name, tenant in zip(("api", "api_small"), tenants, strict=True):
                started = time.perf_counter()
                found = await run(
                    res, tenant, text, k=10, mode=SearchMode.HYBRID,
                    group=SearchGroup.DOCUMENT, filters=SearchFilters(),
                )  # fmt: skip
                elapsed = (time.perf_counter() - started) * 1000
                assert found.fallback is None, found.fallback
                if i >= 10:
                    out.setdefault(name + suffix, []).append(elapsed)
    return out
