"""/table through the real Application and the offline harness: view, export, replace from a
file (and every bad file the issue names), who may replace, and the lock."""

from __future__ import annotations

import io
from dataclasses import replace
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from bot.errors import Refusal
from bot.i18n import use_locale
from bot.offline import OfflineTelegram
from bot.scoring_table import DEFAULT_TABLE, parse_file, to_csv, to_xlsx
from bot.services import tables
from bot.services.actors import actor_in
from storage.models import (
    AuditLog,
    Cluster,
    Phase,
    PhaseKind,
    RoleAssignment,
    ScoreEntry,
    ScoreSheet,
    ScoringTable,
    utcnow,
)
from storage.people import person_by_telegram_id, upsert_person
from tests.conftest import BOT_USERNAME, make_app
from tests.support import add_units, bound_cluster, make_representative

REPLACE = "📤 Thay bảng chấm điểm"
XLSX, CSV = "⬇️ Excel (.xlsx)", "⬇️ CSV"
HEADER = ["Nhóm tiêu chí", "Mã", "Tiêu chí", "Điểm tối đa", "Loại"]
NEW_CSV = (
    "Nhóm tiêu chí;Mã;Tiêu chí;Điểm tối đa;Loại\n"
    "I. Công tác chuyên môn;1.1;Hoàn thành kế hoạch năm;50;thường\n"
    ";1.2;Ứng dụng công nghệ thông tin;40;thường\n"
    "Điểm thưởng;B.1;Cờ thi đua của Bộ;10;thưởng\n"
    "Điểm thưởng;B.2;Cờ thi đua của Chính phủ;15;thưởng\n"
    "Điểm trừ;D.1;Báo cáo chậm;-2,5;trừ\n"
    ";;Tổng điểm;90;tổng\n"
    ";;Trần điểm thưởng;15;trần điểm thưởng\n"
).encode()


def xlsx(rows, merges=()) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    for ref in merges:
        workbook.active.merge_cells(ref)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def stored(db) -> list[tuple[str, Decimal, str]]:
    async with db.session() as s:
        table = await s.scalar(select(ScoringTable))
        return [(c.code, c.max_points, str(c.kind)) for c in table.criteria] if table else []


DEFAULT_ROWS = [(c.code, c.max_points, c.kind) for c in DEFAULT_TABLE.criteria]


async def start_replacing(scene):
    await scene.admin.send("/table")
    await scene.admin.press(REPLACE)
    assert "Hãy gửi bảng chấm điểm mới" in scene.admin.private.last.text


