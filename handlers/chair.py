"""/chair (administrator): the year's chair unit (Cụm trưởng) and vice-chair unit (Cụm phó)."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action, Role, role_name
from bot.services import clusters as service
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch
from handlers.clusters import acting_from_button, acting_in, rerunnable
from handlers.keyboards import unit_picker
from storage.models import Cluster, Office, Unit
from storage.units import units_of

OFFICE_ROLES = {Office.CHAIR: Role.CHAIR, Office.VICE_CHAIR: Role.VICE_CHAIR}


async def summary(turn: Turn, cluster: Cluster) -> str:
    year = await service.current_year(turn.session, cluster.id)
    chair = await turn.session.get(Unit, year.chair_unit_id) if year.chair_unit_id else None
    vice = await turn.session.get(Unit, year.vice_chair_unit_id) if year.vice_chair_unit_id else None
    unset = "<i>" + _("not set") + "</i>"
    return _("<b>{cluster}</b>, emulation year {year}\n{chair_role}: {chair}\n{vice_role}: {vice}").format(
        cluster=escape(cluster.name), year=year.year,
        chair_role=role_name(Role.CHAIR), chair=escape(chair.name) if chair else unset,
        vice_role=role_name(Role.VICE_CHAIR), vice=escape(vice.name) if vice else unset,
    )


def menu(cluster_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(_("Choose the chair unit"), callback_data=callbacks.ChairMenu(Office.CHAIR, cluster_id).pack()),
        InlineKeyboardButton(_("Choose the vice-chair"), callback_data=callbacks.ChairMenu(Office.VICE_CHAIR, cluster_id).pack()),
    ]])


@rerunnable("chair")
async def show_chair(update: Update, context: BotContext, turn: Turn) -> None:
    if not turn.private:
        raise Refusal(_("Use /chair in a private chat with me."))
    acting = await acting_in(turn, "chair")
    if acting is None:
        return
    cluster, actor = acting
    actor.require(Action.ASSIGN_CHAIR)
    turn.reply(await summary(turn, cluster), menu(cluster.id))


chair_command = handler(show_chair)


async def choose(update: Update, context: BotContext, turn: Turn,
                 press: callbacks.ChairMenu | callbacks.ChairPage) -> None:  # fmt: skip
    """The units to pick the office's holder from (a page of them)."""
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    actor.require(Action.ASSIGN_CHAIR)
    units = await units_of(turn.session, cluster.id, active_only=True)
    if not units:
        raise Refusal(_("The cluster has no active units yet. Add them with /units first."))
    page = press.page if isinstance(press, callbacks.ChairPage) else 0
    prompt = _("Which unit is the {role} of this year?").format(role=role_name(OFFICE_ROLES[press.office]))
    office, cluster_id = press.office, cluster.id
    turn.edit(prompt, unit_picker(
        units, page,
        lambda unit_id: callbacks.ChairPick(office, cluster_id, unit_id),
        lambda other: callbacks.ChairPage(office, cluster_id, other),
    ))  # fmt: skip


async def assign(update: Update, context: BotContext, turn: Turn, press: callbacks.ChairPick) -> None:
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    actor.require(Action.ASSIGN_CHAIR)
    office = press.office
    year = await service.current_year(turn.session, cluster.id)
    await service.assign_office(turn.session, actor, year, office, press.unit_id)
    turn.edit(await summary(turn, cluster), menu(cluster.id))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("chair", chair_command))
    app.add_handler(dispatch(callbacks.CHAIR, {
        callbacks.ChairMenu: choose, callbacks.ChairPage: choose, callbacks.ChairPick: assign,
    }))  # fmt: skip
