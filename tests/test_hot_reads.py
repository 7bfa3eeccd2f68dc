"""The reads a score or verification press makes, folded into fewer statements (issue 13
item 5), and still right: the current year found by the roles' query, a sheet loaded with its
year, unit and cluster, the table with its criteria, the typed-input step as one upsert.

Counted with a statement listener on the real engine (SQLite file or PostgreSQL): "asked the
database again or not" is exact, not a timing."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from bot.services.clusters import current_year
from bot.services.scoring import view_of
from bot.services.tables import current_table, ensure_default_table
from storage.conversation import get_state, set_state
from storage.db import Database
from storage.in_context import in_context
from storage.models import (
    Adjustment,
    Ballot,
    BallotCandidate,
    BallotKind,
    Cluster,
    ConversationState,
    Criterion,
    EmulationYear,
    Person,
    RoleAssignment,
    ScoreEntry,
    ScoreRound,
    ScoreSheet,
    ScoringTable,
    SheetStatus,
    Unit,
)
from storage.people import person_by_telegram_id, roles_of
from storage.scoring import (
    sheet_ids_verified_by,
    sheet_in_context,
    sheets_with_open_explanations,
    verification_progress,
)
from tests.test_session_memory import counting


async def _scene(db: Database) -> dict[str, int]:
    async with db.session() as s:
        cluster = Cluster(name="Cụm thi đua số 9", telegram_chat_id=-100999)
        cluster.units = [Unit(name="Sở Y tế", position=0), Unit(name="Sở Nội vụ", position=1)]
        person = Person(telegram_user_id=9009, full_name="Lê Văn Chín")
        s.add_all([cluster, person])
        await s.flush()
        year = EmulationYear(cluster_id=cluster.id, year=2026)
        s.add(year)
        await s.flush()
        s.add(RoleAssignment(cluster_id=cluster.id, person_id=person.id, role="representative",
                             unit_id=cluster.units[0].id))  # fmt: skip
        sheet = ScoreSheet(year_id=year.id, unit_id=cluster.units[0].id)
        s.add(sheet)
        await s.commit()
        return {"cluster": cluster.id, "year": year.id, "person": person.id, "unit": cluster.units[0].id,
                "sheet": sheet.id}  # fmt: skip


async def test_the_roles_query_answers_which_year_is_current(db):
    ids = await _scene(db)
    async with db.session() as s:
        await s.get(EmulationYear, ids["year"])  # as a button naming it would have
        await roles_of(s, ids["person"])
        with counting(db) as statements:
            year = await current_year(s, ids["cluster"])
        assert year is not None and year.id == ids["year"]
        assert statements == []  # the id came with the roles, the year is in the session


async def test_a_year_started_in_the_transaction_is_the_current_one_after_the_roles(db):
    ids = await _scene(db)
    async with db.session() as s:
        await roles_of(s, ids["person"])
        assert (await current_year(s, ids["cluster"])).id == ids["year"]
        s.add(EmulationYear(cluster_id=ids["cluster"], year=2027))
        await s.flush()  # a write: what the roles' query said about the current year is dropped
        assert (await current_year(s, ids["cluster"])).year == 2027


async def test_a_cluster_without_a_year_has_none_after_the_roles_too(db):
    ids = await _scene(db)
    async with db.session() as s:
        other = Cluster(name="Khối thi đua mới", telegram_chat_id=-100998)
        s.add(other)
        await s.flush()
        s.add(RoleAssignment(cluster_id=other.id, person_id=ids["person"], role="admin"))
        await s.commit()
    async with db.session() as s:
        roles = await roles_of(s, ids["person"])
        assert {r.cluster_id for r in roles} == {ids["cluster"], other.id}
        assert await current_year(s, other.id) is None
        assert (await current_year(s, ids["cluster"])).id == ids["year"]


async def test_a_sheet_comes_with_its_year_unit_and_cluster_in_one_statement(db):
    ids = await _scene(db)
    async with db.session() as s:
        with counting(db) as statements:
            sheet = await sheet_in_context(s, ids["sheet"])
            loaded = len([q for q in statements if q.lstrip().upper().startswith("SELECT")])
            year = await s.get(EmulationYear, sheet.year_id)
            unit = await s.get(Unit, sheet.unit_id)
            cluster = await s.get(Cluster, year.cluster_id)
        assert (sheet.id, year.id, unit.id, cluster.id) == (ids["sheet"], ids["year"], ids["unit"], ids["cluster"])
        assert loaded == 2, statements  # the four rows with the year's phases, then the sheet's entries
        assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == loaded  # the gets: none
        assert await sheet_in_context(s, ids["sheet"] + 1000) is None


async def test_the_table_comes_with_its_criteria_in_order_in_one_statement(db):
    ids = await _scene(db)
    async with db.session() as s:
        made = await ensure_default_table(s, ids["year"])
        expected = [(c.position, c.id) for c in made.criteria]
        await s.commit()
    assert len(expected) > 3
    async with db.session() as s:
        with counting(db) as statements:
            table = await current_table(s, ids["year"])
        assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 1
        assert [(c.position, c.id) for c in table.criteria] == sorted(expected)
        assert table.normal_total > Decimal(0)


async def test_the_step_is_created_and_replaced_by_one_statement_each(db):
    ids = await _scene(db)
    for step, data in (("value", {"sheet_id": 1}), ("note", {"sheet_id": 2, "criterion_id": 3})):
        async with db.session() as s:
            with counting(db) as statements:
                await set_state(s, ids["person"], 9009, "input", step, data)
            assert len([q for q in statements if not q.upper().startswith("BEGIN")]) == 1
            await s.commit()
        async with db.session() as s:
            state = await get_state(s, ids["person"], 9009, "input")
            assert (state.step, state.data) == (step, data)
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(ConversationState)) == 1


async def test_a_step_held_by_the_session_with_edits_is_replaced_whole(db):
    """The update read the step it answers and changed its data in place; the next step set
    afterwards is what is stored, not the pending in-place edit."""
    ids = await _scene(db)
    async with db.session() as s:
        await set_state(s, ids["person"], 9009, "input", "value", {"sheet_id": 1})
        await s.commit()
    async with db.session() as s:
        state = await get_state(s, ids["person"], 9009, "input")
        state.data["sheet_id"] = 99  # pending, flushed at the latest by the commit
        await set_state(s, ids["person"], 9009, "input", "note", {"sheet_id": 5})
        await s.commit()
    async with db.session() as s:
        state = await get_state(s, ids["person"], 9009, "input")
        assert (state.step, state.data) == ("note", {"sheet_id": 5})


async def test_a_step_set_after_a_rollback_is_stored(db):
    """After a refusal's rollback the session's objects are expired: setting the step must not
    try to read them (no lazy load in async code) and must still store the new step."""
    ids = await _scene(db)
    async with db.session() as s:
        await set_state(s, ids["person"], 9009, "input", "value", {"sheet_id": 1})
        await s.commit()
    async with db.session() as s:
        await get_state(s, ids["person"], 9009, "input")
        await s.rollback()
        await set_state(s, ids["person"], 9009, "input", "note", {"sheet_id": 7})
        await s.commit()
    async with db.session() as s:
        state = await get_state(s, ids["person"], 9009, "input")
        assert (state.step, state.data) == ("note", {"sheet_id": 7})


async def test_a_pledge_comes_with_its_year_unit_and_cluster_in_one_statement(db):
    from storage.models import Pledge
    from storage.pledges import pledge_in_context

    ids = await _scene(db)
    async with db.session() as s:
        pledge = Pledge(year_id=ids["year"], unit_id=ids["unit"])
        s.add(pledge)
        await s.commit()
        pledge_id = pledge.id
    async with db.session() as s:
        with counting(db) as statements:
            found = await pledge_in_context(s, pledge_id)
            loaded = len([q for q in statements if q.lstrip().upper().startswith("SELECT")])
            year = await s.get(EmulationYear, found.year_id)
            await s.get(Unit, found.unit_id)
            await s.get(Cluster, year.cluster_id)
            assert await pledge_in_context(s, pledge_id) is found  # held: not read again
        assert loaded == 2, statements  # the four rows with the year's phases, then the items
        assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == loaded
        assert await pledge_in_context(s, pledge_id + 1000) is None


async def _verification_scene(db: Database) -> dict[str, object]:
    """Five units; sheets in every state, verifiers assigned crosswise, adjustments in every
    state of a dispute (none, explained and open, explained and decided, unexplained)."""
    async with db.session() as s:
        cluster = Cluster(name="Cụm thi đua số 8", telegram_chat_id=-100888)
        cluster.units = [Unit(name=f"Đơn vị {i}", position=i) for i in range(5)]
        s.add(cluster)
        await s.flush()
        year = EmulationYear(cluster_id=cluster.id, year=2026)
        s.add(year)
        await s.flush()
        table = ScoringTable(year_id=year.id, normal_total=Decimal(10))
        table.criteria = [Criterion(group_name="I", code="1", text="Tiêu chí", max_points=Decimal(10))]
        s.add(table)
        await s.flush()
        u = [unit.id for unit in cluster.units]
        statuses = [SheetStatus.SUBMITTED, SheetStatus.VERIFIED, SheetStatus.DRAFT, SheetStatus.SUBMITTED,
                    SheetStatus.SUBMITTED]  # fmt: skip
        verifiers = [u[1], u[1], u[1], u[0], None]  # unit 1 verifies 0 (submitted), 1 (own!), 2 (draft)
        sheets = []
        for i, (status, verifier) in enumerate(zip(statuses, verifiers, strict=True)):
            sheet = ScoreSheet(year_id=year.id, unit_id=u[i], status=status,
                               verifier_unit_id=verifier)  # fmt: skip
            sheet.entries = [ScoreEntry(criterion_id=table.criteria[0].id, self_value=Decimal(9),
                                        verified_value=Decimal(8))]  # fmt: skip
            sheets.append(sheet)
        s.add_all(sheets)
        await s.flush()
        adjust = {0: ("giải trình", None), 1: ("giải trình", Decimal(9)), 3: (None, None)}
        for i, (explanation, decided) in adjust.items():
            s.add(Adjustment(entry_id=sheets[i].entries[0].id, from_value=Decimal(9), to_value=Decimal(8),
                             reason="Thiếu minh chứng", explanation=explanation, decided_value=decided))  # fmt: skip
        await s.commit()
        return {"year": year.id, "units": u, "sheets": [sheet.id for sheet in sheets]}


async def test_a_verifier_reads_only_the_submitted_sheets_assigned_to_their_units(db):
    ids = await _verification_scene(db)
    u, sheets = ids["units"], ids["sheets"]
    reviewable = (SheetStatus.SUBMITTED, SheetStatus.VERIFIED)
    async with db.session() as s:
        for unit_ids, expected in (
            ([u[1]], [sheets[0]]),  # not its own sheet 1, not the draft 2
            ([u[0]], [sheets[3]]),
            ([u[0], u[1]], [sheets[3]]),  # one person for both units: never a sheet of either
            ([u[4]], []),
            ([], []),
        ):
            found = await sheet_ids_verified_by(s, ids["year"], ScoreRound.YEAREND, reviewable, unit_ids)
            assert found == expected, unit_ids


async def test_only_sheets_with_an_explained_undecided_adjustment_can_hold_a_dispute(db):
    ids = await _verification_scene(db)
    async with db.session() as s:
        found = await sheets_with_open_explanations(s, ids["year"], ScoreRound.YEAREND)
        assert [sheet.id for sheet in found] == [ids["sheets"][0]]


async def test_a_verifiers_list_counts_verified_lines_as_the_sheet_view_does(db):
    """The list's count comes from one statement; the rule it mirrors is the sheet's own
    (`SheetView.verified`): entries of the table's criteria with a verified value."""
    ids = await _verification_scene(db)
    async with db.session() as s:
        sheet = await s.get(ScoreSheet, ids["sheets"][4])
        table = await ensure_default_table(s, ids["year"])
        second = Criterion(table_id=table.id, group_name="I", code="2", text="Tiêu chí hai", max_points=Decimal(5))
        s.add(second)
        await s.flush()
        sheet.entries.append(ScoreEntry(criterion_id=second.id, self_value=Decimal(5)))  # not verified
        first = await s.get(ScoreSheet, ids["sheets"][3])
        first.entries[0].verified_value = None
        await s.commit()
    async with db.session() as s:
        table = await ensure_default_table(s, ids["year"])
        rows = await verification_progress(s, list(reversed(ids["sheets"])), table.id)
        assert [row.id for row in rows] == list(reversed(ids["sheets"]))
        for row in rows:
            view = await view_of(s, await s.get(ScoreSheet, row.id))
            assert (row.verified, row.unit_name, row.version) == (view.verified, view.unit.name, view.sheet.version)
        assert [row.verified for row in rows] == [1, 0, 1, 1, 1]


