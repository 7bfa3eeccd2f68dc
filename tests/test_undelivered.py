"""What the bot could not deliver (issue 9, item 2): the count in /status, the list in
/undelivered, sending parked messages again, and a person who unblocks the bot getting what
they missed — through the real Application, the harness and a real database."""

from __future__ import annotations

from sqlalchemy import select

from storage import outbox as store
from storage.models import OutboxMessage, OutboxStatus, RecipientKind, UnreachableChat
from tests.support import add_units, bound_cluster, make_representative


async def queue(tg, db, chat_id: int, key: str, text: str, cluster_id: int) -> None:
    async with db.session() as s:
        await store.enqueue(s, chat_id=chat_id, key=key, payload={"text": text},
                            recipient=RecipientKind.PERSON, cluster_id=cluster_id)  # fmt: skip
        await s.commit()
    await tg.app.bot_data["outbox"].run()


async def statuses(db, chat_id: int) -> list[OutboxStatus]:
    async with db.session() as s:
        return list(await s.scalars(select(OutboxMessage.status).where(OutboxMessage.chat_id == chat_id)
                                    .order_by(OutboxMessage.id)))  # fmt: skip


async def test_a_blocked_representative_is_counted_listed_and_served_again_after_start(tg, db):
    scene = await bound_cluster(tg, db)
    [unit, *_] = await add_units(db, scene.cluster_id, ["Sở Tài chính", "Sở Công Thương"])
    rep = await make_representative(tg, db, scene.cluster_id, unit, "Trần Văn Bình")
    await rep.block()
    await queue(tg, db, rep.id, "notice:1", "Hồ sơ của đơn vị đã được chấp nhận.", scene.cluster_id)
    assert await statuses(db, rep.id) == [OutboxStatus.UNREACHABLE]
    tg.rejections.clear()  # Telegram's 403 is the point

    await scene.admin.send("/status")
    assert "📭 1 tin nhắn chưa gửi được: /undelivered" in scene.admin.private.last.plain
    await scene.admin.send("/status", chat=scene.group)
    assert "chưa gửi được" not in scene.group.last.plain  # never in the group

    await scene.admin.send("/undelivered")
    listing = scene.admin.private.last.plain
    assert "Tin nhắn chưa gửi được — Cụm kinh tế: 1" in listing
    assert "Tin nhắn gửi Trần Văn Bình" in listing and "người nhận đã chặn bot" in listing
    assert "đã được chấp nhận" not in listing  # who missed what kind of notice, not its content

    await rep.send("/start")  # unblocked: Telegram delivers their message again
    assert "Hồ sơ của đơn vị đã được chấp nhận." in rep.private.texts()
    assert await statuses(db, rep.id) == [OutboxStatus.SENT]
    async with db.session() as s:
        assert (await s.scalars(select(UnreachableChat))).all() == []
    await scene.admin.send("/status")
    assert "chưa gửi được" not in scene.admin.private.last.plain
    await scene.admin.send("/undelivered")
    assert "Mọi tin nhắn của Cụm kinh tế đều đã được gửi." in scene.admin.private.last.plain

    # Blocked again later: a new spell, and the administrator is told again.
    told = [t for t in scene.admin.private.texts() if "Trần Văn Bình" in t and "chặn" in t]
    await rep.block()
    await queue(tg, db, rep.id, "notice:2", "Thông báo mới.", scene.cluster_id)
    tg.rejections.clear()
    again = [t for t in scene.admin.private.texts() if "Trần Văn Bình" in t and "chặn" in t]
    assert len(again) == len(told) + 1


async def test_parked_messages_go_again_with_the_button_and_only_for_who_may(tg, db):
    scene = await bound_cluster(tg, db)
    [unit, *_] = await add_units(db, scene.cluster_id, ["Sở Tài chính", "Sở Công Thương"])
    rep = await make_representative(tg, db, scene.cluster_id, unit, "Lê Thị Chi")
    tg.fail_next("sendMessage", "bad_request", chat_id=rep.id)
    await queue(tg, db, rep.id, "notice:1", "Lịch họp bình xét.", scene.cluster_id)
    assert await statuses(db, rep.id) == [OutboxStatus.PARKED]

    await rep.send("/undelivered")  # a representative may not
    assert "Tin nhắn chưa gửi được" not in rep.private.last.plain
    assert "Chỉ quản trị cụm hoặc thư ký cụm mới làm được việc này." in rep.private.last.plain

    await scene.admin.send("/undelivered")
    assert "Telegram không nhận (đã thử 1 lần)" in scene.admin.private.last.plain
    await scene.admin.press("🔁 Gửi lại các tin nhắn tạm dừng")
    assert "Đã xếp lại 1 tin nhắn để gửi." in scene.admin.private.last.plain
    assert rep.private.last.plain == "Lịch họp bình xét."
    assert await statuses(db, rep.id) == [OutboxStatus.SENT]
    await scene.admin.send("/undelivered")
    assert "Mọi tin nhắn của Cụm kinh tế đều đã được gửi." in scene.admin.private.last.plain


async def test_what_a_returning_person_missed_long_ago_is_history_not_undelivered(tg, db):
    scene = await bound_cluster(tg, db)
    [unit, *_] = await add_units(db, scene.cluster_id, ["Sở Tài chính", "Sở Công Thương"])
    rep = await make_representative(tg, db, scene.cluster_id, unit, "Trần Văn Bình")
    await rep.block()
    await queue(tg, db, rep.id, "notice:1", "Thông báo cũ.", scene.cluster_id)
    tg.rejections.clear()
    await tg.travel(days=8)
    await rep.send("/start")  # back after the week: the old notice is not sent again
    assert "Thông báo cũ." not in rep.private.texts()
    await scene.admin.send("/status")
    assert "chưa gửi được" not in scene.admin.private.last.plain
    await scene.admin.send("/undelivered")
    assert "Mọi tin nhắn của Cụm kinh tế đều đã được gửi." in scene.admin.private.last.plain
