"""Signing the cluster's pledge: "✍️ Đồng ý ký giao ước", the conclusion, and the Word
document on request.

A representative signs from /pledge in private, or with the button under the group's signing
message. The group sees who has signed in ONE message, the live message
`signing-board:<year>` of the outbox: the service (`bot.services.pledges.sign`) queues its
new content in the signature's transaction, the sender posts it once and then edits it, and
content queued while an edit waits for Telegram's limits (about 20 messages or edits a minute
in a group) replaces the waiting content: a burst of signatures costs a few edits, never a
flood, and no handler waits for the limiter. Its text is `bot.views.pledges.board_view`.

The message is posted when the signing phase opens (`signing_opened`, the phases code's hook),
so the group has its button from the start.

When every active unit has signed, or the chair concludes (here with "🏁", or by closing the
signing phase: `signing_closed` is the hook for the phases code), the service queues the
message's final state and the document for the group and each secretariat member.

Buttons: `pls:s:<year>[:<unit>]` sign · `pls:end:<year>` conclude? · `pls:endok:<year>`
conclude · `pls:no` keep going.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application

from bot import callbacks
from bot import pledge_document as document
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.services import pledges as service
from bot.services.actors import Actor, actor_in
from bot.views import pledges as views
from handlers import phase as phase_handlers  # a module: handlers.phase may import this one
from handlers import pledge_common as common
from handlers.base import BotContext, Turn, handler
from handlers.buttons import callback_handler, pressed
from handlers.clusters import stale
from handlers.pledge import pledge_view
from storage.models import Cluster, EmulationYear, Unit, utcnow


async def send_document(turn: Turn, cluster: Cluster, year: EmulationYear) -> None:
    """/pledges' button: the current document (with any amendments) to this chat, as the
    answer to the person who pressed."""
    doc = await service.document_of(turn.session, cluster, year)
    if doc is None:
        raise Refusal(_("The pledge has not been signed yet: the document exists once signing is concluded."))
    data = await asyncio.to_thread(document.render, doc)  # off the event loop: other chats go on
    text = views.caption(doc)
    name = document.file_name(year.year)
    turn.reply_file(data, name, text)


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


def register(app: Application) -> None:
    app.add_handler(callback_handler(callbacks.SIGNING, button))

