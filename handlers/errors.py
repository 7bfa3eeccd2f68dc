"""The last line of defence: log the traceback for the operator, apologise to the user.

Nothing technical reaches a chat. The apology is sent in the language the update was being
handled in, as a pop-up on a button press (as a message when the press is too old to answer);
if even that fails (the user blocked the bot, Telegram is down) it is only logged.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.i18n import _
from handlers.base import BotContext, answer_query

log = logging.getLogger("thidua.errors")


def apology() -> str:
    return _(
        "Sorry, something went wrong on my side. What you saved before is kept; "
        "please try again in a moment."
    )


async def on_error(update: object, context: BotContext) -> None:
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        query = update.callback_query
        if query is not None and await answer_query(query, apology(), alert=True):
            return
        if update.effective_chat is not None and (query is not None or update.effective_message is not None):
            await update.effective_chat.send_message(apology())
    except TelegramError:
        log.warning("could not send the apology", exc_info=True)


def register(app: Application) -> None:
    app.add_error_handler(on_error)
