"""/status: the phase, its deadline and per step how many units are done; names of units not
done only for the administrator, the chair and the secretariat, and only in private."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from bot.offline import MAX_TEXT
from bot.services import phases as phase_service
from bot.services.actors import Actor
from storage.models import (
    Ballot,
    BallotKind,
    BallotPaper,
    PhaseKind,
    Pledge,
    PledgeStatus,
    RoleAssignment,
    ScoreRound,
    ScoreSheet,
    SheetStatus,
    Unit,
    VoterRegister,
)
from storage.people import upsert_person
from tests.support import (
    BOT,
    ECONOMIC_CLUSTER_2024,
    add_units,
    bound_cluster,
    make_representative,
    set_chair,
)

NOW = dt.datetime.now(dt.UTC)


async def open_until(db, scene, last: PhaseKind, deadline: dt.datetime | None = None) -> None:
    """Open the phases one by one up to `last`, as the administrator would."""
    actor = Actor(person_id=None, cluster_id=scene.cluster_id, roles=frozenset({"admin"}), unit_ids=frozenset())
    async with db.session() as s:
        for kind in PhaseKind.ordered()[: last.rank + 1]:
            await phase_service.open_phase(s, actor, scene.year_id, kind)
        if deadline is not None:
            await phase_service.set_deadline(s, actor, scene.year_id, last, deadline)
        await s.commit()


async def a_year_in_progress(db, scene) -> list[int]:
    """The nine units of the 2024 economic cluster, voting under way; the last unit left."""
    units = await add_units(db, scene.cluster_id)
    async with db.session() as s:
        pledges = [PledgeStatus.SIGNED, PledgeStatus.ACCEPTED, PledgeStatus.SUBMITTED,
                   PledgeStatus.RETURNED, PledgeStatus.DRAFT]  # fmt: skip
        s.add_all(Pledge(year_id=scene.year_id, unit_id=u, status=st) for u, st in zip(units, pledges, strict=False))
        s.add(Pledge(year_id=scene.year_id, unit_id=units[8], status=PledgeStatus.SIGNED))
        s.add_all([
            ScoreSheet(year_id=scene.year_id, unit_id=units[0], status=SheetStatus.VERIFIED),
            ScoreSheet(year_id=scene.year_id, unit_id=units[1], status=SheetStatus.SUBMITTED),
            ScoreSheet(year_id=scene.year_id, unit_id=units[2], status=SheetStatus.DRAFT),
            ScoreSheet(year_id=scene.year_id, unit_id=units[3], status=SheetStatus.SUBMITTED,
                       round=ScoreRound.MIDYEAR),  # the mid-year round is not the year-end one
        ])  # fmt: skip
        ballot = Ballot(year_id=scene.year_id, kind=BallotKind.FLAG, quota=1)
        s.add(ballot)
        await s.flush()
        s.add_all([
            VoterRegister(ballot_id=ballot.id, unit_id=units[0], issued_at=NOW, cast_at=NOW),
            VoterRegister(ballot_id=ballot.id, unit_id=units[1], issued_at=NOW),  # issued, not cast
            VoterRegister(ballot_id=ballot.id, unit_id=units[2], issued_at=NOW, cast_at=NOW),
            BallotPaper(ballot_id=ballot.id, tracker="A2B3C4D5"), BallotPaper(ballot_id=ballot.id, tracker="Z9Y8X7W6"),
        ])  # fmt: skip
        await s.execute(update(Unit).where(Unit.id == units[8]).values(active=False))
        await s.commit()
    await open_until(db, scene, PhaseKind.VOTING, dt.datetime(2099, 12, 31, 10, tzinfo=dt.UTC))
    return units


async def test_status_in_the_group_shows_counts_only(tg, db):
    scene = await bound_cluster(tg, db)
    await a_year_in_progress(db, scene)
    await scene.admin.send(f"/status@{BOT}", chat=scene.group)
    text = scene.group.last.plain
    assert "Cụm kinh tế — năm thi đua" in text
    assert "Giai đoạn hiện tại: Bình xét, bỏ phiếu, hạn chót 31/12/2099 17:00 (còn" in text
    assert "Số đơn vị đang hoạt động: 8" in text
    assert "Đã gửi đăng ký thi đua: 3/8" in text
    assert "Bản đăng ký đã được chấp nhận: 2/8" in text
    assert "Đã ký giao ước: 1/8" in text  # the unit that left is not counted
    assert "Đã nộp phiếu tự chấm điểm: 2/8" in text
    assert "Phiếu đã được thẩm định: 1/8" in text
    assert "Đã bỏ phiếu — Cờ thi đua: 2/8" in text
    for name in ECONOMIC_CLUSTER_2024:
        assert name not in text
    assert "Cụm trưởng và thư ký xem đơn vị nào chưa xong bằng lệnh /status" in text


async def test_status_in_private_names_the_units_not_done_to_the_chair(tg, db):
    scene = await bound_cluster(tg, db)
    units = await a_year_in_progress(db, scene)
    await set_chair(db, scene.year_id, units[0])
    chair = await make_representative(tg, db, scene.cluster_id, units[0], "Cụm trưởng An")
    await chair.send("/status")
    text = chair.private.last.plain
    assert "Đã gửi đăng ký thi đua: 3/8" in text
    signed = text.split("Đã ký giao ước: 1/8", 1)[1].split("\n\n", 1)[0]
    assert "Chưa xong (7):" in signed
    for name in ECONOMIC_CLUSTER_2024[1:8]:
        assert f"• {name}" in signed
    assert ECONOMIC_CLUSTER_2024[0] not in signed.replace("đơn vị bạn (" + ECONOMIC_CLUSTER_2024[0] + ")", "")
    assert ECONOMIC_CLUSTER_2024[8] not in text  # inactive: neither counted nor chased
    ballots = text.split("Đã bỏ phiếu — Cờ thi đua: 2/8", 1)[1]
    assert "Hội Mỹ nghệ Kim hoàn Đá quý Việt Nam" in ballots  # issued a paper, did not cast
    assert "Hội Làm vườn Việt Nam" not in ballots
    assert "✅ đơn vị bạn (Hiệp hội của Thương binh và Người khuyết tật Việt Nam): đã xong" in text
    assert "bằng lệnh /status" not in text


async def test_a_representative_sees_counts_and_their_own_unit_only(tg, db):
    scene = await bound_cluster(tg, db)
    units = await a_year_in_progress(db, scene)
    rep = await make_representative(tg, db, scene.cluster_id, units[5], "Đại diện Làng nghề")
    await rep.send("/status")
    text = rep.private.last.plain
    assert "Đã gửi đăng ký thi đua: 3/8" in text
    assert "⏳ đơn vị bạn (Hiệp hội Làng nghề Việt Nam): chưa xong" in text
    for name in ECONOMIC_CLUSTER_2024[:5] + ECONOMIC_CLUSTER_2024[6:]:
        assert name not in text
    assert "Chưa xong (" not in text


async def test_the_secretariat_sees_the_names_in_private(tg, db):
    scene = await bound_cluster(tg, db)
    await a_year_in_progress(db, scene)
    clerk = tg.user("Thư ký Hoa", language_code="vi")
    await clerk.send("/start")
    async with db.session() as s:
        person = await upsert_person(s, telegram_user_id=clerk.id, full_name="Thư ký Hoa", username=None, language_code="vi")
        s.add(RoleAssignment(cluster_id=scene.cluster_id, person_id=person.id, role="secretariat"))
        await s.commit()
    await clerk.send("/status")
    assert "• Hội Thuỷ sản Việt Nam" in clerk.private.last.plain


async def test_status_before_any_phase_opened(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id)
    await scene.admin.send("/status")
    text = scene.admin.private.last.plain
    assert "Năm nay chưa mở giai đoạn nào." in text
    assert "Đã gửi đăng ký thi đua: 0/9" in text
    assert "Chưa có đơn vị nào." in text  # nobody done: no list of all nine
    assert "Đã nộp phiếu tự chấm điểm" not in text  # scoring has not been reached


async def test_status_in_an_unbound_group_explains_the_setup(tg, db):
    admin = tg.user("Admin", language_code="vi")
    group = tg.group("Nhóm chưa gắn", admins=[admin])
    await tg.add_bot_to_group(group, by=admin)
    await admin.send(f"/status@{BOT}", chat=group)
    assert f"/setup@{BOT}" in group.last.plain


async def test_thirty_units_with_long_names_fit_in_telegram_messages(tg, db):
    scene = await bound_cluster(tg, db)
    names = [f"Đơn vị số {i:02d} — " + "Hiệp hội Doanh nghiệp nhỏ và vừa Việt Nam " * 5 for i in range(30)]
    units = await add_units(db, scene.cluster_id, names)
    async with db.session() as s:
        s.add(Pledge(year_id=scene.year_id, unit_id=units[0], status=PledgeStatus.SIGNED))
        ballot = Ballot(year_id=scene.year_id, kind=BallotKind.MERIT, quota=2, label="Bằng khen Trung ương")
        s.add(ballot)
        await s.flush()
        s.add(VoterRegister(ballot_id=ballot.id, unit_id=units[1], cast_at=NOW))
        await s.commit()
    await open_until(db, scene, PhaseKind.VOTING)
    before = len(scene.admin.private.bot_messages())
    await scene.admin.send("/status")
    pages = scene.admin.private.bot_messages()[before:]
    assert len(pages) > 1
    assert all(len(page.plain) < MAX_TEXT for page in pages)
    everything = "\n".join(page.plain for page in pages)
    assert everything.count("Đơn vị số 07 — ") == 4  # three pledge steps and the ballot
    assert "Đã bỏ phiếu — Bằng khen (Bằng khen Trung ương): 1/30" in everything
    assert "…" in everything  # long names are cut, not the message


async def test_status_counts_ballots_from_the_register_only(tg, db):
    scene = await bound_cluster(tg, db)
    await a_year_in_progress(db, scene)
    async with db.session() as s:
        papers = len((await s.scalars(select(BallotPaper))).all())
    assert papers == 2  # the papers are there, yet the count is the register's
    await scene.admin.send("/status")
    assert "Đã bỏ phiếu — Cờ thi đua: 2/8" in scene.admin.private.last.plain


PLEDGE_CYCLE = (PledgeStatus.SIGNED, PledgeStatus.ACCEPTED, PledgeStatus.SUBMITTED,
                PledgeStatus.RETURNED, PledgeStatus.DRAFT, None)  # fmt: skip
SHEET_CYCLE = (SheetStatus.VERIFIED, SheetStatus.SUBMITTED, SheetStatus.DRAFT, None)


async def test_a_representative_in_a_cluster_of_hundreds_sees_every_unit_counted_and_their_own(tg, db):
    """The counts come from the database's aggregates, the own units from their rows alone:
    the same facts as the chair's (whose report reads every unit), checked against what was
    written here."""
    scene = await bound_cluster(tg, db)
    names = [f"Đơn vị thành viên số {i + 1}" for i in range(240)]
    units = await add_units(db, scene.cluster_id, names)
    inactive = set(units[3::10])  # left the cluster, with their pledges, sheets and votes
    async with db.session() as s:
        ballot = Ballot(year_id=scene.year_id, kind=BallotKind.MERIT, quota=2, label="Đợt 1")
        s.add(ballot)
        await s.flush()
        for i, unit_id in enumerate(units):
            if PLEDGE_CYCLE[i % 6] is not None:
                s.add(Pledge(year_id=scene.year_id, unit_id=unit_id, status=PLEDGE_CYCLE[i % 6]))
            if SHEET_CYCLE[i % 4] is not None:
                s.add(ScoreSheet(year_id=scene.year_id, unit_id=unit_id, status=SHEET_CYCLE[i % 4]))
            if i % 5 == 0:  # the mid-year round is not the year-end one
                s.add(ScoreSheet(year_id=scene.year_id, unit_id=unit_id, status=SheetStatus.VERIFIED,
                                 round=ScoreRound.MIDYEAR))  # fmt: skip
            s.add(VoterRegister(ballot_id=ballot.id, unit_id=unit_id, issued_at=NOW,
                                cast_at=NOW if i % 3 else None))  # fmt: skip
        await s.execute(update(Unit).where(Unit.id.in_(inactive)).values(active=False))
        await s.commit()
    await open_until(db, scene, PhaseKind.VOTING)
    rep = await make_representative(tg, db, scene.cluster_id, units[12], "Đại Diện Hai Đơn Vị")
    async with db.session() as s:
        person = await upsert_person(s, telegram_user_id=rep.id, full_name=rep.name, username=None,
                                     language_code="vi")  # fmt: skip
        s.add(RoleAssignment(cluster_id=scene.cluster_id, person_id=person.id, role="representative",
                             unit_id=units[7]))  # fmt: skip
        await s.commit()
    await set_chair(db, scene.year_id, units[0])
    chair = await make_representative(tg, db, scene.cluster_id, units[0], "Cụm Trưởng")

    active = [i for i, u in enumerate(units) if u not in inactive]
    submitted = sum(PLEDGE_CYCLE[i % 6] in (PledgeStatus.SUBMITTED, PledgeStatus.ACCEPTED, PledgeStatus.SIGNED)
                    for i in active)  # fmt: skip
    accepted = sum(PLEDGE_CYCLE[i % 6] in (PledgeStatus.ACCEPTED, PledgeStatus.SIGNED) for i in active)
    signed = sum(PLEDGE_CYCLE[i % 6] == PledgeStatus.SIGNED for i in active)
    sheets = sum(SHEET_CYCLE[i % 4] in (SheetStatus.SUBMITTED, SheetStatus.VERIFIED) for i in active)
    verified = sum(SHEET_CYCLE[i % 4] == SheetStatus.VERIFIED for i in active)
    cast = sum(1 for i in active if i % 3)
    total = len(active)
    counts = [
        f"Đã gửi đăng ký thi đua: {submitted}/{total}",
        f"Bản đăng ký đã được chấp nhận: {accepted}/{total}",
        f"Đã ký giao ước: {signed}/{total}",
        f"Đã nộp phiếu tự chấm điểm: {sheets}/{total}",
        f"Phiếu đã được thẩm định: {verified}/{total}",
        f"Đã bỏ phiếu — Bằng khen (Đợt 1): {cast}/{total}",
    ]
    await rep.send("/status")
    assert len(rep.private.bot_messages()) == 2  # the /start answer, then one page
    text = rep.private.last.plain
    assert f"Số đơn vị đang hoạt động: {total}" in text
    seven, twelve = "đơn vị bạn (Đơn vị thành viên số 8)", "đơn vị bạn (Đơn vị thành viên số 13)"
    # unit 8 (index 7): accepted pledge, no sheet, cast; unit 13 (index 12): signed, verified, not cast
    own = [(True, True), (True, True), (False, True), (False, True), (False, True), (True, False)]
    sections = text.split("\n\n")[1:]
    assert len(sections) == len(counts)
    for section, count, (done_7, done_12) in zip(sections, counts, own, strict=True):
        assert section.splitlines() == [
            count,
            ("   ✅ " if done_7 else "   ⏳ ") + seven + (": đã xong" if done_7 else ": chưa xong"),
            ("   ✅ " if done_12 else "   ⏳ ") + twelve + (": đã xong" if done_12 else ": chưa xong"),
        ], section
    await chair.send("/status")
    # The names would take more than five messages: a summary, and the names in one file.
    *pages, listing = chair.private.bot_messages()[1:]
    chair_text = "\n".join(m.plain for m in pages)
    for count in counts:
        assert count in chair_text
    assert f"Chưa xong ({total - signed}): có tên trong tệp bên dưới." in chair_text
    assert "• Đơn vị" not in chair_text
    assert listing.kind == "document"
    missing = listing.document_bytes.decode().split(counts[2], 1)[1].split("\n\n", 1)[0]
    assert f"Chưa xong ({total - signed}):" in missing
    assert ". Đơn vị thành viên số 2\n" in missing and ". Đơn vị thành viên số 4\n" not in missing  # index 3: left


async def test_the_chairs_status_in_a_cluster_of_thousands_is_a_summary_and_one_file(tg, db):
    """At 1,500 units the names of the units not done would fill some 40 messages: the chair
    gets one summary (the counts, their own unit, "remind now") and one text file naming every
    unit not done, step by step, in full; checked against what was written here."""
    scene = await bound_cluster(tg, db)
    long_name = "Hiệp hội Doanh nghiệp nhỏ và vừa của các tỉnh Đồng bằng sông Cửu Long " * 3
    names = [f"Đơn vị thành viên số {i + 1}" for i in range(1500)]
    names[4] = long_name.strip()  # longer than a message shows a name (NAME_MAX)
    units = await add_units(db, scene.cluster_id, names)
    async with db.session() as s:
        for i, unit_id in enumerate(units):
            if PLEDGE_CYCLE[i % 6] is not None:
                s.add(Pledge(year_id=scene.year_id, unit_id=unit_id, status=PLEDGE_CYCLE[i % 6]))
            if SHEET_CYCLE[i % 4] is not None:
                s.add(ScoreSheet(year_id=scene.year_id, unit_id=unit_id, status=SHEET_CYCLE[i % 4]))
        await s.execute(update(Unit).where(Unit.id == units[-1]).values(active=False))
        await s.commit()
    await open_until(db, scene, PhaseKind.SCORING)
    await set_chair(db, scene.year_id, units[0])
    chair = await make_representative(tg, db, scene.cluster_id, units[0], "Cụm Trưởng")
    before = len(chair.private.bot_messages())
    await chair.send("/status")
    sent = chair.private.bot_messages()[before:]
    assert [m.kind for m in sent] == ["text", "document"]
    summary, listing = sent
    assert len(summary.plain) < MAX_TEXT
    assert "Số đơn vị đang hoạt động: 1499" in summary.plain
    assert "✅ đơn vị bạn (Đơn vị thành viên số 1): đã xong" in summary.plain
    assert "Đơn vị thành viên số 2" not in summary.plain and "•" not in summary.plain
    assert summary.buttons == [["🔔 Nhắc các đơn vị chưa xong"]]  # "remind now" stays on the summary
    assert listing.document_name.startswith("don-vi-chua-xong-") and listing.document_name.endswith(".txt")
    assert "các đơn vị chưa xong, theo từng bước" in listing.plain
    text = listing.document_bytes.decode("utf-8")
    active = list(range(1499))
    steps = [
        ("Đã gửi đăng ký thi đua", lambda i: PLEDGE_CYCLE[i % 6] in (PledgeStatus.SUBMITTED, PledgeStatus.ACCEPTED,
                                                                     PledgeStatus.SIGNED)),
        ("Bản đăng ký đã được chấp nhận", lambda i: PLEDGE_CYCLE[i % 6] in (PledgeStatus.ACCEPTED, PledgeStatus.SIGNED)),
        ("Đã ký giao ước", lambda i: PLEDGE_CYCLE[i % 6] == PledgeStatus.SIGNED),
        ("Đã nộp phiếu tự chấm điểm", lambda i: SHEET_CYCLE[i % 4] in (SheetStatus.SUBMITTED, SheetStatus.VERIFIED)),
    ]  # fmt: skip
    sections = text.split("\n\n")
    assert len(sections) == 1 + len(steps)
    for section, (title, done) in zip(sections[1:], steps, strict=True):
        late = [names[i] for i in active if not done(i)]
        header = f"{title}: {len(active) - len(late)}/{len(active)}"
        assert header in summary.plain
        assert f"Chưa xong ({len(late)}): có tên trong tệp bên dưới." in summary.plain
        assert section.splitlines() == [header, f"   Chưa xong ({len(late)}):",
                                        *[f"   {n}. {name}" for n, name in enumerate(late, start=1)]]  # fmt: skip
    assert long_name.strip() in text  # in full: the file has no message's limit
    assert f". {names[-1]}\n" not in text  # inactive: neither counted nor named


async def test_long_names_that_would_take_more_than_five_messages_come_as_a_file(tg, db):
    """Sixty units with long names: the names would fill six messages (each name cut at 100
    characters), one more than the report may take; so the summary and the file."""
    scene = await bound_cluster(tg, db)
    names = [f"Đơn vị số {i:02d} — " + "Hiệp hội Doanh nghiệp nhỏ và vừa Việt Nam " * 5 for i in range(60)]
    units = await add_units(db, scene.cluster_id, names)
    async with db.session() as s:
        s.add(Pledge(year_id=scene.year_id, unit_id=units[0], status=PledgeStatus.SIGNED))
        await s.commit()
    await open_until(db, scene, PhaseKind.SIGNING)
    before = len(scene.admin.private.bot_messages())
    await scene.admin.send("/status")
    sent = scene.admin.private.bot_messages()[before:]
    assert [m.kind for m in sent] == ["text", "document"]
    assert "Chưa xong (59): có tên trong tệp bên dưới." in sent[0].plain
    text = sent[1].document_bytes.decode("utf-8")
    assert text.count(names[7].strip()) == 3  # in full, under each of the three pledge steps
