"""The year's phases as use cases: open, close, step back, set deadlines, and the guard.

The rules are in `bot.phases` (pure); this module loads the phases of a year, checks who may act
(`Action.MANAGE_PHASES`: the cluster administrator and the chair unit; stepping back is the
administrator's alone), applies what the rules decided and writes the audit log.

Other features call `require_phase(session, year_id, PhaseKind.SCORING)` before acting; it
raises a `Refusal` naming the phase and its dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import phases as rules
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.phases import OpenPlan, PhaseView
from bot.services.actors import Actor
from bot.services.audit import record
from bot.services.clusters import current_year
from storage.db import memo, racing_insert
from storage.models import Cluster, EmulationYear, Phase, PhaseKind, ScoringTable, utcnow
from storage.schedule import schedule_changed


@dataclass(frozen=True)
class PhaseChange:
    """What a change did, for the reply and the group announcement."""

    action: str  # "open" | "reopen" | "step_back" | "close" | "deadline"
    kind: PhaseKind
    views: list[PhaseView]  # all seven, after the change
    closed: PhaseKind | None = None  # a phase closed by this opening
    undone: PhaseKind | None = None  # stepping back: the later phase whose opening was undone
    deadline_dropped: bool = False  # the planned deadline had passed and was cleared

    @property
    def view(self) -> PhaseView:
        return rules.view_of(self.views, self.kind)


def cluster_timezone(cluster: Cluster | None, fallback: ZoneInfo = rules.DEFAULT_TZ) -> ZoneInfo:
    """The cluster's time zone (a column, Asia/Ho_Chi_Minh by default)."""
    try:
        return ZoneInfo(cluster.timezone) if cluster is not None and cluster.timezone else fallback
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def view(phase: Phase) -> PhaseView:
    return PhaseView(phase.kind, phase.opens_at, phase.deadline_at, phase.opened_at, phase.closed_at)


async def _phases(session: AsyncSession, year_id: int, lock: bool = False) -> list[Phase]:
    stmt = select(Phase).where(Phase.year_id == year_id)
    if lock:
        # Refreshed once the lock is ours: rows loaded before (the year's phases come with it)
        # would otherwise keep what they said before a concurrent change committed.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return list((await session.scalars(stmt)).all())


async def ensure_phases(session: AsyncSession, year_id: int) -> dict[PhaseKind, Phase]:
    """The year's seven `Phase` rows, created on first use (and locked for the update)."""
    rows = {p.kind: p for p in await _phases(session, year_id, lock=True)}
    missing = [k for k in PhaseKind.ordered() if k not in rows]
    if missing:
        try:
            async with racing_insert(session):
                session.add_all(Phase(year_id=year_id, kind=k) for k in missing)
        except IntegrityError:  # created by a concurrent update meanwhile
            pass
        year = session.sync_session.identity_map.get(session.sync_session.identity_key(EmulationYear, year_id))
        if year is not None:
            session.expire(year, ["phases"])  # loaded without the new rows (see loaded_phases)
        rows = {p.kind: p for p in await _phases(session, year_id, lock=True)}
    return rows


async def phase_views(session: AsyncSession, year_id: int) -> list[PhaseView]:
    """All seven phases in order; reading creates nothing. Read once per transaction until it
    writes (`storage.db.memo`): an update asks in several places."""
    return list(await memo(session, ("phase_views", year_id), lambda: _phase_views(session, year_id)))


async def _phase_views(session: AsyncSession, year_id: int) -> tuple[PhaseView, ...]:
    loaded = loaded_phases(session, year_id)
    phases = loaded if loaded is not None else await _phases(session, year_id)
    return tuple(rules.complete(view(p) for p in phases))


def loaded_phases(session: AsyncSession, year_id: int) -> list[Phase] | None:
    """The year's phases as loaded with the year in this session (they come with it), or None
    when the year is not loaded here. `ensure_phases` forgets the collection when it adds
    rows, so what is loaded is never short of a phase this transaction created."""
    sync = session.sync_session
    year = sync.identity_map.get(sync.identity_key(EmulationYear, year_id))
    if year is None or "phases" not in year.__dict__:
        return None
    return list(year.phases)


async def year_views(session: AsyncSession, cluster_id: int) -> tuple[EmulationYear | None, list[PhaseView]]:
    """The cluster's current year and its phases (no year: seven empty phases)."""
    year = await current_year(session, cluster_id)
    if year is None:
        return None, rules.complete([])
    return year, await phase_views(session, year.id)


