"""What the pledge handlers share: the pieces of a pledge's text (from `bot.views.pledges`),
and showing the current pledge when someone else changed it first.

Not a conversation itself (it registers nothing): `handlers.pledge` (representatives),
`handlers.pledge_review` (the reviewers), `handlers.pledge_signing` (signing) and
`handlers.pledge_list` (/pledges) build on it. Nothing here sends to anyone but the person
whose update this is: notices are queued by `bot.services.pledges`.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from bot.i18n import _
from bot.views.pledges import name_text, nav_row, pages_of, pledge_header, quote, status_line
from handlers.base import Turn
from storage.models import Pledge

__all__ = ["name_text", "nav_row", "pages_of", "pledge_header", "quote", "show_current", "status_line"]


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
