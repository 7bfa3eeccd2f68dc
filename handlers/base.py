"""What every handler shares: the typed context, one database session per update, the language,
and the turning of a `Refusal` into a polite reply.

A handler is written as `async def cmd(update, context, turn)` and decorated with `@handler`.
The wrapper opens the session, records the person, picks the language, runs the handler,
commits, and on a `Refusal` rolls back and answers with the refusal's message — so a handler
reads like the conversation it implements.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden
from telegram.ext import CallbackContext, ExtBot

from bot.errors import Refusal
from bot.i18n import pick_locale, set_locale
from bot.settings import Settings
from storage.db import Database
from storage.models import Cluster, Person
from storage.people import cluster_by_chat, upsert_person

log = logging.getLogger(__name__)


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """The PTB context with typed access to the bot's shared objects."""

    @property
    def db(self) -> Database:
        return self.bot_data["db"]

    @property
    def settings(self) -> Settings:
        return self.bot_data["settings"]


@dataclass
class Turn:
    """One update's state: its session, who sent it, where, and the replies it will send.

    Replies are queued (`reply`, `edit`, `answer`, `after_commit`) and sent by the wrapper only
    after the session has committed and closed: a message never claims something was saved
    that then failed to commit, and no database lock is held while Telegram (or the rate
    limiter) makes us wait.
    """

    update: Update
    session: AsyncSession
    person: Person | None
    cluster: Cluster | None  # the cluster bound to the chat, for group updates
    locale: str
    settings: Settings
    private: bool
    outgoing: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    answered: bool = False  # Telegram takes one answer per button press

    def reply(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Send a message to the chat this update came from."""
        self.outgoing.append(lambda: self._send(text, markup))

    def edit(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Replace the text of the message whose button was pressed."""
        self.outgoing.append(lambda: self._edit(text, markup))

    def answer(self, text: str | None = None, alert: bool = False) -> None:
        """Answer a button press (a small toast, or a pop-up with `alert`)."""
        assert self.update.callback_query is not None, "answer() is for button presses"
        self.outgoing.append(lambda: self.answer_now(text, alert))

    def after_commit(self, action: Callable[[], Awaitable[Any]]) -> None:
        """Run any other Telegram call once the update's data is safely stored."""
        self.outgoing.append(action)

    async def answer_now(self, text: str | None = None, alert: bool = False) -> None:
        query = self.update.callback_query
        if query is None or self.answered:
            return
        self.answered = True
        await query.answer(text, show_alert=alert)

    async def refuse(self, text: str) -> None:
        """Say no: as a pop-up on a button press (when it fits), else as a message."""
        if self.update.callback_query is not None and len(text) <= 200:
            await self.answer_now(text, alert=True)
            return
        await self._send(text, None)

    async def _send(self, text: str, markup: InlineKeyboardMarkup | None) -> Message:
        await self.answer_now()
        chat = self.update.effective_chat
        assert chat is not None, "a reply needs an update that has a chat"
        return await chat.send_message(text, reply_markup=markup)

    async def _edit(self, text: str, markup: InlineKeyboardMarkup | None) -> None:
        """A second tap on a button whose keyboard is gone changes nothing."""
        query = self.update.callback_query
        assert query is not None, "edit() is for button presses"
        message = query.message
        if markup is None and message is not None and getattr(message, "reply_markup", None) is None:
            await self.answer_now()
            return
        try:
            await query.edit_message_text(text, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise
        await self.answer_now()


HandlerFunc = Callable[[Update, BotContext, Turn], Awaitable[Any]]


def handler(func: HandlerFunc) -> Callable[[Update, BotContext], Awaitable[Any]]:
    @functools.wraps(func)
    async def wrapper(update: Update, context: BotContext) -> Any:
        settings = context.settings
        chat = update.effective_chat
        private = chat is not None and chat.type == ChatType.PRIVATE
        async with context.db.session() as session:
            person = await _person_of(session, update)
            cluster = None
            if chat is not None and not private:
                cluster = await cluster_by_chat(session, chat.id)
            if private or chat is None:
                user = update.effective_user
                locale = pick_locale(
                    person.locale if person else None,
                    user.language_code if user else None,
                    settings.locale,
                )
            else:
                locale = cluster.locale if cluster is not None else settings.locale
            set_locale(locale)
            turn = Turn(update, session, person, cluster, locale, settings, private)
            try:
                await func(update, context, turn)
            except Refusal as refusal:
                await session.rollback()
                message = refusal.message
                turn.outgoing = [lambda: turn.refuse(message)]
            else:
                await session.commit()
        for send in turn.outgoing:
            await send()
        await turn.answer_now()  # a press nobody answered would leave the button spinning

    return wrapper


async def _person_of(session: AsyncSession, update: Update) -> Person | None:
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    return await upsert_person(
        session,
        telegram_user_id=user.id,
        full_name=user.full_name,
        username=user.username,
        language_code=user.language_code,
    )


async def announce(bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None) -> Message | None:
    """Post to a cluster's group; a group that removed the bot must not undo the user's action."""
    try:
        return await bot.send_message(chat_id, text, reply_markup=markup)
    except (Forbidden, BadRequest) as exc:
        log.warning("could not post to chat %s: %s", chat_id, exc)
        return None
