"""/setup in a group: bind it to a new cluster. The group administrator becomes its admin.

The set-up message shows the cluster's choices — Cụm or Khối, the emulation year, the place
written on the pledge document — and the next steps; a press changes one choice and redraws
the whole message, so nothing is lost whatever is pressed first. /setup again, by the
cluster's administrator, posts it again with the current choices marked. What may still
change is the service's to say (`bot.services.clusters`): the year until the first phase
opens, the place until the signing is concluded.

Another year ("Năm khác…") and the place are typed: the group's messages are not read, so
the button asks in the presser's private chat (step `setup_year` / `setup_place`, kept in the
database) and, once saved, redraws the group's set-up message.

Buttons: `kind:<cluster>:<kind>` · `yr:<cluster>:<year>` · `su:<year|place>:<cluster>`.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from html import escape
from typing import Any

from telegram import ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, CommandHandler

from bot import callbacks, setup_input
from bot.errors import Refusal
from bot.i18n import _, pick_locale, use_locale
from bot.pledge_document import UNKNOWN_PLACE
from bot.services import clusters, notify
from bot.services.actors import Actor, actor_in
from handlers.awaiting import INPUT_FLOW, done, expect_in_private, on_input
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch, stale
from storage.conversation import forget_step
from storage.models import Cluster, ClusterKind, utcnow

log = logging.getLogger(__name__)

KIND_NAMES = {ClusterKind.CLUSTER: "Cụm thi đua", ClusterKind.BLOC: "Khối thi đua"}
STEP_YEAR = "setup_year"
STEP_PLACE = "setup_place"


def this_year(turn: Turn) -> int:
    return utcnow().astimezone(turn.settings.timezone).year


# ------------------------------------------------------------------------------ the message


def setup_text(state: clusters.SetupState, head: str, bot: str) -> str:
    place = (
        _("Place on the pledge document: {place}").format(place=escape(state.place))
        if state.place
        else _("Place on the pledge document: not set yet (the document leaves “{dots}, ngày …” to fill in "
               "by hand)").format(dots=UNKNOWN_PLACE)  # fmt: skip
    )
    if state.year_open:
        year_note = _("The emulation year can be corrected until the first phase opens; “{button}” to type "
                      "another one, e.g. 2017.").format(button=other_year_label())  # fmt: skip
    else:
        year_note = _("The emulation year can no longer be changed: a phase has already opened.")
    if state.place_open:
        place_note = _("The place can be set until the signing of the pledges is concluded: “{button}”.").format(
            button=place_label()
        )
    else:
        place_note = _("The place can no longer be changed: the {year} pledge has been signed and its document "
                       "is final.").format(year=state.year.year)  # fmt: skip
    return "\n".join([
        head,
        "",
        _("Kind: {kind}").format(kind=KIND_NAMES[state.cluster.kind]),
        _("Emulation year: {year}").format(year=state.year.year),
        place,
        "",
        _("Next steps, in a private chat with me:\n"
          "1. /units — add the member units (one name per line);\n"
          "2. /invite — an invite link for each unit's representatives;\n"
          "3. /chair — the chair and vice-chair units;\n"
          "4. /phase@{bot} — open pledge registration.").format(bot=bot),
        "",
        _("Is this a Cụm or a Khối thi đua? Choose below."),
        year_note,
        place_note,
    ])  # fmt: skip


def other_year_label() -> str:
    return _("✍️ Other year…")


def place_label() -> str:
    return _("📍 Place…")


def setup_keyboard(state: clusters.SetupState, calendar_year: int) -> InlineKeyboardMarkup:
    """The kind; while allowed, the year (last, this, next calendar year and the chosen one)
    and the typed choices."""
    cluster_id, chosen = state.cluster.id, state.year.year

    def mark(text: str, on: bool) -> str:
        return f"✓ {text}" if on else text

    rows = [[
        InlineKeyboardButton(mark(KIND_NAMES[k], k == state.cluster.kind),
                             callback_data=callbacks.SetupKind(cluster_id, k).pack())
        for k in ClusterKind
    ]]  # fmt: skip
    if state.year_open:
        years = sorted({calendar_year - 1, calendar_year, calendar_year + 1, chosen})
        rows.append([
            InlineKeyboardButton(mark(str(y), y == chosen), callback_data=callbacks.SetupYear(cluster_id, y).pack())
            for y in years
        ])  # fmt: skip
    typed = []
    if state.year_open:
        typed.append(InlineKeyboardButton(other_year_label(), callback_data=callbacks.SetupAsk("year", cluster_id).pack()))
    if state.place_open:
        typed.append(InlineKeyboardButton(place_label(), callback_data=callbacks.SetupAsk("place", cluster_id).pack()))
    if typed:
        rows.append(typed)
    return InlineKeyboardMarkup(rows)


def setup_view(turn: Turn, state: clusters.SetupState, head: str) -> tuple[str, InlineKeyboardMarkup]:
    bot = turn.update.get_bot().username
    return setup_text(state, head, bot), setup_keyboard(state, this_year(turn))


def place_head(cluster: Cluster, place: str) -> str:
    return _("<b>{name}</b>: the pledge document will say “{place}, ngày …”.").format(
        name=escape(cluster.name), place=escape(place)
    )


def year_head(cluster: Cluster, year: int) -> str:
    return _("<b>{name}</b>: emulation year {year}.").format(name=escape(cluster.name), year=year)


# ------------------------------------------------------------------------------ /setup


# Whether the sender administers the group, asked before the update's transaction opens.
_group_admin: ContextVar[bool | None] = ContextVar("thidua_setup_group_admin", default=None)


async def setup(update: Update, context: BotContext) -> None:
    """Ask Telegram whether the sender is an administrator of the group *before* the update's
    session opens: no database lock is held while Telegram answers, and a refused /setup (a
    member who is not an administrator) rolls back everything, the sender's record included."""
    chat, user = update.effective_chat, update.effective_user
    admin: bool | None = None
    if chat is not None and user is not None and chat.type != ChatType.PRIVATE:
        # A failure here reaches the error handler (the apology) before anything is stored,
        # so the update is not recorded and a redelivery is handled in full.
        member = await context.bot.get_chat_member(chat.id, user.id)
        admin = member.status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR)
    token = _group_admin.set(admin)
    try:
        await _setup(update, context)
    finally:
        _group_admin.reset(token)


