"""Pledges through the real Application and the offline harness: registering, the shared draft
and its stale copies, a restart mid-conversation, the chair's review, signing, the group's
signing message, conclusion and the document, amendments, /pledges."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from bot.errors import Refusal
from bot.i18n import use_locale
from bot.offline import OfflineTelegram, SimUser
from bot.pledge_document import NATIONAL_HEADING, document_text
from bot.pledges import Change, ChangeKind
from bot.services import pledges as service
from bot.services.actors import actor_in
from storage.models import (
    AuditLog,
    Phase,
    PhaseKind,
    Pledge,
    PledgeItem,
    PledgeRevision,
    PledgeStatus,
    RoleAssignment,
    Unit,
    utcnow,
)
from storage.people import person_by_telegram_id, upsert_person
from tests.conftest import BOT_USERNAME, make_app
from tests.support import (
    BOT,
    ECONOMIC_CLUSTER_2024,
    Scene,
    add_units,
    bound_cluster,
    make_representative,
    set_chair,
)

OPEN_REGISTRATION = "▶️ Mở Đăng ký thi đua"
OPEN_SIGNING = "▶️ Mở Ký kết giao ước"
ADD = "➕ Thêm cam kết"
EDIT = "✏️ Sửa · xoá · sắp xếp"
NO_TARGET = "➖ Không có chỉ tiêu"
SUBMIT = "📨 Gửi đăng ký"
ACCEPT = "✅ Chấp nhận"
RETURN = "↩️ Trả lại kèm góp ý"
SIGN = "✍️ Đồng ý ký giao ước"
AMEND = "📝 Sửa đổi, bổ sung giao ước"
STALE = "người khác đã thay đổi bản đăng ký này"


@dataclass
class Cast:
    scene: Scene
    units: list[int]
    chair: SimUser  # represents units[0], the chair unit
    reps: dict[int, SimUser]  # unit index -> representative


async def cast(tg, db, rep_units=(2, 3), *, registration: bool = True) -> Cast:
    scene = await bound_cluster(tg, db)
    units = await add_units(db, scene.cluster_id)
    await set_chair(db, scene.year_id, units[0], units[1])
    chair = await make_representative(tg, db, scene.cluster_id, units[0], "Chủ Tịch Cụm", scene.group)
    reps = {0: chair}
    for index in rep_units:
        reps[index] = await make_representative(
            tg, db, scene.cluster_id, units[index], f"Đại Diện {index}", scene.group
        )
    if registration:
        await open_phase(scene, OPEN_REGISTRATION)
    return Cast(scene, units, chair, reps)


async def open_phase(scene: Scene, label: str) -> None:
    await scene.admin.send("/phase")
    await scene.admin.press(label)


async def add(rep: SimUser, text: str, target: str | None = None) -> None:
    await rep.press(ADD)
    await rep.send(text)
    if target is None:
        await rep.press(NO_TARGET)
    else:
        await rep.send(target)


async def register(rep: SimUser, *commitments: tuple[str, str | None]) -> None:
    await rep.send("/pledge")
    for text, target in commitments:
        await add(rep, text, target)
    await rep.press(SUBMIT)


async def pledge_of(db, unit_id: int) -> Pledge | None:
    async with db.session() as s:
        return await s.scalar(select(Pledge).where(Pledge.unit_id == unit_id))


async def items_of(db, unit_id: int) -> list[tuple[str, Decimal | None, str | None]]:
    async with db.session() as s:
        pledge = await s.scalar(select(Pledge).where(Pledge.unit_id == unit_id))
        return [(i.text, i.target_value, i.target_unit) for i in pledge.items]


async def accepted_pledges(db, year_id: int, unit_ids: list[int]) -> None:
    """Accepted pledges written straight to storage (the review has its own tests)."""
    async with db.session() as s:
        for number, unit_id in enumerate(unit_ids, 1):
            s.add(Pledge(year_id=year_id, unit_id=unit_id, status=PledgeStatus.ACCEPTED, items=[
                PledgeItem(position=1, text=f"Cam kết số một của đơn vị {number}"),
                PledgeItem(position=2, text=f"Phát triển hội viên mới {number}",
                           target_value=Decimal(100 * number), target_unit="hội viên"),
            ]))  # fmt: skip
        await s.commit()


# ------------------------------------------------------------------------------ registering


async def test_a_representative_registers_commitments_with_targets_and_the_chair_is_told(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await rep.send("/pledge")
    assert "Chưa có cam kết nào." in rep.private.last.plain
    assert rep.private.last.buttons == [[ADD]]
    await rep.press(ADD)
    assert "Gửi nội dung cam kết 1" in rep.private.last.plain
    await rep.send("Phát triển mới  vườn mẫu,\ntrang trại đạt chuẩn")
    assert "Chỉ tiêu của cam kết 1" in rep.private.last.plain
    await rep.send("1.000 vườn")
    await add(rep, "Tập huấn kỹ thuật canh tác hữu cơ", "2,5 nghìn lượt")
    await add(rep, "Tham gia đầy đủ hoạt động chung của Cụm")
    view = rep.private.last
    assert "1. Phát triển mới vườn mẫu, trang trại đạt chuẩn\n    🎯 Chỉ tiêu: 1.000 vườn" in view.plain
    assert "🎯 Chỉ tiêu: 2,5 nghìn lượt" in view.plain
    assert "3. Tham gia đầy đủ hoạt động chung của Cụm" in view.plain
    assert view.buttons == [[ADD], [EDIT], [SUBMIT]]
    assert await items_of(db, c.units[2]) == [
        ("Phát triển mới vườn mẫu, trang trại đạt chuẩn", Decimal(1000), "vườn"),
        ("Tập huấn kỹ thuật canh tác hữu cơ", Decimal("2.5"), "nghìn lượt"),
        ("Tham gia đầy đủ hoạt động chung của Cụm", None, None),
    ]
    await rep.press(SUBMIT)
    assert "Đã gửi. Cụm trưởng đã được thông báo" in rep.private.last.plain
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.SUBMITTED
    notice = c.chair.private.last
    assert "Đăng ký thi đua năm" in notice.plain and "cần xem xét — Hội Làm vườn Việt Nam" in notice.plain
    assert "1.000 vườn" in notice.plain
    assert notice.buttons == [[ACCEPT, RETURN]]
    assert not any("cần xem xét" in t for t in c.scene.admin.private.texts())  # the chair unit reviews


async def test_registering_outside_the_phase_is_refused(tg, db):
    c = await cast(tg, db, registration=False)
    rep = c.reps[2]
    await rep.send("/pledge")
    assert "chỉ làm được trong giai đoạn Đăng ký thi đua" in rep.private.last.plain
    assert "chưa mở" in rep.private.last.plain
    assert await pledge_of(db, c.units[2]) is None
    await open_phase(c.scene, OPEN_REGISTRATION)
    await rep.send("/pledge")
    await add(rep, "Cam kết đầu tiên")
    await open_phase(c.scene, OPEN_SIGNING)  # registration closes
    answer = await rep.press(ADD)
    assert answer["show_alert"] and "Đăng ký thi đua" in answer["text"] and "đã kết thúc" in answer["text"]
    await rep.send("/pledge")
    assert "Giai đoạn Đăng ký thi đua hiện không mở" in rep.private.last.plain
    assert rep.private.last.buttons == []
    assert await items_of(db, c.units[2]) == [("Cam kết đầu tiên", None, None)]


async def test_a_non_representative_cannot_use_pledge(tg, db):
    c = await cast(tg, db)
    await c.scene.admin.send("/pledge")
    assert "Chỉ đại diện đơn vị mới làm được việc này." in c.scene.admin.private.last.plain
    stranger = tg.user("Người Lạ", language_code="vi")
    await stranger.send("/pledge")
    assert "chưa có vai trò trong cụm thi đua nào" in stranger.private.last.plain
    await c.reps[2].send(f"/pledge@{BOT}", chat=c.scene.group)
    assert "trò chuyện riêng" in c.scene.group.last.plain
    async with db.session() as s:
        assert (await s.scalars(select(Pledge))).all() == []


async def test_empty_and_over_long_text_is_refused_and_the_step_keeps_waiting(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await rep.send("/pledge")
    await rep.press(ADD)
    await rep.send("   ")
    assert "Nội dung không được để trống" in rep.private.last.plain
    await rep.send("x" * 1001)
    assert "dài 1001 ký tự; chỉ được tối đa 1000 ký tự" in rep.private.last.plain
    await rep.send_sticker()
    assert "Vui lòng gửi nội dung cam kết bằng tin nhắn văn bản" in rep.private.last.plain
    await rep.send("y" * 1000)
    await rep.send("1,000 hội viên")
    assert "một nghìn hay là số thập phân" in rep.private.last.plain
    await rep.send("1.000 hội viên")
    assert await items_of(db, c.units[2]) == [("y" * 1000, Decimal(1000), "hội viên")]
    assert len(rep.private.last.plain) <= 4096
    await add(rep, "Giảm <5% chi phí & lãng phí <b>", "10 vụ <vi phạm>")  # markup-like text, as typed
    assert "2. Giảm <5% chi phí & lãng phí <b>\n    🎯 Chỉ tiêu: 10 vụ <vi phạm>" in rep.private.last.plain


async def test_a_long_pledge_pages_and_every_page_fits_a_message(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await rep.send("/pledge")
    for number in range(1, 8):
        await add(rep, f"Cam kết {number}: " + "nội dung dài " * 76, f"{number} lớp")
    message = rep.private.last
    seen = [message.plain]
    assert message.buttons[-1][:1] == ["1/3"]
    while message.buttons[-1][-1] == "▶":
        await rep.press("▶", message_id=message.message_id)
        message = rep.private.find(message.message_id)
        seen.append(message.plain)
    assert len(seen) == 3 and all(len(page) <= 4096 for page in seen)
    assert all(page.count("Đăng ký thi đua năm") == 1 for page in seen)  # the header on every page
    for number in range(1, 8):
        assert sum(f"Cam kết {number}: " in page for page in seen) == 1
    await rep.press("◀", message_id=message.message_id)
    assert rep.private.find(message.message_id).plain == seen[1]


async def test_commitments_are_reworded_retargeted_moved_and_deleted(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await rep.send("/pledge")
    for text in ("Một", "Hai", "Ba"):
        await add(rep, text)
    await rep.press(EDIT)
    assert rep.private.last.buttons[0] == ["1", "2", "3"]
    await rep.press("3")
    await rep.press("⬆️ Lên")
    assert [t for t, *_ in await items_of(db, c.units[2])] == ["Một", "Ba", "Hai"]
    await rep.press(EDIT)
    await rep.press("1")
    await rep.press("✏️ Sửa nội dung")
    assert "Nội dung hiện tại:\nMột" in rep.private.last.plain
    await rep.send("Một, viết lại")
    await rep.press(EDIT)
    await rep.press("1")
    await rep.press("🎯 Chỉ tiêu")
    await rep.send("20 làng nghề")
    await rep.press(EDIT)
    await rep.press("2")
    await rep.press("🗑 Xoá")
    assert "Xoá cam kết 2?" in rep.private.last.plain
    await rep.press("🗑 Đồng ý xoá")
    assert await items_of(db, c.units[2]) == [("Một, viết lại", Decimal(20), "làng nghề"), ("Hai", None, None)]
    assert "Đã lưu: xoá cam kết 2." in rep.private.last.plain


# ------------------------------------------------------------------------------ the shared draft


async def test_a_stale_button_from_yesterdays_preview_is_refused_and_the_current_pledge_shown(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await rep.send("/pledge")
    await add(rep, "Một")
    await rep.send("/pledge")
    yesterday = rep.private.last  # drawn on version 2
    old_submit = next(d for row in yesterday.button_data for d in row if d and d.startswith("pl:sub:"))
    await rep.send("/pledge")
    await add(rep, "Hai")  # version 3
    answer = await rep.press(SUBMIT, message_id=yesterday.message_id)
    assert answer["show_alert"] and "người khác vừa thay đổi bản đăng ký này" in answer["text"].lower()
    shown = rep.private.find(yesterday.message_id)
    assert STALE in shown.plain and "Đây là bản hiện tại" in shown.plain
    assert "2. Hai" in shown.plain
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.DRAFT
    # the message now carries the current version: the same button works
    await rep.press(SUBMIT, message_id=yesterday.message_id)
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.SUBMITTED
    # an older version of the same button, after this person's own submission: already done
    answer = await rep.press_data(old_submit, message_id=yesterday.message_id)
    assert answer["text"] == "Đã gửi rồi."
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.SUBMITTED


async def test_two_representatives_share_one_draft_and_a_stale_save_is_told(tg, db):
    c = await cast(tg, db)
    first = c.reps[2]
    second = await make_representative(tg, db, c.scene.cluster_id, c.units[2], "Đại Diện Thứ Hai")
    await first.send("/pledge")
    await add(first, "Tổ chức Hội chợ")
    await second.send("/pledge")
    assert "1. Tổ chức Hội chợ" in second.private.last.plain  # one shared draft
    # the first starts rewording commitment 1; meanwhile the second adds one
    await first.press(EDIT)
    await first.press("1")
    await first.press("✏️ Sửa nội dung")
    await add(second, "Tập huấn hội viên")
    await first.send("Tổ chức Hội chợ nông sản an toàn")
    reply = first.private.last
    assert "người khác đã thay đổi bản đăng ký này nên thao tác của bạn chưa được lưu" in reply.plain
    assert "Nội dung bạn đã gõ (chưa được lưu):\nTổ chức Hội chợ nông sản an toàn" in reply.plain
    assert "2. Tập huấn hội viên" in reply.plain
    assert [t for t, *_ in await items_of(db, c.units[2])] == ["Tổ chức Hội chợ", "Tập huấn hội viên"]
    await first.send("xin chào")  # the step is over
    assert "/help" in first.private.last.plain
    # on the current version the same save goes through
    await first.press(EDIT)
    await first.press("1")
    await first.press("✏️ Sửa nội dung")
    await first.send("Tổ chức Hội chợ nông sản an toàn")
    assert [t for t, *_ in await items_of(db, c.units[2])] == ["Tổ chức Hội chợ nông sản an toàn", "Tập huấn hội viên"]


async def test_a_race_at_the_database_becomes_a_stale_draft(tg, db):
    c = await cast(tg, db)
    await c.reps[2].send("/pledge")
    await add(c.reps[2], "Một")
    pledge = await pledge_of(db, c.units[2])
    async with db.session() as late:
        person = await person_by_telegram_id(late, c.reps[2].id)
        actor = await actor_in(late, person.id, c.scene.cluster_id)
        stale_copy = await late.get(Pledge, pledge.id)  # read at version 2 ...
        seen = stale_copy.version
        await late.commit()
        async with db.session() as early:  # ... while another update saves version 3
            early_actor = await actor_in(early, person.id, c.scene.cluster_id)
            await service.edit(early, early_actor, pledge.id, stale_copy.version, Change(ChangeKind.ADD, text="Hai"))
            await early.commit()
        item = stale_copy.items[0].id
        with use_locale("vi"), pytest.raises(service.StaleDraft):
            # no savepoint here: the service runs the change in its own, as handlers call it
            await service.edit(late, actor, pledge.id, stale_copy.version,
                               Change(ChangeKind.TEXT, item, text="Một, viết lại"))  # fmt: skip
        if db.is_sqlite:
            # No savepoint on SQLite (storage.db.racing_write): an update reads and writes under
            # one write lock, so this loss needs a session kept across its own commits, which
            # no handler does; it then ends the transaction, and nothing of it is written.
            await late.rollback()
        current = await late.get(Pledge, pledge.id, populate_existing=True)  # the session goes on
        assert current.version == seen + 1 and len(current.items) == 2
    assert [t for t, *_ in await items_of(db, c.units[2])] == ["Một", "Hai"]


async def test_a_restart_in_the_middle_of_the_conversation_keeps_the_draft(settings, db):
    first = OfflineTelegram(bot_username=BOT_USERNAME)
    async with first.running(make_app(settings, db, first)):
        c = await cast(first, db)
        rep = c.reps[2]
        await rep.send("/pledge")
        await add(rep, "Một", "5 lớp")
        await rep.press(ADD)
        await rep.send("Hai, chờ chỉ tiêu")  # the bot now waits for the target
    second = OfflineTelegram(bot_username=BOT_USERNAME)
    async with second.running(make_app(settings, db, second)):
        rep = second.user("Đại Diện 2", language_code="vi", id=rep.id)
        await rep.send("/pledge")
        messages = rep.private.bot_messages()
        assert "1. Một" in messages[-2].plain and "5 lớp" in messages[-2].plain
        assert "Bạn đang nhập dở:" in messages[-1].plain and "Chỉ tiêu của cam kết 2" in messages[-1].plain
        await rep.send("30 hội viên")
        assert "2. Hai, chờ chỉ tiêu\n    🎯 Chỉ tiêu: 30 hội viên" in rep.private.last.plain
    assert first.errors == second.errors == []
    assert first.rejections == second.rejections == []
    assert await items_of(db, c.units[2]) == [("Một", Decimal(5), "lớp"), ("Hai, chờ chỉ tiêu", Decimal(30), "hội viên")]


# ------------------------------------------------------------------------------ the review


async def test_the_chair_returns_with_a_comment_and_the_unit_fixes_and_resubmits(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await register(rep, ("Một", None))
    await c.chair.press(RETURN)
    assert "Gửi góp ý trong một tin nhắn" in c.chair.private.last.plain
    await c.chair.send("   ")
    assert "Nội dung không được để trống" in c.chair.private.last.plain
    await c.chair.send("Đề nghị bổ sung chỉ tiêu cụ thể.")
    assert "Đã trả lại bản đăng ký cho đơn vị kèm góp ý" in c.chair.private.last.plain
    assert "đã được trả lại để chỉnh sửa — Hội Làm vườn Việt Nam" in c.chair.private.last.plain
    assert "cần xem xét" not in c.chair.private.last.plain and c.chair.private.last.buttons == []
    told = rep.private.last
    assert "đã trả lại bản đăng ký" in told.plain and "Góp ý: Đề nghị bổ sung chỉ tiêu cụ thể." in told.plain
    await rep.press("✏️ Sửa bản đăng ký")
    assert "↩️ Góp ý của Cụm trưởng: Đề nghị bổ sung chỉ tiêu cụ thể." in rep.private.last.plain
    await rep.press(EDIT)
    await rep.press("1")
    await rep.press("🎯 Chỉ tiêu")
    await rep.send("10 lớp")
    await rep.press(SUBMIT)
    await c.chair.press(ACCEPT)
    assert "Đã chấp nhận" in c.chair.private.last.plain
    assert "Cụm trưởng đã chấp nhận" in rep.private.last.plain
    pledge = await pledge_of(db, c.units[2])
    assert pledge.status == PledgeStatus.ACCEPTED and pledge.review_comment is None
    async with db.session() as s:
        actions = (await s.scalars(select(AuditLog.action).where(AuditLog.action.like("pledge.%")))).all()
    assert actions == ["pledge.submit", "pledge.return", "pledge.submit", "pledge.accept"]


async def test_a_withdrawn_pledge_makes_the_chairs_buttons_stale(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await register(rep, ("Một", None))
    notice = c.chair.private.last
    await rep.press("↩️ Rút lại để sửa")
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.DRAFT
    answer = await c.chair.press(ACCEPT, message_id=notice.message_id)
    assert answer["show_alert"] and "đã thay đổi" in answer["text"]
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.DRAFT
    assert c.chair.private.find(notice.message_id).buttons == []  # a draft has nothing to review


async def test_a_representative_who_blocked_the_bot_does_not_break_the_review(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await register(rep, ("Một", None))
    await rep.block()
    await c.chair.press(ACCEPT)
    assert "Đã chấp nhận" in c.chair.private.last.plain
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.ACCEPTED
    assert tg.errors == []
    assert tg.rejections == [("sendMessage", "Forbidden: bot was blocked by the user")]
    tg.rejections.clear()  # the one refusal this test is about


async def test_a_representative_cannot_review(tg, db):
    c = await cast(tg, db)
    await register(c.reps[2], ("Một", None))
    data = next(d for row in c.chair.private.last.button_data for d in row if d.startswith("plr:ok:"))
    await c.reps[3].send("/start")
    answer = await c.reps[3].press_data(data, message_id=c.reps[3].private.last.message_id)
    assert answer["show_alert"] and "Cụm trưởng" in answer["text"]
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.SUBMITTED


def data_of(message, label: str) -> str:
    """The callback_data of the button labelled `label` on `message`."""
    return next(d for row, datas in zip(message.buttons, message.button_data, strict=True)
                for text, d in zip(row, datas, strict=True) if text == label)  # fmt: skip


CHAIR_UNIT = ECONOMIC_CLUSTER_2024[0]  # units[0] in `cast`; units[1] is the vice-chair unit


async def test_the_chair_units_own_pledge_goes_to_the_vice_chair_and_never_to_the_chair(tg, db):
    c = await cast(tg, db, rep_units=(1, 2))
    vice = c.reps[1]
    await register(c.reps[2], ("Cam kết của Hội Làm vườn", None))
    other_notice = c.chair.private.last  # an ordinary unit's pledge: the chair reviews it
    await register(c.chair, ("Cam kết của đơn vị Cụm trưởng", None))
    told = [t for t in c.chair.private.texts() if "Đã gửi" in t][-1]
    assert "Cụm phó" in told and "Cụm trưởng đã được thông báo" not in told  # the submitter is told who reviews
    notice = vice.private.last
    assert f"cần xem xét — {CHAIR_UNIT}" in notice.plain and notice.buttons == [[ACCEPT, RETURN]]
    assert not any(f"cần xem xét — {CHAIR_UNIT}" in t for t in c.chair.private.texts())
    assert not any("cần xem xét" in t for t in c.scene.admin.private.texts())
    # the chair cannot accept its own unit's pledge, even with the vice-chair's button data
    answer = await c.chair.press_data(data_of(notice, ACCEPT), message_id=c.chair.private.last.message_id)
    assert answer["show_alert"] and "Cụm phó" in answer["text"]
    assert (await pledge_of(db, c.units[0])).status == PledgeStatus.SUBMITTED
    # /pledges offers each reviewer the pledges they review, and only those
    await c.chair.send("/pledges")
    chair_buttons = [b for row in c.chair.private.last.buttons for b in row if b.startswith("📨")]
    assert chair_buttons == ["📨 Hội Làm vườn Việt Nam"]
    await vice.send("/pledges")
    vice_buttons = [b for row in vice.private.last.buttons for b in row if b.startswith("📨")]
    assert len(vice_buttons) == 1 and vice_buttons[0].startswith("📨 Hiệp hội của Thương binh")
    # the vice-chair reviews the chair unit's pledge and no other
    answer = await vice.press_data(data_of(other_notice, ACCEPT), message_id=vice.private.last.message_id)
    assert answer["show_alert"] and "Cụm trưởng mới làm được" in answer["text"]
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.SUBMITTED
    await vice.press(ACCEPT, message_id=notice.message_id)
    assert (await pledge_of(db, c.units[0])).status == PledgeStatus.ACCEPTED
    assert f"đã được chấp nhận — {CHAIR_UNIT}" in vice.private.find(notice.message_id).plain
    assert "Cụm phó đã chấp nhận bản đăng ký" in c.chair.private.last.plain


async def test_without_a_vice_chair_the_chair_units_pledge_goes_to_the_administrator(tg, db):
    c = await cast(tg, db)
    await set_chair(db, c.scene.year_id, c.units[0], None)
    await register(c.chair, ("Cam kết của đơn vị Cụm trưởng", None))
    admin = c.scene.admin
    assert f"cần xem xét — {CHAIR_UNIT}" in admin.private.last.plain
    assert not any("cần xem xét" in t for t in c.chair.private.texts())
    await admin.press(ACCEPT)
    assert (await pledge_of(db, c.units[0])).status == PledgeStatus.ACCEPTED
    assert "Quản trị cụm đã chấp nhận bản đăng ký" in c.chair.private.last.plain


async def test_an_accepted_pledge_reads_accepted_and_can_no_longer_be_returned(tg, db):
    c = await cast(tg, db)
    await register(c.reps[2], ("Một", None))
    notice = c.chair.private.last
    old_return = data_of(notice, RETURN)
    await c.chair.press(ACCEPT)
    shown = c.chair.private.find(notice.message_id)
    assert "Đăng ký thi đua năm" in shown.plain and "đã được chấp nhận — Hội Làm vườn Việt Nam" in shown.plain
    assert "cần xem xét" not in shown.plain
    assert shown.buttons == []
    pledge = await pledge_of(db, c.units[2])
    current_return = old_return.rsplit(":", 1)[0] + f":{pledge.version}"  # as a forged button would
    answer = await c.chair.press_data(current_return, message_id=notice.message_id)
    assert answer["show_alert"] and "đã được chấp nhận" in answer["text"]
    async with db.session() as s:
        person = await person_by_telegram_id(s, c.chair.id)
        actor = await actor_in(s, person.id, c.scene.cluster_id)
        with use_locale("vi"), pytest.raises(Refusal, match="không có gì cần xem xét"):
            await service.return_pledge(s, actor, pledge.id, pledge.version, "Xin sửa lại")
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.ACCEPTED


# ------------------------------------------------------------------------------ signing


async def test_signing_twice_or_without_acceptance_or_outside_the_phase_is_refused(tg, db):
    c = await cast(tg, db)
    await accepted_pledges(db, c.scene.year_id, [c.units[2]])
    await register(c.reps[3], ("Chưa được chấp nhận", None))
    sign_data = f"pls:s:{c.scene.year_id}"
    await c.scene.admin.send(f"/pledges@{BOT}", chat=c.scene.group)
    answer = await c.reps[2].press_data(sign_data, chat=c.scene.group)
    assert answer["show_alert"] and "Ký kết giao ước" in answer["text"] and "chưa mở" in answer["text"]
    await open_phase(c.scene, OPEN_SIGNING)
    await c.reps[2].send("/pledge")
    await c.reps[2].press(SIGN)
    assert "Đã ký thay mặt Hội Làm vườn Việt Nam" in c.reps[2].private.last.plain
    answer = await c.reps[2].press(SIGN, chat=c.scene.group)
    assert answer["show_alert"] and "Đơn vị của bạn đã ký giao ước rồi (lúc" in answer["text"]
    answer = await c.reps[3].press(SIGN, chat=c.scene.group)
    assert answer["show_alert"] and "Chỉ ký được bản đăng ký đã được chấp nhận" in answer["text"]
    answer = await c.scene.admin.press(SIGN, chat=c.scene.group)
    assert answer["show_alert"] and "Chỉ đại diện đơn vị" in answer["text"]
    pledge = await pledge_of(db, c.units[2])
    assert pledge.status == PledgeStatus.SIGNED and pledge.signed_at is not None
    assert (await pledge_of(db, c.units[3])).status == PledgeStatus.SUBMITTED


async def test_the_group_sees_signatures_in_one_message_that_is_edited(tg, db):
    c = await cast(tg, db, rep_units=(2, 3, 4))
    await accepted_pledges(db, c.scene.year_id, [c.units[i] for i in (0, 2, 3, 4)])
    await open_phase(c.scene, OPEN_SIGNING)
    group = c.scene.group
    boards = [r for r in group.bot_messages() if "Ký kết giao ước thi đua năm" in r.plain]
    assert len(boards) == 1  # posted when the phase opened
    before = len(group.bot_messages())
    await c.reps[2].send("/pledge")
    await c.reps[2].press(SIGN)
    board = group.find(boards[0].message_id)
    assert "Đã ký: 1/9 đơn vị" in board.plain and "✅ 3. Hội Làm vườn Việt Nam —" in board.plain
    assert "⏳ 4. Hội Sinh vật cảnh Việt Nam" in board.plain
    await c.reps[3].press(SIGN, chat=group)
    await c.reps[4].press(SIGN, chat=group)
    assert len(group.bot_messages()) == before  # edited, not a message per signature
    board = group.find(board.message_id)
    assert board.edit_count == 3
    assert "Đã ký: 3/9 đơn vị" in board.plain and "✅ 5. Liên minh Hợp tác xã Việt Nam —" in board.plain
    assert board.buttons == [[SIGN]]


async def test_when_every_unit_signs_the_document_goes_to_the_group_and_the_secretariat(tg, db):
    c = await cast(tg, db, rep_units=())
    secretary = tg.user("Thư Ký Cụm", language_code="vi")
    await secretary.send("/start")
    async with db.session() as s:
        person = await upsert_person(s, telegram_user_id=secretary.id, full_name="Thư Ký Cụm",
                                     username=None, language_code="vi")  # fmt: skip
        s.add(RoleAssignment(cluster_id=c.scene.cluster_id, person_id=person.id, role="secretariat"))
        await s.commit()
    for index in range(1, 9):
        c.reps[index] = await make_representative(
            tg, db, c.scene.cluster_id, c.units[index], f"Đại Diện {index}", c.scene.group
        )
    await accepted_pledges(db, c.scene.year_id, c.units)
    await open_phase(c.scene, OPEN_SIGNING)
    for index in range(9):
        await c.reps[index].send("/pledge")
        await c.reps[index].press(SIGN)
    group = c.scene.group
    documents = [r for r in group.bot_messages() if r.kind == "document"]
    assert len(documents) == 1
    assert documents[0].document_name.endswith(".docx")
    assert "Giao ước thi đua năm" in documents[0].plain and "Đã có 9/9 đơn vị ký." in documents[0].plain
    text = document_text(documents[0].document_bytes)
    assert NATIONAL_HEADING in text and "Độc lập - Tự do - Hạnh phúc" in text
    for number, name in enumerate(ECONOMIC_CLUSTER_2024, 1):
        assert f"{number}. {name}" in text
        assert f"{number}.1. Cam kết số một của đơn vị {number}" in text
        assert f"{number}.2. Phát triển hội viên mới {number} (Chỉ tiêu: {100 * number} hội viên)" in text
        assert f"Đại Diện {number - 1}" in text or number == 1
    assert "Chủ Tịch Cụm" in text and "Chưa ký" not in text
    assert secretary.private.last.kind == "document"
    assert secretary.private.last.document_bytes == documents[0].document_bytes
    board = next(r for r in group.bot_messages() if "giao ước thi đua năm" in r.plain.lower() and r.kind == "text"
                 and "Đã ký: 9/9" in r.plain)  # fmt: skip
    assert "Đã ký kết giao ước thi đua năm" in board.plain and board.buttons == []
    answer = await c.reps[0].press_data(f"pls:s:{c.scene.year_id}", chat=group, message_id=board.message_id)
    assert "đã ký giao ước rồi" in answer["text"]


async def test_the_chair_concludes_signing_early_and_late_signatures_are_refused(tg, db):
    c = await cast(tg, db)
    await accepted_pledges(db, c.scene.year_id, [c.units[0], c.units[2], c.units[3]])
    await open_phase(c.scene, OPEN_SIGNING)
    await c.reps[2].send("/pledge")
    await c.reps[2].press(SIGN)
    await c.reps[3].send("/pledges")
    assert "🏁 Kết thúc ký kết" not in str(c.reps[3].private.last.buttons)
    await c.chair.send("/pledges")
    await c.chair.press("🏁 Kết thúc ký kết")
    assert "đơn vị chưa ký được ghi là chưa ký" in c.chair.private.last.plain
    await c.chair.press("🏁 Kết thúc ký kết")
    assert "Đã kết thúc ký kết: 1/9 đơn vị đã ký" in c.chair.private.last.plain
    async with db.session() as s:
        signing = await s.scalar(select(Phase).where(Phase.year_id == c.scene.year_id, Phase.kind == PhaseKind.SIGNING))
    assert signing.closed_at is not None
    group = c.scene.group
    document = next(r for r in group.bot_messages() if r.kind == "document")
    text = document_text(document.document_bytes)
    assert "Hội Làm vườn Việt Nam" in text and "Chưa ký" in text
    assert any(t.startswith("⏹ Giai đoạn Ký kết giao ước đã kết thúc.") for t in group.texts())
    answer = await c.reps[3].press_data(f"pls:s:{c.scene.year_id}", chat=group)
    assert answer["show_alert"]
    assert (await pledge_of(db, c.units[3])).status == PledgeStatus.ACCEPTED  # never signed for it


async def test_finalize_signing_is_the_idempotent_hook_for_closing_the_phase(tg, db):
    c = await cast(tg, db)
    await accepted_pledges(db, c.scene.year_id, [c.units[2]])
    now = utcnow()
    async with db.session() as s:
        assert await service.finalize_signing(s, c.scene.year_id, now) is None  # nobody signed
    await open_phase(c.scene, OPEN_SIGNING)
    await c.reps[2].send("/pledge")
    await c.reps[2].press(SIGN)
    async with db.session() as s:
        outcome = await service.finalize_signing(s, c.scene.year_id, now)
        assert (outcome.signed, outcome.total, outcome.complete) == (1, 9, False)
        assert await service.finalize_signing(s, c.scene.year_id, now) is None
        await s.commit()
    async with db.session() as s:
        assert await service.finalize_signing(s, c.scene.year_id, now + dt.timedelta(minutes=1)) is None
        concluded = (await s.scalars(select(AuditLog).where(AuditLog.action == "pledge.signing_concluded"))).all()
    assert len(concluded) == 1 and concluded[0].details["signed"] == [c.units[2]]


async def test_a_unit_that_signed_and_then_left_stays_in_the_document_and_in_pledges(tg, db):
    c = await cast(tg, db)
    await accepted_pledges(db, c.scene.year_id, [c.units[2], c.units[3]])
    await open_phase(c.scene, OPEN_SIGNING)
    for index in (2, 3):
        await c.reps[index].send("/pledge")
        await c.reps[index].press(SIGN)
    async with db.session() as s:
        await s.execute(update(Unit).where(Unit.id == c.units[3]).values(active=False))
        await s.commit()
    await c.chair.send("/pledges")
    await c.chair.press("🏁 Kết thúc ký kết")
    await c.chair.press("🏁 Kết thúc ký kết")
    async with db.session() as s:
        concluded = await s.scalar(select(AuditLog).where(AuditLog.action == "pledge.signing_concluded"))
    assert concluded.details["signed"] == sorted([c.units[2], c.units[3]])
    assert concluded.details["not_signed"] == sorted(u for u in c.units if u not in (c.units[2], c.units[3]))
    document = next(r for r in c.scene.group.bot_messages() if r.kind == "document")
    text = document_text(document.document_bytes)
    assert ECONOMIC_CLUSTER_2024[3] in text and "Đại Diện 3" in text
    assert text.count("Chưa ký") == 7  # the eight units still in the cluster, but the one that signed
    await c.reps[2].send("/pledges")
    assert ECONOMIC_CLUSTER_2024[3] in c.reps[2].private.last.plain


# ------------------------------------------------------------------------------ after signing


async def test_an_amendment_keeps_the_signed_version_and_is_announced_with_who_when_why(tg, db):
    c = await cast(tg, db)
    await accepted_pledges(db, c.scene.year_id, [c.units[2]])
    await open_phase(c.scene, OPEN_SIGNING)
    rep = c.reps[2]
    await rep.send("/pledge")
    await rep.press(SIGN)
    await rep.press(AMEND)
    assert "tôi sẽ hỏi lý do" in rep.private.last.plain
    await rep.press(EDIT)
    await rep.press("1")
    await rep.press("✏️ Sửa nội dung")
    await rep.send("Cam kết số một, điều chỉnh")
    assert "Gửi lý do" in rep.private.last.plain
    assert (await items_of(db, c.units[2]))[0][0] == "Cam kết số một của đơn vị 1"  # not yet
    await rep.send("Theo kết luận của Ban Thường vụ")
    assert "Đã lưu: sửa nội dung cam kết 1." in rep.private.last.plain
    assert (await items_of(db, c.units[2]))[0][0] == "Cam kết số một, điều chỉnh"
    news = c.scene.group.last.plain
    assert "Hội Làm vườn Việt Nam sửa đổi, bổ sung giao ước thi đua năm" in news and "(lần 1)" in news
    assert "Lý do: Theo kết luận của Ban Thường vụ" in news and "— Đại Diện 2" in news
    pledge = await pledge_of(db, c.units[2])
    assert pledge.status == PledgeStatus.SIGNED
    async with db.session() as s:
        revision = await s.scalar(select(PledgeRevision).where(PledgeRevision.pledge_id == pledge.id))
        audit = await s.scalar(select(AuditLog).where(AuditLog.action == "pledge.amend"))
        person = await person_by_telegram_id(s, rep.id)
    assert revision.number == 1 and revision.reason == "Theo kết luận của Ban Thường vụ"
    assert revision.snapshot["items"][0]["text"] == "Cam kết số một của đơn vị 1"
    assert revision.by_person_id == person.id and revision.at is not None
    assert audit.actor_person_id == person.id and audit.details["reason"] == "Theo kết luận của Ban Thường vụ"


async def test_pledges_lists_every_unit_and_offers_the_document_once_signed(tg, db):
    c = await cast(tg, db)
    await register(c.reps[3], ("Một", None))
    await c.reps[2].send(f"/pledges@{BOT}", chat=c.scene.group)
    listing = c.scene.group.last.plain
    assert "Đã gửi: 1/9 · đã chấp nhận: 0/9 · đã ký: 0/9" in listing
    assert "⚪ 3. Hội Làm vườn Việt Nam — chưa đăng ký" in listing
    assert "📨 4. Hội Sinh vật cảnh Việt Nam — đã gửi, chờ Cụm trưởng xem xét · 1 cam kết" in listing
    assert c.scene.group.last.buttons == []
    await c.chair.send("/pledges")
    assert ["📨 Hội Sinh vật cảnh Việt Nam"] in c.chair.private.last.buttons
    await c.chair.press("📨 Hội Sinh vật cảnh Việt Nam")
    await c.chair.press(ACCEPT)
    await open_phase(c.scene, OPEN_SIGNING)
    await c.reps[3].send("/pledge")
    await c.reps[3].press(SIGN)
    await c.scene.admin.send("/pledges")
    await c.scene.admin.press("🏁 Kết thúc ký kết")
    await c.scene.admin.press("🏁 Kết thúc ký kết")
    await c.reps[2].send("/pledges")
    await c.reps[2].press("📄 Văn bản giao ước (.docx)")
    document = c.reps[2].private.last
    assert document.kind == "document"
    text = document_text(document.document_bytes)
    assert "4.1. Một" in text and text.count("Chưa ký") == 8


async def test_the_administrator_sets_the_place_and_common_content_of_the_document(tg, db):
    c = await cast(tg, db)
    admin = c.scene.admin
    await admin.send("/pledges")
    await admin.press("⚙️ Địa danh và nội dung chung của văn bản")
    await admin.press("📍 Đổi địa danh")
    await admin.send("Đà Nẵng")
    await admin.press("📄 Đổi nội dung chung")
    await admin.send("Đoàn kết, sáng tạo.\nHoàn thành xuất sắc nhiệm vụ năm.")
    assert "Địa danh ghi trước ngày tháng: Đà Nẵng" in admin.private.last.plain
    await c.reps[2].send("/pledges")
    assert "⚙️" not in str(c.reps[2].private.last.buttons)
    await accepted_pledges(db, c.scene.year_id, [c.units[2]])
    await open_phase(c.scene, OPEN_SIGNING)
    await c.reps[2].send("/pledge")
    await c.reps[2].press(SIGN)
    await admin.send("/pledges")
    await admin.press("🏁 Kết thúc ký kết")
    await admin.press("🏁 Kết thúc ký kết")
    text = document_text(next(r for r in c.scene.group.bot_messages() if r.kind == "document").document_bytes)
    assert "Đà Nẵng, ngày" in text
    assert "Đoàn kết, sáng tạo." in text and "Hoàn thành xuất sắc nhiệm vụ năm." in text


async def test_the_service_refuses_other_units_and_forged_versions(tg, db):
    c = await cast(tg, db)
    await c.reps[2].send("/pledge")
    await add(c.reps[2], "Một")
    pledge = await pledge_of(db, c.units[2])
    async with db.session() as s:
        other = await actor_in(s, (await person_by_telegram_id(s, c.reps[3].id)).id, c.scene.cluster_id)
        owner = await actor_in(s, (await person_by_telegram_id(s, c.reps[2].id)).id, c.scene.cluster_id)
        with use_locale("vi"), pytest.raises(Refusal, match="không phải đại diện của đơn vị này"):
            await service.submit(s, other, pledge.id, pledge.version)
        with use_locale("vi"), pytest.raises(service.StaleDraft):
            await service.submit(s, owner, pledge.id, pledge.version - 1)
        with use_locale("vi"), pytest.raises(Refusal, match="Chỉ .*Cụm trưởng"):
            await service.accept(s, owner, pledge.id, pledge.version)


async def test_a_person_representing_two_units_picks_whose_pledge(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    async with db.session() as s:
        person = await person_by_telegram_id(s, rep.id)
        s.add(RoleAssignment(cluster_id=c.scene.cluster_id, person_id=person.id, role="representative",
                             unit_id=c.units[5]))  # fmt: skip
        await s.commit()
    await rep.send("/pledge")
    assert rep.private.last.buttons == [["Hội Làm vườn Việt Nam"], ["Hiệp hội Làng nghề Việt Nam"]]
    await rep.press("Hiệp hội Làng nghề Việt Nam")
    assert "Đăng ký thi đua năm" in rep.private.last.plain and "Hiệp hội Làng nghề Việt Nam" in rep.private.last.plain
    await add(rep, "Công nhận mới làng nghề", "20 làng nghề")
    assert await items_of(db, c.units[5]) == [("Công nhận mới làng nghề", Decimal(20), "làng nghề")]
    assert await pledge_of(db, c.units[2]) is None


async def test_opening_self_scoring_from_phase_concludes_signing_and_sends_the_document(tg, db):
    c = await cast(tg, db)
    await accepted_pledges(db, c.scene.year_id, [c.units[2]])
    await open_phase(c.scene, OPEN_SIGNING)
    await c.reps[2].send("/pledge")
    await c.reps[2].press(SIGN)
    await open_phase(c.scene, "▶️ Mở Tự chấm điểm")  # /phase moves the year on: signing ends
    documents = [r for r in c.scene.group.bot_messages() if r.kind == "document"]
    assert len(documents) == 1
    assert "Hội Làm vườn Việt Nam" in document_text(documents[0].document_bytes)
    async with db.session() as s:
        concluded = (await s.scalars(select(AuditLog).where(AuditLog.action == "pledge.signing_concluded"))).all()
    assert len(concluded) == 1
