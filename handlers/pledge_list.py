"""/pledges: every unit and the state of its pledge, for everyone in the cluster, in the
group or in private; the signed document once signing is concluded.

In private it also offers what the reader can do next: the chair opens the pledges waiting
for review and concludes the signing, a representative opens their unit's pledge, the
administrator sets the place and the common content written in the document.

Buttons (`pll:<action>:<cluster or year>`): `doc` the document · `set` document settings ·
`place` / `common` type them (steps `pledge_place`, `pledge_common`).
"""

from __future__ import annotations

from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks, fmt, render
from bot import phases as phase_rules
from bot import pledges as rules
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.services import pledges as service
from bot.services.actors import Actor, actor_in
from bot.services.clusters import current_year
from bot.services.phases import cluster_timezone, phase_views
from handlers import pledge_common as common
from handlers import pledge_signing
from handlers.awaiting import done, expect, on_input
from handlers.base import BotContext, Turn, handler
from handlers.buttons import callback_handler, pressed
from handlers.clusters import acting_from_button, acting_in, rerunnable, stale
from handlers.keyboards import label
from storage.models import Cluster, EmulationYear, PhaseKind, PledgeStatus, utcnow

STEP_PLACE = "pledge_place"
STEP_COMMON = "pledge_common"
_SUBMITTED = {PledgeStatus.SUBMITTED, PledgeStatus.ACCEPTED, PledgeStatus.SIGNED}
_ACCEPTED = {PledgeStatus.ACCEPTED, PledgeStatus.SIGNED}


def _button(text: str, action: str, *args: int) -> InlineKeyboardButton:
    """A button of /pledges (`callbacks.PLEDGES` declares each one)."""
    return InlineKeyboardButton(text, callback_data=callbacks.PLEDGES.build(action, *args).pack())


def state_line(number: int, state: service.UnitState, tz) -> str:
    line = f"{rules.STATUS_ICONS[state.status]} {number}. {common.name_text(state.name)} — {rules.status_name(state.status)}"
    if state.status == PledgeStatus.SIGNED and state.signed_at is not None:
        line += " " + fmt.datetime(state.signed_at, tz)
    elif state.items:
        line += " · " + _("{count} commitments").format(count=state.items)
    return line


@rerunnable("pledges")
async def show_pledges(update: Update, context: BotContext, turn: Turn) -> None:
    acting = await acting_in(turn, "pledges")
    if acting is None:
        return
    cluster, actor = acting
    year, states = await service.overview(turn.session, actor, cluster)
    tz = cluster_timezone(cluster)
    now = utcnow()
    views = await phase_views(turn.session, year.id)
    done_at = service.concluded_at(cluster, year.id)
    head = [
        _("📋 <b>Pledges {year}</b> — {cluster}").format(year=year.year, cluster=escape(cluster.name)),
        phase_rules.current_text(views, now, tz),
        _("Submitted: {submitted}/{total} · accepted: {accepted}/{total} · signed: {signed}/{total}").format(
            submitted=sum(1 for s in states if s.status in _SUBMITTED),
            accepted=sum(1 for s in states if s.status in _ACCEPTED),
            signed=sum(1 for s in states if s.status == PledgeStatus.SIGNED),
            total=len(states),
        ),
    ]
    if done_at is not None:
        head.append(_("🏁 Signing concluded on {when}.").format(when=fmt.datetime(done_at, tz)))
    lines = [state_line(n, s, tz) for n, s in enumerate(states, 1)] or [_("No units yet.")]
    pages = render.chunk_lines(["\n".join(head), "", *lines])
    markup = await _keyboard(turn, actor, cluster, year, states, views, done_at is not None)
    for index, page in enumerate(pages):
        turn.reply(page, markup if index == len(pages) - 1 else None)


pledges_command = handler(show_pledges)


