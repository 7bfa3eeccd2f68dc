"""/units: the cluster's member units — list (paged), add by pasting, rename, deactivate."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import callbacks, render
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.services import units as service
from bot.services.actors import Actor, actor_in
from bot.services.clusters import current_year
from handlers.awaiting import done, expect, on_input
from handlers.base import BotContext, Turn, handler
from handlers.clusters import acting_from_button, acting_in, rerunnable, stale
from handlers.keyboards import unit_picker
from storage.models import Cluster
from storage.units import units_of

NS = "u"


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
            nav.append(InlineKeyboardButton("◀", callback_data=callbacks.pack(NS, "list", cluster.id, page - 1)))
        nav.append(InlineKeyboardButton(f"{page + 1}/{len(pages)}", callback_data=callbacks.NOOP))
        if page < len(pages) - 1:
            nav.append(InlineKeyboardButton("▶", callback_data=callbacks.pack(NS, "list", cluster.id, page + 1)))
        rows.append(nav)
    if turn.private and actor is not None and actor.may(Action.MANAGE_UNITS):
        rows.append([
            InlineKeyboardButton(_("➕ Add units"), callback_data=callbacks.pack(NS, "add", cluster.id)),
            InlineKeyboardButton(_("✏️ Rename"), callback_data=callbacks.pack(NS, "ren", cluster.id)),
        ])
        manage = [InlineKeyboardButton(_("⛔ Deactivate"), callback_data=callbacks.pack(NS, "off", cluster.id))]
        if active < len(units):
            manage.append(InlineKeyboardButton(_("♻️ Restore"), callback_data=callbacks.pack(NS, "on", cluster.id)))
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


@handler
async def button(update: Update, context: BotContext, turn: Turn) -> None:
    _ns, args = callbacks.unpack(update.callback_query.data)
    action, rest = args[0], args[1:]
    if action == "page":  # page:<picker action>:<cluster>:<page>
        action, rest = "page-" + rest[0], rest[1:]
    if not rest or not all(p.isdigit() for p in rest):
        raise stale()
    cluster, actor = await acting_from_button(turn, rest[0])
    numbers = [int(p) for p in rest[1:]]

    if action == "list":
        text, markup = await listing(turn, cluster, actor, numbers[0] if numbers else 0)
        turn.edit(text, markup)
        return
    actor.require(Action.MANAGE_UNITS)
    units = await units_of(turn.session, cluster.id)
    if action == "add":
        await expect(turn, "units_add", cluster_id=cluster.id)
        turn.reply(
            _("Send the names of the units to add, one per line (up to {max} units). "
              "/cancel to stop.").format(max=200)
        )
    elif action in ("ren", "off", "on", "page-rn", "page-dx", "page-ax"):
        picker_action = {"ren": "rn", "off": "dx", "on": "ax"}.get(action, action[-2:])
        choices = [u for u in units if picker_action == "rn" or u.active == (picker_action == "dx")]
        page = numbers[0] if action.startswith("page-") and numbers else 0
        prompt = {
            "rn": _("Which unit do you want to rename?"),
            "dx": _("Which unit stops taking part? It keeps its history and gets no more ballots."),
            "ax": _("Which unit do you want to restore?"),
        }[picker_action]
        if not choices:
            turn.answer(_("No units to choose from."), alert=True)
            return
        markup = unit_picker(choices, page, NS, picker_action, cluster.id)
        if action.startswith("page-"):
            turn.edit(prompt, markup)
        else:
            turn.reply(prompt, markup)
    elif action == "rn" and numbers:
        unit = next((u for u in units if u.id == numbers[0]), None)
        if unit is None:
            raise Refusal(_("That unit is not in this cluster (any more)."))
        await expect(turn, "unit_rename", cluster_id=cluster.id, unit_id=unit.id)
        turn.edit(_("Send the new name for <b>{name}</b>. /cancel to stop.").format(name=escape(unit.name)))
    elif action in ("dx", "ax") and numbers:
        unit = await service.set_active(turn.session, actor, numbers[0], active=action == "ax")
        if unit.active:
            text = _("<b>{name}</b> is active again.").format(name=escape(unit.name))
            undo = None
        else:
            text = _("<b>{name}</b> is now inactive: its history is kept and it gets no more ballots.").format(
                name=escape(unit.name)
            )
            undo = InlineKeyboardMarkup([[InlineKeyboardButton(
                _("↩️ Undo"), callback_data=callbacks.pack(NS, "ax", cluster.id, unit.id)
            )]])
        turn.edit(text, undo)
    else:
        raise stale()


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
    app.add_handler(CallbackQueryHandler(button, pattern=callbacks.pattern(NS)))
