"""/score through the real Application and the offline harness: walking the table, typed and
pressed values, notes, evidence (never downloaded), progress, jumping, the summary, submitting,
the shared draft with its stale buttons, a restart mid-sheet, the chair reopening, and every bad
input the issue names. The helpers here are shared with the verification and view tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from bot.errors import Refusal
from bot.i18n import use_locale
from bot.offline import OfflineTelegram, SimUser
from bot.services import phases as phase_service
from bot.services import scoring as service
from bot.services import tables
from bot.services.actors import Actor, actor_in
from storage.models import (
    AuditLog,
    Evidence,
    Phase,
    PhaseKind,
    RoleAssignment,
    ScoreEntry,
    ScoreSheet,
    SheetStatus,
    utcnow,
)
from storage.people import person_by_telegram_id
from tests.conftest import BOT_USERNAME, make_app
from tests.support import Scene, add_units, bound_cluster, make_representative, set_chair

SUMMARY = "📊 Tổng hợp và nộp phiếu"
SUBMIT, CONFIRM = "📤 Nộp phiếu", "✅ Đồng ý nộp"
LIST = "📋 Danh sách tiêu chí"
# A full default table (10 criteria) scored by buttons: the top value of each, no deduction.
TOP = ["30", "10", "10", "10", "10", "10", "10", "10", "5", "0"]
NAMES = ("Hội Làm vườn Việt Nam", "Hội Sinh vật cảnh Việt Nam", "Liên minh Hợp tác xã Việt Nam",
         "Hội Thuỷ sản Việt Nam")  # fmt: skip


@dataclass
class World:
    scene: Scene
    units: list[int]
    reps: list[SimUser]  # one per unit; reps[0] is the chair unit's, reps[1] the vice-chair's

    @property
    def admin(self) -> SimUser:
        return self.scene.admin


ADMIN = frozenset({"admin"})


async def open_until(db, scene: Scene, last: PhaseKind, deadline: dt.datetime | None = None) -> None:
    """Open the phases in order up to `last`, as the administrator would (locks the table)."""
    actor = Actor(person_id=None, cluster_id=scene.cluster_id, roles=ADMIN, unit_ids=frozenset())
    async with db.session() as s:
        views = await phase_service.phase_views(s, scene.year_id)
        opened = {v.kind for v in views if v.opened_at is not None}
        for kind in PhaseKind.ordered()[: last.rank + 1]:
            if kind not in opened:
                await phase_service.open_phase(s, actor, scene.year_id, kind)
        if deadline is not None:
            await phase_service.set_deadline(s, actor, scene.year_id, last, deadline)
        await s.commit()


async def world(tg, db, names=NAMES, upto: PhaseKind = PhaseKind.SCORING, extra_reps: int = 0) -> World:
    scene = await bound_cluster(tg, db)
    units = await add_units(db, scene.cluster_id, names)
    reps = [await make_representative(tg, db, scene.cluster_id, u, f"Đại diện {i + 1}") for i, u in enumerate(units)]
    for i in range(extra_reps):
        reps.append(await make_representative(tg, db, scene.cluster_id, units[i], f"Đại diện {i + 1}b"))
    await set_chair(db, scene.year_id, units[0], units[1])
    await open_until(db, scene, upto)
    return World(scene, units, reps)


async def fill(db, year_id: int, unit_id: int, values: dict[str, Decimal] | None = None,
               status: SheetStatus = SheetStatus.SUBMITTED) -> int:  # fmt: skip
    """A sheet written straight to storage: every criterion at its maximum (bonus and
    deduction 0) unless `values` says otherwise. Returns the sheet id."""
    values = values or {}
    async with db.session() as s:
        table = await tables.lock_table(s, year_id)
        entries = []
        for c in table.criteria:
            default = c.max_points if str(c.kind) == "normal" else Decimal(0)
            entries.append(ScoreEntry(criterion_id=c.id, self_value=values.get(c.code, default), evidence=[], adjustments=[]))
        sheet = ScoreSheet(year_id=year_id, unit_id=unit_id, status=status, entries=entries,
                           submitted_at=utcnow() if status != SheetStatus.DRAFT else None)  # fmt: skip
        s.add(sheet)
        await s.commit()
        return sheet.id


async def sheet_values(db, unit_id: int) -> tuple[ScoreSheet | None, dict[str, tuple]]:
    """The unit's sheet and {code: (self, verified, decided, note)}."""
    async with db.session() as s:
        sheet = await s.scalar(select(ScoreSheet).where(ScoreSheet.unit_id == unit_id))
        if sheet is None:
            return None, {}
        table = await tables.current_table(s, sheet.year_id)
        codes = {c.id: c.code for c in table.criteria}
        return sheet, {codes[e.criterion_id]: (e.self_value, e.verified_value, e.decided_value, e.note)
                       for e in sheet.entries}  # fmt: skip


