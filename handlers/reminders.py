"""A reminder's buttons: mute (or hear again) the reminders of a phase; the chair's "remind
now" from /status. The rules are in bot/services/reminders.py."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import Application

from bot import callbacks
from bot.i18n import _, ngettext
from bot.phases import phase_name
from bot.services import reminders as service
from bot.views import reminders as views
from handlers.base import BotContext, Turn
from handlers.buttons import dispatch, stale


async def mute_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.ReminderMute) -> None:
    if turn.person is None:
        raise stale()
    mute = press.action == "m"
    phase = await service.set_muted(turn.session, turn.person.id, press.phase_id, mute)
    name = phase_name(phase.kind)
    turn.answer(_("🔕 No more reminders to you in {phase}.").format(phase=name) if mute
                else _("🔔 You will be reminded again in {phase}.").format(phase=name))  # fmt: skip
    message = update.callback_query.message
    if isinstance(message, Message) and message.is_accessible and message.text:
        turn.edit(message.text_html, views.with_mute(message.reply_markup, phase.id, mute))


async def remind_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.RemindLate) -> None:
    if turn.person is None:
        raise stale()
    actor = await service.actor_for_phase(turn.session, turn.person.id, press.phase_id)
    reached = await service.remind_now(turn.session, actor, press.phase_id)
    turn.answer(ngettext("🔔 {count} unit reminded in private.", "🔔 {count} units reminded in private.",
                         reached).format(count=reached) if reached
                else _("Nobody to remind now: every unit is done or was reminded today."), alert=True)  # fmt: skip


def register(app: Application) -> None:
    app.add_handler(dispatch(callbacks.REMIND, {
        callbacks.ReminderMute: mute_pressed,
        callbacks.RemindLate: remind_pressed,
    }))  # fmt: skip
