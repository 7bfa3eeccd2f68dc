"""What the scheduler works with (`bot/services/scheduler.py`): a `Slot` — one planned act at
one time, recorded once in ``schedule_runs`` by its key — and a `Source` of slots. Apart from
the scheduler so that any service can define a source without importing the scheduler.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PhaseKind


@dataclass(frozen=True)
class Slot:
    """One planned act at one time. `name` says what (``phase.open``, ``phase.close``,
    ``ballot.close``, a reminder, a digest) and which source acts on it; `subject` is the row
    it is about (a phase, a ballot...); `detail` tells apart slots of one subject at one time
    (a reminder's recipient unit, say). The key — name, subject, detail, time — is what
    ``schedule_runs`` records once."""

    name: str
    subject: int
    year_id: int | None
    cluster_id: int
    kind: PhaseKind | None
    at: dt.datetime
    detail: str = ""

    @property
    def key(self) -> str:
        detail = f":{self.detail}" if self.detail else ""
        return f"{self.name}:{self.subject}{detail}:{self.at.isoformat()}"

    @property
    def phase_id(self) -> int:  # the subject of a phase's slot (older name, kept for readers)
        return self.subject


class Source:
    """A kind of scheduled work: which slots exist (read from the database every time), and
    what one does, in the caller's transaction. `run` returns "done", "skipped" (the plan
    changed since it was read) or "refused" (the rules said no); the scheduler then records
    the slot once (`claim_slot`) or rolls back if another run took it."""

    names: tuple[str, ...] = ()

    async def slots(self, session: AsyncSession, now: dt.datetime) -> list[Slot]:
        raise NotImplementedError

    async def run(self, session: AsyncSession, slot: Slot, now: dt.datetime) -> str:
        raise NotImplementedError


