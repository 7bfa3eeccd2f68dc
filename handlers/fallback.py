"""Everything no other handler took: unknown commands, free text, stale buttons.

Registered last, so it only sees what nothing else understood. In groups it stays quiet unless
addressed, because with privacy mode on most group traffic is for people, not for the bot.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot import callbacks
from bot.i18n import _
from handlers.base import BotContext, Turn, answer_query, handler
from handlers.buttons import stale


@handler
async def unknown_command(update: Update, context: BotContext, turn: Turn) -> None:
    text = update.effective_message.text or ""
    command = text.split()[0] if text else ""
    if not turn.private and not command.lower().endswith("@" + (context.bot.username or "").lower()):
        return  # a plain /command in a group may be meant for another bot
    turn.reply(_("I don't know that command. Type /help to see what you can do."))


async def noop_button(update: Update, context: BotContext) -> None:
    await answer_query(update.callback_query)  # changes nothing: no session, no update record


@handler
async def stale_button(update: Update, context: BotContext, turn: Turn) -> None:
    raise stale()


def register(app: Application) -> None:
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    app.add_handler(CallbackQueryHandler(noop_button, pattern=rf"^{callbacks.NOOP}$"))
    app.add_handler(CallbackQueryHandler(stale_button))
