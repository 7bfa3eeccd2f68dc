"""/status as a use case: where the year stands and, per step, how many units are done.

Counts are over the cluster's active units. Who is *not* done is named only to the people who
chase submissions (`Action.VIEW_STATUS_DETAILS`: administrator, chair, secretariat) and only
where nobody else reads (`public=False`, i.e. a private chat). Ballots are counted from the
voter register alone (`cast_at IS NOT NULL`); nothing here touches papers or marks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import Row, exists, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot import phases as rules
from bot.i18n import N_, _
from bot.permissions import Action
from bot.phases import PhaseView
from bot.services.actors import Actor
from bot.services.phases import cluster_timezone, year_views
from bot.services.undelivered import count as undelivered_count
from storage.models import (
    Ballot,
    BallotKind,
    Cluster,
    EmulationYear,
    Pledge,
    PledgeStatus,
    ScoreRound,
    ScoreSheet,
    SheetStatus,
    Unit,
    VoterRegister,
    utcnow,
)
from storage.units import active_unit_count

BALLOT_NAMES = {
    BallotKind.FLAG: N_("Emulation flag"),
    BallotKind.MERIT: N_("Certificate of merit"),
    BallotKind.CHAIR: N_("Election of the chair unit"),
    BallotKind.VICE_CHAIR: N_("Election of the vice-chair unit"),
}

# (key, title msgid, the phase from which the step is shown, statuses that count as done)
_PLEDGE_STEPS = (
    ("pledges_submitted", N_("Pledges submitted"), rules.PhaseKind.REGISTRATION,
     {PledgeStatus.SUBMITTED, PledgeStatus.ACCEPTED, PledgeStatus.SIGNED}),
    ("pledges_accepted", N_("Pledges accepted"), rules.PhaseKind.REGISTRATION,
     {PledgeStatus.ACCEPTED, PledgeStatus.SIGNED}),
    ("pledges_signed", N_("Pledges signed"), rules.PhaseKind.SIGNING, {PledgeStatus.SIGNED}),
)  # fmt: skip
_SHEET_STEPS = (
    ("sheets_submitted", N_("Score sheets submitted"), rules.PhaseKind.SCORING,
     {SheetStatus.SUBMITTED, SheetStatus.VERIFIED}),
    ("sheets_verified", N_("Score sheets verified"), rules.PhaseKind.VERIFICATION,
     {SheetStatus.VERIFIED}),
)  # fmt: skip



@dataclass(frozen=True)
class StepStatus:
    key: str
    title: str  # translated
    done: int
    total: int
    missing: tuple[str, ...] | None  # names of active units not done; None when not to be shown
    own: tuple[tuple[str, bool], ...] = ()  # the viewer's own units: (name, done)


@dataclass(frozen=True)
class StatusReport:
    cluster_name: str
    year: int | None
    tz: ZoneInfo
    now: dt.datetime
    views: list[PhaseView]
    units: int  # active units
    steps: list[StepStatus] = field(default_factory=list)
    names_shown: bool = False  # whether `missing` holds names
    undelivered: int | None = None  # messages the bot could not deliver (private, for who can act)

    @property
    def current(self) -> PhaseView | None:
        return rules.current_phase(self.views)


def may_see_names(actor: Actor | None, public: bool) -> bool:
    return not public and actor is not None and actor.may(Action.VIEW_STATUS_DETAILS)


async def status_report(
    session: AsyncSession,
    cluster: Cluster,
    *,
    actor: Actor | None = None,
    public: bool = True,
    now: dt.datetime | None = None,
) -> StatusReport:
    """The year's status for `actor`; `public` (a group chat) never carries unit names.

    The counts are aggregates in the database (`_counts`, `_cast_counts`); units are read as
    rows only where the report shows them: every active unit for whoever sees the names, else
    the viewer's own units. So a representative's /status reads the same rows in a cluster of
    30 units as in one of 3,000 (the database still counts the 3,000)."""
    now = now or utcnow()
    tz = cluster_timezone(cluster)
    year, views = await year_views(session, cluster.id)
    names = may_see_names(actor, public)
    undelivered = await undelivered_count(session, actor) if not public else None
    if year is None:
        total = await active_unit_count(session, cluster.id)
        return StatusReport(cluster.name, None, tz, now, views, total, names_shown=names, undelivered=undelivered)
    own_units = frozenset() if public or actor is None else frozenset(actor.unit_ids)
    counts = await _counts(session, cluster.id, year.id)
    report = StatusReport(cluster.name, year.year, tz, now, views, counts["units"],
                          names_shown=names, undelivered=undelivered)  # fmt: skip
    reached = rules.latest_opened(views)
    reached_kind = reached.kind if reached is not None else rules.PhaseKind.REGISTRATION
    shown = await _units_shown(session, cluster.id, year.id, None if names else own_units)

    def step(key: str, title: str, done: Callable[[_UnitRow], bool]) -> StepStatus:
        return StepStatus(
            key=key,
            title=title,
            done=counts[key],
            total=counts["units"],
            missing=tuple(u.name for u in shown if not done(u)) if names else None,
            own=tuple((u.name, done(u)) for u in shown if u.id in own_units),
        )

    for key, title, from_phase, statuses in _PLEDGE_STEPS:
        if from_phase <= reached_kind:
            report.steps.append(step(key, _(title), lambda u, statuses=statuses: u.pledge in statuses))
    for key, title, from_phase, statuses in _SHEET_STEPS:
        if from_phase <= reached_kind:
            report.steps.append(step(key, _(title), lambda u, statuses=statuses: u.sheet in statuses))
    ballots = await _ballots(session, year)
    if ballots:
        counts.update(await _cast_counts(session, cluster.id, [b.id for b in ballots]))
        cast = await _cast(session, cluster.id, [b.id for b in ballots], None if names else own_units) if shown else set()
        for ballot in ballots:
            report.steps.append(step(f"ballot:{ballot.id}", ballot_title(ballot),
                                     lambda u, ballot=ballot: (ballot.id, u.id) in cast))  # fmt: skip
    return report


def ballot_title(ballot: Ballot | Row) -> str:
    """A ballot's step title; `ballot` is the model or a row with its kind, label and round."""
    title = _("Ballots cast — {ballot}").format(ballot=_(BALLOT_NAMES[ballot.kind]))
    if ballot.label:
        title += f" ({ballot.label})"
    if ballot.round > 1:
        title += " " + _("round {round}").format(round=ballot.round)
    return title


