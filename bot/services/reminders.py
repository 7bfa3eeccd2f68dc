"""Reminders to the representatives of late units (issue 12, item 2), and "remind now".

**Which slots.** Each open phase with a deadline in a cluster's current year has the reminders
`bot.reminders.plan` gives (3 days and 1 day before, the deadline's morning; out of the quiet
window; never before the phase opened or after the deadline). The scheduler's
`ReminderSource` (bot/services/scheduler.py) reads them from here every time (`planned`), so
a moved deadline moves its reminders, and records each slot once (``schedule_runs``).

**Who.** At run time (`run_slot`), the active units not done with the phase's step
(`late_units`): registration → pledge submitted, signing → pledge signed, scoring → sheet
submitted (as /status counts them, `bot.services.status.units_not_done`), verification → the
verifying unit has no assigned sheet left unverified, voting → the open ballots the unit has
not voted on (the register only). A unit done is never reminded. Each of its active
representatives who has not muted the phase (`ReminderMute`) gets a private message in their
own language, through the outbox, keyed by slot and unit (`remind:<phase>:<label>:<deadline>:<unit>`):
a restart, a second run or a second instance queues nothing twice. After a stop only the
latest reminder due is sent (`bot.reminders.latest_due`), not every one missed.

**Remind now.** `reach` is the one path of every reminder: the chair's "remind now" for the
open registration, signing or scoring phase (`remind_now`, `Action.REMIND_LATE`) and the
ballot's turnout reminder (`bot.services.ballots.remind`) use it with a key per unit and
local day, so each unit is reminded by hand at most once a day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import reminders as rules
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.phases import current_phase
from bot.services import notify
from bot.services.actors import Actor, actor_in
from bot.services.audit import record
from bot.services.phases import cluster_timezone, year_views
from bot.services.status import any_not_done, units_not_done
from bot.views import reminders as views
from bot.views.reminders import Late, OpenBallotFacts
from storage import ballots as ballot_store
from storage import reminders as mute_store
from storage.models import (
    Cluster,
    EmulationYear,
    Person,
    Phase,
    PhaseKind,
    ScoreRound,
    ScoreSheet,
    SheetStatus,
    Unit,
    utcnow,
)
from storage.pledges import representatives_of
from storage.schedule import schedule_changed

NAME = "remind"
STEPS = {
    PhaseKind.REGISTRATION: "pledges_submitted",
    PhaseKind.SIGNING: "pledges_signed",
    PhaseKind.SCORING: "sheets_submitted",
}
REMINDED_PHASES = (*STEPS, PhaseKind.VERIFICATION, PhaseKind.VOTING)
BY_HAND = tuple(STEPS)  # the phases of the chair's "remind now" (ballots have their own button)


@dataclass(frozen=True)
class Planned:
    phase_id: int
    year_id: int
    cluster_id: int
    kind: PhaseKind
    label: str
    at: dt.datetime


# ------------------------------------------------------------------------------ slots


async def planned(session: AsyncSession, now: dt.datetime) -> list[Planned]:
    """The reminders of every open phase with a deadline in the clusters' current years: those
    still to come and the latest one due (earlier ones due are superseded by it; none once the
    deadline has passed)."""
    latest = (
        select(EmulationYear.cluster_id, func.max(EmulationYear.year).label("year"))
        .group_by(EmulationYear.cluster_id)
        .subquery()
    )
    rows = await session.execute(
        select(Phase, Cluster)
        .join(EmulationYear, EmulationYear.id == Phase.year_id)
        .join(latest, and_(latest.c.cluster_id == EmulationYear.cluster_id, latest.c.year == EmulationYear.year))
        .join(Cluster, Cluster.id == EmulationYear.cluster_id)
        .where(
            Phase.kind.in_(REMINDED_PHASES),
            Phase.opened_at.is_not(None),
            Phase.closed_at.is_(None),
            Phase.deadline_at.is_not(None),
        )
    )
    slots = []
    for phase, cluster in rows.all():
        if now >= phase.deadline_at:
            continue
        plan = _plan(phase, cluster)
        newest = rules.latest_due(plan, now)
        for label, at in plan:
            if at > now or label == newest:
                slots.append(Planned(phase.id, phase.year_id, cluster.id, phase.kind, label, at))
    return slots


def _plan(phase: Phase, cluster: Cluster) -> list[tuple[str, dt.datetime]]:
    return rules.plan(phase.deadline_at, phase.opened_at, cluster_timezone(cluster), rules.quiet_of(cluster.settings))


async def run_slot(session: AsyncSession, phase_id: int, label: str, at: dt.datetime, now: dt.datetime) -> str:
    """Remind the late units of one slot, in the caller's transaction: "done", or "skipped"
    when the plan changed since it was read (the phase closed, its deadline moved, the
    deadline passed) or a later reminder of the same deadline is due too."""
    phase = await session.get(Phase, phase_id)
    year = await session.get(EmulationYear, phase.year_id) if phase is not None else None
    cluster = await session.get(Cluster, year.cluster_id) if year is not None else None
    if cluster is None or phase.opened_at is None or phase.closed_at is not None or phase.deadline_at is None:
        return "skipped"
    plan = _plan(phase, cluster)
    if (label, at) not in plan or now >= phase.deadline_at or rules.latest_due(plan, now) != label:
        return "skipped"
    # Keyed by the deadline, not the slot's time: new quiet hours move a slot (a new slot key)
    # but never send one reminder twice; a moved deadline is news and is reminded again.
    stamp = phase.deadline_at.astimezone(dt.UTC).isoformat()
    await reach(session, cluster, phase, await late_units(session, cluster, year, phase.kind),
                lambda unit_id: f"{NAME}:{phase.id}:{label}:{stamp}:{unit_id}", now)  # fmt: skip
    return "done"


# ------------------------------------------------------------------------------ who is late


async def late_units(session: AsyncSession, cluster: Cluster, year: EmulationYear, kind: PhaseKind) -> list[Late]:
    """The active units not done with `kind`'s step, in the cluster's order (none for a phase
    without a step)."""
    if kind in STEPS:
        return [Late(uid, name) for uid, name in await units_not_done(session, cluster.id, year.id, STEPS[kind])]
    units = list(await session.execute(
        select(Unit.id, Unit.name).where(Unit.cluster_id == cluster.id, Unit.active.is_(True))
        .order_by(Unit.position, Unit.id)
    ))  # fmt: skip
    if kind == PhaseKind.VERIFICATION:
        left = await _sheets_to_verify(session, cluster, year)
        return [Late(uid, name, sheets=left[uid]) for uid, name in units if left.get(uid)]
    if kind == PhaseKind.VOTING:
        ballots = await ballot_store.open_ballots(session, year.id)
        voted = {b.id: await ballot_store.voted_units(session, b.id) for b in ballots}
        late = []
        for uid, name in units:
            waiting = tuple(OpenBallotFacts(b.id, b.kind, b.label, b.round) for b in ballots if uid not in voted[b.id])
            if waiting:
                late.append(Late(uid, name, ballots=waiting))
        return late
    return []


async def _sheets_to_verify(session: AsyncSession, cluster: Cluster, year: EmulationYear) -> dict[int, int]:
    """Per verifying unit, its assigned sheets not verified yet. Sheets get their verifier the
    way the first look at /verify gives it (`verification.ensure_assignment`); a cluster
    whose verification cannot be assigned yet (no chair unit) has nobody to remind."""
    from bot.services import verification  # verification → scoring → ... is a heavy import chain

    try:
        async with session.begin_nested():
            await verification.ensure_assignment(session, cluster, year)
    except Refusal:
        return {}
    rows = await session.execute(
        select(ScoreSheet.verifier_unit_id, func.count())
        .where(ScoreSheet.year_id == year.id, ScoreSheet.round == ScoreRound.YEAREND,
               ScoreSheet.status == SheetStatus.SUBMITTED, ScoreSheet.verifier_unit_id.is_not(None))
        .group_by(ScoreSheet.verifier_unit_id)
    )  # fmt: skip
    return {unit_id: count for unit_id, count in rows.all()}


# ------------------------------------------------------------------------------ the one path


async def reach(
    session: AsyncSession,
    cluster: Cluster,
    phase: Phase | None,
    late: list[Late],
    key: Callable[[int], str],
    now: dt.datetime,
    render: Callable[[Late], notify.Note] | None = None,
) -> int:
    """Queue a reminder to each active representative of each late unit, skipping who muted
    `phase`; the number of units reached now (0 for a unit whose key was queued before:
    reminded already). `render` (default: the phase's reminder) is called in each person's
    language."""
    if not late:
        return 0
    silent = await mute_store.muted(session, phase.id) if phase is not None else set()
    people: dict[int, list[Person]] = {}
    for unit_id, person in await representatives_of(session, [u.unit_id for u in late]):
        if person.id not in silent:
            people.setdefault(unit_id, []).append(person)
    tz = cluster_timezone(cluster)

    def default(unit: Late) -> notify.Note:
        return notify.Note(views.text(phase.kind, unit, phase.deadline_at, tz, now), views.markup(phase.id, unit))

    render = render or default
    batch = notify.Batch()  # one statement per `CHUNK` rows, not one a person: 3,000 late units
    keys_of = [
        batch.people(people[unit.unit_id], key(unit.unit_id), lambda unit=unit: render(unit), cluster_id=cluster.id)
        for unit in late
        if people.get(unit.unit_id)
    ]
    added = await batch.flush_keys(session)
    return sum(any(k in added for k in keys) for keys in keys_of)


def local_day(cluster: Cluster, now: dt.datetime) -> str:
    return now.astimezone(cluster_timezone(cluster)).date().isoformat()


# ------------------------------------------------------------------------------ remind now


async def remindable(session: AsyncSession, actor: Actor | None, cluster: Cluster) -> Phase | None:
    """The open phase the actor may send "remind now" for, when it has late units (the /status
    button); None otherwise. Asked on every private /status of who may remind: whether one
    unit is late is an EXISTS in the database, not the list of the late (`late_units`)."""
    if actor is None or not actor.may(Action.REMIND_LATE):
        return None
    found = await _open_phase(session, cluster.id)
    if found is None or found[0].kind not in BY_HAND:
        return None
    phase, year = found
    return phase if await any_not_done(session, cluster.id, year.id, STEPS[phase.kind]) else None


async def actor_for_phase(session: AsyncSession, person_id: int, phase_id: int) -> Actor:
    """The person pressing a phase's "remind now", in the phase's cluster."""
    phase = await session.get(Phase, phase_id)
    year = await session.get(EmulationYear, phase.year_id) if phase is not None else None
    if year is None:
        raise _not_yours()
    return await actor_in(session, person_id, year.cluster_id)


async def remind_now(session: AsyncSession, actor: Actor, phase_id: int, *, now: dt.datetime | None = None) -> int:
    """The chair's "remind now" for the open registration, signing or scoring phase: the late
    units' representatives, each unit at most once a (local) day. Returns the units reached."""
    actor.require(Action.REMIND_LATE)
    now = now or utcnow()
    cluster = await session.get(Cluster, actor.cluster_id)
    found = await _open_phase(session, actor.cluster_id)
    if found is None or found[0].id != phase_id or found[0].kind not in BY_HAND:
        raise Refusal(_("That phase is no longer open, so there is nobody to remind for it. See /status."))
    phase, year = found
    day = local_day(cluster, now)
    reached = await reach(session, cluster, phase, await late_units(session, cluster, year, phase.kind),
                          lambda unit_id: f"remind.now:{phase.id}:{unit_id}:{day}", now)  # fmt: skip
    record(session, cluster_id=cluster.id, actor_person_id=actor.person_id, action="remind.now",
           subject=f"phase:{phase.id}", units=reached)  # fmt: skip
    return reached


async def _open_phase(session: AsyncSession, cluster_id: int) -> tuple[Phase, EmulationYear] | None:
    """The current year's open phase (as /status and /phase name it), with its year."""
    year, phase_views = await year_views(session, cluster_id)
    current = current_phase(phase_views)
    if year is None or current is None or not current.is_open:
        return None
    phase = await phase_of_year(session, year.id, current.kind)
    return (phase, year) if phase is not None else None


async def phase_of_year(session: AsyncSession, year_id: int, kind: PhaseKind) -> Phase | None:
    return await session.scalar(select(Phase).where(Phase.year_id == year_id, Phase.kind == kind))


# ------------------------------------------------------------------------------ the quiet window


def quiet_of(cluster: Cluster) -> rules.Quiet:
    return rules.quiet_of(cluster.settings)


async def set_quiet(session: AsyncSession, actor: Actor, cluster: Cluster, text: str) -> rules.Quiet:
    """The cluster's quiet hours (`/reminders 22:00-06:00`, `off`); the reminders are planned
    again at once (the scheduler replans after the commit)."""
    actor.require(Action.CONFIGURE_CLUSTER)
    quiet = rules.parse_quiet(text)
    if quiet is None:
        raise Refusal(_("I could not read “{text}” as quiet hours. Type them like 21:00-07:00, or off.").format(
            text=escape(text.strip()[:60])))  # fmt: skip
    before = rules.setting_value(quiet_of(cluster))
    after = rules.setting_value(quiet)
    if before != after:
        cluster.settings = {**cluster.settings, rules.SETTING: after}
        record(session, cluster_id=cluster.id, actor_person_id=actor.person_id, action="reminders.quiet",
               subject=f"cluster:{cluster.id}", before=before, after=after)  # fmt: skip
        schedule_changed(session)
        await session.flush()
    return quiet


# ------------------------------------------------------------------------------ mute


async def set_muted(session: AsyncSession, person_id: int, phase_id: int, mute: bool) -> Phase:
    """Mute (or hear again) the reminders of a phase, for a representative in its cluster;
    anyone else (a forged or foreign button) is refused and nothing is stored. A second tap
    changes nothing."""
    phase = await session.get(Phase, phase_id)
    year = await session.get(EmulationYear, phase.year_id) if phase is not None else None
    if year is None:
        raise _not_yours()
    actor = await actor_in(session, person_id, year.cluster_id)
    if not actor.unit_ids:
        raise _not_yours()
    if mute:
        await mute_store.mute(session, person_id, phase_id, utcnow())
    else:
        await mute_store.unmute(session, person_id, phase_id)
    return phase


def _not_yours() -> Refusal:
    return Refusal(_("This button is no longer valid. Please use the newest message, or type /help."))