async def test_a_ballot_comes_with_its_year_and_cluster_in_one_statement(db):
    ids = await _scene(db)
    async with db.session() as s:
        ballot = Ballot(year_id=ids["year"], kind=BallotKind.FLAG)
        ballot.candidates = [BallotCandidate(unit_id=ids["unit"], position=0)]
        s.add(ballot)
        await s.commit()
        ballot_id = ballot.id
    async with db.session() as s:
        with counting(db) as statements:
            found = await in_context(s, Ballot, ballot_id)
            loaded = len(statements)
            selects = [q for q in statements if q.lstrip().upper().startswith("SELECT")]
            year = await s.get(EmulationYear, found.year_id)
            cluster = await s.get(Cluster, year.cluster_id)
        assert (year.id, cluster.id, [c.unit_id for c in found.candidates]) == (ids["year"], ids["cluster"], [ids["unit"]])
        assert len(selects) == 2, statements  # the three rows with the year's phases, then the candidates
        assert len(statements) == loaded  # the gets: none
        assert await in_context(s, Ballot, ballot_id) is found  # held: not read again
        assert len(statements) == loaded
        assert await in_context(s, Ballot, ballot_id + 1000) is None


async def test_the_persons_lookup_brings_their_roles_in_the_same_statement(db):
    ids = await _scene(db)
    async with db.session() as s:
        with counting(db) as statements:
            person = await person_by_telegram_id(s, 9009)
            looked = len(statements)
            roles = await roles_of(s, person.id)
        assert person.id == ids["person"] and looked == len(statements)  # roles_of asked nothing
        assert [(r.cluster_id, r.role, r.unit_id) for r in roles] == [(ids["cluster"], "representative", ids["unit"])]
    async with db.session() as s:
        assert roles == await roles_of(s, ids["person"])  # the same as the roles' own query


