"""Queries for `ConversationState`: where a person's guided conversation stands in a chat."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import Delete, Insert, Select, bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from storage.db import Database

from storage.db import note, noted, run_core, unnote
from storage.models import ConversationState, utcnow

_INSERT = {"postgresql": pg_insert, "sqlite": sqlite_insert}
_NO_STEPS = "no_steps"  # `note` key with a person's id: they had no step when this transaction read them


def note_no_steps(session: AsyncSession, person_id: int, none: bool) -> None:
    """What the person's read found (`storage.people`: the update's first read says whether
    they have any step, in any chat). With none, `get_state` and `clear_state` in this
    transaction have nothing to read or delete and run no statement (~150 of the 30-unit
    cycle's 1,119 updates cleared a step that was not there), until this transaction sets one.
    Another transaction cannot add one meanwhile: a person's updates run one after another
    (`bot.update_processor`), and on SQLite every transaction holds the write lock."""
    if none:
        note(session, (_NO_STEPS, person_id), True)
    else:
        unnote(session, (_NO_STEPS, person_id))


async def get_state(
    session: AsyncSession, person_id: int, chat_id: int, flow: str
) -> ConversationState | None:
    """The flow's step, None without one (and without a statement when this transaction's
    read of the person found none: `note_no_steps`)."""
    if noted(session, (_NO_STEPS, person_id)):
        return None
    return await session.scalar(_state_statement(), {"person_id": person_id, "chat_id": chat_id, "flow": flow})


@functools.cache
def _state_statement() -> Select:
    """Built once (asked on every typed message and most presses)."""
    return select(ConversationState).where(
        ConversationState.person_id == bindparam("person_id"),
        ConversationState.chat_id == bindparam("chat_id"),
        ConversationState.flow == bindparam("flow"),
    )


async def set_state(
    session: AsyncSession,
    person_id: int,
    chat_id: int,
    flow: str,
    step: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Create or replace the state of one flow: one `INSERT ... ON CONFLICT` (most presses set
    the next typed-input step, so this runs on most updates). When this session holds the
    row as an object (the update read the step it answers), the object is changed instead, so
    its own pending edits cannot overwrite the new step at the flush."""
    unnote(session, (_NO_STEPS, person_id))
    loaded = _loaded(session, person_id, chat_id, flow)
    if loaded is not None:
        loaded.step = step
        loaded.data = dict(data or {})
        await session.flush()
        return
    await run_core(
        session,
        _upsert_statement(session.get_bind().dialect.name),
        {"person_id": person_id, "chat_id": chat_id, "flow": flow, "step": step, "data": dict(data or {}),
         "now": utcnow()},
    )  # fmt: skip


def _loaded(session: AsyncSession, person_id: int, chat_id: int, flow: str) -> ConversationState | None:
    """The row's object if this session holds it with its attributes (read from `__dict__`:
    an expired object, after a rollback, has none, and no edits to lose either)."""
    for obj in session.sync_session.identity_map.values():
        if isinstance(obj, ConversationState):
            seen = obj.__dict__
            if seen.get("person_id") == person_id and seen.get("chat_id") == chat_id and seen.get("flow") == flow:
                return obj
    return None


@functools.cache
def _upsert_statement(dialect: str) -> Insert:
    """Built once per backend. On the table, not the mapped class (with parameters, an ORM
    insert would be a bulk insert)."""
    table = ConversationState.__table__
    statement = _INSERT[dialect](table).values(
        person_id=bindparam("person_id"), chat_id=bindparam("chat_id"), flow=bindparam("flow"),
        step=bindparam("step"), data=bindparam("data"), updated_at=bindparam("now"),
    )  # fmt: skip
    return statement.on_conflict_do_update(
        index_elements=[table.c.person_id, table.c.chat_id, table.c.flow],
        set_={"step": statement.excluded.step, "data": statement.excluded.data,
              "updated_at": statement.excluded.updated_at},
    )  # fmt: skip


async def forget_step(db: Database, person_id: int, chat_id: int, flow: str) -> None:
    """Clear a typed-input step in a transaction of its own, after the update's has committed:
    the question could not be delivered (the person never opened the private chat), so nobody
    will type its answer, and a later unrelated message must not be read as one."""
    async with db.session() as session:
        await clear_state(session, person_id, chat_id, flow)
        await session.commit()


async def clear_state(session: AsyncSession, person_id: int, chat_id: int, flow: str) -> bool:
    """Delete the flow's step. Nothing to do when this transaction knows the person has none
    (`note_no_steps`). Through the ORM when this session holds the row as an object (so the
    object goes with it), else as one Core statement on the table (most presses)."""
    if noted(session, (_NO_STEPS, person_id)):
        return False
    parameters = {"person_id": person_id, "chat_id": chat_id, "flow": flow}
    if _loaded(session, person_id, chat_id, flow) is not None:
        result = await session.execute(
            delete(ConversationState).where(
                ConversationState.person_id == person_id,
                ConversationState.chat_id == chat_id,
                ConversationState.flow == flow,
            )
        )
    else:
        result = await run_core(session, _delete_statement(), parameters)
    return bool(result.rowcount)


@functools.cache
def _delete_statement() -> Delete:
    """Built once: most presses end their flow's step."""
    table = ConversationState.__table__
    return delete(table).where(
        table.c.person_id == bindparam("person_id"),
        table.c.chat_id == bindparam("chat_id"),
        table.c.flow == bindparam("flow"),
    )
