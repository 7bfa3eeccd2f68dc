"""/phase: the year's seven phases, and for the administrator and the chair the buttons that
move the year on (open the next phase, close the current one, set its deadline).

Every change is announced in the cluster's group, in the cluster's language. A deadline is
picked from quick choices or typed in a private chat (in a group the bot cannot read plain
messages: privacy mode). Buttons carry the year and the phase they were drawn for, so a
second tap, or a tap on an old message, finds the phase already changed and says so.

Buttons (`ph:<action>:<year id>:<phase>[:<deadline, epoch seconds>]`):
`o` open next · `r` reopen the latest · `b` step back (administrator) · `c` close ·
`d` deadline choices · `s` set a quick deadline · `t` type a deadline · `v` the overview.
"""

from __future__ import annotations

import datetime as dt
import logging
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks, fmt
from bot import phases as rules
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.phases import PhaseState, PhaseView, phase_name
from bot.services import phase_flow
from bot.services import phases as service
from bot.services.actors import Actor, actor_in
from bot.services.clusters import current_year
from handlers.awaiting import done, expect, on_input
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch
from handlers.clusters import cluster_for, rerunnable
from storage.models import Cluster, EmulationYear, PhaseKind, utcnow

log = logging.getLogger(__name__)

INPUT_STEP = "phase_deadline"


def stale_text() -> str:
    return _("This button is out of date: the phases have changed since. Send /phase for the current state.")


# ------------------------------------------------------------------------------ rendering


def phase_line(view: PhaseView, now: dt.datetime, tz: ZoneInfo) -> str:
    name = escape(phase_name(view.kind))
    if view.state == PhaseState.CLOSED:
        return _("✅ {phase}: {opened} – {closed} (closed)").format(
            phase=name, opened=fmt.datetime(view.opened_at, tz), closed=fmt.datetime(view.closed_at, tz)
        )
    if view.state == PhaseState.OPEN:
        opened = fmt.datetime(view.opened_at, tz)
        if view.deadline_at is None:
            return _("🟢 <b>{phase}</b>: open since {opened}, no deadline yet").format(
                phase=name, opened=opened
            )
        deadline = fmt.datetime(view.deadline_at, tz)
        if view.overdue(now):
            return _("⚠️ <b>{phase}</b>: open since {opened}; the deadline {deadline} has passed").format(
                phase=name, opened=opened, deadline=deadline
            )
        return _("🟢 <b>{phase}</b>: open since {opened}, deadline {deadline} ({left} left)").format(
            phase=name, opened=opened, deadline=deadline, left=rules.time_left(view.deadline_at - now)
        )
    if view.opens_at is None and view.deadline_at is None:
        return _("⚪ {phase}: not opened yet").format(phase=name)
    return _("⚪ {phase}: planned {dates}").format(phase=name, dates=rules.span_text(view, tz))


def overview_text(cluster: Cluster, year: EmulationYear, views: list[PhaseView], now: dt.datetime, tz: ZoneInfo) -> str:
    head = _("🗓 <b>Phases of the emulation year {year}</b> — {cluster}").format(
        year=year.year, cluster=escape(cluster.name)
    )
    lines = [phase_line(v, now, tz) for v in views]
    foot = _("Times are {tz} time.").format(tz=escape(str(tz)))
    return "\n\n".join([head, rules.current_text(views, now, tz), "\n".join(lines), foot])


def _button(text: str, press: callbacks.Button) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=press.pack())


def _act(text: str, action: str, year_id: int, kind: PhaseKind) -> InlineKeyboardButton:
    return _button(text, callbacks.PhaseAct(action, year_id, kind))


def overview_keyboard(year_id: int, views: list[PhaseView], actor: Actor | None) -> InlineKeyboardMarkup | None:
    """The administrator's and the chair's buttons; None for everybody else."""
    if actor is None or not actor.may(Action.MANAGE_PHASES):
        return None
    rows: list[list[InlineKeyboardButton]] = []
    current = rules.current_phase(views)
    latest = rules.latest_opened(views)
    following = rules.next_to_open(views)
    if following is not None:
        rows.append([_act(_("▶️ Open {phase}").format(phase=phase_name(following)), "o", year_id, following)])
    if current is not None and current.kind != PhaseKind.CLOSED:
        rows.append([_act(_("⏹ Close {phase}").format(phase=phase_name(current.kind)), "c", year_id, current.kind)])
    if current is None and latest is not None:
        rows.append([_act(_("🔁 Reopen {phase}").format(phase=phase_name(latest.kind)), "r", year_id, latest.kind)])
    target = rules.deadline_target(views)
    if target is not None:
        rows.append([_act(_("🗓 Set a deadline"), "d", year_id, target)])
    if actor.may(Action.STEP_BACK_PHASE) and latest is not None and latest.kind.rank > 0:
        previous = PhaseKind.ordered()[latest.kind.rank - 1]
        rows.append([_act(_("↩️ Back to {phase}").format(phase=phase_name(previous)), "b", year_id, previous)])
    return InlineKeyboardMarkup(rows) if rows else None