async def test_a_person_whose_only_unit_left_is_found_without_roles_and_one_without_any_too(db):
    ids = await _scene(db)
    async with db.session() as s:
        (await s.get(Unit, ids["unit"])).active = False
        s.add(Person(telegram_user_id=9010, full_name="Chưa có vai trò"))
        await s.commit()
    for telegram_user_id in (9009, 9010):
        async with db.session() as s:
            person = await person_by_telegram_id(s, telegram_user_id)
            assert person is not None and person.telegram_user_id == telegram_user_id
            assert await roles_of(s, person.id) == []
    async with db.session() as s:
        assert await person_by_telegram_id(s, 9011) is None


async def test_a_sheets_entries_come_in_order_with_their_files_and_adjustments(db):
    from storage.models import Evidence, EvidenceKind

    ids = await _scene(db)
    async with db.session() as s:
        table = await ensure_default_table(s, ids["year"])
        sheet = await s.get(ScoreSheet, ids["sheet"])
        criteria = table.criteria[:3]
        for criterion in reversed(criteria):  # ids in the reverse of the table's order
            sheet.entries.append(ScoreEntry(criterion_id=criterion.id, self_value=Decimal(1)))
        await s.flush()
        first = sheet.entries[0]
        s.add_all([Evidence(entry_id=first.id, telegram_file_id=f"f{i}", file_unique_id=f"u{i}",
                            kind=EvidenceKind.DOCUMENT) for i in range(2)]  # fmt: skip
                  + [Adjustment(entry_id=first.id, from_value=Decimal(1), to_value=Decimal(0), reason="Thiếu")])
        await s.commit()
        expected = sorted(entry.id for entry in sheet.entries)
    async with db.session() as s:
        with counting(db) as statements:
            found = await sheet_in_context(s, ids["sheet"])
            entries = list(found.entries)
            files = [[e.telegram_file_id for e in entry.evidence] for entry in entries]
            adjustments = [len(entry.adjustments) for entry in entries]
            assert entries[0].sheet is found  # the way back is in the session too
        assert [entry.id for entry in entries] == expected
        assert files == [["f0", "f1"], [], []] and adjustments == [1, 0, 0]
        assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 2, statements


