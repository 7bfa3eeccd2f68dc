"""Setting up a cluster: binding a Telegram group, its kind, its current year and the place
written on its pledge document.

What may still be corrected after set-up, and until when:
- the kind (Cụm / Khối), always: it only changes the wording of messages;
- the emulation year, until the first phase of the year opens (a cluster set up in January to
  record last year's review); after that, pledges and scores hang on it;
- the place (*địa danh*) before the date of the pledge document, until the year's signing is
  concluded: the document is the signed text from then on and must not change under it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from html import escape
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import setup_input
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.services import notify
from bot.services.actors import Actor
from bot.services.audit import record
from bot.views import members
from storage.db import memo
from storage.in_context import year_in_context
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
from storage.people import CURRENT_YEAR_ID, cluster_by_chat
from storage.text import visible
from storage.units import unit_in_cluster

MAX_NAME = 300
PLACE_KEY = "pledge_place"  # Cluster.settings: the place before the date of the pledge document


@dataclass(frozen=True)
class SetupState:
    """What the set-up message shows, and which of its choices may still change."""

    cluster: Cluster
    year: EmulationYear
    place: str | None  # None: not set, the document leaves a dotted line
    year_open: bool  # no phase of the year has opened yet
    place_open: bool  # the year's pledge signing has not been concluded


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
    name = " ".join(visible(name).split())  # a group title may carry NUL or hidden characters
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


async def setup_state(session: AsyncSession, actor: Actor, cluster: Cluster) -> SetupState:
    """The cluster's set-up choices, for its administrator."""
    actor.require(Action.CONFIGURE_CLUSTER)
    year = await current_year(session, cluster.id)
    if year is None:
        raise Refusal(_("This cluster has no emulation year yet."))
    return SetupState(
        cluster=cluster, year=year, place=place_of(cluster),
        year_open=not await _any_phase_opened(session, year), place_open=not _signing_concluded(cluster, year),
    )  # fmt: skip


async def setup_again(session: AsyncSession, actor: Actor, cluster: Cluster) -> SetupState:
    """/setup in a group that is set up already: its administrator gets the set-up message
    again, to correct a choice; anyone else is told which cluster the group is."""
    if not actor.may(Action.CONFIGURE_CLUSTER):
        raise Refusal(
            _("This group is already set up as the cluster <b>{name}</b>.").format(name=escape(cluster.name))
        )
    return await setup_state(session, actor, cluster)


async def set_kind(session: AsyncSession, actor: Actor, cluster: Cluster, kind: ClusterKind) -> None:
    actor.require(Action.CONFIGURE_CLUSTER)
    if cluster.kind != kind:
        record(
            session, cluster_id=cluster.id, actor_person_id=actor.person_id,
            action="cluster.kind", subject=f"cluster:{cluster.id}", before=cluster.kind, after=kind,
        )
        cluster.kind = kind


async def check_year_open(session: AsyncSession, actor: Actor, emulation_year: EmulationYear) -> None:
    """Refuse unless this actor may still correct the emulation year."""
    actor.require(Action.CONFIGURE_CLUSTER)
    if await _any_phase_opened(session, emulation_year):
        raise Refusal(_("The emulation year can no longer be changed: a phase has already opened."))


async def change_year(
    session: AsyncSession, actor: Actor, emulation_year: EmulationYear, year: int, *, this_year: int
) -> EmulationYear:
    """Correct the emulation year chosen at set-up (a cluster set up in January for last
    year's review, or recording the 2017 review), as long as nothing has happened in it yet.
    `this_year` is the calendar year now: a year from 2000 to next year is accepted."""
    await check_year_open(session, actor, emulation_year)
    setup_input.check_year(year, this_year)
    if emulation_year.year == year:
        return emulation_year
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


