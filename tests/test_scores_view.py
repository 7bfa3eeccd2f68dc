"""/scores through the real Application: the cluster's table (a message when it fits, an .xlsx
when not, and on request), opened with openpyxl; a representative's own sheet only."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from bot.offline import MAX_TEXT
from bot.score_export import NUMBER_FORMAT
from storage.models import Adjustment, RoleAssignment, ScoreSheet, SheetStatus
from storage.people import upsert_person
from tests.support import ECONOMIC_CLUSTER_2024
from tests.test_scoring import World, fill, world
from tests.test_verification import verification_world

GROUPS = ["I. Thực hiện nhiệm vụ chính trị", "II. Tổ chức phong trào thi đua", "III. Công tác khen thưởng",
          "IV. Xây dựng tổ chức", "V. Tham gia hoạt động của Cụm", "Điểm thưởng", "Điểm trừ"]  # fmt: skip


async def secretary(tg, db, w: World):
    user = tg.user("Thư Ký", language_code="vi")
    await user.send("/start")
    async with db.session() as s:
        person = await upsert_person(s, telegram_user_id=user.id, full_name="Thư Ký", username=None, language_code="vi")
        s.add(RoleAssignment(cluster_id=w.scene.cluster_id, person_id=person.id, role="secretariat"))
        await s.commit()
    return user


async def adjust(db, unit_id: int, code_index: int, to: Decimal, decided: Decimal | None = None) -> None:
    """A verification written straight to storage (its conversation has its own tests)."""
    async with db.session() as s:
        sheet = await s.scalar(select(ScoreSheet).where(ScoreSheet.unit_id == unit_id))
        for i, entry in enumerate(sorted(sheet.entries, key=lambda e: e.criterion_id)):
            entry.verified_value = entry.self_value if i != code_index else to
            if i == code_index:
                entry.adjustments.append(Adjustment(from_value=entry.self_value, to_value=to, reason="Thiếu minh chứng",
                                                    explanation="Đã bổ sung" if decided else None, decided_value=decided))  # fmt: skip
                entry.decided_value = decided
        sheet.status = SheetStatus.VERIFIED
        await s.commit()


async def test_the_chair_and_the_secretariat_get_the_table_in_a_message(tg, db):
    w = await verification_world(tg, db, names=ECONOMIC_CLUSTER_2024)
    await adjust(db, w.units[2], 0, Decimal(25), decided=Decimal(27))
    async with db.session() as s:  # one unit never submitted
        sheet = await s.scalar(select(ScoreSheet).where(ScoreSheet.unit_id == w.units[8]))
        await s.delete(sheet)
        await s.commit()
    clerk = await secretary(tg, db, w)
    for viewer in (w.reps[0], clerk, w.admin):
        await viewer.send("/scores")
        table = viewer.private.last
        text = table.plain
        assert table.kind == "text" and len(text) < MAX_TEXT
        assert "📊 Bảng điểm năm" in text and "Đã nộp 8/9 · đã thẩm định 1/9" in text
        assert "3. Hội Làm vườn Việt Nam — đã thẩm định" in text
        assert "Tổng: 98 → 95 → 97" in text  # self → verified → final
        assert "I 38 → 35 → 37 · II 20 · III 10 · IV 20 · V 10 · Điểm thưởng 0 · Điểm trừ 0" in text
        assert "9. Liên đoàn Thương mại và Công nghiệp Việt Nam — chưa chấm" in text
        assert table.buttons[0] == ["⬇️ Excel (.xlsx)", "🔎 Phiếu từng đơn vị"]
    await clerk.press("⬇️ Excel (.xlsx)")
    sent = clerk.private.last
    assert sent.kind == "document" and sent.document_name.startswith("bang-diem-")
    book = load_workbook(io.BytesIO(sent.document_bytes))
    assert book.sheetnames == ["Tổng hợp", "I. Thực hiện nhiệm vụ chính trị", "II. Tổ chức phong trào thi đua",
                               "III. Công tác khen thưởng", "IV. Xây dựng tổ chức", "V. Tham gia hoạt động của Cụm",
                               "Điểm thưởng", "Điểm trừ"]  # fmt: skip
    summary = book["Tổng hợp"]
    assert [c.value for c in summary[2]][:7] == ["STT", "Đơn vị", "Trạng thái", "Tổng tự chấm", "Tổng thẩm định",
                                                  "Tổng cuối cùng", "Xếp hạng"]  # fmt: skip
    rows = {r[1].value: r for r in summary.iter_rows(min_row=3, max_row=11)}
    garden = rows["Hội Làm vườn Việt Nam"]
    assert [c.value for c in garden[2:7]] == ["đã thẩm định", 98, 95, 97, 8]
    assert all(isinstance(c.value, int | float) for c in garden[3:6])
    assert garden[5].number_format == NUMBER_FORMAT
    assert rows["Liên đoàn Thương mại và Công nghiệp Việt Nam"][3].value is None  # not scored: empty, not 0
    assert rows["Hiệp hội của Thương binh và Người khuyết tật Việt Nam"][6].value == 1
    first = book["I. Thực hiện nhiệm vụ chính trị"]
    assert [c.value for c in first[2]] == ["STT", "Đơn vị", "1.1 Tự chấm", "1.1 Thẩm định", "1.1 Cuối cùng",
                                           "1.2 Tự chấm", "1.2 Thẩm định", "1.2 Cuối cùng", "Cộng nhóm tự chấm",
                                           "Cộng nhóm thẩm định", "Cộng nhóm cuối cùng"]  # fmt: skip
    line = next(r for r in first.iter_rows(min_row=3) if r[1].value == "Hội Làm vườn Việt Nam")
    assert [c.value for c in line[2:]] == [28, 25, 27, 10, 10, 10, 38, 35, 37]
    assert line[4].number_format == NUMBER_FORMAT


async def test_a_long_table_comes_as_an_xlsx_file(tg, db):
    names = [f"Liên minh Hợp tác xã tỉnh số {i:02d} thuộc khối các đơn vị sự nghiệp và doanh nghiệp" for i in range(30)]
    w = await world(tg, db, names=names)
    for unit in w.units:
        await fill(db, w.scene.year_id, unit, {"1.1": Decimal("27.25"), "B.1": Decimal(7) / 2, "D.1": Decimal(2)})
    await w.reps[0].send("/scores")
    sent = w.reps[0].private.last
    assert sent.kind == "document" and sent.document_name.endswith(".xlsx")
    assert "30 đơn vị, quá dài cho một tin nhắn" in sent.plain
    assert sent.buttons[0] == ["⬇️ Excel (.xlsx)", "🔎 Phiếu từng đơn vị"]
    book = load_workbook(io.BytesIO(sent.document_bytes))
    summary = book["Tổng hợp"]
    assert summary.max_row >= 32
    row = [c.value for c in summary[3]]
    assert row[:7] == [1, names[0], "đã nộp", 98.75, 98.75, 98.75, 1]  # 27,25 + 70 + 3,5 − 2
    await w.reps[0].press("🔎 Phiếu từng đơn vị", message_id=sent.message_id)  # under the file
    picker = w.reps[0].private.last
    assert picker.plain == "Xem phiếu của đơn vị nào?" and picker.buttons[-1] == ["1/4", "▶"]
    await w.reps[0].press("▶")
    await w.reps[0].press(next(b for row in w.reps[0].private.last.buttons for b in row if "số 08" in b))
    assert "Liên minh Hợp tác xã tỉnh số 08" in w.reps[0].private.last.plain
    assert "1.1: 27,25 / 30" in w.reps[0].private.last.plain
    deductions = book["Điểm trừ"]
    # stored positive, written with its sign in the sheet, like the group's subtotal: −2 everywhere
    assert [c.value for c in deductions[3]][2:5] == [-2, -2, -2]
    assert [c.value for c in deductions[3]][5] == -2


async def test_a_representative_sees_only_their_own_units_sheet(tg, db):
    w = await verification_world(tg, db)
    await adjust(db, w.units[2], 0, Decimal(20))
    rep = w.reps[2]
    await rep.send("/scores")
    text = rep.private.last.plain
    assert "📄 Phiếu chấm điểm năm" in text and "Liên minh Hợp tác xã Việt Nam" in text
    assert "1.1: 28 → 20 / 30" in text and "✏️ Điều chỉnh: Thiếu minh chứng" in text
    assert "Hội Làm vườn Việt Nam" not in text and "Bảng điểm" not in text
    assert rep.private.last.buttons == [["💬 Giải trình tiêu chí 1.1"]]
    await rep.press("💬 Giải trình tiêu chí 1.1")
    assert "Hãy gõ nội dung giải trình của đơn vị về tiêu chí 1.1 (28 → 20)" in rep.private.last.plain


async def test_the_table_is_refused_to_a_person_without_a_role(tg, db):
    w = await world(tg, db)
    stranger = tg.user("Người Lạ", language_code="vi")
    await stranger.send("/scores")
    assert "Bạn chưa có vai trò trong cụm thi đua nào" in stranger.private.last.plain
    await stranger.press_data(f"ss:x:{w.scene.cluster_id}", message_id=stranger.private.last.message_id)
    assert "mới làm được việc này" in tg.callback_answers[-1]["text"]
    assert stranger.private.last.kind == "text"  # no file was sent
