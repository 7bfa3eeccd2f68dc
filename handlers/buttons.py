"""Button presses: the typed button pressed, or the one answer for data we never built.

`bot.callbacks` declares each namespace's shapes. A handler module registers one table for
its namespace, shape → function (`dispatch`). Whatever does
not parse — a message drawn by an older version of the bot, or forged data — gets the "no
longer valid" pop-up before any handler runs, so nothing is changed and nothing is raised.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.callbacks import Button, Namespace
from bot.errors import Refusal
from bot.i18n import _
from handlers.base import BotContext, Turn, handler

B = TypeVar("B", bound=Button)
Route = Callable[[Update, BotContext, Turn, Any], Awaitable[None]]


def stale() -> Refusal:
    """The refusal for a button that no longer fits the data (old message, forged data)."""
    return Refusal(_("This button is no longer valid. Please use the newest message, or type /help."))


def pressed(update: Update, namespace: Namespace) -> Button:
    """The typed button of this press; the stale-button refusal when the data spells none."""
    query = update.callback_query
    button = namespace.unpack(query.data if query is not None else None)
    if button is None:
        raise stale()
    return button


def dispatch(namespace: Namespace, routes: Mapping[type[Button], Route]) -> CallbackQueryHandler:
    """The namespace's one handler: parse the press, then call the function for its shape.

    The table must cover the namespace's shapes exactly; that is checked when the module loads.
    """
    missing = [s.__name__ for s in namespace.shapes if s not in routes]
    unknown = [s.__name__ for s in routes if s not in namespace.shapes]
    if missing or unknown:
        raise TypeError(f"{namespace.name}: no route for {missing}, routes for foreign shapes {unknown}")

    async def press(update: Update, context: BotContext, turn: Turn) -> None:
        button = pressed(update, namespace)
        await routes[type(button)](update, context, turn, button)

    press.__name__ = press.__qualname__ = f"press_{namespace.name}"
    return callback_handler(namespace, handler(press))


def callback_handler(namespace: Namespace, callback: Callable[[Update, BotContext], Awaitable[Any]]) -> CallbackQueryHandler:
    """Register a handler that reads its presses itself with `pressed`."""
    return CallbackQueryHandler(callback, pattern=namespace.pattern)
