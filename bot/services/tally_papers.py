"""The files of a count, built in worker threads once the count committed, and sent through the
outbox: the chart (to the group and the paper recipients); the minutes of the count and of
the evaluation meeting and the proposal to the authority (.docx, `bot.papers`), and the score
table (.xlsx, dated and with its signature block) to the secretariat and the chair unit's
representatives (and whoever counted).

The papers are Vietnamese documents whatever the reader's language; they are written from the
stored result alone (names as at the count), plus who sat on the count committee.

Each file's outbox key names the count (`tally.paper:<result id>:<paper>`), and the files are
queued in one transaction with the slot `tally.papers:<result id>` (`schedule_runs`), so a
count's papers go once whatever happens to the process; if it stopped between the count and
the files, the scheduler's `PapersSource` sends them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import tally as rules
from bot.i18n import _
from bot.services import notify
from bot.services.clusters import place_of
from bot.services.phases import cluster_timezone
from bot.services.slots import Slot, Source
from bot.views.scoring import score_table_build
from storage import ballots as ballot_store
from storage.db import offloaded
from storage.models import (
    Ballot,
    BallotKind,
    BallotStatus,
    Cluster,
    EmulationYear,
    TallyResult,
    Unit,
    utcnow,
)
from storage.schedule import claim_slot, handled

CHART_BALLOTS = (BallotKind.FLAG.value, BallotKind.MERIT.value)  # the vote shown beside the scores
AWARDS = {BallotKind.FLAG.value: "Cờ thi đua", BallotKind.MERIT.value: "Bằng khen"}
OFFICES = {BallotKind.CHAIR.value: "Cụm trưởng", BallotKind.VICE_CHAIR.value: "Cụm phó"}
SECRETARIAT_UNIT = "bộ phận thường trực của Cụm"


def ballot_records(result: rules.YearResult, year: int) -> list:
    """Each ballot (and runoff) of the result as the minutes report it."""
    from bot.papers.minutes import Purpose, record_of

    records = []
    for award in result.awards:
        if award.kind in AWARDS:
            subject, purpose = AWARDS[award.kind], Purpose.AWARD
            title = f"Phiếu đề nghị tặng {subject}"
        else:
            subject, purpose = f"{OFFICES[award.kind]} năm {year + 1}", Purpose.ELECTION
            title = f"Phiếu bầu đơn vị {subject}"
        if award.label:
            title += f" ({award.label})"
        for round_input, count in award.rounds:
            heading = title if round_input.round == 1 else f"{title} — bỏ phiếu lại, vòng {round_input.round}"
            names = {u: result.names.get(u, str(u)) for u in round_input.ballot.candidates}
            records.append(record_of(heading, subject, purpose, round_input.ballot, count, names,
                                     board_sha256=round_input.board_sha256,
                                     inputs_sha256=result.inputs_sha256))  # fmt: skip
    return records


def proposed_awards(result: rules.YearResult) -> list:
    """The proposal's awards: each proposed unit with the votes of the round that proposed it."""
    from bot.papers.proposal import AwardProposal, ProposedUnit

    scores = {u: s for u, s, _p in result.ranking}
    out = []
    for award in result.awards:
        if award.kind not in AWARDS or not award.proposed:
            continue
        units = []
        for unit in award.proposed:
            _round, count = next((r, c) for r, c in award.rounds if unit in c.proposed)
            line = next(c for c in count.ranking if c.unit_id == unit)
            units.append(ProposedUnit(result.names.get(unit, str(unit)), scores.get(unit), line.votes, count.basis,
                                      line.share))  # fmt: skip
        name = AWARDS[award.kind] + (f" ({award.label})" if award.label else "")
        out.append(AwardProposal(name, tuple(units)))
    return out


def chart_of(result: rules.YearResult, year: int, cluster_name: str):
    """The chart's data: every ranked unit's final score, and the shares of the year's first
    award ballot (the flag, else the certificates of merit)."""
    from bot.papers.chart import ResultChart, UnitBar
    from bot.views.ballots import kind_name

    award = next((a for a in result.awards if a.kind in CHART_BALLOTS), None)
    shares = {c.unit_id: c.share for c in award.first.ranking} if award else {}
    scored = {u: s for u, s, _p in result.ranking}
    units = [u for u, _s, _p in result.ranking] + [u for u in shares if u not in scored]
    bars = tuple(UnitBar(name=result.names.get(u, str(u)), score=scored.get(u), share=shares.get(u),
                         proposed=award is not None and u in award.proposed) for u in units)  # fmt: skip
    return ResultChart(year=year, cluster=cluster_name, units=bars,
                       ballot=kind_name(BallotKind(award.kind)) if award else None,
                       threshold=result.rules.threshold if award else None)  # fmt: skip


