"""What the pledge handlers share: the text of a pledge, paging, telling people in private.

Not a conversation itself (it registers nothing): `handlers.pledge` (representatives),
`handlers.pledge_review` (the chair), `handlers.pledge_signing` (signing, the group's signing
message, the document) and `handlers.pledge_list` (/pledges) build on it.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterable
from html import escape
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden

from bot import callbacks, fmt, render
from bot import pledges as rules
from bot.i18n import _, pick_locale, use_locale
from bot.pledges import Item
from handlers.base import Turn
from storage.models import Person, Pledge, PledgeStatus

log = logging.getLogger(__name__)

NAME_MAX = 100
PAGE_BUDGET = 3900  # a page's characters, header included: under Telegram's 4096


def name_text(name: str, limit: int = NAME_MAX) -> str:
    return escape(name if len(name) <= limit else name[: limit - 1].rstrip() + "…")


def quote(text: str, limit: int = 1000) -> str:
    return "<i>" + escape(text if len(text) <= limit else text[: limit - 1] + "…") + "</i>"


def status_line(status: PledgeStatus | None) -> str:
    return f"{rules.STATUS_ICONS[status]} {rules.status_name(status)}"


def pledge_header(unit_name: str, year: int, pledge: Pledge, tz: ZoneInfo) -> list[str]:
    lines = [
        _("📝 <b>Pledge {year}</b> — {unit}").format(year=year, unit=name_text(unit_name)),
        _("Status: {status} · version {version}").format(
            status=status_line(pledge.status), version=pledge.version
        ),
    ]
    if pledge.status == PledgeStatus.RETURNED and pledge.review_comment:
        lines.append(_("↩️ The chair's comment: {comment}").format(comment=quote(pledge.review_comment)))
    if pledge.status == PledgeStatus.SIGNED and pledge.signed_at is not None:
        lines.append(_("✍️ Signed on {when}.").format(when=fmt.datetime(pledge.signed_at, tz)))
    return lines


def pages_of(head: Iterable[str], items: list[Item], foot: Iterable[str] = (), note: str | None = None) -> list[str]:
    """The pledge split into pages: header (and note) on every page, commitments in between,
    the footer on the last; each page under Telegram's limit however long the texts are."""
    top = "\n".join([*([note, ""] if note else []), *head])
    bottom = "\n".join(foot)
    lines = rules.item_lines(items) or ["<i>" + _("No commitments yet.") + "</i>"]
    budget = max(PAGE_BUDGET - len(top) - len(bottom) - 4, 1200)
    chunks = render.chunk_lines(lines, limit=budget)
    pages = []
    for index, chunk in enumerate(chunks):
        parts = [top, chunk]
        if index == len(chunks) - 1 and bottom:
            parts.append(bottom)
        pages.append("\n\n".join(p for p in parts if p))
    return pages


def nav_row(page: int, total: int, turn_to: Callable[[int], callbacks.Button]) -> list[InlineKeyboardButton]:
    """◀ 2/3 ▶ — pages of one pledge; ◀ and ▶ are the buttons `turn_to(page)`."""
    if total <= 1:
        return []
    row = []
    if page > 0:
        row.append(InlineKeyboardButton("◀", callback_data=turn_to(page - 1).pack()))
    row.append(InlineKeyboardButton(f"{page + 1}/{total}", callback_data=callbacks.NOOP))
    if page < total - 1:
        row.append(InlineKeyboardButton("▶", callback_data=turn_to(page + 1).pack()))
    return row


def when_text(value: dt.datetime | None, tz: ZoneInfo) -> str:
    return fmt.datetime(value, tz) if value is not None else ""


# ----------------------------------------------------------------------------- telling people


def locale_of(person: Person, default: str) -> str:
    return pick_locale(person.locale, person.language_code, default)


async def send_quietly(bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> Message | None:
    """A message to someone who may have blocked the bot (or never opened it): the action
    that caused it stands either way."""
    try:
        return await bot.send_message(chat_id, text, reply_markup=markup)
    except Forbidden as exc:
        log.info("could not write to %s: %s", chat_id, exc)
    except BadRequest as exc:
        log.warning("could not write to %s: %s", chat_id, exc)
    return None


def tell(
    turn: Turn,
    bot: Bot,
    people: Iterable[Person],
    compose: Callable[[], tuple[str, InlineKeyboardMarkup | None]],
) -> None:
    """Queue a private message to each person, composed in their own language, sent after
    the change is committed."""
    seen = set()
    for person in people:
        if person.id in seen:
            continue
        seen.add(person.id)
        with use_locale(locale_of(person, turn.settings.locale)):
            text, markup = compose()
        turn.after_commit(functools.partial(send_quietly, bot, person.telegram_user_id, text, markup))


async def show_current(
    turn: Turn,
    view: Callable,
    pledge_id: int,
    notice: str,
    alert: str,
    typed: str | None = None,
) -> None:
    """Someone else changed the pledge first: show its current version (re-read from the
    database), with what the person typed quoted back so nothing they wrote is lost."""
    pledge = await turn.session.get(Pledge, pledge_id, populate_existing=True)
    note = "⚠️ " + escape(notice)
    if typed:
        note += "\n" + _("What you typed (not saved):") + "\n" + quote(typed)
    text, markup = await view(turn, pledge, note=note)
    if turn.update.callback_query is not None:
        turn.answer(alert, alert=True)
        turn.edit(text, markup)
    else:
        turn.reply(text, markup)
