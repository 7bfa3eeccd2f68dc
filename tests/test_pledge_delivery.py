"""What the pledge feature says by itself goes through the outbox, through the real Application,
the offline harness and a real database: the reviewers' notice, the units' notices, the group's
signing message and the signed document survive Telegram's bad days (a blocked member, a
failed reply, a 429, a network error), one event is said once, and a refused change says
nothing.

On PostgreSQL: `.ci/with-postgres .venv/bin/python -m pytest -q tests/test_pledge_delivery.py`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.i18n import use_locale
from bot.offline import SimUser
from bot.services import pledges as service
from bot.services.actors import actor_in
from storage.models import (
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    PledgeStatus,
    RoleAssignment,
    utcnow,
)
from storage.people import person_by_telegram_id, upsert_person
from tests.support import make_representative
from tests.test_outbox import sender_of
from tests.test_pledges import (
    ACCEPT,
    AMEND,
    EDIT,
    OPEN_SIGNING,
    SIGN,
    SUBMIT,
    accepted_pledges,
    add,
    cast,
    open_phase,
    pledge_of,
    register,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

BOARD_TITLE = "ký kết giao ước thi đua năm"
TO_REVIEW = "Đăng ký thi đua năm"
UNREACHABLE = "Bot không thể nhắn tin cho {name}"


class Later:
    """The sender's clock: the bot's own time, moved on by the test (no sleeping)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self):
        return utcnow() + self.offset

    def move(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


async def outbox(db) -> list[OutboxMessage]:
    async with db.session() as s:
        return list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def count_rows(db) -> int:
    async with db.session() as s:
        return await s.scalar(select(func.count()).select_from(OutboxMessage))


async def secretariat_member(tg, db, cluster_id: int, name: str, user: SimUser | None = None) -> SimUser:
    if user is None:
        user = tg.user(name, language_code="vi")
        await user.send("/start")
    async with db.session() as s:
        person = await upsert_person(s, telegram_user_id=user.id, full_name=user.full_name,
                                     username=None, language_code="vi")  # fmt: skip
        s.add(RoleAssignment(cluster_id=cluster_id, person_id=person.id, role="secretariat"))
        await s.commit()
    return user


def documents_in(chat) -> list:
    return [r for r in chat.bot_messages() if r.kind == "document"]


def boards(group) -> list:
    return [r for r in group.bot_messages() if r.kind == "text" and BOARD_TITLE in r.plain.lower()]


# ------------------------------------------------------------------------------ a blocked member


async def test_the_document_reaches_the_group_and_every_secretariat_member_when_one_blocked_the_bot(tg, db):
    c = await cast(tg, db)
    group, admin = c.scene.group, c.scene.admin
    present = await secretariat_member(tg, db, c.scene.cluster_id, "Thư Ký Một")
    gone = await secretariat_member(tg, db, c.scene.cluster_id, "Đại Diện 3", user=c.reps[3])  # also unit 3's
    await register(gone, ("Tổ chức Festival Sinh vật cảnh", None))
    await gone.block()
    await c.chair.press(ACCEPT)  # the unit is told: the first message that cannot reach them
    assert (await pledge_of(db, c.units[3])).status == PledgeStatus.ACCEPTED
    await accepted_pledges(db, c.scene.year_id, [c.units[2]])
    await open_phase(c.scene, OPEN_SIGNING)
    await c.reps[2].send("/pledge")
    await c.reps[2].press(SIGN)
    await c.chair.send("/pledges")
    await c.chair.press("🏁 Kết thúc ký kết")
    await c.chair.press("🏁 Kết thúc ký kết")

    [in_group] = documents_in(group)
    [to_present] = documents_in(present.private)
    assert in_group.document_name.endswith(".docx") and to_present.document_bytes == in_group.document_bytes
    assert "Đã có 1/9 đơn vị ký." in in_group.plain and "Đã có 1/9 đơn vị ký." in to_present.plain
    assert documents_in(gone.private) == []
    # the administrators are told once, though two messages could not reach the member
    told = [t for t in admin.private.texts() if UNREACHABLE.format(name="Đại Diện 3") in t]
    assert len(told) == 1, admin.private.render_transcript()
    rows = [r for r in await outbox(db) if r.chat_id == gone.id]
    assert [(r.kind, r.status) for r in rows] == [
        (OutboxKind.MESSAGE, OutboxStatus.UNREACHABLE), (OutboxKind.DOCUMENT, OutboxStatus.UNREACHABLE),
    ]  # fmt: skip
    assert tg.rejections == [("sendMessage", "Forbidden: bot was blocked by the user"),
                             ("sendDocument", "Forbidden: bot was blocked by the user")]  # fmt: skip
    tg.rejections.clear()  # the two refusals this test is about


# ------------------------------------------------------------------------------ a failed reply, a 429


async def test_a_failed_reply_to_the_submitter_still_tells_the_reviewer(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await rep.send("/pledge")
    await add(rep, "Tập huấn kỹ thuật canh tác hữu cơ", "50 lớp")
    before = rep.private.last
    tg.fail_next("editMessageText", "network", chat_id=rep.id)
    await rep.press(SUBMIT)
    assert ("editMessageText", "network") in tg.injected
    assert rep.private.find(before.message_id).plain == before.plain  # the reply was lost
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.SUBMITTED
    notice = c.chair.private.last
    assert TO_REVIEW in notice.plain and "Hội Làm vườn Việt Nam" in notice.plain
    assert [ACCEPT, "↩️ Trả lại kèm góp ý"] in notice.buttons
    await c.chair.press(ACCEPT)
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.ACCEPTED
    assert "Cụm trưởng đã chấp nhận bản đăng ký thi đua năm 2026" in rep.private.last.plain


async def test_a_429_on_the_reviewers_notice_is_delivered_once_later(tg, db):
    c = await cast(tg, db)
    clock = Later()
    sender = await sender_of(tg, clock)
    rep = c.reps[2]
    await rep.send("/pledge")
    await add(rep, "Tập huấn kỹ thuật canh tác hữu cơ", "50 lớp")
    tg.fail_next("sendMessage", "retry_after", chat_id=c.chair.id, retry_after=30)
    await rep.press(SUBMIT)
    assert "Đã gửi" in rep.private.last.plain  # the submitter's own reply went at once
    assert not any(TO_REVIEW in t for t in c.chair.private.texts())
    [row] = [r for r in await outbox(db) if r.chat_id == c.chair.id]
    assert row.status is OutboxStatus.PENDING and row.attempts == 1
    await sender.run()  # not due yet: Telegram said 30 seconds
    assert not any(TO_REVIEW in t for t in c.chair.private.texts())
    clock.move(seconds=30)
    await sender.run()
    await sender.run()
    assert [TO_REVIEW in t for t in c.chair.private.texts()].count(True) == 1
    [row] = [r for r in await outbox(db) if r.chat_id == c.chair.id]
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    await c.chair.press(ACCEPT)  # the late notice works as any other
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.ACCEPTED


async def test_the_groups_note_about_an_amendment_survives_a_network_error(tg, db):
    c = await cast(tg, db)
    clock = Later()
    sender = await sender_of(tg, clock)
    await accepted_pledges(db, c.scene.year_id, [c.units[2]])
    await open_phase(c.scene, OPEN_SIGNING)
    rep, group = c.reps[2], c.scene.group
    await rep.send("/pledge")
    await rep.press(SIGN)
    await rep.press(AMEND)
    await rep.press(EDIT)
    await rep.press("1")
    await rep.press("✏️ Sửa nội dung")
    await rep.send("Cam kết số một, điều chỉnh")
    tg.fail_next("sendMessage", "network", chat_id=group.id)
    await rep.send("Theo kết luận của Ban Thường vụ")
    assert "Đã lưu: sửa nội dung cam kết 1." in rep.private.last.plain
    news = "sửa đổi, bổ sung giao ước thi đua năm"
    assert not any(news in t for t in group.texts())
    [row] = [r for r in await outbox(db) if (r.dedupe_key or "").startswith("pledge.amended:")]
    clock.offset = row.not_before - utcnow() + timedelta(seconds=1)
    await sender.run()
    await sender.run()
    assert [news in t for t in group.texts()].count(True) == 1
    assert "— Đại Diện 2" in next(t for t in group.texts() if news in t)


# ------------------------------------------------------------------------------ the signing board


async def test_many_signatures_edit_one_board_message_and_a_repeated_event_queues_nothing(tg, db):
    c = await cast(tg, db, rep_units=(2, 3, 4, 5, 6))
    group = c.scene.group
    signers = [c.reps[i] for i in (2, 3, 4, 5, 6)]
    await accepted_pledges(db, c.scene.year_id, [c.units[i] for i in (2, 3, 4, 5, 6)])
    await open_phase(c.scene, OPEN_SIGNING)
    [board] = boards(group)
    assert "Đã ký: 0/9 đơn vị" in board.plain and board.buttons == [[SIGN]]
    await signers[0].press(SIGN, chat=group)
    await asyncio.gather(*(rep.press(SIGN, chat=group, message_id=board.message_id) for rep in signers[1:4]))
    await signers[4].send("/pledge")
    await signers[4].press(SIGN)  # in private: the group's message follows as well

    [board] = boards(group)  # one message, edited, never posted again
    assert "Đã ký: 5/9 đơn vị" in board.plain and board.buttons == [[SIGN]]
    assert board.edits and "Đã ký: 0/9 đơn vị" in board.edits[0]
    for number in (3, 4, 5, 6, 7):
        assert f"✅ {number}. " in board.plain
    [live] = [r for r in await outbox(db) if r.live_key is not None]
    assert live.live_key == f"signing-board:{c.scene.year_id}" and live.telegram_message_id == board.message_id
    assert live.status is OutboxStatus.SENT

    # the same signature again: a second tap, and Telegram delivering the press twice
    rows, revision = await count_rows(db), live.revision
    answer = await signers[4].press_data(f"pls:s:{c.scene.year_id}", chat=group, message_id=board.message_id)
    assert answer["show_alert"] and "đã ký giao ước rồi" in answer["text"]
    await tg.redeliver()
    [live] = [r for r in await outbox(db) if r.live_key is not None]
    assert (await count_rows(db), live.revision) == (rows, revision)
    assert boards(group) == [group.find(board.message_id)] and group.find(board.message_id).plain == board.plain

    # closing the signing phase twice (a button and a deadline, say) concludes once
    async with db.session() as s:
        outcome = await service.signing_closed(s, c.scene.year_id, utcnow(), by_person_id=None)
        await s.commit()
    assert (outcome.signed, outcome.total) == (5, 9)
    rows = await count_rows(db)
    async with db.session() as s:
        assert await service.signing_closed(s, c.scene.year_id, utcnow(), by_person_id=None) is None
        await s.commit()
    assert await count_rows(db) == rows
    documents = [r for r in await outbox(db) if r.kind is OutboxKind.DOCUMENT]
    assert [r.dedupe_key for r in documents] == [f"pledge.document:{c.scene.year_id}:group"]


# ------------------------------------------------------------------------------ one transaction


async def test_notices_are_written_in_the_changes_transaction_and_a_refused_change_writes_none(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await rep.send("/pledge")
    await add(rep, "Tập huấn kỹ thuật canh tác hữu cơ", "50 lớp")
    pledge = await pledge_of(db, c.units[2])
    start = await count_rows(db)
    async with db.session() as s:  # the change rolled back: its notice goes with it
        actor = await actor_in(s, (await person_by_telegram_id(s, rep.id)).id, c.scene.cluster_id)
        with use_locale("vi"):
            submitted = await service.submit(s, actor, pledge.id, pledge.version)
        assert submitted.pledge.status == PledgeStatus.SUBMITTED
        assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == start + 1  # to the chair
        await s.rollback()
    assert await count_rows(db) == start
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.DRAFT

    # refused through the bot: signing before the phase, a stale submit, a stranger's review
    await c.reps[3].send("/pledge")
    answer = await rep.press_data(f"pl:sub:{pledge.id}:{pledge.version - 1}")
    assert answer["show_alert"]
    signer = await make_representative(tg, db, c.scene.cluster_id, c.units[4], "Đại Diện 4", c.scene.group)
    await signer.press_data(f"pls:s:{c.scene.year_id}", chat=c.scene.group, message_id=c.scene.group.last.message_id)
    await c.reps[3].press_data(f"plr:ok:{pledge.id}:{pledge.version}")
    assert await count_rows(db) == start
    assert not any(TO_REVIEW in t for t in c.chair.private.texts())

    # the same change committed: the chair is told
    await rep.press(SUBMIT)
    assert await count_rows(db) == start + 1
    assert TO_REVIEW in c.chair.private.last.plain


async def test_a_review_that_lost_to_a_withdrawal_tells_the_unit_nothing(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await register(rep, ("Tập huấn kỹ thuật canh tác hữu cơ", "50 lớp"))
    notice = c.chair.private.last
    await rep.press("↩️ Rút lại để sửa")
    rows = await count_rows(db)
    told = len(rep.private.bot_messages())
    await c.chair.press(ACCEPT, message_id=notice.message_id)
    assert "người khác" in c.chair.private.last.plain or "đã thay đổi" in c.chair.private.last.plain
    assert await count_rows(db) == rows and len(rep.private.bot_messages()) == told
    assert (await pledge_of(db, c.units[2])).status == PledgeStatus.DRAFT


async def test_the_hooks_for_the_phases_code_write_in_the_callers_transaction(tg, db):
    c = await cast(tg, db)
    group = c.scene.group
    sender = tg.app.bot_data["outbox"]
    async with db.session() as s:
        await service.signing_opened(s, c.scene.cluster_id, c.scene.year_id)
        await s.rollback()  # the phase did not open after all
    await sender.run()
    assert [r for r in await outbox(db) if r.live_key is not None] == [] and boards(group) == []
    async with db.session() as s:
        await service.signing_opened(s, c.scene.cluster_id, c.scene.year_id)
        await service.signing_opened(s, c.scene.cluster_id, c.scene.year_id)  # said twice, queued once
        await s.commit()
    await sender.run()
    [board] = boards(group)
    assert "Đã ký: 0/9 đơn vị" in board.plain and board.buttons == [[SIGN]] and board.edits == []
