"""/invite (administrator): one-time links; /start <token>: the invited person confirms."""

from __future__ import annotations

import datetime as dt
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import callbacks, fmt
from bot.errors import Refusal
from bot.i18n import _, use_locale
from bot.invites import deep_link
from bot.permissions import Action, role_name
from bot.services import invites as service
from handlers.base import BotContext, Turn, announce, handler
from handlers.clusters import acting_from_button, acting_in, rerunnable, stale
from handlers.keyboards import unit_picker
from storage.conversation import clear_state, get_state, set_state
from storage.models import Cluster
from storage.units import units_of

NS = "inv"
INVITE_FLOW = "invite"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@rerunnable("invite")
async def show_invite_menu(update: Update, context: BotContext, turn: Turn) -> None:
    if not turn.private:
        raise Refusal(_("Invite links are made in a private chat with me, so they are not seen by the whole group."))
    acting = await acting_in(turn, "invite")
    if acting is None:
        return
    cluster, actor = acting
    actor.require(Action.INVITE)
    units = await units_of(turn.session, cluster.id, active_only=True)
    if not units:
        raise Refusal(_("The cluster has no active units yet. Add them with /units first."))
    markup = unit_picker(units, 0, NS, "rep", cluster.id)
    rows = list(markup.inline_keyboard) + [[
        InlineKeyboardButton(_("🗂 A secretariat member"), callback_data=callbacks.pack(NS, "sec", cluster.id))
    ]]
    turn.reply(
        _("Whom do you invite to <b>{cluster}</b>? Choose the unit of the representative:").format(
            cluster=escape(cluster.name)
        ),
        InlineKeyboardMarkup(rows),
    )


invite_command = handler(show_invite_menu)


@handler
async def button(update: Update, context: BotContext, turn: Turn) -> None:
    _ns, args = callbacks.unpack(update.callback_query.data)
    if args and args[0] in ("yes", "no"):
        await _confirm(update, context, turn, args)
        return
    if len(args) < 2 or not all(a.isdigit() for a in args[-2 if args[0] != "sec" else -1:]):
        raise stale()
    action = args[0]
    if action == "page":  # page:rep:<cluster>:<page>
        cluster, actor = await acting_from_button(turn, args[2])
        actor.require(Action.INVITE)
        units = await units_of(turn.session, cluster.id, active_only=True)
        markup = unit_picker(units, int(args[3]), NS, "rep", cluster.id)
        rows = list(markup.inline_keyboard) + [[
            InlineKeyboardButton(_("🗂 A secretariat member"), callback_data=callbacks.pack(NS, "sec", cluster.id))
        ]]
        turn.edit(update.callback_query.message.text_html, InlineKeyboardMarkup(rows))
        return
    cluster, actor = await acting_from_button(turn, args[1])
    if action == "rev":
        await service.revoke_invite(turn.session, actor, int(args[2]), now())
        turn.edit(_("The invite link was withdrawn; it can no longer be used."))
        return
    role, unit_id = ("secretariat", None) if action == "sec" else ("representative", int(args[2]))
    invite, token = await service.create_invite(turn.session, actor, role=role, unit_id=unit_id, now=now())
    offer = await service.open_invite(turn.session, token, now())
    link = deep_link(context.bot.username, token)
    who = (
        _("a representative of <b>{unit}</b>").format(unit=escape(offer.unit_name))
        if offer.unit_name else _("a secretariat member")
    )
    expires = fmt.datetime(offer.expires_at, turn.settings.timezone)
    turn.reply(
        _("Invite link for {who} of <b>{cluster}</b>:\n{link}\n\n"
          "Send it to that person only. It works once and expires at {expires}.").format(
            who=who, cluster=escape(cluster.name), link=link, expires=expires
        ),
        InlineKeyboardMarkup([[InlineKeyboardButton(
            _("🚫 Withdraw this link"), callback_data=callbacks.pack(NS, "rev", cluster.id, invite.id)
        )]]),
    )


async def open_link(update: Update, context: BotContext, turn: Turn, token: str) -> None:
    """/start <token>: show what the invite offers and ask the person to confirm."""
    offer = await service.open_invite(turn.session, token, now())
    await set_state(
        turn.session, turn.person.id, update.effective_chat.id, INVITE_FLOW, "confirm",
        {"invite_id": offer.invite_id},
    )
    if offer.unit_name:
        question = _("You are invited to represent <b>{unit}</b> in <b>{cluster}</b>.\n\n"
                     "Is <b>{unit}</b> your unit?")
    else:
        question = _("You are invited to join the secretariat of <b>{cluster}</b>.\n\nDo you accept?")
    turn.reply(
        question.format(unit=escape(offer.unit_name or ""), cluster=escape(offer.cluster_name)),
        InlineKeyboardMarkup([[
            InlineKeyboardButton(_("✅ Yes, confirm"), callback_data=callbacks.pack(NS, "yes", offer.invite_id)),
            InlineKeyboardButton(_("✖️ No"), callback_data=callbacks.pack(NS, "no", offer.invite_id)),
        ]]),
    )


async def _confirm(update: Update, context: BotContext, turn: Turn, args: list[str]) -> None:
    state = await get_state(turn.session, turn.person.id, update.effective_chat.id, INVITE_FLOW)
    # Only the person who opened the link in this chat may answer its question.
    if state is None or len(args) != 2 or str(state.data.get("invite_id")) != args[1]:
        raise stale()
    await clear_state(turn.session, turn.person.id, update.effective_chat.id, INVITE_FLOW)
    if args[0] == "no":
        turn.edit(_("Nothing was changed. If this was a mistake, tell your cluster's administrator."))
        return
    offer = await service.accept_invite(turn.session, int(args[1]), turn.person.id, now())
    role = role_name(offer.role)
    text = _("Welcome! You are now {role} of <b>{cluster}</b>.").format(
        role=role + (f" — {escape(offer.unit_name)}" if offer.unit_name else ""),
        cluster=escape(offer.cluster_name),
    )
    turn.edit(text + "\n\n" + _("Type /help to see what you can do."))
    cluster = await turn.session.get(Cluster, offer.cluster_id)
    if cluster.telegram_chat_id is not None:
        with use_locale(cluster.locale):
            note = _("{person} joined as {role}.").format(
                person=escape(update.effective_user.full_name),
                role=role_name(offer.role) + (f" — {escape(offer.unit_name)}" if offer.unit_name else ""),
            )
        turn.after_commit(lambda: announce(context.bot, cluster.telegram_chat_id, note))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("invite", invite_command))
    app.add_handler(CallbackQueryHandler(button, pattern=callbacks.pattern(NS)))