def deadline_menu(year_id: int, view: PhaseView, now: dt.datetime, tz: ZoneInfo) -> tuple[str, InlineKeyboardMarkup]:
    current = (
        fmt.datetime(view.deadline_at, tz) if view.deadline_at is not None else _("not scheduled")
    )
    text = _(
        "🗓 The deadline of <b>{phase}</b> (now: {deadline}). Pick one, or type a date and time. "
        "Times are {tz} time."
    ).format(phase=escape(phase_name(view.kind)), deadline=current, tz=escape(str(tz)))
    choices = [
        _button(f"{label} · {fmt.datetime(when, tz)}", callbacks.PhaseDeadline(year_id, view.kind, int(when.timestamp())))
        for label, when in rules.quick_deadlines(now, tz)
    ]
    rows = [choices[i : i + 2] for i in range(0, len(choices), 2)]
    rows.append([_act(_("✍️ Type a date and time"), "t", year_id, view.kind)])
    rows.append([_button(_("« Back"), callbacks.PhaseOverview(year_id))])
    return text, InlineKeyboardMarkup(rows)


def typing_prompt(view: PhaseView, tz: ZoneInfo, now: dt.datetime) -> str:
    text = _(
        "✍️ Send the deadline of <b>{phase}</b> as a date and time, e.g. {example} "
        "({tz} time; a date alone means 17:00). Type /cancel to stop."
    ).format(phase=escape(phase_name(view.kind)), tz=escape(str(tz)), example=rules.example_deadline(now, tz))
    if view.opened_at is None:
        text += "\n" + _("To plan its opening as well, send both: {example}.").format(
            example=rules.example_range(now, tz)
        )
    return text


async def announce(turn: Turn, context: BotContext, cluster: Cluster, change: service.PhaseChange, now: dt.datetime) -> None:
    """Queue the group's news of the change, in the change's transaction (the outbox)."""
    await phase_flow.announce(turn.session, cluster, change, turn.update.effective_user.full_name, now)


# ------------------------------------------------------------------------------ /phase


@rerunnable("phase")
async def show_phases(update: Update, context: BotContext, turn: Turn) -> None:
    cluster = await cluster_for(turn, "phase")
    if cluster is None:
        return
    year, views = await service.year_views(turn.session, cluster.id)
    if year is None:
        raise Refusal(_("This cluster has no emulation year yet."))
    actor = await actor_in(turn.session, turn.person.id, cluster.id) if turn.person else None
    now = utcnow()
    tz = service.cluster_timezone(cluster)
    turn.reply(overview_text(cluster, year, views, now, tz), overview_keyboard(year.id, views, actor))


phase_command = handler(show_phases)


async def _acting(turn: Turn, year_id: int) -> tuple[Cluster, EmulationYear, Actor]:
    """The year a button names, its cluster and the person pressing; refused once the year
    is not the cluster's current one (or the button is in another cluster's group)."""
    if turn.person is None:
        raise Refusal(stale_text())
    year = await turn.session.get(EmulationYear, year_id)
    if year is None or (turn.cluster is not None and year.cluster_id != turn.cluster.id):
        raise Refusal(stale_text())
    if not turn.private and turn.cluster is None:
        raise Refusal(stale_text())
    cluster = await turn.session.get(Cluster, year.cluster_id)
    actor = await actor_in(turn.session, turn.person.id, cluster.id)
    if turn.private and not actor.roles:
        raise Refusal(_("You no longer have a role in that cluster."))
    current = await current_year(turn.session, cluster.id)
    if current is None or current.id != year.id:
        raise Refusal(stale_text())
    return cluster, year, actor


def _show(turn: Turn, cluster: Cluster, year: EmulationYear, actor: Actor, views: list[PhaseView], now: dt.datetime) -> None:
    tz = service.cluster_timezone(cluster)
    turn.edit(overview_text(cluster, year, views, now, tz), overview_keyboard(year.id, views, actor))


async def overview_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.PhaseOverview) -> None:
    cluster, year, actor = await _acting(turn, press.year_id)
    _show(turn, cluster, year, actor, await service.phase_views(turn.session, year.id), utcnow())


