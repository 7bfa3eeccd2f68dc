"""/undelivered (private; administrator and secretariat): the messages the bot could not
deliver, and a button to send the parked ones again. Also: a chat that comes back (a person
pressing Start after unblocking the bot) is reachable again (`bot/services/undelivered.py`)."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks, fmt, render
from bot.errors import Refusal
from bot.i18n import _, ngettext
from bot.services import phases as phase_service
from bot.services import undelivered as service
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch
from handlers.clusters import acting_from_button, acting_in, rerunnable


def item_line(item: service.Undelivered, tz) -> str:
    who = _("the group") if item.to_group else escape(item.person_name or _("a person"))
    what = _("a document") if item.document else _("a message")
    if item.unreachable:
        why = _("the bot was blocked or removed") if not item.to_group else _("the bot was removed from the group")
    else:
        why = ngettext("Telegram refused it ({attempts} attempt)", "Telegram refused it ({attempts} attempts)",
                       item.attempts).format(attempts=item.attempts)  # fmt: skip
    return _("• {what} to {who}, {when}: {why}").format(what=what, who=who, when=fmt.datetime(item.queued_at, tz),
                                                     why=why)  # fmt: skip


@rerunnable("undelivered")
async def show(update: Update, context: BotContext, turn: Turn) -> None:
    if not turn.private:
        raise Refusal(_("Send /undelivered to me in a private chat."))
    found = await acting_in(turn, "undelivered")
    if found is None:
        return
    cluster, actor = found
    total, items = await service.listing(turn.session, actor)
    if not total:
        turn.reply(_("✅ Every message of {cluster} was delivered.").format(cluster=escape(cluster.name)))
        return
    tz = phase_service.cluster_timezone(cluster)
    lines = [_("📭 <b>Messages not delivered</b> — {cluster}: {count}").format(cluster=escape(cluster.name), count=total)]
    lines += [item_line(item, tz) for item in items]
    if total > len(items):
        lines.append(_("… and {count} older.").format(count=total - len(items)))
    lines += ["", _("A person who blocked the bot gets what they missed this week once they press Start "
                    "in a private chat with the bot again. Parked messages go again with the button.")]  # fmt: skip
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(
        _("🔁 Send the parked messages again"), callback_data=callbacks.DeliveryAgain(cluster.id).pack())]])  # fmt: skip
    pages = [p.strip() for p in render.chunk_lines(lines) if p.strip()]
    for index, page in enumerate(pages):
        turn.reply(page, markup if index == len(pages) - 1 else None)


async def send_again(update: Update, context: BotContext, turn: Turn, press: callbacks.DeliveryAgain) -> None:
    _cluster, actor = await acting_from_button(turn, press.cluster_id)
    queued = await service.send_again(turn.session, actor)
    if queued:
        turn.edit(ngettext("🔁 {count} message is queued again.", "🔁 {count} messages are queued again.",
                           queued).format(count=queued))  # fmt: skip
    else:
        turn.edit(_("Nothing is parked: the messages left are to chats that refuse the bot."))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("undelivered", handler(show)))
    app.add_handler(dispatch(callbacks.DELIVERY, {callbacks.DeliveryAgain: send_again}))
