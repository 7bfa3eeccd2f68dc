"""/tally and /result through the real Application, the harness and a real database (issue 11):
the chair confirms, open ballots close, the count is stored and published, the papers reach the
secretariat and the chair; a tie asks for a runoff that completes the count; an election starts
next year with the elected units; every refusal."""

from __future__ import annotations

import io
import json
import re
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func, select

from bot import tally as rules
from bot.papers import minutes, proposal
from bot.papers.docx_builder import document_text
from bot.pledge_document import place_and_date
from storage.models import (
    Ballot,
    BallotStatus,
    ChairHandover,
    EmulationYear,
    Office,
    TallyResult,
    utcnow,
)
from tests.support import BOT
from tests.test_ballots import UNITS, latest_ballot, open_flag, vote, voting
from tests.test_pledge_delivery import secretariat_member

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

COUNT_NOW = "✅ Kiểm phiếu ngay"


async def tally(w, tg, who=None) -> str:
    """/tally and "count now"; then two minutes pass, so that the summary, which waits behind
    the group's 20 messages a minute, is delivered."""
    who = who or w.chair
    await who.send(f"/tally@{BOT}", chat=w.scene.group)
    confirmation = w.scene.group.last.plain
    await who.press(COUNT_NOW, chat=w.scene.group)
    await tg.travel(minutes=2)
    return confirmation


def posted(group, start: str) -> list[str]:
    return [t for t in group.texts() if t.startswith(start)]


def summary_year(summary: str) -> int:
    return int(re.search(r"thi đua năm (\d{4})", summary).group(1))


async def stored(db) -> list[TallyResult]:
    async with db.session() as s:
        return list(await s.scalars(select(TallyResult).order_by(TallyResult.number)))


async def test_the_chair_counts_and_the_group_sees_the_result_and_the_papers_reach_the_secretariat(tg, db):
    w = await voting(tg, db)
    secretary = await secretariat_member(tg, db, w.scene.cluster_id, "Thư Ký Cụm")
    ballot_id = await open_flag(w)
    for rep in w.reps[1:]:
        await vote(rep, ballot_id, "⬜ Sở Tài chính")  # 4 of 5 for unit 1 (it cannot vote for itself)

    confirmation = await tally(w, tg)
    assert "Kiểm phiếu năm thi đua ngay bây giờ?" in confirmation and "Cờ thi đua" in confirmation
    async with db.session() as s:
        assert (await s.get(Ballot, ballot_id)).status is BallotStatus.CLOSED  # closed by the count
    assert any("Đã lưu kết quả kiểm phiếu lần 1" in t for t in w.scene.group.texts())
    [summary] = posted(w.scene.group, "📊 Kết quả bình xét thi đua năm")
    assert "Phiếu phát ra 5, thu về 4, hợp lệ 4, phiếu trắng 0, không hợp lệ 0." in summary
    assert "1. Sở Tài chính: 4 phiếu (100%)" in summary and "➡️ Đề nghị: Sở Tài chính." in summary
    assert "Điều kiện hợp lệ: ít nhất 2/3" in summary and "Ngưỡng đề nghị: trên 50% số phiếu thu về." in summary
    [row] = await stored(db)
    assert row.number == 1 and len(row.inputs_sha256) == 64 and row.inputs_sha256 in summary
    async with db.session() as s:
        board = (await s.get(Ballot, ballot_id)).board_sha256
    assert board in summary and board in json.dumps(json.loads(row.record))

    # The chart in the group; the papers in private to the secretariat and the chair unit's
    # representative: the chart and the score table, dated the day of the count.
    [chart] = [r for r in w.scene.group.bot_messages() if (r.document_name or "").endswith(".png")]
    assert chart.document_bytes.startswith(b"\x89PNG\r\n\x1a\n") and "lần kiểm phiếu 1" in chart.plain
    for person in (secretary, w.chair):
        files = {r.document_name: r.document_bytes for r in person.private.bot_messages() if r.document_name}
        year = summary_year(summary)
        assert set(files) == {chart.document_name, f"bang-diem-{year}.xlsx", minutes.file_name(year),
                              proposal.file_name(year)}, files  # fmt: skip
        said = document_text(files[minutes.file_name(year)])
        assert "Sở Tài chính" in said and "100,00%" in said and board in said and row.inputs_sha256 in said
        assert "Thư Ký Cụm" in said and w.chair.name in said  # the count committee
        assert "Đơn vị có mặt (tham gia bỏ phiếu): 4/5 đơn vị" in said  # the chair unit did not vote
        assert "Đơn vị vắng mặt: 1/5 đơn vị" in said and all(unit in said for unit in UNITS)
        assert "Sở Tài chính" in document_text(files[proposal.file_name(year)])
        sheet = openpyxl.load_workbook(io.BytesIO(files[f"bang-diem-{summary_year(summary)}.xlsx"])).active
        cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
        today = utcnow().astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()
        assert any(place_and_date(None, today).split(", ", 1)[1] in c for c in cells), cells[-6:]
        assert any("Sở Tài chính" in c for c in cells)

    # /result shows the stored result to anyone in the cluster, in private too.
    await w.reps[3].send("/result")
    assert w.reps[3].private.last.plain == summary

    # Counting again with nothing new stores nothing and says so.
    await tally(w, tg)
    assert "Không có dữ liệu mới kể từ lần kiểm phiếu 1" in w.scene.group.last.plain
    assert len(await stored(db)) == 1
    assert len(posted(w.scene.group, "📊 Kết quả bình xét thi đua năm")) == 1