async def _locked_table(db: Database, ids: dict[str, int]) -> None:
    from bot.services.tables import lock_table

    async with db.session() as s:
        await lock_table(s, ids["year"])
        await s.commit()


async def test_a_locked_table_is_kept_between_updates_and_found_with_the_sheet(db):
    from bot.services.tables import table_to_read
    from storage.locked_tables import LockedTable

    ids = await _scene(db)
    await _locked_table(db, ids)
    async with db.session() as s:  # the first update reads it and keeps a copy
        sheet = await sheet_in_context(s, ids["sheet"])
        first = await table_to_read(s, sheet.year_id)
    assert isinstance(first, LockedTable) and len(first.criteria) > 3
    async with db.session() as s:  # the next one finds the copy by the stamp its sheet came with
        with counting(db) as statements:
            sheet = await sheet_in_context(s, ids["sheet"])
            loaded = len(statements)
            again = (await view_of(s, sheet)).table
        assert again is first
        selects = [q for q in statements if q.lstrip().upper().startswith("SELECT")]
        assert len(statements) == loaded and len(selects) == 2, statements  # the sheet, its entries: no table


async def test_a_table_unlocked_replaced_and_locked_again_is_read_anew(db):
    from bot.services.tables import table_to_read, unlock_table

    ids = await _scene(db)
    await _locked_table(db, ids)
    async with db.session() as s:
        sheet = await sheet_in_context(s, ids["sheet"])
        before = await table_to_read(s, sheet.year_id)
    async with db.session() as s:
        assert await unlock_table(s, ids["year"]) is True
        await s.commit()
    async with db.session() as s:  # what replace_table does, behind its permission checks
        await s.execute(Criterion.__table__.delete().where(Criterion.table_id == before.id))
        s.add(Criterion(table_id=before.id, group_name="I", code="9.9", text="Tiêu chí mới", max_points=Decimal(100)))
        await s.commit()
    await _locked_table(db, ids)
    async with db.session() as s:
        sheet = await sheet_in_context(s, ids["sheet"])
        after = await table_to_read(s, sheet.year_id)
    assert after is not before and after.locked_at != before.locked_at
    assert [c.code for c in after.criteria] == ["9.9"]


