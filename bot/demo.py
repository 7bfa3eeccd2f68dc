"""`python -m bot demo`: a scripted session through the offline harness, printed as transcripts.

It runs the real Application and handlers on the configured database, with simulated people
talking to an in-process fake of the Bot API, so a newcomer sees the whole cycle as far as it is
built without a token or a network. Every capability adds its scene here. The demo also serves
as a smoke test: it reports (and fails on) any error a handler raised or any call Telegram would
have refused.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.app import build_application
from bot.demo_ballots import ballot_scene
from bot.demo_digest import digest_scene
from bot.demo_pledges import pledge_scene
from bot.demo_scoring import scoring_scene
from bot.demo_tally import save_papers, tally_scene
from bot.i18n import _
from bot.offline import OfflineTelegram, SimChat, SimUser
from bot.settings import Settings
from handlers.keyboards import label
from storage.db import Database
from storage.migrate import upgrade_async
from storage.models import utcnow

BOT_USERNAME = "ThiDuaBot"
# The nine units of the 2024 economic cluster (seed article 001), chair and vice-chair first.
ECONOMIC_CLUSTER_2024 = (
    "Hiệp hội của Thương binh và Người khuyết tật Việt Nam",
    "Hội Mỹ nghệ Kim hoàn Đá quý Việt Nam",
    "Hội Làm vườn Việt Nam",
    "Hội Sinh vật cảnh Việt Nam",
    "Liên minh Hợp tác xã Việt Nam",
    "Hiệp hội Làng nghề Việt Nam",
    "Hiệp hội Doanh nghiệp nhỏ và vừa Việt Nam",
    "Hội Thuỷ sản Việt Nam",
    "Liên đoàn Thương mại và Công nghiệp Việt Nam",
)
REPRESENTATIVES = (
    "Nguyễn Văn An", "Trần Thị Bích", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em",
    "Vũ Thị Giang", "Đặng Văn Hải", "Bùi Thị Lan", "Đỗ Văn Minh",
)
# Telegram ids far above any real account's, and new on every run: the demo may run again on
# the same database (even a production one) and must never meet a real person or group.
_ID_BASE = 9_000_000_000_000_000


class DemoPeople:
    def __init__(self, tg: OfflineTelegram) -> None:
        self.tg = tg
        self.base = _ID_BASE + secrets.randbelow(10**9) * 1000
        self.count = 0

    def user(self, name: str, username: str | None = None) -> SimUser:
        self.count += 1
        return self.tg.user(name, username=username, language_code="vi", id=self.base + self.count)

    def group(self, title: str, admins: list[SimUser], members: list[SimUser]) -> SimChat:
        return self.tg.group(title, admins=admins, members=members, id=-(self.base + 999))


@dataclass
class Cast:
    """Who plays the demo: the administrator, one representative per unit (in the order of
    ECONOMIC_CLUSTER_2024; reps[0] represents the chair unit) and the cluster's group."""

    admin: SimUser
    reps: list[SimUser]
    group: SimChat

    @property
    def chair_rep(self) -> SimUser:
        return self.reps[0]


async def play(tg: OfflineTelegram, people: DemoPeople) -> list[SimChat]:
    """The script, scene after scene as the year goes; returns the chats worth printing."""
    cast = await setup_scene(tg, people)
    admin, reps, group, bot = cast.admin, cast.reps, cast.group, BOT_USERNAME
    # Pledges: register, one returned and fixed, accepted, signed; the group gets the .docx.
    await pledge_scene(tg, admin, cast.chair_rep, reps, group, bot)
    # Scoring: self-assessment with evidence, verification, a dispute decided, the table.
    await scoring_scene(tg, admin, cast.chair_rep, reps, group, bot)
    # A deadline acts by itself: two days later the open phase closes and the group is told.
    await deadline_scene(tg, admin)
    # Secret ballots: the flag proposal and next year's chair; trackers, turnout, the board.
    await ballot_scene(cast.chair_rep, reps, ECONOMIC_CLUSTER_2024, group, bot)
    await cast.chair_rep.send(f"/status@{bot}", chat=group)
    # The count: /tally in the group, the result and its chart, the papers, next year started.
    await tally_scene(tg, cast.chair_rep, group, bot)
    # Next year's registration under a running clock: reminders to the late units only, the
    # secretariat's digest when something changed (none after a quiet day), the deadline.
    secretary = people.user("Lưu Thị Thư")
    group.members.append(secretary)
    await digest_scene(tg, admin, reps[2], reps, secretary, group, bot)  # reps[2]: the elected chair unit
    return [admin.private, cast.chair_rep.private, reps[2].private, reps[4].private, reps[8].private,
            secretary.private, group]