async def test_who_may_count_and_where(tg, db):
    w = await voting(tg, db)
    group = w.scene.group
    await w.reps[3].send(f"/tally@{BOT}", chat=group)  # an ordinary representative
    assert "Chỉ Cụm trưởng hoặc Cụm phó mới làm được việc này." in group.last.plain, group.last.plain
    await w.scene.admin.send(f"/tally@{BOT}", chat=group)
    assert "Chỉ Cụm trưởng hoặc Cụm phó mới làm được việc này." in group.last.plain
    await w.chair.send("/tally")
    assert "Cụm trưởng gõ /tally trong nhóm của cụm" in w.chair.private.last.plain
    await w.reps[2].send("/result")
    assert "chưa được kiểm phiếu" in w.reps[2].private.last.plain

    # A forged confirmation from someone who may not count: refused, nothing stored.
    await w.reps[1].send(f"/tally@{BOT}", chat=group)  # the vice-chair unit may (it stands in)
    answer = await w.reps[3].press(COUNT_NOW, chat=group)
    assert answer["show_alert"] and "Cụm trưởng" in answer["text"]
    assert await stored(db) == []
    await w.reps[1].press(COUNT_NOW, chat=group)
    [row] = await stored(db)
    assert "Không có dữ liệu mới" not in group.last.plain and row.counted_by == w.reps[1].name


async def test_a_tie_asks_for_a_runoff_among_exactly_the_tied_units_which_completes_the_count(unthrottled, db):
    tg = unthrottled  # two ballots' worth of group messages: PTB's limiter would wait for real minutes
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    # Units 3 and 4 get two votes each, nobody has a score: unresolved for the one place.
    for rep, choice in zip(w.reps[:4], ("⬜ Sở Nội vụ", "⬜ Sở Tư pháp", "⬜ Sở Tư pháp", "⬜ Sở Nội vụ"), strict=True):
        await vote(rep, ballot_id, choice)
    async with db.session() as s:
        from storage.models import Cluster

        cluster = await s.get(Cluster, w.scene.cluster_id)
        cluster.settings = {**(cluster.settings or {}), "tally_strict": False}  # at least half: both reach it
        await s.commit()
    await tally(w, tg)
    [summary] = posted(w.scene.group, "📊 Kết quả bình xét thi đua năm")
    assert "⚖️ Chưa phân định: Sở Nội vụ, Sở Tư pháp bằng phiếu" in summary
    await w.chair.press("⚖️ Mở bỏ phiếu lại: Đề nghị tặng Cờ thi đua", chat=w.scene.group)
    runoff_id = await latest_ballot(w)
    async with db.session() as s:
        runoff = await s.get(Ballot, runoff_id)
        assert runoff.runoff_of_id == ballot_id and runoff.round == 2 and runoff.quota == 1
        assert sorted(c.unit_id for c in runoff.candidates) == [w.units[2], w.units[3]]
    answer = await w.chair.press("⚖️ Mở bỏ phiếu lại: Đề nghị tặng Cờ thi đua", chat=w.scene.group)
    assert "đã được mở" in answer["text"]  # a second tap opens nothing more
    for rep in (w.reps[0], w.reps[1], w.reps[2], w.reps[4]):
        await vote(rep, runoff_id, "⬜ Sở Tư pháp")
    await vote(w.reps[3], runoff_id, "⬜ Sở Nội vụ")
    await tally(w, tg)
    rows = await stored(db)
    assert [r.number for r in rows] == [1, 2]
    second = posted(w.scene.group, "📊 Kết quả bình xét thi đua năm")[-1]
    assert "Bỏ phiếu lại (vòng 2)" in second and "➡️ Đề nghị: Sở Tư pháp." in second
    assert "Thay đổi so với lần kiểm phiếu 1" in second
    result = rules.result_from_record(rows[-1].record)
    assert result.awards[0].proposed == (w.units[3],) and result.awards[0].unresolved == ()