def card(rep: SimUser):
    """The newest message with the quick-value buttons."""
    return next(r for r in reversed(rep.private.bot_messages()) if any(SUMMARY in row for row in r.buttons))


async def score_all(rep: SimUser, labels=TOP) -> None:
    """Press one quick value per criterion, in table order, on the current card."""
    for value in labels:
        current = card(rep)
        await rep.press(value, message_id=current.message_id)


async def submit(rep: SimUser) -> None:
    """Submit from the summary that scoring the last criterion showed."""
    await rep.press(SUBMIT)
    await rep.press(CONFIRM)


async def actor_of(db, user: SimUser, cluster_id: int) -> Actor:
    async with db.session() as s:
        person = await person_by_telegram_id(s, user.id)
        return await actor_in(s, person.id, cluster_id)


# ------------------------------------------------------------------------------ walking the table


async def test_a_representative_scores_the_table_by_buttons_and_typing_then_submits(tg, db):
    w = await world(tg, db, extra_reps=1)
    rep = w.reps[0]
    await rep.send("/score")
    text = rep.private.last.plain
    assert "📝 Tự chấm điểm năm" in text and NAMES[0] in text
    assert "Tiến độ: 0/10 tiêu chí" in text
    assert "I. Thực hiện nhiệm vụ chính trị" in text and "1.1. Hoàn thành chỉ tiêu" in text
    assert "Điểm tối đa: 30." in text and "Điểm tự chấm: chưa chấm" in text
    assert "Hãy gõ một số từ 0 đến 30" in text
    assert rep.private.last.buttons[:2] == [["0", "15", "28"], ["29", "29,5", "30"]]
    await rep.press("29,5")
    text = card(rep).plain
    assert "✅ Đã lưu tiêu chí 1.1: 29,5 điểm." in text
    assert "Tiến độ: 1/10 tiêu chí · tổng tạm tính: 29,5" in text and "1.2. Đổi mới" in text
    await rep.send("8,5")  # a typed value, with a decimal comma
    assert "2.1. Phát động" in rep.private.last.plain
    await rep.send("9.25")  # and a decimal point
    _sheet, values = await sheet_values(db, w.units[0])
    assert [values[c][0] for c in ("1.1", "1.2", "2.1")] == [Decimal("29.5"), Decimal("8.5"), Decimal("9.25")]
    await score_all(rep, ["10", "10", "10", "10", "10", "4,5", "−2"])
    summary = rep.private.last.plain
    assert "📊 Phiếu tự chấm điểm năm" in summary and "Tiến độ: 10/10 tiêu chí" in summary
    assert "I. Thực hiện nhiệm vụ chính trị: 38/40" in summary
    assert "II. Tổ chức phong trào thi đua: 19,25/20" in summary
    assert "Điểm thưởng: 4,5/5" in summary and "Điểm trừ: −2" in summary
    assert "✅ D.1: −2/−2" in summary
    assert "Tổng: 99,75 điểm" in summary  # 29,5 + 8,5 + 9,25 + 5 × 10 + 4,5 − 2
    await rep.press(SUBMIT)
    assert "với tổng 99,75 điểm" in rep.private.last.plain
    await rep.press(CONFIRM)
    assert "✅ Đã nộp phiếu." in rep.private.last.plain
    assert "đã nộp, chờ thẩm định" in rep.private.last.plain
    assert rep.private.last.buttons == []  # locked: nothing to press
    sheet, _values = await sheet_values(db, w.units[0])
    assert sheet.status == SheetStatus.SUBMITTED and sheet.submitted_at is not None
    partner = w.reps[-1]  # the unit's second representative is told
    assert "Đại diện 1 đã nộp phiếu tự chấm điểm của Hội Làm vườn Việt Nam: 99,75 điểm" in partner.private.last.plain
    async with db.session() as s:
        actions = (await s.scalars(select(AuditLog.action).where(AuditLog.action.like("score.%")))).all()
    assert actions.count("score.self") == 10 and "score.submit" in actions


