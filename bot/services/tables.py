"""The year's scoring table: the default on first use, replacing it from a file, locking it.

A year has one `ScoringTable`. It is created from `bot.scoring_table.DEFAULT_TABLE` the first
time anyone needs it, may be replaced by the administrator or the secretariat until scoring
opens, and is locked (`locked_at`) by `lock_table` when the scoring phase opens: score sheets
point at its criteria from then on.

**Replacing from a file** takes the file's bytes (`replace_from_file`): the handler downloads
them from Telegram before the update's unit of work opens (`upload_awaited` tells it whether the
person's next file is awaited as a table), so no transaction waits on Telegram.
"""

from __future__ import annotations

import asyncio
import functools
from decimal import Decimal, InvalidOperation
from pathlib import PurePath

from sqlalchemy import Select, bindparam, delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.scoring_table import (
    DEFAULT_NORMAL_TOTAL,
    DEFAULT_TABLE,
    CriterionSpec,
    TableSpec,
    parse_file,
)
from bot.services.actors import Actor
from bot.services.audit import record
from storage import locked_tables
from storage.conversation import get_state
from storage.db import Database, memo, racing_insert, recall
from storage.in_context import TABLE_STAMP
from storage.models import (
    Cluster,
    Criterion,
    CriterionKind,
    EmulationYear,
    Phase,
    PhaseKind,
    ScoreEntry,
    ScoringTable,
    utcnow,
)
from storage.people import person_by_telegram_id

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
ACCEPTED_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".txt", ".xls")
NORMAL_TOTAL_SETTING = "normal_total"  # Cluster.settings key: a file's total when it gives none
_LOCKING_PHASES = tuple(k for k in PhaseKind if k >= PhaseKind.SCORING)


def default_normal_total(cluster: Cluster) -> Decimal:
    """The total the normal criteria of an uploaded file must reach when the file declares
    none (no line of kind `tổng`): the cluster's `normal_total` setting, else 100."""
    raw = (cluster.settings or {}).get(NORMAL_TOTAL_SETTING)
    try:
        value = Decimal(str(raw)) if raw is not None else DEFAULT_NORMAL_TOTAL
    except InvalidOperation:
        return DEFAULT_NORMAL_TOTAL
    return value if value.is_finite() and value > 0 else DEFAULT_NORMAL_TOTAL


async def current_table(session: AsyncSession, year_id: int) -> ScoringTable | None:
    """The year's table with its criteria (in order), or None before first use; read once per
    transaction until it writes (`storage.db.memo`)."""
    return await memo(session, ("current_table", year_id), lambda: _load_table(session, year_id))


async def _load_table(session: AsyncSession, year_id: int) -> ScoringTable | None:
    result = await session.execute(_table_statement(), {"year_id": year_id})
    return result.unique().scalar_one_or_none()  # one table a year (a unique key)


@functools.cache
def _table_statement() -> Select:
    """Built once: every score and verification press asks it. The criteria come joined, in
    the same statement (their `selectin` default would be a second one)."""
    return (
        select(ScoringTable)
        .where(ScoringTable.year_id == bindparam("year_id"))
        .options(joinedload(ScoringTable.criteria))
    )


async def ensure_default_table(session: AsyncSession, year_id: int) -> ScoringTable:
    """The year's table, created from the default table the first time it is needed."""
    table = await current_table(session, year_id)
    if table is not None:
        return table
    table = ScoringTable(
        year_id=year_id,
        normal_total=DEFAULT_TABLE.normal_total,
        bonus_cap=DEFAULT_TABLE.bonus_cap,
        criteria=_criteria(DEFAULT_TABLE),
    )
    try:
        async with racing_insert(session):  # two first views at once: one insert wins
            session.add(table)
    except IntegrityError:
        table = await current_table(session, year_id)
        if table is None:
            raise
    return table


async def table_to_read(session: AsyncSession, year_id: int) -> ScoringTable | locked_tables.LockedTable:
    """The year's table for drawing and checking sheets, never for changing the table: once
    locked, a read-only copy kept between updates (`storage.locked_tables`), found without a
    statement when the sheet's own statement read the table's stamp."""
    stamp = recall(session, (TABLE_STAMP, year_id))
    if stamp is not None and stamp[1] is not None:
        copy = locked_tables.kept(session, *stamp)
        if copy is not None:
            return copy
    table = await ensure_default_table(session, year_id)
    return locked_tables.keep(session, table) if table.locked_at is not None else table


def check_can_view(actor: Actor) -> None:
    """Everyone with a role in the cluster may see and download its table."""
    actor.require(Action.VIEW_TABLE)


def spec_of(table: ScoringTable) -> TableSpec:
    """The stored table as plain data (for rendering and export)."""
    return TableSpec(
        criteria=tuple(
            CriterionSpec(c.group_name, c.code, c.text, c.max_points, str(c.kind))
            for c in table.criteria
        ),
        normal_total=table.normal_total,
        bonus_cap=table.bonus_cap,
    )


def _criteria(spec: TableSpec) -> list[Criterion]:
    return [
        Criterion(
            group_name=c.group, code=c.code, text=c.text, max_points=c.max_points,
            kind=CriterionKind(c.kind), position=i,
        )
        for i, c in enumerate(spec.criteria)
    ]  # fmt: skip


async def scoring_opened(session: AsyncSession, year_id: int) -> bool:
    """Whether scoring (or any later phase) of the year has been opened."""
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Phase.year_id == year_id,
                    Phase.kind.in_(_LOCKING_PHASES),
                    Phase.opened_at.is_not(None),
                )
            )
        )
    )


