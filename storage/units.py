"""Queries about units and the people who act for them."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.in_context import held
from storage.models import Cluster, Invite, Person, RoleAssignment, Unit


async def units_of(session: AsyncSession, cluster_id: int, *, active_only: bool = False) -> list[Unit]:
    return list((await session.scalars(_units_statement(active_only), {"cluster_id": cluster_id})).all())


@functools.cache
def _units_statement(active_only: bool) -> Select:
    """Built once for each `active_only`: many updates list the cluster's units."""
    statement = select(Unit).where(Unit.cluster_id == bindparam("cluster_id"))
    if active_only:
        statement = statement.where(Unit.active.is_(True))
    return statement.order_by(Unit.position, Unit.id)


async def active_unit_count(session: AsyncSession, cluster_id: int) -> int:
    """How many units of the cluster are active, counted in the database."""
    return await session.scalar(
        select(func.count()).select_from(Unit).where(Unit.cluster_id == cluster_id, Unit.active.is_(True))
    ) or 0


async def unit_in_cluster(session: AsyncSession, cluster_id: int, unit_id: int) -> Unit | None:
    unit = await session.get(Unit, unit_id)
    return unit if unit is not None and unit.cluster_id == cluster_id else None


async def next_position(session: AsyncSession, cluster_id: int) -> int:
    top = await session.scalar(select(func.max(Unit.position)).where(Unit.cluster_id == cluster_id))
    return (top or 0) + 1


@dataclass(frozen=True)
class Member:
    role: str
    unit_id: int | None
    person_id: int
    full_name: str
    username: str | None


async def members_of(session: AsyncSession, cluster_id: int) -> list[Member]:
    """Active role holders of a cluster, by role then unit."""
    rows = await session.execute(
        select(RoleAssignment.role, RoleAssignment.unit_id, Person.id, Person.full_name, Person.username)
        .join(Person, Person.id == RoleAssignment.person_id)
        .where(RoleAssignment.cluster_id == cluster_id, RoleAssignment.active.is_(True))
        .order_by(RoleAssignment.role, RoleAssignment.unit_id, Person.full_name)
    )
    return [Member(*row) for row in rows.all()]


async def active_representatives(session: AsyncSession, unit_id: int) -> int:
    return await session.scalar(
        select(func.count())
        .select_from(RoleAssignment)
        .where(
            RoleAssignment.unit_id == unit_id,
            RoleAssignment.role == "representative",
            RoleAssignment.active.is_(True),
        )
    ) or 0


async def invite_by_hash(session: AsyncSession, token_hash: str) -> Invite | None:
    """The invite of a link, with its cluster and unit (`invite_by_id`)."""
    return await _invite_with_context(session, _invite_statement("token_hash"), {"key": token_hash})


async def invite_by_id(session: AsyncSession, invite_id: int) -> Invite | None:
    """The invite with its cluster and (for a representative's) its unit in one statement:
    opening and accepting a link read both next (`session.get` of them is then free). One
    the session holds already (not expired) is returned as it is."""
    return held(session, Invite, invite_id) or await _invite_with_context(session, _invite_statement("id"), {"key": invite_id})


async def _invite_with_context(session: AsyncSession, statement: Select, parameters: dict) -> Invite | None:
    row = (await session.execute(statement, parameters)).first()
    return row[0] if row is not None else None


@functools.cache
def _invite_statement(by: str) -> Select:
    """Built once per key (`id` or `token_hash`)."""
    return (
        select(Invite, Cluster, Unit)
        .join(Cluster, Cluster.id == Invite.cluster_id)
        .outerjoin(Unit, Unit.id == Invite.unit_id)
        .where(getattr(Invite, by) == bindparam("key"))
    )


async def role_row(
    session: AsyncSession, cluster_id: int, person_id: int, role: str, unit_id: int | None
) -> RoleAssignment | None:
    stmt = select(RoleAssignment).where(
        RoleAssignment.cluster_id == cluster_id,
        RoleAssignment.person_id == person_id,
        RoleAssignment.role == role,
    )
    stmt = stmt.where(RoleAssignment.unit_id.is_(None) if unit_id is None else RoleAssignment.unit_id == unit_id)
    return await session.scalar(stmt)
