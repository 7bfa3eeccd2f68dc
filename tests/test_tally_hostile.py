"""/tally under hostile conditions (issue 11, from the review): two people counting or opening
a runoff at the same instant, a runoff that does not decide, a stale confirmation, next year
started too early, a voter who left before the close, a rename, an anonymous administrator."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot import callbacks
from bot import tally as rules
from bot.errors import Refusal
from bot.services import tally as service
from bot.services.actors import actor_in
from storage.models import Ballot, Cluster, TallyResult, Unit
from tests.support import BOT
from tests.test_ballots import latest_ballot, open_flag, person_of, vote, voting
from tests.test_tally_flow import COUNT_NOW, posted, stored, tally

RUNOFF = "⚖️ Mở bỏ phiếu lại: Đề nghị tặng Cờ thi đua"


async def tie(w, tg, db) -> int:
    """Units 3 and 4 tied for the flag (two votes each, no scores), at least half suffices."""
    ballot_id = await open_flag(w)
    for rep, choice in zip(w.reps[:4], ("⬜ Sở Nội vụ", "⬜ Sở Tư pháp", "⬜ Sở Tư pháp", "⬜ Sở Nội vụ"), strict=True):
        await vote(rep, ballot_id, choice)
    async with db.session() as s:
        cluster = await s.get(Cluster, w.scene.cluster_id)
        cluster.settings = {**(cluster.settings or {}), "tally_strict": False}
        await s.commit()
    await tally(w, tg)
    return ballot_id


async def people(w, db, *users) -> list[int]:
    async with db.session() as s:
        return [(await person_of(s, u)).id for u in users]


async def at_once(db, w, person_ids, act):
    """`act(session, actor)` for each person in their own transaction, released together."""
    gate = asyncio.Event()

    async def one(person_id):
        async with db.session() as s:
            actor = await actor_in(s, person_id, w.scene.cluster_id)
            await s.scalar(select(TallyResult.id))  # each has read before the other writes
            await gate.wait()
            try:
                value = await act(s, actor)
                await s.commit()
                return ("ok", value)
            except Refusal as refusal:
                return ("refused", refusal.message)

    tasks = [asyncio.create_task(one(p)) for p in person_ids]
    await asyncio.sleep(0.1)
    gate.set()
    return await asyncio.gather(*tasks)


async def test_two_counts_at_the_same_instant_store_one_and_the_other_hears_nothing_is_new(tg, db):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    for rep in w.reps[1:]:
        await vote(rep, ballot_id, "⬜ Sở Tài chính")
    chair, vice = await people(w, db, w.chair, w.reps[1])

    async def count(s, actor):
        counted = await service.count(s, actor, year_id=w.scene.year_id, who="x")
        return counted.row.number if counted.row else None

    outcomes = await at_once(db, w, (chair, vice), count)
    assert sorted(outcomes, key=str) == [("ok", 1), ("ok", None)], outcomes  # no error, one count
    assert [r.number for r in await stored(db)] == [1]


async def test_two_runoff_presses_at_the_same_instant_open_one_runoff(unthrottled, db):
    tg = unthrottled
    w = await voting(tg, db)
    ballot_id = await tie(w, tg, db)
    [row] = await stored(db)
    chair, vice = await people(w, db, w.chair, w.reps[1])

    async def runoff(s, actor):
        return (await service.open_runoff(s, actor, row.id, 0, who="x")).id

    outcomes = await at_once(db, w, (chair, vice), runoff)
    assert sorted(o[0] for o in outcomes) == ["ok", "refused"], outcomes
    async with db.session() as s:
        assert len(list(await s.scalars(select(Ballot.id).where(Ballot.runoff_of_id == ballot_id)))) == 1


async def test_a_runoff_that_does_not_decide_leaves_the_tie_open_for_another_round(unthrottled, db):
    tg = unthrottled
    w = await voting(tg, db)
    await tie(w, tg, db)
    await w.chair.press(RUNOFF, chat=w.scene.group)
    await tally(w, tg)  # counted again before anybody voted on the runoff: it closes empty
    rows = await stored(db)
    award = rules.result_from_record(rows[-1].record).awards[0]
    assert award.unresolved == (w.units[2], w.units[3]) and award.open_places == 1 and award.proposed == ()
    summary = posted(w.scene.group, "📊 Kết quả bình xét thi đua năm")[-1]
    assert "Bỏ phiếu lại (vòng 2)" in summary and "⚖️ Chưa phân định" in summary
    await w.chair.press(RUNOFF, chat=w.scene.group)  # round 3, among exactly the same units
    third = await latest_ballot(w)
    async with db.session() as s:
        ballot = await s.get(Ballot, third)
        assert ballot.round == 3 and sorted(c.unit_id for c in ballot.candidates) == [w.units[2], w.units[3]]
    for rep in (w.reps[0], w.reps[1], w.reps[2], w.reps[4]):
        await vote(rep, third, "⬜ Sở Tư pháp")
    await tally(w, tg)
    award = rules.result_from_record((await stored(db))[-1].record).awards[0]
    assert award.proposed == (w.units[3],) and award.unresolved == ()


async def test_a_confirmation_older_than_the_newest_ballot_counts_nothing(tg, db):
    w = await voting(tg, db)
    group = w.scene.group
    await w.chair.send(f"/tally@{BOT}", chat=group)
    asked = group.last
    await open_flag(w)  # opened after the question: the old confirmation did not name it
    answer = await w.chair.press(COUNT_NOW, chat=group, message_id=asked.message_id)
    assert answer["show_alert"] and "gõ lại /tally" in answer["text"]
    assert await stored(db) == []


async def test_next_year_waits_for_open_ballots_and_ties_and_result_shows_last_year_after(unthrottled, db):
    tg = unthrottled
    w = await voting(tg, db)
    group = w.scene.group
    await w.chair.send(f"/ballot@{BOT}", chat=group)
    await w.chair.press("➕ Mở phiếu: bầu đơn vị Cụm trưởng năm sau", chat=group)
    await w.chair.press("✅ Mở cuộc bỏ phiếu", chat=group)
    chair_ballot = await latest_ballot(w)
    for rep in w.reps:
        await vote(rep, chair_ballot, "⬜ Sở Xây dựng" if rep is not w.reps[4] else "⬜ Sở Tài chính")
    await tally(w, tg)
    [row] = await stored(db)
    await open_flag(w)  # a ballot of this year still open
    answer = await w.chair.press_data(callbacks.TallyNextYear("c", row.id).pack(), chat=group)
    assert answer["show_alert"] and "vẫn còn cuộc bỏ phiếu" in answer["text"].lower()
    await tally(w, tg)  # closes it
    newest = (await stored(db))[-1]
    await w.chair.press_data(callbacks.TallyNextYear("c", newest.id).pack(), chat=group)
    await w.chair.press(group.last.buttons[0][0], chat=group)
    summary = posted(group, "📊 Kết quả bình xét thi đua năm")[-1]
    await w.reps[2].send("/result")  # the new year has no count yet: last year's result
    assert w.reps[2].private.last.plain == summary


async def test_a_voter_who_left_before_the_close_still_counts_as_issued(tg, db):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    for rep in w.reps[1:]:
        await vote(rep, ballot_id, "⬜ Sở Tài chính")
    async with db.session() as s:
        (await s.get(Unit, w.units[4])).active = False  # voted, then left the cluster
        await s.commit()
    await tally(w, tg)
    [summary] = posted(w.scene.group, "📊 Kết quả bình xét thi đua năm")
    assert "Phiếu phát ra 5, thu về 4" in summary and "4 phiếu (100%)" in summary


async def test_a_rename_is_a_new_count_that_says_so_and_an_anonymous_admin_is_asked_to_speak_for_himself(tg, db):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    for rep in w.reps[1:]:
        await vote(rep, ballot_id, "⬜ Sở Tài chính")
    await tally(w, tg)
    async with db.session() as s:
        (await s.get(Unit, w.units[4])).name = "Sở Xây dựng và Quy hoạch"
        await s.commit()
    await tally(w, tg)
    assert [r.number for r in await stored(db)] == [1, 2]
    second = posted(w.scene.group, "📊 Kết quả bình xét thi đua năm")[-1]
    assert "Sở Xây dựng nay có tên Sở Xây dựng và Quy hoạch" in second

    admin = w.scene.admin
    own = admin.payload
    admin.payload = lambda: {**own(), "id": 1087968824, "is_bot": True, "first_name": "Group",
                             "username": "GroupAnonymousBot"}  # fmt: skip
    for command in ("/tally", "/result"):
        await admin.send(f"{command}@{BOT}", chat=w.scene.group)
        assert "từ tài khoản của chính bạn" in w.scene.group.last.plain, command
    assert tg.errors == []


async def test_files_not_sent_after_the_count_are_sent_by_the_schedulers_catch_up_once(tg, db):
    from tests.test_pledge_delivery import secretariat_member

    w = await voting(tg, db)
    secretary = await secretariat_member(tg, db, w.scene.cluster_id, "Thư Ký Cụm")
    ballot_id = await open_flag(w)
    for rep in w.reps[1:]:
        await vote(rep, ballot_id, "⬜ Sở Tài chính")
    [chair] = await people(w, db, w.chair)
    async with db.session() as s:  # counted, and the process stops before the files are built
        actor = await actor_in(s, chair, w.scene.cluster_id)
        await service.count(s, actor, year_id=w.scene.year_id, who="Đại diện 1")
        s.info.clear()  # the work asked for after the commit never runs
        await s.commit()
    files = [r.document_name for r in secretary.private.bot_messages() if r.document_name]
    assert files == []
    await tg.travel(minutes=3)  # the catch-up slot comes due
    for _minute in range(5):  # the secretary's chat may also be getting a digest: paced sends
        if len([r for r in secretary.private.bot_messages() if r.document_name]) >= 4:
            break
        await tg.travel(minutes=1)
    files = sorted(r.document_name for r in secretary.private.bot_messages() if r.document_name)
    assert len(files) == 4 and any(f.endswith(".png") for f in files), [r.plain[:40] for r in secretary.private.bot_messages()]
    await tg.travel(minutes=10)
    assert len([r for r in secretary.private.bot_messages() if r.document_name]) == 4  # once
