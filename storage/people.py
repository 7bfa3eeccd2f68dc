"""Queries about people and what they may do: the first thing every update needs.

These functions never commit: the caller's session is the update's unit of work, and it
decides when the whole update is done.
"""

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.conversation import note_no_steps
from storage.db import memo, racing_insert
from storage.models import (
    Cluster,
    ConversationState,
    EmulationYear,
    Person,
    Role,
    RoleAssignment,
    Unit,
    utcnow,
)

LAST_SEEN_PRECISION = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class RoleView:
    """One thing a person may do, flattened for the rule layer and for menus.

    ``is_chair_unit`` / ``is_vice_chair_unit`` come from the cluster's latest
    ``EmulationYear`` (highest ``year``): after a handover recorded on the new year, the new
    chair unit's representatives get the chair's powers at once.
    """

    cluster_id: int
    cluster_name: str
    role: Role
    unit_id: int | None
    unit_name: str | None
    is_chair_unit: bool
    is_vice_chair_unit: bool


async def person_by_telegram_id(session: AsyncSession, telegram_user_id: int) -> Person | None:
    """The person, their roles read in the same statement: every update asks for the person
    and nearly every one for their roles next (`roles_of` then answers from `memo`, until the
    transaction writes)."""
    rows = (await session.execute(_person_statement(), {"telegram_user_id": telegram_user_id})).all()
    if not rows:
        return None
    person = rows[0][0]
    note_no_steps(session, person.id, not rows[0][-1])
    # A role row of the outer join is absent (no role) or of an inactive unit: not a role.
    roles = [row[1:-2] for row in rows if row.role is not None and (row.unit_id is None or row[-2])]
    await memo(session, ("roles_of", person.id), _known(await _role_views(session, roles)))
    return person


@functools.cache
def _person_statement() -> Select:
    """Built once: every update asks it, and building a statement costs more than running it.
    The person left-joined to their active roles (`_with_roles`), then each role's unit's
    `active` (rows of inactive units are dropped by the caller: in SQL they would drop the
    person), last whether the person has any typed-input step (`note_no_steps`)."""
    has_steps = exists().where(ConversationState.person_id == Person.id)
    return (
        _with_roles(select(Person), outer=True)
        .add_columns(Unit.active, has_steps)
        .where(Person.telegram_user_id == bindparam("telegram_user_id"))
    )


async def upsert_person(
    session: AsyncSession,
    *,
    telegram_user_id: int,
    full_name: str,
    username: str | None,
    language_code: str | None,
) -> Person:
    """Record that this Telegram user was seen, creating them on first contact.

    Name, username and Telegram's language code are refreshed when they changed (users
    change them); ``locale`` (the explicit ``/lang`` choice) is left alone. ``last_seen_at``
    is kept to the hour (`LAST_SEEN_PRECISION`): rewriting it on every update made every
    update a write. Two updates from a
    new user arriving at once may both try to insert; the loser's insert runs in a savepoint,
    so it can fall back to updating the winner's row instead of failing the update.
    """
    now = utcnow()
    person = await person_by_telegram_id(session, telegram_user_id)
    if person is None:
        candidate = Person(
            telegram_user_id=telegram_user_id,
            full_name=full_name,
            username=username,
            language_code=language_code,
            created_at=now,
            last_seen_at=now,
        )
        try:
            async with racing_insert(session):
                session.add(candidate)
        except IntegrityError:
            person = await person_by_telegram_id(session, telegram_user_id)
            if person is None:  # the constraint that failed was not the one we expected
                raise
        else:
            return candidate
    changed = (person.full_name, person.username, person.language_code) != (full_name, username, language_code)
    if changed or now - person.last_seen_at >= LAST_SEEN_PRECISION:
        person.full_name = full_name
        person.username = username
        person.language_code = language_code
        person.last_seen_at = now
        await session.flush()
    return person


async def set_person_locale(session: AsyncSession, person: Person, locale: str | None) -> None:
    """Store the user's ``/lang`` choice; None returns them to Telegram's language."""
    person.locale = locale
    await session.flush()


