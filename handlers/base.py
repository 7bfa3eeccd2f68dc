"""What every handler shares: the typed context, one database session per update, the language,
and the turning of a `Refusal` into a polite reply.

A handler is written as `async def cmd(update, context, turn)` and decorated with `@handler`.
The wrapper opens the session, records the person, picks the language, runs the handler,
commits, and on a `Refusal` rolls back and answers with the refusal's message — so a handler
reads like the conversation it implements.

The wrapper also drops an update that was handled before (Telegram redelivers one it thinks
the bot did not get, see `storage/models/update.py`), and the `Turn` skips edits that would
change nothing and copes with presses Telegram no longer lets it answer or edit.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html import escape, unescape
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackContext, ExtBot

from bot.errors import Refusal
from bot.i18n import pick_locale, set_locale
from bot.render import fit_caption
from bot.settings import Settings
from storage.db import AFTER_COMMIT, Database, run_after_commit
from storage.models import Cluster, Person
from storage.outbox import ENQUEUED
from storage.people import cluster_by_chat, upsert_person
from storage.schedule import SCHEDULED
from storage.updates import record_processed, was_processed

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

    def reply_file(self, data: bytes, filename: str, caption: str | None = None,
                   markup: InlineKeyboardMarkup | None = None) -> None:  # fmt: skip
        """Send a file to the chat this update came from (a table, a report, the pledge's
        document), once the update's data is stored. The caption is the file's label, kept
        within Telegram's limit (`bot.render.fit_caption`); the file carries the content."""
        self.outgoing.append(lambda: self._send_file(data, filename, caption, markup))

    def after_commit(self, action: Callable[[], Awaitable[Any]]) -> None:
        """Run any other Telegram call once the update's data is safely stored."""
        self.outgoing.append(action)

    async def roll_back(self) -> None:
        """Undo what the update wrote so far (a write that lost, to be read again) but not
        the record of the update: the rollback takes its id, recorded first, so it is recorded
        again and Telegram's second copy of the update is still dropped. A twin's record made
        meanwhile stands (the same check as a refusal's, below)."""
        await self.session.rollback()
        await record_processed(self.session, self.update.update_id)

    async def answer_now(self, text: str | None = None, alert: bool = False) -> None:
        """Answer the press now (once). When Telegram no longer takes the answer (the press
        is too old), a pop-up's text comes as a message instead, since a pop-up says what the
        person must know (a refusal, a warning); a small toast is dropped."""
        query = self.update.callback_query
        if query is None or self.answered:
            return
        self.answered = True
        if not await answer_query(query, text, alert=alert) and alert and text:
            await self._send(text, None)

    async def refuse(self, text: str) -> None:
        """Say no: as a pop-up on a button press (when it fits), else as a message."""
        if self.update.callback_query is not None and len(text) <= 200 and not self.answered:
            await self.answer_now(text, alert=True)
            return
        await self._send(text, None)

    async def _send(self, text: str, markup: InlineKeyboardMarkup | None) -> Message:
        await self.answer_now()
        chat = self.update.effective_chat
        assert chat is not None, "a reply needs an update that has a chat"
        return await chat.send_message(text, reply_markup=markup)

    async def _send_file(self, data: bytes, filename: str, caption: str | None,
                         markup: InlineKeyboardMarkup | None) -> Message:  # fmt: skip
        await self.answer_now()
        chat = self.update.effective_chat
        assert chat is not None, "a file needs an update that has a chat"
        return await chat.send_document(data, filename=filename, reply_markup=markup,
                                        caption=fit_caption(caption) if caption else None)  # fmt: skip

    async def _edit(self, text: str, markup: InlineKeyboardMarkup | None) -> None:
        """Edit the pressed message, unless that would change nothing.

        Telegram refuses an edit to identical text and keyboard ("message is not modified"),
        which is what pressing the option already selected asks for; comparing first saves
        the call. A message Telegram sends as inaccessible (`date` 0, no text: too old for
        Telegram to show the bot; PTB still makes it a `Message`, with `is_accessible` False)
        cannot be compared, and may no longer exist; the person pressed a button on it to see
        this view, so the view comes as a new message instead, and the old message is left
        as it is.

        A second tap on a button whose keyboard is gone changes nothing either.
        """
        query = self.update.callback_query
        assert query is not None, "edit() is for button presses"
        message = query.message
        if not isinstance(message, Message) or not message.is_accessible:
            await self._send(text, markup)
            return
        if markup is None and message.reply_markup is None:
            await self.answer_now()
            return
        if shows(message, text, markup):
            await self.answer_now()
            return
        try:
            await query.edit_message_text(text, reply_markup=markup)
        except BadRequest as exc:
            # Two spellings of the same markup that `shows` does not equate still end here.
            if "not modified" not in exc.message.lower():
                raise
        await self.answer_now()


