"""The last line of defence: log the traceback for the operator, apologise to the user.

An update that failed because the database was out of reach is not an error yet: the person
is told once that it is kept, and `handlers/retry.py` handles it again when the database is
back (an error is logged only if it never comes back in time).

Nothing technical reaches a chat. The apology is sent in the language the update was being
handled in, as a pop-up on a button press (as a message when the press is too old to answer);
if even that fails (the user blocked the bot, Telegram is down) it is only logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.i18n import _
from handlers import retry
from handlers.base import BotContext, answer_query
from storage.db import is_unavailable

log = logging.getLogger("thidua.errors")


def apology() -> str:
    return _(
        "Sorry, something went wrong on my side. What you saved before is kept; "
        "please try again in a moment."
    )


def kept_apology() -> str:
    return _(
        "The system is briefly unavailable. What you sent is kept and will be handled "
        "as soon as the system is back."
    )


async def on_error(update: object, context: BotContext) -> None:
    if isinstance(update, Update) and context.error is not None and is_unavailable(context.error):
        verdict = retry.of(context.application).failed(update)
        if verdict == "first":
            await _tell(update, kept_apology)
        elif verdict == "gave up":
            await _tell(update, apology)
        return
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    await _tell(update, apology)


async def _tell(update: Update, text: Callable[[], str]) -> None:
    """Say `text()` where the update came from: a pop-up on a button press, else a message."""
    try:
        message = text()
        query = update.callback_query
        if query is not None and await answer_query(query, message, alert=True):
            return
        if update.effective_chat is not None and (query is not None or update.effective_message is not None):
            await update.effective_chat.send_message(message)
    except TelegramError:
        log.warning("could not send the apology", exc_info=True)


def register(app: Application) -> None:
    retry.register(app)
    app.add_error_handler(on_error)
