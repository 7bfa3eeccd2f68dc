"""A row a button names, loaded in one statement with the rows every press on it needs next:
its year with the year's phases, the year's cluster and (for a unit's row) its unit. Each
`session.get` of those afterwards is free: they are in the session. Sheets, pledges and
ballots are read this way.
"""

from __future__ import annotations

import functools
from typing import TypeVar

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from storage.models import Ballot, Cluster, EmulationYear, Pledge, ScoreSheet, Unit

T = TypeVar("T", ScoreSheet, Pledge, Ballot)


async def in_context(session: AsyncSession, model: type[T], row_id: int) -> T | None:
    """The row with its year, cluster and unit (when it has one); one already in the session
    is not read again. None when there is no such row."""
    sync = session.sync_session
    loaded = sync.identity_map.get(sync.identity_key(model, row_id))
    if loaded is not None:
        return loaded
    row = (await session.execute(_statement(model), {"row_id": row_id})).unique().first()
    return row[0] if row is not None else None


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
    # The year's phases joined too (their `selectin` default would be a statement of its own):
    # every press checks the phase it acts in.
    return statement.where(model.id == bindparam("row_id")).options(joinedload(EmulationYear.phases))
