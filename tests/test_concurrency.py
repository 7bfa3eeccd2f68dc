"""No update waits behind another chat, and each chat's and each person's updates stay in order
(issue 9, item 4), through the real Application, its `KeyedUpdateProcessor` and the offline
harness, on SQLite or PostgreSQL.

`tg.hold(chat)` makes Telegram slow for one chat: the bot's calls to it wait until released.
With PTB's default (one update at a time) the first test's stranger would wait for the group;
with PTB's `SimpleUpdateProcessor` (concurrent, no order) the other two would see a person's
later message handled before, or beside, their earlier one.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bot.services import tables
from bot.update_processor import KeyedUpdateProcessor
from tests.conftest import BOT_USERNAME
from tests.test_scoring import sheet_values, world

AT_ONCE = 60  # seconds: a generous bound for a loaded CI machine; a held call waits forever


async def test_a_held_group_send_does_not_delay_a_strangers_private_start(tg):
    assert isinstance(tg.app.update_processor, KeyedUpdateProcessor)
    chair = tg.user("Chủ tịch", language_code="vi")
    group = tg.group("Cụm thi đua kinh tế", admins=[chair])
    with tg.hold(group) as held:
        adding = asyncio.create_task(tg.add_bot_to_group(group, by=chair))
        await asyncio.wait_for(held.reached.wait(), AT_ONCE)  # the greeting is on its way
        stranger = tg.user("Người Lạ", language_code="vi")
        await asyncio.wait_for(stranger.send("/start"), AT_ONCE)
        assert "Xin chào, Người Lạ!" in stranger.private.last.text
        assert not adding.done() and group.bot_messages() == []
        assert held.waiting == ["sendMessage"]
    await asyncio.wait_for(adding, AT_ONCE)
    greetings = group.bot_messages()
    assert len(greetings) == 1 and f"/setup@{BOT_USERNAME}" in greetings[0].text


async def test_a_persons_private_message_waits_for_their_earlier_group_command(tg):
    """/setup asks Telegram who administers the group before it stores anything; the same
    person's /start in private, sent meanwhile, must see the cluster /setup then creates."""
    admin = tg.user("Quản Trị Viên", language_code="vi")
    await admin.send("/start")
    assert "chưa có vai trò" in admin.private.last.text
    group = tg.group("Cụm kinh tế", admins=[admin])
    await tg.add_bot_to_group(group, by=admin)
    with tg.hold(group) as held:
        setting_up = asyncio.create_task(admin.send(f"/setup@{BOT_USERNAME}", chat=group))
        await asyncio.wait_for(held.reached.wait(), AT_ONCE)
        assert held.waiting == ["getChatMember"]  # nothing stored yet
        starting = asyncio.create_task(admin.send("/start"))
        done, _pending = await asyncio.wait({starting}, timeout=0.5)
        assert not done, "the private /start overtook the same person's /setup"
    await asyncio.wait_for(asyncio.gather(setting_up, starting), AT_ONCE)
    text = admin.private.last.text
    assert "Cụm kinh tế" in text and "quản trị" in text, text


async def test_a_persons_quick_typed_scores_land_in_order(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    typed = ["29", "9", "8", "7", "6", "5", "4", "3"]  # 1.1 (of 30), then criteria of 10
    await asyncio.wait_for(asyncio.gather(*(rep.send(v) for v in typed)), AT_ONCE * 4)
    _sheet, values = await sheet_values(db, w.units[0])
    async with db.session() as s:
        codes = [c.code for c in (await tables.current_table(s, w.scene.year_id)).criteria]
    assert [values[c][0] for c in codes[: len(typed)]] == [Decimal(v) for v in typed], values
    saved = [t for t in rep.private.texts() if "✅ Đã lưu tiêu chí" in t]
    assert len(saved) == len(typed)
