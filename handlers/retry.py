"""An update whose handling failed because the database was out of reach is handled again,
in this process, once the database is back.

Telegram does not send such an update again: with long polling it was confirmed by the next
`getUpdates`, and PTB's webhook server answers 200 before any handler runs. So keeping it is
ours. When `storage.db.is_unavailable` says the database could not be reached, the person gets
one apology (the update is kept), and the update goes back through the application's update
processor after 1 s, 2 s, 4 s … (never more than a minute apart), for up to ten minutes. A
retry is harmless: the wrapper in `handlers/base.py` rolled the failed attempt back, and the
update's id in `processed_updates` is written with its effect, so an attempt whose commit did
land is dropped the next time. When the time runs out the update is given up: an error is
logged (its id and how long, never what the message said) and the person is asked to send it
again.

The pending retries live in memory: a stop during an outage loses them, as it would lose any
update PTB had fetched and not yet handled.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram import Update
from telegram.ext import Application, ContextTypes

log = logging.getLogger("thidua.retry")

FIRST_DELAY = 1.0  # seconds before the first retry; each next one waits twice as long
MAX_DELAY = 60.0
GIVE_UP_AFTER = 600.0  # seconds since the first failure


def delay_before(attempt: int, first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> float:
    """How long to wait before retry number `attempt` (1, 2, …): 1 s, 2 s, 4 s … up to `cap`."""
    return min(first * 2 ** (attempt - 1), cap)


@dataclass
class _Pending:
    update: Update
    first_failed: float
    retries: int = 0  # retries scheduled so far


class Retries:
    """The updates waiting for the database to come back, keyed by update id."""

    def __init__(self, app: Application) -> None:
        self.app = app
        self.first_delay = FIRST_DELAY
        self.max_delay = MAX_DELAY
        self.give_up_after = GIVE_UP_AFTER
        self._pending: dict[int, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def failed(self, update: Update) -> str:
        """Record that handling `update` just failed for want of the database, and schedule the
        next try. Returns "first" (the person has not been told yet), "again" (a retry failed
        too; already told) or "gave up" (the time is over; nothing more is scheduled)."""
        now = asyncio.get_running_loop().time()
        pending = self._pending.get(update.update_id)
        verdict = "again"
        if pending is None:
            pending = self._pending[update.update_id] = _Pending(update, now)
            verdict = "first"
        attempt = pending.retries + 1
        wait = delay_before(attempt, self.first_delay, self.max_delay)
        if now + wait - pending.first_failed > self.give_up_after:
            del self._pending[update.update_id]
            log.error("update %s given up: the database was unavailable for %.0f s (%d retries)",
                      update.update_id, now - pending.first_failed, pending.retries)  # fmt: skip
            return "gave up"
        pending.retries = attempt
        log.warning("update %s: the database is unavailable; retry %d in %.1f s",
                    update.update_id, attempt, wait)  # fmt: skip
        self.app.job_queue.run_once(self._again, wait, data=update.update_id,
                                    name=f"retry-update:{update.update_id}")  # fmt: skip
        return verdict

    async def _again(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = context.job.data
        pending = self._pending.get(update_id)
        if pending is None:
            return
        retries = pending.retries
        app = self.app
        await app.update_processor.process_update(pending.update, app.process_update(pending.update))
        current = self._pending.get(update_id)
        if current is pending and current.retries == retries:
            del self._pending[update_id]  # handled (or failed for another reason, reported)


def of(app: Application) -> Retries:
    return app.bot_data["retries"]


def register(app: Application) -> None:
    app.bot_data["retries"] = Retries(app)
