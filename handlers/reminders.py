"""/reminders (the quiet hours) and a reminder's buttons: mute (or hear again) the reminders of
a phase; the chair's "remind now" from /status. The rules are in bot/services/reminders.py."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks
from bot.i18n import _, ngettext
from bot.permissions import Action
from bot.phases import phase_name
from bot.services import reminders as service
from bot.views import reminders as views
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch, stale
from handlers.clusters import acting_in, rerunnable


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


@rerunnable("reminders")
async def show_settings(update: Update, context: BotContext, turn: Turn) -> None:
    """/reminders: the reminders and the quiet hours; `/reminders 22:00-06:00` (or `off`) sets
    them (the administrator)."""
    found = await acting_in(turn, "reminders")
    if found is None:
        return
    cluster, actor = found
    typed = " ".join(context.args or [])
    if typed:
        await service.set_quiet(turn.session, actor, cluster, typed)
        turn.reply(_("✅ Quiet hours saved.") + "\n\n" + views.settings_text(cluster.name, service.quiet_of(cluster), True))
        return
    turn.reply(views.settings_text(cluster.name, service.quiet_of(cluster), actor.may(Action.CONFIGURE_CLUSTER)))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("reminders", handler(show_settings)))
    app.add_handler(dispatch(callbacks.REMIND, {
        callbacks.ReminderMute: mute_pressed,
        callbacks.RemindLate: remind_pressed,
    }))  # fmt: skip
