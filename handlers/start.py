"""/start and /help."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import render
from bot.commands import GROUP, PRIVATE, commands_for
from bot.i18n import _
from bot.invites import PREFIX
from bot.permissions import cluster_roles
from bot.services import undelivered
from handlers import ballot
from handlers.base import BotContext, Turn, handler
from handlers.invites import open_link
from storage.people import roles_of


@handler
async def start(update: Update, context: BotContext, turn: Turn) -> None:
    if not turn.private:
        turn.reply(render.group_greeting(context.bot.username))
        return
    await undelivered.reachable_again(turn.session, update.effective_chat.id)  # unblocked, perhaps
    if context.args:
        payload = context.args[0]
        if payload.startswith(PREFIX):
            await open_link(update, context, turn, payload)
            return
        ballot_id = ballot.ballot_id_of_start(payload)
        if ballot_id is not None:
            await ballot.open_paper(turn, ballot_id)
            return
        turn.reply(_("This link is not valid. Ask your cluster's administrator for a new one."))
    views = await roles_of(turn.session, turn.person.id) if turn.person else []
    lines = [
        render.role_line(v.cluster_name, v.role, v.unit_name, v.is_chair_unit, v.is_vice_chair_unit)
        for v in views
    ]
    turn.reply(render.welcome(update.effective_user.first_name, lines))


@handler
async def help_command(update: Update, context: BotContext, turn: Turn) -> None:
    views = await roles_of(turn.session, turn.person.id) if turn.person else []
    if turn.private:
        roles = {r for v in views for r in cluster_roles([v], v.cluster_id)}
    elif turn.cluster is not None:
        roles = cluster_roles(views, turn.cluster.id)
    else:
        roles = set()
    where = PRIVATE if turn.private else GROUP
    text = render.help_text(commands_for(roles, where), context.bot.username, turn.private)
    turn.reply(text)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))
