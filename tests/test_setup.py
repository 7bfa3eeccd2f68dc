"""/setup: a group administrator binds the group to a new cluster; the set-up message keeps its
choices (kind, year, place) and the next steps, and /setup again brings it back to correct them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.models import (
    AuditLog,
    Cluster,
    ClusterKind,
    ConversationState,
    EmulationYear,
    Person,
    RoleAssignment,
)
from storage.people import upsert_person
from tests.support import BOT, Scene, bound_cluster

OTHER_YEAR = "✍️ Năm khác…"
PLACE = "📍 Địa danh…"
NOT_A_YEAR = "Hãy nhập một năm từ 2000 đến"
NOT_ROUTED = "Tôi làm việc qua các lệnh và nút bấm"


async def year_of(db, scene: Scene) -> int:
    async with db.session() as s:
        return (await s.get(EmulationYear, scene.year_id)).year


def next_steps_shown(text: str) -> bool:
    return all(step in text for step in ("/units", "/invite", "/chair", f"/phase@{BOT}"))


async def test_group_admin_sets_up_the_cluster_and_becomes_its_administrator(tg, db):
    scene = await bound_cluster(tg, db, "Cụm thi đua kinh tế")
    text = scene.group.last.text
    assert "Cụm thi đua kinh tế" in text and "/units" in text
    assert scene.group.last.buttons[0] == ["✓ Cụm thi đua", "Khối thi đua"]
    async with db.session() as s:
        roles = (await s.scalars(select(RoleAssignment).where(RoleAssignment.cluster_id == scene.cluster_id))).all()
        assert [(r.role, r.unit_id) for r in roles] == [("admin", None)]
    await scene.admin.send("/start")
    assert "Cụm thi đua kinh tế" in scene.admin.private.last.text
    assert "quản trị cụm" in scene.admin.private.last.text


async def test_kind_button_makes_it_a_khoi(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.press("Khối thi đua", chat=scene.group)
    assert "Khối thi đua" in scene.group.last.text
    async with db.session() as s:
        assert (await s.get(Cluster, scene.cluster_id)).kind == ClusterKind.BLOC


async def test_setup_with_a_name_uses_it(tg, db):
    admin = tg.user("Admin", language_code="vi")
    group = tg.group("Nhóm chat", admins=[admin])
    await tg.add_bot_to_group(group, by=admin)
    await admin.send(f"/setup@{BOT} Khối các đơn vị sự nghiệp", chat=group)
    async with db.session() as s:
        cluster = await s.scalar(select(Cluster).where(Cluster.telegram_chat_id == group.id))
    assert cluster.name == "Khối các đơn vị sự nghiệp"


async def test_non_admin_setup_is_refused_and_nothing_is_created(tg, db):
    admin = tg.user("Admin", language_code="vi")
    member = tg.user("Thành viên", language_code="vi")
    group = tg.group("Cụm", admins=[admin], members=[member])
    await tg.add_bot_to_group(group, by=admin)
    await member.send(f"/setup@{BOT}", chat=group)
    assert "Chỉ quản trị viên của nhóm Telegram" in group.last.text
    async with db.session() as s:
        assert (await s.scalar(select(Cluster).where(Cluster.telegram_chat_id == group.id))) is None


async def test_second_setup_by_someone_else_only_says_it_is_set_up(tg, db):
    scene = await bound_cluster(tg, db, "Cụm kinh tế")
    other_group_admin = tg.user("Quản trị nhóm khác", language_code="vi")  # not the cluster's
    scene.group.admins.append(other_group_admin)
    await other_group_admin.send(f"/setup@{BOT}", chat=scene.group)
    assert "đã được thiết lập" in scene.group.last.text and "Cụm kinh tế" in scene.group.last.text
    assert scene.group.last.buttons == []
    async with db.session() as s:
        assert len((await s.scalars(select(Cluster))).all()) == 1


async def test_setup_in_private_says_where_it_works(tg):
    someone = tg.user("Ai đó", language_code="vi")
    await someone.send("/setup")
    assert f"/setup@{BOT}" in someone.private.last.text


async def test_the_year_can_be_corrected_until_the_first_phase_opens(tg, db):
    scene = await bound_cluster(tg, db)
    async with db.session() as s:
        this_year = (await s.get(EmulationYear, scene.year_id)).year
    setup_message = scene.group.last
    assert setup_message.buttons[1] == [str(this_year - 1), f"✓ {this_year}", str(this_year + 1)]
    assert setup_message.buttons[2] == [OTHER_YEAR, PLACE]
    await scene.admin.press(str(this_year - 1), chat=scene.group)
    assert f"năm thi đua {this_year - 1}" in scene.group.last.text
    async with db.session() as s:
        assert (await s.get(EmulationYear, scene.year_id)).year == this_year - 1
        assert await s.scalar(select(AuditLog).where(AuditLog.action == "year.change")) is not None
    await scene.admin.send("/phase")
    await scene.admin.press("▶️ Mở Đăng ký thi đua")
    await scene.admin.press(str(this_year), message_id=setup_message.message_id, chat=scene.group)
    assert "Không thể đổi năm thi đua" in tg.callback_answers[-1]["text"]
    async with db.session() as s:
        assert (await s.get(EmulationYear, scene.year_id)).year == this_year - 1


async def test_only_the_administrator_changes_the_year(tg, db):
    scene = await bound_cluster(tg, db)
    member = tg.user("Thành viên", language_code="vi")
    scene.group.members.append(member)
    async with db.session() as s:
        this_year = (await s.get(EmulationYear, scene.year_id)).year
    await member.press(str(this_year + 1), chat=scene.group)
    assert "Chỉ quản trị cụm" in tg.callback_answers[-1]["text"]
    async with db.session() as s:
        assert (await s.get(EmulationYear, scene.year_id)).year == this_year


async def test_the_set_up_message_keeps_both_choices_and_the_next_steps_after_any_press(tg, db):
    scene = await bound_cluster(tg, db)
    y = await year_of(db, scene)
    message = scene.group.last
    assert message.buttons == [["✓ Cụm thi đua", "Khối thi đua"], [str(y - 1), f"✓ {y}", str(y + 1)],
                               [OTHER_YEAR, PLACE]]  # fmt: skip
    await scene.admin.press("Khối thi đua", chat=scene.group)
    shown = scene.group.find(message.message_id)
    assert shown.buttons == [["Cụm thi đua", "✓ Khối thi đua"], [str(y - 1), f"✓ {y}", str(y + 1)],
                             [OTHER_YEAR, PLACE]]  # fmt: skip
    assert "là Khối thi đua" in shown.text and next_steps_shown(shown.text)
    await scene.admin.press(str(y + 1), chat=scene.group)
    shown = scene.group.find(message.message_id)
    assert shown.buttons[:2] == [["Cụm thi đua", "✓ Khối thi đua"], [str(y - 1), str(y), f"✓ {y + 1}"]]
    assert f"năm thi đua {y + 1}" in shown.text and next_steps_shown(shown.text)
    await scene.admin.press("Cụm thi đua", chat=scene.group)  # and the kind again, after the year
    shown = scene.group.find(message.message_id)
    assert shown.buttons[:2] == [["✓ Cụm thi đua", "Khối thi đua"], [str(y - 1), str(y), f"✓ {y + 1}"]]
    assert next_steps_shown(shown.text)
    assert len(scene.group.bot_messages()) == 2  # the greeting and the one set-up message
    async with db.session() as s:
        assert (await s.get(Cluster, scene.cluster_id)).kind == ClusterKind.CLUSTER
        assert (await s.get(EmulationYear, scene.year_id)).year == y + 1


async def test_setup_again_shows_the_set_up_message_with_the_current_choices(tg, db):
    scene = await bound_cluster(tg, db, "Cụm kinh tế")
    y = await year_of(db, scene)
    await scene.admin.press("Khối thi đua", chat=scene.group)
    await scene.admin.press(str(y - 1), chat=scene.group)
    await scene.admin.send(f"/setup@{BOT}", chat=scene.group)
    again = scene.group.last
    assert "đã được thiết lập" in again.text and "Cụm kinh tế" in again.text and next_steps_shown(again.text)
    assert again.buttons == [["Cụm thi đua", "✓ Khối thi đua"], [f"✓ {y - 1}", str(y), str(y + 1)],
                             [OTHER_YEAR, PLACE]]  # fmt: skip
    await scene.admin.press(str(y), chat=scene.group, message_id=again.message_id)  # corrected back
    assert await year_of(db, scene) == y
    async with db.session() as s:
        assert len((await s.scalars(select(Cluster))).all()) == 1


async def test_setup_again_after_the_first_phase_opened_no_longer_offers_the_year(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.send("/phase")
    await scene.admin.press("▶️ Mở Đăng ký thi đua")
    await scene.admin.send(f"/setup@{BOT}", chat=scene.group)
    again = scene.group.last
    assert again.buttons == [["✓ Cụm thi đua", "Khối thi đua"], [PLACE]]
    assert "Không thể đổi năm thi đua nữa" in again.text and next_steps_shown(again.text)


async def test_another_year_is_typed_in_private_and_the_set_up_message_follows(tg, db):
    scene = await bound_cluster(tg, db)
    y = await year_of(db, scene)
    message = scene.group.last
    answer = await scene.admin.press(OTHER_YEAR, chat=scene.group)
    assert "nhắn riêng" in answer["text"]
    prompt = scene.admin.private.last.text
    assert "2017" in prompt and f"từ 2000 đến {y + 1}" in prompt
    for bad in ("99999999", "²⁰¹⁷", "２０１７", "hai nghìn không trăm mười bảy", "1999", str(y + 2), "2017-2018",
                "năm 2017 và 2018", "0x7e1", "2017" + " " * 50 + "2017", "<b>2017</b>"):  # fmt: skip
        await scene.admin.send(bad)
        assert NOT_A_YEAR in scene.admin.private.last.text, bad
    await scene.admin.send_sticker()
    assert NOT_A_YEAR in scene.admin.private.last.text
    assert await year_of(db, scene) == y
    await scene.admin.send("Năm 2017")
    assert "năm thi đua 2017" in scene.admin.private.last.text
    assert await year_of(db, scene) == 2017
    shown = scene.group.find(message.message_id)
    assert shown.buttons[1] == ["✓ 2017", str(y - 1), str(y), str(y + 1)]
    assert "Năm thi đua: 2017" in shown.text and next_steps_shown(shown.text)
    async with db.session() as s:
        change = await s.scalar(select(AuditLog).where(AuditLog.action == "year.change"))
        assert change.details["before"] == y and change.details["after"] == 2017
    await scene.admin.send("2018")  # the step is over
    assert NOT_ROUTED in scene.admin.private.last.text
    assert await year_of(db, scene) == 2017


async def test_a_typed_year_is_refused_clearly_once_the_first_phase_opened(tg, db):
    scene = await bound_cluster(tg, db)
    y = await year_of(db, scene)
    setup_message = scene.group.last
    await scene.admin.press(OTHER_YEAR, chat=scene.group)
    await scene.admin.send("/phase")
    await scene.admin.press("▶️ Mở Đăng ký thi đua")
    await scene.admin.send("2017")
    assert "Không thể đổi năm thi đua nữa" in scene.admin.private.last.text
    await scene.admin.send("2016")  # the step ended with the refusal
    assert NOT_ROUTED in scene.admin.private.last.text
    answer = await scene.admin.press(OTHER_YEAR, chat=scene.group, message_id=setup_message.message_id)
    assert "Không thể đổi năm thi đua" in answer["text"]
    assert await year_of(db, scene) == y


async def test_another_year_asks_for_a_private_chat_first(tg, db):
    admin = tg.user("Quản Trị Viên", language_code="vi")  # has never opened the private chat
    group = tg.group("Cụm", admins=[admin])
    await tg.add_bot_to_group(group, by=admin)
    await admin.send(f"/setup@{BOT}", chat=group)
    answer = await admin.press(OTHER_YEAR, chat=group)
    assert "Bắt đầu" in answer["text"] and f"@{BOT}" in answer["text"]
    assert tg.rejections == [("sendMessage", "Forbidden: bot can't initiate conversation with a user")]
    tg.rejections.clear()  # what Telegram answers here, and the bot handled it
    async with db.session() as s:
        assert (await s.scalars(select(ConversationState))).all() == []


@pytest.mark.parametrize("label", [OTHER_YEAR, PLACE])
async def test_only_the_administrator_starts_typing_the_year_or_the_place(tg, db, label):
    scene = await bound_cluster(tg, db)
    member = tg.user("Thành viên", language_code="vi")
    await member.send("/start")
    scene.group.members.append(member)
    answer = await member.press(label, chat=scene.group, message_id=scene.group.last.message_id)
    assert "Chỉ quản trị cụm" in answer["text"]
    assert [r for r in member.private.bot_messages() if "/cancel" in r.text] == []
    async with db.session() as s:
        assert (await s.scalars(select(ConversationState))).all() == []


async def test_a_forged_year_button_is_checked_like_a_typed_year(tg, db):
    scene = await bound_cluster(tg, db)
    y = await year_of(db, scene)
    for forged in ("1999", str(y + 2), "99999", "²⁰¹⁷", "-2017", "02017"):
        await scene.admin.press_data(f"yr:{scene.cluster_id}:{forged}", chat=scene.group)
        assert await year_of(db, scene) == y, forged
    await scene.admin.press_data(f"yr:{scene.cluster_id}:2017", chat=scene.group)  # what typing gives
    assert await year_of(db, scene) == 2017
    other = await bound_cluster(tg, db, "Cụm khác")
    await scene.admin.press_data(f"yr:{other.cluster_id}:2018", chat=scene.group)  # another cluster's
    assert await year_of(db, scene) == 2017 and await year_of(db, other) == y


async def test_a_cluster_administrator_named_later_corrects_it_too(tg, db):
    """Not a Telegram administrator of the group: the cluster role is what counts."""
    scene = await bound_cluster(tg, db)
    helper = tg.user("Trợ lý", language_code="vi")
    await helper.send("/start")
    scene.group.members.append(helper)
    async with db.session() as s:
        person = await upsert_person(s, telegram_user_id=helper.id, full_name="Trợ lý", username=None,
                                     language_code="vi")  # fmt: skip
        s.add(RoleAssignment(cluster_id=scene.cluster_id, person_id=person.id, role="admin"))
        await s.commit()
    await helper.send(f"/setup@{BOT}", chat=scene.group)
    assert scene.group.last.buttons[2] == [OTHER_YEAR, PLACE]
    await helper.press(OTHER_YEAR, chat=scene.group)
    await helper.send("2019")
    assert await year_of(db, scene) == 2019


async def test_a_refused_setup_by_a_stranger_stores_nothing_about_them(tg, db):
    """Telegram is asked who administers the group before the update's transaction opens, so
    the refusal rolls back everything (it used to commit the stranger's record first)."""
    admin = tg.user("Quản Trị Viên", language_code="vi")
    stranger = tg.user("Người Lạ", language_code="vi")
    group = tg.group("Cụm kinh tế", admins=[admin], members=[stranger])
    await tg.add_bot_to_group(group, by=admin)
    async with db.session() as s:
        before = await s.scalar(select(func.count()).select_from(Person))
    await stranger.send(f"/setup@{BOT}", chat=group)
    assert "Chỉ quản trị viên của nhóm Telegram này mới thiết lập được cụm" in group.last.plain
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Person)) == before
        assert await s.scalar(select(Person).where(Person.telegram_user_id == stranger.id)) is None
        assert await s.scalar(select(Cluster).where(Cluster.telegram_chat_id == group.id)) is None


async def test_a_year_asked_of_someone_the_bot_cannot_write_to_leaves_no_step_waiting(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.block()  # the question cannot reach the private chat
    answer = await scene.admin.press(OTHER_YEAR, chat=scene.group)
    assert "bấm Bắt đầu (Start)" in answer["text"]
    tg.rejections.clear()  # Telegram's 403 for the question was the point
    async with db.session() as s:
        assert (await s.scalars(select(ConversationState))).all() == []
    y = await year_of(db, scene)
    await scene.admin.send("2017")  # unblocked later: an unrelated "2017" is not the year
    assert await year_of(db, scene) == y
