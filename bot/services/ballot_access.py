"""Who is acting on which ballot: the rows a ballot button names, loaded and checked against the
chat it was pressed in, with the person's roles in that cluster. The ballot handlers call these
instead of loading rows themselves; a button that no longer fits (another cluster's id, an old
year, a ballot gone) is refused the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import Refusal
from bot.i18n import _
from bot.services.actors import Actor, actor_in
from bot.services.clusters import current_year
from storage.in_context import in_context
from storage.models import Ballot, Cluster, EmulationYear


def stale() -> Refusal:
    """The refusal for a button that no longer fits the data (the same words as
    `handlers.buttons.stale`)."""
    return Refusal(_("This button is no longer valid. Please use the newest message, or type /help."))


@dataclass(frozen=True)
class Acting:
    cluster: Cluster
    year: EmulationYear
    actor: Actor
    ballot: Ballot | None = None


def _in_chat(cluster_id: int, chat_cluster_id: int | None) -> bool:
    """A group's button acts on that group's cluster only; a private chat's on any of the person's."""
    return chat_cluster_id is None or cluster_id == chat_cluster_id


async def for_year(session: AsyncSession, person_id: int | None, year_id: int, chat_cluster_id: int | None) -> Acting:
    """A button of the year's ballot list or draft: the current year only."""
    year = await session.get(EmulationYear, year_id)
    if year is None or person_id is None or not _in_chat(year.cluster_id, chat_cluster_id):
        raise stale()
    current = await current_year(session, year.cluster_id)
    if current is None or current.id != year.id:
        raise stale()
    cluster = await session.get(Cluster, year.cluster_id)
    return Acting(cluster, year, await actor_in(session, person_id, cluster.id))


async def for_cluster(session: AsyncSession, person_id: int | None, cluster_id: int, chat_cluster_id: int | None) -> Acting:
    """A button of the cluster's ballot defaults: its current year."""
    cluster = await session.get(Cluster, cluster_id)
    if cluster is None or person_id is None or not _in_chat(cluster.id, chat_cluster_id):
        raise stale()
    year = await current_year(session, cluster.id)
    if year is None:
        raise stale()
    return Acting(cluster, year, await actor_in(session, person_id, cluster.id))


async def for_ballot(session: AsyncSession, person_id: int | None, ballot_id: int, chat_cluster_id: int | None) -> Acting:
    """A button about one ballot (close, remind, vote)."""
    ballot = await in_context(session, Ballot, ballot_id)  # with its year and cluster
    year = await session.get(EmulationYear, ballot.year_id) if ballot is not None else None
    if year is None or person_id is None or not _in_chat(year.cluster_id, chat_cluster_id):
        raise stale()
    cluster = await session.get(Cluster, year.cluster_id)
    return Acting(cluster, year, await actor_in(session, person_id, cluster.id), ballot)
