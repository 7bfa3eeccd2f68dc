"""/setup: a group administrator binds the group to a new cluster."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import AuditLog, Cluster, ClusterKind, EmulationYear, RoleAssignment
from tests.support import BOT, bound_cluster


async def test_group_admin_sets_up_the_cluster_and_becomes_its_administrator(tg, db):
    scene = await bound_cluster(tg, db, "Cụm thi đua kinh tế")
    text = scene.group.last.text
    assert "Cụm thi đua kinh tế" in text and "/units" in text
    assert scene.group.last.buttons[0] == ["Cụm thi đua", "Khối thi đua"]
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


async def test_second_setup_explains_it_is_already_set_up(tg, db):
    scene = await bound_cluster(tg, db, "Cụm kinh tế")
    await scene.admin.send(f"/setup@{BOT}", chat=scene.group)
    assert "đã được thiết lập" in scene.group.last.text and "Cụm kinh tế" in scene.group.last.text
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
