"""Telegram's redeliveries and refusals, through the real Application and the offline harness.

Telegram sends an update again when the bot did not confirm it in time or crashed, sometimes
while the first copy is still being handled; it refuses to take an answer to a button press
that is too old, and to an edit that changes nothing; and it sends a button press on a message
it no longer shows the bot as an "inaccessible" message. None of that may write twice, reach
the error handler, or leave the person without an answer. Runs on SQLite, or on PostgreSQL
with THIDUA_TEST_DATABASE_URL (`.ci/with-postgres`).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import func, select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message

from handlers.base import shows
from storage.models import Cluster, Invite, Person, ProcessedUpdate, utcnow
from storage.updates import PRUNE_EVERY
from tests.support import BOT, add_units, bound_cluster
from tests.test_scoring import press_on_a_stale_card, sheet_values, world
from tests.test_verification import verification_world

SAVED_1_1 = "✅ Đã lưu tiêu chí 1.1"
STALE = "Nút này không còn hiệu lực. Hãy dùng tin nhắn mới nhất, hoặc gõ /help."


async def recorded_ids(db) -> set[int]:
    async with db.session() as s:
        return set((await s.scalars(select(ProcessedUpdate.update_id))).all())


def said(user, fragment: str) -> int:
    """How many of the bot's messages to `user` (edited ones as they are now) contain it."""
    return sum(fragment in text for text in user.private.texts())


def calls(tg, method: str) -> int:
    return sum(name == method for name, _params in tg.calls)


# ------------------------------------------------------------------------------ redelivered


async def test_a_typed_score_delivered_again_is_written_once(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    typed = await rep.send("8,5")
    await tg.redeliver(typed)
    _sheet, values = await sheet_values(db, w.units[0])
    assert values["1.1"][0] == Decimal("8.5")
    assert "1.2" not in values or values["1.2"][0] is None  # not the next criterion too
    assert said(rep, SAVED_1_1) == 1 and said(rep, "✅ Đã lưu tiêu chí 1.2") == 0
    assert typed.update_id in await recorded_ids(db)


async def test_an_invite_press_delivered_again_makes_one_link(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, ["Hội Làm vườn Việt Nam", "Hội Thuỷ sản Việt Nam"])
    await scene.admin.send("/invite")
    await scene.admin.press("Hội Làm vườn Việt Nam")
    await tg.redeliver()  # the press
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Invite)) == 1
    links = [t for t in scene.admin.private.texts() if re.search(rf"t\.me/{BOT}\?start=", t)]
    assert len(links) == 1


async def test_a_button_press_delivered_again_is_answered_once_and_applied_once(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await rep.press("29,5")
    query_id = tg.callback_answers[-1]["callback_query_id"]
    edits = calls(tg, "editMessageText")
    await tg.redeliver()
    # No second answer (Telegram would refuse it as too old), no edit, no error, no write.
    assert [a["callback_query_id"] for a in tg.callback_answers].count(query_id) == 1
    assert calls(tg, "editMessageText") == edits
    _sheet, values = await sheet_values(db, w.units[0])
    assert values["1.1"][0] == Decimal("29.5")
    assert "1.2" not in values or values["1.2"][0] is None


async def test_a_refused_update_delivered_again_is_not_refused_twice(tg, db):
    user = tg.user("Người Lạ", language_code="vi")
    await user.send("/start")
    await user.send("/invite")  # no role anywhere: refused
    refusals = len(user.private.texts())
    await tg.redeliver()
    assert len(user.private.texts()) == refusals
    assert tg.last_update_id in await recorded_ids(db)


async def test_an_update_that_failed_is_handled_when_telegram_sends_it_again(tg, db):
    admin = tg.user("Quản Trị Viên", language_code="vi")
    await admin.send("/start")
    group = tg.group("Cụm kinh tế", admins=[admin])
    await tg.add_bot_to_group(group, by=admin)
    tg.fail_next("getChatMember", "network")  # /setup asks Telegram who the sender is
    setup = await admin.send(f"/setup@{BOT}", chat=group)
    assert len(tg.errors) == 1  # reported, with the apology: the update did not go through
    tg.errors.clear()
    assert setup.update_id not in await recorded_ids(db)
    await tg.redeliver(setup)
    async with db.session() as s:
        assert await s.scalar(select(Cluster).where(Cluster.telegram_chat_id == group.id)) is not None
    assert setup.update_id in await recorded_ids(db)


# ------------------------------------------------------------------------------ at the same instant


async def test_a_typed_score_delivered_twice_at_once_is_written_once(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await rep.send("8,5", copies=2)
    _sheet, values = await sheet_values(db, w.units[0])
    assert values["1.1"][0] == Decimal("8.5")
    assert "1.2" not in values or values["1.2"][0] is None
    assert said(rep, SAVED_1_1) == 1


async def test_a_button_press_delivered_twice_at_once_is_answered_once(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await rep.press("29,5", copies=2)
    assert len({a["callback_query_id"] for a in tg.callback_answers}) == len(tg.callback_answers)
    _sheet, values = await sheet_values(db, w.units[0])
    assert values["1.1"][0] == Decimal("29.5")
    assert "1.2" not in values or values["1.2"][0] is None


async def test_a_newcomers_first_message_delivered_twice_at_once_greets_once(tg, db):
    user = tg.user("Người Mới", language_code="vi")
    await user.send("/start", copies=2)
    assert said(user, "Xin chào, Người Mới!") == 1
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Person)) == 1


async def test_a_setup_delivered_twice_at_once_sets_up_once_though_it_commits_early(tg, db):
    """/setup commits before asking Telegram about the sender, so the twin is not held back
    by the first's lock: only the record of the update id lets one of them through."""
    admin = tg.user("Quản Trị Viên", language_code="vi")
    await admin.send("/start")
    group = tg.group("Cụm kinh tế", admins=[admin])
    await tg.add_bot_to_group(group, by=admin)
    greetings = len(group.texts())
    await admin.send(f"/setup@{BOT}", chat=group, copies=2)
    assert len(group.texts()) == greetings + 1
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Cluster)) == 1


