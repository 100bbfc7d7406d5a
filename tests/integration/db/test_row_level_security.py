"""Row-level security, the second wall behind the queries' own filters.

Real PostgreSQL, migrated: the services' engine acts as ``folio_app`` (not
the tables' owner, no ``BYPASSRLS``); a transaction scoped to a tenant sees
only that tenant's rows even when its query forgets the ``tenant_id``
filter, and cannot write another tenant's rows. ``pages`` and
``job_events`` (no ``tenant_id``) are behind their parent's wall.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from folio_shared.db.engine import create_engine, create_raw_pool, create_session_factory
from folio_shared.db.enums import DocumentStatus, JobStatus, PageMethod
from folio_shared.db.models import (
    Chunk,
    Document,
    Job,
    JobEvent,
    Page,
    Tenant,
    VocabularySource,
    VocabularyWord,
)
from folio_shared.db.tenancy import tenant_session
from folio_shared.settings import DatabaseSettings, FolioSettings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(database_url: str) -> FolioSettings:
    return FolioSettings(env="test", database=DatabaseSettings(url=database_url))


@pytest.fixture(scope="module")
async def app_engine(settings: FolioSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


async def _tenant_with_document(engine: AsyncEngine, name: str) -> tuple[uuid.UUID, uuid.UUID]:
    async with create_session_factory(engine)() as session:  # the owner: no wall
        tenant = Tenant(name=f"{name}-{uuid.uuid4().hex[:6]}")
        session.add(tenant)
        await session.flush()
        document = Document(
            tenant_id=tenant.id, filename=f"{name}.txt", storage_key=f"tenants/{tenant.id}/d",
            status=DocumentStatus.READY,
        )  # fmt: skip
        session.add(document)
        await session.commit()
        return tenant.id, document.id


async def test_the_services_act_as_a_role_that_is_not_the_owner(app_engine: AsyncEngine) -> None:
    async with app_engine.connect() as conn:
        row = (
            await conn.execute(
                sa.text(
                    "SELECT current_user, r.rolbypassrls, r.rolsuper, t.tableowner"
                    " FROM pg_roles r, pg_tables t"
                    " WHERE r.rolname = current_user AND t.tablename = 'documents'"
                )
            )
        ).one()
    assert row.current_user == "folio_app"
    assert row.rolbypassrls is False
    assert row.rolsuper is False
    assert row.tableowner != "folio_app"


async def test_a_query_that_forgets_its_tenant_filter_sees_only_its_tenant(
    engine: AsyncEngine, app_engine: AsyncEngine
) -> None:
    # Given two tenants with a document each, and a tenant with none
    alice, alices_doc = await _tenant_with_document(engine, "alice")
    bob, bobs_doc = await _tenant_with_document(engine, "bob")
    carol, _ = await _tenant_with_document(engine, "carol")
    async with create_session_factory(engine)() as session:
        await session.execute(sa.delete(Document).where(Document.tenant_id == carol))
        await session.commit()
    sessions = create_session_factory(app_engine)
    # When a transaction scoped to a tenant selects documents with no filter
    async with tenant_session(sessions, bob) as session:
        seen = set((await session.scalars(sa.select(Document.id))).all())
        tenants = set((await session.scalars(sa.select(Document.tenant_id))).all())
        jobs = (await session.scalars(sa.select(Job.id))).all()
        chunks = (await session.scalars(sa.select(Chunk.id))).all()
        await session.commit()  # the next transaction of the session is scoped too
        again = set((await session.scalars(sa.select(Document.id))).all())
    # Then it sees only that tenant's rows
    assert seen == again == {bobs_doc}
    assert tenants == {bob}
    assert alices_doc not in seen
    assert jobs == []
    assert chunks == []
    # and a tenant with no rows sees nothing at all
    async with tenant_session(sessions, carol) as session:
        assert (await session.scalars(sa.select(Document.id))).all() == []
    # while the services' own scope (workers, operators) sees every tenant
    async with sessions() as session:
        everyone = set((await session.scalars(sa.select(Document.id))).all())
    assert {alices_doc, bobs_doc} <= everyone
    assert alice != bob


async def test_a_scoped_transaction_cannot_write_another_tenants_row(
    engine: AsyncEngine, app_engine: AsyncEngine
) -> None:
    alice, alices_doc = await _tenant_with_document(engine, "alice")
    bob, _ = await _tenant_with_document(engine, "bob")
    sessions = create_session_factory(app_engine)
    async with tenant_session(sessions, bob) as session:
        changed = await session.execute(
            sa.update(Document).where(Document.id == alices_doc).values(filename="mine.txt")
        )
        assert changed.rowcount == 0  # invisible, so untouched
        session.add(
            Document(tenant_id=alice, filename="planted.txt", storage_key=f"x/{uuid.uuid4()}")
        )
        with pytest.raises(DBAPIError, match="row-level security"):
            await session.flush()


async def test_a_connection_that_says_nothing_sees_nothing(
    engine: AsyncEngine, settings: FolioSettings
) -> None:
    await _tenant_with_document(engine, "dave")
    pool = await create_raw_pool(settings, min_size=0, max_size=1)
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM documents") > 0  # scope system
            await conn.execute("SELECT set_config('folio.scope', '', false)")
            assert await conn.fetchval("SELECT count(*) FROM documents") == 0
            await conn.execute("SELECT set_config('folio.scope', 'system', false)")
    finally:
        await pool.close()


async def test_the_apis_tenant_reads_are_behind_the_wall(
    engine: AsyncEngine, settings: FolioSettings
) -> None:
    from folio_api.resources import Resources, reads

    alice, _ = await _tenant_with_document(engine, "alice")
    bob, bobs_doc = await _tenant_with_document(engine, "bob")
    app_engine = create_engine(settings)
    resources = Resources(
        settings=settings, redis=None, engine=app_engine, storage=None,  # type: ignore[arg-type]
        sessions=create_session_factory(app_engine),
    )  # fmt: skip
    try:
        async with reads(resources, bob) as session:
            tenants = set((await session.scalars(sa.select(Document.tenant_id))).all())
        async with reads(resources, None) as session:  # an operator's read
            everyone = set((await session.scalars(sa.select(Document.tenant_id))).all())
    finally:
        await app_engine.dispose()
    assert tenants == {bob}
    assert {alice, bob} <= everyone
    assert bobs_doc


async def _page_and_event(
    engine: AsyncEngine, tenant_id: uuid.UUID, document_id: uuid.UUID
) -> None:
    """A page of the document, and a job of the tenant with one event (as the owner)."""
    async with create_session_factory(engine)() as session:
        session.add(Page(document_id=document_id, page_no=1, text="p", method=PageMethod.TEXT,
                         pipeline_version="t"))  # fmt: skip
        job = Job(tenant_id=tenant_id, document_id=document_id, actor_name="docs.process",
                  queue_name="documents")  # fmt: skip
        session.add(job)
        await session.flush()
        session.add(JobEvent(job_id=job.id, kind="state", status=JobStatus.QUEUED))
        await session.commit()


async def test_pages_and_job_events_are_behind_their_parents_wall(
    engine: AsyncEngine, app_engine: AsyncEngine
) -> None:
    # Given two tenants, each with a document, a page, a job and its event
    alice, alices_doc = await _tenant_with_document(engine, "alice")
    bob, bobs_doc = await _tenant_with_document(engine, "bob")
    await _page_and_event(engine, alice, alices_doc)
    await _page_and_event(engine, bob, bobs_doc)
    sessions = create_session_factory(app_engine)
    async with tenant_session(sessions, bob) as session:
        # When a scoped transaction reads pages and events with no filter
        pages = set((await session.scalars(sa.select(Page.document_id))).all())
        events = (await session.scalars(sa.select(JobEvent.job_id))).all()
        event_tenants = set(
            (await session.scalars(sa.select(Job.tenant_id).where(Job.id.in_(events)))).all()
        )
        # and changes and deletes them all, forgetting its filter
        renamed = await session.execute(sa.update(Page).values(text="gone"))
        relabelled = await session.execute(sa.update(JobEvent).values(kind="x"))
        deleted = await session.execute(sa.delete(Page))
        await session.rollback()
    # Then only its own rows were seen and touched
    assert pages == {bobs_doc}
    assert len(events) == 1
    assert event_tenants == {bob}
    assert renamed.rowcount == relabelled.rowcount == deleted.rowcount == 1  # type: ignore[attr-defined]
    # and it cannot add a page or an event to another tenant's document or job
    async with create_session_factory(engine)() as session:
        alices_job = await session.scalar(sa.select(Job.id).where(Job.tenant_id == alice))
    async with tenant_session(sessions, bob) as session:
        session.add(Page(document_id=alices_doc, page_no=2, text="planted",
                         method=PageMethod.TEXT, pipeline_version="t"))  # fmt: skip
        with pytest.raises(DBAPIError, match="row-level security"):
            await session.flush()
    async with tenant_session(sessions, bob) as session:
        session.add(JobEvent(job_id=alices_job, kind="state", status=JobStatus.FAILED))
        with pytest.raises(DBAPIError, match="row-level security"):
            await session.flush()
    # while the services' own scope still sees every tenant's pages
    async with sessions() as session:
        everyone = set((await session.scalars(sa.select(Page.document_id))).all())
    assert {alices_doc, bobs_doc} <= everyone


async def test_a_tenant_s_vocabulary_is_behind_the_wall(
    engine: AsyncEngine, app_engine: AsyncEngine
) -> None:
    # Given two tenants, each with a word in its keyword vocabulary (as the owner)
    alice, _ = await _tenant_with_document(engine, "alice")
    bob, _ = await _tenant_with_document(engine, "bob")
    async with create_session_factory(engine)() as session:
        for tenant, word in ((alice, "gato"), (bob, "cafeteira")):
            session.add(VocabularyWord(tenant_id=tenant, model_version="m@1", word=word,
                                       embedding=[1.0] + [0.0] * 383))  # fmt: skip
        await session.commit()
    # When a scoped transaction reads every word, forgetting its filter
    async with tenant_session(create_session_factory(app_engine), bob) as session:
        words = set((await session.scalars(sa.select(VocabularyWord.word))).all())
        # nor can it write a word into another tenant's vocabulary
        with pytest.raises(DBAPIError):
            await session.execute(
                sa.insert(VocabularyWord).values(
                    tenant_id=alice, model_version="m@1", word="intruso",
                    embedding=[1.0] + [0.0] * 383,
                )
            )  # fmt: skip
    # Then it saw its own word only
    assert words == {"cafeteira"}


async def test_a_document_deleted_behind_the_wall_leaves_its_vocabulary_source_gone(
    engine: AsyncEngine, app_engine: AsyncEngine
) -> None:
    # Given a tenant's document whose words were collected (as the owner)
    tenant, document = await _tenant_with_document(engine, "carol")
    async with create_session_factory(engine)() as session:
        chunk = Chunk(
            tenant_id=tenant, document_id=document, chunk_index=0, page_start=1, page_end=1,
            char_start=0, char_end=4, text="gato", token_count=1, pipeline_version="test",
        )  # fmt: skip
        session.add(chunk)
        await session.flush()
        session.add(VocabularySource(chunk_id=chunk.id, tenant_id=tenant, model_version="m@1",
                                     words=1, word_list=["gato"]))  # fmt: skip
        await session.commit()
    # When the tenant deletes it through a scoped transaction
    async with tenant_session(create_session_factory(app_engine), tenant) as session:
        await session.execute(sa.delete(Document).where(Document.id == document))
        await session.commit()
    # Then its source stays, gone (no chunk), with its words for the sweep
    async with create_session_factory(engine)() as session:
        rows = (
            await session.execute(
                sa.select(VocabularySource.chunk_id, VocabularySource.word_list).where(
                    VocabularySource.tenant_id == tenant
                )
            )
        ).all()
    assert [tuple(r) for r in rows] == [(None, ["gato"])]
