"""The notices of self-scoring and verification go through the outbox, through the real
Application, the offline harness and a real database: a sheet submitted or reopened, a score
adjusted, an explanation to decide, a decision. Each is queued in the transaction of its
change, keyed by its event, so Telegram's bad days (429s, a blocked representative, a failed
reply) lose nothing, a refusal queues nothing and the same event never queues twice.

On PostgreSQL: `.ci/with-postgres .venv/bin/python -m pytest -q tests/test_scoring_notices.py`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from storage.models import Adjustment, OutboxMessage, OutboxStatus, ScoreSheet, SheetStatus, utcnow
from tests.support import make_representative
from tests.test_outbox import Clock, sender_of
from tests.test_scoring import CONFIRM, NAMES, SUBMIT, fill, score_all, sheet_values, submit, world
from tests.test_verification import ADJUST, open_sheet, verification_world

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

ADJUSTED = "Điểm của đơn vị bạn đã được điều chỉnh"
TO_DECIDE = "⚖️ Giải trình chờ quyết định — Liên minh Hợp tác xã Việt Nam"
DECIDED = "Đã quyết định điểm cuối cùng của tiêu chí 1.1 cho Liên minh Hợp tác xã Việt Nam"
SUBMITTED = "đã nộp phiếu tự chấm điểm của"


async def notices(db, event: str) -> list[OutboxMessage]:
    """The outbox rows of one kind of event (`sheet.submitted`, `verification.decided`, …)."""
    async with db.session() as s:
        rows = await s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"{event}:%"))
                               .order_by(OutboxMessage.id))  # fmt: skip
        return list(rows)


async def outbox_size(db) -> int:
    async with db.session() as s:
        return len((await s.scalars(select(OutboxMessage.id))).all())


def said(user, text: str) -> int:
    return sum(text in t for t in user.private.texts())


async def adjust_1_1(chair, value: str = "25,5", reason: str = "Thiếu quyết định giao chỉ tiêu") -> None:
    """The chair adjusts criterion 1.1 of the third unit's sheet (28 → `value`)."""
    await open_sheet(chair, NAMES[2])
    await chair.press(ADJUST)
    await chair.send(value)
    await chair.send(reason)
    assert "✏️ Đã điều chỉnh tiêu chí 1.1" in chair.private.last.plain, chair.private.last.plain


async def explain_1_1(rep, text: str = "Quyết định số 12/QĐ đã gửi kèm minh chứng.") -> None:
    told = next(m for m in reversed(rep.private.bot_messages()) if ADJUSTED in m.plain)
    await rep.press("💬 Giải trình", message_id=told.message_id)
    await rep.send(text)
    assert "Đã gửi giải trình về tiêu chí 1.1" in rep.private.last.plain, rep.private.last.plain


def dispute_card(chair):
    return next(m for m in reversed(chair.private.bot_messages()) if TO_DECIDE in m.plain)


# ------------------------------------------------------------------------------ Telegram's bad days


async def test_an_adjustment_notice_refused_three_times_with_429_is_delivered_once_later(tg, db):
    w = await verification_world(tg, db)
    chair, rep = w.reps[0], w.reps[2]
    clock = Clock(utcnow() + timedelta(minutes=1))  # ahead of the rows the handlers queue: they are due
    sender = await sender_of(tg, clock)
    tg.fail_next("sendMessage", "retry_after", times=3, chat_id=rep.id, retry_after=30)
    await adjust_1_1(chair)  # the commit wakes the sender: the first 429
    for attempt in range(1, 4):
        [row] = await notices(db, "verification.adjusted")
        assert (row.chat_id, row.status, row.attempts) == (rep.id, OutboxStatus.PENDING, attempt)
        assert row.not_before == clock.now + timedelta(seconds=30)
        assert said(rep, ADJUSTED) == 0
        await sender.run()  # not due yet: nothing is tried
        assert [e for _, e in tg.injected].count("retry_after") == attempt
        clock.move(seconds=30)
        await sender.run()
    [row] = await notices(db, "verification.adjusted")
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 4)
    assert said(rep, ADJUSTED) == 1
    told = rep.private.last
    assert "Điểm tự chấm: 28 → điểm thẩm định: 25,5" in told.plain and told.buttons == [["💬 Giải trình"]]
    clock.move(hours=1)
    await sender.run()
    assert said(rep, ADJUSTED) == 1  # delivered once
    await explain_1_1(rep)  # the button of the late notice works
    assert TO_DECIDE in chair.private.last.plain


