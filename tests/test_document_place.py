"""The place (địa danh) before the date of the pledge document: asked at set-up, written on the
.docx, never a guessed "Hà Nội", and final once the signing is concluded."""

from __future__ import annotations

import io

from docx import Document
from sqlalchemy import select

from bot.pledge_document import UNKNOWN_PLACE, document_text
from storage.models import AuditLog, Cluster
from tests.support import BOT, Scene, add_units, bound_cluster, make_representative, set_chair
from tests.test_pledges import OPEN_REGISTRATION, OPEN_SIGNING, SIGN, accepted_pledges, open_phase

PLACE = "📍 Địa danh…"
CONCLUDE = "🏁 Kết thúc ký kết"


def place_line(data: bytes) -> str:
    """The italic line under the national heading: "<place>, ngày … tháng … năm …"."""
    heading = Document(io.BytesIO(data)).tables[0]
    return heading.rows[1].cells[1].text


async def set_place_at_setup(scene: Scene, place: str) -> None:
    await scene.admin.press(PLACE, chat=scene.group, message_id=setup_message(scene).message_id)
    await scene.admin.send(place)


def setup_message(scene: Scene):
    return next(r for r in reversed(scene.group.bot_messages()) if "/units" in (r.text or ""))


async def signed_document(tg, db, scene: Scene) -> bytes:
    """Units, one signed pledge, the signing concluded by the administrator: the group's .docx."""
    units = await add_units(db, scene.cluster_id)
    await set_chair(db, scene.year_id, units[0], units[1])
    rep = await make_representative(tg, db, scene.cluster_id, units[2], "Đại Diện", scene.group)
    await open_phase(scene, OPEN_REGISTRATION)
    await accepted_pledges(db, scene.year_id, [units[2]])
    await open_phase(scene, OPEN_SIGNING)
    await rep.send("/pledge")
    await rep.press(SIGN)
    await scene.admin.send("/pledges")
    await scene.admin.press(CONCLUDE)
    await scene.admin.press(CONCLUDE)
    documents = [r for r in scene.group.bot_messages() if r.kind == "document"]
    assert len(documents) == 1, scene.group.render_transcript()
    return documents[0].document_bytes


async def test_a_place_set_at_set_up_is_written_before_the_date_of_the_document(tg, db):
    scene = await bound_cluster(tg, db, "Cụm thi đua các tỉnh phía Nam")
    answer = await scene.admin.press(PLACE, chat=scene.group)
    assert "nhắn riêng" in answer["text"]
    assert "TP. Hồ Chí Minh" in scene.admin.private.last.text  # the prompt's example
    await scene.admin.send("TP.  Hồ Chí Minh")
    assert "TP. Hồ Chí Minh, ngày" in scene.admin.private.last.text
    shown = setup_message(scene)
    assert "Địa danh trên văn bản giao ước: TP. Hồ Chí Minh" in shown.text and "/units" in shown.text
    data = await signed_document(tg, db, scene)
    assert place_line(data).startswith("TP. Hồ Chí Minh, ngày ")
    assert "Hà Nội" not in document_text(data)
    async with db.session() as s:
        change = await s.scalar(select(AuditLog).where(AuditLog.action == "cluster.pledge_place"))
        assert change.details["before"] is None and change.details["after"] == "TP. Hồ Chí Minh"


async def test_a_cluster_that_set_no_place_gets_a_dotted_line_not_ha_noi(tg, db):
    scene = await bound_cluster(tg, db)
    data = await signed_document(tg, db, scene)
    assert "Hà Nội" not in document_text(data)
    assert place_line(data).startswith(f"{UNKNOWN_PLACE}, ngày ")
    assert "chưa đặt" in setup_message(scene).text
    await scene.admin.send("/pledges")
    await scene.admin.press("⚙️ Địa danh và nội dung chung của văn bản")
    assert "Hà Nội" not in scene.admin.private.last.plain.split("Nội dung chung")[0]


async def test_the_place_is_final_once_the_signing_is_concluded(tg, db):
    scene = await bound_cluster(tg, db)
    await set_place_at_setup(scene, "Đà Nẵng")
    first = setup_message(scene)
    data = await signed_document(tg, db, scene)
    answer = await scene.admin.press(PLACE, chat=scene.group, message_id=first.message_id)
    assert "Không thể đổi địa danh nữa" in answer["text"]
    await scene.admin.send(f"/setup@{BOT}", chat=scene.group)
    assert PLACE not in str(scene.group.last.buttons)
    assert "Không thể đổi địa danh nữa" in scene.group.last.text
    # /pledges' own button says the same: one rule for the place
    await scene.admin.send("/pledges")
    await scene.admin.press("⚙️ Địa danh và nội dung chung của văn bản")
    await scene.admin.press("📍 Đổi địa danh")
    await scene.admin.send("Huế")
    assert "Không thể đổi địa danh nữa" in scene.admin.private.last.text
    async with db.session() as s:
        assert (await s.get(Cluster, scene.cluster_id)).settings["pledge_place"] == "Đà Nẵng"
    await scene.admin.send("/pledges")
    await scene.admin.press("📄 Văn bản giao ước (.docx)")
    again = scene.admin.private.last.document_bytes
    assert place_line(again) == place_line(data) and place_line(again).startswith("Đà Nẵng, ngày ")


async def test_a_place_step_started_before_the_signing_concluded_is_refused_after(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.press(PLACE, chat=scene.group)
    await signed_document(tg, db, scene)
    await scene.admin.send("Cần Thơ")
    assert "Không thể đổi địa danh nữa" in scene.admin.private.last.text
    await scene.admin.send("Cần Thơ")  # the step ended with the refusal
    assert "Tôi làm việc qua các lệnh và nút bấm" in scene.admin.private.last.text
    async with db.session() as s:
        assert "pledge_place" not in (await s.get(Cluster, scene.cluster_id)).settings


async def test_a_place_that_cannot_stand_on_the_document_is_refused_and_the_step_waits(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.press(PLACE, chat=scene.group)
    await scene.admin.send("x" * 101)
    assert "101 ký tự" in scene.admin.private.last.text
    await scene.admin.send("Hu\u200be")
    assert "chỉ gồm chữ" in scene.admin.private.last.text
    await scene.admin.send_sticker()
    assert "Hãy nhập địa danh" in scene.admin.private.last.text
    async with db.session() as s:
        assert "pledge_place" not in (await s.get(Cluster, scene.cluster_id)).settings
    await scene.admin.send("<b>Huế</b> & <i>")  # shown escaped in the group: HTML would be refused
    assert "Địa danh trên văn bản giao ước: <b>Huế</b> & <i>" in setup_message(scene).plain
    async with db.session() as s:
        assert (await s.get(Cluster, scene.cluster_id)).settings["pledge_place"] == "<b>Huế</b> & <i>"
