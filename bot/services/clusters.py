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
from storage.models import (
    ChairHandover,
    Cluster,
    ClusterKind,
    EmulationYear,
    Office,
    Phase,
    RoleAssignment,
    Unit,
)
from storage.people import cluster_by_chat
from storage.units import unit_in_cluster

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


async def change_year(
    session: AsyncSession, actor: Actor, emulation_year: EmulationYear, year: int
) -> EmulationYear:
    """Correct the emulation year chosen at set-up (a cluster set up in January for last
    year's review), as long as nothing has happened in it yet."""
    actor.require(Action.CONFIGURE_CLUSTER)
    if emulation_year.year == year:
        return emulation_year
    opened = await session.scalar(
        select(Phase.id).where(Phase.year_id == emulation_year.id, Phase.opened_at.is_not(None)).limit(1)
    )
    if opened is not None:
        raise Refusal(_("The emulation year can no longer be changed: a phase has already opened."))
    taken = await session.scalar(
        select(EmulationYear.id).where(
            EmulationYear.cluster_id == actor.cluster_id, EmulationYear.year == year
        )
    )
    if taken is not None:
        raise Refusal(_("The cluster already has the emulation year {year}.").format(year=year))
    record(
        session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
        action="year.change", subject=f"year:{emulation_year.id}", before=emulation_year.year, after=year,
    )
    emulation_year.year = year
    await session.flush()
    return emulation_year


async def current_year(session: AsyncSession, cluster_id: int) -> EmulationYear | None:
    """The cluster's latest emulation year (the one being run)."""
    return await session.scalar(
        select(EmulationYear)
        .where(EmulationYear.cluster_id == cluster_id)
        .order_by(EmulationYear.year.desc())
        .limit(1)
    )


async def assign_office(
    session: AsyncSession, actor: Actor, year: EmulationYear, office: Office, unit_id: int
) -> Unit:
    """Make a unit the year's chair (Cụm trưởng) or vice-chair (Cụm phó); records the handover."""
    actor.require(Action.ASSIGN_CHAIR)
    unit = await unit_in_cluster(session, actor.cluster_id, unit_id)
    if unit is None or not unit.active:
        raise Refusal(_("That unit is not in this cluster (any more)."))
    other = year.vice_chair_unit_id if office == Office.CHAIR else year.chair_unit_id
    if other == unit.id:
        raise Refusal(_("A unit cannot be both the chair and the vice-chair."))
    before = year.chair_unit_id if office == Office.CHAIR else year.vice_chair_unit_id
    if before == unit.id:
        return unit
    if office == Office.CHAIR:
        year.chair_unit_id = unit.id
    else:
        year.vice_chair_unit_id = unit.id
    session.add(
        ChairHandover(
            year_id=year.id, office=office, from_unit_id=before, to_unit_id=unit.id,
            by_person_id=actor.person_id,
        )
    )
    record(
        session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
        action=f"office.{office.value}", subject=f"year:{year.id}", before=before, after=unit.id,
    )
    await session.flush()
    return unit
