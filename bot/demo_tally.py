"""The demo's last scene: the chair counts the year in the group (`/tally`, confirmed), the
result and its chart are posted, the papers reach the chair in private, and the chair starts
next year with the elected chair unit (the handover announced). `save_papers` writes the files
the chair received to a folder, so a new user can open them.

Labels come from the catalog (`vi`), so the scene presses exactly what the bot shows.
"""

from __future__ import annotations

from pathlib import Path

from bot.demo_scoring import vi
from bot.offline import OfflineTelegram, SimChat, SimUser


async def tally_scene(tg: OfflineTelegram, chair: SimUser, group: SimChat, bot: str) -> None:
    await chair.send(f"/tally@{bot}", chat=group)
    await chair.press(vi("✅ Count now"), chat=group)
    await tg.travel(minutes=2)  # the group takes 20 messages a minute: the summary waits its turn
    await chair.send("/result")
    await chair.press(vi("➡️ Start next year with the elected units"), chat=group)
    confirm = next(b for row in group.last.buttons for b in row if b.startswith("✅"))
    await chair.press(confirm, chat=group)
    await tg.travel(minutes=1)


def save_papers(chat: SimChat, folder: Path) -> list[Path]:
    """Every file the bot sent into `chat`, written to `folder` (the newest copy of a name)."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for record in chat.bot_messages():
        if record.document_name and record.document_bytes is not None:
            path = folder / Path(record.document_name).name
            path.write_bytes(record.document_bytes)
            written[record.document_name] = path
    return sorted(written.values())
