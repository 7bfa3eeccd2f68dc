"""The demo's last days: next year's registration under a simulated clock (issue 12).

A secretariat member joins through an invite link. The new chair unit opens pledge
registration with a deadline four days ahead; two units submit their pledges. Then the clock
runs day by day: the late units' representatives are reminded (3 days, 1 day and the morning
before the deadline, never at night), the secretariat's 08:00 digest comes when something
changed — the morning after a quiet day brings none — and at the deadline the phase closes by
itself. Labels come from the catalog (`vi`), so the scene presses exactly what the bot shows.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from bot.demo_pledges import SUBMIT, add_commitment
from bot.demo_scoring import vi
from bot.offline import OfflineTelegram, SimChat, SimUser
from storage.models import utcnow

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


async def invite_secretary(admin: SimUser, secretary: SimUser) -> None:
    await admin.send("/invite")
    await admin.press(vi("🗂 A secretariat member"))
    token = re.search(r"start=(\S+)", admin.private.last.text).group(1)
    await secretary.send(f"/start {token}")
    await secretary.press(vi("✅ Yes, confirm"))


async def travel_to_next_morning(tg: OfflineTelegram, hour: int = 9) -> dt.datetime:
    """Move the clock to the next `hour`:00 local and return it. The scene's reminders and
    digests fall at set hours of the day (08:00 digests, no reminders at night), so what it
    shows must not depend on the hour the demo happens to be run: it always starts here."""
    now = utcnow().astimezone(TZ)
    start = dt.datetime.combine(now.date(), dt.time(hour, 0), tzinfo=TZ)
    if start <= now:
        start += dt.timedelta(days=1)
    await tg.travel(seconds=(start - now).total_seconds())
    return start


async def digest_scene(tg: OfflineTelegram, admin: SimUser, chair: SimUser, reps: list[SimUser],
                       secretary: SimUser, group: SimChat, bot: str) -> None:  # fmt: skip
    start = await travel_to_next_morning(tg)  # day 0, 09:00 local
    await invite_secretary(admin, secretary)
    await chair.send(f"/phase@{bot}", chat=group)
    opening = next(b for row in group.last.buttons for b in row if b.startswith("▶️"))
    await chair.press(opening, chat=group)
    await admin.send("/phase")
    await admin.press(vi("🗓 Set a deadline"))
    await admin.press(vi("✍️ Type a date and time"))
    deadline = dt.datetime.combine(start.date() + dt.timedelta(days=4), dt.time(17, 0), tzinfo=TZ)
    await admin.send(deadline.strftime("%d/%m/%Y %H:%M"))
    for rep, text in ((reps[0], "Tổ chức hội nghị tổng kết phong trào"), (reps[1], "Phát triển 30 hội viên mới")):
        await rep.send("/pledge")
        await add_commitment(rep, text, None)
        await rep.press(SUBMIT)
    await secretary.send("/digest")  # one now: what the secretariat sees
    # The days until the deadline, in steps of six hours: reminders and digests as they fall due.
    # Nothing changes the first day, so the next morning's digest is skipped; a third unit
    # submits (day 1, 09:00), so the morning after brings one.
    for _step in range(4):
        await tg.travel(hours=6)
    await reps[3].send("/pledge")
    await add_commitment(reps[3], "Xây dựng mô hình hợp tác xã kiểu mới", None)
    await reps[3].press(SUBMIT)
    for _step in range(3 * 4 + 2):  # to day 4, 21:00: past the 17:00 deadline, the phase closed
        await tg.travel(hours=6)
    await chair.send(f"/status@{bot}", chat=group)

