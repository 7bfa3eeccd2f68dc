"""The demo's ballot scene: the chair opens the voting phase and two secret ballots — the
proposal for the emulation flag and the election of next year's chair unit. Each of the nine
units votes in private (its own unit is not on its paper), receives its tracker, the group
follows the turnout, and at close the ballot board is published with its SHA-256.

Played by `bot.demo` after the scoring scene. Labels come from the catalog (`vi`), so the
scene presses exactly what the bot shows.
"""

from __future__ import annotations

import re

from bot.demo_scoring import open_phase, vi
from bot.offline import SimChat, SimUser
from bot.views.ballots import KIND_NAMES
from storage.models import BallotKind, PhaseKind

# Who each unit marks (an index into the units): the flag goes to the fifth unit (Liên minh
# Hợp tác xã Việt Nam), which itself marks the first; the chair election to the third.
FLAG_CHOICES = (4, 4, 4, 0, 0, 4, 4, 2, 4)
CHAIR_CHOICES = (2, 2, 0, 2, 2, 2, 1, 2, 2)


def kind_title(kind: BallotKind) -> str:
    return vi(KIND_NAMES[kind])


async def open_ballot(chair: SimUser, group: SimChat, kind: BallotKind, bot: str) -> int:
    await chair.send(f"/ballot@{bot}", chat=group)
    await chair.press(vi("➕ Open: {title}", title=kind_title(kind)), chat=group)
    await chair.press(vi("✅ Open the ballot"), chat=group)
    announced = next(r for r in reversed(group.bot_messages()) if "start=vote-" in str(r.reply_markup))
    return int(re.search(r"start=vote-(\d+)", str(announced.reply_markup)).group(1))


async def cast(rep: SimUser, ballot_id: int, unit_name: str) -> None:
    await rep.send(f"/start vote-{ballot_id}")
    await rep.press("⬜ " + unit_name[:60])
    await rep.press(vi("➡️ Review and cast"))
    await rep.press(vi("🗳 Cast the paper"))


async def close_ballot(chair: SimUser, group: SimChat, kind: BallotKind, bot: str) -> None:
    await chair.send(f"/ballot@{bot}", chat=group)
    await chair.press(vi("⏹ Close: {title}", title=kind_title(kind)), chat=group)
    await chair.press(vi("⏹ Close the vote"), chat=group)


async def ballot_scene(chair_rep: SimUser, reps: list[SimUser], units: tuple[str, ...], group: SimChat,
                       bot: str) -> None:  # fmt: skip
    await open_phase(chair_rep, PhaseKind.VOTING)
    for kind, choices in ((BallotKind.FLAG, FLAG_CHOICES), (BallotKind.CHAIR, CHAIR_CHOICES)):
        ballot_id = await open_ballot(chair_rep, group, kind, bot)
        for rep, choice in zip(reps, choices, strict=True):
            await cast(rep, ballot_id, units[choice])
        await close_ballot(chair_rep, group, kind, bot)