async def is_locked(session: AsyncSession, year_id: int) -> bool:
    table = await current_table(session, year_id)
    return (table is not None and table.locked_at is not None) or await scoring_opened(
        session, year_id
    )


async def check_can_replace(session: AsyncSession, actor: Actor, year_id: int) -> None:
    """Raise a `Refusal` unless this actor may replace the year's table now."""
    actor.require(Action.MANAGE_TABLE)
    year = await session.get(EmulationYear, year_id)
    if year is None or year.cluster_id != actor.cluster_id:
        raise Refusal(_("This scoring table is not in your cluster."))
    if await is_locked(session, year_id):
        raise Refusal(
            _(
                "The scoring table is locked: scoring has opened, and units score against this "
                "table. It can no longer be replaced this year."
            )
        )


async def replace_table(
    session: AsyncSession, actor: Actor, year_id: int, spec: TableSpec, source: str = ""
) -> ScoringTable:
    """Replace the year's criteria with `spec` (already validated), all at once."""
    await check_can_replace(session, actor, year_id)
    table = await ensure_default_table(session, year_id)
    if await _in_use(session, table.id):
        raise Refusal(_("Units have already scored against this table; it cannot be replaced."))
    before = len(table.criteria)
    # Delete first and flush, so the new rows may reuse the old codes (unique per table).
    await session.execute(delete(Criterion).where(Criterion.table_id == table.id))
    table.normal_total = spec.normal_total
    table.bonus_cap = spec.bonus_cap
    for criterion in _criteria(spec):
        criterion.table_id = table.id
        session.add(criterion)
    await session.flush()
    await session.refresh(table, ["criteria"])
    record(
        session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
        action="table.replace", subject=f"table:{table.id}", year_id=year_id, source=source,
        criteria_before=before, criteria_after=len(spec.criteria),
        normal_total=str(spec.normal_total), bonus_cap=str(spec.bonus_cap),
    )  # fmt: skip
    return table


async def lock_table(session: AsyncSession, year_id: int, by_person_id: int | None = None) -> ScoringTable:
    """Lock the year's table (creating the default one if none was set); called when scoring
    opens. Locking twice changes nothing."""
    table = await ensure_default_table(session, year_id)
    if table.locked_at is None:
        table.locked_at = utcnow()
        year = await session.get(EmulationYear, year_id)
        record(
            session, cluster_id=year.cluster_id if year else None, actor_person_id=by_person_id,
            action="table.lock", subject=f"table:{table.id}", year_id=year_id,
        )  # fmt: skip
        await session.flush()
    return table


async def unlock_table(session: AsyncSession, year_id: int, by_person_id: int | None = None) -> bool:
    """Undo `lock_table` (for a scoring phase whose opening was stepped back), unless a unit
    has already scored against the table. Returns whether the table is unlocked now."""
    table = await current_table(session, year_id)
    if table is None or table.locked_at is None:
        return True
    if await _in_use(session, table.id):
        return False
    table.locked_at = None
    year = await session.get(EmulationYear, year_id)
    record(
        session, cluster_id=year.cluster_id if year else None, actor_person_id=by_person_id,
        action="table.unlock", subject=f"table:{table.id}", year_id=year_id,
    )  # fmt: skip
    await session.flush()
    return True


async def _in_use(session: AsyncSession, table_id: int) -> bool:
    """Whether any score sheet has an entry for one of the table's criteria."""
    return bool(
        await session.scalar(
            select(
                exists().where(ScoreEntry.criterion_id == Criterion.id, Criterion.table_id == table_id)
            )
        )
    )


# ------------------------------------------------------------------------------ a table file


def is_table_file(name: str | None) -> bool:
    """A file name a table may come in (no suffix: the content decides)."""
    suffix = PurePath(name or "").suffix.lower()
    return not suffix or suffix in ACCEPTED_SUFFIXES


def fits_upload(size: int | None) -> bool:
    return size is None or size <= MAX_UPLOAD_BYTES


def too_big() -> str:
    return _("This file is larger than 5 MB. A scoring table file must be at most 5 MB: "
             "keep only the table in it. Send another file, or /cancel.")  # fmt: skip


async def upload_awaited(db: Database, telegram_user_id: int, chat_id: int, flow: str, step: str) -> bool:
    """Whether this person's next message in this chat is awaited by `step` (the table file).

    Read in a short session of its own, before the update's unit of work, so the file is
    downloaded only when it is awaited (evidence files are never downloaded) and no transaction
    is open while Telegram sends it. The unit of work checks everything again."""
    async with db.session() as session:
        person = await person_by_telegram_id(session, telegram_user_id)
        state = await get_state(session, person.id, chat_id, flow) if person is not None else None
        return state is not None and state.step == step


async def replace_from_file(session: AsyncSession, actor: Actor, year_id: int, content: bytes,
                            name: str, cluster: Cluster) -> TableSpec:  # fmt: skip
    """Read an uploaded file and replace the year's table with it. A file with problems raises
    `bot.scoring_table.TableError` (every problem found) and changes nothing."""
    await check_can_replace(session, actor, year_id)
    if len(content) > MAX_UPLOAD_BYTES:
        raise Refusal(too_big())
    spec = await asyncio.to_thread(parse_file, content, name, default_normal_total(cluster))
    await replace_table(session, actor, year_id, spec, source=name)
    return spec
