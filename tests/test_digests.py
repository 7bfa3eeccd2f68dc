"""The secretariat's digest (issue 12, items 1, 3 and 4): what it says about a cluster mid-cycle,
sent at the digest time only when something changed, at each phase change, weekly on Mondays,
to the secretariat, their deputies while a delegation lasts and the secretariat chat; and one
round over a thousand clusters reads the database with a fixed number of statements.

Time moves with the harness (`tg.travel`), which runs the scheduler and drains the outbox as
the timers would; the real Application, its scheduler and sender, a real database.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, insert, select, update

from bot import digest as rules
from bot.phases import PhaseView
from bot.services import digests as digest_service
from bot.services import phases as phase_service
from bot.services.actors import Actor
from bot.services.scheduler import Slot
from storage.models import (
    CLOCK,
    Adjustment,
    AuditLog,
    Ballot,
    BallotKind,
    Cluster,
    Criterion,
    DigestDeputy,
    EmulationYear,
    OutboxMessage,
    Person,
    Phase,
    PhaseKind,
    Pledge,
    PledgeStatus,
    RoleAssignment,
    ScoreEntry,
    ScoreSheet,
    ScoringTable,
    SheetStatus,
    Unit,
    VoterRegister,
)
from storage.people import upsert_person
from storage.text import fold_name
from tests.support import BOT, ECONOMIC_CLUSTER_2024, add_units, bound_cluster

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN = Actor(person_id=None, cluster_id=0, roles=frozenset({"admin"}), unit_ids=frozenset())


def next_local(weekday: int, hour: int, minute: int = 0) -> dt.datetime:
    """The next `weekday` (Monday 0) at hour:minute in Hồ Chí Minh City, at least a day ahead."""
    now = CLOCK.now().astimezone(HCM)
    day = now.date() + dt.timedelta(days=1)
    while day.weekday() != weekday:
        day += dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=HCM)


async def travel_to(tg, when: dt.datetime) -> None:
    await tg.travel(seconds=(when - CLOCK.now()).total_seconds())


def digests(chat) -> list[str]:
    return [t for t in chat.texts() if t.startswith(("📋", "🔔", "🗞"))]


async def clerk_of(tg, db, cluster_id: int, name: str = "Thư ký Hoa"):
    clerk = tg.user(name, language_code="vi")
    await clerk.send("/start")
    async with db.session() as s:
        person = await upsert_person(s, telegram_user_id=clerk.id, full_name=name, username=None, language_code="vi")
        s.add(RoleAssignment(cluster_id=cluster_id, person_id=person.id, role="secretariat"))
        await s.commit()
    return clerk


async def open_until(db, scene, last: PhaseKind, deadline: dt.datetime | None = None) -> None:
    actor = Actor(person_id=None, cluster_id=scene.cluster_id, roles=frozenset({"admin"}), unit_ids=frozenset())
    async with db.session() as s:
        for kind in PhaseKind.ordered()[: last.rank + 1]:
            await phase_service.open_phase(s, actor, scene.year_id, kind)
        if deadline is not None:
            await phase_service.set_deadline(s, actor, scene.year_id, last, deadline)
        await s.commit()


async def mid_cycle(db, scene) -> list[int]:
    """Nine units in verification: pledges at every stage, sheets submitted and verified, one
    dispute explained and waiting for the chair, one already decided."""
    units = await add_units(db, scene.cluster_id)
    async with db.session() as s:
        statuses = [PledgeStatus.SIGNED, PledgeStatus.SIGNED, PledgeStatus.SIGNED, PledgeStatus.SIGNED,
                    PledgeStatus.ACCEPTED, PledgeStatus.SUBMITTED, PledgeStatus.RETURNED, PledgeStatus.DRAFT]  # fmt: skip
        s.add_all(Pledge(year_id=scene.year_id, unit_id=u, status=st) for u, st in zip(units, statuses, strict=False))
        sheets = [SheetStatus.VERIFIED, SheetStatus.VERIFIED, SheetStatus.VERIFIED, SheetStatus.SUBMITTED,
                  SheetStatus.SUBMITTED, SheetStatus.DRAFT]  # fmt: skip
        rows = [ScoreSheet(year_id=scene.year_id, unit_id=u, status=st) for u, st in zip(units, sheets, strict=False)]
        s.add_all(rows)
        await s.commit()
    await open_until(db, scene, PhaseKind.VERIFICATION)
    async with db.session() as s:
        table = await s.scalar(select(ScoringTable).where(ScoringTable.year_id == scene.year_id))
        if table is None:
            table = ScoringTable(year_id=scene.year_id, normal_total=Decimal(100))
            s.add(table)
            await s.flush()
        criterion = Criterion(table_id=table.id, group_name="I", code="T.99", text="Tiêu chí", max_points=Decimal(10),
                              position=99)  # fmt: skip
        s.add(criterion)
        await s.flush()
        sheet_ids = {u: i for u, i in (await s.execute(
            select(ScoreSheet.unit_id, ScoreSheet.id).where(ScoreSheet.year_id == scene.year_id))).all()}  # fmt: skip
        waiting = ScoreEntry(sheet_id=sheet_ids[units[1]], criterion_id=criterion.id, self_value=Decimal(10),
                             verified_value=Decimal(8))  # fmt: skip
        decided = ScoreEntry(sheet_id=sheet_ids[units[2]], criterion_id=criterion.id, self_value=Decimal(10),
                             verified_value=Decimal(7))  # fmt: skip
        s.add_all([waiting, decided])
        await s.flush()
        s.add_all([
            Adjustment(entry_id=waiting.id, from_value=Decimal(10), to_value=Decimal(8), reason="Thiếu minh chứng",
                       explanation="Đã bổ sung"),
            Adjustment(entry_id=decided.id, from_value=Decimal(10), to_value=Decimal(7), reason="Thiếu minh chứng",
                       explanation="Đã bổ sung", decided_value=Decimal(9)),
        ])  # fmt: skip
        await s.commit()
    return units


# ------------------------------------------------------------------------------ the pure rules


def view(kind, opened=None, closed=None, deadline=None, opens=None) -> PhaseView:
    return PhaseView(kind, opens, deadline, opened, closed)


T0 = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)  # a Tuesday, 08:00 in Hồ Chí Minh City


@pytest.mark.parametrize(("settings", "expected"), [
    ({}, rules.DigestSettings()),
    ({"digest_time": "07:30", "digest_days": [0, 2], "digest_off": False},
     rules.DigestSettings(dt.time(7, 30), frozenset({0, 2}), True)),
    ({"digest_off": True}, rules.DigestSettings(enabled=False)),
    ({"digest_time": "25:00", "digest_days": [9]}, rules.DigestSettings()),  # unreadable: the default
    ({"digest_days": "every"}, rules.DigestSettings()),
])  # fmt: skip
def test_digest_settings_read_from_the_clusters_settings(settings, expected):
    assert rules.DigestSettings.of(settings) == expected
    assert rules.DigestSettings.of(expected.stored()) == expected


@pytest.mark.parametrize(("settings", "day", "variant"), [
    (rules.DigestSettings(), dt.date(2026, 11, 30), rules.Variant.WEEKLY),  # a Monday
    (rules.DigestSettings(), dt.date(2026, 12, 1), rules.Variant.DAILY),
    (rules.DigestSettings(days=frozenset({2})), dt.date(2026, 12, 1), None),  # not a chosen day
    (rules.DigestSettings(days=frozenset({2})), dt.date(2026, 11, 30), rules.Variant.WEEKLY),  # Mondays anyway
    (rules.DigestSettings(enabled=False), dt.date(2026, 11, 30), None),
])  # fmt: skip
def test_which_digest_a_day_sends(settings, day, variant):
    assert rules.variant_on(settings, day) is variant


@pytest.mark.parametrize(("now", "expected"), [
    (T0 - dt.timedelta(minutes=1), [T0]),  # the next one only
    (T0 + dt.timedelta(hours=3), [T0, T0 + dt.timedelta(days=1)]),  # today's (still due) and tomorrow's
    (T0 + dt.timedelta(hours=21), [T0 + dt.timedelta(days=1)]),  # too late to catch up
])  # fmt: skip
def test_daily_slots_catch_up_a_recent_one_only(now, expected):
    assert [at for at, _v in rules.daily_slots(rules.DigestSettings(), HCM, now)] == expected


def facts(**changes) -> rules.ClusterFacts:
    base = dict(name="Cụm", year=2026, views=[view(PhaseKind.REGISTRATION, opened=T0, deadline=T0 + dt.timedelta(days=3))],
                units=[(1, "A"), (2, "B"), (3, "C")], pledges={1: PledgeStatus.SUBMITTED, 2: PledgeStatus.ACCEPTED})  # fmt: skip
    return rules.ClusterFacts(**(base | changes))


@pytest.mark.parametrize(("changes", "same"), [
    ({}, True),
    ({"pledges": {1: PledgeStatus.SUBMITTED, 2: PledgeStatus.ACCEPTED, 3: PledgeStatus.DRAFT}}, True),  # a draft is not done
    ({"pledges": {1: PledgeStatus.ACCEPTED, 2: PledgeStatus.ACCEPTED}}, False),
    ({"parked": 1}, False),
    ({"units": [(1, "A"), (2, "B")]}, False),  # a unit left
    ({"ballots": [rules.BallotFacts(1, BallotKind.FLAG, None, 1, None, frozenset())]}, False),
])  # fmt: skip
def test_the_fingerprint_changes_with_the_content_only(changes, same):
    now = T0 + dt.timedelta(hours=1)
    before = rules.fingerprint(rules.snapshot(facts(), now))
    after = rules.fingerprint(rules.snapshot(facts(**changes), now + dt.timedelta(hours=20)))  # a later moment
    assert (before == after) is same


def test_the_snapshot_counts_each_step_and_names_who_is_not_done():
    views = [view(PhaseKind.REGISTRATION, opened=T0, closed=T0), view(PhaseKind.SIGNING, opened=T0, closed=T0),
             view(PhaseKind.SCORING, opened=T0, closed=T0),
             view(PhaseKind.VERIFICATION, opened=T0, deadline=T0 + dt.timedelta(days=2)),
             view(PhaseKind.VOTING, opens=T0 + dt.timedelta(days=9))]  # fmt: skip
    snap = rules.snapshot(facts(views=views, sheets={1: SheetStatus.VERIFIED, 2: SheetStatus.SUBMITTED},
                                disputes=[2, 2]), T0)  # fmt: skip
    steps = {s.kind: s for s in snap.steps}
    assert snap.phase is PhaseKind.VERIFICATION
    assert (steps[rules.StepKind.PLEDGES_SUBMITTED].done, steps[rules.StepKind.PLEDGES_SUBMITTED].missing) == (2, ("C",))
    assert steps[rules.StepKind.PLEDGES_SIGNED].missing == ("A", "B", "C")
    assert steps[rules.StepKind.SHEETS_SUBMITTED].missing == ("C",)
    assert steps[rules.StepKind.SHEETS_VERIFIED].missing == ("B", "C")
    assert (steps[rules.StepKind.DISPUTES].done, steps[rules.StepKind.DISPUTES].missing) == (2, ("B",))
    assert [d.kind for d in snap.due] == [rules.DueKind.PHASE_DEADLINE]  # the opening in 9 days is outside the week


@pytest.mark.parametrize(("variant", "fp", "last", "week", "last_week", "send"), [
    (rules.Variant.DAILY, "a", "a", None, None, False),
    (rules.Variant.DAILY, "a", "b", None, None, True),
    (rules.Variant.DAILY, "a", None, None, None, True),  # never sent
    (rules.Variant.PHASE, "a", "a", None, None, False),
    (rules.Variant.WEEKLY, "a", "a", "2026-W49", "2026-W48", True),  # once a week whatever changed
    (rules.Variant.WEEKLY, "a", "b", "2026-W49", "2026-W49", False),  # the week's summary went already
    (rules.Variant.NOW, "a", "a", None, None, True),
])  # fmt: skip
def test_who_gets_a_digest(variant, fp, last, week, last_week, send):
    assert rules.should_send(variant, fp, last, week, last_week) is send


def test_a_long_digest_fits_one_message_and_says_how_many_more():
    from bot.views.digest import LIMIT, digest_text

    units = [(i, f"Sở Kế hoạch và Đầu tư tỉnh số {i} với một cái tên rất dài cho thử nghiệm") for i in range(300)]
    snap = rules.snapshot(facts(units=units, pledges={0: PledgeStatus.SUBMITTED}), T0)
    text = digest_text(snap, rules.Variant.DAILY, T0, HCM)
    assert len(text) <= LIMIT
    assert "   … và 269 đơn vị khác" in text  # 299 not done: 30 of them named
    assert text.count("   • ") == 30


# ------------------------------------------------------------------------------ through the Application


async def test_the_digest_of_a_cluster_mid_cycle_names_each_steps_units_not_done(tg, db):
    await travel_to(tg, next_local(1, 6))  # a Tuesday, 06:00
    scene = await bound_cluster(tg, db)
    clerk = await clerk_of(tg, db, scene.cluster_id)
    await mid_cycle(db, scene)
    await tg.travel(minutes=10)  # the phase change's digest
    [text] = digests(clerk.private)
    assert text.startswith("🔔 Bản tin: chuyển giai đoạn — Cụm kinh tế")
    assert "Giai đoạn: Thẩm định (chưa đặt hạn chót)." in text
    assert "Đã gửi đăng ký thi đua: 6/9" in text
    assert "Đã ký giao ước: 4/9" in text
    assert "Phiếu đã được thẩm định: 3/9" in text
    assert "Giải trình chờ quyết định: 1" in text
    names = ECONOMIC_CLUSTER_2024
    signed_part = text.split("Đã ký giao ước")[1].split("\n\n")[0]
    assert all(f"• {n}" in signed_part for n in names[4:])
    assert not any(f"• {n}" in signed_part for n in names[:4])
    dispute_part = text.split("Giải trình chờ quyết định")[1].split("\n\n")[0]
    assert f"• {names[1]}" in dispute_part and names[2] not in dispute_part  # the decided one is not waiting
    # /digest says the same, now
    await clerk.send("/digest")
    assert clerk.private.last.plain.startswith("📋 Bản tin — Cụm kinh tế")
    assert "Đã gửi đăng ký thi đua: 6/9" in clerk.private.last.plain
    assert not tg.errors


async def test_nothing_changed_nothing_sent_the_next_morning_and_a_change_is_sent(tg, db):
    await travel_to(tg, next_local(1, 6))  # Tuesday 06:00
    scene = await bound_cluster(tg, db)
    clerk = await clerk_of(tg, db, scene.cluster_id)
    units = await mid_cycle(db, scene)
    await tg.travel(minutes=10)
    assert len(digests(clerk.private)) == 1  # the phase change's
    await tg.travel(hours=2)  # Tuesday 08:10: the daily slot, nothing new since 06:05
    await tg.travel(days=1)  # Wednesday 08:10
    assert len(digests(clerk.private)) == 1
    async with db.session() as s:
        await s.execute(update(ScoreSheet).where(ScoreSheet.unit_id == units[3]).values(status=SheetStatus.VERIFIED))
        await s.commit()
    await tg.travel(days=1)  # Thursday 08:10
    news = digests(clerk.private)
    assert len(news) == 2
    assert news[-1].startswith("📋 Bản tin — Cụm kinh tế") and "Phiếu đã được thẩm định: 4/9" in news[-1]
    async with db.session() as s:
        runs = await s.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.dedupe_key.like("digest:%")))  # fmt: skip
        assert runs == 2


async def test_a_phase_change_sends_its_digest_and_the_digest_stops_between_phases(tg, db):
    await travel_to(tg, next_local(1, 6))  # Tuesday 06:00
    scene = await bound_cluster(tg, db)
    clerk = await clerk_of(tg, db, scene.cluster_id)
    deadline = (CLOCK.now() + dt.timedelta(days=1)).astimezone(HCM).replace(hour=17, minute=0)  # Wednesday 17:00
    await open_until(db, scene, PhaseKind.REGISTRATION, deadline)
    await tg.travel(minutes=10)
    [first] = digests(clerk.private)
    assert "Giai đoạn: Đăng ký thi đua, hạn chót" in first
    assert f"• {deadline:%d/%m/%Y %H:%M} — hạn chót giai đoạn Đăng ký thi đua" in first
    await tg.travel(days=1, hours=3)  # Wednesday 09:10: the daily digest, nothing new
    await travel_to(tg, deadline + dt.timedelta(minutes=10))  # the deadline closed registration; its digest
    news = digests(clerk.private)
    assert len(news) == 2 and news[-1].startswith("🔔"), "\n=====\n".join(news)
    assert "Hiện không có giai đoạn nào đang mở." in news[-1]
    await tg.travel(days=2)  # no phase open: no daily digest
    assert len(digests(clerk.private)) == 2


async def test_the_weekly_summary_goes_on_monday_even_when_nothing_changed(tg, db):
    await travel_to(tg, next_local(6, 6))  # Sunday 06:00
    scene = await bound_cluster(tg, db)
    clerk = await clerk_of(tg, db, scene.cluster_id)
    await mid_cycle(db, scene)
    await tg.travel(minutes=10)
    await tg.travel(hours=2)  # Sunday 08:10: nothing new
    assert len(digests(clerk.private)) == 1
    await tg.travel(days=1)  # Monday 08:10
    news = digests(clerk.private)
    assert len(news) == 2 and news[-1].startswith("🗞 Tổng hợp tuần — Cụm kinh tế, tuần từ")
    assert "Đã gửi đăng ký thi đua: 6/9" in news[-1]
    await tg.travel(days=1)  # Tuesday: nothing new since Monday
    assert len(digests(clerk.private)) == 2


async def test_a_deputy_receives_the_digests_while_the_delegation_lasts_and_not_after(tg, db):
    await travel_to(tg, next_local(1, 6))  # Tuesday 06:00
    scene = await bound_cluster(tg, db)
    clerk = await clerk_of(tg, db, scene.cluster_id)
    units = await mid_cycle(db, scene)
    deputy = tg.user("Phó văn phòng Lan", language_code="vi")
    await deputy.send("/start")
    async with db.session() as s:
        person = await upsert_person(s, telegram_user_id=deputy.id, full_name="Phó văn phòng Lan", username=None,
                                     language_code="vi")  # fmt: skip
        s.add(RoleAssignment(cluster_id=scene.cluster_id, person_id=person.id, role="representative", unit_id=units[0]))
        await s.commit()
    await tg.travel(minutes=10)
    assert len(digests(deputy.private)) == 0
    await clerk.send("/deputy")
    assert "Chưa có ai nhận bản tin thay bạn." in clerk.private.last.plain
    await clerk.press("Phó văn phòng Lan")
    await clerk.press("1 tuần")
    assert clerk.private.last.plain.startswith("✅ Phó văn phòng Lan nhận bản tin thay bạn đến ")
    assert "đã chỉ định bạn nhận thay bản tin của Cụm kinh tế" in deputy.private.last.plain
    async with db.session() as s:
        audit = await s.scalar(select(AuditLog).where(AuditLog.action == "digest.deputy"))
        assert audit is not None and audit.details["deputy_person_id"] == person.id
    await tg.travel(hours=2)  # Tuesday 08:10: the deputy has never had one, so it comes; the clerk's is unchanged
    assert len(digests(deputy.private)) == 1 and len(digests(clerk.private)) == 1
    async with db.session() as s:
        await s.execute(update(Pledge).where(Pledge.unit_id == units[7]).values(status=PledgeStatus.SUBMITTED))
        await s.commit()
    await tg.travel(days=1)  # Wednesday: a change, to both
    assert len(digests(deputy.private)) == 2 and len(digests(clerk.private)) == 2
    await tg.travel(days=8)  # the week is over
    async with db.session() as s:
        await s.execute(update(Pledge).where(Pledge.unit_id == units[6]).values(status=PledgeStatus.SUBMITTED))
        await s.commit()
    await tg.travel(days=1)
    assert len(digests(deputy.private)) == 2  # not after the delegation
    assert len(digests(clerk.private)) == 3
    # a second delegation, ended early by the member
    await clerk.send("/deputy")
    await clerk.press("Phó văn phòng Lan")
    await clerk.press("2 tuần")
    await clerk.send("/deputy")
    await clerk.press("⏹ Kết thúc việc nhận thay của Phó văn phòng Lan")
    assert "Chưa có ai nhận bản tin thay bạn." in clerk.private.last.plain
    async with db.session() as s:
        ended = (await s.scalars(select(DigestDeputy).order_by(DigestDeputy.id))).all()
        assert len(ended) == 2 and ended[-1].ended_at is not None
    assert not tg.errors


async def test_the_secretariat_chat_receives_the_digest_too(tg, db):
    await travel_to(tg, next_local(1, 6))
    scene = await bound_cluster(tg, db)
    clerk = await clerk_of(tg, db, scene.cluster_id)
    outsider = tg.user("Người ngoài", language_code="vi")
    scene.group.members.append(clerk)
    office = tg.group("Văn phòng thư ký cụm", admins=[clerk], members=[outsider])
    await tg.add_bot_to_group(office, by=clerk)
    await outsider.send(f"/secretariat@{BOT}", chat=office)
    assert "Chỉ quản trị cụm hoặc thư ký cụm" in office.last.plain
    await clerk.send(f"/secretariat@{BOT}", chat=scene.group)  # the cluster's own group: refused
    assert "nhóm chung của cụm" in scene.group.last.plain
    await clerk.send(f"/secretariat@{BOT}", chat=office)
    assert office.last.plain.startswith("✅ Nhóm này là nhóm của thư ký cụm Cụm kinh tế")
    await mid_cycle(db, scene)
    await tg.travel(minutes=10)
    [text] = digests(office)
    assert "Đã gửi đăng ký thi đua: 6/9" in text
    assert len(digests(clerk.private)) == 1
    assert not digests(scene.group)  # never in the cluster's group
    await tg.travel(hours=2)  # unchanged: nothing more there either
    assert len(digests(office)) == 1


async def test_the_administrator_switches_the_digest_off_and_moves_its_time(tg, db):
    await travel_to(tg, next_local(1, 6))
    scene = await bound_cluster(tg, db)
    clerk = await clerk_of(tg, db, scene.cluster_id)
    units = await mid_cycle(db, scene)
    await tg.travel(minutes=10)
    await scene.admin.send("/digest")
    assert "Cài đặt bản tin" in scene.admin.private.last.plain
    await scene.admin.press("10:00")
    assert "gửi lúc 10:00" in scene.admin.private.last.plain
    async with db.session() as s:
        await s.execute(update(Pledge).where(Pledge.unit_id == units[7]).values(status=PledgeStatus.SUBMITTED))
        await s.commit()
    await tg.travel(hours=3)  # 09:10: not yet
    assert len(digests(clerk.private)) == 1
    await tg.travel(hours=1)  # 10:10
    assert len(digests(clerk.private)) == 2
    await scene.admin.press("🔕 Tắt bản tin")
    assert "Bản tin hằng ngày đang tắt." in scene.admin.private.last.plain
    async with db.session() as s:
        await s.execute(update(Pledge).where(Pledge.unit_id == units[6]).values(status=PledgeStatus.SUBMITTED))
        await s.commit()
    await tg.travel(days=1)
    assert len(digests(clerk.private)) == 2
    await clerk.send("/digest")  # a member cannot change the settings
    assert "Cài đặt bản tin" not in clerk.private.last.plain
    answer = await clerk.press_data(f"dg:o:{scene.cluster_id}:1")
    assert answer is not None and "quản trị cụm" in (answer.get("text") or "")
    assert not tg.errors


# ------------------------------------------------------------------------------ scale


async def _bulk_clusters(db, count: int, first: int, opened: dt.datetime) -> None:
    """`count` clusters, each with a current year in scoring, five units, pledges, sheets and a
    secretariat member, written with bulk inserts."""
    ids = range(first, first + count)
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
        await s.execute(insert(ScoreSheet), [{"year_id": i, "unit_id": i * 10 + n, "status": SheetStatus.SUBMITTED}
                                             for i in ids for n in range(2)])  # fmt: skip
        await s.execute(insert(Ballot), [{"year_id": i, "kind": BallotKind.FLAG, "quota": 1} for i in ids])
        await s.execute(insert(Person), [{"id": i, "telegram_user_id": 7_000_000 + i, "full_name": f"Thư ký {i}"}
                                         for i in ids])  # fmt: skip
        await s.execute(insert(RoleAssignment), [{"cluster_id": i, "person_id": i, "role": "secretariat"}
                                                 for i in ids])  # fmt: skip
        ballots = dict((await s.execute(select(Ballot.year_id, Ballot.id).where(Ballot.year_id.in_(list(ids))))).all())
        await s.execute(insert(VoterRegister), [{"ballot_id": ballots[i], "unit_id": i * 10, "issued_at": opened,
                                                 "cast_at": opened} for i in ids])  # fmt: skip
        await s.commit()


async def _round(db, at: dt.datetime) -> tuple[int, int, str]:
    """One daily round at `at`: (SELECT statements, all statements, outcome)."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.session() as s:
            outcome = await digest_service.DigestSource().run(s, Slot("digest.daily", 0, None, 0, None, at),
                                                              at + dt.timedelta(minutes=1))  # fmt: skip
            await s.commit()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    return statements.count("SELECT"), len(statements), outcome


