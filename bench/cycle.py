"""(a) and (f): a whole year of one cluster through the real bot, and the same updates through
a bare PTB echo bot.

The script is the demo's (bot/demo*.py) scaled to `units` units, played in Vietnamese with the
labels the bot renders: the administrator binds the group, pastes the units, names the chair
and vice-chair, invites one representative per unit (each joins through the link); every unit
registers a pledge, the chair accepts them (the vice-chair the chair's own), signing opens and
every unit signs; every unit scores itself (a few with an evidence file or photo) and submits;
the chair verifies every sheet (the vice-chair the chair's); the flag ballot opens, every unit
casts, it closes; the chair counts with /tally. Every update fed in is counted and timed.

The echo bot is an `Application` with one `MessageHandler` (replies) and one
`CallbackQueryHandler` (answers), behind its own harness, fed the very same update payloads.
"""

from __future__ import annotations

import re
import time

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bench.harness import BOT, Feed, MeasuredTelegram, running_bot
from bot.demo_ballots import cast, close_ballot, open_ballot
from bot.demo_pledges import ACCEPT, OPEN_SIGNING, SIGN, SUBMIT, add_commitment
from bot.demo_scoring import SCORES, open_phase, score_and_submit, vi
from bot.offline import OfflineTelegram, SimChat, SimUser
from handlers.keyboards import label
from storage.models import BallotKind, PhaseKind


def unit_name(i: int) -> str:
    return f"Sở Tư pháp tỉnh thành viên số {i + 1:02d}"


def buttons(message) -> list[str]:
    return [b for row in message.buttons for b in row]


async def pick(user: SimUser, wanted: str, chat: SimChat | None = None, message_id: int | None = None) -> None:
    """Press `wanted` in a paged picker, turning pages (▶) until it shows."""
    chat = chat or user.private
    message = chat.find(message_id) if message_id is not None else chat.last
    while wanted not in buttons(message):
        await user.press("▶", chat=chat, message_id=message.message_id)
        message = chat.find(message.message_id)
    await user.press(wanted, chat=chat, message_id=message.message_id)


def group_calls(tg: OfflineTelegram) -> int:
    """The bot's calls addressed to a group: what Telegram (and PTB's limiter) holds to 20 a
    minute per group."""
    return sum(1 for _method, params in tg.calls if str(params.get("chat_id", "")).startswith("-"))


async def play(tg: OfflineTelegram, units: int) -> None:
    names = [unit_name(i) for i in range(units)]
    admin = tg.user("Trần Thị Bình", username="binh_tran", language_code="vi")
    reps = [tg.user(f"Đại diện {i + 1:02d}", language_code="vi") for i in range(units)]
    group = tg.group("Cụm thi đua số 5", admins=[admin], members=reps)
    chair, vice = reps[0], reps[1]

    # Set-up: the group bound, the units pasted, the chair and vice-chair named.
    await admin.send("/start")
    await tg.add_bot_to_group(group, by=admin)
    await admin.send(f"/setup@{BOT}", chat=group)
    await admin.press("✓ Cụm thi đua", chat=group)
    await admin.send("/units")
    await admin.press(vi("➕ Add units"))
    await admin.send("\n".join(f"{i}. {n}" for i, n in enumerate(names, 1)))
    await admin.send("/chair")
    await admin.press("Chọn Cụm trưởng")
    await pick(admin, label(names[0]))
    await admin.press("Chọn Cụm phó")
    await pick(admin, label(names[1]))

    # Invites: one link per unit, each representative joins through it.
    for name, rep in zip(names, reps, strict=True):
        await admin.send("/invite")
        await pick(admin, label(name))
        token = re.search(r"start=(\S+)", admin.private.last.text).group(1)
        await rep.send(f"/start {token}")
        await rep.press(vi("✅ Yes, confirm"))

    # Pledges: registration opens in the group, every unit registers, the chair accepts.
    await chair.send(f"/phase@{BOT}", chat=group)
    await chair.press("▶️ Mở Đăng ký thi đua", chat=group)
    to_review: list[tuple[SimUser, int]] = []
    for i, rep in enumerate(reps):
        await rep.send("/pledge")
        await add_commitment(rep, f"Hoàn thành chỉ tiêu trọng tâm số {i + 1} của năm", "100%")
        await rep.press(SUBMIT)
        reviewer = vice if rep is chair else chair
        to_review.append((reviewer, reviewer.private.last.message_id))
    for reviewer, message_id in to_review:
        await reviewer.press(ACCEPT, message_id=message_id)

    # Signing: the chair opens it; every unit signs in its private chat.
    await chair.send("/phase")
    await chair.press(OPEN_SIGNING)
    for rep in reps:
        await rep.send("/pledge")
        await rep.press(SIGN)

    # Scoring: every unit scores the default table's criteria; three attach evidence.
    await open_phase(chair, PhaseKind.SCORING)
    evidence = {0: (0, "Bao-cao-tong-ket.pdf", "Báo cáo tổng kết năm, mục II.1."),
                1: (3, None, "Ảnh hội nghị điển hình tiên tiến."),
                9: (1, "Quyet-dinh-khen-thuong.pdf", "Quyết định khen thưởng kèm theo.")}  # fmt: skip
    for i, rep in enumerate(reps):
        await score_and_submit(rep, SCORES[i % len(SCORES)], evidence.get(i))

    # Verification: the chair verifies every other sheet, the vice-chair the chair's.
    await open_phase(chair, PhaseKind.VERIFICATION)
    for verifier in (chair, vice):
        while True:
            await verifier.send("/verify")
            listing = verifier.private.last
            while not (waiting := [b for b in buttons(listing) if b.startswith("⏳ ")]) and "▶" in buttons(listing):
                await verifier.press("▶", message_id=listing.message_id)
                listing = verifier.private.find(listing.message_id)
            if not waiting:
                break
            await verifier.press(waiting[0], message_id=listing.message_id)
            await verifier.press(vi("📊 The sheet's totals"))
            await verifier.press(vi("✅ Accept all the rest"))

    # The flag ballot: opened in the group, every unit casts in private, closed; then the count.
    await open_phase(chair, PhaseKind.VOTING)
    ballot_id = await open_ballot(chair, group, BallotKind.FLAG, BOT)
    for i, rep in enumerate(reps):
        await cast(rep, ballot_id, names[(i + 1) % units if i < 2 else 1])
    await close_ballot(chair, group, BallotKind.FLAG, BOT)
    await chair.send(f"/tally@{BOT}", chat=group)
    await chair.press(vi("✅ Count now"), chat=group)