@dataclass(frozen=True)
class _UnitRow:
    """An active unit as /status shows it: its pledge's and year-end sheet's status (None: none)."""

    id: int
    name: str
    pledge: PledgeStatus | None
    sheet: SheetStatus | None


def _active(query, cluster_id: int, unit_id):
    """`query` joined to the active units of the cluster, by the unit's primary key.

    Each count below reads one table joined this way, never two tables outer-joined to the
    units: PostgreSQL without statistics yet (a table just filled) may plan that as a nested
    loop that rescans one table for every unit of the other (0.5 s at 3,000 units)."""
    return query.join(Unit, Unit.id == unit_id).where(Unit.cluster_id == cluster_id, Unit.active.is_(True))


async def _counts(session: AsyncSession, cluster_id: int, year_id: int) -> dict[str, int]:
    """The active units, and how many are done with each pledge and sheet step: one statement
    of three one-row aggregates."""
    units = select(func.count().label("units")).where(Unit.cluster_id == cluster_id, Unit.active.is_(True))
    pledges = _active(select(*[func.count().filter(Pledge.status.in_(done)).label(key)
                               for key, _t, _p, done in _PLEDGE_STEPS]), cluster_id, Pledge.unit_id)  # fmt: skip
    sheets = _active(select(*[func.count().filter(ScoreSheet.status.in_(done)).label(key)
                              for key, _t, _p, done in _SHEET_STEPS]), cluster_id, ScoreSheet.unit_id)  # fmt: skip
    parts = [
        units.select_from(Unit).subquery(),
        pledges.where(Pledge.year_id == year_id).subquery(),
        sheets.where(ScoreSheet.year_id == year_id, ScoreSheet.round == ScoreRound.YEAREND).subquery(),
    ]
    query = select(*parts).select_from(parts[0].join(parts[1], true()).join(parts[2], true()))
    return dict((await session.execute(query)).one()._mapping)


async def _units_shown(session: AsyncSession, cluster_id: int, year_id: int,
                       only: frozenset[int] | None) -> list[_UnitRow]:  # fmt: skip
    """The active units, in the cluster's order, with their steps; `only`: just these.

    Just a few units (a representative's): one statement, the units found by their key and
    outer-joined to their pledge and sheet (each unique per unit and year). Every unit: a
    query per table and no join (see `_active`), as for a table of 3,000 units a join could
    be planned as a loop over the other table for each."""
    if only is not None and not only:
        return []
    if only is not None:
        query = (
            select(Unit.id, Unit.name, Pledge.status, ScoreSheet.status)
            .outerjoin(Pledge, (Pledge.unit_id == Unit.id) & (Pledge.year_id == year_id))
            .outerjoin(ScoreSheet, (ScoreSheet.unit_id == Unit.id) & (ScoreSheet.year_id == year_id)
                       & (ScoreSheet.round == ScoreRound.YEAREND))  # fmt: skip
            .where(Unit.id.in_(only), Unit.cluster_id == cluster_id, Unit.active.is_(True))
            .order_by(Unit.position, Unit.id)
        )
        return [_UnitRow(*row) for row in (await session.execute(query)).all()]
    pledge_of = await _statuses(session, select(Pledge.unit_id, Pledge.status).where(Pledge.year_id == year_id))
    sheet_of = await _statuses(session, select(ScoreSheet.unit_id, ScoreSheet.status).where(
        ScoreSheet.year_id == year_id, ScoreSheet.round == ScoreRound.YEAREND
    ))  # fmt: skip
    units = select(Unit.id, Unit.name).where(Unit.cluster_id == cluster_id, Unit.active.is_(True))
    rows = await session.execute(units.order_by(Unit.position, Unit.id))
    return [_UnitRow(uid, name, pledge_of.get(uid), sheet_of.get(uid)) for uid, name in rows.all()]


