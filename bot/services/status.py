"""/status as a use case: where the year stands and, per step, how many units are done.

Counts are over the cluster's active units. Who is *not* done is named only to the people who
chase submissions (`Action.VIEW_STATUS_DETAILS`: administrator, chair, secretariat) and only
where nobody else reads (`public=False`, i.e. a private chat). Ballots are counted from the
voter register alone (`cast_at IS NOT NULL`); nothing here touches papers or marks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
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
    """The year's status for `actor`; `public` (a group chat) never carries unit names."""
    now = now or utcnow()
    tz = cluster_timezone(cluster)
    year, views = await year_views(session, cluster.id)
    units = list(
        (
            await session.execute(
                select(Unit.id, Unit.name)
                .where(Unit.cluster_id == cluster.id, Unit.active.is_(True))
                .order_by(Unit.position, Unit.id)
            )
        ).all()
    )
    names = may_see_names(actor, public)
    undelivered = await undelivered_count(session, actor) if not public else None
    report = StatusReport(cluster.name, year.year if year else None, tz, now, views, len(units),
                          names_shown=names, undelivered=undelivered)  # fmt: skip
    if year is None:
        return report
    own_units = set() if public or actor is None else set(actor.unit_ids)
    reached = rules.latest_opened(views)
    reached_kind = reached.kind if reached is not None else rules.PhaseKind.REGISTRATION

    def step(key: str, title: str, done_ids: set[int]) -> StepStatus:
        return StepStatus(
            key=key,
            title=title,
            done=sum(1 for uid, _name in units if uid in done_ids),
            total=len(units),
            missing=tuple(n for uid, n in units if uid not in done_ids) if names else None,
            own=tuple((n, uid in done_ids) for uid, n in units if uid in own_units),
        )

    pledges = await _statuses(session, select(Pledge.unit_id, Pledge.status).where(Pledge.year_id == year.id))
    for key, title, from_phase, done in _PLEDGE_STEPS:
        if from_phase <= reached_kind:
            report.steps.append(step(key, _(title), _having(pledges, done)))
    sheets = await _statuses(
        session,
        select(ScoreSheet.unit_id, ScoreSheet.status).where(
            ScoreSheet.year_id == year.id, ScoreSheet.round == ScoreRound.YEAREND
        ),
    )
    for key, title, from_phase, done in _SHEET_STEPS:
        if from_phase <= reached_kind:
            report.steps.append(step(key, _(title), _having(sheets, done)))
    for ballot in await _ballots(session, year):
        cast = set(
            (
                await session.scalars(
                    select(VoterRegister.unit_id).where(
                        VoterRegister.ballot_id == ballot.id, VoterRegister.cast_at.is_not(None)
                    )
                )
            ).all()
        )
        report.steps.append(step(f"ballot:{ballot.id}", ballot_title(ballot), cast))
    return report


def ballot_title(ballot: Ballot) -> str:
    title = _("Ballots cast — {ballot}").format(ballot=_(BALLOT_NAMES[ballot.kind]))
    if ballot.label:
        title += f" ({ballot.label})"
    if ballot.round > 1:
        title += " " + _("round {round}").format(round=ballot.round)
    return title


async def _statuses(session: AsyncSession, stmt) -> dict[int, str]:
    return {unit_id: status for unit_id, status in (await session.execute(stmt)).all()}


def _having(statuses: dict[int, str], done: Iterable[str]) -> set[int]:
    done = set(done)
    return {unit_id for unit_id, status in statuses.items() if status in done}


async def _ballots(session: AsyncSession, year: EmulationYear) -> list[Ballot]:
    return list(
        (await session.scalars(select(Ballot).where(Ballot.year_id == year.id).order_by(Ballot.id))).all()
    )


async def units_done(session: AsyncSession, year_id: int, key: str) -> set[int]:
    """The units done with one pledge or sheet step (`pledges_submitted`, `pledges_signed`,
    `sheets_submitted`...), counted as /status counts them: the reminders' "done"."""
    for step_key, _title, _phase, done in _PLEDGE_STEPS:
        if step_key == key:
            stmt = select(Pledge.unit_id, Pledge.status).where(Pledge.year_id == year_id)
            return _having(await _statuses(session, stmt), done)
    for step_key, _title, _phase, done in _SHEET_STEPS:
        if step_key == key:
            stmt = select(ScoreSheet.unit_id, ScoreSheet.status).where(
                ScoreSheet.year_id == year_id, ScoreSheet.round == ScoreRound.YEAREND
            )
            return _having(await _statuses(session, stmt), done)
    raise KeyError(key)