async def _keyboard(turn: Turn, actor: Actor, cluster: Cluster, year: EmulationYear,
                    states: list[service.UnitState], views, concluded: bool) -> InlineKeyboardMarkup | None:  # fmt: skip
    rows: list[list[InlineKeyboardButton]] = []
    if concluded:
        rows.append([_button(_("📄 The pledge document (.docx)"), "doc", year.id)])
    if turn.private:
        for state in states:
            if (state.status == PledgeStatus.SUBMITTED and state.pledge_id is not None
                    and rules.may_review(state.unit_id, year.chair_unit_id, actor.roles, actor.unit_ids)):
                rows.append([InlineKeyboardButton(
                    "📨 " + label(state.name, 44), callback_data=callbacks.ReviewOpen(state.pledge_id).pack()
                )])  # fmt: skip
        for state in states:
            if state.unit_id in actor.unit_ids:
                rows.append([InlineKeyboardButton(
                    _("📝 Our pledge: {unit}").format(unit=label(state.name, 36)),
                    callback_data=callbacks.PledgeUnit(cluster.id, state.unit_id).pack(),
                )])  # fmt: skip
        signing = phase_rules.view_of(views, PhaseKind.SIGNING)
        if actor.may(Action.MANAGE_PHASES) and signing.opened_at is not None and not concluded:
            rows.append([InlineKeyboardButton(
                _("🏁 Conclude the signing"), callback_data=callbacks.SigningEnd("end", year.id).pack()
            )])  # fmt: skip
        if actor.may(Action.CONFIGURE_CLUSTER):
            rows.append([_button(_("⚙️ Place and common content of the document"), "set", cluster.id)])
    return InlineKeyboardMarkup(rows) if rows else None


def settings_view(cluster: Cluster, year: EmulationYear) -> tuple[str, InlineKeyboardMarkup]:
    text = "\n".join([
        _("⚙️ <b>The pledge document</b>"),
        _("Place before the date: {place}").format(place=escape(service.place_of(cluster))),
        _("Common content:"),
        common.quote(service.common_content_of(cluster, year.year), 3000),
    ])  # fmt: skip
    return text, InlineKeyboardMarkup([[
        _button(_("📍 Change the place"), "place", cluster.id),
        _button(_("📄 Change the common content"), "common", cluster.id),
    ]])  # fmt: skip


@handler
async def button(update: Update, context: BotContext, turn: Turn) -> None:
    press = pressed(update, callbacks.PLEDGES)
    if turn.person is None:
        raise stale()
    if isinstance(press, callbacks.PledgesDocument):
        year = await turn.session.get(EmulationYear, press.year_id)
        if year is None or (turn.cluster is not None and turn.cluster.id != year.cluster_id):
            raise stale()
        cluster = await turn.session.get(Cluster, year.cluster_id)
        actor = await actor_in(turn.session, turn.person.id, cluster.id)
        actor.require(Action.VIEW_PLEDGES)
        await pledge_signing.send_document(turn, cluster, year)
        turn.answer()
        return
    if not turn.private:
        raise stale()
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    actor.require(Action.CONFIGURE_CLUSTER)
    year = await current_year(turn.session, cluster.id)
    if year is None:
        raise Refusal(_("This cluster has no emulation year yet."))
    if press.action == "set":
        turn.reply(*settings_view(cluster, year))
    elif press.action == "place":
        await expect(turn, STEP_PLACE, cluster_id=cluster.id)
        turn.edit(_("📍 Send the place written before the date of the document, e.g. “Hà Nội” "
                    "(up to {max} characters). /cancel to stop.").format(max=rules.MAX_PLACE))  # fmt: skip
    else:
        await expect(turn, STEP_COMMON, cluster_id=cluster.id)
        turn.edit(_("📄 Send the common content of the pledge, what all units commit to together "
                    "(up to {max} characters; line breaks are kept). /cancel to stop.").format(max=rules.MAX_COMMON))  # fmt: skip


async def _setting_typed(update: Update, turn: Turn, data: dict[str, Any], key: str) -> None:
    message = update.effective_message
    text = message.text if message is not None else None
    if not text:
        raise Refusal(_("Please type it as text, or /cancel."))
    cluster = await turn.session.get(Cluster, data.get("cluster_id") or 0)
    if cluster is None:  # the step ends (a refusal would roll that back and keep it waiting)
        await done(turn)
        turn.reply(stale().message)
        return
    actor = await actor_in(turn.session, turn.person.id, cluster.id)
    await service.set_document_setting(turn.session, actor, cluster, key, text)
    await done(turn)
    year = await current_year(turn.session, cluster.id)
    text, markup = settings_view(cluster, year)
    turn.reply("✅ " + _("Saved.") + "\n\n" + text, markup)


@on_input(STEP_PLACE)
async def place_typed(update: Update, context: BotContext, turn: Turn, data: dict[str, Any]) -> None:
    await _setting_typed(update, turn, data, service.PLACE_KEY)


@on_input(STEP_COMMON)
async def common_typed(update: Update, context: BotContext, turn: Turn, data: dict[str, Any]) -> None:
    await _setting_typed(update, turn, data, service.COMMON_KEY)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("pledges", pledges_command))
    app.add_handler(callback_handler(callbacks.PLEDGES, button))
