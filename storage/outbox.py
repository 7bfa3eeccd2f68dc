"""Outbox queries: enqueue (idempotent), claim due rows under a lease, record the outcome.

Enqueue runs inside the caller's transaction (the one that makes the change the message is
about). Claiming is a short transaction of its own: on PostgreSQL ``FOR UPDATE SKIP LOCKED``
lets two instances claim disjoint rows at the same instant; on SQLite every transaction takes
the write lock up front (``storage/db.py``), so claims are one at a time and the lease update
alone keeps a second sender off the rows. Every outcome is written only while the sender
still holds the row's claim (its token), so a sender whose lease ran out cannot overwrite the
outcome of the one that took the row over.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Select,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    RecipientKind,
    UnreachableChat,
    utcnow,
)

LEASE = timedelta(minutes=2)
BATCH = 50  # rows one claim leases at most
SECRET = "secret:"  # key prefix of a row whose text must not outlive its delivery (a ballot receipt)
_ERASED = {"text": "", "erased": True}
ENQUEUED = "outbox_enqueued"  # session.info flag: wake the sender after this commit


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


CHUNK = 500  # rows a statement in `enqueue_many` (5,500 values: SQLAlchemy pages smaller where SQLite allows 999)


def message_values(*, chat_id: int, key: str, payload: dict[str, Any], recipient: RecipientKind,
                   cluster_id: int | None = None, kind: OutboxKind = OutboxKind.MESSAGE,
                   not_before: datetime | None = None, now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """The columns of a newly queued message, the one place `enqueue` and `enqueue_many` take
    them from: a row queued in a batch is the row queued alone."""
    now = now or utcnow()
    return {
        "chat_id": chat_id, "recipient": recipient, "cluster_id": cluster_id, "kind": kind, "payload": payload,
        "dedupe_key": key, "revision": 0, "status": OutboxStatus.PENDING, "not_before": not_before or now,
        "attempts": 0, "created_at": now,
    }  # fmt: skip


async def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    key: str,
    payload: dict[str, Any],
    recipient: RecipientKind,
    cluster_id: int | None = None,
    kind: OutboxKind = OutboxKind.MESSAGE,
    not_before: datetime | None = None,
) -> bool:
    """Queue one message; False (and nothing added) when `key` was queued before."""
    values = message_values(chat_id=chat_id, key=key, payload=payload, recipient=recipient, cluster_id=cluster_id,
                            kind=kind, not_before=not_before)  # fmt: skip
    statement = _insert(session)(OutboxMessage).values(values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = await session.execute(statement)
    added = bool(result.rowcount)
    if added:  # a key queued before wakes no sender
        session.info[ENQUEUED] = True
    return added


async def enqueue_many(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> int:
    """Queue many messages in one statement per `CHUNK` of them (a digest round: a thousand
    rows in two statements instead of a thousand); each row is `enqueue`'s keyword arguments.
    A key queued before, or twice in `rows`, adds nothing; returns how many rows were added."""
    return len(await enqueue_many_keys(session, rows))


async def enqueue_many_keys(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> set[str]:
    """`enqueue_many`, returning the keys it added (`RETURNING` tells which: a multi-row
    insert's rowcount is not reliable on every driver)."""
    now = utcnow()
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["key"], message_values(**row, now=now))  # the first of a key wins
    if not unique:
        return set()
    result = await session.execute(_many_statement(session.bind.dialect.name), list(unique.values()),
                                   execution_options={"insertmanyvalues_page_size": CHUNK})  # fmt: skip
    added = {key for (key,) in result.all()}
    if added:
        session.info[ENQUEUED] = True
    return added


