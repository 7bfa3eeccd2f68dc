"""The files of a count, built in worker threads and sent through the outbox in the count's
transaction: the score table (.xlsx) to the secretariat and the chair (and whoever counted).

Each file's outbox key names the count (`tally.paper:<result id>:<paper>`), so a count's
papers go once whatever happens to the process.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot import tally as rules
from bot.i18n import _
from bot.services import notify
from bot.views.scoring import score_table_file
from storage.models import Cluster, EmulationYear, TallyResult


async def send(session: AsyncSession, cluster: Cluster, year: EmulationYear, row: TallyResult,
               result: rules.YearResult) -> None:  # fmt: skip
    from bot.services import scoring, tally

    people = await tally.paper_recipients(session, cluster, year, row.counted_by_person_id)
    data, filename = await score_table_file(await scoring.score_report(session, cluster))
    await notify.document_to_people(
        session, people, f"tally.paper:{row.id}:scores", notify.Document(data, filename),
        lambda: _("📊 Score table {year} — count {number}").format(year=year.year, number=row.number),
        cluster_id=cluster.id,
    )  # fmt: skip
