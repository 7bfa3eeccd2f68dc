"""Locked scoring tables kept between updates, as frozen copies.

Every press on a score sheet draws it against the year's table (its criteria, caps and kinds);
reading that table was a statement and ~0.7 ms of ORM loading per press. Once locked (scoring
has opened) a table no longer changes: its criteria cannot be edited, and the only way back,
`bot.services.tables.unlock_table`, clears `locked_at` before anything can change. So a locked
table is kept here keyed by its id *and* its `locked_at`: the sheet's own statement reads both
(`storage.in_context`), and a table locked again after an unlock has a new `locked_at`, so a
stale copy is never found. Nothing is kept for an unlocked table.

The copies are plain frozen dataclasses, not ORM objects: they belong to no session, so two
updates at once may share one, and writing to one is an error instead of a lost change. They
are per engine (two databases in one process, as in the tests, never share a copy), and only
the most recent `LIMIT` are kept.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CriterionKind, ScoringTable

LIMIT = 4096  # tables: a ministry's clusters for a few years; a copy is a few kB

_COPIES: weakref.WeakKeyDictionary[Engine, OrderedDict[tuple[int, dt.datetime], LockedTable]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True, slots=True)
class LockedCriterion:
    """A `Criterion` of a locked table: the same attribute names, read-only."""

    id: int
    table_id: int
    group_name: str
    code: str
    text: str
    max_points: Decimal
    kind: CriterionKind
    position: int


@dataclass(frozen=True, slots=True)
class LockedTable:
    """A locked `ScoringTable` with its criteria in order: the same attribute names, read-only."""

    id: int
    year_id: int
    normal_total: Decimal
    bonus_cap: Decimal
    locked_at: dt.datetime
    criteria: tuple[LockedCriterion, ...]


def _engine(session: AsyncSession) -> Engine:
    return session.sync_session.get_bind()


def copy_of(table: ScoringTable) -> LockedTable:
    assert table.locked_at is not None, "only a locked table is kept"
    return LockedTable(
        table.id, table.year_id, table.normal_total, table.bonus_cap, table.locked_at,
        tuple(
            LockedCriterion(c.id, c.table_id, c.group_name, c.code, c.text, c.max_points, c.kind, c.position)
            for c in table.criteria
        ),
    )  # fmt: skip


def kept(session: AsyncSession, table_id: int, locked_at: dt.datetime) -> LockedTable | None:
    """The copy of this table as locked at `locked_at`, if one is kept for the session's
    database. (`locked_at` is aware UTC from either database: `storage.models.base.UTCDateTime`.)"""
    copies = _COPIES.get(_engine(session))
    found = copies.get((table_id, locked_at)) if copies is not None else None
    if found is not None:
        copies.move_to_end((table_id, locked_at))
    return found


def keep(session: AsyncSession, table: ScoringTable) -> LockedTable:
    """Keep (and return) a copy of this locked table for the session's database."""
    copy = copy_of(table)
    copies = _COPIES.setdefault(_engine(session), OrderedDict())
    copies[(copy.id, copy.locked_at)] = copy
    copies.move_to_end((copy.id, copy.locked_at))
    while len(copies) > LIMIT:
        copies.popitem(last=False)
    return copy