async def test_an_election_starts_next_year_with_the_elected_chair_and_the_handover_is_recorded(tg, db):
    w = await voting(tg, db)
    group = w.scene.group
    await w.chair.send(f"/ballot@{BOT}", chat=group)
    await w.chair.press("➕ Mở phiếu: bầu đơn vị Cụm trưởng năm sau", chat=group)
    await w.chair.press("✅ Mở cuộc bỏ phiếu", chat=group)
    ballot_id = await latest_ballot(w)
    for rep in w.reps:
        await vote(rep, ballot_id, "⬜ Sở Xây dựng" if rep is not w.reps[4] else "⬜ Sở Tài chính")
    await tally(w, tg)
    [summary] = posted(group, "📊 Kết quả bình xét thi đua năm")
    assert "➡️ Đơn vị Cụm trưởng năm" in summary and "Sở Xây dựng" in summary
    answer = await w.reps[3].press("➡️ Bắt đầu năm sau với các đơn vị trúng cử", chat=group)
    assert answer["show_alert"]  # not the chair
    await w.chair.press("➡️ Bắt đầu năm sau với các đơn vị trúng cử", chat=group)
    assert "Đơn vị Cụm trưởng: Sở Xây dựng." in group.last.plain
    await w.chair.press(group.last.buttons[0][0], chat=group)
    async with db.session() as s:
        years = list(await s.scalars(select(EmulationYear).where(EmulationYear.cluster_id == w.scene.cluster_id)
                                     .order_by(EmulationYear.year)))  # fmt: skip
        assert len(years) == 2 and years[1].year == years[0].year + 1 and years[1].chair_unit_id == w.units[4]
        [handover] = (await s.scalars(select(ChairHandover).where(ChairHandover.year_id == years[1].id))).all()
        assert (handover.office, handover.from_unit_id, handover.to_unit_id) == (Office.CHAIR, w.units[0], w.units[4])
        assert await s.scalar(select(func.count()).select_from(EmulationYear)) == 2
    assert any(t.startswith(f"🔁 Năm thi đua {years[1].year} đã bắt đầu.") for t in group.texts())
    # Pressed again, by the old chair (no longer chair: the year changed) or the new one: refused.
    answer = await w.chair.press("➡️ Bắt đầu năm sau với các đơn vị trúng cử", chat=group)
    assert answer["show_alert"] and "Cụm trưởng" in answer["text"], answer
    answer = await w.reps[4].press("➡️ Bắt đầu năm sau với các đơn vị trúng cử", chat=group)
    assert answer["show_alert"] and "đã bắt đầu" in answer["text"], answer
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(EmulationYear)) == 2


