"""Setting up a cluster: binding a Telegram group, its kind and its current year."""

from __future__ import annotations

from html import escape

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.services.actors import Actor
from bot.services.audit import record
from storage.models import Cluster, ClusterKind, EmulationYear, RoleAssignment
from storage.people import cluster_by_chat

MAX_NAME = 300


async def setup_cluster(
    session: AsyncSession,
    *,
    chat_id: int,
    name: str,
    person_id: int,
    is_group_admin: bool,
    year: int,
    locale: str,
) -> tuple[Cluster, EmulationYear]:
    """Bind a group to a new cluster; the person who asked becomes its administrator.

    `is_group_admin` must come from Telegram (getChatMember), never from the message.
    """
    if not is_group_admin:
        raise Refusal(_("Only an administrator of this Telegram group can set it up."))
    existing = await cluster_by_chat(session, chat_id)
    if existing is not None:
        raise Refusal(
            _("This group is already set up as the cluster <b>{name}</b>.").format(
                name=escape(existing.name)
            )
        )
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise Refusal(
            _("A cluster's name must have 1 to {max} characters.").format(max=MAX_NAME)
        )
    cluster = Cluster(name=name, kind=ClusterKind.CLUSTER, telegram_chat_id=chat_id, locale=locale)
    session.add(cluster)
    await session.flush()
    emulation_year = EmulationYear(cluster_id=cluster.id, year=year)
    session.add(emulation_year)
    session.add(RoleAssignment(cluster_id=cluster.id, person_id=person_id, role="admin"))
    record(
        session, cluster_id=cluster.id, actor_person_id=person_id, action="cluster.setup",
        subject=f"cluster:{cluster.id}", name=name, chat_id=chat_id, year=year,
    )
    await session.flush()
    return cluster, emulation_year


async def set_kind(session: AsyncSession, actor: Actor, cluster: Cluster, kind: ClusterKind) -> None:
    actor.require(Action.CONFIGURE_CLUSTER)
    if cluster.kind != kind:
        record(
            session, cluster_id=cluster.id, actor_person_id=actor.person_id,
            action="cluster.kind", subject=f"cluster:{cluster.id}", before=cluster.kind, after=kind,
        )
        cluster.kind = kind


async def current_year(session: AsyncSession, cluster_id: int) -> EmulationYear | None:
    """The cluster's latest emulation year (the one being run)."""
    return await session.scalar(
        select(EmulationYear)
        .where(EmulationYear.cluster_id == cluster_id)
        .order_by(EmulationYear.year.desc())
        .limit(1)
    )
