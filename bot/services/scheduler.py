"""The scheduler: phases open at their planned time and close at their deadline by themselves.

What is due is read from the database every time (a phase's ``opens_at`` and ``deadline_at``),
never kept in memory: PTB's JobQueue holds only one timer, for the next slot, and it is made
again at every start and after every transaction that moved a planned time (`wake`). A slot
that came due while the bot was stopped is due at the next start, and handled then, once.

**Once.** Each slot has a key with its time in it (``phase.close:12:2026-12-15T10:00:00+00:00``).
Its effect — the phase closed, the group's announcement queued, signing's document queued — is
written in one transaction together with the key in ``schedule_runs``; the key's primary key
lets exactly one run, in one instance, commit a slot (a second instance at the same instant
waits on the phase's row lock or the key, then finds it handled and rolls back). A moved
deadline is a new slot. Each kind of scheduled work — phases, ballot deadlines, reminders,
digests — is one `Source` in `SOURCES`: the slots it has, and what one does.

Time comes from `storage.models.utcnow` (the process clock the harness and the demo move).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Application, Job

from bot.errors import Refusal
from bot.i18n import _
from bot.phases import phase_name
from bot.services import ballots as ballot_service
from bot.services import notify, phase_flow
from bot.services import phases as phase_service
from bot.services import reminders as reminder_service
from bot.services.digests import DigestSource
from bot.services.slots import Slot, Source
from bot.services.tally_papers import PapersSource
from storage.db import Database, one_snapshot, run_after_commit
from storage.models import (
    Ballot,
    BallotStatus,
    Cluster,
    EmulationYear,
    Phase,
    Role,
    utcnow,
)
from storage.outbox import ENQUEUED
from storage.pledges import people_with_role
from storage.schedule import claim_slot, handled

log = logging.getLogger(__name__)

POLL = 60.0  # seconds between looks on PostgreSQL (a deadline another instance set)
RETRY = dt.timedelta(seconds=30)  # a slot that failed is tried again after this


class PhaseSource(Source):
    """Planned openings and deadlines of the phases of the clusters' current years."""

    names = ("phase.open", "phase.close")

    async def slots(self, session: AsyncSession, now: dt.datetime) -> list[Slot]:
        return await phase_slots(session)

    async def run(self, session: AsyncSession, slot: Slot, now: dt.datetime) -> str:
        year = await session.get(EmulationYear, slot.year_id)
        cluster = await session.get(Cluster, slot.cluster_id)
        change: phase_service.PhaseChange | None = None
        try:
            if slot.name == "phase.close":
                change = await phase_service.close_at_deadline(session, year, slot.kind, slot.at)
            else:
                change = await phase_service.open_as_planned(session, year, slot.kind, slot.at, now)
        except Refusal as refusal:
            await _tell_administrators(session, cluster, slot, refusal.message)
            return "refused"
        if change is None:
            return "skipped"
        # A deadline's close is dated at the deadline (from then on every action was refused);
        # an opening at the moment it actually happened.
        at = slot.at if slot.name == "phase.close" else now
        await phase_flow.announce(session, cluster, change, None, at)
        await phase_flow.after_change(session, cluster, slot.year_id, change, None, at)
        return "done"


class BallotSource(Source):
    """The deadlines of open ballots."""

    names = ("ballot.close",)

    async def slots(self, session: AsyncSession, now: dt.datetime) -> list[Slot]:
        return await ballot_slots(session)

    async def run(self, session: AsyncSession, slot: Slot, now: dt.datetime) -> str:
        closed = await ballot_service.close(session, None, slot.subject, now=slot.at, expected_deadline=slot.at)
        return "done" if closed is not None else "skipped"


class ReminderSource(Source):
    """Reminders of the open phases' deadlines to the late units (bot/services/reminders.py);
    `detail` is the reminder's label (``3d``, ``1d``, ``day``)."""

    names = (reminder_service.NAME,)

    async def slots(self, session: AsyncSession, now: dt.datetime) -> list[Slot]:
        return [Slot(reminder_service.NAME, p.phase_id, p.year_id, p.cluster_id, p.kind, p.at, p.label)
                for p in await reminder_service.planned(session, now)]  # fmt: skip

    async def run(self, session: AsyncSession, slot: Slot, now: dt.datetime) -> str:
        return await reminder_service.run_slot(session, slot.subject, slot.detail, slot.at, now)


async def phase_slots(session: AsyncSession) -> list[Slot]:
    """Every planned opening not done and every deadline of an open phase, in the clusters'
    current years (a later year started: the old one's plans are moot)."""
    latest = (
        select(EmulationYear.cluster_id, func.max(EmulationYear.year).label("year"))
        .group_by(EmulationYear.cluster_id)
        .subquery()
    )
    rows = await session.execute(
        select(Phase, EmulationYear.cluster_id)
        .join(EmulationYear, EmulationYear.id == Phase.year_id)
        .join(latest, and_(latest.c.cluster_id == EmulationYear.cluster_id, latest.c.year == EmulationYear.year))
        .where(
            Phase.closed_at.is_(None),
            or_(
                and_(Phase.opens_at.is_not(None), Phase.opened_at.is_(None)),
                and_(Phase.deadline_at.is_not(None), Phase.opened_at.is_not(None)),
            ),
        )
    )
    slots = []
    for phase, cluster_id in rows:
        if phase.opened_at is None and phase.opens_at is not None:
            slots.append(Slot("phase.open", phase.id, phase.year_id, cluster_id, phase.kind, phase.opens_at))
        elif phase.opened_at is not None and phase.deadline_at is not None:
            slots.append(Slot("phase.close", phase.id, phase.year_id, cluster_id, phase.kind, phase.deadline_at))
    return slots