async def test_the_administrator_sets_the_count_rules_and_the_next_count_follows_them(tg, db):
    w = await voting(tg, db)
    admin, group = w.scene.admin, w.scene.group
    await admin.send(f"/ballot@{BOT}", chat=group)
    await admin.press("⚙️ Mặc định bỏ phiếu", chat=group)
    assert "Ngưỡng đề nghị: trên 50% số phiếu thu về." in group.last.plain
    for shown in ("50%", "2/3", "70%", "75%"):  # → 90 %
        await admin.press(f"Ngưỡng: {shown}", chat=group)
    await admin.press("Trên ngưỡng", chat=group)  # → at least
    await admin.press("Cơ sở: phiếu thu về", chat=group)  # → units present
    assert "Ngưỡng đề nghị: từ 90% số đơn vị có mặt (đã tham gia bỏ phiếu) trở lên." in group.last.plain
    answer = await w.reps[2].press("Tỷ lệ tham gia: 2/3", chat=group)  # not the administrator
    assert answer["show_alert"]
    async with db.session() as s:
        from bot.services.tally import rules_of
        from storage.models import Cluster

        found = rules_of(await s.get(Cluster, w.scene.cluster_id))
    assert (found.threshold, found.strict, found.basis) == (rules.Fraction(9, 10), False, rules.Basis.PRESENT)
    assert found.quorum == rules.Fraction(2, 3)  # untouched by the representative's press

    ballot_id = await open_flag(w)
    for rep in w.reps[1:4]:
        await vote(rep, ballot_id, "⬜ Sở Tài chính")  # 3 of the 4 present: 75 %, more than half, not 90 %
    await vote(w.reps[4], ballot_id, "⬜ Sở Nội vụ")
    await tally(w, tg)
    [summary] = posted(group, "📊 Kết quả bình xét thi đua năm")
    assert "➡️ Không đơn vị nào đạt ngưỡng: không đề nghị đơn vị nào." in summary


async def test_refusals_of_the_count_the_runoff_and_next_year(tg, db):
    w = await voting(tg, db)
    group = w.scene.group
    # Quorum not met: said, nothing proposed.
    ballot_id = await open_flag(w)
    await vote(w.reps[1], ballot_id, "⬜ Sở Tài chính")
    await tally(w, tg)
    [summary] = posted(group, "📊 Kết quả bình xét thi đua năm")
    assert "⚠️ Không đủ số đơn vị bỏ phiếu (1/5 đơn vị): không đề nghị đơn vị nào." in summary
    assert "➡️ Đề nghị" not in summary
    [row] = await stored(db)
    # No election yet: next year refused (a forged button), a runoff for a tie that is not there.
    from bot import callbacks

    answer = await w.chair.press_data(callbacks.TallyNextYear("c", row.id).pack(), chat=group)
    assert answer["show_alert"] and "Chưa bầu được đơn vị Cụm trưởng" in answer["text"]
    answer = await w.chair.press_data(callbacks.TallyRunoff(row.id, 0).pack(), chat=group)
    assert answer["show_alert"] and "không còn chờ giải quyết" in answer["text"]
    answer = await w.chair.press_data(callbacks.TallyRunoff(row.id + 5, 0).pack(), chat=group)
    assert answer["show_alert"] and "không còn được lưu" in answer["text"]
    # A second count (new data: a unit's vote can no longer come, but the rules changed) makes
    # the first one's buttons stale.
    async with db.session() as s:
        from storage.models import Cluster

        cluster = await s.get(Cluster, w.scene.cluster_id)
        cluster.settings = {**(cluster.settings or {}), "tally_quorum": "1/2"}
        await s.commit()
    await tally(w, tg)
    assert [r.number for r in await stored(db)] == [1, 2]
    answer = await w.chair.press_data(callbacks.TallyRunoff(row.id, 0).pack(), chat=group)
    assert answer["show_alert"] and "đã được kiểm phiếu lại" in answer["text"]
    # Out of the voting and results phases: refused with the phase named, nothing stored.
    async with db.session() as s:
        from bot.services import phases as phase_service
        from storage.models import PhaseKind

        rows = await phase_service.ensure_phases(s, w.scene.year_id)
        rows[PhaseKind.VOTING].opened_at = None
        rows[PhaseKind.VOTING].closed_at = None
        await s.commit()
    await w.chair.send(f"/tally@{BOT}", chat=group)
    assert "chỉ làm được trong giai đoạn Bình xét, bỏ phiếu" in group.last.plain and not group.last.buttons
    assert len(await stored(db)) == 2
