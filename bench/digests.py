"""(c): one digest round over `clusters` clusters.

Seeded with bulk inserts (as tests/test_digests.py's scale test does): each cluster has a
current year in scoring, five units, pledges, two submitted sheets, an open ballot with one
vote, and one secretariat member. Timed, each in one transaction as the scheduler runs it:
the daily round (`DigestSource.run`) when every digest is new (one outbox row per cluster),
and the next day's, after a tenth of the clusters changed (a pledge submitted). The first
round's rows are delivered by the app's outbox sender through the harness (no limiter); that
is timed from the round's start until the outbox is drained.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from sqlalchemy import event, insert, select, update

from bench.harness import running_bot
from bot.digest import WEEKLY_DAY
from bot.services import digests as digest_service
from bot.services.scheduler import Slot
from storage.models import (
    Ballot,
    BallotKind,
    Cluster,
    EmulationYear,
    Person,
    Phase,
    PhaseKind,
    Pledge,
    PledgeStatus,
    RoleAssignment,
    ScoreSheet,
    SheetStatus,
    Unit,
    VoterRegister,
    utcnow,
)
from storage.text import fold_name

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST_PERSON = 7_000_000_000


async def seed(db, count: int, opened: dt.datetime) -> None:
    ids = range(1, count + 1)
    async with db.session() as s:
        await s.execute(insert(Cluster), [{"id": i, "name": f"Cụm {i}", "settings": {}} for i in ids])
        await s.execute(insert(EmulationYear), [{"id": i, "cluster_id": i, "year": 2026} for i in ids])
        await s.execute(insert(Phase), [
            {"year_id": i, "kind": k, "opened_at": opened, "closed_at": opened if k < PhaseKind.SCORING else None,
             "deadline_at": opened + dt.timedelta(days=30) if k == PhaseKind.SCORING else None}
            for i in ids for k in PhaseKind.ordered() if k <= PhaseKind.SCORING])  # fmt: skip
        await s.execute(insert(Unit), [{"id": i * 10 + n, "cluster_id": i, "name": f"Đơn vị {n}",
                                        "name_key": fold_name(f"Đơn vị {n}"), "position": n}
                                       for i in ids for n in range(5)])  # fmt: skip
        await s.execute(insert(Pledge), [{"year_id": i, "unit_id": i * 10 + n, "status": PledgeStatus.SIGNED}
                                         for i in ids for n in range(4)])  # fmt: skip
        await s.execute(insert(Pledge), [{"year_id": i, "unit_id": i * 10 + 4, "status": PledgeStatus.DRAFT}
                                         for i in ids])  # fmt: skip
        await s.execute(insert(ScoreSheet), [{"year_id": i, "unit_id": i * 10 + n, "status": SheetStatus.SUBMITTED}
                                             for i in ids for n in range(2)])  # fmt: skip
        await s.execute(insert(Ballot), [{"year_id": i, "kind": BallotKind.FLAG, "quota": 1} for i in ids])
        await s.execute(insert(Person), [{"id": i, "telegram_user_id": FIRST_PERSON + i, "full_name": f"Thư ký {i}"}
                                         for i in ids])  # fmt: skip
        await s.execute(insert(RoleAssignment), [{"cluster_id": i, "person_id": i, "role": "secretariat"}
                                                 for i in ids])  # fmt: skip
        ballots = dict((await s.execute(select(Ballot.year_id, Ballot.id))).all())
        await s.execute(insert(VoterRegister), [{"ballot_id": ballots[i], "unit_id": i * 10, "issued_at": opened,
                                                 "cast_at": opened} for i in ids])  # fmt: skip
        await s.commit()


async def one_round(db, at: dt.datetime) -> tuple[float, int, int]:
    """(seconds, SQL statements, outbox rows queued) of the daily round at `at`, committed."""
    statements, queued = [0], [0]

    def counted(*_args) -> None:
        statements[0] += 1

    original = digest_service.send_round

    async def send_round(*args, **kwargs) -> int:
        n = await original(*args, **kwargs)
        queued[0] += n
        return n

    event.listen(db.engine.sync_engine, "before_cursor_execute", counted)
    digest_service.send_round = send_round  # the count of rows it queued, from outside
    started = time.perf_counter()
    try:
        async with db.session() as s:
            outcome = await digest_service.DigestSource().run(s, Slot("digest.daily", 0, None, 0, None, at), at)
            await s.commit()
    finally:
        seconds = time.perf_counter() - started
        digest_service.send_round = original
        event.remove(db.engine.sync_engine, "before_cursor_execute", counted)
    assert outcome == "done", outcome
    return seconds, statements[0], queued[0]


async def digest_round(url: str, clusters: int) -> dict:
    now = utcnow()
    tomorrow = (now.astimezone(HCM) + dt.timedelta(days=1)).date()
    while WEEKLY_DAY in (tomorrow.weekday(), (tomorrow + dt.timedelta(days=1)).weekday()):
        tomorrow += dt.timedelta(days=1)  # both rounds daily ones: a Monday's is the weekly summary
    at = dt.datetime(tomorrow.year, tomorrow.month, tomorrow.day, 8, tzinfo=HCM).astimezone(dt.UTC)
    async with running_bot(url, schedules=False) as (tg, db):
        for i in range(1, clusters + 1):
            tg.user(f"Thư ký {i}", language_code="vi", id=FIRST_PERSON + i, started=True)
        started = time.perf_counter()
        await seed(db, clusters, now - dt.timedelta(days=3))
        seeded = time.perf_counter() - started
        sent_before = len(tg.calls)
        started = time.perf_counter()
        first = await one_round(db, at)
        await tg.app.bot_data["outbox"].drain()  # the sender may have started on its own at the commit
        drained = time.perf_counter() - started
        delivered = sum(1 for method, _p in tg.calls[sent_before:] if method.lower() == "sendmessage")
        changed = max(1, clusters // 10)
        async with db.session() as s:
            await s.execute(update(Pledge).where(Pledge.status == PledgeStatus.DRAFT, Pledge.year_id <= changed)
                            .values(status=PledgeStatus.SUBMITTED))  # fmt: skip
            await s.commit()
        second = await one_round(db, at + dt.timedelta(days=1))
    return {"clusters": clusters, "seed": seeded, "first": first, "drain": drained, "delivered": delivered,
            "changed": changed, "second": second}  # fmt: skip
