"""The sender: delivers the outbox's due rows, and applies `bot.delivery`'s retry policy.

`OutboxSender.run` runs as PTB JobQueue jobs (started in `bot.app.post_init`): once at start,
whenever a handler whose transaction queued rows wakes it right after its commit
(`handlers/base.py`), at the time the next retry comes due, and on PostgreSQL as a slow
repeating poll for rows another instance queued or left behind.

One run claims due rows under a lease (`storage.outbox.claim_due`), sends them — rows to the
same chat one after another in the order they were queued, different chats side by side —
and records each outcome in a short transaction of its own. No database session is open while
Telegram (or PTB's `AIORateLimiter`) makes us wait. A failed row never stops the others:

- network error, timeout, anything unknown → retried with `bot.delivery.backoff`;
- 429 → retried at Telegram's `retry_after` (the limiter hands the 429 straight back to the
  sender instead of sleeping on it, see `OutboxRateLimiter`);
- 403 → the row is marked unreachable, the chat recorded in `unreachable_chats`, and the
  cluster's administrators are told once (itself an outbox row, keyed by the chat);
- 400 → parked with Telegram's reason; too many attempts → parked.

**The crash window.** Between Telegram accepting a message and the transaction that marks the
row sent, a crash (or a lost connection to the database) leaves the row claimed but pending.
When its lease runs out, a sender claims it again and sends it again: delivery is
*at-least-once*. The window is one HTTP round trip plus one small commit per row, and a row is
only ever re-sent for the lease that was lost, so one crash resends each in-flight row at most
once; the idempotency key guarantees the *event* is queued once, so nothing else is repeated.
A live message (the signing board) is edited once its message id is stored (posted afresh only
when Telegram refuses the edit; a crash between that post and its record posts it twice).
Before a send the row's lease is renewed once half of it has gone (and always for a secret row,
which closing its ballot erases), so a batch waiting for a group's 20/min limit never outlives
it and another instance never sends a row this one is about to send.

Time comes from `clock` (default: `storage.models.utcnow`); tests move it instead of sleeping.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from sqlalchemy import select
from telegram import InlineKeyboardMarkup, Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import AIORateLimiter, Application, Job

from bot import delivery
from bot.delivery import Failure, Reaction
from bot.i18n import _
from bot.services import notify
from storage import outbox as store
from storage.db import Database
from storage.models import (
    Cluster,
    OutboxKind,
    OutboxMessage,
    Person,
    RecipientKind,
    Role,
    utcnow,
)
from storage.pledges import people_with_role

log = logging.getLogger(__name__)

POLL = 30.0  # seconds between polls on PostgreSQL (other instances' rows)
RETRY_RUN = timedelta(seconds=30)  # after a run failed
NO_RETRY = -1  # rate_limit_args: the limiter throttles but hands a 429 straight back


class OutboxRateLimiter(AIORateLimiter):
    """PTB's limiter (30 messages/s overall, 20/min into a group). A direct reply keeps its
    retries on a 429; a call from the sender (`rate_limit_args=NO_RETRY`) is throttled the same
    way but gets the 429 back at once, because the sender reschedules the row at
    `retry_after` rather than holding its run for that long."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if rate_limit_args != NO_RETRY:
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        chat_id = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        group = chat_id if (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str) else False
        return await self._run_request(
            chat=chat_id is not None,
            group=group,
            allow_paid_broadcast=bool(data.get("allow_paid_broadcast", False)),
            callback=callback,
            args=args,
            kwargs=kwargs,
        )


def classify(error: Exception) -> tuple[Failure, float | None]:
    """Telegram's refusal as one of the policy's failures (BadRequest and TimedOut are
    NetworkErrors in PTB, so the order matters)."""
    if isinstance(error, RetryAfter):
        wait = error._retry_after  # noqa: SLF001 - a timedelta in PTB 22 and 23 alike
        return Failure.RETRY_AFTER, wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
    if isinstance(error, Forbidden):
        return Failure.FORBIDDEN, None
    if isinstance(error, BadRequest):
        return Failure.BAD_REQUEST, None
    if isinstance(error, TimedOut):
        return Failure.TIMEOUT, None
    if isinstance(error, NetworkError):
        return Failure.NETWORK, None
    return Failure.OTHER, None


