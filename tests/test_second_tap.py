"""A second tap on a button whose action was just done (over HTTP the first tap's edit may not
have reached the phone yet, so the old button, with the old version, is tapped again): the
answer is "already done" and the message that confirmed the first tap stays as it is. Only a
real change by someone else meanwhile gets the "someone changed it first" view."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from bot.offline import Record, SimUser
from storage.models import AuditLog, PledgeStatus, SheetStatus
from tests.support import make_representative
from tests.test_pledges import (
    ACCEPT,
    OPEN_SIGNING,
    SIGN,
    STALE,
    SUBMIT,
    accepted_pledges,
    add,
    cast,
    open_phase,
    pledge_of,
    register,
)
from tests.test_scoring import CONFIRM, card, score_all, sheet_values, world
from tests.test_scoring import SUBMIT as SUBMIT_SHEET
from tests.test_verification import NAMES, open_sheet, verification_world

WITHDRAW = "↩️ Rút lại để sửa"


def data_of(message: Record, label: str) -> str:
    """The callback_data of the button labelled `label` on `message`."""
    return next(d for row, datas in zip(message.buttons, message.button_data, strict=True)
                for text, d in zip(row, datas, strict=True) if text == label)  # fmt: skip


async def tap_twice(user: SimUser, message: Record, label: str) -> tuple[str, dict]:
    """Tap `label` on `message`, then its old callback data again, as a phone still showing
    the old keyboard would. Returns the message's text after the first tap and the answer
    to the second."""
    data = data_of(message, label)
    await user.press(label, message_id=message.message_id)
    after_first = user.private.find(message.message_id).plain
    answer = await user.press_data(data, message_id=message.message_id)
    return after_first, answer


async def audit_count(db, action: str) -> int:
    async with db.session() as s:
        return await s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == action))


# ------------------------------------------------------------------------------ pledges


async def test_a_second_tap_on_submit_says_it_is_already_submitted(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await rep.send("/pledge")
    await add(rep, "Tổ chức Hội chợ")
    shown = rep.private.last
    reviews_before = len(c.chair.private.bot_messages())
    confirmed, answer = await tap_twice(rep, shown, SUBMIT)
    assert "Đã gửi." in confirmed
    assert answer["text"] == "Đã gửi rồi.", answer
    after = rep.private.find(shown.message_id)
    assert after.plain == confirmed and STALE not in after.plain  # the confirmation stays
    pledge = await pledge_of(db, c.units[2])
    assert pledge.status == PledgeStatus.SUBMITTED and pledge.version == 3  # created, item, submitted
    assert await audit_count(db, "pledge.submit") == 1
    assert len(c.chair.private.bot_messages()) == reviews_before + 1  # the chair is told once


async def test_a_stale_submit_after_another_representative_submitted_shows_the_change(tg, db):
    c = await cast(tg, db)
    first = c.reps[2]
    second = await make_representative(tg, db, c.scene.cluster_id, c.units[2], "Đại Diện Thứ Hai")
    await first.send("/pledge")
    await add(first, "Tổ chức Hội chợ")
    await second.send("/pledge")
    seen = second.private.last
    await first.press(SUBMIT)
    answer = await second.press(SUBMIT, message_id=seen.message_id)
    assert answer["show_alert"] and "người khác vừa thay đổi" in answer["text"].lower(), answer
    assert "Đã gửi rồi" not in answer["text"]
    assert "đã gửi, chờ Cụm trưởng xem xét" in second.private.find(seen.message_id).plain
    assert await audit_count(db, "pledge.submit") == 1


async def test_a_second_tap_on_withdraw_says_it_is_already_withdrawn(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await register(rep, ("Một", None))
    shown = rep.private.last
    confirmed, answer = await tap_twice(rep, shown, WITHDRAW)
    assert answer["text"] == "Đã rút lại rồi: bản đăng ký đang là bản nháp.", answer
    assert rep.private.find(shown.message_id).plain == confirmed
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.DRAFT
    assert await audit_count(db, "pledge.withdraw") == 1


async def test_a_second_tap_on_accept_says_it_is_already_accepted(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await register(rep, ("Một", None))
    review = c.chair.private.last
    told_before = len(rep.private.bot_messages())
    confirmed, answer = await tap_twice(c.chair, review, ACCEPT)
    assert "Đã chấp nhận" in confirmed
    assert answer["text"] == "Đã chấp nhận rồi.", answer
    assert c.chair.private.find(review.message_id).plain == confirmed
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.ACCEPTED
    assert await audit_count(db, "pledge.accept") == 1
    assert len(rep.private.bot_messages()) == told_before + 1  # the unit is told once


async def test_accept_after_the_unit_withdrew_still_shows_the_change(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await register(rep, ("Một", None))
    review = c.chair.private.last
    await rep.press(WITHDRAW)
    answer = await c.chair.press(ACCEPT, message_id=review.message_id)
    assert answer["show_alert"] and "đã thay đổi" in answer["text"] and "rồi." not in answer["text"]
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.DRAFT


async def test_a_second_tap_on_sign_says_the_unit_has_signed_and_keeps_the_message(tg, db):
    c = await cast(tg, db)
    await accepted_pledges(db, c.scene.year_id, [c.units[2]])
    await open_phase(c.scene, OPEN_SIGNING)
    rep = c.reps[2]
    await rep.send("/pledge")
    shown = rep.private.last
    confirmed, answer = await tap_twice(rep, shown, SIGN)
    assert "Đã ký thay mặt" in confirmed
    assert "Đơn vị của bạn đã ký giao ước rồi (lúc" in answer["text"], answer
    assert rep.private.find(shown.message_id).plain == confirmed
    assert await audit_count(db, "pledge.sign") == 1


# ------------------------------------------------------------------------------ score sheets


async def test_a_second_tap_on_submitting_the_sheet_says_it_is_already_submitted(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await score_all(rep)
    await rep.press(SUBMIT_SHEET)
    asked = rep.private.last
    confirmed, answer = await tap_twice(rep, asked, CONFIRM)
    assert "✅ Đã nộp phiếu." in confirmed
    assert answer["text"] == "Phiếu đã nộp rồi.", answer
    assert rep.private.find(asked.message_id).plain == confirmed
    sheet, _values = await sheet_values(db, w.units[0])
    assert sheet.status == SheetStatus.SUBMITTED
    assert await audit_count(db, "score.submit") == 1


async def test_a_second_tap_on_a_quick_value_says_it_is_saved_and_keeps_the_next_card(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    shown = card(rep)
    other = data_of(shown, "28")  # (the message's keyboard changes with the first tap)
    confirmed, answer = await tap_twice(rep, shown, "30")
    assert "✅ Đã lưu tiêu chí 1.1: 30 điểm." in confirmed and "1.2." in confirmed
    assert answer["text"] == "Đã lưu rồi: tiêu chí 1.1 là 30 điểm.", answer
    assert rep.private.find(shown.message_id).plain == confirmed  # still on 1.2
    # another value on the old card is a change the person did not see: the sheet is shown
    answer = await rep.press_data(other, message_id=shown.message_id)
    assert answer["show_alert"] and "Người khác vừa sửa phiếu này" in answer["text"], answer
    _sheet, values = await sheet_values(db, w.units[0])
    assert values["1.1"][0] == Decimal(30)
    assert await audit_count(db, "score.self") == 1


# ------------------------------------------------------------------------------ verification


async def test_a_second_tap_on_accepting_a_criterion_says_it_is_already_accepted(tg, db):
    w = await verification_world(tg, db)
    chair = w.reps[0]
    await open_sheet(chair, NAMES[3])
    shown = chair.private.last
    confirmed, answer = await tap_twice(chair, shown, "✅ Chấp nhận")
    assert "✅ Đã chấp nhận tiêu chí 1.1." in confirmed
    assert answer["text"] == "Đã chấp nhận rồi.", answer
    assert chair.private.find(shown.message_id).plain == confirmed
    assert await audit_count(db, "verify.accept") == 1


async def test_a_second_tap_on_accepting_the_rest_says_everything_is_verified(tg, db):
    w = await verification_world(tg, db)
    chair = w.reps[0]
    await open_sheet(chair, NAMES[3])
    await chair.press("📊 Tổng điểm của phiếu")
    shown = chair.private.last
    confirmed, answer = await tap_twice(chair, shown, "✅ Chấp nhận tất cả tiêu chí còn lại")
    assert "Đã thẩm định 10/10 tiêu chí." in confirmed
    assert answer["text"] == "Tất cả tiêu chí đã được thẩm định rồi.", answer
    assert chair.private.find(shown.message_id).plain == confirmed
    assert await audit_count(db, "verify.accept_rest") == 1