async def _digest_rows(db) -> int:
    async with db.session() as s:
        return await s.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.dedupe_key.like("digest:%")))  # fmt: skip


async def test_a_round_over_a_thousand_clusters_reads_with_as_many_statements_as_over_ten(db):
    tuesday = dt.datetime(2026, 12, 1, 8, tzinfo=HCM).astimezone(dt.UTC)
    opened = tuesday - dt.timedelta(days=3)
    days = [tuesday + dt.timedelta(days=n) for n in range(4)]  # Tuesday to Friday: daily digests
    await _bulk_clusters(db, 10, 1, opened)
    small_first = await _round(db, days[0])
    small_again = await _round(db, days[1])  # nothing changed
    assert small_first[2] == small_again[2] == "done"
    assert await _digest_rows(db) == 10
    await _bulk_clusters(db, 990, 11, opened)
    large_first = await _round(db, days[2])  # the 990 new secretariat members get their first
    large_again = await _round(db, days[3])
    assert await _digest_rows(db) == 1000
    assert large_first[0] == small_first[0]  # reads: the same number for 1,000 clusters (5,000 units) as for 10
    assert large_again[1] == small_again[1]  # nothing changed: the same statements in all
    assert small_again[1] <= 15, small_again



async def _counted_round(db, at: dt.datetime) -> list[str]:
    """One daily round at `at`, its statements."""
    from tests.test_session_memory import counting

    with counting(db) as statements:
        async with db.session() as s:
            outcome = await digest_service.DigestSource().run(s, Slot("digest.daily", 0, None, 0, None, at),
                                                              at + dt.timedelta(minutes=1))  # fmt: skip
            await s.commit()
    assert outcome == "done"
    return statements