def place_of(cluster: Cluster) -> str | None:
    """The place the cluster set for its pledge document; None when it has not set one.

    There is no default city: a guessed "Hà Nội" on a document signed in another province is
    wrong, and a unit's locality is not recorded. The document then leaves a dotted line."""
    value = (cluster.settings or {}).get(PLACE_KEY)
    return value if isinstance(value, str) and value.strip() else None


async def check_place_open(session: AsyncSession, actor: Actor, cluster: Cluster) -> None:
    """Refuse unless this actor may still set the place of the pledge document."""
    actor.require(Action.CONFIGURE_CLUSTER)
    year = await current_year(session, cluster.id)
    if year is not None and _signing_concluded(cluster, year):
        raise Refusal(
            _("The place can no longer be changed: the {year} pledge has been signed and its document "
              "is final.").format(year=year.year)  # fmt: skip
        )


async def set_place(session: AsyncSession, actor: Actor, cluster: Cluster, text: str | None) -> str:
    """Set the place written before the date of the pledge document (*địa danh*).

    The cluster row is locked and read afresh first (as concluding the signing does), so the
    settings written back are not an older copy, and a signing concluded meanwhile is seen."""
    actor.require(Action.CONFIGURE_CLUSTER)
    cluster = await session.get(Cluster, cluster.id, with_for_update=True, populate_existing=True)
    await check_place_open(session, actor, cluster)
    return await set_setting(session, actor, cluster, PLACE_KEY, setup_input.clean_place(text))


async def set_setting(session: AsyncSession, actor: Actor, cluster: Cluster, key: str, value: Any) -> Any:
    """Write one key of `Cluster.settings` and audit the change (nothing when it is the same)."""
    settings = dict(cluster.settings or {})  # a new dict: the JSON column notices the change
    before = settings.get(key)
    if before == value:
        return value
    settings[key] = value
    cluster.settings = settings
    record(
        session, cluster_id=cluster.id, actor_person_id=actor.person_id, action=f"cluster.{key}",
        subject=f"cluster:{cluster.id}", before=before, after=value,
    )  # fmt: skip
    await session.flush()
    return value


async def _any_phase_opened(session: AsyncSession, emulation_year: EmulationYear) -> bool:
    opened = await session.scalar(
        select(Phase.id).where(Phase.year_id == emulation_year.id, Phase.opened_at.is_not(None)).limit(1)
    )
    return opened is not None


def _signing_concluded(cluster: Cluster, year: EmulationYear) -> bool:
    # Imported here: bot.services.pledges builds on this module (current_year).
    from bot.services.pledges import concluded_at

    return concluded_at(cluster, year.id) is not None


async def current_year(session: AsyncSession, cluster_id: int) -> EmulationYear | None:
    """The cluster's latest emulation year (the one being run); read once per transaction
    until it writes (`storage.db.memo`)."""
    return await memo(session, ("current_year", cluster_id), lambda: _current_year(session, cluster_id))


async def _current_year(session: AsyncSession, cluster_id: int) -> EmulationYear | None:
    # The id first: the year is usually loaded already (a button named it), and finding a
    # loaded row costs nothing; else the year comes with its phases and cluster in one statement.
    year_id = await memo(session, (CURRENT_YEAR_ID, cluster_id), lambda: session.scalar(
        _current_year_statement(), {"cluster_id": cluster_id}))  # the roles' query may have found it
    return await year_in_context(session, year_id) if year_id is not None else None


@functools.cache
def _current_year_statement() -> Select:
    """Built once: asked by nearly every update."""
    return (
        select(EmulationYear.id)
        .where(EmulationYear.cluster_id == bindparam("cluster_id"))
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
    cluster = await session.get(Cluster, actor.cluster_id)
    handover = await session.scalar(select(func.count()).select_from(ChairHandover).where(ChairHandover.year_id == year.id))
    await notify.to_group(session, cluster, f"office.{office.value}:{year.id}:{handover}",
                          lambda: members.office_taken(office, year.year, unit.name))  # fmt: skip
    return unit
