"""Two people at once, truly concurrently: the updates are processed at the same time by the
real Application (`asyncio.gather` of deliveries, as PTB's concurrent updates or a second bot
process on the same PostgreSQL would), each with its own database session.

On SQLite every transaction takes the write lock at its first statement (`BEGIN IMMEDIATE`,
see `storage.db`), so concurrent updates queue; on PostgreSQL they really overlap and the row
locks and version columns decide. Run this file on both (`.ci/with-postgres`).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.services import pledges as pledge_service
from storage.models import (
    AuditLog,
    Cluster,
    Pledge,
    PledgeStatus,
    RoleAssignment,
    ScoreSheet,
    SheetStatus,
)
from storage.people import upsert_person
from tests.support import (
    ECONOMIC_CLUSTER_2024,
    add_units,
    bound_cluster,
    make_representative,
    set_chair,
)
from tests.test_pledges import OPEN_REGISTRATION, OPEN_SIGNING, SIGN, accepted_pledges, open_phase
from tests.test_scoring import CONFIRM, SUBMIT, score_all, sheet_values, world

UNITS = 5  # every unit signs at the same instant


async def test_units_signing_at_the_same_instant_conclude_once_and_the_document_is_sent_once(tg, db):
    scene = await bound_cluster(tg, db)
    units = await add_units(db, scene.cluster_id, ECONOMIC_CLUSTER_2024[:UNITS])
    await set_chair(db, scene.year_id, units[0], units[1])
    reps = [await make_representative(tg, db, scene.cluster_id, u, f"Đại Diện {i}", scene.group)
            for i, u in enumerate(units)]  # fmt: skip
    secretary = tg.user("Thư Ký Cụm", language_code="vi")
    await secretary.send("/start")
    async with db.session() as s:
        person = await upsert_person(s, telegram_user_id=secretary.id, full_name="Thư Ký Cụm",
                                     username=None, language_code="vi")  # fmt: skip
        s.add(RoleAssignment(cluster_id=scene.cluster_id, person_id=person.id, role="secretariat"))
        await s.commit()
    await open_phase(scene, OPEN_REGISTRATION)
    await accepted_pledges(db, scene.year_id, units)
    await open_phase(scene, OPEN_SIGNING)
    for rep in reps:
        await rep.send("/pledge")
    await asyncio.gather(*(rep.press(SIGN) for rep in reps))
    for rep in reps:
        assert "Đã ký thay mặt" in rep.private.last.plain, rep.private.render_transcript()
    async with db.session() as s:
        statuses = (await s.scalars(select(Pledge.status).where(Pledge.year_id == scene.year_id))).all()
        concluded = (await s.scalars(select(AuditLog).where(AuditLog.action == "pledge.signing_concluded"))).all()
        cluster = await s.get(Cluster, scene.cluster_id)
    assert statuses == [PledgeStatus.SIGNED] * UNITS
    assert len(concluded) == 1 and len(concluded[0].details["signed"]) == UNITS
    assert pledge_service.concluded_at(cluster, scene.year_id) is not None
    documents = [r for r in scene.group.bot_messages() if r.kind == "document"]
    assert len(documents) == 1 and f"Đã có {UNITS}/{UNITS} đơn vị ký." in documents[0].plain
    assert [r.kind for r in secretary.private.bot_messages()].count("document") == 1


async def test_two_representatives_submitting_one_sheet_at_once_save_it_once(tg, db):
    w = await world(tg, db, extra_reps=1)
    first, second = w.reps[0], w.reps[-1]  # both represent w.units[0]
    await first.send("/score")
    await score_all(first)
    await second.send("/score")  # the summary: every criterion is scored
    await first.press(SUBMIT)
    await second.press(SUBMIT)
    asked = [first.private.last.message_id, second.private.last.message_id]  # "Submit? ✅ Yes"
    answers = await asyncio.gather(first.press(CONFIRM), second.press(CONFIRM))
    sheet, _values = await sheet_values(db, w.units[0])
    assert sheet.status == SheetStatus.SUBMITTED
    async with db.session() as s:
        submits = (await s.scalars(select(AuditLog).where(AuditLog.action == "score.submit"))).all()
        winner = await s.get(ScoreSheet, sheet.id)
    assert len(submits) == 1
    winner_person = submits[0].actor_person_id
    assert winner.submitted_by_person_id == winner_person
    texts = [first.private.find(asked[0]).plain, second.private.find(asked[1]).plain]
    done = [t for t in texts if "✅ Đã nộp phiếu." in t]
    assert len(done) == 1, texts
    # the other one is told someone else changed the sheet first and sees it as it is now
    loser = 1 - texts.index(done[0])
    assert answers[loser] is not None and answers[loser]["show_alert"], answers
    assert "Người khác vừa sửa phiếu này" in answers[loser]["text"], answers
    assert "Trạng thái: đã nộp, chờ thẩm định" in texts[loser], texts[loser]


async def test_one_person_tapping_submit_twice_at_once_is_told_it_is_submitted(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await score_all(rep)
    await rep.press(SUBMIT)
    asked = rep.private.last
    data = next(d for row, datas in zip(asked.buttons, asked.button_data, strict=True)
                for text, d in zip(row, datas, strict=True) if text == CONFIRM)  # fmt: skip
    answers = await asyncio.gather(*(rep.press_data(data, message_id=asked.message_id) for _ in range(2)))
    assert sorted(a["text"] or "" for a in answers) == ["", "Phiếu đã nộp rồi."], answers
    assert "✅ Đã nộp phiếu." in rep.private.find(asked.message_id).plain
    async with db.session() as s:
        submits = (await s.scalars(select(AuditLog).where(AuditLog.action == "score.submit"))).all()
    assert len(submits) == 1


async def test_one_person_tapping_submit_pledge_twice_at_once_is_told_it_is_submitted(tg, db):
    from tests.test_pledges import SUBMIT as SUBMIT_PLEDGE
    from tests.test_pledges import add, cast

    c = await cast(tg, db)
    rep = c.reps[2]
    await rep.send("/pledge")
    await add(rep, "Tổ chức Hội chợ")
    shown = rep.private.last
    data = next(d for row, datas in zip(shown.buttons, shown.button_data, strict=True)
                for text, d in zip(row, datas, strict=True) if text == SUBMIT_PLEDGE)  # fmt: skip
    answers = await asyncio.gather(*(rep.press_data(data, message_id=shown.message_id) for _ in range(2)))
    assert sorted(a["text"] or "" for a in answers) == ["", "Đã gửi rồi."], answers
    assert "Đã gửi." in rep.private.find(shown.message_id).plain
    async with db.session() as s:
        submits = (await s.scalars(select(AuditLog).where(AuditLog.action == "pledge.submit"))).all()
        status = await s.scalar(select(Pledge.status).where(Pledge.unit_id == c.units[2]))
    assert len(submits) == 1 and status == PledgeStatus.SUBMITTED