async def test_an_unlocked_table_is_never_kept_and_a_kept_copy_cannot_be_written(db):
    import dataclasses

    import pytest

    from bot.services.tables import table_to_read

    ids = await _scene(db)
    async with db.session() as s:
        await ensure_default_table(s, ids["year"])
        await s.commit()
    async with db.session() as s:
        sheet = await sheet_in_context(s, ids["sheet"])
        unlocked = await table_to_read(s, sheet.year_id)
        assert isinstance(unlocked, ScoringTable)  # the session's own row: it may still change
    await _locked_table(db, ids)
    async with db.session() as s:
        sheet = await sheet_in_context(s, ids["sheet"])
        locked = await table_to_read(s, sheet.year_id)
    with pytest.raises(dataclasses.FrozenInstanceError):
        locked.bonus_cap = Decimal(5)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        locked.criteria[0].max_points = Decimal(0)  # type: ignore[misc]


async def _scene_with_an_entry(db: Database) -> dict[str, int]:
    """`_scene`, its sheet with one entry (2 points for the table's first criterion)."""
    ids = await _scene(db)
    async with db.session() as s:
        table = await ensure_default_table(s, ids["year"])
        sheet = await s.get(ScoreSheet, ids["sheet"])
        sheet.entries.append(ScoreEntry(criterion_id=table.criteria[0].id, self_value=Decimal(2)))
        await s.commit()
    return ids


