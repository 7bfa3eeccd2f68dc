"""/chair and /members: the year's chair units, and who acts for whom."""

from __future__ import annotations

from sqlalchemy import select

from handlers.keyboards import label
from storage.models import ChairHandover, EmulationYear
from tests.support import ECONOMIC_CLUSTER_2024, add_units, bound_cluster, make_representative


async def test_admin_appoints_chair_and_vice_chair_and_the_group_is_told(tg, db):
    scene = await bound_cluster(tg, db)
    ids = await add_units(db, scene.cluster_id)
    await scene.admin.send("/chair")
    await scene.admin.press("Chọn Cụm trưởng")
    await scene.admin.press(label(ECONOMIC_CLUSTER_2024[0]))
    assert "Cụm trưởng năm" in scene.group.last.text
    await scene.admin.press("Chọn Cụm phó")
    await scene.admin.press("Hội Mỹ nghệ Kim hoàn Đá quý Việt Nam")
    text = scene.admin.private.last.text
    assert "Cụm trưởng: Hiệp hội của Thương binh" in text
    assert "Cụm phó: Hội Mỹ nghệ Kim hoàn Đá quý Việt Nam" in text
    async with db.session() as s:
        year = await s.get(EmulationYear, scene.year_id)
        assert (year.chair_unit_id, year.vice_chair_unit_id) == (ids[0], ids[1])
        assert len((await s.scalars(select(ChairHandover))).all()) == 2
    # the chair unit's representative now acts as the chair
    rep = await make_representative(tg, db, scene.cluster_id, ids[0], "Đại Diện Cụm Trưởng")
    await rep.send("/start")
    assert "(Cụm trưởng)" in rep.private.last.text


async def test_the_same_unit_cannot_be_chair_and_vice_chair(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, ["Hội A", "Hội B"])
    await scene.admin.send("/chair")
    await scene.admin.press("Chọn Cụm trưởng")
    await scene.admin.press("Hội A")
    await scene.admin.press("Chọn Cụm phó")
    await scene.admin.press("Hội A")
    assert "vừa là Cụm trưởng vừa là Cụm phó" in tg.callback_answers[-1]["text"]


async def test_representatives_cannot_appoint_and_see_who_may(tg, db):
    scene = await bound_cluster(tg, db)
    ids = await add_units(db, scene.cluster_id, ["Hội A"])
    rep = await make_representative(tg, db, scene.cluster_id, ids[0], "Đại Diện")
    await rep.send("/chair")
    assert "Chỉ quản trị cụm mới làm được" in rep.private.last.text
    await rep.press_data(f"ch:c:{scene.cluster_id}:{ids[0]}")
    assert "Chỉ quản trị cụm" in tg.callback_answers[-1]["text"]
    async with db.session() as s:
        assert (await s.get(EmulationYear, scene.year_id)).chair_unit_id is None


async def test_members_lists_representatives_per_unit_for_the_admin_only(tg, db):
    scene = await bound_cluster(tg, db)
    ids = await add_units(db, scene.cluster_id)
    rep = await make_representative(tg, db, scene.cluster_id, ids[2], "Trần <Làm Vườn>")
    await scene.admin.send("/members")
    text = scene.admin.private.last.text
    assert "Hội Làm vườn Việt Nam — Trần &lt;Làm Vườn&gt;" in text
    assert text.count("chưa có đại diện") == len(ECONOMIC_CLUSTER_2024) - 1
    await rep.send("/members")
    assert "Chỉ quản trị cụm hoặc thư ký cụm hoặc Cụm trưởng" in rep.private.last.text
    await scene.admin.send("/members@ThiDuaBot", chat=scene.group)
    assert "trò chuyện riêng" in scene.group.last.text


async def test_a_person_in_two_clusters_picks_one_and_the_command_runs(tg, db):
    first = await bound_cluster(tg, db, "Cụm Một")
    second_group = tg.group("Cụm Hai", admins=[first.admin])
    await tg.add_bot_to_group(second_group, by=first.admin)
    await first.admin.send("/setup@ThiDuaBot", chat=second_group)
    await add_units(db, first.cluster_id, ["Đơn vị của cụm một"])
    await first.admin.send("/units")
    assert first.admin.private.last.buttons == [["Cụm Hai"], ["Cụm Một"]]
    await first.admin.press("Cụm Một")
    assert "Đơn vị của cụm một" in first.admin.private.last.text
    await first.admin.send("/units")  # the choice is remembered
    assert "Đơn vị của cụm một" in first.admin.private.last.text
