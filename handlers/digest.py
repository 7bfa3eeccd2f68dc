"""/digest, /secretariat and /deputy: the secretariat's digest now and its settings, the chat
where the secretariat works together, and a deputy during a leave. The rules are in
`bot/digest.py` and `bot/services/digests.py`; the words in `bot/views/digest.py`."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks
from bot.digest import Variant
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.services import digests as service
from bot.services.actors import actor_in
from bot.services.phases import cluster_timezone
from bot.views import digest as words
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch, stale
from handlers.clusters import acting_from_button, acting_in, rerunnable
from storage.models import Cluster, utcnow

PAGE = 8


@rerunnable("digest")
async def show_digest(update: Update, context: BotContext, turn: Turn) -> None:
    if not turn.private:
        raise Refusal(_("Send /digest to me in a private chat: the digest names the units not done yet."))
    found = await acting_in(turn, "digest")
    if found is None:
        return
    cluster, actor = found
    snap, tz = await service.digest_now(turn.session, actor, turn.person)
    turn.reply(words.digest_text(snap, Variant.NOW, utcnow(), tz))
    if actor.may(Action.CONFIGURE_DIGEST):
        settings = service.settings_of(actor, cluster)
        turn.reply(words.settings_text(cluster.name, settings), words.settings_keyboard(cluster.id, settings))


async def _settings_pressed(turn: Turn, cluster_id: int, **change) -> None:
    cluster, actor = await acting_from_button(turn, cluster_id)
    settings = await service.change_settings(turn.session, actor, cluster, **change)
    turn.edit(words.settings_text(cluster.name, settings), words.settings_keyboard(cluster.id, settings))


async def set_time(update: Update, context: BotContext, turn: Turn, press: callbacks.DigestTime) -> None:
    await _settings_pressed(turn, press.cluster_id, hour=press.hour)


async def toggle_day(update: Update, context: BotContext, turn: Turn, press: callbacks.DigestDay) -> None:
    await _settings_pressed(turn, press.cluster_id, day=press.day)


async def switch(update: Update, context: BotContext, turn: Turn, press: callbacks.DigestSwitch) -> None:
    await _settings_pressed(turn, press.cluster_id, on=bool(press.on))


# ------------------------------------------------------------------------------ /secretariat


async def _register(turn: Turn, cluster: Cluster) -> None:
    actor = await actor_in(turn.session, turn.person.id, cluster.id)
    chat = turn.update.effective_chat
    changed = await service.register_chat(turn.session, actor, cluster, chat.id, chat.title or "")
    text = (_("✅ This chat is the secretariat chat of {cluster}: the digests come here too.")
            if changed else _("This chat is already the secretariat chat of {cluster}."))  # fmt: skip
    (turn.edit if turn.update.callback_query else turn.reply)(text.format(cluster=escape(cluster.name)))


async def secretariat(update: Update, context: BotContext, turn: Turn) -> None:
    if turn.private:
        raise Refusal(_("Send /secretariat in the secretariat's own group chat, with me added to it."))
    clusters = await service.clusters_for_chat(turn.session, turn.person.id) if turn.person else []
    if not clusters:
        raise Refusal(_("Only the cluster administrator or secretariat can do this."))
    if len(clusters) == 1:
        await _register(turn, clusters[0])
        return
    rows = [[InlineKeyboardButton(escape(c.name), callback_data=callbacks.SecretariatChat(c.id).pack())]
            for c in clusters]  # fmt: skip
    turn.reply(_("Which cluster's secretariat works in this chat?"), InlineKeyboardMarkup(rows))


async def secretariat_pick(update: Update, context: BotContext, turn: Turn, press: callbacks.SecretariatChat) -> None:
    if turn.private:
        raise stale()
    cluster = await turn.session.get(Cluster, press.cluster_id)
    if cluster is None or turn.person is None:
        raise stale()
    await _register(turn, cluster)


# ------------------------------------------------------------------------------ /deputy


async def _deputy_screen(turn: Turn, cluster: Cluster, actor, page: int, edit: bool) -> None:
    current = await service.delegations(turn.session, actor)
    people = await service.deputy_candidates(turn.session, actor)
    pages = max(1, -(-len(people) // PAGE))
    page = min(page, pages - 1)
    tz = cluster_timezone(cluster)
    text = words.deputy_text(cluster.name, [(d.deputy_name, d.ends_at) for d in current], tz)
    if not people:
        text += "\n" + _("Nobody else has a role in this cluster yet.")
    markup = words.deputy_keyboard(cluster.id, people[page * PAGE:(page + 1) * PAGE], page, pages,
                                   [(d.id, d.deputy_name) for d in current])  # fmt: skip
    (turn.edit if edit else turn.reply)(text, markup)


@rerunnable("deputy")
async def deputy(update: Update, context: BotContext, turn: Turn) -> None:
    if not turn.private:
        raise Refusal(_("Send /deputy to me in a private chat."))
    found = await acting_in(turn, "deputy")
    if found is None:
        return
    cluster, actor = found
    await _deputy_screen(turn, cluster, actor, 0, edit=False)


async def deputy_page(update: Update, context: BotContext, turn: Turn, press: callbacks.DeputyPage) -> None:
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    await _deputy_screen(turn, cluster, actor, press.page, edit=True)


async def deputy_pick(update: Update, context: BotContext, turn: Turn, press: callbacks.DeputyPick) -> None:
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    person = await service.deputy_to_name(turn.session, actor, press.person_id)
    turn.edit(words.deputy_until_text(person.full_name), words.deputy_until_keyboard(cluster.id, person.id))


async def deputy_until(update: Update, context: BotContext, turn: Turn, press: callbacks.DeputyUntil) -> None:
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    named = await service.name_deputy(turn.session, actor, cluster, press.person_id, press.days)
    turn.edit(words.deputy_named(named.deputy_name, named.ends_at, cluster_timezone(cluster)))


async def deputy_end(update: Update, context: BotContext, turn: Turn, press: callbacks.DeputyEnd) -> None:
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    ended = await service.end_deputy(turn.session, actor, press.delegation_id)
    turn.answer(_("The delegation to {name} has ended.").format(name=ended.deputy_name))
    await _deputy_screen(turn, cluster, actor, 0, edit=True)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("digest", handler(show_digest)))
    app.add_handler(CommandHandler("secretariat", handler(secretariat)))
    app.add_handler(CommandHandler("deputy", handler(deputy)))
    app.add_handler(dispatch(callbacks.DIGEST, {
        callbacks.DigestTime: set_time, callbacks.DigestDay: toggle_day, callbacks.DigestSwitch: switch,
        callbacks.SecretariatChat: secretariat_pick, callbacks.DeputyPick: deputy_pick,
        callbacks.DeputyPage: deputy_page, callbacks.DeputyUntil: deputy_until, callbacks.DeputyEnd: deputy_end,
    }))  # fmt: skip
