"""Queries about people and what they may do: the first thing every update needs.

These functions never commit: the caller's session is the update's unit of work, and it
decides when the whole update is done.
"""

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Cluster, EmulationYear, Person, Role, RoleAssignment, Unit, utcnow


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
    return await session.scalar(select(Person).where(Person.telegram_user_id == telegram_user_id))


async def upsert_person(
    session: AsyncSession,
    *,
    telegram_user_id: int,
    full_name: str,
    username: str | None,
    language_code: str | None,
) -> Person:
    """Record that this Telegram user was seen, creating them on first contact.

    Name, username and Telegram's language code are refreshed every time because users
    change them; ``locale`` (the explicit ``/lang`` choice) is left alone. Two updates from a
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
            async with session.begin_nested():
                session.add(candidate)
        except IntegrityError:
            person = await person_by_telegram_id(session, telegram_user_id)
            if person is None:  # the constraint that failed was not the one we expected
                raise
        else:
            return candidate
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
    """The cluster bound to a Telegram group, if any."""
    return await session.scalar(select(Cluster).where(Cluster.telegram_chat_id == chat_id))


async def roles_of(session: AsyncSession, person_id: int) -> list[RoleView]:
    """The person's active roles in every cluster, ordered by cluster, role, unit.

    A representative role of an inactive unit is left out: a unit that left the cluster no
    longer acts in it, even if nobody revoked its representatives.
    """
    latest = (
        select(EmulationYear.cluster_id, func.max(EmulationYear.year).label("year"))
        .group_by(EmulationYear.cluster_id)
        .subquery("latest_year")
    )
    year = aliased(EmulationYear, name="current_year")
    stmt = (
        select(
            RoleAssignment.cluster_id,
            Cluster.name,
            RoleAssignment.role,
            RoleAssignment.unit_id,
            Unit.name,
            year.chair_unit_id,
            year.vice_chair_unit_id,
        )
        .join(Cluster, Cluster.id == RoleAssignment.cluster_id)
        .outerjoin(Unit, Unit.id == RoleAssignment.unit_id)
        .outerjoin(latest, latest.c.cluster_id == RoleAssignment.cluster_id)
        .outerjoin(year, and_(year.cluster_id == latest.c.cluster_id, year.year == latest.c.year))
        .where(
            RoleAssignment.person_id == person_id,
            RoleAssignment.active.is_(True),
            (RoleAssignment.unit_id.is_(None)) | Unit.active.is_(True),
        )
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
    rows = (await session.execute(stmt)).all()
    return [
        RoleView(
            cluster_id=cluster_id,
            cluster_name=cluster_name,
            role=role,
            unit_id=unit_id,
            unit_name=unit_name,
            is_chair_unit=unit_id is not None and unit_id == chair_id,
            is_vice_chair_unit=unit_id is not None and unit_id == vice_id,
        )
        for cluster_id, cluster_name, role, unit_id, unit_name, chair_id, vice_id in rows
    ]
