"""Queries for score sheets, their entries, evidence and adjustments.

Like every query module these never commit: the update's session is the unit of work. Sums
are not done in SQL (SQLite's SUM works on floats): callers add `Decimal`s in Python
(`bot.scoring`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import Row, Select, bindparam, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import racing_insert
from storage.in_context import in_context
from storage.models import (
    Adjustment,
    Criterion,
    Evidence,
    Person,
    RoleAssignment,
    ScoreEntry,
    ScoreRound,
    ScoreSheet,
    SheetStatus,
    Unit,
)


async def sheet_in_context(session: AsyncSession, sheet_id: int) -> ScoreSheet | None:
    """The sheet with its year (and the year's phases), unit and cluster, in one statement
    (`storage.in_context`); its entries follow in a statement of their own."""
    return await in_context(session, ScoreSheet, sheet_id)


async def sheet_of(
    session: AsyncSession, year_id: int, unit_id: int, round_: ScoreRound = ScoreRound.YEAREND
) -> ScoreSheet | None:
    return await session.scalar(
        select(ScoreSheet).where(
            ScoreSheet.year_id == year_id, ScoreSheet.unit_id == unit_id, ScoreSheet.round == round_
        )
    )


async def ensure_sheet(
    session: AsyncSession, year_id: int, unit_id: int, round_: ScoreRound = ScoreRound.YEAREND
) -> ScoreSheet:
    """The unit's sheet for the round, created (empty, a draft) on first use. Two
    representatives opening it at once: one insert wins, the other reads it."""
    sheet = await sheet_of(session, year_id, unit_id, round_)
    if sheet is not None:
        return sheet
    sheet = ScoreSheet(year_id=year_id, unit_id=unit_id, round=round_, entries=[])
    try:
        async with racing_insert(session):
            session.add(sheet)
    except IntegrityError:
        sheet = await sheet_of(session, year_id, unit_id, round_)
        if sheet is None:
            raise
    return sheet


async def sheets_of_year(
    session: AsyncSession, year_id: int, round_: ScoreRound = ScoreRound.YEAREND
) -> list[ScoreSheet]:
    return list(
        (
            await session.scalars(
                select(ScoreSheet)
                .where(ScoreSheet.year_id == year_id, ScoreSheet.round == round_)
                .order_by(ScoreSheet.id)
            )
        ).all()
    )


async def sheet_ids_verified_by(
    session: AsyncSession, year_id: int, round_: ScoreRound, statuses: Iterable[SheetStatus],
    unit_ids: Iterable[int],
) -> list[int]:
    """The year's sheets in `statuses` assigned to one of `unit_ids` for verification, not of
    those units themselves, in the units' order (position, id): ids only, so that a long list
    (the chair's, when the chair verifies) reads only the page it shows (`verification_progress`)."""
    units = list(unit_ids)
    if not units:
        return []
    found = await session.scalars(_verified_by_statement(), {"year_id": year_id, "round": round_,
                                                            "statuses": list(statuses), "units": units})  # fmt: skip
    return list(found.all())


@functools.cache
def _verified_by_statement() -> Select:
    """Built once: a verifier's list asks it on every page."""
    units = bindparam("units", expanding=True)
    return (
        select(ScoreSheet.id)
        .join(Unit, Unit.id == ScoreSheet.unit_id)
        .where(ScoreSheet.year_id == bindparam("year_id"), ScoreSheet.round == bindparam("round"),
               ScoreSheet.status.in_(bindparam("statuses", expanding=True)), ScoreSheet.verifier_unit_id.in_(units),
               ScoreSheet.unit_id.not_in(units))
        .order_by(Unit.position, Unit.id)
    )  # fmt: skip


async def verification_progress(session: AsyncSession, sheet_ids: Iterable[int], table_id: int) -> list[Row]:
    """For each of these sheets, in the order given: `id, version, status, unit_id,
    verifier_unit_id, unit_name, verified` — `verified` counting its entries for the table's
    criteria that have a verified value (`bot.scoring.verified_count` over the sheet's lines).
    A verifier's list draws these; no sheet and none of its entries is loaded as objects."""
    ids = list(sheet_ids)
    if not ids:
        return []
    rows = await session.execute(_progress_statement(), {"ids": ids, "table_id": table_id})
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


@functools.cache
def _progress_statement() -> Select:
    """Built once: every line of a verifier's list comes from it."""
    verified = (
        select(func.count(ScoreEntry.id))
        .join(Criterion, Criterion.id == ScoreEntry.criterion_id)
        .where(ScoreEntry.sheet_id == ScoreSheet.id, ScoreEntry.verified_value.is_not(None),
               Criterion.table_id == bindparam("table_id"))
        .scalar_subquery()
    )  # fmt: skip
    return (
        select(ScoreSheet.id, ScoreSheet.version, ScoreSheet.status, ScoreSheet.unit_id,
               ScoreSheet.verifier_unit_id, Unit.name.label("unit_name"), verified.label("verified"))
        .join(Unit, Unit.id == ScoreSheet.unit_id)
        .where(ScoreSheet.id.in_(bindparam("ids", expanding=True)))
    )  # fmt: skip


async def sheets_with_open_explanations(
    session: AsyncSession, year_id: int, round_: ScoreRound = ScoreRound.YEAREND
) -> list[ScoreSheet]:
    """The year's sheets with an explained adjustment not yet decided, by id: the only ones
    that can hold a dispute to decide (whether that adjustment still stands is the caller's
    rule, `bot.services.verification.live_adjustment`)."""
    found = await session.scalars(_open_explanations_statement(), {"year_id": year_id, "round": round_})
    return list(found.all())


@functools.cache
def _open_explanations_statement() -> Select:
    """Built once: every verification press asks it."""
    explained = (
        select(Adjustment.id)
        .join(ScoreEntry, ScoreEntry.id == Adjustment.entry_id)
        .where(ScoreEntry.sheet_id == ScoreSheet.id, Adjustment.explanation.is_not(None),
               Adjustment.decided_value.is_(None))
    )  # fmt: skip
    return (
        select(ScoreSheet)
        .where(ScoreSheet.year_id == bindparam("year_id"), ScoreSheet.round == bindparam("round"), exists(explained))
        .order_by(ScoreSheet.id)
    )


async def unassigned_sheet_exists(
    session: AsyncSession, year_id: int, round_: ScoreRound, statuses: Iterable[SheetStatus]
) -> bool:
    """Whether a sheet of the year in one of `statuses` still has no verifying unit."""
    found = await session.scalar(_unassigned_statement(), {"year_id": year_id, "round": round_,
                                                           "statuses": list(statuses)})  # fmt: skip
    return found is not None


@functools.cache
def _unassigned_statement() -> Select:
    """Built once: every verification press asks it."""
    return (
        select(ScoreSheet.id)
        .where(ScoreSheet.year_id == bindparam("year_id"), ScoreSheet.round == bindparam("round"),
               ScoreSheet.status.in_(bindparam("statuses", expanding=True)), ScoreSheet.verifier_unit_id.is_(None))
        .limit(1)
    )  # fmt: skip


async def entry_of(session: AsyncSession, entry_id: int) -> ScoreEntry | None:
    return await session.get(ScoreEntry, entry_id)


async def evidence_of(session: AsyncSession, evidence_id: int) -> tuple[Evidence, ScoreEntry] | None:
    evidence = await session.get(Evidence, evidence_id)
    if evidence is None:
        return None
    entry = await session.get(ScoreEntry, evidence.entry_id)
    return (evidence, entry) if entry is not None else None


async def adjustment_of(session: AsyncSession, adjustment_id: int) -> tuple[Adjustment, ScoreEntry, ScoreSheet] | None:
    adjustment = await session.get(Adjustment, adjustment_id)
    if adjustment is None:
        return None
    entry = await session.get(ScoreEntry, adjustment.entry_id)
    sheet = await session.get(ScoreSheet, entry.sheet_id) if entry is not None else None
    return (adjustment, entry, sheet) if sheet is not None else None


async def verification_started(session: AsyncSession, year_id: int) -> bool:
    """Whether any sheet of the year has a verified value (accepted or adjusted)."""
    return bool(
        await session.scalar(
            select(
                exists().where(
                    ScoreEntry.sheet_id == ScoreSheet.id,
                    ScoreSheet.year_id == year_id,
                    ScoreEntry.verified_value.is_not(None),
                )
            )
        )
    )


async def sheet_verified_anything(session: AsyncSession, sheet_id: int) -> bool:
    return bool(
        await session.scalar(
            select(exists().where(ScoreEntry.sheet_id == sheet_id, ScoreEntry.verified_value.is_not(None)))
        )
    )


async def representatives_of(session: AsyncSession, unit_ids: list[int] | set[int]) -> list[Person]:
    """The active representatives of these (active) units, each person once, in id order:
    whom a notice about the units' sheets goes to (`bot.services.notify.to_people`)."""
    if not unit_ids:
        return []
    people = await session.scalars(
        select(Person)
        .join(RoleAssignment, RoleAssignment.person_id == Person.id)
        .join(Unit, Unit.id == RoleAssignment.unit_id)
        .where(
            RoleAssignment.unit_id.in_(list(unit_ids)),
            RoleAssignment.role == "representative",
            RoleAssignment.active.is_(True),
            Unit.active.is_(True),
        )
        .order_by(Person.id)
    )
    return list({person.id: person for person in people.all()}.values())
