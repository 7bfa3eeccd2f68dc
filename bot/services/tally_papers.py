"""The files of a count, built in worker threads and sent through the outbox in the count's
transaction: the chart (to the group and the paper recipients); the minutes of the count and of
the evaluation meeting and the proposal to the authority (.docx, `bot.papers`), and the score
table (.xlsx, dated and with its signature block) to the secretariat and the chair unit's
representatives (and whoever counted).

The papers are Vietnamese documents whatever the reader's language; they are written from the
stored result alone (names as at the count), plus who sat on the count committee.

Each file's outbox key names the count (`tally.paper:<result id>:<paper>`), so a count's
papers go once whatever happens to the process.
"""

from __future__ import annotations

import asyncio
import importlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import tally as rules
from bot.i18n import _
from bot.services import notify
from bot.services.clusters import place_of
from bot.services.phases import cluster_timezone
from bot.views.scoring import score_table_file
from storage import ballots as ballot_store
from storage.models import (
    Ballot,
    BallotKind,
    BallotStatus,
    Cluster,
    EmulationYear,
    TallyResult,
    Unit,
)

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


async def send(session: AsyncSession, cluster: Cluster, year: EmulationYear, row: TallyResult,
               result: rules.YearResult) -> None:  # fmt: skip
    from bot.i18n import use_locale
    from bot.papers import chart
    from bot.services import scoring, tally

    people = await tally.paper_recipients(session, cluster, year, row.counted_by_person_id)
    with use_locale("vi"):  # the papers are Vietnamese documents of the cluster
        picture = chart_of(result, year.year, cluster.name)
    png = await asyncio.to_thread(chart.png, picture)
    document = notify.Document(png, f"ket-qua-thi-dua-{year.year}.png")

    def caption() -> str:
        return _("📈 Final scores and votes {year} — count {number}").format(year=year.year, number=row.number)

    await notify.document_to_group(session, cluster, f"tally.chart:{row.id}", document, caption)
    await notify.document_to_people(session, people, f"tally.paper:{row.id}:chart", document, caption,
                                    cluster_id=cluster.id)  # fmt: skip

    chair = await session.get(Unit, year.chair_unit_id) if year.chair_unit_id else None
    tz = cluster_timezone(cluster)
    day = row.counted_at.astimezone(tz).date()
    minutes, proposal = await _papers(session, cluster, year, row, result, chair)
    for key, module, paper in (("minutes", "minutes", minutes), ("proposal", "proposal", proposal)):
        renderer = importlib.import_module(f"bot.papers.{module}")
        data = await asyncio.to_thread(renderer.render, paper)
        await notify.document_to_people(
            session, people, f"tally.paper:{row.id}:{key}", notify.Document(data, renderer.file_name(year.year)),
            lambda key=key: (_("📝 Minutes of the count and of the evaluation meeting {year} — count {number}")
                             if key == "minutes" else _("📨 Proposal for awards {year} — count {number}")).format(
                year=year.year, number=row.number),
            cluster_id=cluster.id,
        )  # fmt: skip
    data, filename = await score_table_file(await scoring.score_report(session, cluster), place=place_of(cluster),
                                            date=day, chair_unit=chair.name if chair else None)  # fmt: skip
    await notify.document_to_people(
        session, people, f"tally.paper:{row.id}:scores", notify.Document(data, filename),
        lambda: _("📊 Score table {year} — count {number}").format(year=year.year, number=row.number),
        cluster_id=cluster.id,
    )  # fmt: skip


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
