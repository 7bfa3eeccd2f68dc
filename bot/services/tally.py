"""The year's count (`/tally`): close what is still open, count by the cluster's rules, store
the result, publish it, and send the official papers (issue 11).

The count itself is `bot.tally.year_result`, a pure function: this module only reads its
inputs from the database — the final scores, and for every closed ballot of the year its
candidates, its papers (anonymous rows: `storage.models.BallotPaper`), the papers issued at its
close and its board's hash — and stores what it gave (`storage.models.TallyResult`), with the
hash of those inputs. Counting again with nothing new stores nothing and says so; counting
after new data (a runoff, a decided dispute) stores the next count and says what changed.

Everything the count sends goes through the outbox in the count's transaction: the summary
(pages) and the chart to the group, the papers to the secretariat and the chair unit's
representatives (and whoever counted) in private. Files are built in worker threads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import tally as rules
from bot.errors import Refusal
from bot.i18n import _, use_locale
from bot.permissions import Action
from bot.services import ballots as ballot_service
from bot.services import notify
from bot.services.actors import Actor
from bot.services.audit import record
from bot.services.clusters import current_year
from bot.services.phases import cluster_timezone, require_phase
from bot.views import ballots as ballot_views
from bot.views import tally as views
from storage import ballots as ballot_store
from storage.db import after_commit, offloaded
from storage.models import (
    Ballot,
    BallotKind,
    BallotStatus,
    ChairHandover,
    Cluster,
    EmulationYear,
    Office,
    PhaseKind,
    TallyResult,
    Unit,
    utcnow,
)
from storage.pledges import people_with_role, representatives_of
from storage.schedule import schedule_changed

SETTINGS = ("tally_quorum", "tally_threshold", "tally_strict", "tally_basis", "tally_method")


def rules_of(cluster: Cluster) -> rules.TallyRules:
    """The cluster's count rules (its regulation), from its settings; the defaults of
    `../shared/domain.md` where a setting is missing or unreadable."""
    settings = cluster.settings or {}
    default = rules.TallyRules()

    def fraction(key: str, fallback: Fraction) -> Fraction:
        try:
            value = Fraction(str(settings[key]))
        except (KeyError, ValueError, ZeroDivisionError):
            return fallback
        return value if 0 < value <= 1 else fallback

    def choice(key: str, enum, fallback):
        try:
            return enum(settings[key])
        except (KeyError, ValueError):
            return fallback

    strict = settings.get("tally_strict")
    return rules.TallyRules(
        quorum=fraction("tally_quorum", default.quorum),
        threshold=fraction("tally_threshold", default.threshold),
        strict=strict if isinstance(strict, bool) else default.strict,
        basis=choice("tally_basis", rules.Basis, default.basis),
        method=choice("tally_method", rules.Method, default.method),
    )


@dataclass(frozen=True)
class Prepared:
    year: EmulationYear
    open_ballots: list[Ballot]
    previous: TallyResult | None
    newest_ballot: int  # the year's newest ballot id (0: none), which a confirmation carries


@dataclass(frozen=True)
class Counted:
    row: TallyResult | None  # None: nothing new since `previous`, nothing stored
    result: rules.YearResult
    previous: TallyResult | None
    changes: list[rules.Change]


def nobody_counted() -> Refusal:
    return Refusal(_("The year has not been counted yet: the chair counts with /tally in the group."))


async def _year(session: AsyncSession, actor: Actor, year_id: int | None = None) -> EmulationYear:
    year = await current_year(session, actor.cluster_id)
    if year is None:
        raise Refusal(_("This cluster has no emulation year yet."))
    if year_id is not None and year.id != year_id:
        raise Refusal(_("That emulation year is over; the count is of the current one."))
    return year


async def latest(session: AsyncSession, year_id: int) -> TallyResult | None:
    return await session.scalar(
        select(TallyResult).where(TallyResult.year_id == year_id).order_by(TallyResult.number.desc()).limit(1)
    )


async def prepare(session: AsyncSession, actor: Actor, *, year_id: int | None = None,
                  now: dt.datetime | None = None) -> Prepared:  # fmt: skip
    """Refused unless `actor` may count, in the voting or results phase of the current year."""
    actor.require(Action.TALLY)
    year = await _year(session, actor, year_id)
    await require_phase(session, year.id, (PhaseKind.VOTING, PhaseKind.RESULTS), now=now or utcnow())
    newest = await session.scalar(select(func.max(Ballot.id)).where(Ballot.year_id == year.id)) or 0
    return Prepared(year, await ballot_store.open_ballots(session, year.id), await latest(session, year.id), newest)


async def inputs_of(session: AsyncSession, cluster: Cluster, year: EmulationYear) -> rules.YearInputs:
    """Everything the count reads, from the database only (off the event loop: it grows with
    the cluster, `storage.db.offloaded`)."""
    with offloaded():
        return await _inputs_of(session, cluster, year)


async def _inputs_of(session: AsyncSession, cluster: Cluster, year: EmulationYear) -> rules.YearInputs:
    from bot.services import scoring  # the services import each other lazily

    units = list(await session.scalars(select(Unit).where(Unit.cluster_id == cluster.id).order_by(Unit.position, Unit.id)))
    active = tuple(u.id for u in units if u.active)
    scores = await scoring.final_totals(session, cluster)
    ballots = list(await session.scalars(
        select(Ballot).where(Ballot.year_id == year.id, Ballot.status == BallotStatus.CLOSED).order_by(Ballot.id)
    ))  # fmt: skip
    voted: set[int] = set()
    for ballot in ballots:
        voted |= await ballot_store.voted_units(session, ballot.id)
    rounds = []
    for ballot in ballots:
        papers = tuple(tuple(sorted(marks)) for _tracker, marks in sorted(await ballot_store.papers(session, ballot.id)))
        issued = ballot.issued if ballot.issued is not None else len(active)
        rounds.append(rules.RoundInput(
            ballot_id=ballot.id, kind=ballot.kind.value, round=ballot.round, runoff_of=ballot.runoff_of_id,
            label=ballot.label, board_sha256=ballot.board_sha256 or "",
            ballot=rules.BallotInput(quota=ballot.quota, candidates=tuple(c.unit_id for c in ballot.candidates),
                                     papers=papers, issued=issued, active=issued, present=len(voted)),
        ))  # fmt: skip
    return rules.YearInputs(
        units=tuple((u.id, u.name) for u in units), active=active,
        scores=tuple(sorted(scores.items())), rounds=tuple(rounds), rules=rules_of(cluster),
    )  # fmt: skip


async def count(session: AsyncSession, actor: Actor, *, year_id: int, who: str, newest_ballot: int | None = None,
                now: dt.datetime | None = None) -> Counted:  # fmt: skip
    """Close the year's open ballots, count, store and publish (or say nothing is new).
    `newest_ballot`: the newest ballot the confirmation listed; a ballot opened since (which
    the confirmation did not name) makes it stale."""
    now = now or utcnow()
    # One count of a year at a time (two instances, two chairs at the same instant): the year's
    # row is locked before the previous count is read, so the numbers follow each other.
    await session.get(EmulationYear, year_id, with_for_update=True, populate_existing=True)
    prepared = await prepare(session, actor, year_id=year_id, now=now)
    if newest_ballot is not None and prepared.newest_ballot != newest_ballot:
        raise Refusal(_("A ballot was opened since this question was asked; ask again with /tally."))
    year = prepared.year
    for ballot in prepared.open_ballots:
        await ballot_service.close_for_tally(session, actor, ballot.id, now=now)
    await session.flush()
    cluster = await session.get(Cluster, year.cluster_id)
    result = rules.year_result(await inputs_of(session, cluster, year))
    previous = prepared.previous
    old = rules.result_from_record(previous.record) if previous is not None else None
    if old is not None and previous.inputs_sha256 == result.inputs_sha256:
        return Counted(None, result, previous, [])
    found = rules.changes(old, result) if old is not None else []
    row = TallyResult(year_id=year.id, number=(previous.number + 1) if previous else 1, counted_at=now,
                      counted_by_person_id=actor.person_id, counted_by=who[:300],
                      inputs_sha256=result.inputs_sha256, record=rules.result_record(result))  # fmt: skip
    session.add(row)
    await session.flush()
    record(session, cluster_id=cluster.id, actor_person_id=actor.person_id, action="tally.count",
           subject=f"year:{year.id}", number=row.number, inputs_sha256=row.inputs_sha256,
           boards=[r.board_sha256 for a in result.awards for r, _b in a.rounds])  # fmt: skip
    await _publish(session, cluster, year, row, result, previous, found)
    return Counted(row, result, previous, found)


def may_start_next_year(result: rules.YearResult) -> bool:
    return result.elected(BallotKind.CHAIR.value) is not None


async def _publish(session: AsyncSession, cluster: Cluster, year: EmulationYear, row: TallyResult,
                   result: rules.YearResult, previous: TallyResult | None, found: list[rules.Change]) -> None:  # fmt: skip

    def pages() -> list[str]:
        return _summary(cluster, year, row, result, previous, found)

    with use_locale(notify.group_locale(cluster)):
        count_pages = len(pages())
    for index in range(count_pages):
        last = index == count_pages - 1
        await notify.to_group(
            session, cluster, f"tally.summary:{row.id}:{index}",
            lambda index=index, last=last: notify.Note(
                pages()[index], views.actions(result, row.id, may_start_next_year(result)) if last else None),
        )  # fmt: skip
    from bot.services import tally_papers

    # The files are built once the count committed, outside any transaction (they take seconds
    # for a large cluster, and a SQLite transaction holds the write lock every chat waits for).
    after_commit(session, tally_papers.after_count(row.id))
    schedule_changed(session)  # the catch-up slot of the files (if the work above never runs)


async def stored(session: AsyncSession, actor: Actor) -> tuple[TallyResult, rules.YearResult, EmulationYear]:
    """The newest count of the current year (anyone in the cluster may read the result)."""
    actor.require(Action.VIEW_UNITS)
    await _year(session, actor)
    # The newest count of the cluster: after next year started, last year's result until the
    # new year is counted.
    found = (await session.execute(
        select(TallyResult, EmulationYear).join(EmulationYear, EmulationYear.id == TallyResult.year_id)
        .where(EmulationYear.cluster_id == actor.cluster_id)
        .order_by(EmulationYear.year.desc(), TallyResult.number.desc()).limit(1)
    )).first()  # fmt: skip
    if found is None:
        raise nobody_counted()
    row, year = found
    return row, rules.result_from_record(row.record), year


async def summary_pages(session: AsyncSession, actor: Actor, cluster: Cluster) -> list[str]:
    """`/result`: the newest count's summary, as published (in the reader's language)."""
    row, result, year = await stored(session, actor)
    previous = await session.scalar(
        select(TallyResult).where(TallyResult.year_id == year.id, TallyResult.number == row.number - 1)
    )
    found = rules.changes(rules.result_from_record(previous.record), result) if previous else []
    return _summary(cluster, year, row, result, previous, found)


def _summary(cluster: Cluster, year: EmulationYear, row: TallyResult, result: rules.YearResult,
             previous: TallyResult | None, found: list[rules.Change]) -> list[str]:  # fmt: skip
    """The summary pages of a stored count: what the group was sent and what /result shows."""
    return views.summary(result, cluster_name=cluster.name, year=year.year, number=row.number,
                         counted_at=row.counted_at, tz=cluster_timezone(cluster), who=row.counted_by,
                         previous_number=previous.number if previous else None, found=found)  # fmt: skip


async def _result_row(session: AsyncSession, actor: Actor, result_id: int) -> tuple[TallyResult, EmulationYear]:
    row = await session.get(TallyResult, result_id)
    year = await session.get(EmulationYear, row.year_id) if row is not None else None
    if row is None or year is None or year.cluster_id != actor.cluster_id:
        raise Refusal(_("That result is no longer on record."))
    newest = await latest(session, year.id)
    if newest is None or newest.id != row.id:
        raise Refusal(_("The year has been counted again since; use the newest result (/result)."))
    return row, year


async def open_runoff(session: AsyncSession, actor: Actor, result_id: int, index: int, *, who: str,
                      now: dt.datetime | None = None) -> Ballot:  # fmt: skip
    """The runoff a stored result asks for: among exactly the tied units, for the open places,
    with the ballot's rules (`bot.services.ballots.open_ballot(runoff_of=...)`)."""
    actor.require(Action.TALLY)
    row, year = await _result_row(session, actor, result_id)
    result = rules.result_from_record(row.record)
    if not 0 <= index < len(result.awards) or not result.awards[index].unresolved:
        raise Refusal(_("That tie is no longer unresolved."))
    award = result.awards[index]
    parent = await ballot_store.lock_ballot(session, award.last_ballot_id)  # two presses at once: one runoff
    taken = await session.scalar(select(func.count()).select_from(Ballot).where(
        Ballot.runoff_of_id == parent.id, Ballot.status == BallotStatus.OPEN))  # fmt: skip
    if taken:
        raise Refusal(_("The runoff for this tie has already been opened; count again when it has closed."))
    return await ballot_service.open_ballot(
        session, actor, year, parent.kind, who=who, quota=award.open_places,
        self_vote=parent.self_vote, candidates=list(award.unresolved), runoff_of=parent, now=now,
    )  # fmt: skip