def expired_query(error: BadRequest) -> bool:
    """Telegram's refusal to take an answer to a button press: too late (about 15 seconds
    after the press, or after a restart), already answered, or an id it does not know.

    The Bot API marks it only with status 400, so this reads its description: Telegram's
    protocol text, never shown to anyone, matched on its two stable phrases."""
    description = error.message.lower()
    return "query is too old" in description or "query id is invalid" in description


async def answer_query(query: CallbackQuery, text: str | None = None, alert: bool = False) -> bool:
    """Answer a button press; False (logged, not an error) when Telegram refuses it as
    expired. The press itself was handled: only the small toast or pop-up is lost."""
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as exc:
        if not expired_query(exc):
            raise
        log.info("button press %s could no longer be answered", query.id)
        return False
    return True


_TAG = re.compile(r"(<[^>]*>)")
_TELEGRAM_TRIM = " \t\r\n\x0b\x0c"  # what Telegram strips around a message


def _canonical_html(text: str) -> str:
    """Telegram HTML with the text between tags escaped one way (`'` and `&#x27;` alike)."""
    parts = _TAG.split(text.strip(_TELEGRAM_TRIM))
    return "".join(part if i % 2 else escape(unescape(part), quote=False) for i, part in enumerate(parts))


def _rows(markup: InlineKeyboardMarkup | None) -> tuple:
    return tuple(tuple(row) for row in markup.inline_keyboard) if markup is not None else ()


