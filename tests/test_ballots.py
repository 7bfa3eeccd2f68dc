"""Secret ballots through the real Application, the harness and a real database (issue 10):
opening, voting in private with the marks kept in the paper's own buttons, receipts, turnout,
closing by hand and at the deadline, the board that recounts, and the bad inputs."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from bot import ballots as rules
from bot import callbacks
from bot.services import ballots as ballots_service
from bot.services import phases as phase_service
from bot.services import tables as tables_service
from bot.services.actors import actor_in
from storage.models import (
    AuditLog,
    Ballot,
    BallotKind,
    BallotMark,
    BallotPaper,
    BallotStatus,
    EmulationYear,
    OutboxMessage,
    Person,
    PhaseKind,
    RoleAssignment,
    ScoreEntry,
    ScoreRound,
    ScoreSheet,
    SheetStatus,
    Unit,
    VoterRegister,
)
from tests.support import BOT, add_units, bound_cluster, make_representative, set_chair

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")  # the harness's 429

UNITS = ["Sở Tài chính", "Sở Công Thương", "Sở Nội vụ", "Sở Tư pháp", "Sở Xây dựng"]
FLAG = "➕ Mở phiếu: đề nghị tặng Cờ thi đua"


class World:
    def __init__(self, db, scene, units, reps, extra):
        self.db, self.scene, self.units, self.reps, self.extra = db, scene, units, reps, extra

    @property
    def chair(self):
        return self.reps[0]


async def voting(tg, db, names=UNITS) -> World:
    """A cluster in its voting phase: one representative per unit (unit 2 has a second one),
    the first unit the chair."""
    scene = await bound_cluster(tg, db)
    units = await add_units(db, scene.cluster_id, names)
    reps = [await make_representative(tg, db, scene.cluster_id, u, f"Đại diện {i + 1}", scene.group)
            for i, u in enumerate(units)]  # fmt: skip
    extra = await make_representative(tg, db, scene.cluster_id, units[1], "Đại diện 2b", scene.group)
    await set_chair(db, scene.year_id, units[0], units[1])
    async with db.session() as s:
        rows = await phase_service.ensure_phases(s, scene.year_id)
        now = dt.datetime.now(dt.UTC)
        for kind in PhaseKind.ordered():
            if kind.rank < PhaseKind.VOTING.rank:
                rows[kind].opened_at, rows[kind].closed_at = now - dt.timedelta(days=9), now - dt.timedelta(days=1)
        rows[PhaseKind.VOTING].opened_at = now - dt.timedelta(hours=1)
        await s.commit()
    return World(db, scene, units, reps, extra)


async def open_flag(w: World, *presses: str) -> int:
    chair, group = w.chair, w.scene.group
    await chair.send(f"/ballot@{BOT}", chat=group)
    await chair.press(FLAG, chat=group)
    for label in presses:
        await chair.press(label, chat=group)
    await chair.press("✅ Mở cuộc bỏ phiếu", chat=group)
    return await latest_ballot(w)


async def latest_ballot(w: World) -> int:
    async with w.db.session() as s:
        return await s.scalar(select(func.max(Ballot.id)))


async def vote(rep, ballot_id: int, *labels: str, blank: bool = False) -> str:
    await rep.send(f"/start vote-{ballot_id}")
    for label in labels:
        await rep.press(label)
    await rep.press("➡️ Xem lại và bỏ phiếu")
    await rep.press("🗳 Bỏ phiếu trắng" if blank else "🗳 Bỏ phiếu")
    found = re.search(r"Mã phiếu của đơn vị: (\w+)", rep.private.last.plain)
    assert found, rep.private.last.plain
    return found.group(1)


async def person_of(session, user) -> Person:
    return await session.scalar(select(Person).where(Person.telegram_user_id == user.id))


def turnout(group) -> str:
    return next(t for t in reversed(group.texts()) if "đơn vị đã bỏ phiếu" in t)


async def test_the_chair_opens_a_ballot_and_units_vote_secretly_with_receipts(tg, db):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    news = [t for t in w.scene.group.texts() if "Mở cuộc bỏ phiếu kín" in t]
    assert len(news) == 1 and "5 ứng viên; mỗi đơn vị chọn tối đa 1." in news[0]
    assert "Đơn vị không được bầu cho chính mình." in news[0]
    assert "0/5 đơn vị đã bỏ phiếu" in turnout(w.scene.group)

    rep = w.reps[1]  # unit 2, which has a second representative
    await rep.send(f"/start vote-{ballot_id}")
    paper = rep.private.last
    labels = [row[0] for row in paper.buttons[:-1]]
    assert labels == ["⬜ Sở Tài chính", "⬜ Sở Nội vụ", "⬜ Sở Tư pháp", "⬜ Sở Xây dựng"]  # own unit absent
    await rep.press("⬜ Sở Tài chính")
    assert "☑️ Sở Tài chính" in [row[0] for row in rep.private.last.buttons]
    answer = await rep.press("⬜ Sở Nội vụ")  # a second mark with a quota of 1: impossible
    assert "tối đa 1 đơn vị" in answer["text"]
    await rep.press("☑️ Sở Tài chính")  # unmark, mark another
    await rep.press("⬜ Sở Nội vụ")
    await rep.press("➡️ Xem lại và bỏ phiếu")
    assert "Lựa chọn của đơn vị:\n• Sở Nội vụ" in rep.private.last.plain
    await rep.press("« Sửa lại")
    await rep.press("➡️ Xem lại và bỏ phiếu")
    await rep.press("🗳 Bỏ phiếu")
    receipt = rep.private.last.plain
    tracker = re.search(r"Mã phiếu của đơn vị: (\w+)", receipt).group(1)
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", tracker)
    assert "Sở Nội vụ" not in receipt  # the receipt repeats no choice
    assert tracker in w.extra.private.last.plain  # the unit's other representative is told
    assert all(tracker not in t for other in (w.reps[0], w.reps[2]) for t in other.private.texts())
    assert "1/5 đơn vị đã bỏ phiếu" in turnout(w.scene.group)

    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(VoterRegister).where(
            VoterRegister.ballot_id == ballot_id, VoterRegister.cast_at.is_not(None))) == 1  # fmt: skip
        [paper_row] = (await s.scalars(select(BallotPaper))).all()
        assert paper_row.tracker == tracker
        marks = (await s.scalars(select(BallotMark.candidate_unit_id))).all()
        assert marks == [w.units[2]]
        receipts = (await s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("secret:%")))).all()
        assert receipts and all(tracker not in str(r.payload) for r in receipts)  # erased once sent
        [audit] = (await s.scalars(select(AuditLog).where(AuditLog.action == "ballot.cast"))).all()
        assert set(audit.details) == {"unit_id"} and audit.details["unit_id"] == w.units[1]  # who, not what

    # A second vote for the same unit, by either representative: refused, nothing stored.
    await w.extra.send(f"/start vote-{ballot_id}")
    assert "Đơn vị của bạn đã bỏ phiếu" in w.extra.private.last.plain
    again = await rep.press_data(callbacks.VoteStep("c", ballot_id, w.units[1], frozenset({0})).pack())
    assert again["show_alert"] and "đã bỏ phiếu" in again["text"]  # "cast" pressed again
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(BallotPaper)) == 1


async def test_blank_paper_only_when_confirmed_and_stale_or_forged_buttons_change_nothing(tg, db):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    rep = w.reps[2]
    await rep.send(f"/start vote-{ballot_id}")
    await rep.press("➡️ Xem lại và bỏ phiếu")
    assert "đây là phiếu trắng" in rep.private.last.plain
    # Forged: a position beyond the paper, the own unit's id as a mark, another ballot.
    for data in (
        callbacks.VoteMark(ballot_id, w.units[2], frozenset(), 4).pack(),  # 4 candidates: 0..3
        callbacks.VoteStep("c", ballot_id, w.units[2], frozenset({7})).pack(),
        callbacks.VoteStep("c", ballot_id, w.units[3], frozenset({0})).pack(),  # not their unit
        callbacks.VoteStep("c", ballot_id + 1, w.units[2], frozenset({0})).pack(),
    ):
        answer = await rep.press_data(data)
        assert answer is not None and answer.get("show_alert"), (data, answer)
    await w.scene.admin.send(f"/start vote-{ballot_id}")  # not a representative
    assert "Chỉ đại diện đơn vị" in w.scene.admin.private.last.plain
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(BallotPaper)) == 0
        assert await s.scalar(select(func.count()).select_from(VoterRegister)) == 0
    await rep.press("🗳 Bỏ phiếu trắng")
    async with db.session() as s:
        [paper] = (await s.scalars(select(BallotPaper))).all()
        assert (await s.scalars(select(BallotMark))).all() == []


async def test_two_representatives_of_one_unit_casting_at_the_same_instant_store_one_paper(tg, db):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    for rep in (w.reps[1], w.extra):
        await rep.send(f"/start vote-{ballot_id}")
        await rep.press("⬜ Sở Tài chính")
        await rep.press("➡️ Xem lại và bỏ phiếu")
    answers = await asyncio.gather(w.reps[1].press("🗳 Bỏ phiếu"), w.extra.press("🗳 Bỏ phiếu"))
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(BallotPaper)) == 1
        assert await s.scalar(select(func.count()).select_from(VoterRegister)) == 1
        stored = await s.scalar(select(BallotPaper.tracker))
    refused = [a for a in answers if a and a.get("show_alert")]
    assert len(refused) == 1 and "đã bỏ phiếu trong cuộc bỏ phiếu này" in refused[0]["text"]
    trackers = {re.search(r"Mã phiếu của đơn vị: (\w+)", r.private.last.plain).group(1) for r in (w.reps[1], w.extra)}
    assert trackers == {stored}  # one paper: the caster's reply and the other's receipt name it


async def test_closing_publishes_a_board_that_recounts_and_later_votes_are_refused(tg, db):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    t1 = await vote(w.reps[1], ballot_id, "⬜ Sở Tài chính")
    t2 = await vote(w.reps[2], ballot_id, "⬜ Sở Tài chính")
    t3 = await vote(w.reps[3], ballot_id, blank=True)
    late = w.reps[4]
    await late.send(f"/start vote-{ballot_id}")  # on the paper when the chair closes
    await late.press("⬜ Sở Tài chính")
    await late.press("➡️ Xem lại và bỏ phiếu")

    chair, group = w.chair, w.scene.group
    await chair.send(f"/ballot@{BOT}", chat=group)
    await chair.press("⏹ Kết thúc: đề nghị tặng Cờ thi đua", chat=group)
    assert "3/5 đơn vị đã bỏ phiếu" in group.last.plain
    await chair.press("⏹ Kết thúc bỏ phiếu", chat=group)
    closed = next(t for t in reversed(group.texts()) if "Kết thúc bỏ phiếu" in t and "SHA-256" in t)
    assert "Số phiếu đã bỏ: 3/5 đơn vị; phiếu trắng: 1." in closed
    [board_file] = [r for r in group.bot_messages() if r.document_name]
    board = board_file.document_bytes.decode("utf-8")
    sha = re.search(r"[0-9a-f]{64}", closed).group(0)
    assert rules.board_hash(board) == sha and sha in board_file.caption
    papers = rules.parse_board(board)
    assert [p.tracker for p in papers] == sorted([t1, t2, t3])
    count = rules.recount(papers, w.units)
    assert count.votes[w.units[0]] == 2 and count.abstaining == 1 and count.cast == 3
    async with db.session() as s:
        stored = await s.get(Ballot, ballot_id)
        assert stored.status is BallotStatus.CLOSED and stored.board_sha256 == sha and stored.board_text == board

    answer = await late.press("🗳 Bỏ phiếu")  # the chair closed while this unit was on the confirmation screen
    assert "đã kết thúc" in answer["text"]
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(BallotPaper)) == 3


async def test_a_ballot_closes_by_itself_at_its_deadline(tg, db):
    w = await voting(tg, db)
    chair, group = w.chair, w.scene.group
    await chair.send(f"/ballot@{BOT}", chat=group)
    await chair.press(FLAG, chat=group)
    tomorrow = [b for row in group.last.buttons for b in row if "17:00" in b]
    await chair.press(tomorrow[0], chat=group)
    await chair.press("✅ Mở cuộc bỏ phiếu", chat=group)
    ballot_id = await latest_ballot(w)
    assert "Kết thúc bỏ phiếu lúc" in next(t for t in group.texts() if "Mở cuộc bỏ phiếu kín" in t)
    await vote(w.reps[1], ballot_id, "⬜ Sở Tài chính")
    await tg.travel(days=2)
    async with db.session() as s:
        ballot = await s.get(Ballot, ballot_id)
        assert ballot.status is BallotStatus.CLOSED and ballot.closed_at == ballot.deadline_at
    await tg.travel(hours=1)
    assert len([t for t in group.texts() if "kết thúc theo thời hạn" in t]) == 1
    await w.reps[2].send(f"/start vote-{ballot_id}")
    assert "đã kết thúc" in w.reps[2].private.last.plain


async def test_after_thirty_units_vote_nothing_stored_links_a_unit_to_a_paper(unthrottled, db):
    tg = unthrottled
    names = [f"Đơn vị số {n:02d}" for n in range(1, 31)]
    w = await voting(tg, db, names)
    ballot_id = await open_flag(w)
    trackers = {}
    for i, rep in enumerate(w.reps[1:], 1):
        trackers[w.units[i]] = await vote(rep, ballot_id, "⬜ Đơn vị số 01")
    async with db.engine.connect() as conn:
        papers = (await conn.execute(text("SELECT * FROM ballot_papers"))).mappings().all()
        marks = (await conn.execute(text("SELECT * FROM ballot_marks"))).mappings().all()
        register = (await conn.execute(text("SELECT * FROM voter_register"))).mappings().all()
        dialect = conn.dialect.name
        if dialect == "postgresql":
            paper_xmins = {r[0] for r in (await conn.execute(text("SELECT xmin::text FROM ballot_papers"))).all()}
            mark_xmins = {r[0] for r in (await conn.execute(text("SELECT xmin::text FROM ballot_marks"))).all()}
            register_xmins = [r[0] for r in (await conn.execute(text("SELECT xmin::text FROM voter_register"))).all()]
    assert len(papers) == 29 and len(register) == 29
    assert set(papers[0].keys()) == {"id", "ballot_id", "tracker"}
    assert set(marks[0].keys()) == {"id", "paper_id", "candidate_unit_id"}
    # Nothing shared: no paper column holds a unit, a person or a time; trackers are not derived.
    assert {p["tracker"] for p in papers} == set(trackers.values()) and len(set(trackers.values())) == 29
    assert all(re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", p["tracker"]) for p in papers)
    assert all(str(p["ballot_id"]) == str(ballot_id) for p in papers)
    if dialect == "postgresql":
        # Every paper and mark carries the same transaction id (the last rewrite's), so no
        # register row's transaction points at one paper.
        assert len(paper_xmins) == 1 and len(mark_xmins) == 1
        assert sum(1 for x in register_xmins if x in paper_xmins) == 1  # the last voter's, nothing more
    # The order the papers sit in says nothing about who voted when: on SQLite the tables have no
    # rowid (stored in random key order); on PostgreSQL the heap order was shuffled at rewrite.
    voted_order = [trackers[u] for u in w.units[1:]]
    async with db.engine.connect() as conn:
        if dialect == "postgresql":
            heap = [r[0] for r in (await conn.execute(text("SELECT tracker FROM ballot_papers ORDER BY ctid"))).all()]
            rank = {t: i for i, t in enumerate(heap)}
            n = len(voted_order)
            d2 = sum((rank[t] - i) ** 2 for i, t in enumerate(voted_order))
            spearman = 1 - 6 * d2 / (n * (n * n - 1))
            assert abs(spearman) < 0.8, spearman  # not the voting order, nor its reverse
        else:
            sql = (await conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'ballot_papers'"))).scalar()
            assert sql.rstrip().endswith("WITHOUT ROWID")


async def test_the_chair_reminds_only_the_units_not_voted_once_a_day(tg, db):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    await vote(w.reps[1], ballot_id, "⬜ Sở Tài chính")
    chair, group = w.chair, w.scene.group
    await chair.send(f"/ballot@{BOT}", chat=group)
    answer = await chair.press("🔔 Nhắc", chat=group)
    assert "4 đơn vị" in answer["text"]  # units 1, 3, 4, 5 (unit 2 voted)
    reminded = [r for r in (w.reps[0], w.reps[2], w.reps[3], w.reps[4])
                if "Đơn vị của bạn chưa bỏ phiếu" in r.private.last.plain]  # fmt: skip
    assert len(reminded) == 4
    assert not any("chưa bỏ phiếu" in t for r in (w.reps[1], w.extra) for t in r.private.texts())
    again = await chair.press("🔔 Nhắc", chat=group)  # the same day: nobody again
    assert "Không có đơn vị nào cần nhắc" in again["text"]
    await w.reps[2].press("🗳 Mở phiếu bầu")  # the reminder's button opens the paper
    assert "Phiếu bầu của <b>Sở Nội vụ</b>" in w.reps[2].private.last.text
    await tg.travel(days=1)
    tomorrow = await chair.press("🔔 Nhắc", chat=group)
    assert "4 đơn vị" in tomorrow["text"]


async def test_a_deactivated_units_representative_has_no_paper(tg, db):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    async with db.session() as s:
        unit = await s.get(Unit, w.units[3])
        unit.active = False
        await s.commit()
    await w.reps[3].send(f"/start vote-{ballot_id}")
    assert "Mã phiếu" not in w.reps[3].private.last.plain
    assert "Phiếu bầu của" not in w.reps[3].private.last.plain
    forged = await w.reps[3].press_data(callbacks.VoteStep("c", ballot_id, w.units[3], frozenset({0})).pack())
    # A deactivated unit's representative no longer holds the role: the permission table says no.
    assert forged["show_alert"] and "Chỉ đại diện đơn vị" in forged["text"]
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(BallotPaper)) == 0


async def test_a_runoff_among_exactly_the_tied_units_is_one_service_call(tg, db):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    async with db.session() as s:
        first = await s.get(Ballot, ballot_id)
        year = await s.get(EmulationYear, first.year_id)
        actor = await actor_in(s, (await person_of(s, w.chair)).id, w.scene.cluster_id)
        runoff = await ballots_service.open_ballot(s, actor, year, first.kind, who="Đại diện 1", quota=1,
                                                   candidates=[w.units[3], w.units[1]], runoff_of=first)  # fmt: skip
        await s.commit()
        runoff_id, round_ = runoff.id, runoff.round
    assert round_ == 2
    await w.reps[0].send(f"/start vote-{runoff_id}")
    labels = [row[0] for row in w.reps[0].private.last.buttons[:-1]]
    assert labels == ["⬜ Sở Công Thương", "⬜ Sở Tư pháp"]  # exactly the tied units, in the units' order
    assert "vòng 2" in w.reps[0].private.last.plain


async def test_logs_carry_no_choice_and_no_tracker(tg, db, caplog):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    caplog.set_level(logging.INFO)  # as the bot runs in production
    for logger in ("bot", "handlers", "storage"):
        caplog.set_level(logging.DEBUG, logger=logger)  # and ours at their most talkative
    tracker = await vote(w.reps[1], ballot_id, "⬜ Sở Xây dựng")
    await w.chair.send(f"/ballot@{BOT}", chat=w.scene.group)
    await w.chair.press("⏹ Kết thúc: đề nghị tặng Cờ thi đua", chat=w.scene.group)
    await w.chair.press("⏹ Kết thúc bỏ phiếu", chat=w.scene.group)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert tracker not in logged
    assert "Sở Xây dựng" not in logged and f"candidate_unit_id={w.units[4]}" not in logged


async def test_candidates_can_be_the_top_units_by_final_score_with_ties_kept(tg, db):
    w = await voting(tg, db)
    finals = ["90", "97", "95,5", "95,5", "80"]  # units 1..5: top 2 is unit 2 then the tie 3 and 4
    async with db.session() as s:
        table = await tables_service.ensure_default_table(s, w.scene.year_id)
        first = table.criteria[0]
        for unit_id, value in zip(w.units, finals, strict=True):
            s.add(ScoreSheet(year_id=w.scene.year_id, unit_id=unit_id, round=ScoreRound.YEAREND,
                             status=SheetStatus.SUBMITTED,
                             entries=[ScoreEntry(criterion_id=first.id, self_value=Decimal(value.replace(",", ".")),
                                                 verified_value=Decimal(value.replace(",", ".")))]))  # fmt: skip
        await s.commit()
    chair, group = w.chair, w.scene.group
    await chair.send(f"/ballot@{BOT}", chat=group)
    await chair.press(FLAG, chat=group)
    await chair.press("🏆 Các đơn vị dẫn đầu theo điểm cuối cùng", chat=group)  # top 3 (quota 1 + 2)
    assert "3 đơn vị dẫn đầu theo điểm cuối cùng (3 đơn vị" in group.last.plain
    await chair.press("➖ Bớt đơn vị dẫn đầu", chat=group)  # top 2: the tie at the cut stays
    assert "2 đơn vị dẫn đầu theo điểm cuối cùng (3 đơn vị" in group.last.plain
    await chair.press("✅ Mở cuộc bỏ phiếu", chat=group)
    ballot_id = await latest_ballot(w)
    await w.reps[4].send(f"/start vote-{ballot_id}")
    labels = [row[0] for row in w.reps[4].private.last.buttons[:-1]]
    assert labels == ["⬜ Sở Công Thương", "⬜ Sở Nội vụ", "⬜ Sở Tư pháp"]  # by score, then the units' order


async def test_the_administrator_sets_the_defaults_and_a_board_of_trackers_only(tg, db):
    w = await voting(tg, db)
    admin = w.scene.admin
    await admin.send("/ballot")
    await admin.press("⚙️ Mặc định bỏ phiếu")
    assert "• đề nghị tặng Bằng khen: chọn tối đa 2; không tự bầu" in admin.private.last.plain
    await admin.press("➕ 1")  # the flag's quota, the first row
    await admin.press("Bảng kiểm phiếu: chỉ mã phiếu")
    assert "• đề nghị tặng Cờ thi đua: chọn tối đa 2" in admin.private.last.plain
    assert "chỉ liệt kê mã phiếu" in admin.private.last.plain
    await w.chair.send("/ballot")  # the chair may open ballots but not change the defaults
    assert "⚙️ Mặc định bỏ phiếu" not in [b for row in w.chair.private.last.buttons for b in row]
    forged = await w.chair.press_data(callbacks.BallotSettings("b", w.scene.cluster_id, BallotKind.FLAG).pack())
    assert forged["show_alert"] and "quản trị" in forged["text"]
    ballot_id = await open_flag(w)
    assert "mỗi đơn vị chọn tối đa 2" in next(t for t in w.scene.group.texts() if "Mở cuộc bỏ phiếu kín" in t)
    tracker = await vote(w.reps[1], ballot_id, "⬜ Sở Tài chính", "⬜ Sở Nội vụ")
    await w.chair.send(f"/ballot@{BOT}", chat=w.scene.group)
    await w.chair.press("⏹ Kết thúc: đề nghị tặng Cờ thi đua", chat=w.scene.group)
    await w.chair.press("⏹ Kết thúc bỏ phiếu", chat=w.scene.group)
    [board_file] = [r for r in w.scene.group.bot_messages() if r.document_name]
    assert board_file.document_bytes.decode("utf-8") == tracker + "\n"  # no choices published


async def test_cast_delivered_twice_at_the_same_instant_stores_one_paper(tg, db):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    rep = w.reps[2]
    await rep.send(f"/start vote-{ballot_id}")
    await rep.press("⬜ Sở Tài chính")
    await rep.press("➡️ Xem lại và bỏ phiếu")
    await rep.press("🗳 Bỏ phiếu", copies=2)  # Telegram delivers the press twice, one update id
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(BallotPaper)) == 1
        assert await s.scalar(select(func.count()).select_from(BallotMark)) == 1
    assert sum("Mã phiếu của đơn vị" in t for t in rep.private.texts()) == 1


async def test_a_receipt_still_waiting_at_close_is_given_up_not_kept_beside_the_board(tg, db):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    tg.fail_next("sendMessage", "retry_after", chat_id=w.extra.id, retry_after=600)  # Telegram says wait
    tracker = await vote(w.reps[1], ballot_id, "⬜ Sở Tài chính")
    async with db.session() as s:
        [pending] = (await s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("secret:%")))).all()
        assert pending.status.value == "pending" and tracker in pending.payload["text"]
    await w.chair.send(f"/ballot@{BOT}", chat=w.scene.group)
    await w.chair.press("⏹ Kết thúc: đề nghị tặng Cờ thi đua", chat=w.scene.group)
    await w.chair.press("⏹ Kết thúc bỏ phiếu", chat=w.scene.group)
    async with db.session() as s:
        rows = (await s.scalars(select(OutboxMessage))).all()
        assert all(tracker not in str(r.payload) for r in rows)
        [given_up] = [r for r in rows if (r.dedupe_key or "").startswith("secret:")]
        assert given_up.status.value == "parked"
    await tg.travel(minutes=11)  # the retry time comes: nothing is sent
    assert tracker not in "\n".join(w.extra.private.texts())
    await w.scene.admin.send("/undelivered")  # not listed as something to send again
    assert "Mọi tin nhắn của Cụm kinh tế đều đã được gửi." in w.scene.admin.private.last.plain


async def test_the_review_screen_of_a_large_paper_stays_within_telegrams_limit(tg, db):
    names = [f"Đơn vị {n:02d} " + "Hiệp hội Doanh nghiệp nhỏ và vừa Việt Nam " * 6 for n in range(1, 21)]
    w = await voting(tg, db, [n.strip()[:300] for n in names])
    async with db.session() as s:
        year = await s.get(EmulationYear, w.scene.year_id)
        actor = await actor_in(s, (await person_of(s, w.chair)).id, w.scene.cluster_id)
        ballot = await ballots_service.open_ballot(s, actor, year, BallotKind.MERIT, who="Đại diện 1", quota=19)
        await s.commit()
        ballot_id = ballot.id
    rep = w.reps[0]
    await rep.send(f"/start vote-{ballot_id}")
    for row in rep.private.last.buttons[:-1]:
        await rep.press(row[0])
    await rep.press("➡️ Xem lại và bỏ phiếu")
    assert "Lựa chọn của đơn vị:" in rep.private.last.plain and len(rep.private.last.plain) < 4096
    # 19 names of ~290 characters in full would be over 5,000: each is shortened on this screen


async def test_candidates_can_be_a_chosen_list_and_a_forged_or_stale_choice_changes_nothing(tg, db):
    w = await voting(tg, db)
    chair, group = w.chair, w.scene.group
    await chair.send(f"/ballot@{BOT}", chat=group)
    await chair.press(FLAG, chat=group)
    await chair.press("✍️ Chọn từng ứng viên", chat=group)
    await chair.press("▫️ Sở Nội vụ", chat=group)
    await chair.press("▫️ Sở Xây dựng", chat=group)
    await chair.press("✅ Sở Xây dựng", chat=group)  # unticked again
    await chair.press("▫️ Sở Tư pháp", chat=group)
    await chair.press("Xong (đã chọn 2)", chat=group)
    assert "Ứng viên: 2 đơn vị được chọn — Sở Nội vụ, Sở Tư pháp." in group.last.plain

    # A unit deactivated while the chair is choosing: the open is refused by name, nothing opens.
    async with db.session() as s:
        (await s.get(Unit, w.units[3])).active = False
        await s.commit()
    answer = await chair.press("✅ Mở cuộc bỏ phiếu", chat=group)
    assert "Sở Tư pháp không còn là đơn vị đang hoạt động" in answer["text"]
    assert await latest_ballot(w) is None
    async with db.session() as s:
        (await s.get(Unit, w.units[3])).active = True
        await s.commit()

    # A forged position beyond the cluster's units: the ballot "no longer exists", nothing opens.
    async with db.session() as s:
        year = await s.get(EmulationYear, w.scene.year_id)
    forged = callbacks.BallotDraft("o", year.id, BallotKind.FLAG, 1, 0, 0, 0, frozenset({60}))
    answer = await chair.press_data(forged.pack(), chat=group)
    assert answer["text"] == "Cuộc bỏ phiếu này không còn tồn tại." and await latest_ballot(w) is None

    await chair.press("✅ Mở cuộc bỏ phiếu", chat=group)
    ballot_id = await latest_ballot(w)
    async with db.session() as s:
        ballot = await s.get(Ballot, ballot_id)
        assert ballot.candidate_mode == rules.CandidateMode.LIST.value
        assert [c.unit_id for c in ballot.candidates] == [w.units[2], w.units[3]]
    await w.reps[0].send(f"/start vote-{ballot_id}")
    labels = [row[0] for row in w.reps[0].private.last.buttons[:-1]]
    assert labels == ["⬜ Sở Nội vụ", "⬜ Sở Tư pháp"]


async def test_the_ballot_list_and_the_vote_link_offer_each_unit_only_the_ballots_it_has_not_voted_on(tg, db):
    """A representative of two units, two open ballots: the list counts each ballot's turnout
    (from the register) and offers a button per (ballot, unit) not voted yet; the vote link
    skips the unit that voted. Read by the representative's own units (bench/scale_ballots.py)."""
    w = await voting(tg, db)
    flag_id = await open_flag(w)
    rep = w.reps[2]  # Sở Nội vụ, and Sở Tư pháp too
    async with db.session() as s:
        person = await person_of(s, rep)
        s.add(RoleAssignment(cluster_id=w.scene.cluster_id, person_id=person.id, role="representative",
                             unit_id=w.units[3]))  # fmt: skip
        merit = Ballot(year_id=w.scene.year_id, kind=BallotKind.MERIT, quota=1)
        s.add(merit)
        await s.flush()
        now = dt.datetime.now(dt.UTC)
        s.add_all([VoterRegister(ballot_id=merit.id, unit_id=w.units[3], issued_at=now, cast_at=now),
                   VoterRegister(ballot_id=merit.id, unit_id=w.units[1], issued_at=now, cast_at=now),
                   VoterRegister(ballot_id=merit.id, unit_id=w.units[4], issued_at=now)])  # issued, not cast  # fmt: skip
        await s.commit()
    await rep.send(f"/start vote-{flag_id}")
    assert rep.private.last.plain == "Phiếu bầu của đơn vị nào?"
    assert rep.private.last.buttons == [["Sở Nội vụ"], ["Sở Tư pháp"]]
    await rep.press("Sở Nội vụ")
    await rep.press("⬜ Sở Tài chính")
    await rep.press("➡️ Xem lại và bỏ phiếu")
    await rep.press("🗳 Bỏ phiếu")
    assert "Mã phiếu của đơn vị" in rep.private.last.plain
    await vote(w.reps[0], flag_id, "⬜ Sở Công Thương")

    await rep.send("/ballot")
    listing = rep.private.last
    assert "• đề nghị tặng Cờ thi đua: 2/5 đơn vị đã bỏ phiếu" in listing.plain
    assert "• đề nghị tặng Bằng khen: 2/5 đơn vị đã bỏ phiếu" in listing.plain
    votes = [row[0] for row in listing.buttons if row[0].startswith("🗳")]
    assert votes == ["🗳 Bỏ phiếu: đề nghị tặng Cờ thi đua — Sở Tư pháp",
                     "🗳 Bỏ phiếu: đề nghị tặng Bằng khen — Sở Nội vụ"]  # fmt: skip
    await rep.send(f"/start vote-{flag_id}")  # one unit left to vote: its paper at once
    assert "Sở Tư pháp" in rep.private.last.plain and rep.private.last.buttons[0] == ["⬜ Sở Tài chính"]
