"""A cluster of any size for the scale benchmarks (`bench/scale_status.py`,
`bench/scale_pledges.py`): the real `Application` and handlers behind the offline harness, a
real database (a temporary SQLite file, or PostgreSQL with BENCH_DATABASE_URL), the group set
up with /setup, and then `units` units written straight to storage with a state in every step
(pledges of every status, year-end sheets, a ballot half cast), so every counted step has
something to count. A few units get a representative each, who can send commands.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, select, text  # noqa: E402

from bot.app import build_application  # noqa: E402
from bot.offline import OfflineTelegram, SimChat, SimUser  # noqa: E402
from bot.services import phases as phase_service  # noqa: E402
from bot.services.actors import Actor  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade_async  # noqa: E402
from storage.models import (  # noqa: E402
    Ballot,
    BallotKind,
    Cluster,
    EmulationYear,
    PhaseKind,
    Pledge,
    PledgeStatus,
    RoleAssignment,
    ScoreSheet,
    SheetStatus,
    Unit,
    VoterRegister,
)
from storage.people import upsert_person  # noqa: E402

PLEDGE_CYCLE = (PledgeStatus.SIGNED, PledgeStatus.ACCEPTED, PledgeStatus.SUBMITTED,
                PledgeStatus.RETURNED, PledgeStatus.DRAFT, None)  # fmt: skip
SHEET_CYCLE = (SheetStatus.VERIFIED, SheetStatus.SUBMITTED, SheetStatus.DRAFT, None)


@dataclass
class Scene:
    tg: OfflineTelegram
    db: Database
    admin: SimUser
    group: SimChat
    cluster_id: int
    year_id: int
    unit_ids: list[int]
    reps: list[SimUser]  # representatives of the first units, in order
    statements: list[int]  # [SQL statements executed so far], for counting per update


def backend_url(tmp: str) -> str:
    return os.environ.get("BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"


async def analyze(db: Database) -> None:
    """On PostgreSQL, gather the statistics autovacuum would gather within a minute of such a
    fill: without any, the planner may take a join of 3,000 units for a join of one and run it
    as a nested loop that rescans the other table for every unit (0.4 s for /status)."""
    if not db.is_sqlite:
        async with db.engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
            await connection.commit()


@asynccontextmanager
async def cluster_scene(
    units: int, *, reps: int = 3, until: PhaseKind | None = PhaseKind.VOTING, states: bool = True
) -> AsyncIterator[Scene]:
    """A bound cluster of `units` units; phases opened up to `until`; with `states`, pledges,
    sheets and a ballot's register rows spread over every status."""
    with tempfile.TemporaryDirectory() as tmp:
        url = backend_url(tmp)
        await upgrade_async(url)
        settings = Settings.from_env({"DATABASE_URL": url}, dotenv=None)
        db = Database(url)
        statements = [0]

        @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
        def _count(*_args) -> None:
            statements[0] += 1

        tg = OfflineTelegram(bot_username="ThiDuaBot")
        app = build_application(settings, db, token=tg.token, request=tg.make_request(),
                                get_updates_request=tg.make_request(), rate_limit=False)  # fmt: skip
        async with tg.running(app):
            # Ids of this run's own: a PostgreSQL database is kept from one run (or size) to the next.
            run = time.time_ns() // 1000 % 10**9
            ids = iter(range(10**12 + run * 1000, 10**12 + run * 1000 + 1000))
            admin = tg.user("Quản trị", language_code="vi", id=next(ids))
            await admin.send("/start")
            group = tg.group(f"Cụm bench {run}", admins=[admin], id=-1_002_000_000_000 - run)
            await tg.add_bot_to_group(group, by=admin)
            await admin.send("/setup@ThiDuaBot", chat=group)
            async with db.session() as s:
                cluster = await s.scalar(select(Cluster).where(Cluster.telegram_chat_id == group.id))
                year = await s.scalar(select(EmulationYear).where(EmulationYear.cluster_id == cluster.id))
                rows = [Unit(cluster_id=cluster.id, name=f"Đơn vị thành viên số {i + 1}", position=i)
                        for i in range(units)]  # fmt: skip
                s.add_all(rows)
                await s.flush()
                unit_ids = [u.id for u in rows]
                users = []
                for i, unit_id in enumerate(unit_ids[:reps]):
                    user = tg.user(f"Đại diện {i + 1}", language_code="vi", id=next(ids))
                    person = await upsert_person(s, telegram_user_id=user.id, full_name=user.name,
                                                 username=None, language_code="vi")  # fmt: skip
                    s.add(RoleAssignment(cluster_id=cluster.id, person_id=person.id,
                                         role="representative", unit_id=unit_id))  # fmt: skip
                    users.append(user)
                if states:
                    now = dt.datetime.now(dt.UTC)
                    for i, unit_id in enumerate(unit_ids):
                        pledge = PLEDGE_CYCLE[i % len(PLEDGE_CYCLE)]
                        if pledge is not None:
                            s.add(Pledge(year_id=year.id, unit_id=unit_id, status=pledge, items=[],
                                         signed_at=now if pledge == PledgeStatus.SIGNED else None))  # fmt: skip
                        sheet = SHEET_CYCLE[i % len(SHEET_CYCLE)]
                        if sheet is not None:
                            s.add(ScoreSheet(year_id=year.id, unit_id=unit_id, status=sheet))
                    ballot = Ballot(year_id=year.id, kind=BallotKind.FLAG, quota=1)
                    s.add(ballot)
                    await s.flush()
                    s.add_all(VoterRegister(ballot_id=ballot.id, unit_id=unit_id, issued_at=now,
                                            cast_at=now if i % 2 == 0 else None)
                              for i, unit_id in enumerate(unit_ids))  # fmt: skip
                await s.commit()
                cluster_id, year_id = cluster.id, year.id
            if until is not None:
                actor = Actor(person_id=None, cluster_id=cluster_id, roles=frozenset({"admin"}),
                              unit_ids=frozenset())  # fmt: skip
                async with db.session() as s:
                    for kind in PhaseKind.ordered()[: until.rank + 1]:
                        await phase_service.open_phase(s, actor, year_id, kind)
                    await s.commit()
            await analyze(db)
            for user in users:
                await user.send("/start")
            yield Scene(tg, db, admin, group, cluster_id, year_id, unit_ids, users, statements)
        assert not tg.errors and not tg.rejections, (tg.errors, tg.rejections)
        await db.dispose()