async def test_a_sheet_expired_in_the_session_is_read_again_with_its_entries(db):
    ids = await _scene_with_an_entry(db)
    async with db.session() as s:
        first = await sheet_in_context(s, ids["sheet"])
        await s.rollback()  # expires everything the session holds
        async with db.session() as other:  # someone else changes the value meanwhile
            entry = (await other.scalars(select(ScoreEntry).where(ScoreEntry.sheet_id == ids["sheet"]))).unique().one()
            entry.self_value = Decimal(3)
            await other.commit()
        again = await sheet_in_context(s, ids["sheet"])
        assert again is first
        assert [e.self_value for e in again.entries] == [Decimal(3)]


async def test_a_row_read_in_context_reloads_its_collection_as_the_model_says(db):
    """The statement's "not here" for the collection is not kept on the row: a later refresh,
    or a `get` after an expiry, loads the entries as the model's default does (they raised)."""
    ids = await _scene_with_an_entry(db)
    async with db.session() as s:
        sheet = await sheet_in_context(s, ids["sheet"])
        await s.refresh(sheet)
        assert [e.self_value for e in sheet.entries] == [Decimal(2)]
    async with db.session() as s:
        sheet = await sheet_in_context(s, ids["sheet"])
        s.expire(sheet)
        again = await s.get(ScoreSheet, ids["sheet"])
        assert again is sheet and [e.self_value for e in again.entries] == [Decimal(2)]


async def test_an_invite_comes_with_its_cluster_and_unit_in_one_statement(db):
    """Opening and accepting a link read the invite, then its cluster and unit: one statement."""
    import datetime as dt

    from storage.models import Invite
    from storage.units import invite_by_hash, invite_by_id

    ids = await _scene(db)
    async with db.session() as s:
        later = dt.datetime(2026, 12, 31, tzinfo=dt.UTC)
        for role, unit_id, digest in (("representative", ids["unit"], "a" * 64), ("secretariat", None, "b" * 64)):
            s.add(Invite(cluster_id=ids["cluster"], role=role, unit_id=unit_id, token_hash=digest,
                         created_by_person_id=ids["person"], expires_at=later))  # fmt: skip
        await s.commit()
    for find, key in ((invite_by_hash, "a" * 64), (invite_by_id, None)):
        async with db.session() as s:
            if key is None:
                key = await s.scalar(select(Invite.id).where(Invite.token_hash == "a" * 64))
            with counting(db) as statements:
                invite = await find(s, key)
                unit = await s.get(Unit, invite.unit_id)
                cluster = await s.get(Cluster, invite.cluster_id)
                if find is invite_by_id:
                    assert await find(s, key) is invite  # held: not read again
            assert (unit.id, cluster.id, invite.role) == (ids["unit"], ids["cluster"], "representative")
            assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 1, statements
    async with db.session() as s:
        invite = await invite_by_hash(s, "b" * 64)  # no unit: still found (the unit is an outer join)
        assert (invite.role, invite.unit_id, invite.cluster_id) == ("secretariat", None, ids["cluster"])
        assert await invite_by_hash(s, "c" * 64) is None
        assert await invite_by_id(s, invite.id + 1000) is None


async def test_the_current_year_comes_with_its_phases_and_cluster_in_one_statement(db):
    from bot.services.phases import ensure_phases, phase_views

    ids = await _scene(db)
    async with db.session() as s:
        await ensure_phases(s, ids["year"])
        await s.commit()
    async with db.session() as s:
        await roles_of(s, ids["person"])  # the roles' query names the current year
        with counting(db) as statements:
            year = await current_year(s, ids["cluster"])
            cluster = await s.get(Cluster, year.cluster_id)
            views = await phase_views(s, year.id)
        assert (year.id, cluster.id) == (ids["year"], ids["cluster"])
        assert len(views) == len(year.phases) > 0
        assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 1, statements