@dataclass(frozen=True)
class NextYear:
    year: EmulationYear
    chair: Unit | None
    vice: Unit | None


async def next_year_plan(session: AsyncSession, actor: Actor, result_id: int) -> NextYear:
    """Who a stored result elected for next year (refused when no chair unit was elected, or
    next year exists already)."""
    actor.require(Action.TALLY)
    row, year = await _result_row(session, actor, result_id)
    result = rules.result_from_record(row.record)
    chair_id = result.elected(BallotKind.CHAIR.value)
    if chair_id is None:
        raise Refusal(_("No chair unit is elected yet: next year starts once the election has a result."))
    if await ballot_store.open_ballots(session, year.id):
        raise Refusal(_("A ballot of this year is still open: count it with /tally before starting next year."))
    if any(a.unresolved for a in result.awards):
        raise Refusal(_("A tie of this year is still unresolved: decide it with its runoff before starting next year."))
    vice_id = result.elected(BallotKind.VICE_CHAIR.value)
    taken = await session.scalar(
        select(EmulationYear.id).where(EmulationYear.cluster_id == year.cluster_id, EmulationYear.year == year.year + 1)
    )  # fmt: skip
    if taken is not None:
        raise Refusal(_("The emulation year {year} has already started.").format(year=year.year + 1))
    chair = await session.get(Unit, chair_id)
    vice = await session.get(Unit, vice_id) if vice_id is not None and vice_id != chair_id else None
    for unit in (chair, vice):
        if unit is not None and (unit.cluster_id != year.cluster_id or not unit.active):
            raise Refusal(_("{unit} is no longer an active unit of the cluster.").format(unit=unit.name))
    return NextYear(year, chair, vice)


