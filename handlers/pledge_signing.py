"""Signing the cluster's pledge: "✍️ Đồng ý ký giao ước", the group's signing message, the
conclusion and the Word document.

A representative signs from /pledge in private, or with the button under the group's signing
message. The group sees who has signed in ONE message, edited as signatures come in: the
edits are made by one background task per cluster and year, which redraws the message from
the database and, while an edit is waiting (Telegram allows about 20 messages or edits a
minute in a group, and the rate limiter holds the request), lets further signatures pile up
into the next edit. So a burst of signatures costs a few edits, never a flood, and no
handler waits for the limiter. The message's id is kept with the year's signing record.

The message is posted when the signing phase opens (`signing_opened`, the phases code's hook),
so the group has its button from the start. It stays under Telegram's 4096 characters for the
largest cluster allowed (200 units): every unit while that fits, else the count and the units
still to sign by name, as many as fit, and /pledges for the full list.

When every active unit has signed, or the chair concludes (here with "🏁", or by closing the
signing phase: `signing_closed` is the hook for the phases code), the document is made and
sent to the group and to each secretariat member in private.

Buttons: `pls:s:<year>[:<unit>]` sign · `pls:end:<year>` conclude? · `pls:endok:<year>`
conclude · `pls:no` keep going.
"""

from __future__ import annotations

import datetime as dt
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application

from bot import callbacks, fmt
from bot import pledge_document as document
from bot.errors import Refusal
from bot.i18n import _, ngettext, use_locale
from bot.permissions import Action
from bot.services import pledges as service
from bot.services.actors import Actor, actor_in
from handlers import phase as phase_handlers  # a module: handlers.phase may import this one
from handlers import pledge_common as common
from handlers.base import BotContext, Turn, announce, handler
from handlers.buttons import callback_handler, pressed
from handlers.clusters import stale
from handlers.pledge import pledge_view
from storage.models import Cluster, EmulationYear, Unit, utcnow

log = logging.getLogger(__name__)

BOARDS = "pledge_boards"  # bot_data: (cluster id, year id) -> the board's refresh state
BOARD_NAME_MAX = 80


# ------------------------------------------------------------------------------ the group's message


BOARD_BUDGET = 3900  # UTF-16 units of the board's HTML; the parsed text is shorter, Telegram allows 4096


def _size(text: str) -> int:
    """Telegram counts UTF-16 code units; the HTML is never shorter than the text it shows."""
    return len(text.encode("utf-16-le")) // 2


def board_view(board: service.Board, bot_username: str | None = None) -> tuple[str, InlineKeyboardMarkup | None]:
    """The group's signing message: under Telegram's limit however many units sign.

    Every unit with the time it signed while that fits; for a large cluster, the count and the
    units still to sign by name (as many as fit, then how many more), with /pledges, which
    pages the full list, for the rest. So the message keeps counting to the last signature.
    """
    concluded = board.concluded_at is not None
    title = (
        _("🏁 <b>The {year} pledge has been signed</b> — {cluster}") if concluded
        else _("✍️ <b>Signing of the {year} pledge</b> — {cluster}")
    ).format(year=board.year, cluster=common.name_text(board.cluster_name))  # fmt: skip
    head = [title, _("Signed: {signed}/{total} units").format(signed=board.signed, total=len(board.lines))]
    if concluded:
        foot = [_("Concluded on {when}. The document was sent to this group; /pledges shows it again.").format(
            when=fmt.datetime(board.concluded_at, board.tz)
        )]  # fmt: skip
        markup = None
    else:
        foot = [_("Representatives: press the button to sign for your unit (its pledge must be accepted).")]
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(
            _("✍️ Agree and sign the pledge"), callback_data=callbacks.SignBoard(board.year_id).pack()
        )]])  # fmt: skip

    def text(body: list[str]) -> str:
        return "\n\n".join(["\n".join(head), *(["\n".join(body)] if body else []), "\n".join(foot)])

    every = []
    for number, line in enumerate(board.lines, 1):
        name = common.name_text(line.name, BOARD_NAME_MAX)
        if line.signed_at is not None:
            every.append(f"✅ {number}. {name} — {fmt.datetime(line.signed_at, board.tz)}")
        else:
            every.append(f"⏳ {number}. {name}")
    if _size(text(every)) <= BOARD_BUDGET:
        return text(every), markup
    return text(_summary(board, bot_username, lambda body: _size(text(body)))), markup


def _more(count: int) -> str:
    return ngettext("… and {count} more unit.", "… and {count} more units.", count).format(count=count)


