"""A row a button names, loaded in one statement with the rows every press on it needs next:
its year with the year's phases, the year's cluster and (for a unit's row) its unit. Each
`session.get` of those afterwards is free: they are in the session. Sheets, pledges and
ballots are read this way.

The row's own collection (a sheet's entries, a pledge's items, a ballot's candidates) follows
in a second statement, a plain `SELECT … WHERE parent = ?` set on the row as loaded, instead
of the collection's `selectin` default: SQLAlchemy's selectin loader costs about three times
the same query run directly (1.7 against 0.5 ms for a 10-entry sheet, measured), and every
press on a sheet pays it. Joining the collection into the first statement is slower still
(its rows multiply with the phases').

A sheet's statement also reads its year's scoring table's id and `locked_at` (`TABLE_STAMP`),
so a locked table kept from an earlier update is used without reading it again
(`storage.locked_tables`).
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, raiseload
from sqlalchemy.orm.attributes import set_committed_value

from storage.db import remember
from storage.models import Ballot, Cluster, EmulationYear, Pledge, ScoreSheet, ScoringTable, Unit

T = TypeVar("T", ScoreSheet, Pledge, Ballot)

# The collection each kind of row brings along.
_COLLECTION: dict[type, Any] = {ScoreSheet: ScoreSheet.entries, Pledge: Pledge.items, Ballot: Ballot.candidates}
TABLE_STAMP = "table_stamp"  # memo key with a year's id: (its table's id, locked_at), or None


def held(session: AsyncSession, model: type, row_id: int) -> Any:
    """The row as this session holds it, none of its attributes expired (so nothing of it
    would be loaded lazily), or None: the loaders here then read it with its context."""
    sync = session.sync_session
    loaded = sync.identity_map.get(sync.identity_key(model, row_id))
    return loaded if loaded is not None and not inspect(loaded).expired_attributes else None


async def in_context(session: AsyncSession, model: type[T], row_id: int) -> T | None:
    """The row with its year, cluster and unit (when it has one) and its collection; one
    already in the session (and not expired) is not read again. None when there is no such row."""
    loaded = held(session, model, row_id)
    if loaded is not None:
        return loaded  # an expired one (a rollback, an `expire`) is read again below
    found = (await session.execute(_statement(model), {"row_id": row_id})).unique().first()
    if found is None:
        return None
    row = found[0]
    if model is ScoreSheet:
        table_id, locked_at = found[-2:]
        remember(session, (TABLE_STAMP, row.year_id), (table_id, locked_at) if table_id is not None else None)
    children = (await session.execute(_children_statement(model), {"row_id": row_id})).unique().scalars().all()
    set_committed_value(row, _COLLECTION[model].key, list(children))
    return row


async def year_in_context(session: AsyncSession, year_id: int) -> EmulationYear | None:
    """The year with its phases and its cluster in one statement (a `get` reads the phases in
    a statement of their own, and the cluster is nearly always asked next); one the session
    holds (not expired) is returned as it is."""
    loaded = held(session, EmulationYear, year_id)
    if loaded is not None:
        return loaded
    found = (await session.execute(_year_statement(), {"year_id": year_id})).unique().first()
    return found[0] if found is not None else None


@functools.cache
def _year_statement() -> Select:
    """Built once: most commands ask for their cluster's current year."""
    return (
        select(EmulationYear, Cluster)
        .join(Cluster, Cluster.id == EmulationYear.cluster_id)
        .where(EmulationYear.id == bindparam("year_id"))
        .options(joinedload(EmulationYear.phases))
    )


@functools.cache
def _statement(model: type) -> Select:
    """Built once per kind of row: every press on one asks it."""
    with_unit = hasattr(model, "unit_id")
    columns = [model, EmulationYear, Cluster] + ([Unit] if with_unit else [])
    statement = (
        select(*columns)
        .join(EmulationYear, EmulationYear.id == model.year_id)
        .join(Cluster, Cluster.id == EmulationYear.cluster_id)
    )
    if with_unit:
        statement = statement.join(Unit, Unit.id == model.unit_id)
    if model is ScoreSheet:
        statement = statement.add_columns(ScoringTable.id, ScoringTable.locked_at).outerjoin(
            ScoringTable, ScoringTable.year_id == EmulationYear.id
        )
    # The year's phases joined too (their `selectin` default would be a statement of its own):
    # every press checks the phase it acts in. The row's collection is not loaded here: it is
    # `_children_statement`'s.
    return statement.where(model.id == bindparam("row_id")).options(
        joinedload(EmulationYear.phases), _not_in_this_statement(_COLLECTION[model])
    )


def _not_in_this_statement(collection: Any) -> Any:
    """`raiseload` for this statement only. By default SQLAlchemy keeps a statement's loader
    options on each row it loads and applies them again whenever it reloads that row (a
    `refresh`, a `get` after an expiry): the collection would then raise where its `selectin`
    default loads it. Not propagated, the row is reloaded the way the model says."""
    option = raiseload(collection)
    option.propagate_to_loaders = False
    return option


@functools.cache
def _children_statement(model: type) -> Select:
    """The row's collection in the relationship's own order, with the children's own eager
    loads (an entry's files and adjustments are joined)."""
    relationship = _COLLECTION[model].property
    ((_parent_column, child_column),) = relationship.synchronize_pairs
    return (
        select(relationship.mapper.class_)
        .where(child_column == bindparam("row_id"))
        .order_by(*relationship.order_by)
    )
