"""/phase through the real Application: opening, closing, stepping back, deadlines from buttons
and typed in private, refusals, stale buttons, the group announcements and the DB-backed guard."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.errors import Refusal
from bot.i18n import use_locale
from bot.offline import OfflineTelegram
from bot.services import phases as service
from storage.models import AuditLog, Phase, PhaseKind, ScoringTable
from tests.conftest import BOT_USERNAME, make_app
from tests.support import BOT, add_units, bound_cluster, make_representative, set_chair

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
OPEN_REGISTRATION = "▶️ Mở Đăng ký thi đua"


async def phases_of(db, year_id) -> dict[PhaseKind, Phase]:
    async with db.session() as s:
        return {p.kind: p for p in (await s.scalars(select(Phase).where(Phase.year_id == year_id))).all()}


def announcements(group) -> list[str]:
    """The group's news: every announcement is signed "— <who did it>"."""
    return [t for t in group.texts() if "\n— " in t]


async def open_from_group(scene, label: str = OPEN_REGISTRATION) -> None:
    await scene.admin.send(f"/phase@{BOT}", chat=scene.group)
    await scene.admin.press(label, chat=scene.group)


async def test_the_administrator_opens_registration_from_the_group_and_it_is_announced(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.send(f"/phase@{BOT}", chat=scene.group)
    overview = scene.group.last
    assert "Các giai đoạn của năm thi đua" in overview.plain
    assert "Năm nay chưa mở giai đoạn nào." in overview.plain
    assert "⚪ Tự chấm điểm: chưa mở" in overview.plain
    assert "Asia/Ho_Chi_Minh" in overview.plain
    assert overview.buttons == [[OPEN_REGISTRATION], ["🗓 Đặt hạn chót"]]
    await scene.admin.press(OPEN_REGISTRATION, chat=scene.group)
    assert "🟢 Đăng ký thi đua: mở từ" in scene.group.find(overview.message_id).plain
    assert scene.group.find(overview.message_id).buttons == [
        ["▶️ Mở Ký kết giao ước"], ["⏹ Đóng Đăng ký thi đua"], ["🗓 Đặt hạn chót"],
    ]  # fmt: skip
    news = announcements(scene.group)
    assert len(news) == 1
    assert news[0].startswith("📣 Giai đoạn Đăng ký thi đua đã mở.")
    assert "Chưa đặt hạn chót." in news[0] and "— Quản Trị Viên" in news[0]
    phases = await phases_of(db, scene.year_id)
    assert len(phases) == 7
    assert phases[PhaseKind.REGISTRATION].opened_at is not None
    assert phases[PhaseKind.REGISTRATION].closed_at is None
    async with db.session() as s:
        actions = (await s.scalars(select(AuditLog.action))).all()
    assert "phase.open" in actions


async def test_opening_from_private_announces_in_the_group(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.send("/phase")
    assert scene.admin.private.last.buttons[0] == [OPEN_REGISTRATION]
    await scene.admin.press(OPEN_REGISTRATION)
    assert "🟢 Đăng ký thi đua" in scene.admin.private.last.plain
    assert announcements(scene.group)[-1].startswith("📣 Giai đoạn Đăng ký thi đua đã mở.")
    # one tap moves the year on: signing opens and registration closes
    await scene.admin.press("▶️ Mở Ký kết giao ước")
    news = announcements(scene.group)[-1]
    assert "Giai đoạn Ký kết giao ước đã mở." in news
    assert "Giai đoạn Đăng ký thi đua đã kết thúc." in news
    phases = await phases_of(db, scene.year_id)
    assert phases[PhaseKind.REGISTRATION].closed_at is not None
    assert phases[PhaseKind.SIGNING].closed_at is None


async def test_the_group_language_is_used_for_announcements(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.send(f"/lang@{BOT} en", chat=scene.group)
    await scene.admin.send("/phase")  # the administrator speaks Vietnamese in private
    await scene.admin.press(OPEN_REGISTRATION)
    assert announcements(scene.group)[-1].startswith("📣 Pledge registration is now open.")


async def test_a_deadline_typed_in_private_is_saved_and_announced(tg, db):
    scene = await bound_cluster(tg, db)
    admin = scene.admin
    await admin.send("/phase")
    await admin.press(OPEN_REGISTRATION)
    await admin.press("🗓 Đặt hạn chót")
    menu = admin.private.last
    assert "Hạn chót của giai đoạn Đăng ký thi đua (hiện tại: chưa ấn định)" in menu.plain
    assert menu.buttons[-2:] == [["✍️ Nhập ngày giờ"], ["« Quay lại"]]
    await admin.press("✍️ Nhập ngày giờ")
    assert "Gửi hạn chót của giai đoạn Đăng ký thi đua" in admin.private.last.plain
    assert "/cancel" in admin.private.last.plain
    await admin.send("31/12/2099 17:00")
    assert "Đã lưu: hạn chót của giai đoạn Đăng ký thi đua là 31/12/2099 17:00." in admin.private.last.plain
    assert "hạn chót 31/12/2099 17:00 (còn" in admin.private.last.plain
    assert announcements(scene.group)[-1].startswith(
        "🗓 Hạn chót của giai đoạn Đăng ký thi đua nay là 31/12/2099 17:00."
    )
    phases = await phases_of(db, scene.year_id)
    assert phases[PhaseKind.REGISTRATION].deadline_at == dt.datetime(2099, 12, 31, 10, 0, tzinfo=dt.UTC)
    await admin.send("xin chào")  # no longer waiting
    assert "/help" in admin.private.last.plain


async def test_bad_typed_deadlines_get_clear_answers_and_the_flow_keeps_waiting(tg, db):
    scene = await bound_cluster(tg, db)
    admin = scene.admin
    await admin.send("/phase")
    await admin.press(OPEN_REGISTRATION)
    await admin.press("🗓 Đặt hạn chót")
    await admin.press("✍️ Nhập ngày giờ")
    await admin.send("01/01/2020 17:00")
    assert "Hạn chót 01/01/2020 17:00 đã qua" in admin.private.last.plain
    await admin.send("ngày mai nhé")
    assert "Tôi không đọc được ngày giờ trong “ngày mai nhé”" in admin.private.last.plain
    await admin.send("31/02/2099 17:00")
    assert "31/02/2099 không phải là ngày hợp lệ" in admin.private.last.plain
    await admin.send_sticker()
    assert "Vui lòng gõ ngày giờ bằng tin nhắn văn bản" in admin.private.last.plain
    await admin.send("01/11/2099 08:00 - 15/12/2099 17:00")  # registration is already open
    assert "đã mở từ" in admin.private.last.plain and "chỉ cần gửi hạn chót" in admin.private.last.plain
    assert (await phases_of(db, scene.year_id))[PhaseKind.REGISTRATION].deadline_at is None
    await admin.send("31/12/2099")
    assert "là 31/12/2099 17:00" in admin.private.last.plain
    assert announcements(scene.group)[-1].startswith("🗓 Hạn chót")


async def test_a_phase_not_opened_yet_can_be_planned_and_its_deadline_must_follow_the_opening(tg, db):
    scene = await bound_cluster(tg, db)
    admin = scene.admin
    await admin.send("/phase")
    await admin.press("🗓 Đặt hạn chót")  # nothing open: about registration, the next one
    await admin.press("✍️ Nhập ngày giờ")
    assert "gửi cả hai" in admin.private.last.plain
    await admin.send("15/12/2099 08:00 - 01/11/2099 17:00")
    assert "Hạn chót 01/11/2099 17:00 sớm hơn thời điểm mở giai đoạn (15/12/2099 08:00)" in (
        admin.private.last.plain
    )
    await admin.send("01/11/2099 08:00 - 15/12/2099 17:00")
    assert "Đã lưu" in admin.private.last.plain
    assert "⚪ Đăng ký thi đua: dự kiến 01/11/2099 08:00 – 15/12/2099 17:00" in admin.private.last.plain
    assert "Dự kiến mở: 01/11/2099 08:00." in announcements(scene.group)[-1]
    # opening it early keeps the planned deadline
    await admin.press(OPEN_REGISTRATION)
    assert "Hạn chót: 15/12/2099 17:00." in announcements(scene.group)[-1]


async def test_quick_deadline_buttons_set_five_in_the_afternoon(tg, db):
    scene = await bound_cluster(tg, db)
    await open_from_group(scene)
    await scene.admin.press("🗓 Đặt hạn chót", chat=scene.group)
    menu = scene.group.bot_messages()[-2]  # the overview became the menu; the news came after
    labels = [label for row in menu.buttons for label in row]
    assert [label.split(" · ")[0] for label in labels[:4]] == [
        "Sau 7 ngày", "Sau 14 ngày", "Sau 30 ngày", "Cuối tháng",
    ]  # fmt: skip
    await scene.admin.press(labels[0], chat=scene.group)
    deadline = (await phases_of(db, scene.year_id))[PhaseKind.REGISTRATION].deadline_at
    local = deadline.astimezone(HCM)
    assert (local.hour, local.minute) == (17, 0)
    today = dt.datetime.now(HCM).date()
    assert local.date() == today + dt.timedelta(days=7)
    assert labels[0].endswith(local.strftime("%d/%m/%Y 17:00"))
    assert announcements(scene.group)[-1].startswith("🗓 Hạn chót của giai đoạn Đăng ký thi đua nay là")
    assert "hạn chót" in scene.group.find(menu.message_id).plain  # back to the overview
    assert "✍️ Nhập ngày giờ" not in str(scene.group.find(menu.message_id).buttons)


async def test_typing_a_deadline_in_the_group_is_sent_to_private(tg, db):
    scene = await bound_cluster(tg, db)
    await open_from_group(scene)
    await scene.admin.press("🗓 Đặt hạn chót", chat=scene.group)
    answer = await scene.admin.press("✍️ Nhập ngày giờ", chat=scene.group)
    assert answer["show_alert"] is True
    assert "Trong nhóm, tôi không đọc được" in answer["text"] and "/phase" in answer["text"]
    await scene.admin.press("« Quay lại", chat=scene.group)
    assert "Các giai đoạn của năm thi đua" in scene.group.bot_messages()[-2].plain


async def test_a_representative_cannot_use_the_phase_buttons(tg, db):
    scene = await bound_cluster(tg, db)
    units = await add_units(db, scene.cluster_id)
    rep = await make_representative(tg, db, scene.cluster_id, units[2], "Đại diện Hội Làm vườn", scene.group)
    await scene.admin.send(f"/phase@{BOT}", chat=scene.group)
    answer = await rep.press(OPEN_REGISTRATION, chat=scene.group)
    assert answer["show_alert"] is True
    assert "quản trị cụm hoặc Cụm trưởng" in answer["text"]
    assert (await phases_of(db, scene.year_id)) == {}
    assert announcements(scene.group) == []
    await rep.send("/phase")  # the representative sees the phases, without buttons
    assert "Các giai đoạn của năm thi đua" in rep.private.last.plain
    assert rep.private.last.buttons == []


async def test_the_chair_units_representative_may_open_phases(tg, db):
    scene = await bound_cluster(tg, db)
    units = await add_units(db, scene.cluster_id)
    await set_chair(db, scene.year_id, units[0], units[1])
    chair = await make_representative(tg, db, scene.cluster_id, units[0], "Cụm trưởng An", scene.group)
    vice = await make_representative(tg, db, scene.cluster_id, units[1], "Cụm phó Bình", scene.group)
    await chair.send("/phase")
    assert chair.private.last.buttons == [[OPEN_REGISTRATION], ["🗓 Đặt hạn chót"]]
    await chair.press(OPEN_REGISTRATION)
    assert "— Cụm trưởng An" in announcements(scene.group)[-1]
    await chair.send("/phase")
    assert ["↩️ Quay lại Đăng ký thi đua"] not in chair.private.last.buttons  # the admin's only
    signing = chair.private.last
    await chair.press("▶️ Mở Ký kết giao ước")
    answer = await chair.press_data(f"ph:b:{scene.year_id}:registration", message_id=signing.message_id)
    assert "Chỉ quản trị cụm mới làm được việc này" in answer["text"]
    await vice.send("/phase")
    assert vice.private.last.buttons == []


async def test_a_stale_open_button_pressed_twice_changes_nothing(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.send(f"/phase@{BOT}", chat=scene.group)
    message_id = scene.group.last.message_id
    data = scene.group.last.button_data[0][0]
    await scene.admin.press(OPEN_REGISTRATION, chat=scene.group)
    opened_at = (await phases_of(db, scene.year_id))[PhaseKind.REGISTRATION].opened_at
    answer = await scene.admin.press_data(data, message_id=message_id, chat=scene.group)
    assert answer["show_alert"] is True
    assert "Giai đoạn Đăng ký thi đua đã mở rồi" in answer["text"]
    assert (await phases_of(db, scene.year_id))[PhaseKind.REGISTRATION].opened_at == opened_at
    assert len(announcements(scene.group)) == 1
    # closed since: the first-opening button is out of date, it does not reopen
    await scene.admin.press("⏹ Đóng Đăng ký thi đua", chat=scene.group)
    answer = await scene.admin.press_data(data, message_id=message_id, chat=scene.group)
    assert "Nút này không còn hiệu lực" in answer["text"]
    assert (await phases_of(db, scene.year_id))[PhaseKind.REGISTRATION].closed_at is not None


async def test_closing_and_reopening_the_latest_phase(tg, db):
    scene = await bound_cluster(tg, db)
    await open_from_group(scene)
    overview = scene.group.bot_messages()[-2]  # the pressed message, before the announcement
    await scene.admin.press("⏹ Đóng Đăng ký thi đua", chat=scene.group)
    assert announcements(scene.group)[-1].startswith("⏹ Giai đoạn Đăng ký thi đua đã kết thúc.")
    assert "Hiện không có giai đoạn nào đang mở." in scene.group.find(overview.message_id).plain
    await scene.admin.send(f"/phase@{BOT}", chat=scene.group)
    assert scene.group.last.buttons == [
        ["▶️ Mở Ký kết giao ước"], ["🔁 Mở lại Đăng ký thi đua"], ["🗓 Đặt hạn chót"],
    ]  # fmt: skip
    await scene.admin.press("🔁 Mở lại Đăng ký thi đua", chat=scene.group)
    assert announcements(scene.group)[-1].startswith("📣 Giai đoạn Đăng ký thi đua được mở lại.")
    assert (await phases_of(db, scene.year_id))[PhaseKind.REGISTRATION].closed_at is None


async def test_the_administrator_steps_back_one_phase(tg, db):
    scene = await bound_cluster(tg, db)
    await open_from_group(scene)
    await scene.admin.press("▶️ Mở Ký kết giao ước", chat=scene.group)
    await scene.admin.press("↩️ Quay lại Đăng ký thi đua", chat=scene.group)
    assert announcements(scene.group)[-1].startswith(
        "↩️ Giai đoạn Đăng ký thi đua được mở lại; việc mở giai đoạn Ký kết giao ước đã được huỷ."
    )
    phases = await phases_of(db, scene.year_id)
    assert phases[PhaseKind.REGISTRATION].closed_at is None
    assert phases[PhaseKind.SIGNING].opened_at is None


async def test_opening_scoring_locks_the_scoring_table(tg, db):
    scene = await bound_cluster(tg, db)
    await open_from_group(scene)
    for label in ("▶️ Mở Ký kết giao ước", "▶️ Mở Tự chấm điểm"):
        await scene.admin.press(label, chat=scene.group)
    assert announcements(scene.group)[-1].startswith("📣 Giai đoạn Tự chấm điểm đã mở.")
    async with db.session() as s:
        table = await s.scalar(select(ScoringTable).where(ScoringTable.year_id == scene.year_id))
    assert table is not None and table.locked_at is not None


async def test_the_guard_refuses_outside_the_phase_with_its_dates(tg, db):
    scene = await bound_cluster(tg, db)
    await open_from_group(scene)
    async with db.session() as s:
        view = await service.require_phase(s, scene.year_id, PhaseKind.REGISTRATION)
        assert view.kind == PhaseKind.REGISTRATION
        with use_locale("vi"), pytest.raises(Refusal) as refusal:
            await service.require_phase(s, scene.year_id, PhaseKind.SCORING)
        year, view = await service.require_current_phase(s, scene.cluster_id, PhaseKind.REGISTRATION)
        assert (year.id, view.kind) == (scene.year_id, PhaseKind.REGISTRATION)
    message = refusal.value.message
    assert "Việc này chỉ làm được trong giai đoạn Tự chấm điểm (chưa ấn định – chưa ấn định)" in message
    assert "chưa mở" in message
    assert "Giai đoạn hiện tại: Đăng ký thi đua (chưa đặt hạn chót)." in message


async def test_the_guard_refuses_after_the_deadline(tg, db):
    scene = await bound_cluster(tg, db)
    await open_from_group(scene)
    async with db.session() as s:
        phase = await s.scalar(select(Phase).where(Phase.year_id == scene.year_id, Phase.kind == PhaseKind.REGISTRATION))
        phase.deadline_at = dt.datetime(2099, 12, 31, 10, tzinfo=dt.UTC)
        await s.commit()
    later = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    async with db.session() as s:
        with use_locale("vi"), pytest.raises(Refusal) as refusal:
            await service.require_phase(s, scene.year_id, PhaseKind.REGISTRATION, now=later)
    assert "Hạn chót của giai đoạn Đăng ký thi đua là 31/12/2099 17:00" in refusal.value.message


async def test_a_restart_while_waiting_for_a_typed_deadline_loses_nothing(settings, db):
    first = OfflineTelegram(bot_username=BOT_USERNAME)
    async with first.running(make_app(settings, db, first)):
        scene = await bound_cluster(first, db)
        await scene.admin.send("/phase")
        await scene.admin.press(OPEN_REGISTRATION)
        await scene.admin.press("🗓 Đặt hạn chót")
        await scene.admin.press("✍️ Nhập ngày giờ")
    second = OfflineTelegram(bot_username=BOT_USERNAME)
    async with second.running(make_app(settings, db, second)):
        admin = second.user("Quản Trị Viên", language_code="vi", id=scene.admin.id)
        group = second.group("Cụm kinh tế", admins=[admin], id=scene.group.id)
        await second.add_bot_to_group(group, by=admin)
        await admin.send("31/12/2099 17:00")
        assert "Đã lưu: hạn chót của giai đoạn Đăng ký thi đua là 31/12/2099 17:00." in admin.private.last.plain
        assert announcements(group)[-1].startswith("🗓 Hạn chót của giai đoạn Đăng ký thi đua")
    assert first.errors == second.errors == []
    assert first.rejections == second.rejections == []


@pytest.mark.parametrize(
    "data",
    ["ph:o:999999:registration", "ph:o:{year}:spring", "ph:zz:{year}", "ph:s:{year}:registration:x", "ph"],
)
async def test_broken_or_foreign_phase_buttons_change_nothing(tg, db, data):
    scene = await bound_cluster(tg, db)
    await scene.admin.send(f"/phase@{BOT}", chat=scene.group)
    answer = await scene.admin.press_data(data.format(year=scene.year_id), chat=scene.group)
    assert answer["show_alert"] is True and "Nút này không còn hiệu lực" in answer["text"]
    assert await phases_of(db, scene.year_id) == {}