async def setup_scene(tg: OfflineTelegram, people: DemoPeople) -> Cast:
    """First contact, the group bound, units, chair, invites, registration opened."""
    admin = people.user("Trần Thị Bình", username="binh_tran")
    reps = [people.user(name) for name in REPRESENTATIVES]
    group = people.group("Cụm thi đua kinh tế", admins=[admin], members=reps)
    bot = BOT_USERNAME

    # First contact: /start, /help and /lang, in Vietnamese and English.
    await admin.send("/start")
    await admin.send("/help")
    await admin.send("/lang")
    await admin.press("English")
    await admin.send("/help")
    await admin.send("/lang")
    await admin.press("Tiếng Việt")

    # The group: the bot greets it, its Telegram administrator binds it to the cluster.
    await tg.add_bot_to_group(group, by=admin)
    await admin.send(f"/setup@{bot}", chat=group)
    await admin.press("✓ Cụm thi đua", chat=group)  # the default kind, confirmed

    # Units, pasted as one list, and the year's chair and vice-chair (appointed in 2024).
    await admin.send("/units")
    await admin.press("➕ Thêm đơn vị")
    await admin.send("\n".join(f"{i}. {name}" for i, name in enumerate(ECONOMIC_CLUSTER_2024, 1)))
    await admin.send("/chair")
    await admin.press("Chọn Cụm trưởng")
    await admin.press(label(ECONOMIC_CLUSTER_2024[0]))
    await admin.press("Chọn Cụm phó")
    await admin.press(label(ECONOMIC_CLUSTER_2024[1]))

    # One representative per unit, each through their own one-time invite link.
    for unit, rep in zip(ECONOMIC_CLUSTER_2024, reps, strict=True):
        await admin.send("/invite")
        picker = admin.private.last
        while label(unit) not in [b for row in picker.buttons for b in row]:
            await admin.press("▶", message_id=picker.message_id)
        await admin.press(label(unit), message_id=picker.message_id)
        token = re.search(r"start=(\S+)", admin.private.last.text).group(1)
        await rep.send(f"/start {token}")
        await rep.press("✅ Đúng, xác nhận")
    await admin.send("/members")
    await reps[2].send("/start")

    # The chair unit's representative opens pledge registration from the group; the
    # administrator types its deadline in private. Then where the year stands.
    chair_rep = reps[0]
    await chair_rep.send(f"/phase@{bot}", chat=group)
    await chair_rep.press("▶️ Mở Đăng ký thi đua", chat=group)
    await admin.send("/phase")
    await admin.press("🗓 Đặt hạn chót")
    await admin.press("✍️ Nhập ngày giờ")
    deadline = utcnow().astimezone(ZoneInfo("Asia/Ho_Chi_Minh")) + dt.timedelta(days=30)
    await admin.send(deadline.strftime("%d/%m/%Y 17:00"))
    await admin.send("/table")
    await chair_rep.send(f"/status@{bot}", chat=group)
    await admin.send("/status")
    return Cast(admin, reps, group)



async def deadline_scene(tg: OfflineTelegram, admin: SimUser) -> None:
    """The administrator sets tomorrow 17:00 as the open phase's deadline; the demo's clock
    then jumps two days (`tg.travel`), and the bot closes the phase by itself."""
    await admin.send("/phase")
    await admin.press("🗓 Đặt hạn chót")
    await admin.press("✍️ Nhập ngày giờ")
    tomorrow = utcnow().astimezone(ZoneInfo("Asia/Ho_Chi_Minh")) + dt.timedelta(days=1)
    await admin.send(tomorrow.strftime("%d/%m/%Y 17:00"))
    await tg.travel(days=2)
    await admin.send("/phase")


async def run_demo(settings: Settings, out: TextIO | None = None, papers: Path | None = None) -> bool:
    """Play the script; True when no handler failed and Telegram refused nothing. The files
    the chair received (the count's papers, the pledge document) are written to `papers`."""
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
        # The fake Bot API has no flood limits to respect; with the limiter on, the 20/min
        # into one group would make the demo wait for minutes of simulated meetings.
        rate_limit=False,
    )
    chats: list[SimChat] = []
    async with tg.running(app):
        people = DemoPeople(tg)
        chats = await play(tg, people)
    for chat in chats:
        out.write("\n" + chat.render_transcript() + "\n")
    if papers is not None and chats:
        written = save_papers(chats[1], papers)  # the chair unit's representative's private chat
        out.write("\n" + _("The demo's papers are in {folder}:").format(folder=papers) + "\n")
        for path in written:
            out.write(f"  {path.name}\n")
    problems = [repr(e) for e in tg.errors] + [f"{m}: {d}" for m, d in tg.rejections]
    for problem in problems:
        out.write(_("Demo problem: {problem}").format(problem=problem) + "\n")
    return not problems
