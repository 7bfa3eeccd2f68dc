"""/invite (administrator): one-time links; /start <token>: the invited person confirms."""

from __future__ import annotations

import datetime as dt
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks, fmt
from bot.errors import Refusal
from bot.i18n import _
from bot.invites import deep_link
from bot.permissions import Action, role_name
from bot.services import invites as service
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch, stale
from handlers.clusters import acting_from_button, acting_in, rerunnable
from handlers.keyboards import unit_picker
from storage.conversation import clear_state, get_state, set_state
from storage.models import Cluster, utcnow
from storage.units import units_of

INVITE_FLOW = "invite"


def now() -> dt.datetime:
    return utcnow()


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
    turn.reply(whom_prompt(cluster), whom_keyboard(cluster.id, units, 0))


invite_command = handler(show_invite_menu)


def whom_prompt(cluster: Cluster) -> str:
    """The question above the picker, rendered again when paging: the pressed message may be
    one Telegram no longer shows the bot (no text to read back)."""
    return _("Whom do you invite to <b>{cluster}</b>? Choose the unit of the representative:").format(
        cluster=escape(cluster.name)
    )


def whom_keyboard(cluster_id: int, units: list, page: int) -> InlineKeyboardMarkup:
    """A page of the units (a representative of which?) and the secretariat."""
    markup = unit_picker(
        units, page,
        lambda unit_id: callbacks.InviteRepresentative(cluster_id, unit_id),
        lambda other: callbacks.InvitePage("rep", cluster_id, other),
    )  # fmt: skip
    return InlineKeyboardMarkup(list(markup.inline_keyboard) + [[
        InlineKeyboardButton(_("🗂 A secretariat member"), callback_data=callbacks.InviteSecretariat(cluster_id).pack())
    ]])  # fmt: skip


async def turn_page(update: Update, context: BotContext, turn: Turn, press: callbacks.InvitePage) -> None:
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    actor.require(Action.INVITE)
    units = await units_of(turn.session, cluster.id, active_only=True)
    turn.edit(whom_prompt(cluster), whom_keyboard(cluster.id, units, press.page))


async def revoke(update: Update, context: BotContext, turn: Turn, press: callbacks.InviteRevoke) -> None:
    _cluster, actor = await acting_from_button(turn, press.cluster_id)
    await service.revoke_invite(turn.session, actor, press.invite_id, now())
    turn.edit(_("The invite link was withdrawn; it can no longer be used."))


async def make_link(update: Update, context: BotContext, turn: Turn,
                    press: callbacks.InviteRepresentative | callbacks.InviteSecretariat) -> None:  # fmt: skip
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    if isinstance(press, callbacks.InviteSecretariat):
        role, unit_id = "secretariat", None
    else:
        role, unit_id = "representative", press.unit_id
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
            _("🚫 Withdraw this link"), callback_data=callbacks.InviteRevoke(cluster.id, invite.id).pack()
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
            InlineKeyboardButton(_("✅ Yes, confirm"), callback_data=callbacks.InviteAnswer("yes", offer.invite_id).pack()),
            InlineKeyboardButton(_("✖️ No"), callback_data=callbacks.InviteAnswer("no", offer.invite_id).pack()),
        ]]),
    )


async def confirm(update: Update, context: BotContext, turn: Turn, press: callbacks.InviteAnswer) -> None:
    state = await get_state(turn.session, turn.person.id, update.effective_chat.id, INVITE_FLOW)
    # Only the person who opened the link in this chat may answer its question.
    if state is None or state.data.get("invite_id") != press.invite_id:
        raise stale()
    await clear_state(turn.session, turn.person.id, update.effective_chat.id, INVITE_FLOW)
    if press.answer == "no":
        turn.edit(_("Nothing was changed. If this was a mistake, tell your cluster's administrator."))
        return
    offer = await service.accept_invite(turn.session, press.invite_id, turn.person.id, now())
    role = role_name(offer.role)
    text = _("Welcome! You are now {role} of <b>{cluster}</b>.").format(
        role=role + (f" — {escape(offer.unit_name)}" if offer.unit_name else ""),
        cluster=escape(offer.cluster_name),
    )
    turn.edit(text + "\n\n" + _("Type /help to see what you can do."))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("invite", invite_command))
    app.add_handler(dispatch(callbacks.INVITE, {
        callbacks.InviteRepresentative: make_link, callbacks.InviteSecretariat: make_link,
        callbacks.InvitePage: turn_page, callbacks.InviteRevoke: revoke, callbacks.InviteAnswer: confirm,
    }))  # fmt: skip