class OutboxSender:
    def __init__(self, app: Application, clock: Callable[[], datetime] = utcnow,
                 policy: delivery.Policy | None = None) -> None:  # fmt: skip
        self.app = app
        self.clock = clock
        self.policy = policy or delivery.Policy()
        self._claiming = asyncio.Lock()
        self._busy: set[int] = set()  # chats a run of this instance is serving
        self._timer: Job | None = None
        self._timer_due: datetime | None = None
        self.runs = 0  # finished runs (a test waits for the start-up run)
        self._claims = 0  # claims tried by this instance's runs
        self._sent = 0  # rows this instance's runs have sent and recorded

    @property
    def db(self) -> Database:
        return self.app.bot_data["db"]

    # ------------------------------------------------------------------ scheduling

    def start(self) -> None:
        """One run at start (rows left from before a restart), then runs on demand: `wake()`
        after a commit that queued rows, and a timer for the next row that comes due (a retry,
        a lease that runs out). On PostgreSQL a slow repeating poll also picks up rows another
        instance queued or left behind; SQLite is one instance, and stays idle when idle."""
        queue = self.app.job_queue
        if queue is None:  # PTB installed without its JobQueue: only wake() and run() work
            return
        queue.run_once(self._job, when=0, name="outbox-start")
        if not self.db.is_sqlite:
            queue.run_repeating(self._job, interval=POLL, first=POLL, name="outbox-poll")

    def wake(self) -> None:
        """Run soon (rows were just committed): a task of the app's, so a test's harness, which
        waits for the tasks an update started, sees the rows delivered when the update is done."""
        if self.app.running:
            self.app.create_task(self.run(), name="outbox-wake")

    async def _job(self, context: Any) -> None:
        await self.run()

    def _plan(self, due: datetime | None) -> None:
        """Keep one timer, for the next row that comes due. Runs overlap, and one may read the
        next due time before another commits an earlier retry: a pending timer that is due
        sooner is kept, and none is dropped for "nothing due" (an extra run costs one query)."""
        queue = self.app.job_queue
        if due is None or queue is None or not self.app.running:
            return
        timer = self._timer
        if timer is not None and not timer.removed and timer.next_t is not None and self._timer_due is not None:
            if self._timer_due <= due and self._timer_due > self.clock():
                return
            with contextlib.suppress(JobLookupError):  # it ran already (run_once jobs remove themselves)
                timer.schedule_removal()
        delay = max((due - self.clock()).total_seconds(), 0.5)
        self._timer_due = self.clock() + timedelta(seconds=delay)
        self._timer = queue.run_once(self._job, when=delay, name="outbox-next")

    async def run(self) -> int:
        """Deliver what is due now, until nothing due is left; the number of rows tried.

        Several runs may go at once (a wake per committed update): each claims only rows of
        chats no other run of this instance is serving (`_busy`), so a group held back by its
        20/min limit delays its own messages and nobody else's, and a chat's rows still go one
        after another in the order they were queued. Claims themselves are one at a time
        (`_claiming`); other instances are kept off by the lease."""
        tried = 0
        try:
            while True:
                claims, sent = self._claims, self._sent
                n = await self._run_once()
                tried += n
                if n == 0 or self._nothing_left(n, claims, sent):
                    async with self.db.session() as session:
                        self._plan(await store.next_due(session, self.clock()))
                    self.runs += 1
                    return tried
        except Exception:  # the database failing, say: try again soon rather than wait for a wake
            log.exception("the outbox sender's run failed")
            self._plan(self.clock() + RETRY_RUN)
            raise

    def _nothing_left(self, n: int, claims: int, sent: int) -> bool:
        """Whether a run that claimed and sent `n` rows can stop without claiming again (an
        empty claim is a transaction: one for every message otherwise). It can when the batch
        was not full, every row went (none is waiting for a retry, nor was a notice about it
        queued), and no other run tried to claim meanwhile (such a claim skipped this run's
        chats, so rows for them may be waiting). A row queued since then comes with a wake of
        its own, and the next retry with the timer planned from `next_due`."""
        return n < store.BATCH and self._sent - sent == n and self._claims == claims + 1

    async def drain(self) -> None:
        """Run until nothing is due and no run of this instance is still delivering (the
        harness and the demo, after moving the clock: what became due is sent when this returns)."""
        while True:
            tried = await self.run()
            if tried == 0 and not self._busy:
                return
            if tried == 0:
                await asyncio.sleep(0.01)

    async def _run_once(self) -> int:
        async with self._claiming:
            self._claims += 1
            async with self.db.session() as session:
                claimed_at = self.clock()
                token, rows, unreachable = await store.claim_due(session, claimed_at, exclude_chats=self._busy)
            by_chat: dict[int, list[OutboxMessage]] = defaultdict(list)
            for row in rows:
                by_chat[row.chat_id].append(row)
            self._busy.update(by_chat)
        try:
            await asyncio.gather(*(self._deliver_chat(token, claimed_at, chat_rows, chat in unreachable)
                                   for chat, chat_rows in by_chat.items()))  # fmt: skip
        finally:
            self._busy.difference_update(by_chat)
        return len(rows)

    async def _deliver_chat(self, token: str, claimed_at: datetime, rows: list[OutboxMessage],
                            unreachable: bool) -> None:  # fmt: skip
        for row in rows:
            try:
                # A row sent cleared the record; one that was not may have made it (a 403).
                unreachable = not await self._deliver(token, claimed_at, row, unreachable)
            except Exception:  # a failed row never stops the others
                log.exception("outbox row %s could not be processed", row.id)

    # ------------------------------------------------------------------ one row

    async def _deliver(self, token: str, claimed_at: datetime, row: OutboxMessage, unreachable: bool) -> bool:
        """Send one row; whether it went (and was marked sent)."""
        if self._lease_in_doubt(claimed_at, row):
            async with self.db.session() as session:
                mine = await store.renew(session, row, token, self.clock())
                await session.commit()
            if not mine:  # the lease ran out and another sender took the row, or it was erased
                log.info("outbox row %s was taken over by another sender", row.id)
                return False
        try:
            message_id = await self._send(row)
        except TelegramError as error:
            await self._failed(token, row, error)
            return False
        async with self.db.session() as session:
            await store.mark_sent(session, row, token, self.clock(), message_id, unreachable)
            await session.commit()
        self._sent += 1
        return True

    def _lease_in_doubt(self, claimed_at: datetime, row: OutboxMessage) -> bool:
        """Whether the row's lease must be renewed (and checked) before it is sent. A lease
        taken less than half its length ago cannot have run out, so no other sender can hold
        the row: most rows go right after their claim, without a transaction of their own. A
        secret row is always checked: closing its ballot erases it (and drops its claim) even
        while it is leased, and a receipt erased before this check does not go (one erased
        between the check and the send still can: that window was there before)."""
        return store.is_secret(row) or self.clock() - claimed_at >= store.LEASE / 2

    def _limits(self) -> dict[str, Any]:
        return {"rate_limit_args": NO_RETRY} if self.app.bot.rate_limiter is not None else {}

    async def _send(self, row: OutboxMessage) -> int | None:
        bot, payload = self.app.bot, row.payload
        markup = payload.get("markup")
        keyboard = InlineKeyboardMarkup.de_json(markup, bot) if markup else None
        if row.kind is OutboxKind.DOCUMENT:
            sent: Message | bool = await bot.send_document(
                row.chat_id,
                base64.b64decode(payload["document"]),
                filename=payload.get("filename"),
                caption=payload.get("caption"),
                reply_markup=keyboard,
                **self._limits(),
            )
        elif row.live_key is not None and row.telegram_message_id is not None:
            try:
                sent = await bot.edit_message_text(payload["text"], chat_id=row.chat_id,
                                                   message_id=row.telegram_message_id,
                                                   reply_markup=keyboard, **self._limits())  # fmt: skip
            except BadRequest as error:
                if "not modified" in error.message.lower():
                    return None
                # Gone (deleted by a group administrator, too old to edit): post it afresh,
                # and the new message is the one edited from now on.
                log.info("live message %s in chat %s cannot be edited (%s); posting it again",
                         row.telegram_message_id, row.chat_id, error.message)  # fmt: skip
                sent = await bot.send_message(row.chat_id, payload["text"], reply_markup=keyboard,
                                              **self._limits())  # fmt: skip
        else:
            sent = await bot.send_message(row.chat_id, payload["text"], reply_markup=keyboard,
                                          **self._limits())  # fmt: skip
        return sent.message_id if isinstance(sent, Message) else None

    async def _failed(self, token: str, row: OutboxMessage, error: TelegramError) -> None:
        failure, retry_after = classify(error)
        now = self.clock()
        decision = delivery.after_failure(failure, row.attempts + 1, now, retry_after=retry_after,
                                          reason=error.message, row_id=row.id,
                                          policy=self.policy)  # fmt: skip
        log.warning("outbox row %s to chat %s: %s (%s)", row.id, row.chat_id, failure, decision.reaction)
        async with self.db.session() as session:
            if decision.reaction is Reaction.RETRY:
                assert decision.at is not None
                await store.retry_at(session, row, token, decision.at, error.message)
            elif decision.reaction is Reaction.PARK:
                await store.park(session, row, token, error.message)
            else:
                await store.mark_unreachable(session, row, token, error.message, now)
                await self._tell_administrators(session, row)
            await session.commit()

    async def _tell_administrators(self, session: Any, row: OutboxMessage) -> None:
        """Once per unreachable spell of a chat: the key is the chat's id and since when it is
        unreachable (it becomes reachable again with `storage.outbox.reachable_again`)."""
        if row.cluster_id is None:
            return
        since = await store.unreachable_since(session, row.chat_id)
        since = since.isoformat() if since is not None else ""
        cluster = await session.get(Cluster, row.cluster_id)
        if cluster is None:
            return
        if row.recipient is RecipientKind.GROUP:
            who = None
        else:
            who = await session.scalar(select(Person.full_name).where(Person.telegram_user_id == row.chat_id))
        name = html.escape(cluster.name)

        def render() -> str:
            if who is None:
                return _("The bot can no longer post to the group of {cluster}: it was removed "
                         "from the group or lost its rights there. Messages to the group are "
                         "not delivered.").format(cluster=name)  # fmt: skip
            return _("The bot can no longer write to {person} ({cluster}): they blocked "
                     "the bot. Messages to them are not delivered.").format(
                person=html.escape(who or ""), cluster=name)  # fmt: skip

        admins = await people_with_role(session, cluster.id, Role.ADMIN)
        await notify.to_people(session, admins, f"unreachable:{row.chat_id}:{since}", render,
                               cluster_id=cluster.id, not_before=self.clock())  # fmt: skip
