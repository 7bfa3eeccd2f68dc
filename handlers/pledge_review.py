"""The chair reviews submitted pledges: accept, or return with a typed comment.

When a unit submits, the chair unit's representatives get the pledge in private with the two
buttons; the chair unit's own pledge goes to the vice-chair unit's instead (the chair never
reviews its own), and to the administrators when that unit is not set or has nobody
(`service.reviewers`, `bot.pledges.check_reviewer`). /pledges lists what waits. Once reviewed,
the heading says how it ended (accepted, returned) and the buttons are gone.
The unit's representatives are told the outcome in private; a representative who blocked
the bot does not undo the review.

Buttons (`plr:<action>:<pledge>[:<version>|<page>]`): `open` show · `pg` page · `ok` accept ·
`ret` return (asks for the comment, step `pledge_return_comment`).
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application

from bot import callbacks
from bot import pledges as rules
from bot.errors import Refusal
from bot.i18n import N_, _, current_locale, use_locale
from bot.permissions import Role
from bot.pledges import Op
from bot.services import pledges as service
from bot.services.actors import Actor, actor_in
from bot.services.phases import cluster_timezone
from handlers import pledge_common as common
from handlers.awaiting import done, expect, on_input
from handlers.base import BotContext, Turn, handler
from handlers.buttons import callback_handler, pressed
from handlers.clusters import stale
from storage.models import Cluster, EmulationYear, Pledge, PledgeStatus, Unit

STEP_COMMENT = "pledge_return_comment"


# What the reviewer reads at the top: what the pledge waits for, or how its review ended (a
# draft, withdrawn by the unit, keeps the plain "Pledge" heading).
_HEADINGS = {
    PledgeStatus.SUBMITTED: N_("📨 <b>Pledge {year} to review</b> — {unit}"),
    PledgeStatus.ACCEPTED: N_("✅ <b>Pledge {year} accepted</b> — {unit}"),
    PledgeStatus.RETURNED: N_("↩️ <b>Pledge {year} returned for changes</b> — {unit}"),
    PledgeStatus.SIGNED: N_("✍️ <b>Pledge {year} signed</b> — {unit}"),
}


def _button(text: str, action: str, *args: int) -> InlineKeyboardButton:
    """A button on the review message (`callbacks.REVIEW` declares each one)."""
    return InlineKeyboardButton(text, callback_data=callbacks.REVIEW.build(action, *args).pack())


async def review_view(
    turn: Turn, pledge: Pledge, *, page: int = 0, note: str | None = None, buttons: bool = True
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The pledge as the chair reads it, with Accept / Return when they apply now."""
    session = turn.session
    year = await session.get(EmulationYear, pledge.year_id)
    unit = await session.get(Unit, pledge.unit_id)
    cluster = await session.get(Cluster, year.cluster_id)
    ops = await service.available_ops(session, pledge) if buttons else set()
    head = common.pledge_header(unit.name, year.year, pledge, cluster_timezone(cluster))
    heading = _HEADINGS.get(pledge.status)
    if heading is not None:
        head[0] = _(heading).format(year=year.year, unit=common.name_text(unit.name))
    pages = common.pages_of(head, service.items_of(pledge), note=note)
    page = min(max(page, 0), len(pages) - 1)
    rows = []
    review = [
        *([_button(_("✅ Accept"), "ok", pledge.id, pledge.version)] if Op.ACCEPT in ops else []),
        *([_button(_("↩️ Return with a comment"), "ret", pledge.id, pledge.version)] if Op.RETURN in ops else []),
    ]  # fmt: skip
    if review:
        rows.append(review)
    pledge_id = pledge.id
    nav = common.nav_row(page, len(pages), lambda other: callbacks.ReviewPage(pledge_id, other))
    if nav:
        rows.append(nav)
    return pages[page], InlineKeyboardMarkup(rows) if rows else None


async def notify_reviewers(turn: Turn, context: BotContext, pledge: Pledge) -> None:
    """A pledge was submitted: the reviewers get it in private, buttons included."""
    year = await turn.session.get(EmulationYear, pledge.year_id)
    people = await service.reviewers(turn.session, year, pledge.unit_id)
    views = {}
    for locale in {common.locale_of(person, turn.settings.locale) for person in people}:
        with use_locale(locale):
            views[locale] = await review_view(turn, pledge)
    common.tell(turn, context.bot, people, lambda: views[current_locale()])