@handler
async def _setup(update: Update, context: BotContext, turn: Turn) -> None:
    if turn.private:
        raise Refusal(
            _(
                "/setup works in your cluster's Telegram group: add me to the group, then an "
                "administrator of the group sends /setup@{bot} there."
            ).format(bot=context.bot.username)
        )
    if turn.cluster is not None:
        actor = await actor_in(turn.session, turn.person.id, turn.cluster.id)
        state = await clusters.setup_again(turn.session, actor, turn.cluster)
        head = _("This group is already set up as the cluster <b>{name}</b>.").format(name=escape(turn.cluster.name))
        turn.reply(*setup_view(turn, state, head))
        return
    chat = update.effective_chat
    is_admin = bool(_group_admin.get())
    name = " ".join(context.args) if context.args else (chat.title or "")
    cluster, _year = await clusters.setup_cluster(
        turn.session,
        chat_id=chat.id,
        name=name,
        person_id=turn.person.id,
        is_group_admin=is_admin,
        year=this_year(turn),
        locale=turn.locale,
    )
    actor = await actor_in(turn.session, turn.person.id, cluster.id)
    state = await clusters.setup_state(turn.session, actor, cluster)
    head = _("The cluster <b>{name}</b> is set up. {person} is its administrator.").format(
        name=escape(cluster.name), person=escape(update.effective_user.full_name)
    )
    turn.reply(*setup_view(turn, state, head))


# ------------------------------------------------------------------------------ buttons


async def _acting(turn: Turn, cluster_id: int) -> tuple[Cluster, Actor]:
    """The group's cluster, if the button names it, and who pressed."""
    cluster = turn.cluster
    if cluster is None or cluster.id != cluster_id or turn.person is None:
        raise stale()
    return cluster, await actor_in(turn.session, turn.person.id, cluster.id)


async def choose_kind(update: Update, context: BotContext, turn: Turn, press: callbacks.SetupKind) -> None:
    cluster, actor = await _acting(turn, press.cluster_id)
    await clusters.set_kind(turn.session, actor, cluster, press.kind)
    state = await clusters.setup_state(turn.session, actor, cluster)
    head = _("<b>{name}</b> is a {kind}.").format(name=escape(cluster.name), kind=KIND_NAMES[press.kind])
    turn.edit(*setup_view(turn, state, head))


async def choose_year(update: Update, context: BotContext, turn: Turn, press: callbacks.SetupYear) -> None:
    cluster, actor = await _acting(turn, press.cluster_id)
    state = await clusters.setup_state(turn.session, actor, cluster)
    await clusters.change_year(turn.session, actor, state.year, press.year, this_year=this_year(turn))
    turn.edit(*setup_view(turn, state, year_head(cluster, press.year)))