@functools.cache
def _many_statement(dialect: str) -> Any:
    """Executed with a list of rows: SQLAlchemy's "insertmanyvalues" sends them as multi-row
    ``INSERT … VALUES (…), (…)`` pages of `CHUNK` rows (fewer if SQLite's variable limit asks)
    from one compiled statement (cached): a thousand rows in ~30 ms. Building the VALUES
    ourselves (``.values([...])``) compiled 5,500 parameters afresh per call: 0.3-0.5 s for a
    thousand rows, nearly what a thousand one-row statements cost."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = OutboxMessage.__table__
    return (
        insert(table)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.dedupe_key)
    )


async def enqueue_live(
    session: AsyncSession,
    *,
    chat_id: int,
    live_key: str,
    payload: dict[str, Any],
    recipient: RecipientKind,
    cluster_id: int | None = None,
    now: datetime | None = None,
    message_id: int | None = None,
) -> None:
    """Queue the latest content of a live message: the first call sends it, later calls edit
    it; content queued before and not yet sent is replaced (only the latest is sent).
    `message_id`: the message already exists (posted as a reply): edit that one."""
    now = now or utcnow()
    statement = _insert(session)(OutboxMessage).values(
        chat_id=chat_id,
        recipient=recipient,
        cluster_id=cluster_id,
        kind=OutboxKind.MESSAGE,
        payload=payload,
        live_key=live_key,
        revision=0,
        status=OutboxStatus.PENDING,
        not_before=now,
        attempts=0,
        created_at=now,
        telegram_message_id=message_id,
    )
    moved = {"telegram_message_id": statement.excluded.telegram_message_id} if message_id is not None else {}
    statement = statement.on_conflict_do_update(
        index_elements=["live_key"],
        set_={
            **moved,
            "payload": statement.excluded.payload,
            "revision": OutboxMessage.revision + 1,
            "status": OutboxStatus.PENDING,
            "not_before": now,
            "attempts": 0,
            "last_error": None,
        },
    )
    await session.execute(statement)
    session.info[ENQUEUED] = True


async def next_due(session: AsyncSession, now: datetime) -> datetime | None:
    """When the earliest pending row not due at `now` comes due (its time, or its lease's end).
    One statement, two indexed minimums (the sender asks after every run)."""
    waiting, leased = (await session.execute(_next_due_statement(), {"now": now})).one()
    times = [t for t in (waiting, leased) if t is not None]
    return min(times) if times else None


@functools.cache
def _next_due_statement() -> Select:
    now = bindparam("now", type_=OutboxMessage.__table__.c.not_before.type)
    pending = OutboxMessage.status == OutboxStatus.PENDING
    waiting = select(func.min(OutboxMessage.not_before)).where(pending, OutboxMessage.not_before > now)
    leased = select(func.min(OutboxMessage.claimed_until)).where(pending, OutboxMessage.claimed_until >= now)
    return select(waiting.scalar_subquery(), leased.scalar_subquery())


class Claim(NamedTuple):
    """What one claim leased: its token, the rows by id, and which of their chats were
    recorded as unreachable at that moment (a sent row clears that record; the others need
    no statement for it)."""

    token: str
    rows: list[OutboxMessage]
    unreachable: frozenset[int]


async def claim_due(session: AsyncSession, now: datetime, limit: int = BATCH,
                    exclude_chats: Collection[int] = ()) -> Claim:  # fmt: skip
    """Lease up to `limit` due rows, none to a chat in `exclude_chats` (being served by this
    instance already), to a new claim token; commits.

    One statement leases and reads the rows (`_claim_statement`). Run it in a session of its
    own: RETURNING does not refresh rows the session already holds."""
    token = uuid.uuid4().hex
    claimed = await session.execute(
        _claim_statement(limit),
        {"now": now, "exclude": list(exclude_chats), "lease_until": now + LEASE, "token": token},
        execution_options={"synchronize_session": False},
    )
    found = claimed.all()
    rows = sorted((row for row, _unreachable in found), key=lambda row: row.id)
    await session.commit()
    return Claim(token, rows, frozenset(row.chat_id for row, unreachable in found if unreachable))


@functools.cache
def _claim_statement(limit: int) -> Any:
    """`WITH due AS MATERIALIZED (the due rows, FOR UPDATE SKIP LOCKED) UPDATE … WHERE id IN
    due RETURNING`, the rows and whether their chat is recorded as unreachable. Materialized,
    so the selection runs once: as a plain `IN (subquery)` PostgreSQL may re-run it per row of
    a nested loop, and with SKIP LOCKED each run can find other rows, leasing more than `limit`."""
    due = _due_statement(limit).cte("due").prefix_with("MATERIALIZED")
    # Qualified by hand: RETURNING names its own table's columns bare, and a bare `chat_id`
    # inside the subquery would be unreachable_chats' own.
    outer_chat = literal_column(f"{OutboxMessage.__tablename__}.chat_id")
    unreachable = exists().where(UnreachableChat.chat_id == outer_chat)
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(select(due.c.id)))
        .values(claimed_until=bindparam("lease_until"), claim_token=bindparam("token"))
        .returning(OutboxMessage, unreachable.label("unreachable"))
    )


@functools.cache
def _due_statement(limit: int) -> Select:
    """Built once per batch size: the sender asks it before every batch."""
    now = bindparam("now")
    return (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.not_before <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
            OutboxMessage.chat_id.not_in(bindparam("exclude", expanding=True)),
        )
        .order_by(OutboxMessage.not_before, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


async def renew(session: AsyncSession, row: OutboxMessage, token: str, now: datetime) -> bool:
    """Extend this sender's lease on `row` just before sending it; False when the lease was
    lost (another instance took the row over): then the row must not be sent by this one. A
    batch that waits long for a group's 20/min limit never outlives its lease this way."""
    result = await session.execute(
        update(OutboxMessage).where(_claimed(row.id, token), OutboxMessage.status == OutboxStatus.PENDING)
        .values(claimed_until=now + LEASE)
    )
    return bool(result.rowcount)


def _claimed(row_id: int, token: str) -> Any:
    return (OutboxMessage.id == row_id) & (OutboxMessage.claim_token == token)


async def mark_sent(session: AsyncSession, row: OutboxMessage, token: str, now: datetime, message_id: int | None,
                    unreachable: bool = True) -> None:  # fmt: skip
    """Sent, and the claim released, in one statement. A live row whose content changed
    meanwhile (its revision moved on) stays pending (with the message id to edit), so its
    newest content goes out next. `unreachable`: whether the chat may be recorded as
    unreachable (the claim says; when it was not, the record is not looked for)."""
    values = {"b_row_id": row.id, "b_token": token, "b_revision": row.revision, "b_now": now}
    if message_id is not None:
        values["b_message_id"] = message_id
    await session.execute(_mark_sent_statement(message_id is not None), values)
    await erase_secret(session, row)
    if unreachable:  # Telegram took it: the chat is reachable, however it came back
        await session.execute(delete(UnreachableChat).where(UnreachableChat.chat_id == row.chat_id))


@functools.cache
def _mark_sent_statement(with_message_id: bool) -> Any:
    """Built once (per whether Telegram gave a message id): the sender asks it for every row."""
    columns = OutboxMessage.__table__.c
    same = OutboxMessage.revision == bindparam("b_revision")  # "b_": a column's own name is taken
    values: dict[str, Any] = {
        "status": case((same, literal(OutboxStatus.SENT, columns.status.type)), else_=OutboxMessage.status),
        "sent_at": case((same, bindparam("b_now", type_=columns.sent_at.type)), else_=OutboxMessage.sent_at),
        "attempts": case((same, OutboxMessage.attempts + 1), else_=OutboxMessage.attempts),
        "claimed_until": None, "claim_token": None, "last_error": None,
    }  # fmt: skip
    if with_message_id:
        values["telegram_message_id"] = bindparam("b_message_id")
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id == bindparam("b_row_id"), OutboxMessage.claim_token == bindparam("b_token"))
        .values(**values)
    )