async def _year(session: AsyncSession, actor: Actor, year_id: int) -> tuple[EmulationYear, ZoneInfo]:
    year = await session.get(EmulationYear, year_id)
    if year is None or year.cluster_id != actor.cluster_id:
        raise Refusal(_("That emulation year is not in this cluster."))
    current = await current_year(session, actor.cluster_id)
    if current is None or current.id != year.id:
        raise Refusal(
            _("The emulation year {year} is over; only the current year's phases can change.").format(
                year=year.year
            )
        )
    return year, cluster_timezone(await session.get(Cluster, year.cluster_id))


async def open_phase(
    session: AsyncSession,
    actor: Actor,
    year_id: int,
    kind: PhaseKind,
    *,
    deadline: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> PhaseChange:
    """Open `kind`: the next phase (closing the open one) or the latest one again."""
    actor.require(Action.MANAGE_PHASES)
    now = now or utcnow()
    _y, tz = await _year(session, actor, year_id)
    rows = await ensure_phases(session, year_id)
    views = [view(rows[k]) for k in PhaseKind.ordered()]
    plan = rules.check_open(views, kind, now, tz)
    if deadline is not None:
        rules.check_deadline(now, deadline, now, tz)
    return await _apply(session, (actor.cluster_id, actor.person_id), year_id, rows, plan, now, deadline)


async def step_back(
    session: AsyncSession, actor: Actor, year_id: int, kind: PhaseKind, *, now: dt.datetime | None = None
) -> PhaseChange:
    """Reopen `kind`, the phase before the latest one opened, undoing that opening (a fix of
    a mistaken tap; the cluster administrator only)."""
    actor.require(Action.STEP_BACK_PHASE)
    now = now or utcnow()
    _y, tz = await _year(session, actor, year_id)
    rows = await ensure_phases(session, year_id)
    views = [view(rows[k]) for k in PhaseKind.ordered()]
    plan = rules.check_step_back(views, kind, now, tz)
    return await _apply(session, (actor.cluster_id, actor.person_id), year_id, rows, plan, now, None)


async def _apply(
    session: AsyncSession,
    who: tuple[int, int | None],  # (cluster id, person id; None: the schedule)
    year_id: int,
    rows: dict[PhaseKind, Phase],
    plan: OpenPlan,
    now: dt.datetime,
    deadline: dt.datetime | None,
) -> PhaseChange:
    phase = rows[plan.kind]
    if plan.closes is not None:
        rows[plan.closes].closed_at = now
    if plan.undoes is not None:
        rows[plan.undoes].opened_at = None
        rows[plan.undoes].closed_at = None
    if plan.reopen:
        phase.closed_at = None
    else:
        phase.opened_at = now
        phase.closed_at = None
    if plan.drop_deadline:
        phase.deadline_at = None
    if deadline is not None:
        phase.deadline_at = deadline
    action = "step_back" if plan.undoes else "reopen" if plan.reopen else "open"
    cluster_id, person_id = who
    record(
        session, cluster_id=cluster_id, actor_person_id=person_id,
        action=f"phase.{action}", subject=f"phase:{phase.id}", year_id=year_id, kind=plan.kind,
        closed=plan.closes, undone=plan.undoes, deadline=phase.deadline_at,
    )  # fmt: skip
    if plan.kind == PhaseKind.SCORING:
        await lock_scoring_table(session, year_id, now, person_id)
    schedule_changed(session)
    await session.flush()
    return PhaseChange(
        action, plan.kind, [view(rows[k]) for k in PhaseKind.ordered()],
        closed=plan.closes, undone=plan.undoes, deadline_dropped=plan.drop_deadline,
    )  # fmt: skip


async def lock_scoring_table(
    session: AsyncSession, year_id: int, now: dt.datetime, by_person_id: int | None = None
) -> None:
    """Scoring has begun: the table's criteria must not change any more.

    `bot.services.tables.lock_table` owns this (it creates the default table when the year
    has none, and a refusal from it keeps the phase closed); without that module the column
    is set here on an existing table.
    """
    try:
        from bot.services.tables import lock_table
    except ImportError:
        table = await session.scalar(select(ScoringTable).where(ScoringTable.year_id == year_id))
        if table is not None and table.locked_at is None:
            table.locked_at = now
        return
    await lock_table(session, year_id, by_person_id=by_person_id)


async def close_phase(
    session: AsyncSession, actor: Actor, year_id: int, kind: PhaseKind, *, now: dt.datetime | None = None
) -> PhaseChange:
    """Close the open phase `kind`; the year waits between phases until the next one opens."""
    actor.require(Action.MANAGE_PHASES)
    now = now or utcnow()
    await _year(session, actor, year_id)
    rows = await ensure_phases(session, year_id)
    rules.check_close([view(rows[k]) for k in PhaseKind.ordered()], kind)
    change = _close(session, actor.cluster_id, actor.person_id, year_id, rows, kind, now)
    await session.flush()
    return change


def _close(session: AsyncSession, cluster_id: int, person_id: int | None, year_id: int,
           rows: dict[PhaseKind, Phase], kind: PhaseKind, at: dt.datetime) -> PhaseChange:  # fmt: skip
    rows[kind].closed_at = at
    record(
        session, cluster_id=cluster_id, actor_person_id=person_id,
        action="phase.close", subject=f"phase:{rows[kind].id}", year_id=year_id, kind=kind,
        by_schedule=person_id is None,
    )  # fmt: skip
    schedule_changed(session)
    return PhaseChange("close", kind, [view(rows[k]) for k in PhaseKind.ordered()])


async def close_at_deadline(session: AsyncSession, year: EmulationYear, kind: PhaseKind,
                            deadline: dt.datetime) -> PhaseChange | None:  # fmt: skip
    """The scheduler's close: `kind` is still open with this very deadline (not moved, not
    closed by hand meanwhile) → closed as of the deadline; else None and nothing changes."""
    rows = await ensure_phases(session, year.id)
    phase = rows[kind]
    if not view(phase).is_open or phase.deadline_at != deadline:
        return None
    change = _close(session, year.cluster_id, None, year.id, rows, kind, deadline)
    await session.flush()
    return change


async def open_as_planned(session: AsyncSession, year: EmulationYear, kind: PhaseKind,
                          opens_at: dt.datetime, now: dt.datetime) -> PhaseChange | None:  # fmt: skip
    """The scheduler's opening: `kind` still waits for this planned opening → opened now (by
    the same rules as a person's opening, which may refuse); else None."""
    rows = await ensure_phases(session, year.id)
    phase = rows[kind]
    if phase.opened_at is not None or phase.opens_at != opens_at:
        return None
    tz = cluster_timezone(await session.get(Cluster, year.cluster_id))
    plan = rules.check_open([view(rows[k]) for k in PhaseKind.ordered()], kind, now, tz)
    return await _apply(session, (year.cluster_id, None), year.id, rows, plan, now, None)


async def set_deadline(
    session: AsyncSession,
    actor: Actor,
    year_id: int,
    kind: PhaseKind,
    deadline: dt.datetime,
    *,
    opens_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> PhaseChange:
    """Set (or move) `kind`'s deadline; for a phase not opened yet, also its planned opening."""
    actor.require(Action.MANAGE_PHASES)
    now = now or utcnow()
    _y, tz = await _year(session, actor, year_id)
    rows = await ensure_phases(session, year_id)
    phase = rows[kind]
    rules.check_schedule(view(phase), opens_at, deadline, now, tz)
    before = phase.deadline_at
    phase.deadline_at = deadline.astimezone(dt.UTC)
    if opens_at is not None:
        phase.opens_at = opens_at.astimezone(dt.UTC)
    record(
        session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
        action="phase.deadline", subject=f"phase:{phase.id}", year_id=year_id, kind=kind,
        before=before, after=phase.deadline_at, opens_at=opens_at,
    )  # fmt: skip
    schedule_changed(session)
    await session.flush()
    return PhaseChange("deadline", kind, [view(rows[k]) for k in PhaseKind.ordered()])


async def require_phase(
    session: AsyncSession,
    year_id: int,
    kind: PhaseKind | tuple[PhaseKind, ...],
    *,
    now: dt.datetime | None = None,
) -> PhaseView:
    """The guard for phase-bound actions (pledges, scoring, voting...): returns the open phase
    among `kind`, or raises a `Refusal` naming the phase, its dates and the current phase, or
    that its deadline has passed. Pass a tuple when an action belongs to several phases."""
    year = await session.get(EmulationYear, year_id)
    if year is None:
        raise Refusal(_("That emulation year is not in this cluster."))
    tz = cluster_timezone(await session.get(Cluster, year.cluster_id))
    return rules.require_phase(await phase_views(session, year_id), kind, now or utcnow(), tz)


async def require_current_phase(
    session: AsyncSession,
    cluster_id: int,
    kind: PhaseKind | tuple[PhaseKind, ...],
    *,
    now: dt.datetime | None = None,
) -> tuple[EmulationYear, PhaseView]:
    """`require_phase` for the cluster's current year, when the caller knows only the cluster."""
    year = await current_year(session, cluster_id)
    if year is None:
        raise Refusal(_("This cluster has no emulation year yet."))
    return year, await require_phase(session, year.id, kind, now=now)