# ------------------------------------------------------------------------------ the record's size


async def test_update_ids_older_than_two_days_are_forgotten_now_and_then(tg, db):
    now = utcnow()
    async with db.session() as s:
        s.add_all([
            ProcessedUpdate(update_id=7, processed_at=now - dt.timedelta(days=3)),
            ProcessedUpdate(update_id=8, processed_at=now - dt.timedelta(hours=47)),
        ])  # fmt: skip
        await s.commit()
    user = tg.user("An", language_code="vi")
    tg.last_update_id = 3 * PRUNE_EVERY - 2
    await user.send("/start")  # not a pruning id: nothing is deleted
    assert await recorded_ids(db) == {7, 8, 3 * PRUNE_EVERY - 1}
    await user.send("/help")  # the next id prunes
    assert await recorded_ids(db) == {8, 3 * PRUNE_EVERY - 1, 3 * PRUNE_EVERY}


async def test_an_id_seen_more_than_two_days_ago_is_a_new_update(tg, db):
    """After a week without updates Telegram picks the next id at random: it may be one whose
    row pruning has not reached yet."""
    old = utcnow() - dt.timedelta(days=8)
    tg.last_update_id = 3 * PRUNE_EVERY + 40
    async with db.session() as s:
        s.add(ProcessedUpdate(update_id=tg.last_update_id + 1, processed_at=old))
        await s.commit()
    user = tg.user("An", language_code="vi")
    await user.send("/start")
    assert said(user, "Xin chào, An!") == 1
    async with db.session() as s:
        row = await s.get(ProcessedUpdate, tg.last_update_id)
        assert row.processed_at > old + dt.timedelta(days=7)
    await tg.redeliver()  # and now it counts
    assert said(user, "Xin chào, An!") == 1


# ------------------------------------------------------------------------------ answers refused