async def retry_at(session: AsyncSession, row: OutboxMessage, token: str, at: datetime, error: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(_claimed(row.id, token))
        .values(not_before=at, attempts=OutboxMessage.attempts + 1, last_error=error,
                claimed_until=None, claim_token=None)  # fmt: skip
    )


async def park(session: AsyncSession, row: OutboxMessage, token: str, error: str,
               status: OutboxStatus = OutboxStatus.PARKED) -> None:  # fmt: skip
    await session.execute(
        update(OutboxMessage)
        .where(_claimed(row.id, token))
        .values(status=status, attempts=OutboxMessage.attempts + 1, last_error=error,
                claimed_until=None, claim_token=None)  # fmt: skip
    )
    await erase_secret(session, row)


def is_secret(row: OutboxMessage) -> bool:
    return (row.dedupe_key or "").startswith(SECRET)


async def erase_secret(session: AsyncSession, row: OutboxMessage) -> None:
    """A secret row's text (a ballot tracker beside the person it went to) is erased once it
    was sent or given up: delivered once, or never, and not kept. It is never sent again."""
    if is_secret(row):
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(payload=_ERASED))


async def mark_unreachable(session: AsyncSession, row: OutboxMessage, token: str, reason: str,
                           now: datetime) -> None:  # fmt: skip
    """The row is undeliverable and its chat is recorded as unreachable."""
    await park(session, row, token, reason, OutboxStatus.UNREACHABLE)
    await session.execute(
        _insert(session)(UnreachableChat)
        .values(chat_id=row.chat_id, recipient=row.recipient, cluster_id=row.cluster_id,
                reason=reason, since=now)  # fmt: skip
        .on_conflict_do_nothing(index_elements=["chat_id"])
    )