async def ask(update: Update, context: BotContext, turn: Turn, press: callbacks.SetupAsk) -> None:
    """Ask for the year or the place in the presser's private chat."""
    cluster, actor = await _acting(turn, press.cluster_id)
    state = await clusters.setup_state(turn.session, actor, cluster)
    if press.what == "year":
        await clusters.check_year_open(turn.session, actor, state.year)
    else:
        await clusters.check_place_open(turn.session, actor, cluster)
    message = update.callback_query.message
    chat_id = await expect_in_private(
        turn, STEP_YEAR if press.what == "year" else STEP_PLACE,
        cluster_id=cluster.id, chat_id=cluster.telegram_chat_id, message_id=message.message_id if message else None,
    )  # fmt: skip
    person = turn.person
    with use_locale(pick_locale(person.locale, person.language_code, turn.settings.locale)):
        if press.what == "year":
            first, last = setup_input.year_range(this_year(turn))
            prompt = _("✍️ Which emulation year does <b>{name}</b> record? Type it here, e.g. 2017 (from {first} "
                       "to {last}). /cancel to stop.").format(name=escape(cluster.name), first=first, last=last)  # fmt: skip
        else:
            prompt = _("📍 Which place is written before the date of the pledge document of <b>{name}</b>? Type "
                       "it here, e.g. TP. Hồ Chí Minh (up to {max} characters). /cancel to stop.").format(
                name=escape(cluster.name), max=setup_input.MAX_PLACE)  # fmt: skip
        written = _("I have written to you in our private chat: type it there.")
        cannot = _("I cannot write to you yet: open a private chat with @{bot}, press Start, then press this "
                   "button again.").format(bot=context.bot.username)  # fmt: skip
    person_id = person.id

    async def send_prompt() -> None:
        try:
            await context.bot.send_message(chat_id, prompt)
        except (Forbidden, BadRequest) as exc:
            log.info("could not ask %s in private: %s", chat_id, exc)
            await forget_step(context.db, person_id, chat_id, INPUT_FLOW)
            await turn.answer_now(cannot, alert=True)
            return
        await turn.answer_now(written)

    turn.after_commit(send_prompt)


# ------------------------------------------------------------------------------ typed answers


async def _still_allowed(turn: Turn, data: dict[str, Any], what: str) -> tuple[clusters.SetupState, Actor] | None:
    """The cluster and the choice the step is about, if it may still change; else the step
    ends with the reason (typing again would not help)."""
    cluster = await turn.session.get(Cluster, data.get("cluster_id") or 0)
    if cluster is None:
        await done(turn)
        turn.reply(stale().message)
        return None
    actor = await actor_in(turn.session, turn.person.id, cluster.id)
    try:
        state = await clusters.setup_state(turn.session, actor, cluster)
        if what == "year":
            await clusters.check_year_open(turn.session, actor, state.year)
        else:
            await clusters.check_place_open(turn.session, actor, cluster)
    except Refusal as refusal:
        await done(turn)
        turn.reply(refusal.message)
        return None
    return state, actor


async def _redraw_group_message(turn: Turn, state: clusters.SetupState, data: dict[str, Any], head: Any) -> None:
    """Show the new choice on the group's set-up message, in the group's language (an outbox
    edit: this update came from the private chat)."""
    cluster = state.cluster
    chat_id, message_id = data.get("chat_id"), data.get("message_id")
    if chat_id is None or chat_id != cluster.telegram_chat_id or not isinstance(message_id, int):
        return
    await notify.edit_in_group(turn.session, cluster, f"setup:{cluster.id}:{message_id}", message_id,
                               lambda: notify.Note(*setup_view(turn, state, head())))  # fmt: skip


@on_input(STEP_YEAR)
async def year_typed(update: Update, context: BotContext, turn: Turn, data: dict[str, Any]) -> None:
    allowed = await _still_allowed(turn, data, "year")
    if allowed is None:
        return
    state, actor = allowed
    message = update.effective_message
    calendar_year = this_year(turn)
    wanted = setup_input.parse_year(message.text if message is not None else None, calendar_year)
    await clusters.change_year(turn.session, actor, state.year, wanted, this_year=calendar_year)
    await done(turn)
    cluster = state.cluster
    turn.reply("✅ " + year_head(cluster, wanted))
    await _redraw_group_message(turn, state, data, lambda: year_head(cluster, wanted))


@on_input(STEP_PLACE)
async def place_typed(update: Update, context: BotContext, turn: Turn, data: dict[str, Any]) -> None:
    allowed = await _still_allowed(turn, data, "place")
    if allowed is None:
        return
    state, actor = allowed
    message = update.effective_message
    cluster = state.cluster
    place = await clusters.set_place(turn.session, actor, cluster, message.text if message is not None else None)
    await done(turn)
    state = await clusters.setup_state(turn.session, actor, cluster)
    turn.reply("✅ " + place_head(cluster, place))
    await _redraw_group_message(turn, state, data, lambda: place_head(cluster, place))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("setup", setup))
    app.add_handler(dispatch(callbacks.SETUP_KIND, {callbacks.SetupKind: choose_kind}))
    app.add_handler(dispatch(callbacks.SETUP_YEAR, {callbacks.SetupYear: choose_year}))
    app.add_handler(dispatch(callbacks.SETUP_ASK, {callbacks.SetupAsk: ask}))