def _outbox_inserts(statements: list[str]) -> list[str]:
    return [q for q in statements if q.lstrip().upper().startswith("INSERT INTO OUTBOX_MESSAGES")]


async def test_a_rounds_messages_are_queued_in_one_insert_whatever_the_number_of_clusters(db):
    tuesday = dt.datetime(2026, 12, 1, 8, tzinfo=HCM).astimezone(dt.UTC)
    opened = tuesday - dt.timedelta(days=3)
    await _bulk_clusters(db, 3, 1, opened)
    small = await _counted_round(db, tuesday)
    assert await _digest_rows(db) == 3
    await _bulk_clusters(db, 30, 4, opened)
    large = await _counted_round(db, tuesday + dt.timedelta(days=1))  # the 30 new clusters' first digests
    assert await _digest_rows(db) == 33
    assert len(_outbox_inserts(small)) == len(_outbox_inserts(large)) == 1, _outbox_inserts(large)
    assert len(small) == len(large)  # no statement grows with the clusters


async def test_a_round_counts_only_the_messages_not_queued_before(db):
    from storage import outbox as store
    from storage.models import RecipientKind

    tuesday = dt.datetime(2026, 12, 1, 8, tzinfo=HCM).astimezone(dt.UTC)
    await _bulk_clusters(db, 5, 1, tuesday - dt.timedelta(days=3))
    async with db.session() as s:  # a first run of the same slot queued two of them, then failed to remember
        for cid in (1, 2):
            await store.enqueue(s, chat_id=7_000_000 + cid, key=f"digest:{cid}:again:to:{7_000_000 + cid}",
                                payload={"text": "📋"}, recipient=RecipientKind.PERSON, cluster_id=cid)  # fmt: skip
        await s.commit()
    async with db.session() as s:
        clusters = list((await digest_service.current_years(s)).values())
        queued = await digest_service.send_round(s, clusters, rules.Variant.DAILY, "again", tuesday)
        await s.commit()
    assert queued == 3
    assert await _digest_rows(db) == 5