async def erase_pending_secrets(session: AsyncSession, key_prefix: str) -> int:
    """Give up the secret rows of `key_prefix` not delivered yet (a ballot closes: a receipt
    still waiting for a retry must not sit beside the published board): text erased, parked,
    never sent. Returns how many."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedupe_key.like(SECRET + key_prefix + "%"), OutboxMessage.status == OutboxStatus.PENDING)
        .values(payload=_ERASED, status=OutboxStatus.PARKED, last_error="erased: the ballot closed",
                claimed_until=None, claim_token=None)  # fmt: skip
    )
    return result.rowcount


def _not_secret() -> Any:
    return or_(OutboxMessage.dedupe_key.is_(None), OutboxMessage.dedupe_key.not_like(SECRET + "%"))


async def reachable_again(session: AsyncSession, chat_id: int, now: datetime,
                          window: timedelta = timedelta(days=7)) -> int:  # fmt: skip
    """The chat talks to the bot again (a person unblocked it and pressed Start, the group
    added it back): it is no longer recorded as unreachable, and what Telegram refused for it
    in the last `window` is queued again (older notices are history). Returns how many."""
    gone = await session.execute(delete(UnreachableChat).where(UnreachableChat.chat_id == chat_id))
    if not gone.rowcount:
        return 0
    requeued = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == OutboxStatus.UNREACHABLE,
               OutboxMessage.created_at >= now - window, _not_secret())  # fmt: skip
        .values(status=OutboxStatus.PENDING, not_before=now, attempts=0, last_error=None,
                claimed_until=None, claim_token=None)  # fmt: skip
    )
    if requeued.rowcount:
        session.info[ENQUEUED] = True
    return requeued.rowcount


async def unreachable_since(session: AsyncSession, chat_id: int) -> datetime | None:
    return await session.scalar(select(UnreachableChat.since).where(UnreachableChat.chat_id == chat_id))


def _undelivered(cluster_id: int) -> Any:
    """Parked rows, and rows to a chat that is still unreachable (older ones, left when the
    chat came back, are history: `reachable_again`); never a secret row."""
    still = select(UnreachableChat.chat_id)
    return (
        (OutboxMessage.cluster_id == cluster_id)
        & _not_secret()
        & or_(OutboxMessage.status == OutboxStatus.PARKED,
              (OutboxMessage.status == OutboxStatus.UNREACHABLE) & OutboxMessage.chat_id.in_(still))  # fmt: skip
    )


async def parked_rows(session: AsyncSession, cluster_id: int, limit: int = 50) -> Sequence[OutboxMessage]:
    """The cluster's messages that will not go by themselves (`_undelivered`), newest first."""
    return (
        await session.scalars(
            select(OutboxMessage).where(_undelivered(cluster_id)).order_by(OutboxMessage.id.desc()).limit(limit)
        )
    ).all()


async def send_parked_again(session: AsyncSession, cluster_id: int, now: datetime) -> int:
    """The administrator's "send again": every parked row of the cluster is due now, with its
    attempts counted afresh (rows to unreachable chats wait for the chat to come back)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.cluster_id == cluster_id, OutboxMessage.status == OutboxStatus.PARKED, _not_secret())
        .values(status=OutboxStatus.PENDING, not_before=now, attempts=0, claimed_until=None, claim_token=None,
                last_error=None)  # fmt: skip
    )
    if result.rowcount:
        session.info[ENQUEUED] = True
    return result.rowcount


async def unreachable_chats(session: AsyncSession, cluster_id: int) -> Sequence[UnreachableChat]:
    return (
        await session.scalars(select(UnreachableChat).where(UnreachableChat.cluster_id == cluster_id))
    ).all()


async def count_parked_by_cluster(session: AsyncSession, cluster_ids: Any) -> dict[int, int]:
    """`count_parked` for many clusters in one statement (a digest round); `cluster_ids` is a
    collection or an IN-able expression. Clusters with nothing undelivered are absent."""
    still = select(UnreachableChat.chat_id)
    undelivered = _not_secret() & or_(
        OutboxMessage.status == OutboxStatus.PARKED,
        (OutboxMessage.status == OutboxStatus.UNREACHABLE) & OutboxMessage.chat_id.in_(still),
    )
    rows = await session.execute(
        select(OutboxMessage.cluster_id, func.count())
        .where(OutboxMessage.cluster_id.in_(cluster_ids), undelivered)
        .group_by(OutboxMessage.cluster_id)
    )
    return {cluster_id: count for cluster_id, count in rows.all()}


async def count_parked(session: AsyncSession, cluster_id: int) -> int:
    """Messages of the cluster that will not go by themselves (`_undelivered`)."""
    return await session.scalar(select(func.count()).select_from(OutboxMessage).where(_undelivered(cluster_id))) or 0