async def ballot_slots(session: AsyncSession) -> list[Slot]:
    """The deadline of every open ballot."""
    rows = await session.execute(
        select(Ballot.id, Ballot.year_id, EmulationYear.cluster_id, Ballot.deadline_at)
        .join(EmulationYear, EmulationYear.id == Ballot.year_id)
        .where(Ballot.status == BallotStatus.OPEN, Ballot.deadline_at.is_not(None))
    )
    return [Slot("ballot.close", ballot_id, year_id, cluster_id, None, at)
            for ballot_id, year_id, cluster_id, at in rows.all()]  # fmt: skip


# Every source of slots: one more kind of scheduled work is one more entry here.
SOURCES: tuple[Source, ...] = (PhaseSource(), BallotSource(), PapersSource(), DigestSource(), ReminderSource())
_BY_NAME = {name: source for source in SOURCES for name in source.names}


async def due_slots(session: AsyncSession, now: dt.datetime) -> tuple[list[Slot], dt.datetime | None]:
    """The slots due at `now` not handled yet (earliest first), and when the next one comes;
    every source read in one snapshot (`one_snapshot`: on PostgreSQL a plan read across
    moments could pair a row's new values with its old object). `session` is a new one."""
    await one_snapshot(session)
    slots = [slot for source in SOURCES for slot in await source.slots(session, now)]
    done = await handled(session, (s.key for s in slots if s.at <= now))
    due = sorted((s for s in slots if s.at <= now and s.key not in done), key=lambda s: (s.at, s.subject, s.key))
    later = [s.at for s in slots if s.at > now]
    return due, min(later) if later else None


async def run_slot(session: AsyncSession, slot: Slot, now: dt.datetime) -> str:
    """Act on one slot in the caller's transaction: its source's outcome ("done", "skipped",
    "refused"), or "taken" (another run handled it first: the caller rolls back)."""
    outcome = await _BY_NAME[slot.name].run(session, slot, now)
    return outcome if await claim_slot(session, slot.key, outcome, now) else "taken"


async def _tell_administrators(session: AsyncSession, cluster: Cluster, slot: Slot, reason: str) -> None:
    admins = await people_with_role(session, cluster.id, Role.ADMIN)

    def render() -> str:
        return _("⚠️ <b>{phase}</b> could not open at its planned time: {reason}\nOpen it with /phase "
                 "when it is ready.").format(phase=phase_name(slot.kind), reason=reason)  # fmt: skip

    await notify.to_people(session, admins, f"{slot.key}:refused", render, cluster_id=cluster.id)


class Scheduler:
    """Runs the due slots, one transaction each; keeps one PTB timer for the next slot."""

    def __init__(self, app: Application, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.app = app
        self.clock = clock
        self._lock = asyncio.Lock()
        self._timer: Job | None = None
        self.runs = 0

    @property
    def db(self) -> Database:
        return self.app.bot_data["db"]

    def start(self) -> None:
        """A run at start (what fell due while the bot was stopped), then one timer at a time;
        on PostgreSQL also a slow poll, for plans another instance made."""
        queue = self.app.job_queue
        if queue is None:
            return
        queue.run_once(self._job, when=0, name="schedule-start")
        if not self.db.is_sqlite:
            queue.run_repeating(self._job, interval=POLL, first=POLL, name="schedule-poll")

    def wake(self) -> None:
        """A transaction moved a planned time: run what is due and plan the next timer."""
        if self.app.running:
            self.app.create_task(self.run(), name="schedule-wake")

    async def _job(self, context: Any) -> None:
        await self.run()

    async def run(self) -> int:
        """Handle every due slot (and those that come due meanwhile); the number handled by
        this run. A slot that failed is tried again in `RETRY` (it is still due, so no timer
        for a later slot would bring it back)."""
        handled_now = 0
        async with self._lock:
            upcoming: dt.datetime | None = None
            failed = False
            for _round in range(20):  # bounded: a clock far ahead would otherwise loop long
                async with self.db.session() as session:
                    due, upcoming = await due_slots(session, self.clock())
                if not due:
                    break
                for slot in due:
                    try:
                        handled_now += await self._run_one(slot, self.clock())
                    except Exception:  # one slot's failure never stops the others
                        failed = True
                        log.exception("scheduled %s could not be handled", slot.key)
                if failed:
                    break
            if failed:
                retry = self.clock() + RETRY
                upcoming = min(upcoming, retry) if upcoming is not None else retry
            self._plan(upcoming)
            self.runs += 1
        return handled_now

    async def _run_one(self, slot: Slot, now: dt.datetime) -> int:
        async with self.db.session() as session:
            outcome = await run_slot(session, slot, now)
            if outcome == "taken":
                await session.rollback()
                return 0
            queued = session.info.pop(ENQUEUED, False)
            await session.commit()
        queued = await run_after_commit(session, self.db) or queued
        log.info("scheduled %s: %s", slot.key, outcome)
        if queued:
            self.app.bot_data["outbox"].wake()
        return 1

    def _plan(self, due: dt.datetime | None) -> None:
        queue = self.app.job_queue
        if self._timer is not None:
            with contextlib.suppress(JobLookupError):  # it ran already (run_once jobs remove themselves)
                self._timer.schedule_removal()
            self._timer = None
        if due is None or queue is None or not self.app.running:
            return
        delay = max((due - self.clock()).total_seconds(), 0.5)
        self._timer = queue.run_once(self._job, when=delay, name="schedule-next")
