"""What the bot could not deliver, for the people who can do something about it.

The sender parks a message Telegram refused for good (a 400, too many attempts) and marks a
chat unreachable on a 403 (`bot/services/outbox.py`). `/status` shows their number to the
administrator and the secretariat; `/undelivered` lists them and can send the parked ones
again (after the bot was given back its rights in the group, say). A chat that talks to the
bot again — a person pressing Start after unblocking it, a group adding it back — is
reachable again, and what it missed in the last week is queued again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.permissions import Action
from bot.services.actors import Actor
from bot.services.audit import record
from storage import outbox as store
from storage.models import OutboxStatus, Person, RecipientKind, utcnow


@dataclass(frozen=True)
class Undelivered:
    """One message that will not go by itself. No content: the list is for finding who missed
    what kind of notice, and a notice to a unit is not the administrator's to read."""

    to_group: bool
    person_name: str | None  # the recipient, when a person the bot knows
    queued_at: dt.datetime
    attempts: int
    unreachable: bool  # the chat refused the bot (blocked, removed), rather than Telegram the message
    document: bool


async def count(session: AsyncSession, actor: Actor | None) -> int | None:
    """For /status: the number, for those who may manage delivery; None for everybody else."""
    if actor is None or not actor.may(Action.MANAGE_DELIVERY):
        return None
    return await store.count_parked(session, actor.cluster_id)


async def listing(session: AsyncSession, actor: Actor, limit: int = 30) -> tuple[int, list[Undelivered]]:
    """The total and the newest `limit` undelivered messages of the actor's cluster."""
    actor.require(Action.MANAGE_DELIVERY)
    rows = await store.parked_rows(session, actor.cluster_id, limit)
    ids = {r.chat_id for r in rows if r.recipient is RecipientKind.PERSON}
    names = dict((await session.execute(
        select(Person.telegram_user_id, Person.full_name).where(Person.telegram_user_id.in_(ids))
    )).all()) if ids else {}  # fmt: skip
    items = [
        Undelivered(
            to_group=row.recipient is RecipientKind.GROUP,
            person_name=names.get(row.chat_id),
            queued_at=row.created_at,
            attempts=row.attempts,
            unreachable=row.status is OutboxStatus.UNREACHABLE,
            document=row.kind.value == "document",
        )
        for row in rows
    ]
    return await store.count_parked(session, actor.cluster_id), items


async def send_again(session: AsyncSession, actor: Actor) -> int:
    """Queue every parked message of the cluster again; the number queued."""
    actor.require(Action.MANAGE_DELIVERY)
    queued = await store.send_parked_again(session, actor.cluster_id, utcnow())
    record(session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
           action="outbox.send_again", subject=f"cluster:{actor.cluster_id}", rows=queued)  # fmt: skip
    return queued


async def reachable_again(session: AsyncSession, chat_id: int) -> int:
    """The chat talks to the bot again; see the module's docstring."""
    return await store.reachable_again(session, chat_id, utcnow())
