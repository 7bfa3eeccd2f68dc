"""The last line of defence: log the traceback for the operator, apologise to the user.

Nothing technical reaches a chat. The apology is sent in the language the update was being
handled in; if even that fails (the user blocked the bot, Telegram is down) it is only logged.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.i18n import _
from handlers.base import BotContext

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
        if update.callback_query is not None:
            await update.callback_query.answer(apology(), show_alert=True)
        elif update.effective_chat is not None and update.effective_message is not None:
            await update.effective_chat.send_message(apology())
    except TelegramError:
        log.warning("could not send the apology", exc_info=True)


def register(app: Application) -> None:
    app.add_error_handler(on_error)
