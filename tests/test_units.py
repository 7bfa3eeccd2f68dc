"""Units: the pasted-list rules (table-driven) and /units through the real Application."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.errors import Refusal
from bot.i18n import use_locale
from bot.units import check_new_names, parse_names, require_new_names
from storage.models import AuditLog, Unit
from tests.support import ECONOMIC_CLUSTER_2024, add_units, bound_cluster, make_representative


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Hội Làm vườn Việt Nam\nHội Sinh vật cảnh Việt Nam", ["Hội Làm vườn Việt Nam", "Hội Sinh vật cảnh Việt Nam"]),
        ("1. Hội A\n2) Hội B\n- Hội C\n• Hội D\n\n   \n", ["Hội A", "Hội B", "Hội C", "Hội D"]),
        ("  Hội   Thuỷ  sản  ", ["Hội Thuỷ sản"]),
        ("2024 Hội mới", ["2024 Hội mới"]),  # a year is not list numbering
        ("", []),
    ],
)
def test_pasted_lists_are_read_one_name_per_line(text, names):
    assert parse_names(text) == names


@pytest.mark.parametrize(
    ("names", "existing", "problem_count"),
    [
        (["Hội A", "Hội B"], [], 0),
        ([], [], 1),  # empty
        (["Hội Thủy sản", "hội thuỷ sản"], [], 1),  # same once diacritics are folded
        (["HỘI LÀM VƯỜN VIỆT NAM"], ["Hội Làm vườn Việt Nam"], 1),
        (["x" * 201], [], 1),
        (["x" * 200], [], 0),
        ([f"Đơn vị {i}" for i in range(201)], [], 1),
        ([f"Đơn vị {i}" for i in range(10)], [f"Cũ {i}" for i in range(190)], 0),
        ([f"Đơn vị {i}" for i in range(11)], [f"Cũ {i}" for i in range(190)], 1),
    ],
)
def test_name_problems_are_all_found(names, existing, problem_count):
    assert len(check_new_names(names, existing)) == problem_count


def test_a_bad_paste_is_refused_whole_with_line_numbers():
    with use_locale("vi"), pytest.raises(Refusal) as caught:
        require_new_names("Hội A\nHội B\nhội a\n" + "y" * 300, [])
    message = caught.value.message
    assert "Không có gì được lưu" in message
    assert "Dòng 3" in message and "Dòng 4" in message


async def test_admin_adds_units_by_pasting_a_list(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.send("/units")
    assert "Chưa có đơn vị nào" in scene.admin.private.last.text
    await scene.admin.press("➕ Thêm đơn vị")
    await scene.admin.send("\n".join(f"{i}. {n}" for i, n in enumerate(ECONOMIC_CLUSTER_2024, 1)))
    assert "Đã thêm 9 đơn vị" in scene.admin.private.last.text
    async with db.session() as s:
        names = (await s.scalars(select(Unit.name).where(Unit.cluster_id == scene.cluster_id).order_by(Unit.position))).all()
        assert list(names) == list(ECONOMIC_CLUSTER_2024)
        assert await s.scalar(select(AuditLog).where(AuditLog.action == "units.add")) is not None
    await scene.admin.send("/units")
    assert "9 đang hoạt động" in scene.admin.private.last.text
    assert "Hội Thuỷ sản Việt Nam" in scene.admin.private.last.text


async def test_duplicate_in_a_paste_saves_nothing_and_keeps_waiting(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, ["Hội Làm vườn Việt Nam"])
    await scene.admin.send("/units")
    await scene.admin.press("➕ Thêm đơn vị")
    await scene.admin.send("Hội Sinh vật cảnh Việt Nam\nHỘI LÀM VƯỜN VIỆT NAM")
    assert "đã có trong danh sách" in scene.admin.private.last.text
    async with db.session() as s:
        assert len((await s.scalars(select(Unit))).all()) == 1
    await scene.admin.send_sticker()  # not text: explained, still waiting
    assert "gửi tên" in scene.admin.private.last.text.lower()
    await scene.admin.send("Hội Sinh vật cảnh Việt Nam")
    assert "Đã thêm 1 đơn vị" in scene.admin.private.last.text


async def test_rename_and_deactivate_keep_history(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, ["Hội A", "Hội B"])
    await scene.admin.send("/units")
    await scene.admin.press("✏️ Đổi tên")
    await scene.admin.press("Hội A")
    await scene.admin.send("Hội A Việt Nam")
    assert "Hội A Việt Nam" in scene.admin.private.last.text
    await scene.admin.send("/units")
    await scene.admin.press("⛔ Ngừng hoạt động")
    await scene.admin.press("Hội B")
    assert "ngừng hoạt động" in scene.admin.private.last.text
    async with db.session() as s:
        unit_b = await s.scalar(select(Unit).where(Unit.name == "Hội B"))
        assert unit_b.active is False
    await scene.admin.press("↩️ Hoàn tác")
    async with db.session() as s:
        assert (await s.scalar(select(Unit).where(Unit.name == "Hội B"))).active is True


async def test_a_representative_sees_units_but_cannot_change_them(tg, db):
    scene = await bound_cluster(tg, db)
    ids = await add_units(db, scene.cluster_id, ["Hội A", "Hội B"])
    rep = await make_representative(tg, db, scene.cluster_id, ids[0], "Đại Diện")
    await rep.send("/units")
    assert "Hội A" in rep.private.last.text
    assert rep.private.last.buttons == []
    # a forged or stale management button is refused in the service layer too
    await rep.press_data(f"u:add:{scene.cluster_id}")
    assert "Chỉ quản trị cụm hoặc thư ký cụm" in tg.callback_answers[-1]["text"]


async def test_long_unit_lists_are_paged_under_telegram_limits(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, [f"Đơn vị số {i} " + "rất dài " * 22 for i in range(120)])
    await scene.admin.send("/units")
    first = scene.admin.private.last
    first_text = first.text
    assert len(first.plain) < 4096
    assert "▶" in first.buttons[0]
    await scene.admin.press("▶")
    assert scene.admin.private.last.message_id == first.message_id  # paged in place
    assert scene.admin.private.last.text.split("\n")[2].startswith("19. Đơn vị số 18 ")
    assert scene.admin.private.last.text != first_text
    shown = scene.admin.private.last.text
    page_label = next(b for b in scene.admin.private.last.buttons[0] if "/" in b)
    await scene.admin.press(page_label)  # the page number only shows where you are
    assert scene.admin.private.last.text == shown and tg.callback_answers[-1]["text"] is None


async def test_units_in_the_group_list_without_management_buttons(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, ["Hội A"])
    await scene.admin.send("/units@ThiDuaBot", chat=scene.group)
    assert "Hội A" in scene.group.last.text
    assert scene.group.last.buttons == []
