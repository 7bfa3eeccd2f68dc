"""The chair reviews submitted pledges: accept, or return with a typed comment.

When a unit submits, the chair unit's representatives get the pledge in private with the two
buttons; the chair unit's own pledge goes to the vice-chair unit's instead (the chair never
reviews its own), and to the administrators when that unit is not set or has nobody
(`service.reviewers`, `bot.pledges.check_reviewer`). /pledges lists what waits. Once reviewed,
the heading says how it ended (accepted, returned) and the buttons are gone.
The unit's representatives are told the outcome in private. The notices are queued by the
service (`bot.services.pledges`, texts in `bot.views.pledges`) in the review's transaction and
sent by the outbox; this module only answers the reviewer.

Buttons (`plr:<action>:<pledge>[:<version>|<page>]`): `open` show · `pg` page · `ok` accept ·
`ret` return (asks for the comment, step `pledge_return_comment`).
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application

from bot import callbacks
from bot import pledges as rules
from bot.errors import Refusal
from bot.i18n import _
from bot.pledges import Op
from bot.services import pledges as service
from bot.services.actors import Actor, actor_in
from bot.views import pledges as views
from handlers import pledge_common as common
from handlers.awaiting import done, expect, on_input
from handlers.base import BotContext, Turn, handler
from handlers.buttons import callback_handler, pressed
from handlers.clusters import stale
from storage.models import EmulationYear, Pledge, Unit
from storage.pledges import pledge_in_context

STEP_COMMENT = "pledge_return_comment"


async def review_view(
    turn: Turn, pledge: Pledge, *, page: int = 0, note: str | None = None, buttons: bool = True
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The pledge as the reviewer reads it (`views.review_view`, the notice they were sent),
    with Accept / Return when they apply now."""
    card = await service.card_of(turn.session, pledge, ops=buttons)
    return views.review_view(card, page=page, note=note)


@handler
async def button(update: Update, context: BotContext, turn: Turn) -> None:
    press = pressed(update, callbacks.REVIEW)
    if turn.person is None or not turn.private:
        raise stale()
    pledge = await pledge_in_context(turn.session, press.pledge_id)  # with its year, unit, cluster
    year = await turn.session.get(EmulationYear, pledge.year_id) if pledge is not None else None
    if pledge is None or year is None:
        raise stale()
    actor = await actor_in(turn.session, turn.person.id, year.cluster_id)
    await service.check_reviewable(turn.session, actor, pledge.id)
    if isinstance(press, callbacks.ReviewOpen):
        turn.reply(*await review_view(turn, pledge))
        return
    if isinstance(press, callbacks.ReviewPage):
        turn.edit(*await review_view(turn, pledge, page=press.page))
        return
    version = press.version
    if pledge.version != version:
        # a second tap on what this person has just done is said as done
        service.check_repeat(pledge, actor, Op.ACCEPT if press.action == "ok" else Op.RETURN)
        await show_changed(turn, pledge)
        return
    if press.action == "ok":
        await accept(turn, context, actor, pledge, version)
    else:
        rules.check(Op.RETURN, pledge.status)
        await expect(turn, STEP_COMMENT, pledge_id=pledge.id, version=version)
        unit = await turn.session.get(Unit, pledge.unit_id)
        turn.edit(
            _("↩️ Returning the pledge of <b>{unit}</b>. Send your comment in one message: what "
              "should the unit change? (up to {max} characters; /cancel to stop)").format(
                unit=common.name_text(unit.name), max=rules.MAX_COMMENT
            )
        )  # fmt: skip


async def show_changed(turn: Turn, pledge: Pledge, typed: str | None = None) -> None:
    await common.show_current(
        turn, review_view, pledge.id,
        _("The pledge changed since this message (edited, withdrawn, or already reviewed by "
          "someone else); nothing was saved. Here is the current version."),
        _("The pledge changed since this message; here is the current version."), typed,
    )  # fmt: skip


async def accept(turn: Turn, context: BotContext, actor: Actor, pledge: Pledge, version: int) -> None:
    pledge_id = pledge.id
    try:
        pledge = await service.accept(turn.session, actor, pledge_id, version)
    except service.StaleDraft:  # lost at the database: to this person's own tap, or another's
        current = await turn.session.get(Pledge, pledge_id, populate_existing=True)
        service.check_repeat(current, actor, Op.ACCEPT)
        await show_changed(turn, current)
        return
    note = "✅ " + _("Accepted; the unit's representatives have been told.")
    turn.edit(*await review_view(turn, pledge, note=note))


@on_input(STEP_COMMENT)
async def comment_typed(update: Update, context: BotContext, turn: Turn, data: dict[str, Any]) -> None:
    message = update.effective_message
    typed = message.text if message is not None else None
    if not typed:
        raise Refusal(_("Please type the comment as text, or /cancel."))
    comment = rules.clean_text(typed, rules.MAX_COMMENT, what=_("The comment"))
    pledge = await pledge_in_context(turn.session, data.get("pledge_id") or 0)  # with its year, unit, cluster
    year = await turn.session.get(EmulationYear, pledge.year_id) if pledge is not None else None
    if pledge is None or year is None:
        await done(turn)
        turn.reply(_("That pledge is no longer there; nothing was saved."))
        return
    actor = await actor_in(turn.session, turn.person.id, year.cluster_id)
    pledge_id = pledge.id
    try:
        pledge = await service.return_pledge(turn.session, actor, pledge_id, data.get("version"), comment)
    except service.StaleDraft:
        await done(turn)
        await show_changed(turn, await turn.session.get(Pledge, pledge_id, populate_existing=True), typed=comment)
        return
    await done(turn)
    note = "↩️ " + _("Returned to the unit with your comment; its representatives have been told.")
    turn.reply(*await review_view(turn, pledge, note=note))


def register(app: Application) -> None:
    app.add_handler(callback_handler(callbacks.REVIEW, button))