async def bot_cycle(url: str, units: int, rate_limit: bool) -> tuple[Feed, float, int]:
    """The full cycle through the real bot: (what was fed in, wall seconds, calls into groups)."""
    async with running_bot(url, rate_limit=rate_limit) as (tg, _db):
        started = time.perf_counter()
        await play(tg, units)
        seconds = time.perf_counter() - started
    return tg.feed, seconds, group_calls(tg)


# ------------------------------------------------------------------------------ the echo bot


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text or "👍", do_quote=False)


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer("👍")


class _EchoTelegram(MeasuredTelegram):
    """A harness that knows the chats and presses of the payloads it replays."""

    def mirror(self, payload: dict) -> None:
        body = payload.get("message") or payload.get("callback_query") or payload.get("my_chat_member") or {}
        user = body.get("from") or {}
        if user.get("id") and user["id"] not in self.users:
            self.user(user.get("first_name", "?"), id=user["id"], started=True)
        chat = (body.get("message") or body).get("chat") or {}
        if chat.get("id", 0) < 0 and chat["id"] not in self.chats:
            self.group(chat.get("title", "?"), id=chat["id"]).bot_status = "member"
        if "callback_query" in payload:
            q = payload["callback_query"]
            self._queries[q["id"]] = {"id": q["id"], "user_id": user["id"], "chat_id": chat["id"],
                                      "data": q.get("data"), "message_id": q["message"]["message_id"],
                                      "answered": False}  # fmt: skip


async def echo_cycle(payloads: list[dict], rate_limit: bool) -> tuple[Feed, float, int]:
    """The same updates through a bare echo bot: (what was fed in, wall seconds, calls into groups)."""
    tg = _EchoTelegram(bot_username="EchoBot")
    builder = ApplicationBuilder().token(tg.token).request(tg.make_request()).get_updates_request(tg.make_request())
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=2))
    app = builder.build()
    app.add_handler(MessageHandler(filters.ALL, _echo))
    app.add_handler(CallbackQueryHandler(_answer))
    for payload in payloads:
        tg.mirror(payload)
    async with tg.running(app):
        started = time.perf_counter()
        for payload in payloads:
            await tg._deliver(payload)  # a my_chat_member update matches no handler: PTB drops it
        seconds = time.perf_counter() - started
    if tg.errors or tg.rejections:
        raise RuntimeError(f"the echo bot failed: {tg.errors[:3]!r} {tg.rejections[:3]}")
    return tg.feed, seconds, group_calls(tg)


async def both(url: str, units: int, rate_limit: bool) -> dict:
    bot_feed, bot_seconds, bot_group = await bot_cycle(url, units, rate_limit)
    echo_feed, echo_seconds, echo_group = await echo_cycle(bot_feed.payloads, rate_limit)
    assert echo_feed.count == bot_feed.count, (echo_feed.count, bot_feed.count)
    return {"rate_limit": rate_limit, "units": units, "updates": bot_feed.count, "bot_seconds": bot_seconds,
            "echo_seconds": echo_seconds, "bot": bot_feed, "echo": echo_feed, "group_calls": bot_group,
            "echo_group_calls": echo_group}  # fmt: skip


