"""`python -m bot demo`: a scripted session through the offline harness, printed as transcripts.

It runs the real Application and handlers on the configured database, with simulated people
talking to an in-process fake of the Bot API, so a newcomer sees the whole cycle as far as it is
built without a token or a network. Every capability adds its scene here. The demo also serves
as a smoke test: it reports (and fails on) any error a handler raised or any call Telegram would
have refused.
"""

from __future__ import annotations

import sys
from typing import TextIO

from bot.app import build_application
from bot.i18n import _
from bot.offline import OfflineTelegram, SimChat
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade_async

BOT_USERNAME = "ThiDuaBot"


async def run_demo(settings: Settings, out: TextIO | None = None) -> bool:
    """Play the script; True when no handler failed and Telegram refused nothing."""
    out = out or sys.stdout
    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    tg = OfflineTelegram(bot_username=BOT_USERNAME, bot_first_name="ThiĐua Bot")
    app = build_application(
        settings,
        db,
        token=tg.token,
        request=tg.make_request(),
        get_updates_request=tg.make_request(),
    )
    chats: list[SimChat] = []
    async with tg.running(app):
        # Fixed ids: the demo may run again on the same database and meets the same people.
        chair = tg.user("Trần Thị Bình", username="binh_tran", language_code="vi", id=700001)
        rep = tg.user("Lê Văn Cường", username="cuong_le", language_code="vi", id=700002)
        group = tg.group("Cụm thi đua kinh tế 2024", admins=[chair], members=[rep])

        await chair.send("/start")
        await chair.send("/help")
        await chair.send("/lang")
        await chair.press("English")
        await chair.send("/help")
        await chair.send("/lang")
        await chair.press("Tiếng Việt")

        await rep.send("/start")
        await rep.send("xin chào")

        await tg.add_bot_to_group(group, by=chair)
        await chair.send(f"/help@{BOT_USERNAME}", chat=group)

        chats = [chair.private, rep.private, group]
    for chat in chats:
        out.write("\n" + chat.render_transcript() + "\n")
    problems = [repr(e) for e in tg.errors] + [f"{m}: {d}" for m, d in tg.rejections]
    for problem in problems:
        out.write(_("Demo problem: {problem}").format(problem=problem) + "\n")
    return not problems
