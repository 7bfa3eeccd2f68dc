"""The files of a count, built in worker threads and sent through the outbox in the count's
transaction: the chart (to the group and the paper recipients) and the score table (.xlsx,
dated and with its signature block) to the secretariat and the chair (and whoever counted).

Each file's outbox key names the count (`tally.paper:<result id>:<paper>`), so a count's
papers go once whatever happens to the process.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from bot import tally as rules
from bot.i18n import _
from bot.services import notify
from bot.services.clusters import place_of
from bot.services.phases import cluster_timezone
from bot.views.scoring import score_table_file
from storage.models import BallotKind, Cluster, EmulationYear, TallyResult, Unit

CHART_BALLOTS = (BallotKind.FLAG.value, BallotKind.MERIT.value)  # the vote shown beside the scores


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
    day = row.counted_at.astimezone(cluster_timezone(cluster)).date()
    data, filename = await score_table_file(await scoring.score_report(session, cluster), place=place_of(cluster),
                                            date=day, chair_unit=chair.name if chair else None)  # fmt: skip
    await notify.document_to_people(
        session, people, f"tally.paper:{row.id}:scores", notify.Document(data, filename),
        lambda: _("📊 Score table {year} — count {number}").format(year=year.year, number=row.number),
        cluster_id=cluster.id,
    )  # fmt: skip