def _summary(board: service.Board, bot_username: str | None, size) -> list[str]:
    """The units not signed, by name, as many as the budget holds."""
    waiting = [(n, line) for n, line in enumerate(board.lines, 1) if line.signed_at is None]
    command = f"/pledges@{bot_username}" if bot_username else "/pledges"
    pointer = _("Every unit and the time it signed: {command}").format(command=command)
    if not waiting:
        return [pointer]
    label = _("Not signed ({count}):") if board.concluded_at is not None else _("Still to sign ({count}):")
    body = [label.format(count=len(waiting))]
    for shown, (number, line) in enumerate(waiting):
        entry = f"⏳ {number}. {common.name_text(line.name, BOARD_NAME_MAX)}"
        rest = len(waiting) - shown - 1
        more = [_more(rest)] if rest else []
        if size([*body, entry, *more, "", pointer]) > BOARD_BUDGET:
            body.append(_more(len(waiting) - shown))
            break
        body.append(entry)
    return [*body, "", pointer]


def refresh_board(app: Application, cluster_id: int, year_id: int) -> None:
    """Bring the group's signing message up to date, soon; call after the change committed."""
    state = app.bot_data.setdefault(BOARDS, {}).setdefault(
        (cluster_id, year_id), {"dirty": False, "task": None, "shown": None}
    )
    state["dirty"] = True
    task = state["task"]
    if task is None or task.done():
        state["task"] = app.create_task(_refresh(app, cluster_id, year_id, state), name=f"pledge-board-{year_id}")


async def _refresh(app: Application, cluster_id: int, year_id: int, state: dict) -> None:
    db = app.bot_data["db"]
    while state["dirty"]:
        state["dirty"] = False
        async with db.session() as session:
            board = await service.board_of(session, cluster_id, year_id)
        if board is None or board.chat_id is None:
            return
        with use_locale(board.locale):
            text, markup = board_view(board, app.bot.username)
        shown = (board.message_id, text, markup.to_json() if markup else None)
        if shown == state["shown"]:
            continue
        message_id = board.message_id
        if message_id is not None:
            try:
                await app.bot.edit_message_text(text, chat_id=board.chat_id, message_id=message_id, reply_markup=markup)
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():
                    log.info("signing message %s of chat %s is gone (%s); posting it again", message_id, board.chat_id, exc)
                    message_id = None
            except TelegramError:
                log.warning("could not update the signing message in chat %s", board.chat_id, exc_info=True)
                return
        if message_id is None:
            message = await announce(app.bot, board.chat_id, text, markup)
            if message is None:
                return
            message_id = message.message_id
            async with db.session() as session:
                await service.set_board_message(session, cluster_id, year_id, message_id)
                await session.commit()
        state["shown"] = (message_id, text, markup.to_json() if markup else None)


def _kick(turn: Turn, context: BotContext, cluster_id: int, year_id: int) -> None:
    async def start() -> None:
        refresh_board(context.application, cluster_id, year_id)

    turn.after_commit(start)


# ------------------------------------------------------------------------------ the document


async def deliver(turn: Turn, context: BotContext, outcome: service.SigningOutcome) -> None:
    """Signing was concluded: queue the final state of the group's message and the document
    for the group and the secretariat (sent after commit)."""
    cluster = await turn.session.get(Cluster, outcome.cluster_id)
    year = await turn.session.get(EmulationYear, outcome.year_id)
    doc = await service.document_of(turn.session, cluster, year)
    _kick(turn, context, cluster.id, year.id)
    if doc is None:
        return
    data = document.render(doc)
    recipients: list[tuple[int, str]] = []
    if cluster.telegram_chat_id is not None:
        with use_locale(cluster.locale):
            recipients.append((cluster.telegram_chat_id, caption(doc, outcome)))
    for person in await service.secretariat(turn.session, cluster.id):
        with use_locale(common.locale_of(person, turn.settings.locale)):
            recipients.append((person.telegram_user_id, caption(doc, outcome)))
    name = document.file_name(year.year)

    async def send_all() -> None:
        file_id = None
        for chat_id, text in recipients:
            try:
                message = await context.bot.send_document(
                    chat_id, document=file_id or InputFile(data, filename=name), caption=text
                )
            except (Forbidden, BadRequest) as exc:
                log.warning("could not send the pledge document to %s: %s", chat_id, exc)
                continue
            if file_id is None and message.document is not None:
                file_id = message.document.file_id  # the same file for the others, not uploaded again

    turn.after_commit(send_all)


def caption(doc: document.PledgeDocument, outcome: service.SigningOutcome | None = None) -> str:
    text = _("📄 The {year} emulation pledge of {cluster}").format(
        year=doc.year, cluster=common.name_text(doc.cluster_name, 300)
    )
    signed = sum(1 for unit in doc.units if unit.signed_at is not None)
    return text + "\n" + _("Signed by {signed} of {total} units.").format(signed=signed, total=len(doc.units))


