"""/setup in a group: bind it to a new cluster. The group administrator becomes its admin."""

from __future__ import annotations

import datetime as dt
from html import escape

from telegram import ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks
from bot.errors import Refusal
from bot.i18n import _
from bot.services import clusters
from bot.services.actors import actor_in
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch, stale
from storage.models import ClusterKind

KIND_NAMES = {ClusterKind.CLUSTER: "Cụm thi đua", ClusterKind.BLOC: "Khối thi đua"}


def kind_keyboard(cluster_id: int, year: int | None = None) -> InlineKeyboardMarkup:
    """The kind; and, while nothing has happened yet, last year / this year / next year."""
    rows = [[
        InlineKeyboardButton(KIND_NAMES[k], callback_data=callbacks.SetupKind(cluster_id, k).pack())
        for k in ClusterKind
    ]]
    if year is not None:
        rows.append([
            InlineKeyboardButton(
                f"✓ {y}" if y == year else str(y), callback_data=callbacks.SetupYear(cluster_id, y).pack()
            )
            for y in (year - 1, year, year + 1)
        ])
    return InlineKeyboardMarkup(rows)


@handler
async def setup(update: Update, context: BotContext, turn: Turn) -> None:
    if turn.private:
        raise Refusal(
            _(
                "/setup works in your cluster's Telegram group: add me to the group, then an "
                "administrator of the group sends /setup@{bot} there."
            ).format(bot=context.bot.username)
        )
    chat = update.effective_chat
    await turn.session.commit()  # no database lock held while Telegram answers
    member = await context.bot.get_chat_member(chat.id, update.effective_user.id)
    is_admin = member.status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR)
    name = " ".join(context.args) if context.args else (chat.title or "")
    year = dt.datetime.now(turn.settings.timezone).year
    cluster, _year = await clusters.setup_cluster(
        turn.session,
        chat_id=chat.id,
        name=name,
        person_id=turn.person.id,
        is_group_admin=is_admin,
        year=year,
        locale=turn.locale,
    )
    bot = context.bot.username
    turn.reply(
        _(
            "The cluster <b>{name}</b> is set up for the emulation year {year}. "
            "{person} is its administrator.\n\n"
            "Next steps, in a private chat with me:\n"
            "1. /units — add the member units (one name per line);\n"
            "2. /invite — an invite link for each unit's representatives;\n"
            "3. /chair — the chair and vice-chair units;\n"
            "4. /phase@{bot} — open pledge registration.\n\n"
            "Is this a Cụm or a Khối thi đua?"
        ).format(name=escape(cluster.name), year=year, person=escape(update.effective_user.full_name), bot=bot)
        + "\n" + _("Another emulation year? Choose it below, before the first phase opens."),
        kind_keyboard(cluster.id, year),
    )


async def choose_kind(update: Update, context: BotContext, turn: Turn, press: callbacks.SetupKind) -> None:
    cluster = turn.cluster
    if cluster is None or press.cluster_id != cluster.id:
        raise stale()
    actor = await actor_in(turn.session, turn.person.id, cluster.id)
    kind = press.kind
    await clusters.set_kind(turn.session, actor, cluster, kind)
    turn.edit(
        _("<b>{name}</b> is a {kind}.").format(name=escape(cluster.name), kind=KIND_NAMES[kind])
    )


async def choose_year(update: Update, context: BotContext, turn: Turn, press: callbacks.SetupYear) -> None:
    cluster = turn.cluster
    if cluster is None or press.cluster_id != cluster.id:
        raise stale()
    actor = await actor_in(turn.session, turn.person.id, cluster.id)
    emulation_year = await clusters.current_year(turn.session, cluster.id)
    wanted = press.year
    if emulation_year is None or abs(wanted - emulation_year.year) > 1:
        raise stale()
    await clusters.change_year(turn.session, actor, emulation_year, wanted)
    turn.edit(
        _("<b>{name}</b>: emulation year {year}.").format(name=escape(cluster.name), year=wanted),
        kind_keyboard(cluster.id, wanted),
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("setup", setup))
    app.add_handler(dispatch(callbacks.SETUP_YEAR, {callbacks.SetupYear: choose_year}))
    app.add_handler(dispatch(callbacks.SETUP_KIND, {callbacks.SetupKind: choose_kind}))
