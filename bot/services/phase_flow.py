"""What follows a change of phase, however it came about (a button, a typed deadline, the
schedule): the group is told, signing's effects run, and the scheduler replans.

All of it is written in the change's own transaction (outbox rows, the frozen pledge), so a
change that rolls back leaves no announcement behind, and one that commits always has it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import notify
from bot.services.phases import PhaseChange, cluster_timezone
from bot.views.phases import announcement
from storage.models import Cluster, PhaseKind


def event_key(cluster_id: int, change: PhaseChange, now: dt.datetime) -> str:
    """One announcement per change: the cluster, what was done to which phase, and when."""
    return f"phase.{change.action}:{cluster_id}:{change.kind.value}:{now.isoformat()}"


async def announce(session: AsyncSession, cluster: Cluster, change: PhaseChange,
                   who: str | None, now: dt.datetime) -> None:  # fmt: skip
    """Queue the group's news of `change` (`who` made it; None: the schedule did)."""
    tz = cluster_timezone(cluster)
    await notify.to_group(session, cluster, event_key(cluster.id, change, now),
                          lambda: announcement(change, who, tz, now))  # fmt: skip


def closes_signing(change: PhaseChange) -> bool:
    return (change.action == "close" and change.kind == PhaseKind.SIGNING) or change.closed == PhaseKind.SIGNING


def opens_signing(change: PhaseChange) -> bool:
    return change.kind == PhaseKind.SIGNING and change.action in ("open", "reopen", "step_back")


async def after_change(session: AsyncSession, cluster: Cluster, year_id: int, change: PhaseChange,
                       by_person_id: int | None, now: dt.datetime) -> None:  # fmt: skip
    """Signing's effects of a change: the pledge frozen and its document queued when signing
    ends (however it ends), the group's signing board posted when it opens."""
    from bot.services import (
        pledges,  # pledges import the phases' guard: import here, not at the top
    )

    if closes_signing(change):
        await pledges.signing_closed(session, year_id, now, by_person_id=by_person_id)
    elif opens_signing(change):
        await pledges.signing_opened(session, cluster.id, year_id)