async def test_a_blocked_representative_does_not_keep_the_decision_from_anyone_else(tg, db):
    w = await verification_world(tg, db)
    chair, rep = w.reps[0], w.reps[2]
    chair_b = await make_representative(tg, db, w.scene.cluster_id, w.units[0], "Đại diện 1b")
    rep_b = await make_representative(tg, db, w.scene.cluster_id, w.units[2], "Đại diện 3b")
    await rep.block()
    await adjust_1_1(chair)
    assert said(rep_b, ADJUSTED) == 1 and said(rep, ADJUSTED) == 0
    await explain_1_1(rep_b)
    assert TO_DECIDE in chair.private.last.plain and TO_DECIDE in chair_b.private.last.plain
    await chair.press("Theo điểm tự chấm: 28", message_id=dispute_card(chair).message_id)
    assert "⚖️ Quyết định: 28" in chair.private.last.plain
    # the unit's other representative and the verifying unit's other representative are told
    assert said(rep_b, DECIDED) == 1 and said(chair_b, DECIDED) == 1
    assert said(chair, DECIDED) == 0  # who decided sees the reply, not a notice
    decided = {r.chat_id: r.status for r in await notices(db, "verification.decided")}
    assert decided == {rep.id: OutboxStatus.UNREACHABLE, rep_b.id: OutboxStatus.SENT, chair_b.id: OutboxStatus.SENT}
    told = [t for t in w.admin.private.texts() if "Đại diện 3 " in t or "Đại diện 3 (" in t]
    assert len(told) == 1, w.admin.private.texts()  # the administrator is told once, not per notice
    assert (await sheet_values(db, w.units[2]))[1]["1.1"][2] == Decimal(28)
    assert tg.rejections and all("blocked" in d for _, d in tg.rejections)
    tg.rejections.clear()  # the blocked representative's 403s were the point


async def test_a_failed_reply_to_the_decider_still_tells_both_units(tg, db):
    w = await verification_world(tg, db)
    chair, rep = w.reps[0], w.reps[2]
    chair_b = await make_representative(tg, db, w.scene.cluster_id, w.units[0], "Đại diện 1b")
    await adjust_1_1(chair)
    await explain_1_1(rep)
    card = dispute_card(chair)
    tg.fail_next("editMessageText", "network", chat_id=chair.id)
    await chair.press("Giữ điểm thẩm định: 25,5", message_id=card.message_id)
    assert ("editMessageText", "network") in tg.injected
    assert "⚖️ Quyết định" not in chair.private.find(card.message_id).plain  # the reply was lost
    assert said(rep, DECIDED) == 1 and said(chair_b, DECIDED) == 1
    rows = await notices(db, "verification.decided")
    assert {r.chat_id for r in rows} == {rep.id, chair_b.id} and all(r.status is OutboxStatus.SENT for r in rows)
    assert (await sheet_values(db, w.units[2]))[1]["1.1"][2] == Decimal("25.5")


async def test_a_failed_reply_to_the_submitter_still_tells_the_units_other_representative(tg, db):
    w = await world(tg, db, extra_reps=1)
    rep, other = w.reps[0], w.reps[4]  # both represent the first unit
    await rep.send("/score")
    await score_all(rep)
    await rep.press(SUBMIT)
    tg.fail_next("editMessageText", "timeout", chat_id=rep.id)
    await rep.press(CONFIRM)
    assert (await sheet_values(db, w.units[0]))[0].status == SheetStatus.SUBMITTED
    assert said(other, "Đại diện 1 đã nộp phiếu tự chấm điểm của Hội Làm vườn Việt Nam: 105 điểm.") == 1
    assert said(rep, SUBMITTED) == 0
    [row] = await notices(db, "sheet.submitted")
    assert (row.chat_id, row.status) == (other.id, OutboxStatus.SENT)


# ------------------------------------------------------------------------------ refusals say nothing


