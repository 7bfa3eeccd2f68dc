"""Ballot queries: the register, the papers, and the rewrite that keeps papers unordered.

Read `storage/models/ballot.py` first: the register (who voted) and the papers (what was
marked) share no column. Two more things would link them if left alone, and `rewrite_papers`
takes both away: the order rows were written in, and — on PostgreSQL — the id of the
transaction that wrote them (`xmin`: a paper inserted in the same transaction as its unit's
register row carries the same number). Every cast and the close rewrite *all* of the ballot's
papers and marks as new rows with new random keys, inserted in random order; so every paper
of a ballot carries the latest writer's transaction id, and the heap or B-tree order says
nothing about who voted first.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable

from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Ballot,
    BallotCandidate,
    BallotMark,
    BallotPaper,
    BallotStatus,
    VoterRegister,
)
from storage.models.ballot import random_key

_shuffle = random.SystemRandom().shuffle


async def lock_ballot(session: AsyncSession, ballot_id: int) -> Ballot | None:
    """The ballot, locked for this transaction (casts and the close of one ballot queue up)."""
    return await session.scalar(
        select(Ballot).where(Ballot.id == ballot_id).with_for_update().execution_options(populate_existing=True)
    )


async def candidates(session: AsyncSession, ballot_id: int) -> list[int]:
    return list(await session.scalars(
        select(BallotCandidate.unit_id).where(BallotCandidate.ballot_id == ballot_id)
        .order_by(BallotCandidate.position, BallotCandidate.id)
    ))  # fmt: skip


async def has_voted(session: AsyncSession, ballot_id: int, unit_id: int) -> bool:
    return bool(await session.scalar(_has_voted_statement(), {"ballot_id": ballot_id, "unit_id": unit_id}))


@functools.cache
def _has_voted_statement() -> Select:
    """Built once: every vote press asks it."""
    return (
        select(func.count()).select_from(VoterRegister)
        .where(VoterRegister.ballot_id == bindparam("ballot_id"), VoterRegister.unit_id == bindparam("unit_id"),
               VoterRegister.cast_at.is_not(None))
    )  # fmt: skip


async def voted_units(session: AsyncSession, ballot_id: int) -> set[int]:
    return set(await session.scalars(
        select(VoterRegister.unit_id).where(VoterRegister.ballot_id == ballot_id, VoterRegister.cast_at.is_not(None))
    ))  # fmt: skip


async def cast_count(session: AsyncSession, ballot_id: int) -> int:
    """How many units have cast a paper on the ballot (the register's count, never the papers')."""
    return await session.scalar(
        select(func.count()).select_from(VoterRegister)
        .where(VoterRegister.ballot_id == ballot_id, VoterRegister.cast_at.is_not(None))
    ) or 0  # fmt: skip


async def cast_counts(session: AsyncSession, ballot_ids: list[int]) -> dict[int, int]:
    """Per ballot, how many units have cast (as `cast_count`), for several ballots in one
    statement; a ballot nobody cast on is 0."""
    if not ballot_ids:
        return {}
    rows = await session.execute(
        select(VoterRegister.ballot_id, func.count())
        .where(VoterRegister.ballot_id.in_(ballot_ids), VoterRegister.cast_at.is_not(None))
        .group_by(VoterRegister.ballot_id)
    )
    found = dict(rows.all())
    return {ballot_id: found.get(ballot_id, 0) for ballot_id in ballot_ids}


async def voted_among(session: AsyncSession, ballot_ids: list[int], unit_ids: Iterable[int]) -> set[tuple[int, int]]:
    """(ballot, unit) for those of `unit_ids` (a representative's few) that have cast on
    `ballot_ids`: the register only, found by its (ballot, unit) key, so the rows read do not
    grow with the units that voted."""
    unit_ids = list(unit_ids)
    if not ballot_ids or not unit_ids:
        return set()
    rows = await session.execute(
        select(VoterRegister.ballot_id, VoterRegister.unit_id).where(
            VoterRegister.ballot_id.in_(ballot_ids), VoterRegister.unit_id.in_(unit_ids),
            VoterRegister.cast_at.is_not(None),
        )
    )  # fmt: skip
    return {(ballot_id, unit_id) for ballot_id, unit_id in rows.all()}


async def trackers(session: AsyncSession, ballot_id: int) -> set[str]:
    return set(await session.scalars(select(BallotPaper.tracker).where(BallotPaper.ballot_id == ballot_id)))


async def papers(session: AsyncSession, ballot_id: int) -> list[tuple[str, list[int]]]:
    """Every paper of the ballot as (tracker, marked candidates), in no particular order."""
    rows = await session.execute(
        select(BallotPaper.tracker, BallotMark.candidate_unit_id)
        .outerjoin(BallotMark, BallotMark.paper_id == BallotPaper.id)
        .where(BallotPaper.ballot_id == ballot_id)
    )
    found: dict[str, list[int]] = {}
    for tracker, candidate in rows.all():
        found.setdefault(tracker, [])
        if candidate is not None:
            found[tracker].append(candidate)
    return list(found.items())


async def rewrite_papers(session: AsyncSession, ballot_id: int,
                         new: Iterable[tuple[str, Iterable[int]]] = ()) -> None:  # fmt: skip
    """Replace the ballot's papers (and `new` ones) by fresh rows: new random keys, random
    insertion order. See the module docstring for why."""
    everything = await papers(session, ballot_id) + [(t, list(c)) for t, c in new]
    await session.execute(
        delete(BallotMark).where(BallotMark.paper_id.in_(select(BallotPaper.id).where(BallotPaper.ballot_id == ballot_id)))
    )
    await session.execute(delete(BallotPaper).where(BallotPaper.ballot_id == ballot_id))
    _shuffle(everything)
    paper_rows, mark_rows = [], []
    for tracker, marked in everything:
        paper_id = random_key()
        paper_rows.append({"id": paper_id, "ballot_id": ballot_id, "tracker": tracker})
        mark_rows.extend({"id": random_key(), "paper_id": paper_id, "candidate_unit_id": c} for c in marked)
    _shuffle(mark_rows)
    if paper_rows:
        await session.execute(BallotPaper.__table__.insert(), paper_rows)
    if mark_rows:
        await session.execute(BallotMark.__table__.insert(), mark_rows)


def fresh_tracker(taken: set[str], make) -> str:
    while True:
        tracker = make()
        if tracker not in taken:
            return tracker


async def open_ballots(session: AsyncSession, year_id: int) -> list[Ballot]:
    return list(await session.scalars(
        select(Ballot).where(Ballot.year_id == year_id, Ballot.status == BallotStatus.OPEN).order_by(Ballot.id)
    ))  # fmt: skip

