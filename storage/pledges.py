"""Queries about pledges and the people they concern."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import racing_insert
from storage.in_context import in_context
from storage.models import (
    Person,
    Pledge,
    PledgeItem,
    PledgeRevision,
    PledgeStatus,
    RoleAssignment,
    Unit,
)


async def pledge_in_context(session: AsyncSession, pledge_id: int) -> Pledge | None:
    """The pledge with its year (and the year's phases), unit and cluster, in one statement
    (`storage.in_context`); its items follow in a statement of their own."""
    return await in_context(session, Pledge, pledge_id)


async def pledge_of(session: AsyncSession, year_id: int, unit_id: int) -> Pledge | None:
    return await session.scalar(
        select(Pledge).where(Pledge.year_id == year_id, Pledge.unit_id == unit_id)
    )


async def create_pledge(session: AsyncSession, year_id: int, unit_id: int, person_id: int) -> Pledge:
    """A new empty draft for the unit's year, for a caller that has just found none.

    Two representatives opening /pledge at the same moment may both try to create it; the
    loser's insert runs in a savepoint and falls back to the winner's row.
    """
    candidate = Pledge(year_id=year_id, unit_id=unit_id, updated_by_person_id=person_id, items=[])
    try:
        async with racing_insert(session):
            session.add(candidate)
    except IntegrityError:
        pledge = await pledge_of(session, year_id, unit_id)
        if pledge is None:
            raise
        return pledge
    return candidate


async def pledges_of_year(session: AsyncSession, year_id: int, *, fresh: bool = False) -> dict[int, Pledge]:
    """unit id -> pledge, every pledge of the year. `fresh`: overwrite what the session loaded
    earlier with the rows as they are now (read again after taking a lock)."""
    query = select(Pledge).where(Pledge.year_id == year_id)
    if fresh:
        query = query.execution_options(populate_existing=True)
    rows = await session.scalars(query)
    return {p.unit_id: p for p in rows.all()}


async def pledges_of_units(session: AsyncSession, year_id: int, unit_ids: Iterable[int], *,
                           fresh: bool = False) -> dict[int, Pledge]:  # fmt: skip
    """unit id -> pledge, for these units only (`fresh`: as in `pledges_of_year`)."""
    ids = list(unit_ids)
    if not ids:
        return {}
    query = select(Pledge).where(Pledge.year_id == year_id, Pledge.unit_id.in_(ids))
    if fresh:
        query = query.execution_options(populate_existing=True)
    return {p.unit_id: p for p in (await session.scalars(query)).all()}


@dataclass(frozen=True)
class PledgeState:
    id: int
    status: PledgeStatus
    version: int
    signed_at: datetime | None
    items: int  # commitments


async def pledge_states(session: AsyncSession, year_id: int) -> dict[int, PledgeState]:
    """unit id -> the state of its pledge, every pledge of the year, as rows (no objects, no
    commitments loaded: their number is counted), in the order `pledges_of_year` reads them."""
    items = dict((await session.execute(
        select(PledgeItem.pledge_id, func.count())
        .join(Pledge, Pledge.id == PledgeItem.pledge_id)
        .where(Pledge.year_id == year_id)
        .group_by(PledgeItem.pledge_id)
    )).all())  # fmt: skip
    rows = await session.execute(
        select(Pledge.unit_id, Pledge.id, Pledge.status, Pledge.version, Pledge.signed_at).where(Pledge.year_id == year_id)
    )
    return {unit_id: PledgeState(pid, status, version, signed_at, items.get(pid, 0))
            for unit_id, pid, status, version, signed_at in rows.all()}  # fmt: skip


async def unsigned_active_units(session: AsyncSession, cluster_id: int, year_id: int) -> int:
    """How many active units of the cluster have no signed pledge for the year (0: all signed)."""
    return await session.scalar(
        select(func.count())
        .select_from(Unit)
        .outerjoin(Pledge, (Pledge.unit_id == Unit.id) & (Pledge.year_id == year_id))
        .where(
            Unit.cluster_id == cluster_id, Unit.active.is_(True),
            or_(Pledge.id.is_(None), Pledge.status != PledgeStatus.SIGNED),
        )  # fmt: skip
    ) or 0


async def revision_count(session: AsyncSession, pledge_id: int) -> int:
    return await session.scalar(
        select(func.count()).select_from(PledgeRevision).where(PledgeRevision.pledge_id == pledge_id)
    ) or 0


async def revisions_of_year(session: AsyncSession, year_id: int) -> list[PledgeRevision]:
    rows = await session.scalars(
        select(PledgeRevision)
        .join(Pledge, Pledge.id == PledgeRevision.pledge_id)
        .where(Pledge.year_id == year_id)
        .order_by(PledgeRevision.pledge_id, PledgeRevision.number)
    )
    return list(rows.all())


async def representatives_of(session: AsyncSession, unit_ids: list[int]) -> list[tuple[int, Person]]:
    """(unit id, person) for the active representatives of the units, by unit then name."""
    if not unit_ids:
        return []
    rows = await session.execute(_representatives_statement(), {"unit_ids": list(unit_ids)})
    return [(unit_id, person) for unit_id, person in rows.all()]


@functools.cache
def _representatives_statement() -> Select:
    """Built once: the signing board and every pledge's notices ask it."""
    return (
        select(RoleAssignment.unit_id, Person)
        .join(Person, Person.id == RoleAssignment.person_id)
        .where(
            RoleAssignment.unit_id.in_(bindparam("unit_ids", expanding=True)),
            RoleAssignment.role == "representative",
            RoleAssignment.active.is_(True),
        )
        .order_by(RoleAssignment.unit_id, Person.full_name, Person.id)
    )


async def people_with_role(session: AsyncSession, cluster_id: int, role: str) -> list[Person]:
    """Active holders of a unit-less role (admin, secretariat) in a cluster."""
    rows = await session.scalars(
        select(Person)
        .join(RoleAssignment, RoleAssignment.person_id == Person.id)
        .where(
            RoleAssignment.cluster_id == cluster_id,
            RoleAssignment.role == role,
            RoleAssignment.active.is_(True),
        )
        .order_by(Person.full_name, Person.id)
    )
    return list(dict.fromkeys(rows.all()))


async def active_units(session: AsyncSession, cluster_id: int) -> list[Unit]:
    rows = await session.scalars(
        select(Unit)
        .where(Unit.cluster_id == cluster_id, Unit.active.is_(True))
        .order_by(Unit.position, Unit.id)
    )
    return list(rows.all())


async def active_unit_names(session: AsyncSession, cluster_id: int) -> list[tuple[int, str]]:
    """(id, name) of the active units, in the cluster's order, as rows."""
    rows = await session.execute(
        select(Unit.id, Unit.name)
        .where(Unit.cluster_id == cluster_id, Unit.active.is_(True))
        .order_by(Unit.position, Unit.id)
    )
    return [(unit_id, name) for unit_id, name in rows.all()]


async def people_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Person]:
    if not ids:
        return {}
    rows = await session.scalars(select(Person).where(Person.id.in_(ids)))
    return {p.id: p for p in rows.all()}


async def units_by_id(session: AsyncSession, ids: list[int]) -> list[Unit]:
    """The units with these ids, in the order given, in one query."""
    if not ids:
        return []
    rows = await session.scalars(select(Unit).where(Unit.id.in_(ids)))
    found = {u.id: u for u in rows.all()}
    return [found[i] for i in ids if i in found]