def _reviewer(actor: Actor, pledge: Pledge, year: EmulationYear) -> str:
    """Who reviewed, as the unit is told (`rules.check_reviewer` decides who may)."""
    if pledge.unit_id == year.chair_unit_id and Role.VICE_CHAIR in actor.roles:
        return _("The vice-chair unit")
    if Role.CHAIR in actor.roles:
        return _("The chair")
    return _("The cluster administrator")


async def _reps_told(turn: Turn, context: BotContext, pledge: Pledge, compose) -> None:
    people = await service.unit_people(turn.session, pledge.unit_id)
    common.tell(turn, context.bot, people, compose)


@handler
async def button(update: Update, context: BotContext, turn: Turn) -> None:
    press = pressed(update, callbacks.REVIEW)
    if turn.person is None or not turn.private:
        raise stale()
    pledge = await turn.session.get(Pledge, press.pledge_id)
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
    try:
        async with turn.session.begin_nested():
            pledge = await service.accept(turn.session, actor, pledge.id, version)
    except service.StaleDraft:  # lost at the database: to this person's own tap, or another's
        current = await turn.session.get(Pledge, pledge.id, populate_existing=True)
        service.check_repeat(current, actor, Op.ACCEPT)
        await show_changed(turn, pledge)
        return
    unit = await turn.session.get(Unit, pledge.unit_id)
    year = await turn.session.get(EmulationYear, pledge.year_id)
    note = "✅ " + _("Accepted; the unit's representatives have been told.")
    turn.edit(*await review_view(turn, pledge, note=note))

    def compose() -> tuple[str, InlineKeyboardMarkup]:
        return (
            _("✅ {who} accepted the pledge {year} of <b>{unit}</b>. When the signing opens, "
              "sign it with /pledge.").format(who=_reviewer(actor, pledge, year), year=year.year,
                                              unit=common.name_text(unit.name)),
            InlineKeyboardMarkup([[InlineKeyboardButton(
                _("📝 Open the pledge"), callback_data=callbacks.PledgeView(pledge.id).pack()
            )]]),
        )  # fmt: skip

    await _reps_told(turn, context, pledge, compose)


@on_input(STEP_COMMENT)
async def comment_typed(update: Update, context: BotContext, turn: Turn, data: dict[str, Any]) -> None:
    message = update.effective_message
    typed = message.text if message is not None else None
    if not typed:
        raise Refusal(_("Please type the comment as text, or /cancel."))
    comment = rules.clean_text(typed, rules.MAX_COMMENT, what=_("The comment"))
    pledge = await turn.session.get(Pledge, data.get("pledge_id") or 0)
    year = await turn.session.get(EmulationYear, pledge.year_id) if pledge is not None else None
    if pledge is None or year is None:
        await done(turn)
        turn.reply(_("That pledge is no longer there; nothing was saved."))
        return
    actor = await actor_in(turn.session, turn.person.id, year.cluster_id)
    try:
        async with turn.session.begin_nested():
            pledge = await service.return_pledge(turn.session, actor, pledge.id, data.get("version"), comment)
    except service.StaleDraft:
        await done(turn)
        await show_changed(turn, pledge, typed=comment)
        return
    await done(turn)
    unit = await turn.session.get(Unit, pledge.unit_id)
    note = "↩️ " + _("Returned to the unit with your comment; its representatives have been told.")
    turn.reply(*await review_view(turn, pledge, note=note))

    def compose() -> tuple[str, InlineKeyboardMarkup]:
        return (
            _("↩️ {who} returned the pledge {year} of <b>{unit}</b> for changes.").format(
                who=_reviewer(actor, pledge, year), year=year.year, unit=common.name_text(unit.name)
            ) + "\n" + _("Comment: {comment}").format(comment=common.quote(comment))
            + "\n" + _("Change it and submit it again with /pledge."),
            InlineKeyboardMarkup([[InlineKeyboardButton(
                _("✏️ Change the pledge"), callback_data=callbacks.PledgeView(pledge.id).pack()
            )]]),
        )  # fmt: skip

    await _reps_told(turn, context, pledge, compose)


def register(app: Application) -> None:
    app.add_handler(callback_handler(callbacks.REVIEW, button))
