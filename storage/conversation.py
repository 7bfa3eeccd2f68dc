"""Queries for `ConversationState`: where a person's guided conversation stands in a chat."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from storage.db import Database

from storage.models import ConversationState


async def get_state(
    session: AsyncSession, person_id: int, chat_id: int, flow: str
) -> ConversationState | None:
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
) -> ConversationState:
    """Create or replace the state of one flow."""
    state = await get_state(session, person_id, chat_id, flow)
    if state is None:
        state = ConversationState(person_id=person_id, chat_id=chat_id, flow=flow, step=step)
        session.add(state)
    state.step = step
    state.data = dict(data or {})
    await session.flush()
    return state


async def forget_step(db: Database, person_id: int, chat_id: int, flow: str) -> None:
    """Clear a typed-input step in a transaction of its own, after the update's has committed:
    the question could not be delivered (the person never opened the private chat), so nobody
    will type its answer, and a later unrelated message must not be read as one."""
    async with db.session() as session:
        await clear_state(session, person_id, chat_id, flow)
        await session.commit()


async def clear_state(session: AsyncSession, person_id: int, chat_id: int, flow: str) -> bool:
    result = await session.execute(
        delete(ConversationState).where(
            ConversationState.person_id == person_id,
            ConversationState.chat_id == chat_id,
            ConversationState.flow == flow,
        )
    )
    return bool(result.rowcount)