async def cluster_by_chat(session: AsyncSession, chat_id: int) -> Cluster | None:
    """The cluster bound to a Telegram group, if any (read once per transaction)."""
    return await memo(session, ("cluster_by_chat", chat_id), lambda: session.scalar(
        select(Cluster).where(Cluster.telegram_chat_id == chat_id)))


async def roles_of(session: AsyncSession, person_id: int) -> list[RoleView]:
    """The person's active roles in every cluster, ordered by cluster, role, unit.

    A representative role of an inactive unit is left out: a unit that left the cluster no
    longer acts in it, even if nobody revoked its representatives. Read once per transaction
    until it writes (`storage.db.memo`): an update asks for them in several places.
    """
    return list(await memo(session, ("roles_of", person_id), lambda: _roles_of(session, person_id)))


@functools.cache
def _roles_statement() -> Select:
    """Built once (building a statement costs more than running it), with the person as a
    parameter."""
    return _with_roles(select(), outer=False).where(
        RoleAssignment.person_id == bindparam("person_id"),
        (RoleAssignment.unit_id.is_(None)) | Unit.active.is_(True),
    )


def _with_roles(statement: Select, *, outer: bool) -> Select:
    """`statement` with the role columns `_role_views` reads, in the roles' order. From the
    person (`outer`: a person without roles is one row of NULLs) or from the roles alone. The
    latest year is looked up per role's cluster (an index lookup), not over every cluster's
    years."""
    year = aliased(EmulationYear, name="current_year")
    later = aliased(EmulationYear, name="later_year")
    latest = (
        select(func.max(later.year)).where(later.cluster_id == RoleAssignment.cluster_id).scalar_subquery()
    )
    statement = statement.add_columns(
        RoleAssignment.cluster_id,
        Cluster.name,
        RoleAssignment.role,
        RoleAssignment.unit_id,
        Unit.name,
        year.chair_unit_id,
        year.vice_chair_unit_id,
        year.id,
    )
    if outer:
        statement = statement.outerjoin(
            RoleAssignment, and_(RoleAssignment.person_id == Person.id, RoleAssignment.active.is_(True))
        ).outerjoin(Cluster, Cluster.id == RoleAssignment.cluster_id)
    else:
        statement = statement.select_from(RoleAssignment).join(Cluster, Cluster.id == RoleAssignment.cluster_id).where(
            RoleAssignment.active.is_(True)
        )
    return (
        statement.outerjoin(Unit, Unit.id == RoleAssignment.unit_id)
        .outerjoin(year, and_(year.cluster_id == RoleAssignment.cluster_id, year.year == latest))
        .order_by(
            Cluster.name,
            Cluster.id,
            RoleAssignment.role,
            # Unit-less roles first on both backends (they sort NULLs differently).
            RoleAssignment.unit_id.is_not(None),
            Unit.position,
            Unit.id,
        )
    )


async def _roles_of(session: AsyncSession, person_id: int) -> tuple[RoleView, ...]:
    rows = (await session.execute(_roles_statement(), {"person_id": person_id})).all()
    return await _role_views(session, rows)


async def _role_views(session: AsyncSession, rows: Any) -> tuple[RoleView, ...]:
    for cluster_id, *_rest, year_id in rows:
        # The roles' query has found each cluster's current year: keep its id for the rest of
        # the transaction (`bot.services.clusters.current_year` asks for it next).
        await memo(session, (CURRENT_YEAR_ID, cluster_id), _known(year_id))
    return tuple(
        RoleView(
            cluster_id=cluster_id,
            cluster_name=cluster_name,
            role=role,
            unit_id=unit_id,
            unit_name=unit_name,
            is_chair_unit=unit_id is not None and unit_id == chair_id,
            is_vice_chair_unit=unit_id is not None and unit_id == vice_id,
        )
        for cluster_id, cluster_name, role, unit_id, unit_name, chair_id, vice_id, _year_id in rows
    )


CURRENT_YEAR_ID = "current_year_id"  # memo key with a cluster's id: its latest year's id, or None


def _known(value: Any) -> Callable[[], Awaitable[Any]]:
    async def load() -> Any:
        return value

    return load
