"""Vietnamese (or English) text from plain data: the one module that writes what users read.

Everything returned here is Telegram HTML; every user-supplied string is escaped here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape, unescape

from bot.commands import CommandSpec
from bot.i18n import _
from bot.permissions import Role, role_name


def welcome(first_name: str, role_lines: Sequence[str]) -> str:
    parts = [
        _("Hello, {name}!").format(name=escape(first_name)),
        _(
            "<b>ThiĐua Bot</b> runs your emulation cluster's year in Telegram: "
            "pledges, self-scoring with evidence, verification, the secret-ballot "
            "evaluation and the results."
        ),
    ]
    if role_lines:
        shown = chunk_lines(role_lines, limit=3000)[0].split("\n")  # the message stays < 4096
        listing = "\n".join(shown)
        if len(shown) < len(role_lines):
            listing += "\n" + _("… and {count} more.").format(count=len(role_lines) - len(shown))
        parts.append(_("<b>Your clusters and roles</b>") + "\n" + listing)
    else:
        parts.append(
            _(
                "You have no role in any cluster yet. Ask your cluster's administrator "
                "for an invite link and open it here."
            )
        )
    parts.append(_("Type /help to see what you can do."))
    return "\n\n".join(parts)


def role_line(cluster_name: str, role: str, unit_name: str | None, chair: bool, vice: bool) -> str:
    """One line of /start: `• Cụm kinh tế: unit representative — Hội Làm vườn (chair unit)`."""
    text = f"• <b>{escape(cluster_name)}</b>: {role_name(role)}"
    if unit_name:
        text += f" — {escape(unit_name)}"
    if chair:
        text += f" ({role_name(Role.CHAIR)})"
    elif vice:
        text += f" ({role_name(Role.VICE_CHAIR)})"
    return text


def help_text(commands: Iterable[CommandSpec], bot_username: str | None, private: bool) -> str:
    lines = [_("<b>Commands</b>")]
    for command in commands:
        name = f"/{command.name}" if private or not bot_username else f"/{command.name}@{bot_username}"
        lines.append(f"{name} — {_(command.description)}")
    if private:
        lines.append("")
        lines.append(_("Buttons under my messages do the rest; a draft is saved at every step."))
    return "\n".join(lines)


def group_greeting(bot_username: str) -> str:
    return _(
        "Hello! I am <b>ThiĐua Bot</b>, the assistant of an emulation cluster: pledges, "
        "self-scoring, secret-ballot evaluation and results.\n\n"
        "To begin, one of this group's administrators sends /setup@{bot} to bind this group "
        "to its cluster. I need no admin rights here and I work with privacy mode on: "
        "in this group, write commands as /command@{bot}."
    ).format(bot=escape(bot_username))


def chunk_lines(lines: Sequence[str], limit: int = 3500) -> list[str]:
    """Join lines into pages that each stay well under Telegram's 4096 characters."""
    pages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if len(line) > limit:
            line = line[: limit - 1] + "…"
        if current and size + len(line) + 1 > limit:
            pages.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current or not pages:
        pages.append("\n".join(current))
    return pages


def unit_lines(units: Iterable, chair_id: int | None = None, vice_id: int | None = None) -> list[str]:
    lines = []
    for number, unit in enumerate(units, start=1):
        line = f"{number}. {escape(unit.name)}"
        if unit.id == chair_id:
            line += " — <b>" + role_name(Role.CHAIR) + "</b>"
        elif unit.id == vice_id:
            line += " — <b>" + role_name(Role.VICE_CHAIR) + "</b>"
        if not unit.active:
            line += " <i>(" + _("inactive") + ")</i>"
        lines.append(line)
    return lines


CAPTION_LIMIT = 1024  # Telegram's caption limit: UTF-16 units of the text once the HTML is parsed
_TAG = re.compile(r"<[^>]*>")


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit_caption(html: str, limit: int = CAPTION_LIMIT) -> str:
    """A file's HTML caption within Telegram's limit. Ours are short by construction (names are
    at most 300 characters), so this is a guard: one that would be too long becomes its plain
    text, cut with "…" — never cut inside a tag or an `&amp;`, which Telegram would refuse."""
    visible = unescape(_TAG.sub("", html))
    if _utf16(visible) <= limit:
        return html
    cut = visible[: limit - 1]
    while _utf16(cut) > limit - 1:  # an emoji is two units
        cut = cut[:-1]
    return escape(cut.rstrip() + "…", quote=False)
