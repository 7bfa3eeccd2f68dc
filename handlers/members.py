"""/members: who represents which unit, and who runs the cluster (admin, chair, secretariat)."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import render
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action, Role, role_name
from handlers.base import BotContext, Turn, handler
from handlers.clusters import acting_in, rerunnable
from storage.units import members_of, units_of

MAX_MESSAGES = 8


def person_label(member) -> str:
    name = escape(member.full_name)
    return f"{name} (@{escape(member.username)})" if member.username else name


@rerunnable("members")
async def show_members(update: Update, context: BotContext, turn: Turn) -> None:
    if not turn.private:
        raise Refusal(_("Use /members in a private chat with me, so the list is not shown to the whole group."))
    acting = await acting_in(turn, "members")
    if acting is None:
        return
    cluster, actor = acting
    actor.require(Action.VIEW_MEMBERS)
    members = await members_of(turn.session, cluster.id)
    units = await units_of(turn.session, cluster.id)
    lines = [_("<b>Members of {cluster}</b>").format(cluster=escape(cluster.name))]
    for role in (Role.ADMIN, Role.SECRETARIAT):
        people = [person_label(m) for m in members if m.role == role]
        lines.append(f"<b>{role_name(role)}</b>: " + (", ".join(people) if people else "—"))
    lines.append("")
    lines.append("<b>" + _("Units and their representatives") + "</b>")
    for number, unit in enumerate(units, start=1):
        reps = [person_label(m) for m in members if m.role == Role.REPRESENTATIVE and m.unit_id == unit.id]
        line = f"{number}. {escape(unit.name)}"
        if not unit.active:
            line += " <i>(" + _("inactive") + ")</i>"
        line += " — " + (", ".join(reps) if reps else "<i>" + _("no representative yet") + "</i>")
        lines.append(line)
    pages = render.chunk_lines(lines)
    for page in pages[:MAX_MESSAGES]:
        turn.reply(page)
    if len(pages) > MAX_MESSAGES:
        turn.reply(_("… the list is longer than {count} messages.").format(count=MAX_MESSAGES))


members_command = handler(show_members)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("members", members_command))