async def _cast_counts(session: AsyncSession, cluster_id: int, ballot_ids: list[int]) -> dict[str, int]:
    """Per ballot, how many active units have cast (the register only): one statement."""
    query = select(VoterRegister.ballot_id, func.count()).where(
        VoterRegister.ballot_id.in_(ballot_ids), VoterRegister.cast_at.is_not(None)
    )
    rows = await session.execute(_active(query, cluster_id, VoterRegister.unit_id).group_by(VoterRegister.ballot_id))
    found = dict(rows.all())
    return {f"ballot:{ballot_id}": found.get(ballot_id, 0) for ballot_id in ballot_ids}


async def _cast(session: AsyncSession, cluster_id: int, ballot_ids: list[int],
                only: frozenset[int] | None) -> set[tuple[int, int]]:  # fmt: skip
    """(ballot, unit) for the active units that have cast (the register only); `only`: just
    these units (as `_units_shown`)."""
    query = select(VoterRegister.ballot_id, VoterRegister.unit_id).where(
        VoterRegister.ballot_id.in_(ballot_ids), VoterRegister.cast_at.is_not(None)
    )
    query = _active(query, cluster_id, VoterRegister.unit_id)
    if only is not None:
        query = query.where(VoterRegister.unit_id.in_(only))
    return {(ballot_id, unit_id) for ballot_id, unit_id in (await session.execute(query)).all()}


async def _statuses(session: AsyncSession, stmt) -> dict[int, str]:
    return {unit_id: status for unit_id, status in (await session.execute(stmt)).all()}


async def _ballots(session: AsyncSession, year: EmulationYear) -> list[Row]:
    """The year's ballots as /status names them (id, kind, label, round): not their candidates,
    which the model loads with it (a ballot of 3,000 units has 3,000)."""
    query = select(Ballot.id, Ballot.kind, Ballot.label, Ballot.round).where(Ballot.year_id == year.id)
    return list((await session.execute(query.order_by(Ballot.id))).all())


def _not_done(cluster_id: int, year_id: int, key: str):
    """The active units of the cluster not done with one pledge or sheet step
    (`pledges_submitted`, `pledges_signed`, `sheets_submitted`...), counted as /status counts
    them: a unit is done when its pledge (its year-end sheet) of the year has a status that
    counts. A query for the reminders' "who is late", found by the pledge's (sheet's) unique
    key per unit and year rather than by reading every status of the year."""
    for step_key, _title, _phase, done in _PLEDGE_STEPS:
        if step_key == key:
            finished = exists().where(Pledge.unit_id == Unit.id, Pledge.year_id == year_id, Pledge.status.in_(done))
            break
    else:
        for step_key, _title, _phase, done in _SHEET_STEPS:
            if step_key == key:
                finished = exists().where(ScoreSheet.unit_id == Unit.id, ScoreSheet.year_id == year_id,
                                          ScoreSheet.round == ScoreRound.YEAREND, ScoreSheet.status.in_(done))  # fmt: skip
                break
        else:
            raise KeyError(key)
    return select(Unit.id, Unit.name).where(Unit.cluster_id == cluster_id, Unit.active.is_(True), ~finished)


async def units_not_done(session: AsyncSession, cluster_id: int, year_id: int, key: str) -> list[tuple[int, str]]:
    """(id, name) of the active units not done with the step `key`, in the cluster's order."""
    query = _not_done(cluster_id, year_id, key).order_by(Unit.position, Unit.id)
    return [(uid, name) for uid, name in (await session.execute(query)).all()]


async def any_not_done(session: AsyncSession, cluster_id: int, year_id: int, key: str) -> bool:
    """Whether an active unit is not done with the step `key` (the "remind now" button's
    question): an EXISTS, which stops at the first such unit and reads no row back."""
    return bool(await session.scalar(select(exists(_not_done(cluster_id, year_id, key)))))