async def test_refused_sheet_actions_queue_no_notice(tg, db):
    w = await world(tg, db, extra_reps=1)
    rep = w.reps[0]
    await rep.send("/score")
    await rep.press("30")
    before = await outbox_size(db)
    async with db.session() as s:
        sheet = await s.scalar(select(ScoreSheet).where(ScoreSheet.unit_id == w.units[0]))
    await rep.press_data(f"sc:P:{sheet.id}:{sheet.version}")  # submitting with 9 criteria missing
    assert "Còn 9 tiêu chí chưa chấm" in tg.callback_answers[-1]["text"]
    other_sheet = await fill(db, w.scene.year_id, w.units[2])
    async with db.session() as s:
        version = (await s.get(ScoreSheet, other_sheet)).version
    outsider = w.reps[3]  # not the chair unit's
    await outsider.press_data(f"ss:r:{other_sheet}:{version}")  # a representative reopening a sheet
    assert "Chỉ quản trị cụm hoặc Cụm trưởng mới làm được" in tg.callback_answers[-1]["text"]
    assert await outbox_size(db) == before
    assert await notices(db, "sheet.") == []
    await w.reps[0].press_data(f"ss:r:{other_sheet}:{version}")  # the chair may: now it is told
    assert [r.chat_id for r in await notices(db, "sheet.reopened")] == [w.reps[2].id]


async def test_refused_verification_actions_queue_no_notice(tg, db):
    w = await verification_world(tg, db)
    chair, rep = w.reps[0], w.reps[2]
    await adjust_1_1(chair)
    await explain_1_1(rep)
    before = await outbox_size(db)
    async with db.session() as s:
        adjustment = await s.scalar(select(Adjustment))
    await rep.press_data(f"vf:k:{adjustment.id}:28")  # the unit deciding its own dispute
    assert "Cụm trưởng" in tg.callback_answers[-1]["text"]
    await rep.press_data(f"vf:x:{adjustment.id}")  # explaining a second time
    assert "mỗi điều chỉnh chỉ được giải trình một lần" in tg.callback_answers[-1]["text"]
    await w.reps[3].send("/verify")  # a unit that verifies nothing adjusting by a forged button
    async with db.session() as s:
        sheet = await s.scalar(select(ScoreSheet).where(ScoreSheet.unit_id == w.units[2]))
    await w.reps[3].press_data(f"vf:j:{sheet.id}:{sheet.version}:2")
    assert tg.callback_answers[-1]["show_alert"]
    assert await outbox_size(db) == before
    assert len(await notices(db, "verification.explained")) == 1
    assert await notices(db, "verification.decided") == []


# ------------------------------------------------------------------------------ one event, one notice


async def test_a_submission_tapped_twice_delivered_twice_and_redelivered_queues_one_notice(tg, db):
    w = await world(tg, db, extra_reps=1)
    rep, other = w.reps[0], w.reps[4]
    await rep.send("/score")
    await score_all(rep)
    await rep.press(SUBMIT)
    asked = rep.private.last
    data = asked.button_data[0][0]
    await rep.press(CONFIRM, copies=2)  # the same update twice at the same instant
    await tg.redeliver()  # and once more later, as after a lost confirmation
    await rep.press_data(data, message_id=asked.message_id)  # a second tap
    assert tg.callback_answers[-1]["text"] == "Phiếu đã nộp rồi."
    assert [r.chat_id for r in await notices(db, "sheet.submitted")] == [other.id]
    assert said(other, SUBMITTED) == 1
    # a new submission after the chair reopened the sheet is a new event
    admin = w.admin
    await admin.send("/scores")
    await admin.press("🔎 Phiếu từng đơn vị")
    await admin.press(NAMES[0])
    await admin.press("🔓 Mở lại phiếu này", copies=2)
    assert len(await notices(db, "sheet.reopened")) == 2  # both representatives, once each
    assert said(rep, "đã mở lại phiếu tự chấm điểm") == 1 and said(other, "đã mở lại phiếu tự chấm điểm") == 1
    await rep.send("/score")
    await submit(rep)
    assert said(other, SUBMITTED) == 2
    assert len(await notices(db, "sheet.submitted")) == 2


async def test_a_decision_delivered_twice_at_once_and_tapped_again_queues_one_notice(tg, db):
    w = await verification_world(tg, db)
    chair, rep = w.reps[0], w.reps[2]
    await adjust_1_1(chair)
    await tg.redeliver()  # the typed reason again: dropped
    assert len(await notices(db, "verification.adjusted")) == 1 and said(rep, ADJUSTED) == 1
    await explain_1_1(rep)
    card = dispute_card(chair)
    keep = card.button_data[0][0]
    await chair.press("Giữ điểm thẩm định: 25,5", message_id=card.message_id, copies=2)
    await chair.press_data(keep, message_id=card.message_id)
    assert "Giải trình này đã có quyết định." in tg.callback_answers[-1]["text"]
    assert [r.chat_id for r in await notices(db, "verification.decided")] == [rep.id]
    assert said(rep, DECIDED) == 1
    async with db.session() as s:
        assert (await s.scalar(select(Adjustment))).decided_value == Decimal("25.5")
