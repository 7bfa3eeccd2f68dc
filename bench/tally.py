"""(b): /tally for a year of `units` units.

The year is seeded directly through storage (bulk inserts, not thousands of updates): the
units, every unit's verified score sheet on the default table, the voting phase open, and an
open flag ballot with `min(units, 50)` candidates and one cast paper per unit. Then the chair,
through the app: `/tally` in the group (the confirmation: prepare), and the "count now" press
(close the ballot, read the inputs, count, store, queue the summary), each timed end to end;
then the due work the press left (the summary's delivery and the papers, built by the
scheduler) is run and timed as the harness's clock-moved hook does. Last, `bot.tally`'s pure
functions are timed alone on the inputs the count read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import time
from decimal import Decimal

from sqlalchemy import insert, select

from bench.harness import BOT, running_bot
from bot import tally as rules
from bot.ballots import new_tracker
from bot.demo_scoring import vi
from bot.services import phases as phase_service
from bot.services import tables, tally_papers
from bot.services import tally as service
from storage.models import (
    Ballot,
    BallotCandidate,
    BallotKind,
    BallotMark,
    BallotPaper,
    BallotStatus,
    Cluster,
    EmulationYear,
    PhaseKind,
    RoleAssignment,
    ScoreEntry,
    ScoreSheet,
    SheetStatus,
    Unit,
    VoterRegister,
    utcnow,
)
from storage.models.ballot import random_key
from storage.people import upsert_person
from storage.text import fold_name

CANDIDATES = 50


@contextlib.contextmanager
def timed(module, name: str, spent: dict[str, float]):
    """Time calls of `module.name` (a coroutine function) into `spent[name]`, from outside:
    the function is wrapped for the block and put back after."""
    original = getattr(module, name)

    @functools.wraps(original)
    async def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    setattr(module, name, wrapper)
    try:
        yield
    finally:
        setattr(module, name, original)


async def seed(db, cluster_id: int, year_id: int, units: int) -> list[int]:
    """The year in voting, scored and voted (see the module docstring); the unit ids."""
    now = utcnow()
    async with db.session() as s:
        await s.execute(insert(Unit), [{"cluster_id": cluster_id, "name": f"Đơn vị thành viên số {n + 1}",
                                        "name_key": fold_name(f"Đơn vị thành viên số {n + 1}"), "position": n}
                                       for n in range(units)])  # fmt: skip
        ids = list(await s.scalars(select(Unit.id).where(Unit.cluster_id == cluster_id).order_by(Unit.position)))
        year = await s.get(EmulationYear, year_id)
        year.chair_unit_id, year.vice_chair_unit_id = ids[0], ids[1]
        rows = await phase_service.ensure_phases(s, year_id)
        for kind in PhaseKind.ordered():
            if kind.rank < PhaseKind.VOTING.rank:
                rows[kind].opened_at, rows[kind].closed_at = now - dt.timedelta(days=9), now - dt.timedelta(days=1)
        rows[PhaseKind.VOTING].opened_at = now - dt.timedelta(hours=1)
        table = await tables.ensure_default_table(s, year_id)
        criteria = [(c.id, c.max_points) for c in table.criteria]
        await s.execute(insert(ScoreSheet), [{"year_id": year_id, "unit_id": u, "status": SheetStatus.VERIFIED,
                                              "verifier_unit_id": ids[0] if u != ids[0] else ids[1],
                                              "submitted_at": now, "verified_at": now} for u in ids])  # fmt: skip
        sheets = list(await s.scalars(select(ScoreSheet.id).where(ScoreSheet.year_id == year_id)))
        entries = []
        for n, sheet in enumerate(sheets):
            for cid, top in criteria:
                value = max(Decimal(0), top - Decimal(n % 7) / 2) if top > 0 else Decimal(0)
                entries.append({"sheet_id": sheet, "criterion_id": cid, "self_value": value, "verified_value": value})
        for start in range(0, len(entries), 5000):
            await s.execute(insert(ScoreEntry), entries[start:start + 5000])
        candidates = ids[:CANDIDATES]
        ballot = Ballot(year_id=year_id, kind=BallotKind.FLAG, quota=1, status=BallotStatus.OPEN, opened_at=now,
                        candidates=[BallotCandidate(unit_id=u, position=i) for i, u in enumerate(candidates)])  # fmt: skip
        s.add(ballot)
        await s.flush()
        await s.execute(insert(VoterRegister), [{"ballot_id": ballot.id, "unit_id": u, "issued_at": now,
                                                 "cast_at": now} for u in ids])  # fmt: skip
        papers, marks, trackers = [], [], set()
        for n, u in enumerate(ids):
            tracker = new_tracker()
            while tracker in trackers:
                tracker = new_tracker()
            trackers.add(tracker)
            paper = random_key()
            papers.append({"id": paper, "ballot_id": ballot.id, "tracker": tracker})
            choice = candidates[(n * 7) % 3] if candidates[(n * 7) % 3] != u else candidates[3]
            marks.append({"id": random_key(), "paper_id": paper, "candidate_unit_id": choice})
        await s.execute(insert(BallotPaper), papers)
        await s.execute(insert(BallotMark), marks)
        await s.commit()
    return ids


async def tally_at(url: str, units: int) -> dict:
    async with running_bot(url) as (tg, db):
        admin = tg.user("Quản trị", language_code="vi")
        chair = tg.user("Cụm trưởng", language_code="vi")
        await admin.send("/start")
        await chair.send("/start")
        group = tg.group(f"Cụm {units} đơn vị", admins=[admin], members=[chair])
        await tg.add_bot_to_group(group, by=admin)
        await admin.send(f"/setup@{BOT}", chat=group)
        async with db.session() as s:
            cluster = await s.scalar(select(Cluster).where(Cluster.telegram_chat_id == group.id))
            year_id = await s.scalar(select(EmulationYear.id).where(EmulationYear.cluster_id == cluster.id))
            cluster_id = cluster.id
        started = time.perf_counter()
        ids = await seed(db, cluster_id, year_id, units)
        seeded = time.perf_counter() - started
        async with db.session() as s:
            person = await upsert_person(s, telegram_user_id=chair.id, full_name=chair.name, username=None,
                                         language_code="vi")  # fmt: skip
            s.add(RoleAssignment(cluster_id=cluster_id, person_id=person.id, role="representative", unit_id=ids[0]))
            await s.commit()

        started = time.perf_counter()
        await chair.send(f"/tally@{BOT}", chat=group)
        confirm = time.perf_counter() - started
        spent: dict[str, float] = {}
        started = time.perf_counter()
        with timed(service, "count", spent), timed(tally_papers, "build", spent):
            await chair.press(vi("✅ Count now"), chat=group)
        press = time.perf_counter() - started
        handled = tg.feed.handled["button tl"][-1] if tg.feed.handled.get("button tl") else None
        assert any(t.startswith("✅") for t in group.texts()), group.render_transcript()[-2000:]
        started = time.perf_counter()
        await tg.app.bot_data["clock_moved"]()  # the summary's delivery and the papers, as the timers would
        after = time.perf_counter() - started
        summary = any(t.startswith("📊") for t in group.texts())

        async with db.session() as s:
            cluster = await s.get(Cluster, cluster_id)
            year = await s.get(EmulationYear, year_id)
            started = time.perf_counter()
            inputs = await service.inputs_of(s, cluster, year)
            read = time.perf_counter() - started
    pure = {}
    started = time.perf_counter()
    result = rules.year_result(inputs)
    pure["year_result"] = time.perf_counter() - started
    started = time.perf_counter()
    record = rules.result_record(result)
    pure["result_record"] = time.perf_counter() - started
    started = time.perf_counter()
    again = rules.result_from_record(record)
    pure["result_from_record"] = time.perf_counter() - started
    started = time.perf_counter()
    rules.changes(again, result)
    pure["changes"] = time.perf_counter() - started
    return {"units": units, "seed": seeded, "confirm": confirm, "press": press, "handled": handled, "count": spent.get("count"),
            "papers_build": spent.get("build"), "after": after,
            "summary_sent": summary, "read_inputs": read, "pure": pure, "papers": len(inputs.rounds[0].ballot.papers)}  # fmt: skip