@dataclass(frozen=True)
class Paper:
    key: str  # the outbox key's tail: chart, minutes, proposal, scores
    build: Callable[[], bytes]  # pure: run in a worker thread, outside any transaction
    filename: str
    caption: Callable[[], str]  # rendered per recipient, in their language
    to_group: bool = False


@dataclass(frozen=True)
class Planned:
    """Everything needed to build and send a count's files, read in one short transaction."""

    result_id: int
    cluster_id: int
    people: tuple[int, ...]
    papers: tuple[Paper, ...]
    slot: Slot


GRACE = dt.timedelta(minutes=2)  # the scheduler's catch-up waits this long for the normal path


def slot_of(row: TallyResult, cluster_id: int) -> Slot:
    """The once-only record of a count's files (`schedule_runs`): written with the files'
    outbox rows, by the normal path after the count or, if the process stopped in between,
    by the scheduler's catch-up (`PapersSource`)."""
    return Slot("tally.papers", row.id, row.year_id, cluster_id, None, row.counted_at + GRACE)


async def plan(session: AsyncSession, result_id: int) -> Planned | None:
    """What to build for a stored count; None when its files were already sent. Its reads grow
    with the cluster: off the event loop (`storage.db.offloaded`)."""
    with offloaded():
        return await _plan(session, result_id)


async def _plan(session: AsyncSession, result_id: int) -> Planned | None:
    from bot.i18n import use_locale
    from bot.papers import chart, minutes, proposal
    from bot.services import scoring, tally

    row = await session.get(TallyResult, result_id)
    if row is None:
        return None
    year = await session.get(EmulationYear, row.year_id)
    cluster = await session.get(Cluster, year.cluster_id)
    slot = slot_of(row, cluster.id)
    if await handled(session, [slot.key]):
        return None
    result = rules.result_from_record(row.record)
    people = await tally.paper_recipients(session, cluster, year, row.counted_by_person_id)
    chair = await session.get(Unit, year.chair_unit_id) if year.chair_unit_id else None
    day = row.counted_at.astimezone(cluster_timezone(cluster)).date()
    minutes_data, proposal_data = await _papers(session, cluster, year, row, result, chair)
    with use_locale("vi"):  # the papers are Vietnamese documents of the cluster
        picture = chart_of(result, year.year, cluster.name)
    scores, scores_name = score_table_build(await scoring.score_report(session, cluster, year.id), place=place_of(cluster),
                                            date=day, chair_unit=chair.name if chair else None)  # fmt: skip
    y, n = year.year, row.number

    papers = (
        Paper("chart", functools.partial(chart.png, picture), f"ket-qua-thi-dua-{y}.png",
              lambda: _("📈 Final scores and votes {year} — count {number}").format(year=y, number=n), to_group=True),
        Paper("minutes", functools.partial(minutes.render, minutes_data), minutes.file_name(y),
              lambda: _("📝 Minutes of the count and of the evaluation meeting {year} — count {number}").format(
                  year=y, number=n)),
        Paper("proposal", functools.partial(proposal.render, proposal_data), proposal.file_name(y),
              lambda: _("📨 Proposal for awards {year} — count {number}").format(year=y, number=n)),
        Paper("scores", scores, scores_name,
              lambda: _("📊 Score table {year} — count {number}").format(year=y, number=n)),
    )  # fmt: skip
    return Planned(row.id, cluster.id, tuple(p.id for p in people), papers, slot)


async def build(planned: Planned) -> list[bytes]:
    """The files, each in a worker thread (no transaction is open meanwhile)."""
    return [await asyncio.to_thread(paper.build) for paper in planned.papers]


async def enqueue(session: AsyncSession, planned: Planned, files: list[bytes]) -> None:
    from storage.models import Person

    cluster = await session.get(Cluster, planned.cluster_id)
    people = [person for pid in planned.people if (person := await session.get(Person, pid)) is not None]
    for paper, data in zip(planned.papers, files, strict=True):
        document = notify.Document(data, paper.filename)
        if paper.to_group:
            await notify.document_to_group(session, cluster, f"tally.{paper.key}:{planned.result_id}", document,
                                           paper.caption)  # fmt: skip
        await notify.document_to_people(session, people, f"tally.paper:{planned.result_id}:{paper.key}", document,
                                        paper.caption, cluster_id=cluster.id)  # fmt: skip


