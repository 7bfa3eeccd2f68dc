"""/verify through the real Application: who verifies which sheet (chair mode, cross-checking),
accepting, adjusting with a mandatory reason, the unit told and explaining once, the chair
deciding, evidence sent back by file id, and the refusals: one's own unit, a sheet assigned to
another unit, a stale keyboard, a blocked representative, outside the phase."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from bot import rotation
from bot.errors import Refusal
from bot.i18n import use_locale
from bot.services import verification as service
from storage.models import (
    Adjustment,
    Cluster,
    EmulationYear,
    Evidence,
    PhaseKind,
    ScoreEntry,
    ScoreSheet,
    SheetStatus,
)
from tests.support import make_representative
from tests.test_scoring import NAMES, World, actor_of, fill, open_until, sheet_values, world

ACCEPT, ADJUST = "✅ Chấp nhận", "✏️ Điều chỉnh"


async def verification_world(tg, db, mode: str = rotation.CHAIR, names=NAMES, self_scores=None) -> World:
    """Every unit has submitted (all maxima; 1.1 = 28 for the third unit); verification open."""
    w = await world(tg, db, names=names, upto=PhaseKind.SCORING)
    for i, unit in enumerate(w.units):
        values = (self_scores or {}).get(i, {"1.1": Decimal(28)} if i == 2 else {})
        await fill(db, w.scene.year_id, unit, values)
    if mode != rotation.CHAIR:
        async with db.session() as s:
            cluster = await s.get(Cluster, w.scene.cluster_id)
            cluster.settings = {**(cluster.settings or {}), rotation.SETTING: mode}
            await s.commit()
    await open_until(db, w.scene, PhaseKind.VERIFICATION)
    return w


def buttons(rec) -> list[str]:
    return [b for row in rec.buttons for b in row]


async def open_sheet(user, unit_name: str) -> None:
    await user.send("/verify")
    await user.press(next(b for b in buttons(user.private.last) if unit_name in b))


# ------------------------------------------------------------------------------ chair mode


async def test_the_chair_verifies_every_sheet_but_its_own_which_the_vice_chair_verifies(tg, db):
    w = await verification_world(tg, db)
    chair, vice = w.reps[0], w.reps[1]
    await chair.send("/verify")
    listing = chair.private.last
    assert "Hình thức thẩm định: Cụm trưởng thẩm định." in listing.plain
    assert "Số phiếu đơn vị bạn thẩm định: 3." in listing.plain
    assert buttons(listing) == [f"⏳ 0/10 · {n}" for n in NAMES[1:]]
    await vice.send("/verify")
    assert buttons(vice.private.last) == [f"⏳ 0/10 · {NAMES[0]}"]
    await w.reps[2].send("/verify")
    assert "Chưa có phiếu đã nộp nào được giao cho đơn vị bạn." in w.reps[2].private.last.plain
    async with db.session() as s:
        assigned = {sh.unit_id: sh.verifier_unit_id for sh in (await s.scalars(select(ScoreSheet))).all()}
    assert assigned == {w.units[0]: w.units[1], w.units[1]: w.units[0], w.units[2]: w.units[0], w.units[3]: w.units[0]}


async def test_a_press_on_an_assigned_sheet_does_not_look_for_unassigned_ones(tg, db):
    """Statement count (issue 13 item 5): a sheet that has its verifier needs no look at the
    others; a sheet without one still gets it at the first press on it."""
    from tests.test_session_memory import counting

    w = await verification_world(tg, db)
    chair = w.reps[0]
    await chair.send("/verify")  # assigns every sheet
    listing = chair.private.last
    labels = [b for row in listing.buttons for b in row]
    data = [d for row in listing.button_data for d in row]
    async with db.session() as s:
        later = await s.scalar(select(ScoreSheet).where(ScoreSheet.unit_id == w.units[2]))
        later.verifier_unit_id = None  # as after a change of mode: assigned again on first use
        await s.commit()
    with counting(db) as statements:
        await chair.press(f"⏳ 0/10 · {NAMES[3]}", message_id=listing.message_id)
    assert f"🔎 Thẩm định — {NAMES[3]}" in chair.private.last.plain
    assert not [q for q in statements if "verifier_unit_id IS NULL" in q], statements
    await chair.press_data(data[labels.index(f"⏳ 0/10 · {NAMES[2]}")], message_id=listing.message_id)
    assert f"🔎 Thẩm định — {NAMES[2]}" in chair.private.last.plain
    async with db.session() as s:
        assert (await s.get(ScoreSheet, later.id)).verifier_unit_id == w.units[0]


async def test_accept_adjust_explain_and_decide(tg, db):
    w = await verification_world(tg, db)
    chair, rep = w.reps[0], w.reps[2]
    await rep.send("/start")
    await open_sheet(chair, NAMES[2])
    card = chair.private.last
    assert "🔎 Thẩm định — Liên minh Hợp tác xã Việt Nam (đã thẩm định 0/10 tiêu chí)" in card.plain
    assert "Điểm đơn vị tự chấm: 28" in card.plain and "Thẩm định: chưa thẩm định" in card.plain
    assert buttons(card)[:2] == [ACCEPT, ADJUST]
    await chair.press(ADJUST)
    assert "Hãy gõ điểm thẩm định của tiêu chí 1.1" in chair.private.last.plain
    for bad, said in (("abc", "không phải là số"), ("31", "vượt quá điểm tối đa"), ("28", "chính là điểm đơn vị tự chấm")):
        await chair.send(bad)
        assert said in chair.private.last.plain, bad
    await chair.send("25,5")
    assert "Bây giờ hãy gõ lý do điều chỉnh tiêu chí 1.1 từ 28 thành 25,5" in chair.private.last.plain
    await chair.send("   ")
    assert "Điều chỉnh điểm phải có lý do" in chair.private.last.plain
    await chair.send_sticker()
    assert "Hãy gửi lý do bằng tin nhắn văn bản" in chair.private.last.plain
    await chair.send("Thiếu quyết định giao chỉ tiêu năm 2024")
    text = chair.private.last.plain
    assert "✏️ Đã điều chỉnh tiêu chí 1.1: 28 → 25,5. Đã báo cho đơn vị." in text and "1.2. Đổi mới" in text
    told = rep.private.last
    assert "Điểm của đơn vị bạn đã được điều chỉnh" in told.plain
    assert "Điểm tự chấm: 28 → điểm thẩm định: 25,5" in told.plain
    assert "Lý do: Thiếu quyết định giao chỉ tiêu năm 2024" in told.plain
    assert "Đơn vị thẩm định: Hội Làm vườn Việt Nam" in told.plain
    await chair.press(ACCEPT)  # 1.2 accepted, moves to 2.1
    assert "✅ Đã chấp nhận tiêu chí 1.2." in chair.private.last.plain
    # the unit explains, once
    await rep.press("💬 Giải trình", message_id=told.message_id)
    assert "Hãy gõ nội dung giải trình của đơn vị" in rep.private.last.plain
    await rep.send_voice()
    assert "Hãy gửi nội dung giải trình bằng tin nhắn văn bản" in rep.private.last.plain
    await rep.send("Quyết định số 12/QĐ ngày 15/01/2024 đã gửi kèm minh chứng.")
    assert "Đã gửi giải trình về tiêu chí 1.1 tới Cụm trưởng" in rep.private.last.plain
    await rep.press("💬 Giải trình", message_id=told.message_id)
    assert "mỗi điều chỉnh chỉ được giải trình một lần" in tg.callback_answers[-1]["text"]
    dispute = chair.private.last
    assert "⚖️ Giải trình chờ quyết định — Liên minh Hợp tác xã Việt Nam" in dispute.plain
    assert "💬 Giải trình: Quyết định số 12/QĐ" in dispute.plain
    assert buttons(dispute) == ["Giữ điểm thẩm định: 25,5", "Theo điểm tự chấm: 28", "✍️ Mức điểm khác"]
    keep = dispute.button_data[0][0]
    await chair.press("✍️ Mức điểm khác")
    await chair.send("27")
    assert "⚖️ Quyết định: 27" in chair.private.last.plain
    assert "Đã quyết định điểm cuối cùng của tiêu chí 1.1 cho Liên minh Hợp tác xã Việt Nam: 27" in rep.private.last.plain
    await chair.press_data(keep, message_id=dispute.message_id)  # a second decision
    assert "Giải trình này đã có quyết định." in tg.callback_answers[-1]["text"]
    _sheet, values = await sheet_values(db, w.units[2])
    assert values["1.1"][:3] == (Decimal(28), Decimal("25.5"), Decimal(27))
    assert values["1.2"][:3] == (Decimal(10), Decimal(10), None)
    async with db.session() as s:
        adjustment = await s.scalar(select(Adjustment))
    assert (adjustment.from_value, adjustment.to_value, adjustment.decided_value) == (28, Decimal("25.5"), 27)
    assert adjustment.explanation.startswith("Quyết định số 12/QĐ") and adjustment.explained_at is not None
    # the unit sees its sheet and the dispute in /scores
    await rep.send("/scores")
    mine = rep.private.last.plain
    assert "1.1: 28 → 25,5 → 27 / 30" in mine and "⚖️ Quyết định: 27" in mine
    assert "Tổng: tự chấm 98 · thẩm định 95,5 · cuối cùng 97" in mine


async def test_accepting_the_rest_verifies_the_sheet(tg, db):
    w = await verification_world(tg, db)
    chair = w.reps[0]
    await open_sheet(chair, NAMES[3])
    await chair.press(ACCEPT)
    await chair.press("📊 Tổng điểm của phiếu")
    await chair.press("✅ Chấp nhận tất cả tiêu chí còn lại")
    text = chair.private.last.plain
    assert "✅ Đã chấp nhận thêm 9 tiêu chí." in text and "Đã thẩm định 10/10 tiêu chí." in text
    assert "Tổng (cuối cùng): 100" in text
    sheet, values = await sheet_values(db, w.units[3])
    assert sheet.status == SheetStatus.VERIFIED and sheet.verified_at is not None
    assert all(v[1] == v[0] for v in values.values())
    await chair.send("/verify")
    assert f"✅ 10/10 · {NAMES[3]}" in buttons(chair.private.last)


async def test_the_verifier_gets_the_evidence_back_by_file_id(tg, db):
    w = await verification_world(tg, db)
    async with db.session() as s:
        entry = await s.scalar(select(ScoreEntry).join(ScoreSheet).where(ScoreSheet.unit_id == w.units[2]).order_by(ScoreEntry.id))
        doc = tg._store_file(b"%PDF", "bao-cao.pdf", "application/pdf", "document")
        photo = tg._store_file(b"\xff\xd8", "photo.jpg", "image/jpeg", "photo")
        s.add_all([Evidence(entry_id=entry.id, telegram_file_id=doc, file_unique_id="u1", file_name="bao-cao.pdf", kind="document"),
                   Evidence(entry_id=entry.id, telegram_file_id=photo, file_unique_id="u2", kind="photo")])  # fmt: skip
        await s.commit()
    chair = w.reps[0]
    await open_sheet(chair, NAMES[2])
    assert "📎 Số tệp minh chứng: 2" in chair.private.last.plain
    await chair.press("📎 Nhận tệp minh chứng (2)")
    sent = chair.private.bot_messages()[-2:]
    assert [(m.kind, m.file_id) for m in sent] == [("document", doc), ("photo", photo)]
    assert "Minh chứng tiêu chí 1.1: bao-cao.pdf" in sent[0].plain
    assert not [c for c in tg.calls if c[0] == "getFile"]


async def test_one_evidence_file_telegram_refuses_does_not_stop_the_others(tg, db):
    w = await verification_world(tg, db)
    async with db.session() as s:
        entry = await s.scalar(select(ScoreEntry).join(ScoreSheet).where(ScoreSheet.unit_id == w.units[2]).order_by(ScoreEntry.id))
        doc = tg._store_file(b"%PDF", "bao-cao.pdf", "application/pdf", "document")
        photo = tg._store_file(b"\xff\xd8", "photo.jpg", "image/jpeg", "photo")
        s.add_all([Evidence(entry_id=entry.id, telegram_file_id="from-another-bot", file_unique_id="u0",
                            file_name="mat.pdf", kind="document"),
                   Evidence(entry_id=entry.id, telegram_file_id=doc, file_unique_id="u1", file_name="bao-cao.pdf", kind="document"),
                   Evidence(entry_id=entry.id, telegram_file_id=photo, file_unique_id="u2", kind="photo")])  # fmt: skip
        await s.commit()
    chair = w.reps[0]
    await open_sheet(chair, NAMES[2])
    tg.fail_next("sendDocument", "network", chat_id=chair.id)  # the first file: a network error
    await chair.press("📎 Nhận tệp minh chứng (3)")
    assert [(m.kind, m.file_id) for m in chair.private.bot_messages()[-2:]] == [("document", doc), ("photo", photo)]
    await chair.press("📎 Nhận tệp minh chứng (3)")  # again: the first file id Telegram does not know
    assert [(m.kind, m.file_id) for m in chair.private.bot_messages()[-2:]] == [("document", doc), ("photo", photo)]
    assert len([m for m in chair.private.bot_messages() if m.kind in ("document", "photo")]) == 4
    assert [m for m, _d in tg.rejections] == ["sendDocument"]
    tg.rejections.clear()  # the unknown file id was the point


# ------------------------------------------------------------------------------ refusals


async def test_a_verifier_cannot_verify_their_own_unit(tg, db):
    w = await verification_world(tg, db)
    chair = w.reps[0]
    async with db.session() as s:
        own = await s.scalar(select(ScoreSheet).where(ScoreSheet.unit_id == w.units[0]))
    await chair.send("/verify")
    await chair.press_data(f"vf:a:{own.id}:{own.version}:1")
    assert "Bạn không được thẩm định phiếu của chính đơn vị mình." in tg.callback_answers[-1]["text"]
    await chair.press_data(f"vf:o:{own.id}:{own.version}")
    assert "Bạn không được thẩm định phiếu của chính đơn vị mình." in tg.callback_answers[-1]["text"]
    actor = await actor_of(db, chair, w.scene.cluster_id)
    async with db.session() as s:
        with use_locale("vi"), pytest.raises(Refusal, match="chính đơn vị mình"):
            await service.adjust(s, actor, own.id, 1, Decimal(1), "x", None)
    _sheet, values = await sheet_values(db, w.units[0])
    assert all(v[1] is None for v in values.values())


async def test_a_unit_cannot_verify_a_sheet_assigned_to_another(tg, db):
    w = await verification_world(tg, db, mode=rotation.CROSS)
    outsider = w.reps[3]
    await outsider.send("/verify")  # assigns the circle
    async with db.session() as s:
        sheets = {sh.unit_id: sh for sh in (await s.scalars(select(ScoreSheet))).all()}
    target = next(sh for sh in sheets.values() if sh.verifier_unit_id not in (w.units[3], None) and sh.unit_id != w.units[3])
    await outsider.press_data(f"vf:a:{target.id}:{target.version}:1")
    assert "không phải đơn vị bạn" in tg.callback_answers[-1]["text"]


async def test_a_stale_verification_keyboard_is_refused(tg, db):
    w = await verification_world(tg, db)
    chair = w.reps[0]
    second = await _second_chair_rep(tg, db, w)
    await open_sheet(chair, NAMES[2])
    old = chair.private.last
    await open_sheet(second, NAMES[2])
    await second.press(ACCEPT)  # 1.1 accepted by the other chair representative
    await chair.press(ACCEPT, message_id=old.message_id)
    answer = tg.callback_answers[-1]
    assert answer["show_alert"] and "Người khác vừa sửa phiếu này" in answer["text"]
    assert "Thẩm định: ✅ chấp nhận" in chair.private.find(old.message_id).plain  # shown as it is now
    _sheet, values = await sheet_values(db, w.units[2])
    assert values["1.1"][1] == Decimal(28) and values["1.2"][1] is None


async def _second_chair_rep(tg, db, w: World):
    return await make_representative(tg, db, w.scene.cluster_id, w.units[0], "Đại diện 1b")


async def test_a_blocked_representative_does_not_stop_the_adjustment(tg, db):
    w = await verification_world(tg, db)
    chair, rep = w.reps[0], w.reps[2]
    await rep.send("/start")
    await rep.block()
    await open_sheet(chair, NAMES[2])
    await chair.press(ADJUST)
    await chair.send("20")
    await chair.send("Chưa đạt chỉ tiêu")
    assert "✏️ Đã điều chỉnh tiêu chí 1.1: 28 → 20" in chair.private.last.plain
    assert (await sheet_values(db, w.units[2]))[1]["1.1"][1] == Decimal(20)
    assert tg.rejections == [("sendMessage", "Forbidden: bot was blocked by the user")]
    tg.rejections.clear()  # the one refusal this test expects


async def test_verification_is_refused_outside_its_phase(tg, db):
    w = await world(tg, db)
    await w.reps[0].send("/verify")
    assert "Việc này chỉ làm được trong giai đoạn Thẩm định" in w.reps[0].private.last.plain


async def test_the_chair_cannot_decide_its_own_units_dispute_the_vice_chair_does(tg, db):
    w = await verification_world(tg, db)
    chair, vice = w.reps[0], w.reps[1]
    await chair.send("/start")
    await open_sheet(vice, NAMES[0])
    await vice.press(ADJUST)
    await vice.send("29")
    await vice.send("Minh chứng chưa đủ")
    await chair.press("💬 Giải trình")
    await chair.send("Đã bổ sung minh chứng")
    dispute = vice.private.last  # the vice-chair is asked to decide
    assert "⚖️ Giải trình chờ quyết định — Hiệp hội" not in dispute.plain
    assert "Giải trình chờ quyết định — Hội Làm vườn Việt Nam" in dispute.plain
    async with db.session() as s:
        adjustment = await s.scalar(select(Adjustment))
    await chair.press_data(f"vf:k:{adjustment.id}:30")
    assert "Cụm phó sẽ quyết định" in tg.callback_answers[-1]["text"]
    await vice.press("Theo điểm tự chấm: 30")
    assert (await sheet_values(db, w.units[0]))[1]["1.1"][2] == Decimal(30)


# ------------------------------------------------------------------------------ cross-checking


async def test_cross_checking_assigns_each_unit_one_other_sheet(tg, db):
    w = await verification_world(tg, db, mode=rotation.CROSS)
    seen = {}
    for unit, rep in zip(w.units, w.reps, strict=True):
        await rep.send("/verify")
        listing = rep.private.last
        assert "Hình thức thẩm định: chấm chéo giữa các đơn vị." in listing.plain
        sheets = [b.split(" · ", 1)[1] for b in buttons(listing)]
        assert len(sheets) == 1 and sheets[0] != NAMES[w.units.index(unit)]
        seen[unit] = sheets[0]
    assert sorted(seen.values()) == sorted(NAMES)  # every sheet verified once
    async with db.session() as s:
        plan = {sh.unit_id: sh.verifier_unit_id for sh in (await s.scalars(select(ScoreSheet))).all()}
        year = await s.get(EmulationYear, w.scene.year_id)
    assert plan == rotation.cross_assignment(w.units, w.units, rotation.seed_for(w.scene.cluster_id, year.year))
    assert all(plan[plan[u]] != u for u in w.units)  # nobody checks the unit that checks them


async def test_the_administrator_chooses_cross_checking_until_verification_begins(tg, db):
    w = await verification_world(tg, db)
    admin = w.admin
    await admin.send("/verify")
    panel = admin.private.last
    assert "Với vai trò quản trị cụm, bạn chọn hình thức thẩm định" in panel.plain
    assert panel.buttons[-1] == ["✅ Cụm trưởng thẩm định", "Chấm chéo"]
    await admin.press("Chấm chéo")
    assert "Hình thức thẩm định: chấm chéo giữa các đơn vị." in admin.private.last.plain
    assert admin.private.last.buttons[-1] == ["Cụm trưởng thẩm định", "✅ Chấm chéo"]
    async with db.session() as s:
        assert (await s.get(Cluster, w.scene.cluster_id)).settings[rotation.SETTING] == rotation.CROSS
    rep = w.reps[2]
    await rep.send("/verify")
    await rep.press(buttons(rep.private.last)[0])
    await rep.press(ACCEPT)
    await admin.press("Cụm trưởng thẩm định")
    assert "Việc thẩm định đã bắt đầu nên năm nay không thể đổi hình thức thẩm định nữa." in tg.callback_answers[-1]["text"]
    await w.reps[0].send("/verify")  # a representative sees no mode buttons
    assert "Chấm chéo" not in buttons(w.reps[0].private.last)


async def test_the_chairs_long_list_pages_in_the_units_order_and_counts_every_sheet(tg, db):
    names = [f"Đơn vị số {i:02d}" for i in range(12)]
    w = await verification_world(tg, db, names=names)
    chair = w.reps[0]
    await chair.send("/verify")
    listing = chair.private.last
    assert "Số phiếu đơn vị bạn thẩm định: 11." in listing.plain
    assert buttons(listing)[:-1] == [f"⏳ 0/10 · {n}" for n in names[1:9]] and buttons(listing)[-1] == "▶"
    await chair.press("▶")
    assert buttons(chair.private.last) == [*(f"⏳ 0/10 · {n}" for n in names[9:]), "◀"]
