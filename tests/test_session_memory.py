"""What a session remembers within an update (storage/db.py `UpdateSession`, `memo`), and that a
read after a write in the same transaction always sees the write.

Counted with a statement listener on the real engine (SQLite file or PostgreSQL): the point is
"asked the database again or not", which is exact, not a timing."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, update

from bot.services.clusters import current_year
from bot.services.phases import ensure_phases, phase_views
from storage.conversation import clear_state, get_state, set_state
from storage.db import Database
from storage.models import Cluster, EmulationYear, Person, PhaseKind, RoleAssignment, Unit, utcnow
from storage.people import cluster_by_chat, person_by_telegram_id, roles_of


@contextmanager
def counting(db: Database):
    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def _cluster_with_year(db: Database, chat_id: int = -100777) -> tuple[int, int, int, int]:
    async with db.session() as s:
        cluster = Cluster(name="Cụm thi đua số 7", telegram_chat_id=chat_id)
        cluster.units = [Unit(name="Sở Tài chính", position=0), Unit(name="Sở Xây dựng", position=1)]
        person = Person(telegram_user_id=7007, full_name="Trần Thị Bảy")
        s.add_all([cluster, person])
        await s.flush()
        year = EmulationYear(cluster_id=cluster.id, year=2026)
        s.add(year)
        await s.flush()
        s.add(RoleAssignment(cluster_id=cluster.id, person_id=person.id, role="representative",
                             unit_id=cluster.units[0].id))  # fmt: skip
        await s.commit()
        return cluster.id, year.id, person.id, cluster.units[1].id


async def test_a_row_loaded_once_is_not_asked_for_again_in_the_same_session(db):
    cluster_id, year_id, _person, _unit = await _cluster_with_year(db)
    async with db.session() as s:
        with counting(db) as statements:
            await s.get(EmulationYear, year_id)
            first = len(statements)
            await s.get(EmulationYear, year_id)  # nothing refers to the first result any more
            await s.get(Cluster, cluster_id)
            await s.get(Cluster, cluster_id)
        assert first >= 1
        assert len(statements) == first + 1  # the cluster once; the year not again


async def test_a_held_row_is_returned_at_once_and_an_expired_or_deleted_one_as_sqlalchemy_would(db, monkeypatch):
    """`UpdateAsyncSession.get` answers a row the session holds without SQLAlchemy's `get`
    (its greenlet and checks), and leaves the rest to it: an expired row is read again, a
    deleted one is gone."""
    from sqlalchemy.ext.asyncio import AsyncSession

    _cluster, year_id, _person, unit_id = await _cluster_with_year(db)
    slow: list[object] = []
    original = AsyncSession.get

    async def recorded(self, entity, ident, **options):
        slow.append((entity, ident))
        return await original(self, entity, ident, **options)

    monkeypatch.setattr(AsyncSession, "get", recorded)
    async with db.session() as s:
        year = await s.get(EmulationYear, year_id)
        assert slow == [(EmulationYear, year_id)]  # not held yet: SQLAlchemy's get
        assert await s.get(EmulationYear, year_id) is year
        assert slow == [(EmulationYear, year_id)]  # held: answered at once
        await s.execute(update(EmulationYear).where(EmulationYear.id == year_id).values(year=2031))
        s.expire(year)
        assert (await s.get(EmulationYear, year_id)).year == 2031  # expired: read again
        unit = await s.get(Unit, unit_id)
        await s.delete(unit)
        await s.flush()
        assert await s.get(Unit, unit_id) is None


async def test_roles_are_read_once_until_the_transaction_writes(db):
    cluster_id, _year, person_id, other_unit = await _cluster_with_year(db)
    async with db.session() as s:
        with counting(db) as statements:
            before = await roles_of(s, person_id)
            asked = len(statements)
            assert await roles_of(s, person_id) == before
            assert len(statements) == asked  # the second call asked nothing
        s.add(RoleAssignment(cluster_id=cluster_id, person_id=person_id, role="representative",
                             unit_id=other_unit))  # fmt: skip
        await s.flush()
        after = await roles_of(s, person_id)
    assert len(before) == 1
    assert {r.unit_id for r in after} == {before[0].unit_id, other_unit}


async def test_a_core_update_makes_the_next_read_ask_again(db):
    cluster_id, _year, person_id, _unit = await _cluster_with_year(db)
    async with db.session() as s:
        assert len(await roles_of(s, person_id)) == 1
        await s.execute(update(RoleAssignment).where(RoleAssignment.person_id == person_id).values(active=False))
        assert await roles_of(s, person_id) == []


async def test_a_core_statement_on_the_connection_sees_pending_changes_and_its_write_drops_the_memo(db):
    """`storage.db.run_core` skips the ORM's execute, not the session's order: what the session
    has pending is flushed first, and a write makes the next read ask again."""
    from sqlalchemy import func, select

    from storage.db import run_core

    _cluster, _year, person_id, _unit = await _cluster_with_year(db)
    async with db.session() as s:
        s.add(Person(telegram_user_id=7008, full_name="Người mới"))  # pending, not flushed
        people = Person.__table__
        counted = (await run_core(s, select(func.count()).select_from(people))).scalar_one()
        assert counted == 2
        assert len(await roles_of(s, person_id)) == 1
        table = RoleAssignment.__table__
        await run_core(s, update(table).where(table.c.person_id == person_id).values(active=False))
        assert await roles_of(s, person_id) == []


async def test_the_current_year_after_a_new_year_is_added_is_the_new_one(db):
    cluster_id, year_id, _person, _unit = await _cluster_with_year(db)
    async with db.session() as s:
        assert (await current_year(s, cluster_id)).id == year_id
        s.add(EmulationYear(cluster_id=cluster_id, year=2027))
        await s.flush()
        assert (await current_year(s, cluster_id)).year == 2027


async def test_a_chats_cluster_is_found_once_bound_in_the_same_transaction(db):
    async with db.session() as s:
        assert await cluster_by_chat(s, -100888) is None
        s.add(Cluster(name="Cụm mới", telegram_chat_id=-100888))
        await s.flush()
        assert (await cluster_by_chat(s, -100888)).name == "Cụm mới"


async def test_phases_created_in_the_transaction_are_in_the_views_of_a_year_loaded_before(db):
    _cluster, year_id, _person, _unit = await _cluster_with_year(db)
    async with db.session() as s:
        year = await s.get(EmulationYear, year_id)  # its (empty) phases come with it
        assert year is not None
        assert all(v.opened_at is None and v.deadline_at is None for v in await phase_views(s, year_id))
        rows = await ensure_phases(s, year_id)
        rows[PhaseKind.ordered()[0]].opened_at = rows[PhaseKind.ordered()[0]].opened_at or year.created_at
        await s.flush()
        views = await phase_views(s, year_id)
    assert views[0].opened_at is not None


async def test_a_step_is_cleared_without_a_statement_only_when_the_persons_read_found_none(db):
    """The person's read says whether they have any typed-input step; with none, clearing one
    runs no statement, until the same transaction sets a step (then it is deleted). A step
    the read found is deleted; a new transaction reads again."""
    _cluster, _year, person_id, _unit = await _cluster_with_year(db)
    async with db.session() as s:
        person = await person_by_telegram_id(s, 7007)
        with counting(db) as statements:
            assert await clear_state(s, person_id, 7007, "input") is False
        assert statements == []
        person.full_name = "Bảy"
        await s.flush()  # other writes (a flush, a statement) leave the fact as it is
        await s.execute(update(Person).where(Person.id == person_id).values(username="bay"))
        with counting(db) as statements:
            assert await clear_state(s, person_id, 7007, "input") is False
            assert await get_state(s, person_id, 7007, "input") is None
        assert statements == []
        await set_state(s, person_id, 7007, "input", "score_value", {"entry": 1})
        with counting(db) as statements:
            assert await clear_state(s, person_id, 7007, "input") is True  # set in this transaction
        assert len(statements) == 1
        await set_state(s, person_id, -100777, "input", "note", {})
        await s.commit()
    async with db.session() as s:
        await person_by_telegram_id(s, 7007)  # has a step (in the group): every clear asks
        with counting(db) as statements:
            assert await clear_state(s, person_id, 7007, "input") is False
            assert await clear_state(s, person_id, -100777, "input") is True
        assert len(statements) == 2
        assert await get_state(s, person_id, -100777, "input") is None


async def test_a_write_to_a_bookkeeping_table_keeps_what_the_transaction_remembers(db):
    """The roles are read once; a write no remembered value depends on (the chat reachable
    again, the update's id, a step) keeps them; a write to a table they come from drops them,
    and the next read sees it."""
    from storage.db import run_core
    from storage.models import ConversationState
    from storage.outbox import reachable_again
    from storage.updates import record_processed

    _cluster, _year, person_id, _other = await _cluster_with_year(db)
    async with db.session() as s:
        views = await roles_of(s, person_id)
        own_unit = views[0].unit_id
        await reachable_again(s, 7007, utcnow())
        await record_processed(s, 424242)
        await set_state(s, person_id, 7007, "input", "note", {})
        await run_core(s, update(ConversationState.__table__).values(step="other"))
        with counting(db) as statements:
            assert len(await roles_of(s, person_id)) == 1
        assert statements == []
        await s.execute(update(Unit).where(Unit.id == own_unit).values(name="Sở Tài chính mới"))
        with counting(db) as statements:
            views = await roles_of(s, person_id)
        assert len(statements) == 1
        assert [v.unit_name for v in views] == ["Sở Tài chính mới"]