async def test_score_resumes_at_the_first_criterion_without_a_value(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await score_all(rep, ["30", "10"])
    await rep.send("/score")
    assert "Tiến độ: 2/10 tiêu chí" in rep.private.last.plain
    assert "2.1. Phát động" in rep.private.last.plain


async def test_jump_to_any_criterion_from_the_paged_list(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await rep.press("30")
    await rep.press("📋 2/10")
    listing = rep.private.last
    assert "Chọn tiêu chí (✅ đã chấm, ⬜ chưa chấm): 1/2" in listing.plain
    assert listing.buttons[0][0].startswith("✅ 1.1 · 30 · Hoàn thành")
    assert listing.buttons[1][0].startswith("⬜ 1.2 · Đổi mới")
    assert len(listing.buttons) == 8 + 2  # a page of eight, ▶, summary
    await rep.press("▶")
    await rep.press(next(b for row in rep.private.last.buttons for b in row if b.startswith("⬜ D.1")))
    text = rep.private.last.plain
    assert "D.1. Báo cáo chậm" in text and "Điểm trừ: từ 0 đến 2 điểm, trừ vào tổng điểm." in text
    assert rep.private.last.buttons[0] == ["0", "−1", "−1,5"]
    await rep.press("◀")
    assert "B.1. Sáng kiến" in rep.private.last.plain


@pytest.mark.parametrize("typed", ["-2", "2", "−2", "+2"])
async def test_a_deduction_is_typed_with_or_without_its_sign_and_stored_positive(tg, db, typed):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await score_all(rep, TOP[:9])
    assert "D.1. Báo cáo chậm" in rep.private.last.plain
    await rep.send(typed)
    _sheet, values = await sheet_values(db, w.units[0])
    assert values["D.1"][0] == Decimal(2)
    assert "Điểm trừ: −2" in rep.private.last.plain and "Tổng: 103 điểm" in rep.private.last.plain


BAD_VALUES = [  # (typed, what the refusal says) for criterion 1.1, maximum 30
    ("abc", "“abc” không phải là số."),
    ("-1", "Điểm không được là số âm."),
    ("1e9", "“1e9” không phải là số."),
    ("8,555", "“8,555” có hơn hai chữ số thập phân."),
    ("NaN", "“NaN” không phải là số."),
    ("Infinity", "“Infinity” không phải là số."),
    ("", "Hãy gõ một số từ 0 đến 30"),
    ("   ", "Hãy gõ một số từ 0 đến 30"),
    ("31", "31 vượt quá điểm tối đa của tiêu chí này."),
    ("30,01", "30,01 vượt quá điểm tối đa"),
    ("1.000,5", "có vẻ là số có dấu phân cách hàng nghìn"),
    ("1 000", "có vẻ là số có dấu phân cách hàng nghìn"),
    ("<b>8</b>", "“&lt;b&gt;8&lt;/b&gt;” không phải là số."),
]


async def test_bad_typed_values_are_refused_with_the_allowed_range(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    for typed, said in BAD_VALUES:
        await rep.send(typed)
        reply = rep.private.last
        assert said in (reply.text if "&lt;" in said else reply.plain), (typed, reply.plain)
        assert "từ 0 đến 30" in reply.plain, typed
    _sheet, values = await sheet_values(db, w.units[0])
    assert all(v[0] is None for v in values.values())
    await rep.send("29")  # still waiting for 1.1
    _sheet, values = await sheet_values(db, w.units[0])
    assert values["1.1"][0] == Decimal(29)


async def test_a_bonus_above_its_maximum_and_a_negative_bonus_are_refused(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await score_all(rep, TOP[:8])
    await rep.send("6")
    assert "6 vượt quá điểm tối đa" in rep.private.last.plain and "từ 0 đến 5" in rep.private.last.plain
    await rep.send("-1")
    assert "Điểm không được là số âm" in rep.private.last.plain
    _sheet, values = await sheet_values(db, w.units[0])
    assert values.get("B.1", (None,))[0] is None


async def test_a_sticker_or_a_voice_message_where_a_number_is_expected(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await rep.send_sticker()
    assert "Tôi đang chờ điểm của tiêu chí 1.1 dưới dạng số" in rep.private.last.plain
    assert "từ 0 đến 30" in rep.private.last.plain
    await rep.send_voice()
    assert "Tôi đang chờ điểm của tiêu chí 1.1 dưới dạng số" in rep.private.last.plain
    await rep.send("30")
    _sheet, values = await sheet_values(db, w.units[0])
    assert values["1.1"][0] == Decimal(30)


async def test_notes_are_typed_shown_and_removed(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await rep.press("📝 Ghi chú")
    assert "Hãy gõ ghi chú cho tiêu chí này" in rep.private.last.plain
    await rep.send_sticker()
    assert "Tôi đang chờ ghi chú dưới dạng tin nhắn văn bản" in rep.private.last.plain
    await rep.send("x" * 1001)
    assert "Ghi chú có tối đa 1000 ký tự" in rep.private.last.plain
    await rep.send("Báo cáo <tổng kết> năm, trang 3")
    assert "📝 Đã lưu ghi chú." in rep.private.last.plain
    assert "📝 Ghi chú: Báo cáo <tổng kết> năm, trang 3" in rep.private.last.plain
    assert (await sheet_values(db, w.units[0]))[1]["1.1"][3] == "Báo cáo <tổng kết> năm, trang 3"
    await rep.send("30")  # the card waits for the value again
    assert (await sheet_values(db, w.units[0]))[1]["1.1"][0] == Decimal(30)
    await rep.press("◀")
    await rep.press("📝 Ghi chú")
    await rep.press("🗑 Xoá ghi chú")
    assert "🗑 Đã xoá ghi chú." in rep.private.last.plain
    assert (await sheet_values(db, w.units[0]))[1]["1.1"][3] is None


# ------------------------------------------------------------------------------ evidence


async def test_documents_and_photos_are_kept_as_evidence_without_downloading(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await rep.send_document(b"%PDF-1.7 bao cao", "Báo cáo tổng kết 2024.pdf")
    assert "📎 Đã đính kèm cho tiêu chí 1.1: Báo cáo tổng kết 2024.pdf (hiện có 1 tệp minh chứng)" in rep.private.last.plain
    await rep.send_photo(b"\xff\xd8 jpeg", caption="Ảnh hội nghị")
    await rep.send_photo(b"\xff\xd8 jpeg")  # an album arrives photo by photo: no conflict
    assert "hiện có 3 tệp minh chứng" in rep.private.last.plain
    async with db.session() as s:
        rows = (await s.scalars(select(Evidence).order_by(Evidence.id))).all()
    assert [(e.kind, e.file_name, e.mime_type, e.file_size) for e in rows] == [
        ("document", "Báo cáo tổng kết 2024.pdf", "application/pdf", 16),
        ("photo", None, "image/jpeg", 7), ("photo", None, "image/jpeg", 7),
    ]  # fmt: skip
    assert all(e.telegram_file_id and e.file_unique_id for e in rows)
    assert not [c for c in tg.calls if c[0] == "getFile"]  # never downloaded
    await rep.press("« Về tiêu chí 1.1")
    await rep.press("📎 Minh chứng (3)")
    listing = rep.private.last
    assert "1. Báo cáo tổng kết 2024.pdf" in listing.plain and "2. ảnh" in listing.plain
    await rep.press("1. Báo cáo tổng kết 2024.pdf")
    sent = rep.private.last
    assert sent.kind == "document" and sent.file_id == rows[0].telegram_file_id
    assert "Minh chứng tiêu chí 1.1: Báo cáo tổng kết 2024.pdf" in sent.plain
    await rep.press("🗑", message_id=listing.message_id)
    assert tg.callback_answers[-1]["text"] == "🗑 Đã xoá."
    assert "Số tệp minh chứng: 2" in rep.private.find(listing.message_id).plain
    async with db.session() as s:
        assert len((await s.scalars(select(Evidence))).all()) == 2


async def test_a_file_over_20_mb_is_refused_without_downloading(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await rep.send_document(b"small stand-in", "video-hoi-nghi.mp4", file_size=25 * 1024 * 1024)
    reply = rep.private.last.plain
    assert "Tệp này nặng 25 MB; mỗi tệp minh chứng tối đa 20 MB" in reply
    assert not [c for c in tg.calls if c[0] == "getFile"]
    async with db.session() as s:
        assert (await s.scalars(select(Evidence))).all() == []
    await rep.send("30")  # still on 1.1
    assert (await sheet_values(db, w.units[0]))[1]["1.1"][0] == Decimal(30)


async def test_the_same_file_is_not_attached_twice(tg, db):
    w = await world(tg, db)
    await w.reps[0].send("/score")
    sheet, _ = await sheet_values(db, w.units[0])
    actor = await actor_of(db, w.reps[0], w.scene.cluster_id)
    file = service.EvidenceFile("AgAD-1", "UNIQUE-1", "a.pdf", 10, "application/pdf", "document")
    async with db.session() as s:
        await service.add_evidence(s, actor, sheet.id, 1, file)
        again = service.EvidenceFile("AgAD-2", "UNIQUE-1", "a (1).pdf", 10, "application/pdf", "document")
        with use_locale("vi"), pytest.raises(Refusal, match="Tệp này đã được đính kèm cho tiêu chí 1.1"):
            await service.add_evidence(s, actor, sheet.id, 1, again)


# ------------------------------------------------------------------------------ submitting


async def test_a_sheet_cannot_be_submitted_with_criteria_missing(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await rep.press("30")
    await rep.press(SUMMARY)
    summary = rep.private.last
    assert "Chưa chấm: 1.2, 2.1, 2.2, 3.1, 4.1, 4.2, 5.1, B.1, D.1." in summary.plain
    assert SUBMIT not in [b for row in summary.buttons for b in row]
    sheet, _values = await sheet_values(db, w.units[0])
    await rep.press_data(f"sc:P:{sheet.id}:{sheet.version}")  # a forged submit
    assert "Còn 9 tiêu chí chưa chấm: 1.2, 2.1" in tg.callback_answers[-1]["text"]
    assert (await sheet_values(db, w.units[0]))[0].status == SheetStatus.DRAFT


async def test_a_sheet_submitted_twice(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await score_all(rep)
    await rep.press(SUBMIT)
    confirm = rep.private.last
    data = confirm.button_data[0][0]
    await rep.press(CONFIRM)
    await rep.press_data(data, message_id=confirm.message_id)  # the same button again
    answer = tg.callback_answers[-1]
    assert answer["show_alert"] and answer["text"] == "Phiếu đã nộp rồi."
    await rep.send("/score")
    assert "Trạng thái: đã nộp, chờ thẩm định" in rep.private.last.plain
    async with db.session() as s:
        submits = (await s.scalars(select(AuditLog).where(AuditLog.action == "score.submit"))).all()
    assert len(submits) == 1


async def test_the_chair_reopens_a_submitted_sheet_before_the_deadline(tg, db):
    w = await world(tg, db)
    rep, chair = w.reps[2], w.reps[0]
    await rep.send("/score")
    await score_all(rep)
    await submit(rep)
    await chair.send("/scores")
    await chair.press("🔎 Phiếu từng đơn vị")
    await chair.press(NAMES[2])
    assert "🔓 Mở lại phiếu này" in [b for row in chair.private.last.buttons for b in row]
    await chair.press("🔓 Mở lại phiếu này")
    assert "🔓 Phiếu đã được mở lại" in chair.private.last.plain
    assert "Đại diện 1 đã mở lại phiếu tự chấm điểm của Liên minh Hợp tác xã Việt Nam" in rep.private.last.plain
    sheet, _ = await sheet_values(db, w.units[2])
    assert sheet.status == SheetStatus.DRAFT and sheet.reopened_at is not None
    await rep.send("/score")  # editable again
    await rep.press("✏️ Chấm tiếp")
    await rep.press("28")
    assert (await sheet_values(db, w.units[2]))[1]["1.1"][0] == Decimal(28)


async def test_reopening_is_refused_after_the_deadline_and_to_representatives(tg, db):
    w = await world(tg, db)
    sheet_id = await fill(db, w.scene.year_id, w.units[2])
    async with db.session() as s:
        await s.execute(update(Phase).where(Phase.year_id == w.scene.year_id, Phase.kind == PhaseKind.SCORING)
                        .values(deadline_at=utcnow() - dt.timedelta(hours=1)))  # fmt: skip
        await s.commit()
    chair = w.reps[0]
    await chair.send("/scores")
    await chair.press("🔎 Phiếu từng đơn vị")
    await chair.press(NAMES[2])
    await chair.press("🔓 Mở lại phiếu này")
    assert "Hạn chót của giai đoạn Tự chấm điểm" in tg.callback_answers[-1]["text"]
    rep = w.reps[3]
    async with db.session() as s:
        version = (await s.get(ScoreSheet, sheet_id)).version
    await rep.send("/start")
    await rep.press_data(f"ss:r:{sheet_id}:{version}", message_id=rep.private.last.message_id)
    assert "Chỉ quản trị cụm hoặc Cụm trưởng mới làm được" in tg.callback_answers[-1]["text"]
    assert (await sheet_values(db, w.units[2]))[0].status == SheetStatus.SUBMITTED


# ------------------------------------------------------------------------------ who and when


async def test_scoring_is_refused_outside_the_scoring_phase(tg, db):
    w = await world(tg, db, upto=PhaseKind.SIGNING)
    await w.reps[0].send("/score")
    text = w.reps[0].private.last.plain
    assert "Việc này chỉ làm được trong giai đoạn Tự chấm điểm" in text and "chưa mở" in text
    assert "Xem phiếu và điểm của đơn vị bạn: /scores." in text
    assert (await sheet_values(db, w.units[0]))[0] is None


async def test_scoring_is_refused_after_the_deadline(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    async with db.session() as s:
        await s.execute(update(Phase).where(Phase.year_id == w.scene.year_id, Phase.kind == PhaseKind.SCORING)
                        .values(deadline_at=utcnow() - dt.timedelta(minutes=1)))  # fmt: skip
        await s.commit()
    await rep.press("30")
    assert "Hạn chót của giai đoạn Tự chấm điểm" in tg.callback_answers[-1]["text"]
    await rep.send("30")
    assert "Hạn chót của giai đoạn Tự chấm điểm" in rep.private.last.plain
    assert "Tôi không chờ bạn nhập điểm nữa." in rep.private.last.plain
    assert all(v[0] is None for v in (await sheet_values(db, w.units[0]))[1].values())


async def test_only_representatives_score(tg, db):
    w = await world(tg, db)
    await w.admin.send("/score")
    assert "Chỉ đại diện đơn vị mới làm được việc này." in w.admin.private.last.plain


async def test_a_representative_cannot_touch_another_units_sheet(tg, db):
    w = await world(tg, db)
    owner, other = w.reps[0], w.reps[1]
    await owner.send("/score")
    data = owner.private.last.button_data[1][2]  # "30" on the owner's card
    sheet, _ = await sheet_values(db, w.units[0])
    await other.send("/start")
    await other.press_data(data, message_id=other.private.last.message_id)
    assert "Bạn chỉ được xem và chấm phiếu của đơn vị mình." in tg.callback_answers[-1]["text"]
    await other.press_data(f"sc:c:{sheet.id}:{sheet.version}:1", message_id=other.private.last.message_id)
    assert "Bạn chỉ được xem và chấm phiếu của đơn vị mình." in tg.callback_answers[-1]["text"]
    await other.press_data(f"ss:v:{w.scene.cluster_id}:{w.units[0]}", message_id=other.private.last.message_id)
    assert "Bạn chỉ được xem phiếu của đơn vị mình." in tg.callback_answers[-1]["text"]
    assert all(v[0] is None for v in (await sheet_values(db, w.units[0]))[1].values())
    async with db.session() as s:  # the service refuses too, whatever a handler does
        actor = await actor_of(db, other, w.scene.cluster_id)
        with use_locale("vi"), pytest.raises(Refusal, match="đơn vị mình"):
            await service.set_self_value(s, actor, sheet.id, 1, Decimal(1), None)


# ------------------------------------------------------------------------------ a shared draft


async def press_on_a_stale_card(tg, db):
    """Two representatives of one unit open its sheet; the first saves 30 for 1.1, then the
    second presses 28 on the card they opened before. (world, first, second, that card)"""
    w = await world(tg, db, extra_reps=1)
    first, second = w.reps[0], w.reps[-1]
    await first.send("/score")
    await second.send("/score")
    stale_card = second.private.last
    await first.press("30")
    await second.press("28", message_id=stale_card.message_id)
    return w, first, second, stale_card


async def test_two_representatives_share_one_draft_and_a_stale_button_is_refused(tg, db):
    w, _first, second, stale_card = await press_on_a_stale_card(tg, db)
    answer = tg.callback_answers[-1]
    assert answer["show_alert"] and "Người khác vừa sửa phiếu này" in answer["text"]
    refreshed = second.private.find(stale_card.message_id)
    assert "Điểm tự chấm: 30" in refreshed.plain  # the first one's value, shown now
    assert (await sheet_values(db, w.units[0]))[1]["1.1"][0] == Decimal(30)
    await second.press("28", message_id=stale_card.message_id)  # on the fresh card: saved
    assert (await sheet_values(db, w.units[0]))[1]["1.1"][0] == Decimal(28)


async def test_a_typed_value_on_a_stale_card_is_refused_then_accepted(tg, db):
    w = await world(tg, db, extra_reps=1)
    first, second = w.reps[0], w.reps[-1]
    await first.send("/score")
    await second.send("/score")
    await first.press("30")
    await second.send("25")
    reply = second.private.last.plain
    assert "Người khác vừa sửa phiếu này nên thao tác của bạn chưa được lưu" in reply
    assert "Điểm tự chấm: 30" in reply
    assert (await sheet_values(db, w.units[0]))[1]["1.1"][0] == Decimal(30)
    await second.send("25")
    assert (await sheet_values(db, w.units[0]))[1]["1.1"][0] == Decimal(25)


async def test_a_concurrent_write_at_the_flush_is_a_stale_sheet(tg, db):
    w = await world(tg, db)
    await w.reps[0].send("/score")
    sheet, _ = await sheet_values(db, w.units[0])
    actor = await actor_of(db, w.reps[0], w.scene.cluster_id)
    async with db.session() as mine:
        # read (and keep: the identity map holds it weakly), then someone else writes
        seen = await service.editable(mine, actor, sheet.id, None)
        await mine.commit()
        async with db.session() as theirs:
            await service.set_self_value(theirs, actor, sheet.id, 1, Decimal(10), None)
            await theirs.commit()
        with use_locale("vi"), pytest.raises(service.StaleSheet):
            await service.set_self_value(mine, actor, sheet.id, 2, Decimal(5), None)
        await mine.rollback()
        await mine.refresh(seen.sheet)
        assert seen.sheet.version == 2  # the other write won; this one saved nothing


async def test_a_restart_in_the_middle_of_a_sheet_loses_nothing(settings, db):
    first = OfflineTelegram(bot_username=BOT_USERNAME)
    async with first.running(make_app(settings, db, first)):
        w = await world(first, db)
        await w.reps[0].send("/score")
        await w.reps[0].press("30")
        await w.reps[0].send_document(b"%PDF", "bao-cao.pdf")
    second = OfflineTelegram(bot_username=BOT_USERNAME)
    async with second.running(make_app(settings, db, second)):
        rep = second.user("Đại diện 1", language_code="vi", id=w.reps[0].id, started=True)
        await rep.send("8,5")  # the card shown before the restart still waits
        assert "✅ Đã lưu tiêu chí 1.2: 8,5 điểm." in rep.private.last.plain
        await rep.send("/score")
        assert "Tiến độ: 2/10 tiêu chí" in rep.private.last.plain
    assert first.errors == second.errors == []
    assert first.rejections == second.rejections == []
    _sheet, values = await sheet_values(db, w.units[0])
    assert (values["1.1"][0], values["1.2"][0]) == (Decimal(30), Decimal("8.5"))
    async with db.session() as s:
        assert len((await s.scalars(select(Evidence))).all()) == 1


async def test_a_person_representing_two_units_picks_the_sheet(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    async with db.session() as s:
        person = await person_by_telegram_id(s, rep.id)
        s.add(RoleAssignment(cluster_id=w.scene.cluster_id, person_id=person.id, role="representative",
                             unit_id=w.units[3]))  # fmt: skip
        await s.commit()
    await rep.send("/score")
    assert rep.private.last.plain == "Bạn là đại diện của nhiều đơn vị. Chấm phiếu của đơn vị nào?"
    assert rep.private.last.buttons == [[NAMES[0]], [NAMES[3]]]
    await rep.press(NAMES[3])
    assert NAMES[3] in rep.private.last.plain and "Tiến độ: 0/10 tiêu chí" in rep.private.last.plain
    await rep.press("30")
    assert (await sheet_values(db, w.units[3]))[1]["1.1"][0] == Decimal(30)
    assert (await sheet_values(db, w.units[0]))[0] is None
