"""Reminders to the late units (issue 12, item 2) through the real Application, the harness
and a real database: only the units not done and the people not muted, never in the quiet
window, never twice for one slot (a second run, a second instance, the slot's work done
again), a 403 from one representative leaves the others reminded, the chair's "remind now"
once per unit per day, and the mute button (a forged one changes nothing)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot import reminders as rules
from bot.callbacks import ReminderMute, RemindLate
from bot.offline import OfflineTelegram
from bot.services import phases as phase_service
from bot.services import reminders as reminder_service
from storage.models import (
    CLOCK,
    AuditLog,
    Cluster,
    OutboxMessage,
    Phase,
    PhaseKind,
    Pledge,
    PledgeStatus,
    ScheduleRun,
    ScoreRound,
    ScoreSheet,
    SheetStatus,
    Unit,
)
from storage.models import (
    ReminderMute as MuteRow,
)
from tests.conftest import make_app
from tests.support import add_units, bound_cluster, make_representative, set_chair

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
UNITS = ["Sở Tài chính", "Sở Công Thương", "Sở Nội vụ", "Sở Tư pháp"]
REMINDER = "⏰ Nhắc việc"
MUTE = "🔕 Không nhắc tôi nữa trong giai đoạn này"
UNMUTE = "🔔 Nhắc tôi lại trong giai đoạn này"
REMIND_NOW = "🔔 Nhắc các đơn vị chưa xong"


class World:
    """Four units in an open phase: unit 1 (the chair unit) rep A; unit 2 rep B; unit 3 reps C
    and C2; unit 4 rep D."""

    def __init__(self, tg, db, scene, units, reps, deadline, phase_id):
        self.tg, self.db, self.scene, self.units, self.reps = tg, db, scene, units, reps
        self.deadline, self.phase_id = deadline, phase_id

    def __getitem__(self, name: str):
        return self.reps[name]

    def reminders(self, name: str) -> list[str]:
        return [t for t in self.reps[name].private.texts() if t.startswith(REMINDER)]


def local_day(days: int, hour: int, minute: int = 0) -> dt.datetime:
    day = (CLOCK.now().astimezone(HCM) + dt.timedelta(days=days)).date()
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=HCM)


async def world(tg, db, kind: PhaseKind, deadline: dt.datetime) -> World:
    scene = await bound_cluster(tg, db)
    units = await add_units(db, scene.cluster_id, UNITS)
    reps = {}
    for name, unit in (("A", units[0]), ("B", units[1]), ("C", units[2]), ("C2", units[2]), ("D", units[3])):
        reps[name] = await make_representative(tg, db, scene.cluster_id, unit, f"Đại diện {name}", scene.group)
    await set_chair(db, scene.year_id, units[0], units[1])
    async with db.session() as s:
        rows = await phase_service.ensure_phases(s, scene.year_id)
        now = CLOCK.now()
        for k in PhaseKind.ordered():
            if k < kind:
                rows[k].opened_at, rows[k].closed_at = now - dt.timedelta(days=9), now - dt.timedelta(days=2)
        rows[kind].opened_at = now - dt.timedelta(hours=1)
        rows[kind].deadline_at = deadline
        await s.commit()
        phase_id = rows[kind].id
    tg.app.bot_data["scheduler"].wake()  # a deadline set: the reminders are planned
    return World(tg, db, scene, units, reps, deadline, phase_id)


async def submit_pledge(db, year_id: int, unit_id: int, status=PledgeStatus.SUBMITTED) -> None:
    async with db.session() as s:
        s.add(Pledge(year_id=year_id, unit_id=unit_id, status=status, submitted_at=CLOCK.now()))
        await s.commit()


async def travel_to(tg, when: dt.datetime) -> None:
    await tg.travel(seconds=(when - CLOCK.now()).total_seconds())


async def reminder_rows(db) -> int:
    async with db.session() as s:
        return await s.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.dedupe_key.like("remind:%")))  # fmt: skip


async def test_only_late_units_are_reminded_at_their_times_never_at_night(tg, db):
    # A 22:00 deadline four days on: the 3-day reminder (22:00) moves to 07:00 next morning;
    # the 1-day one (22:00) would move to 07:00 of the deadline's day, an hour before the
    # morning one, which alone is sent.
    w = await world(tg, db, PhaseKind.REGISTRATION, local_day(4, 22))
    await submit_pledge(db, w.scene.year_id, w.units[1])  # unit 2 is done
    await submit_pledge(db, w.scene.year_id, w.units[3], PledgeStatus.RETURNED)  # returned: not done
    arrivals: dict[str, list[dt.datetime]] = {name: [] for name in w.reps}
    while CLOCK.now() < w.deadline + dt.timedelta(hours=2):
        await w.tg.travel(hours=1)
        for name in w.reps:
            while len(arrivals[name]) < len(w.reminders(name)):
                arrivals[name].append(CLOCK.now().astimezone(HCM))
    assert arrivals["B"] == []  # done: never reminded
    for name in ("A", "C", "C2", "D"):
        got = arrivals[name]
        assert [a.date() for a in got] == [(w.deadline - dt.timedelta(days=2)).date(), w.deadline.date()], got
        assert not any(rules.DEFAULT_QUIET.contains(a.time()) for a in got), got  # never at night
        assert [a.hour for a in got] == [7, 8], got  # within the hour after 07:00 and 08:00
    text = w.reminders("C")[0]
    assert "Đơn vị Sở Nội vụ của bạn chưa gửi đăng ký thi đua: /pledge" in text
    assert f"Hạn chót: {w.deadline:%d/%m/%Y %H:%M}" in text
    # the phase closed at its deadline, as before
    async with db.session() as s:
        assert (await s.get(Phase, w.phase_id)).closed_at == w.deadline
        runs = (await s.scalars(select(ScheduleRun.key).where(ScheduleRun.key.like("remind:%")))).all()
    assert len(runs) == 2  # one row per slot, whatever the number of units


async def test_a_deadline_at_0730_is_reminded_at_0700_not_during_the_night(tg, db):
    w = await world(tg, db, PhaseKind.SCORING, local_day(4, 7, 30))
    async with db.session() as s:  # unit 1 submitted its sheet
        s.add(ScoreSheet(year_id=w.scene.year_id, unit_id=w.units[0], status=SheetStatus.SUBMITTED))
        await s.commit()
    await travel_to(tg, w.deadline - dt.timedelta(minutes=90))  # 06:00 of the deadline's day
    before = {name: len(w.reminders(name)) for name in w.reps}
    # days passed in one jump (as after a stop): of the 3-day and the 1-day reminders due, only
    # the latest went
    assert before["B"] == 1
    # 06:31: an hour before the deadline is 06:30, inside the quiet window: not yet
    await travel_to(tg, w.deadline - dt.timedelta(minutes=59))
    assert {name: len(w.reminders(name)) for name in w.reps} == before
    await travel_to(tg, w.deadline - dt.timedelta(minutes=29))  # 07:01
    after = {name: len(w.reminders(name)) for name in w.reps}
    assert after["A"] == before["A"]  # submitted: never reminded
    assert all(after[n] == before[n] + 1 for n in ("B", "C", "C2", "D")), (before, after)
    assert "chưa nộp phiếu tự chấm điểm: /score" in w.reminders("B")[-1]
    assert re.search(r"\(còn 2\d phút\)", w.reminders("B")[-1])


async def test_a_slot_reminds_once_after_a_second_run_a_restart_and_its_work_repeated(tg, db, settings):
    w = await world(tg, db, PhaseKind.REGISTRATION, local_day(4, 17))
    await travel_to(tg, w.deadline - dt.timedelta(days=3) + dt.timedelta(minutes=5))
    assert [len(w.reminders(n)) for n in ("A", "B", "C", "C2", "D")] == [1, 1, 1, 1, 1]
    rows = await reminder_rows(db)
    assert rows == 5
    assert await tg.app.bot_data["scheduler"].run() == 0  # the timer again: handled already
    other = OfflineTelegram(bot_username="ThiDuaBot")
    second = make_app(settings, db, other)  # a second instance (a restart) on the same database
    async with other.running(second):
        assert await second.bot_data["scheduler"].run() == 0
    # the slot's work done again regardless (a crash after queueing, before recording): the
    # per-unit keys queue nothing new
    async with db.session() as s:
        assert await reminder_service.run_slot(s, w.phase_id, "3d", w.deadline - dt.timedelta(days=3),
                                               CLOCK.now()) == "done"  # fmt: skip
        await s.commit()
    assert await reminder_rows(db) == rows
    await tg.travel(minutes=5)
    assert [len(w.reminders(n)) for n in ("A", "B", "C", "C2", "D")] == [1, 1, 1, 1, 1]


async def test_a_representative_who_blocked_the_bot_does_not_stop_the_others(tg, db):
    w = await world(tg, db, PhaseKind.SIGNING, local_day(4, 17))
    await submit_pledge(db, w.scene.year_id, w.units[3], PledgeStatus.ACCEPTED)  # accepted, not signed
    await w["C"].block()
    tg.fail_next("sendMessage", "forbidden", chat_id=w["A"].id)  # a 403 for A's reminder too
    await travel_to(tg, w.deadline - dt.timedelta(days=1) + dt.timedelta(minutes=5))
    assert w.reminders("C") == [] and w.reminders("A") == []
    for name in ("B", "C2", "D"):
        assert len(w.reminders(name)) == 1, name
        assert "chưa ký giao ước thi đua: /pledge" in w.reminders(name)[0]
    async with db.session() as s:
        sent = await s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.dedupe_key.like("remind:%"), OutboxMessage.sent_at.is_not(None)))  # fmt: skip
    assert sent == 3
    assert tg.rejections == [("sendMessage", "Forbidden: bot was blocked by the user")]  # C's, the point
    tg.rejections.clear()


async def test_the_mute_button_silences_the_phase_for_that_person_only(tg, db):
    w = await world(tg, db, PhaseKind.REGISTRATION, local_day(4, 17))
    await travel_to(tg, w.deadline - dt.timedelta(days=3) + dt.timedelta(minutes=5))
    answer = await w["C"].press(MUTE)
    assert answer["text"] == "🔕 Bạn sẽ không được nhắc nữa trong giai đoạn Đăng ký thi đua."
    last = w["C"].private.last
    assert last.plain.startswith(REMINDER)  # the reminder's text is kept, its button swapped
    assert [b["text"] for row in last.reply_markup["inline_keyboard"] for b in row] == [UNMUTE]
    again = await w["C"].press_data(ReminderMute("m", w.phase_id).pack(), message_id=last.message_id)
    assert "không được nhắc nữa" in again["text"]  # a second tap (stale button): still muted, once
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(MuteRow)) == 1
    await travel_to(tg, w.deadline - dt.timedelta(days=1) + dt.timedelta(minutes=5))
    assert len(w.reminders("C")) == 1  # muted: not reminded again
    assert len(w.reminders("C2")) == 2  # the unit's other representative still is
    await w["C"].press(UNMUTE)
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(MuteRow)) == 0
    await travel_to(tg, w.deadline.replace(hour=8, minute=5))
    assert len(w.reminders("C")) == 2  # heard again: the deadline's morning


async def test_a_forged_or_foreign_mute_press_changes_nothing(tg, db):
    w = await world(tg, db, PhaseKind.REGISTRATION, local_day(4, 17))
    stranger = tg.user("Người lạ", language_code="vi")
    await stranger.send("/start")
    answer = await stranger.press_data(ReminderMute("m", w.phase_id).pack())
    assert answer["show_alert"] and "không còn hiệu lực" in answer["text"]
    answer = await w.scene.admin.press_data(ReminderMute("m", 2_000_000).pack())  # no such phase
    assert answer["show_alert"] and "không còn hiệu lực" in answer["text"]
    answer = await w["A"].press_data(f"rm:m:{w.phase_id}:x")  # a shape we never built
    assert answer["show_alert"] and "không còn hiệu lực" in answer["text"]
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(MuteRow)) == 0


async def test_the_chairs_remind_now_reaches_each_late_unit_once_a_day(tg, db):
    w = await world(tg, db, PhaseKind.REGISTRATION, local_day(10, 17))
    await submit_pledge(db, w.scene.year_id, w.units[1])  # unit 2 is done
    chair = w["A"]  # the chair unit's representative
    await chair.send("/status")
    answer = await chair.press(REMIND_NOW)
    assert answer["text"] == "🔔 Đã nhắc 3 đơn vị trong cuộc trò chuyện riêng."  # units 1, 3, 4
    assert w.reminders("B") == []
    assert [len(w.reminders(n)) for n in ("A", "C", "C2", "D")] == [1, 1, 1, 1]
    again = await chair.press(REMIND_NOW)
    assert "Không có đơn vị nào cần nhắc" in again["text"]
    assert [len(w.reminders(n)) for n in ("A", "C", "C2", "D")] == [1, 1, 1, 1]
    # a representative who is not the chair: no button, and a forged press is refused
    await w["B"].send("/status")
    assert not (w["B"].private.last.reply_markup or {}).get("inline_keyboard")
    refused = await w["B"].press_data(RemindLate(w.phase_id).pack())
    assert refused["show_alert"] and refused["text"].startswith("Chỉ ")
    # the mute also silences the chair's reminder
    await w["D"].press(MUTE)
    await tg.travel(days=1)
    tomorrow = await chair.press(REMIND_NOW)
    assert tomorrow["text"] == "🔔 Đã nhắc 2 đơn vị trong cuộc trò chuyện riêng."  # units 1 and 3 (unit 4 muted)
    assert [len(w.reminders(n)) for n in ("A", "C", "C2", "D")] == [2, 2, 2, 1]
    async with db.session() as s:
        audits = (await s.scalars(select(AuditLog.details).where(AuditLog.action == "remind.now"))).all()
    assert [a["units"] for a in audits] == [3, 0, 2]


async def test_remind_now_for_a_phase_that_is_no_longer_open_is_refused(tg, db):
    w = await world(tg, db, PhaseKind.REGISTRATION, local_day(10, 17))
    await w["A"].send("/status")
    await w.scene.admin.send("/phase")
    await w.scene.admin.press("⏹ Đóng Đăng ký thi đua")
    answer = await w["A"].press(REMIND_NOW)
    assert answer["show_alert"] and "không còn mở" in answer["text"]
    assert w.reminders("C") == []


async def test_verification_reminds_the_verifying_unit_and_voting_the_units_not_voted(tg, db):
    w = await world(tg, db, PhaseKind.VERIFICATION, local_day(4, 17))
    async with db.session() as s:  # chair verification: every sheet goes to the chair unit (unit 1)
        for unit in w.units[1:]:
            s.add(ScoreSheet(year_id=w.scene.year_id, unit_id=unit, status=SheetStatus.SUBMITTED))
        s.add(ScoreSheet(year_id=w.scene.year_id, unit_id=w.units[0], status=SheetStatus.VERIFIED))
        await s.commit()
    await travel_to(tg, w.deadline - dt.timedelta(days=3) + dt.timedelta(minutes=5))
    assert [len(w.reminders(n)) for n in ("B", "C", "C2", "D")] == [0, 0, 0, 0]
    # the chair unit verifies the three others' sheets; the vice-chair unit the chair's (verified)
    assert len(w.reminders("A")) == 1 and "còn 3 phiếu chấm điểm cần thẩm định: /verify" in w.reminders("A")[0]


async def test_the_quiet_hours_are_the_clusters_setting_set_by_the_administrator(tg, db):
    w = await world(tg, db, PhaseKind.REGISTRATION, local_day(4, 22))
    await w["A"].send("/reminders")  # anyone in the cluster reads them; only the administrator sets them
    assert "Giờ yên lặng: 21:00–07:00" in w["A"].private.last.plain
    assert "/reminders off" not in w["A"].private.last.plain
    await w["A"].send("/reminders off")
    assert w["A"].private.last.plain.startswith("Chỉ ")
    admin = w.scene.admin
    await admin.send("/reminders 25:00-07:00")
    assert "Tôi không đọc được “25:00-07:00”" in admin.private.last.plain
    async with db.session() as s:
        assert rules.SETTING not in (await s.get(Cluster, w.scene.cluster_id)).settings
    await admin.send("/reminders off")
    assert "Đã lưu giờ yên lặng." in admin.private.last.plain and "Giờ yên lặng: không có." in admin.private.last.plain
    async with db.session() as s:
        assert (await s.get(Cluster, w.scene.cluster_id)).settings[rules.SETTING] == "off"
        audit = await s.scalar(select(AuditLog).where(AuditLog.action == "reminders.quiet"))
        assert audit.details == {"before": "21:00-07:00", "after": "off"}
    await travel_to(tg, w.deadline - dt.timedelta(days=3) + dt.timedelta(minutes=5))  # 22:05
    assert len(w.reminders("C")) == 1  # no quiet hours: at the deadline's own hour
    await admin.send("/reminders 21:30-06:00")  # back on: the 3-day reminder's slot moves to 06:00
    await travel_to(tg, w.deadline.replace(hour=6, minute=5) - dt.timedelta(days=2))
    assert len(w.reminders("C")) == 1  # a moved slot, the same reminder: not sent twice
    # the 1-day one (22:00) moves to 06:00 of the deadline's day, two hours before the morning one
    await travel_to(tg, w.deadline.replace(hour=6, minute=5))
    assert len(w.reminders("C")) == 1
    await travel_to(tg, w.deadline.replace(hour=8, minute=5))
    assert len(w.reminders("C")) == 2


async def test_voting_reminds_the_units_that_have_not_voted_on_an_open_ballot(tg, db):
    from tests.test_ballots import open_flag, vote

    w = await world(tg, db, PhaseKind.VOTING, local_day(4, 17))
    w.chair = w["A"]  # what open_flag needs: the chair, the scene, the database
    ballot_id = await open_flag(w)
    await vote(w["B"], ballot_id, "⬜ Sở Tài chính")
    await travel_to(tg, w.deadline - dt.timedelta(days=3) + dt.timedelta(minutes=5))
    assert w.reminders("B") == []  # voted (by the register): not reminded
    for name in ("A", "C", "C2", "D"):
        assert len(w.reminders(name)) == 1, name
        assert "chưa bỏ phiếu: đề nghị tặng Cờ thi đua" in w.reminders(name)[0], w.reminders(name)
    await w["C"].press("🗳 Mở phiếu bầu")  # the reminder's button opens the paper
    assert "Phiếu bầu của <b>Sở Nội vụ</b>" in w["C"].private.last.text


async def test_remind_now_shows_while_one_unit_is_late_counting_the_year_end_sheet_only(tg, db):
    """The /status button asks whether any active unit is not done (bot.services.status's
    EXISTS): a mid-year sheet, a draft or an inactive unit's sheet leaves a unit late; the
    button goes once every active unit has submitted its year-end sheet."""
    w = await world(tg, db, PhaseKind.SCORING, local_day(10, 17))
    async with db.session() as s:
        s.add_all([ScoreSheet(year_id=w.scene.year_id, unit_id=w.units[0], status=SheetStatus.SUBMITTED),
                   ScoreSheet(year_id=w.scene.year_id, unit_id=w.units[1], status=SheetStatus.VERIFIED),
                   ScoreSheet(year_id=w.scene.year_id, unit_id=w.units[2], status=SheetStatus.SUBMITTED),
                   ScoreSheet(year_id=w.scene.year_id, unit_id=w.units[3], status=SheetStatus.SUBMITTED,
                              round=ScoreRound.MIDYEAR)])  # fmt: skip
        await s.commit()
    chair = w["A"]
    await chair.send("/status")
    assert chair.private.last.buttons == [[REMIND_NOW]]  # unit 4 has only its mid-year sheet
    answer = await chair.press(REMIND_NOW)
    assert answer["text"] == "🔔 Đã nhắc 1 đơn vị trong cuộc trò chuyện riêng."
    assert [len(w.reminders(n)) for n in ("A", "B", "C", "D")] == [0, 0, 0, 1]
    async with db.session() as s:
        s.add(ScoreSheet(year_id=w.scene.year_id, unit_id=w.units[3], status=SheetStatus.DRAFT))
        await s.commit()
    await chair.send("/status")
    assert chair.private.last.buttons == [[REMIND_NOW]]  # a draft is not submitted
    async with db.session() as s:
        await s.execute(update(ScoreSheet).where(ScoreSheet.unit_id == w.units[3], ScoreSheet.round == ScoreRound.YEAREND)
                        .values(status=SheetStatus.SUBMITTED))  # fmt: skip
        await s.commit()
    await chair.send("/status")
    assert not chair.private.last.buttons  # every active unit is done: no button
    async with db.session() as s:
        s.add(Unit(cluster_id=w.scene.cluster_id, name="Sở mới rời cụm", position=99, active=False))
        await s.commit()
    await chair.send("/status")
    assert not chair.private.last.buttons  # an inactive unit is never late


async def test_a_reminder_round_queues_its_messages_in_one_statement(tg, db):
    """Every late unit's representatives in one INSERT (`notify.Batch`), however many units are
    late: a deadline's round at 3,000 units is a handful of statements, not one per person."""
    from tests.test_session_memory import counting

    w = await world(tg, db, PhaseKind.REGISTRATION, local_day(10, 17))
    chair = w["A"]
    await chair.send("/status")
    with counting(db) as statements:
        answer = await chair.press(REMIND_NOW)
    assert answer["text"] == "🔔 Đã nhắc 4 đơn vị trong cuộc trò chuyện riêng."
    inserts = [q for q in statements if q.startswith("INSERT INTO outbox_messages")]
    assert len(inserts) == 1, inserts
    assert [len(w.reminders(n)) for n in ("A", "B", "C", "C2", "D")] == [1, 1, 1, 1, 1]