async def start_next_year(session: AsyncSession, actor: Actor, result_id: int) -> NextYear:
    """Next year, with the elected chair (and vice-chair) units; the handover (*bàn giao*) of
    each office is recorded and announced in the group."""
    plan = await next_year_plan(session, actor, result_id)
    old = plan.year
    new = EmulationYear(cluster_id=old.cluster_id, year=old.year + 1, chair_unit_id=plan.chair.id,
                        vice_chair_unit_id=plan.vice.id if plan.vice else None)  # fmt: skip
    session.add(new)
    await session.flush()
    for office, before, unit in ((Office.CHAIR, old.chair_unit_id, plan.chair),
                                 (Office.VICE_CHAIR, old.vice_chair_unit_id, plan.vice)):  # fmt: skip
        if unit is not None:
            session.add(ChairHandover(year_id=new.id, office=office, from_unit_id=before, to_unit_id=unit.id,
                                      by_person_id=actor.person_id))  # fmt: skip
    record(session, cluster_id=old.cluster_id, actor_person_id=actor.person_id, action="year.start",
           subject=f"year:{new.id}", year=new.year, chair=plan.chair.id, vice=plan.vice.id if plan.vice else None,
           from_result=result_id)  # fmt: skip
    cluster = await session.get(Cluster, old.cluster_id)
    await notify.to_group(session, cluster, f"year.started:{new.id}",
                          lambda: views.next_year_started(new.year, plan.chair.name, plan.vice.name if plan.vice else None))  # fmt: skip
    return NextYear(new, plan.chair, plan.vice)


async def paper_recipients(session: AsyncSession, cluster: Cluster, year: EmulationYear, counted_by: int | None) -> list:
    """Whom the official papers go to: the secretariat, the chair unit's representatives, and
    whoever counted (the vice-chair standing in), each once."""
    from storage.models import Person

    people = list(await people_with_role(session, cluster.id, "secretariat"))
    if year.chair_unit_id is not None:
        people += [p for _u, p in await representatives_of(session, [year.chair_unit_id])]
    if counted_by is not None:
        person = await session.get(Person, counted_by)
        if person is not None:
            people.append(person)
    return list({p.id: p for p in people}.values())


def open_titles(ballots: list[Ballot]) -> list[str]:
    return [ballot_views.title(b.kind, b.label, b.round) for b in ballots]


async def in_thread(function, *args):
    """Heavy work (documents, charts) in a worker thread: the event loop keeps serving chats."""
    return await asyncio.to_thread(function, *args)