async def test_the_default_table_is_shown_in_vietnamese(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.send("/table")
    last = scene.admin.private.last
    text = last.plain
    assert "Bảng chấm điểm năm" in text and "Cụm kinh tế" in text
    assert "I. Thực hiện nhiệm vụ chính trị (40 điểm)" in text
    assert "1.1. Hoàn thành chỉ tiêu, nhiệm vụ chuyên môn được giao — 30" in text
    assert "B.1. Sáng kiến, mô hình mới có tính lan tỏa (tối đa) — +5" in text
    assert "D.1. Báo cáo chậm, không đầy đủ (mỗi lần) — −2" in text
    assert "Tổng điểm các tiêu chí: 100 điểm" in text
    assert "Có thể thay bảng chấm điểm" in text
    assert last.buttons == [[XLSX, CSV], [REPLACE]]
    assert await stored(db) == DEFAULT_ROWS  # created on first use


async def test_the_table_in_english(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.send("/lang en")
    await scene.admin.send("/table")
    assert "Normal criteria: 100 points." in scene.admin.private.last.plain
    assert scene.admin.private.last.buttons[1] == ["📤 Replace the table"]


async def test_export_both_formats_and_send_them_back_unchanged(tg, db):
    scene = await bound_cluster(tg, db)
    for label, suffix in ((XLSX, ".xlsx"), (CSV, ".csv")):
        await scene.admin.send("/table")
        await scene.admin.press(label)
        sent = scene.admin.private.last
        assert sent.kind == "document" and sent.document_name.endswith(suffix)
        assert sent.document_name.startswith("bang-cham-diem-")
        assert "Bảng chấm điểm năm" in sent.plain
        assert parse_file(sent.document_bytes, sent.document_name) == DEFAULT_TABLE
        await start_replacing(scene)
        await scene.admin.send_document(sent.document_bytes, sent.document_name)
        assert "✅ Đã thay bảng chấm điểm: 10 tiêu chí." in scene.admin.private.last.plain
        assert await stored(db) == DEFAULT_ROWS
    assert tg.unanswered_queries == []


async def test_replace_with_a_valid_csv(tg, db):
    scene = await bound_cluster(tg, db)
    await start_replacing(scene)
    await scene.admin.send_document(NEW_CSV, "bang-moi.csv")
    text = scene.admin.private.last.plain
    assert "✅ Đã thay bảng chấm điểm: 5 tiêu chí." in text
    assert "Tổng điểm các tiêu chí: 90 điểm" in text and "được cộng tối đa 15 điểm" in text
    assert "D.1. Báo cáo chậm — −2,5" in text
    assert await stored(db) == [
        ("1.1", Decimal(50), "normal"), ("1.2", Decimal(40), "normal"),
        ("B.1", Decimal(10), "bonus"), ("B.2", Decimal(15), "bonus"),
        ("D.1", Decimal("2.5"), "deduction"),
    ]  # fmt: skip
    async with db.session() as s:
        table = await s.scalar(select(ScoringTable))
        assert (table.normal_total, table.bonus_cap) == (90, 15)
        log = await s.scalar(select(AuditLog).where(AuditLog.action == "table.replace"))
        assert log.details["source"] == "bang-moi.csv" and log.details["criteria_after"] == 5
    # the wait is over: the next message is not taken as a table
    await scene.admin.send("xin chào")
    assert "Đã thay" not in scene.admin.private.last.plain


BAD_FILES = [
    # (file, name, what the reply must say)
    (xlsx([["Tên", "Điểm", "Kiểu"], ["a", 1, "x"]]), "sai-tieu-de.xlsx",
     ["Dòng 1: không tìm thấy dòng tiêu đề", "Nhóm tiêu chí, Mã, Tiêu chí, Điểm tối đa, Loại"]),
    (xlsx([HEADER, ["I. Nhiệm vụ", "1.1", "Một", 60, ""], [None, "1.2", "Hai", 40, ""]], merges=["A2:A3"]),
     "gop-o.xlsx", ["Dòng 2: các ô A2:A3 đang được gộp"]),
    (xlsx([HEADER, ["I", "1.1", "Một", "sáu mươi", ""], ["I", "1.2", "Hai", 40, ""]]), "chu.xlsx",
     ["Dòng 2: điểm tối đa “sáu mươi” không phải là số."]),
    (xlsx([HEADER] + [["I", f"c{i}", "Tiêu chí", 0.01, ""] for i in range(10_000)]), "dai.xlsx",
     ["Bảng quá dài (tối đa 500 tiêu chí)"]),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3 this is a PDF", "bang.xlsx",
     ["không phải là bảng tính Excel (.xlsx) thực sự"]),
    ("Nhóm,Mã,Tiêu chí,Điểm tối đa,Loại\nI,1.1,Một,60,\nI,1.1,Hai,30,\n".encode(), "trung.csv",
     ["Dòng 3: mã “1.1” trùng với mã ở dòng 2."]),
    ("Nhóm,Mã,Tiêu chí,Điểm tối đa,Loại\nI,1.1,Một,60,\nI,1.2,Hai,30,\n".encode(), "tong.csv",
     ["Tổng điểm các tiêu chí thường là 90, nhưng tổng điểm quy định là 100."]),
    ("Nhóm,Mã,Tiêu chí,Loại\nI,1.1,Một,\n".encode(), "thieu-cot.csv",
     ["Dòng 1: dòng tiêu đề thiếu cột “Điểm tối đa”."]),
]  # fmt: skip


async def test_each_bad_file_is_explained_by_row_nothing_is_saved_and_the_bot_keeps_waiting(tg, db):
    scene = await bound_cluster(tg, db)
    await start_replacing(scene)
    for data, name, expected in BAD_FILES:
        await scene.admin.send_document(data, name)
        text = scene.admin.private.last.plain
        assert text.startswith("Tệp có lỗi nên chưa có gì được lưu"), (name, text)
        for part in expected:
            assert part in text, (name, text)
        assert await stored(db) == DEFAULT_ROWS
    await scene.admin.send_document(NEW_CSV, "bang-moi.csv")  # still waiting: now it is fixed
    assert "✅ Đã thay bảng chấm điểm" in scene.admin.private.last.plain


async def test_a_file_with_many_problems_is_listed_within_one_message(tg, db):
    scene = await bound_cluster(tg, db)
    await start_replacing(scene)
    rows = "\n".join(f"Nhóm {i},{i},{'Tiêu chí rất dài ' * 3},mười,thuong" for i in range(400))
    await scene.admin.send_document(("Nhóm,Mã,Tiêu chí,Điểm tối đa,Loại\n" + rows).encode(), "loi.csv")
    text = scene.admin.private.last.plain
    assert "(tìm thấy 800 lỗi)" in text and "Dòng 2:" in text
    assert "lỗi khác." in text.splitlines()[-1]
    assert await stored(db) == DEFAULT_ROWS


async def test_a_file_over_5_mb_is_refused_without_downloading_it(tg, db):
    scene = await bound_cluster(tg, db)
    await start_replacing(scene)
    await scene.admin.send_document(to_xlsx(DEFAULT_TABLE), "lon.xlsx", file_size=6_000_000)
    assert "lớn hơn 5 MB" in scene.admin.private.last.plain
    assert not [method for method, _params in tg.calls if method == "getFile"]
    await scene.admin.send_document(NEW_CSV, "bang.csv")  # still waiting
    assert "✅" in scene.admin.private.last.plain


async def test_a_sticker_photo_or_text_instead_of_a_file_keeps_waiting(tg, db):
    scene = await bound_cluster(tg, db)
    await start_replacing(scene)
    await scene.admin.send_sticker()
    assert "Tôi đang chờ bảng chấm điểm dưới dạng tệp" in scene.admin.private.last.plain
    await scene.admin.send_photo(b"\xff\xd8 a photo of the table")
    assert "Tôi đang chờ bảng chấm điểm dưới dạng tệp" in scene.admin.private.last.plain
    await scene.admin.send("30 điểm cho 1.1")
    assert "Tôi đang chờ bảng chấm điểm dưới dạng tệp" in scene.admin.private.last.plain
    await scene.admin.send_document(b"%PDF", "bang.pdf")
    assert "bang.pdf không phải là tệp bảng chấm điểm" in scene.admin.private.last.plain
    await scene.admin.send_document(NEW_CSV, "bang.csv")
    assert "✅" in scene.admin.private.last.plain


async def test_cancel_stops_waiting(tg, db):
    scene = await bound_cluster(tg, db)
    await start_replacing(scene)
    await scene.admin.send("/cancel")
    assert "Đã huỷ" in scene.admin.private.last.plain
    await scene.admin.send_document(NEW_CSV, "bang.csv")
    assert "✅" not in scene.admin.private.last.plain
    assert await stored(db) == DEFAULT_ROWS


async def test_a_representative_sees_and_exports_but_cannot_replace(tg, db):
    scene = await bound_cluster(tg, db)
    unit_ids = await add_units(db, scene.cluster_id)
    rep = await make_representative(tg, db, scene.cluster_id, unit_ids[0], "Đại Diện")
    await rep.send("/table")
    assert rep.private.last.buttons == [[XLSX, CSV]]
    await rep.press(CSV)
    assert rep.private.last.document_name.endswith(".csv")
    # a forged or stale replace button: the rule layer says who may
    answer = await rep.press_data(f"tbl:new:{scene.cluster_id}", message_id=rep.private.last.message_id - 1)
    assert answer["show_alert"] is True
    assert answer["text"] == "Chỉ quản trị cụm hoặc thư ký cụm mới làm được việc này."


async def test_the_secretariat_may_replace(tg, db):
    scene = await bound_cluster(tg, db)
    secretary = tg.user("Thư Ký", language_code="vi")
    await secretary.send("/start")
    async with db.session() as s:
        person = await upsert_person(s, telegram_user_id=secretary.id, full_name="Thư Ký", username=None, language_code="vi")
        s.add(RoleAssignment(cluster_id=scene.cluster_id, person_id=person.id, role="secretariat"))
        await s.commit()
    await secretary.send("/table")
    await secretary.press(REPLACE)
    await secretary.send_document(NEW_CSV, "bang.csv")
    assert "✅" in secretary.private.last.plain


async def test_outsiders_and_stale_buttons_are_refused(tg, db):
    scene = await bound_cluster(tg, db)
    stranger = tg.user("Người Lạ", language_code="vi")
    await stranger.send("/table")
    assert "chưa có vai trò" in stranger.private.last.plain
    answer = await stranger.press_data(f"tbl:xlsx:{scene.cluster_id}")
    assert answer["show_alert"] is True and "Chỉ thành viên của cụm" in answer["text"]
    await scene.admin.send("/table")
    answer = await scene.admin.press_data("tbl:zip:1")
    assert "Nút này không còn hiệu lực" in answer["text"]
    await scene.admin.send(f"/table@{BOT_USERNAME}", chat=scene.group)
    assert "trò chuyện riêng" in scene.group.last.plain


async def test_after_the_table_is_locked_it_cannot_be_replaced(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.send("/table")
    shown = scene.admin.private.last.message_id
    async with db.session() as s:
        await tables.lock_table(s, scene.year_id)
        await tables.lock_table(s, scene.year_id)  # idempotent
        await s.commit()
    await scene.admin.send("/table")
    assert "🔒 Đã khoá" in scene.admin.private.last.plain
    assert scene.admin.private.last.buttons == [[XLSX, CSV]]
    answer = await scene.admin.press(REPLACE, message_id=shown)
    assert "Bảng chấm điểm đã bị khoá" in answer["text"]
    async with db.session() as s:
        locks = (await s.scalars(select(AuditLog).where(AuditLog.action == "table.lock"))).all()
        assert len(locks) == 1


async def test_opening_scoring_while_a_file_is_awaited_refuses_the_file(tg, db):
    scene = await bound_cluster(tg, db)
    await start_replacing(scene)
    async with db.session() as s:  # the phases engineer's /phase writes this row
        s.add(Phase(year_id=scene.year_id, kind=PhaseKind.SCORING, opened_at=utcnow()))
        await s.commit()
    await scene.admin.send_document(NEW_CSV, "bang.csv")
    text = scene.admin.private.last.plain
    assert "Bảng chấm điểm đã bị khoá" in text and "không chờ tệp bảng chấm điểm nữa" in text
    assert await stored(db) == DEFAULT_ROWS
    await scene.admin.send_document(NEW_CSV, "bang.csv")  # the wait is over
    assert "Bảng chấm điểm đã bị khoá" not in scene.admin.private.last.plain


async def test_a_long_table_is_shown_within_one_message(tg, db):
    scene = await bound_cluster(tg, db)
    rows = [HEADER] + [[f"Nhóm {i // 10}", f"{i}", "Nội dung tiêu chí khá dài " * 8, "0,2", ""] for i in range(500)]
    await start_replacing(scene)
    await scene.admin.send_document(xlsx(rows), "dai.xlsx")
    text = scene.admin.private.last.plain
    assert "✅ Đã thay bảng chấm điểm: 500 tiêu chí." in text
    assert "tiêu chí khác: hãy tải tệp về để xem toàn bộ bảng." in text
    await scene.admin.send("/table")
    assert len(scene.admin.private.last.plain) <= 4096


async def test_a_person_in_two_clusters_picks_one_and_the_table_follows(tg, db):
    first = await bound_cluster(tg, db, "Cụm một")
    other_admin = tg.user("Quản Trị Hai", language_code="vi")
    await other_admin.send("/start")
    group = tg.group("Cụm hai", admins=[other_admin, first.admin])
    await tg.add_bot_to_group(group, by=other_admin)
    await other_admin.send(f"/setup@{BOT_USERNAME}", chat=group)
    async with db.session() as s:
        second = await s.scalar(select(Cluster).where(Cluster.telegram_chat_id == group.id))
        person = await person_by_telegram_id(s, first.admin.id)
        s.add(RoleAssignment(cluster_id=second.id, person_id=person.id, role="admin"))
        await s.commit()
    await first.admin.send("/table")
    assert sorted(first.admin.private.last.buttons) == [["Cụm hai"], ["Cụm một"]]
    await first.admin.press("Cụm hai")
    assert "Bảng chấm điểm năm" in first.admin.private.last.plain
    assert "Cụm hai" in first.admin.private.last.plain
    assert tg.unanswered_queries == []


CHANGED = replace(
    DEFAULT_TABLE,
    criteria=(
        replace(DEFAULT_TABLE.criteria[0], max_points=Decimal(25)),
        replace(DEFAULT_TABLE.criteria[1], max_points=Decimal(15)),
        *DEFAULT_TABLE.criteria[2:],
    ),
)


async def test_a_restart_while_waiting_still_takes_the_file(settings, db):
    first = OfflineTelegram(bot_username=BOT_USERNAME)
    async with first.running(make_app(settings, db, first)):
        scene = await bound_cluster(first, db)
        await start_replacing(scene)
    second = OfflineTelegram(bot_username=BOT_USERNAME)
    async with second.running(make_app(settings, db, second)):
        admin = second.user("Quản Trị Viên", language_code="vi", id=scene.admin.id)
        await admin.send_document(to_csv(CHANGED), "bang.csv")
        assert "✅ Đã thay bảng chấm điểm" in admin.private.last.plain, admin.private.render_transcript()
    assert first.errors == second.errors == []
    assert first.rejections == second.rejections == []
    assert ("1.1", Decimal(25), "normal") in await stored(db)


async def test_the_service_checks_permission_lock_and_use_itself(tg, db):
    scene = await bound_cluster(tg, db)
    unit_ids = await add_units(db, scene.cluster_id)
    rep = await make_representative(tg, db, scene.cluster_id, unit_ids[0], "Đại Diện")
    spec = parse_file(NEW_CSV, "bang.csv")
    async with db.session() as s:
        admin = await actor_in(s, (await person_by_telegram_id(s, scene.admin.id)).id, scene.cluster_id)
        representative = await actor_in(s, (await person_by_telegram_id(s, rep.id)).id, scene.cluster_id)
        with use_locale("vi"), pytest.raises(Refusal, match="Chỉ quản trị cụm hoặc thư ký cụm"):
            await tables.replace_table(s, representative, scene.year_id, spec)
        table = await tables.ensure_default_table(s, scene.year_id)
        s.add(ScoreSheet(year_id=scene.year_id, unit_id=unit_ids[0],
                         entries=[ScoreEntry(criterion_id=table.criteria[0].id, self_value=Decimal(30))]))  # fmt: skip
        await s.flush()
        with use_locale("vi"), pytest.raises(Refusal, match="Đã có đơn vị chấm điểm"):
            await tables.replace_table(s, admin, scene.year_id, spec)
        await tables.lock_table(s, scene.year_id)
        assert await tables.unlock_table(s, scene.year_id) is False  # sheets point at it
        with use_locale("vi"), pytest.raises(Refusal, match="đã bị khoá"):
            await tables.replace_table(s, admin, scene.year_id, spec)


async def test_a_lock_without_any_score_can_be_undone(tg, db):
    scene = await bound_cluster(tg, db)
    async with db.session() as s:
        table = await tables.lock_table(s, scene.year_id)  # creates the default table
        assert table.locked_at is not None and len(table.criteria) == 10
        assert await tables.unlock_table(s, scene.year_id) is True
        assert not await tables.is_locked(s, scene.year_id)
        await s.commit()


async def test_a_cluster_setting_changes_the_total_a_file_must_reach(tg, db):
    scene = await bound_cluster(tg, db)
    async with db.session() as s:
        cluster = await s.get(Cluster, scene.cluster_id)
        cluster.settings["normal_total"] = "95"
        await s.commit()
    await start_replacing(scene)
    assert "phải bằng 95 điểm" in scene.admin.private.last.plain
    await scene.admin.send_document("Nhóm,Mã,Tiêu chí,Điểm tối đa,Loại\nI,1.1,Một,95,\n".encode(), "bang.csv")
    assert "✅" in scene.admin.private.last.plain


async def test_a_file_telegram_fails_to_give_is_asked_for_again_and_the_bot_keeps_waiting(tg, db):
    scene = await bound_cluster(tg, db)
    await start_replacing(scene)
    tg.fail_next("getFile", "network")
    await scene.admin.send_document(NEW_CSV, "bang-moi.csv")
    assert "Tôi chưa lấy được tệp từ Telegram" in scene.admin.private.last.plain
    assert await stored(db) == DEFAULT_ROWS
    await scene.admin.send_document(NEW_CSV, "bang-moi.csv")
    assert "✅ Đã thay bảng chấm điểm: 5 tiêu chí." in scene.admin.private.last.plain


async def _transaction_open(db, settings) -> bool:
    """Whether another connection holds a transaction (on SQLite: the write lock) right now."""
    if db.is_sqlite:
        import asyncio
        import sqlite3

        def try_lock() -> bool:
            path = settings.database_url.split("///", 1)[1]
            connection = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:
                return True
            finally:
                connection.close()

        return await asyncio.to_thread(try_lock)
    from sqlalchemy import text

    async with db.engine.connect() as connection:
        others = await connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"))  # fmt: skip
    return bool(others)


async def test_the_table_file_is_downloaded_while_no_transaction_is_open(tg, db, settings, monkeypatch):
    scene = await bound_cluster(tg, db)
    await start_replacing(scene)
    seen: list[bool] = []
    dispatch = tg.dispatch

    async def watching(method: str, params: dict, files: dict):
        if method == "getFile":
            seen.append(await _transaction_open(db, settings))
        return await dispatch(method, params, files)

    monkeypatch.setattr(tg, "dispatch", watching)
    await scene.admin.send_document(NEW_CSV, "bang-moi.csv")
    assert "✅ Đã thay bảng chấm điểm: 5 tiêu chí." in scene.admin.private.last.plain
    assert seen == [False]
    # a document nobody waits for (evidence, chatter) is never downloaded
    await scene.admin.send_document(NEW_CSV, "bang-moi.csv")
    assert seen == [False] and [m for m, _p in tg.calls].count("getFile") == 1