async def send_document(turn: Turn, context: BotContext, cluster: Cluster, year: EmulationYear) -> None:
    """/pledges' button: the current document (with any amendments) to this chat."""
    doc = await service.document_of(turn.session, cluster, year)
    if doc is None:
        raise Refusal(_("The pledge has not been signed yet: the document exists once signing is concluded."))
    data = document.render(doc)
    text = caption(doc)
    chat_id = turn.update.effective_chat.id
    name = document.file_name(year.year)
    turn.after_commit(lambda: context.bot.send_document(chat_id, document=InputFile(data, filename=name), caption=text))


async def signing_closed(turn: Turn, context: BotContext, year_id: int, now: dt.datetime | None = None) -> None:
    """The hook for the phases code: call it in the update that closed the signing phase
    (closing it, or opening self-scoring). Concludes the signing if it was not yet, and
    queues the document for the group and the secretariat."""
    outcome = await service.finalize_signing(
        turn.session, year_id, now or utcnow(), by_person_id=turn.person.id if turn.person else None
    )
    if outcome is not None:
        await deliver(turn, context, outcome)


def signing_opened(turn: Turn, context: BotContext, cluster_id: int, year_id: int) -> None:
    """The hook for the phases code: the signing phase opened (or opened again) in this update.
    The group's signing message is posted with its button after the commit, so representatives
    can sign from the group before anyone has signed in private; one that exists is redrawn."""
    _kick(turn, context, cluster_id, year_id)


# ------------------------------------------------------------------------------ buttons


@handler
async def button(update: Update, context: BotContext, turn: Turn) -> None:
    press = pressed(update, callbacks.SIGNING)
    if isinstance(press, callbacks.SigningKeepGoing):
        turn.edit(_("Nothing was changed."))
        return
    if turn.person is None:
        raise stale()
    year = await turn.session.get(EmulationYear, press.year_id)
    if year is None or (turn.cluster is not None and year.cluster_id != turn.cluster.id):
        raise stale()
    if not turn.private and turn.cluster is None:
        raise stale()
    actor = await actor_in(turn.session, turn.person.id, year.cluster_id)
    now = utcnow()
    if isinstance(press, callbacks.SignBoard | callbacks.SignUnit):
        await sign(turn, context, actor, year, press.unit_id if isinstance(press, callbacks.SignUnit) else None, now)
    elif press.action == "end":
        actor.require(Action.MANAGE_PHASES)
        turn.reply(
            _("🏁 Conclude the signing of the {year} pledge now? The signing phase closes; units "
              "that have not signed are recorded as not signed, and the document goes to the "
              "group.").format(year=year.year),
            InlineKeyboardMarkup([[
                InlineKeyboardButton(_("🏁 Conclude the signing"), callback_data=callbacks.SigningEnd("endok", year.id).pack()),
                InlineKeyboardButton(_("« No"), callback_data=callbacks.SigningKeepGoing().pack()),
            ]]),
        )  # fmt: skip
    else:
        await conclude(turn, context, actor, year, now)


async def sign(turn: Turn, context: BotContext, actor: Actor, year: EmulationYear, unit_id: int | None, now: dt.datetime) -> None:
    result = await service.sign(turn.session, actor, unit_id, now)
    unit = await turn.session.get(Unit, result.pledge.unit_id)
    if turn.private:
        note = "✍️ " + _("Signed for {unit}. Thank you!").format(unit=common.name_text(unit.name))
        turn.edit(*await pledge_view(turn, result.pledge, note=note))
    else:
        turn.answer(_("✍️ Signed for {unit}.").format(unit=common.name_text(unit.name, 150)))
    _kick(turn, context, year.cluster_id, year.id)
    if result.outcome is not None:
        await deliver(turn, context, result.outcome)


async def conclude(turn: Turn, context: BotContext, actor: Actor, year: EmulationYear, now: dt.datetime) -> None:
    change, outcome = await service.conclude(turn.session, actor, year.id, now)
    cluster = await turn.session.get(Cluster, year.cluster_id)
    if change is not None:
        await phase_handlers.announce(turn, context, cluster, change, now)
    if outcome is None:
        turn.edit(_("The signing phase is closed. No unit had signed, so there is no document."))
        return
    turn.edit(
        _("🏁 Signing concluded: {signed} of {total} units signed. The document goes to the group "
          "and the secretariat.").format(signed=outcome.signed, total=outcome.total)
    )  # fmt: skip
    await deliver(turn, context, outcome)


def register(app: Application) -> None:
    app.add_handler(callback_handler(callbacks.SIGNING, button))