def shows(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> bool:
    """Whether `message` already shows `text` (HTML) with `markup`.

    Only ever errs towards "no": PTB rebuilds the message's HTML from its entities, and a
    formatting spelled differently (`<strong>` for `<b>`) compares unequal, which costs one
    edit Telegram refuses as not modified."""
    if message.text is None or _rows(message.reply_markup) != _rows(markup):
        return False
    return _canonical_html(message.text_html) == _canonical_html(text)


HandlerFunc = Callable[[Update, BotContext, Turn], Awaitable[Any]]


def handler(func: HandlerFunc) -> Callable[[Update, BotContext], Awaitable[Any]]:
    """Run `func` as one unit of work for its update; see the module docstring.

    **Repeated delivery.** The update's id is recorded (`storage.updates`) first thing in the
    transaction that commits the handler's effect, so a crash before that commit lets the
    redelivered update be handled, and after it the redelivery is dropped without a word (its
    replies were sent the first time). Recording is the check: the insert finds the id there
    (handled before), or, on PostgreSQL, waits for a twin delivery handled at the same
    instant to commit and then finds it. On SQLite every session takes the write lock at its
    first statement, so twins queue anyway. Should they still overlap (a handler that commits
    early to wait on Telegram), the later commit finds its id taken; the one that fails rolls
    back everything and sends nothing, and an error it ran into is logged, not reported.

    **A refused update is recorded too**, in a transaction of its own after the rollback. It
    changed nothing, so handling it again would do no harm to the data; but its sender has
    read the refusal, and a redelivery hours later, when the phase is open or the deadline
    moved, must not turn that "no" into a "yes" nobody asked for again, nor repeat the refusal.

    Updates no `@handler` takes (a group's chatter, a page-number button answered by
    `fallback.noop_button`) change nothing and are not recorded. Issue 9's outbox will write
    the replies in the same transaction as the id; the drop stays as it is.
    """

    @functools.wraps(func)
    async def wrapper(update: Update, context: BotContext) -> Any:
        try:
            turn = await _unit_of_work(func, update, context)
        except Exception:
            if await _handled_meanwhile(context.db, update.update_id):
                log.info("update %s failed while its twin was handled; dropped", update.update_id,
                         exc_info=log.isEnabledFor(logging.DEBUG))  # fmt: skip
                return
            raise
        if turn is None:
            return
        if turn.session.info.pop(ENQUEUED, False):
            context.bot_data["outbox"].wake()  # the transaction queued messages: send them soon
        if turn.session.info.pop(SCHEDULED, False):
            context.bot_data["scheduler"].wake()  # a planned time moved: replan
        refused: BadRequest | None = None
        for send in turn.outgoing:
            try:
                await send()
            except BadRequest as exc:  # our reply was wrong (too long, bad HTML): a bug to report
                refused = refused or exc
            except TelegramError:
                # The change is stored and its notices are in the outbox; a reply Telegram
                # could not take now (the person blocked the bot, a network error) is logged,
                # and the action's other replies still go.
                log.warning("a reply to update %s (chat %s) could not be sent", update.update_id,
                            update.effective_chat.id if update.effective_chat else None,
                            exc_info=True)  # fmt: skip
        try:
            await turn.answer_now()  # a press nobody answered would leave the button spinning
        except TelegramError:
            log.warning("the press of update %s could not be answered", update.update_id, exc_info=True)
        # Work the transaction asked for once committed (a ballot's scrub, a count's files): a
        # task of its own, after the replies, so neither the person nor the chat's next update
        # waits for it (the files of a count at 3,000 units take half a minute; bench/).
        if turn.session.info.get(AFTER_COMMIT):
            if context.application.running:
                context.application.create_task(_after_commit(turn.session, context),
                                                name=f"after-commit:{update.update_id}")  # fmt: skip
            else:  # stopping: PTB would not wait for a task started now (a ballot's scrub lost)
                await _after_commit(turn.session, context)
        if refused is not None:
            raise refused  # after the other replies: handlers/errors.py logs it and apologises

    return wrapper


async def _unit_of_work(func: HandlerFunc, update: Update, context: BotContext) -> Turn | None:
    """Run the handler in the update's session; the Turn whose replies to send, or None when
    the update was handled before (or by a twin meanwhile) and nothing must be said."""
    settings = context.settings
    chat = update.effective_chat
    private = chat is not None and chat.type == ChatType.PRIVATE
    async with context.db.session() as session:
        if not await record_processed(session, update.update_id):
            log.info("update %s was handled before; dropped", update.update_id)
            return None
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
            await session.rollback()  # the update's id goes too: recorded again on its own
            message = refusal.message
            turn.outgoing = [lambda: turn.refuse(message)]
            if not await record_processed(session, update.update_id):
                await session.rollback()
                log.info("update %s was handled meanwhile by its twin; dropped", update.update_id)
                return None
        await session.commit()
    return turn


async def _after_commit(session: AsyncSession, context: BotContext) -> None:
    if await run_after_commit(session, context.db):
        context.bot_data["outbox"].wake()  # it queued messages


async def _handled_meanwhile(db: Database, update_id: int) -> bool:
    try:
        async with db.session() as session:
            return await was_processed(session, update_id)
    except Exception:  # the database itself failing: report the original error
        log.debug("could not check update %s", update_id, exc_info=True)
        return False


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
