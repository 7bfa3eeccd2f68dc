"""The next message a guided step is waiting for, in a private chat.

A step that wants typed input (unit names, a deadline, a file) calls `expect(turn, step, ...)`;
the person's next private message — text, document, photo or anything else — is routed to the
function registered for that step with `@on_input(step)`. The expectation lives in the
database (`ConversationState`, flow "input"), so a restart in between loses nothing, and a
refusal from the step keeps it waiting. `/cancel` drops it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.i18n import _
from handlers.base import BotContext, Turn, handler
from storage.conversation import clear_state, get_state, set_state

INPUT_FLOW = "input"
InputFunc = Callable[[Update, BotContext, Turn, dict[str, Any]], Awaitable[None]]
_STEPS: dict[str, InputFunc] = {}


def on_input(step: str) -> Callable[[InputFunc], InputFunc]:
    def register(func: InputFunc) -> InputFunc:
        if step in _STEPS and _STEPS[step] is not func:
            raise ValueError(f"input step {step!r} registered twice")
        _STEPS[step] = func
        return func

    return register


async def expect(turn: Turn, step: str, **data: Any) -> None:
    """Route this person's next private message to `step`, with `data` kept for it."""
    assert step in _STEPS, f"no @on_input({step!r}) handler"
    assert turn.person is not None and turn.update.effective_chat is not None
    await set_state(
        turn.session, turn.person.id, turn.update.effective_chat.id, INPUT_FLOW, step, data
    )


async def expect_in_private(turn: Turn, step: str, **data: Any) -> int:
    """Like `expect`, for a button pressed in a group: the person types the answer in their
    private chat with the bot (a group's messages are not read). Returns that chat's id, which
    is the person's Telegram id; writing there is the caller's (it fails if the person never
    opened the chat, see `bot.offline`'s 403)."""
    assert step in _STEPS, f"no @on_input({step!r}) handler"
    assert turn.person is not None
    chat_id = turn.person.telegram_user_id
    await set_state(turn.session, turn.person.id, chat_id, INPUT_FLOW, step, data)
    return chat_id


async def done(turn: Turn) -> None:
    """The step got what it wanted: stop routing messages to it."""
    assert turn.person is not None and turn.update.effective_chat is not None
    await clear_state(turn.session, turn.person.id, turn.update.effective_chat.id, INPUT_FLOW)


@handler
async def route_input(update: Update, context: BotContext, turn: Turn) -> None:
    state = None
    if turn.person is not None:
        state = await get_state(turn.session, turn.person.id, update.effective_chat.id, INPUT_FLOW)
    if state is None or state.step not in _STEPS:
        turn.reply(_("I work with commands and buttons. Type /help to see what you can do."))
        return
    await _STEPS[state.step](update, context, turn, dict(state.data))


@handler
async def cancel(update: Update, context: BotContext, turn: Turn) -> None:
    dropped = turn.person is not None and await clear_state(
        turn.session, turn.person.id, update.effective_chat.id, INPUT_FLOW
    )
    turn.reply(_("Cancelled. Nothing you saved before was lost.") if dropped else _("Nothing to cancel."))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("cancel", cancel, filters=filters.ChatType.PRIVATE))
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL, route_input
        )
    )