async def act_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.PhaseAct) -> None:
    cluster, year, actor = await _acting(turn, press.year_id)
    actor.require(Action.MANAGE_PHASES)
    action, kind, now = press.action, press.kind, utcnow()
    tz = service.cluster_timezone(cluster)
    view = rules.view_of(await service.phase_views(turn.session, year.id), kind)
    if action == "d":
        rules.check_can_schedule(view)
        turn.edit(*deadline_menu(year.id, view, now, tz))
        return
    if action == "t":
        if not turn.private:
            raise Refusal(
                _("In the group I cannot read what you type. Send /phase to me in a private chat and choose ✍️ there.")
            )
        rules.check_can_schedule(view)
        await expect(turn, INPUT_STEP, year_id=year.id, kind=kind.value)
        turn.edit(typing_prompt(view, tz, now))
        return
    if action == "o" and view.opened_at is not None and not view.is_open:
        raise Refusal(stale_text())  # a first opening, but it was opened and closed since
    if action == "r" and view.opened_at is None:
        raise Refusal(stale_text())  # a reopening, but its opening was undone since
    if action in ("o", "r"):
        change = await service.open_phase(turn.session, actor, year.id, kind, now=now)
    elif action == "b":
        change = await service.step_back(turn.session, actor, year.id, kind, now=now)
    else:
        change = await service.close_phase(turn.session, actor, year.id, kind, now=now)
    await _changed(turn, context, cluster, year, actor, change, now)


async def deadline_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.PhaseDeadline) -> None:
    cluster, year, actor = await _acting(turn, press.year_id)
    actor.require(Action.MANAGE_PHASES)
    now = utcnow()
    deadline = dt.datetime.fromtimestamp(press.at, tz=dt.UTC)
    change = await service.set_deadline(turn.session, actor, year.id, press.kind, deadline, now=now)
    await _changed(turn, context, cluster, year, actor, change, now)


async def _changed(turn: Turn, context: BotContext, cluster: Cluster, year: EmulationYear, actor: Actor,
                   change: service.PhaseChange, now: dt.datetime) -> None:  # fmt: skip
    _show(turn, cluster, year, actor, change.views, now)
    await announce(turn, context, cluster, change, now)
    # The same follow-up as a deadline's (the scheduler): signing's board and document.
    await phase_flow.after_change(turn.session, cluster, year.id, change, turn.person.id if turn.person else None, now)


@on_input(INPUT_STEP)
async def typed_deadline(update: Update, context: BotContext, turn: Turn, data: dict) -> None:
    message = update.effective_message
    text = message.text if message is not None else None
    year = await turn.session.get(EmulationYear, data.get("year_id", 0))
    kind = PhaseKind(data["kind"]) if data.get("kind") in set(PhaseKind) else None
    cluster = await turn.session.get(Cluster, year.cluster_id) if year is not None else None
    actor = await actor_in(turn.session, turn.person.id, cluster.id) if cluster else None
    current = await current_year(turn.session, cluster.id) if cluster else None
    if kind is None or current is None or current.id != year.id or not actor.may(Action.MANAGE_PHASES):
        await done(turn)
        turn.reply(_("The phases have changed since you started; nothing was saved. Send /phase to see them now."))
        return
    now = utcnow()
    tz = service.cluster_timezone(cluster)
    views = await service.phase_views(turn.session, year.id)
    if rules.view_of(views, kind).state == PhaseState.CLOSED:
        await done(turn)
        turn.reply(_("The phases have changed since you started; nothing was saved. Send /phase to see them now."))
        return
    if not text:
        raise Refusal(
            _("Please type the date and time in a text message, e.g. {example}. Type /cancel to stop.").format(
                example=rules.example_deadline(now, tz))
        )
    opens_at, deadline = rules.parse_schedule(text, tz, now)
    change = await service.set_deadline(turn.session, actor, year.id, kind, deadline, opens_at=opens_at, now=now)
    await done(turn)
    confirmation = _("Saved: the deadline of <b>{phase}</b> is {deadline}.").format(
        phase=escape(phase_name(kind)), deadline=fmt.datetime(change.view.deadline_at, tz)
    )
    overview = overview_text(cluster, year, change.views, now, tz)
    turn.reply(confirmation + "\n\n" + overview, overview_keyboard(year.id, change.views, actor))
    await announce(turn, context, cluster, change, now)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("phase", phase_command))
    app.add_handler(dispatch(callbacks.PHASE, {
        callbacks.PhaseOverview: overview_pressed, callbacks.PhaseAct: act_pressed,
        callbacks.PhaseDeadline: deadline_pressed,
    }))  # fmt: skip
