"""/lang: a person's language in private, the cluster's language in its group."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks
from bot.errors import Refusal
from bot.i18n import LANGUAGE_NAMES, SUPPORTED_LOCALES, _, set_locale
from bot.permissions import Action, cluster_roles, require
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch
from storage.people import roles_of, set_person_locale


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(LANGUAGE_NAMES[c], callback_data=callbacks.LanguagePick(c).pack()) for c in SUPPORTED_LOCALES]]
    )


@handler
async def lang_command(update: Update, context: BotContext, turn: Turn) -> None:
    await _check_may_set(turn)
    if context.args:
        await _apply(update, turn, context.args[0].lower())
        return
    turn.reply(
        _("Current language: {language}. Choose a language:").format(
            language=LANGUAGE_NAMES[turn.locale]
        ),
        keyboard(),
    )


async def lang_button(update: Update, context: BotContext, turn: Turn, press: callbacks.LanguagePick) -> None:
    await _check_may_set(turn)
    await _apply(update, turn, press.locale)


async def _check_may_set(turn: Turn) -> None:
    if turn.private:
        return
    if turn.cluster is None:
        raise Refusal(
            _("This group is not bound to a cluster yet; change your own language with /lang in a private chat with me.")
        )
    views = await roles_of(turn.session, turn.person.id) if turn.person else []
    require(cluster_roles(views, turn.cluster.id), Action.SET_GROUP_LANGUAGE)


async def _apply(update: Update, turn: Turn, locale: str) -> None:
    if locale not in SUPPORTED_LOCALES:
        raise Refusal(
            _("Unknown language. Choose one of: {choices}.").format(choices=", ".join(SUPPORTED_LOCALES))
        )
    if turn.private:
        await set_person_locale(turn.session, turn.person, locale)
    else:
        turn.cluster.locale = locale
    set_locale(locale)
    if turn.private:
        text = _("Language set: {language}. Type /help to see the commands.")
    else:
        text = _("This group's language is now {language}.")
    text = text.format(language=LANGUAGE_NAMES[locale])
    if update.callback_query is not None:
        turn.edit(text)
    else:
        turn.reply(text)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("lang", lang_command))
    app.add_handler(dispatch(callbacks.LANGUAGE, {callbacks.LanguagePick: lang_button}))