def after_count(result_id: int):
    """The work `bot.services.tally.count` asks for once the count committed: plan (a short
    transaction), build (no transaction: on SQLite every transaction holds the write lock, and
    building a 300-unit cluster's files takes seconds), then queue the files and record the
    slot in one more short transaction. True when files were queued (the caller wakes the
    sender)."""

    async def work(db) -> bool:
        async with db.session() as session:
            planned = await plan(session, result_id)
            await session.rollback()
        if planned is None:
            return False
        files = await build(planned)
        async with db.session() as session:
            if not await claim_slot(session, planned.slot.key, "done", utcnow()):
                await session.rollback()  # the scheduler's catch-up sent them meanwhile
                return False
            await enqueue(session, planned, files)
            await session.commit()
        return True

    return work


class PapersSource(Source):
    """The catch-up: a count whose files were not queued (the process stopped right after the
    count committed) gets them `GRACE` later, built in the scheduler's transaction (rare)."""

    names = ("tally.papers",)

    async def slots(self, session: AsyncSession, now: dt.datetime) -> list[Slot]:
        since = now - dt.timedelta(days=7)  # older counts are history: never sent late
        rows = await session.execute(
            select(TallyResult, EmulationYear.cluster_id).join(EmulationYear, EmulationYear.id == TallyResult.year_id)
            .where(TallyResult.counted_at >= since)
        )  # fmt: skip
        return [slot_of(row, cluster_id) for row, cluster_id in rows.all()]

    async def run(self, session: AsyncSession, slot: Slot, now: dt.datetime) -> str:
        planned = await plan(session, slot.subject)
        if planned is None:
            return "skipped"
        await enqueue(session, planned, await build(planned))
        return "done"


async def _papers(session: AsyncSession, cluster: Cluster, year: EmulationYear, row: TallyResult,
                  result: rules.YearResult, chair: Unit | None):  # fmt: skip
    """The minutes and the proposal of this count."""
    from bot.papers.minutes import Member, Minutes, RankedUnit
    from bot.papers.proposal import Proposal
    from storage.pledges import people_with_role, representatives_of

    tz = cluster_timezone(cluster)
    vice = await session.get(Unit, year.vice_chair_unit_id) if year.vice_chair_unit_id else None
    counted_for = chair
    if vice is not None and chair is not None:
        chair_people = {p.id for _u, p in await representatives_of(session, [chair.id])}
        vice_people = {p.id for _u, p in await representatives_of(session, [vice.id])}
        if row.counted_by_person_id not in chair_people and row.counted_by_person_id in vice_people:
            counted_for = vice
    capacity = "Cụm phó" if counted_for is not None and counted_for is vice else "Cụm trưởng"
    secretaries = await people_with_role(session, cluster.id, "secretariat")
    ballots = list(await session.scalars(
        select(Ballot).where(Ballot.year_id == year.id, Ballot.status == BallotStatus.CLOSED)))  # fmt: skip
    voted: set[int] = set()
    for ballot in ballots:
        voted |= await ballot_store.voted_units(session, ballot.id)
    units = list(await session.scalars(select(Unit).where(Unit.cluster_id == cluster.id).order_by(Unit.position, Unit.id)))
    present = [u.name for u in units if u.id in voted]
    absent = [u.name for u in units if u.active and u.id not in voted]
    opened = min((b.opened_at for b in ballots), default=row.counted_at)
    place = place_of(cluster)
    minutes = Minutes(
        cluster=cluster.name, year=year.year, held_at=opened, tz=tz, ended_at=row.counted_at,
        chair=Member(row.counted_by, counted_for.name if counted_for else cluster.name), chair_capacity=capacity,
        secretary=Member(secretaries[0].full_name, SECRETARIAT_UNIT) if secretaries else None,
        present=present, absent=absent, ballots=ballot_records(result, year.year),
        ranking=[RankedUnit(p, result.names.get(u, str(u)), s) for u, s, p in result.ranking],
        rules=result.rules, place=place, inputs_sha256=result.inputs_sha256,
    )  # fmt: skip
    day = row.counted_at.astimezone(tz).date()
    proposal = Proposal(cluster=cluster.name, year=year.year, date=day, awards=proposed_awards(result),
                        chair_name=row.counted_by, chair_capacity=capacity, place=place, meeting_date=day)  # fmt: skip
    return minutes, proposal