async def test_an_answer_telegram_refuses_as_too_old_is_not_an_error(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    tg.fail_next("answerCallbackQuery", "query_too_old")
    await rep.press("29,5")
    assert tg.injected == [("answerCallbackQuery", "query_too_old")]
    assert SAVED_1_1 in rep.private.last.plain  # the press did its work
    # (the `tg` fixture fails the test on any handler error)


async def test_a_refusal_whose_pop_up_is_too_old_comes_as_a_message(tg, db):
    user = tg.user("An", language_code="vi")
    await user.send("/start")
    tg.fail_next("answerCallbackQuery", "query_too_old")
    await user.press_data("zz:forged")  # a button nothing knows: refused as stale
    assert tg.injected == [("answerCallbackQuery", "query_too_old")]
    assert user.private.last.plain == STALE


# ------------------------------------------------------------------------------ edits


async def test_pressing_the_option_already_selected_sends_no_edit(tg, db):
    w = await verification_world(tg, db)
    await w.admin.send("/verify")
    panel = w.admin.private.last
    assert panel.buttons[-1] == ["✅ Cụm trưởng thẩm định", "Chấm chéo"]
    edits = calls(tg, "editMessageText")
    answer = await w.admin.press("✅ Cụm trưởng thẩm định")
    assert calls(tg, "editMessageText") == edits  # Telegram would refuse it as not modified
    assert answer is not None and answer["text"] is None and tg.unanswered_queries == []
    assert w.admin.private.find(panel.message_id).edit_count == 0
    await w.admin.press("Chấm chéo")  # a real change still edits
    assert calls(tg, "editMessageText") == edits + 1
    assert w.admin.private.last.buttons[-1] == ["Cụm trưởng thẩm định", "✅ Chấm chéo"]


def message(text: str, entities: list[dict], markup: InlineKeyboardMarkup | None = None) -> Message:
    data = {"message_id": 5, "date": 1, "chat": {"id": 1, "type": "private"}, "text": text,
            "entities": entities}  # fmt: skip
    if markup is not None:
        data["reply_markup"] = markup.to_dict()
    return Message.de_json(data, None)


def test_a_message_shows_the_same_html_however_its_characters_were_escaped():
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Don't", callback_data="a:1")]])
    shown = message("Don't stop & \"go\" <now>", [{"type": "bold", "offset": 6, "length": 4}], keyboard)
    assert shows(shown, "Don't <b>stop</b> &amp; \"go\" &lt;now&gt;\n", keyboard)
    assert shows(shown, "Don&#x27;t <b>stop</b> &amp; &quot;go&quot; &lt;now&gt;", keyboard)
    assert not shows(shown, "Don't stop &amp; \"go\" &lt;now&gt;", keyboard)  # not bold
    assert not shows(shown, "Don't <b>stop</b> &amp; \"go\" &lt;now&gt;", None)  # keyboard differs
    other = InlineKeyboardMarkup([[InlineKeyboardButton("Don't", callback_data="a:2")]])
    assert not shows(shown, "Don't <b>stop</b> &amp; \"go\" &lt;now&gt;", other)
    assert shows(message("x", []), "x", InlineKeyboardMarkup([]))  # no rows is no keyboard


# ------------------------------------------------------------------------------ inaccessible


async def test_a_page_button_on_an_inaccessible_message_sends_the_page_as_a_new_message(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, [f"Đơn vị số {i} " + "rất dài " * 22 for i in range(60)])
    await scene.admin.send("/units")
    first = scene.admin.private.last
    assert "▶" in first.buttons[0]
    await scene.admin.press("▶", inaccessible=True)
    page = scene.admin.private.last
    assert page.message_id != first.message_id  # a new message: the old one cannot be read
    assert page.text.split("\n")[2].startswith("19. Đơn vị số 18 ")
    assert "2/" in page.buttons[0][1] and first.edit_count == 0
    assert tg.unanswered_queries == []


async def test_an_invite_page_button_on_an_inaccessible_message_shows_the_page_with_its_question(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, [f"Hội số {i}" for i in range(1, 13)])
    await scene.admin.send("/invite")
    first = scene.admin.private.last
    await scene.admin.press("▶", inaccessible=True)
    page = scene.admin.private.last
    assert page.message_id != first.message_id and first.edit_count == 0
    assert page.plain == first.plain  # the question, rendered again rather than read back
    assert "Hội số 12" in [b for row in page.buttons for b in row]


async def test_a_press_on_a_stale_sheet_delivered_again_is_dropped(tg, db):
    """A press that lost to a newer version shows the current sheet; its update id is kept
    through the rollback that reloads the sheet, so Telegram's second copy changes nothing
    and says nothing."""
    w, _first, second, _card = await press_on_a_stale_card(tg, db)  # refused as stale, sheet shown again
    answers, texts = len(tg.callback_answers), len(second.private.texts())
    assert tg.last_update_id in await recorded_ids(db)
    await tg.redeliver()
    assert (len(tg.callback_answers), len(second.private.texts())) == (answers, texts)
    assert (await sheet_values(db, w.units[0]))[1]["1.1"][0] == Decimal(30)
