"""/units: the cluster's member units — list (paged), add by pasting, rename, deactivate."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks, render
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.services import units as service
from bot.services.actors import Actor, actor_in
from bot.services.clusters import current_year
from handlers.awaiting import done, expect, on_input
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch
from handlers.clusters import acting_from_button, acting_in, rerunnable
from handlers.keyboards import unit_picker
from storage.models import Cluster
from storage.units import units_of


async def listing(turn: Turn, cluster: Cluster, actor: Actor | None, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    units = await units_of(turn.session, cluster.id)
    year = await current_year(turn.session, cluster.id)
    lines = render.unit_lines(units, year.chair_unit_id if year else None, year.vice_chair_unit_id if year else None)
    active = sum(1 for u in units if u.active)
    header = _("<b>Member units of {cluster}</b>: {active} active").format(
        cluster=escape(cluster.name), active=active
    )
    if not units:
        lines = [_("No units yet.")]
    pages = render.chunk_lines(lines)
    page = min(max(page, 0), len(pages) - 1)
    rows: list[list[InlineKeyboardButton]] = []
    if len(pages) > 1:
        nav = []
        if page > 0:
            nav.append(InlineKeyboardButton("◀", callback_data=callbacks.UnitsList(cluster.id, page - 1).pack()))
        nav.append(InlineKeyboardButton(f"{page + 1}/{len(pages)}", callback_data=callbacks.NOOP))
        if page < len(pages) - 1:
            nav.append(InlineKeyboardButton("▶", callback_data=callbacks.UnitsList(cluster.id, page + 1).pack()))
        rows.append(nav)
    if turn.private and actor is not None and actor.may(Action.MANAGE_UNITS):
        rows.append([
            InlineKeyboardButton(_("➕ Add units"), callback_data=callbacks.UnitsAdd(cluster.id).pack()),
            InlineKeyboardButton(_("✏️ Rename"), callback_data=callbacks.UnitsMenu("ren", cluster.id).pack()),
        ])
        manage = [InlineKeyboardButton(_("⛔ Deactivate"), callback_data=callbacks.UnitsMenu("off", cluster.id).pack())]
        if active < len(units):
            manage.append(InlineKeyboardButton(_("♻️ Restore"), callback_data=callbacks.UnitsMenu("on", cluster.id).pack()))
        rows.append(manage)
    text = header + "\n\n" + pages[page]
    return text, InlineKeyboardMarkup(rows) if rows else None


@rerunnable("units")
async def show_units(update: Update, context: BotContext, turn: Turn) -> None:
    acting = await acting_in(turn, "units")
    if acting is None:
        return
    cluster, actor = acting
    text, markup = await listing(turn, cluster, actor, 0)
    turn.reply(text, markup)


units_command = handler(show_units)


async def list_page(update: Update, context: BotContext, turn: Turn, press: callbacks.UnitsList) -> None:
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    turn.edit(*await listing(turn, cluster, actor, press.page))


async def add(update: Update, context: BotContext, turn: Turn, press: callbacks.UnitsAdd) -> None:
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    actor.require(Action.MANAGE_UNITS)
    await expect(turn, "units_add", cluster_id=cluster.id)
    turn.reply(
        _("Send the names of the units to add, one per line (up to {max} units). "
          "/cancel to stop.").format(max=200)
    )


_PICKER_OF_MENU = {"ren": "rn", "off": "dx", "on": "ax"}


async def picker(update: Update, context: BotContext, turn: Turn, press: callbacks.UnitsMenu | callbacks.UnitsPage) -> None:
    """Which unit to rename (rn), deactivate (dx) or restore (ax): a page of the choices."""
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    actor.require(Action.MANAGE_UNITS)
    units = await units_of(turn.session, cluster.id)
    turned = isinstance(press, callbacks.UnitsPage)
    action = press.action if turned else _PICKER_OF_MENU[press.action]
    choices = [u for u in units if action == "rn" or u.active == (action == "dx")]
    prompt = {
        "rn": _("Which unit do you want to rename?"),
        "dx": _("Which unit stops taking part? It keeps its history and gets no more ballots."),
        "ax": _("Which unit do you want to restore?"),
    }[action]
    if not choices:
        turn.answer(_("No units to choose from."), alert=True)
        return
    cluster_id = cluster.id
    markup = unit_picker(
        choices, press.page if turned else 0,
        lambda unit_id: callbacks.UnitsPick(action, cluster_id, unit_id),
        lambda other: callbacks.UnitsPage(action, cluster_id, other),
    )  # fmt: skip
    (turn.edit if turned else turn.reply)(prompt, markup)


async def picked(update: Update, context: BotContext, turn: Turn, press: callbacks.UnitsPick) -> None:
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    actor.require(Action.MANAGE_UNITS)
    if press.action == "rn":
        unit = next((u for u in await units_of(turn.session, cluster.id) if u.id == press.unit_id), None)
        if unit is None:
            raise Refusal(_("That unit is not in this cluster (any more)."))
        await expect(turn, "unit_rename", cluster_id=cluster.id, unit_id=unit.id)
        turn.edit(_("Send the new name for <b>{name}</b>. /cancel to stop.").format(name=escape(unit.name)))
        return
    unit = await service.set_active(turn.session, actor, press.unit_id, active=press.action == "ax")
    if unit.active:
        text = _("<b>{name}</b> is active again.").format(name=escape(unit.name))
        undo = None
    else:
        text = _("<b>{name}</b> is now inactive: its history is kept and it gets no more ballots.").format(
            name=escape(unit.name)
        )
        undo = InlineKeyboardMarkup([[InlineKeyboardButton(
            _("↩️ Undo"), callback_data=callbacks.UnitsPick("ax", cluster.id, unit.id).pack()
        )]])
    turn.edit(text, undo)


@on_input("units_add")
async def names_typed(update: Update, context: BotContext, turn: Turn, data: dict) -> None:
    text = update.effective_message.text
    if not text:
        raise Refusal(_("Please send the names as text, one per line, or /cancel."))
    actor = await actor_in(turn.session, turn.person.id, data["cluster_id"])
    added = await service.add_units(turn.session, actor, text)
    await done(turn)
    lines = [_("Added {count} units:").format(count=len(added))]
    lines += [f"• {escape(u.name)}" for u in added]
    pages = render.chunk_lines([*lines, "", _("See them all with /units.")])
    turn.reply(pages[0] + ("\n…" if len(pages) > 1 else ""))


@on_input("unit_rename")
async def new_name_typed(update: Update, context: BotContext, turn: Turn, data: dict) -> None:
    text = update.effective_message.text
    if not text:
        raise Refusal(_("Please send the new name as text, or /cancel."))
    actor = await actor_in(turn.session, turn.person.id, data["cluster_id"])
    unit = await service.rename_unit(turn.session, actor, data["unit_id"], text)
    await done(turn)
    turn.reply(_("Renamed to <b>{name}</b>.").format(name=escape(unit.name)))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("units", units_command))
    app.add_handler(dispatch(callbacks.UNITS, {
        callbacks.UnitsList: list_page, callbacks.UnitsAdd: add, callbacks.UnitsMenu: picker,
        callbacks.UnitsPage: picker, callbacks.UnitsPick: picked,
    }))  # fmt: skip
