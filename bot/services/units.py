"""Member units: add from a pasted list, rename, deactivate and restore."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot import units as rules
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.services.actors import Actor
from bot.services.audit import record
from storage.models import Unit
from storage.units import next_position, unit_in_cluster, units_of


async def add_units(session: AsyncSession, actor: Actor, text: str) -> list[Unit]:
    actor.require(Action.MANAGE_UNITS)
    existing = await units_of(session, actor.cluster_id)
    names = rules.require_new_names(text, [u.name for u in existing])
    position = await next_position(session, actor.cluster_id)
    added = [Unit(cluster_id=actor.cluster_id, name=n, position=position + i) for i, n in enumerate(names)]
    session.add_all(added)
    await session.flush()
    record(
        session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
        action="units.add", subject=f"cluster:{actor.cluster_id}", names=names,
    )
    return added


async def rename_unit(session: AsyncSession, actor: Actor, unit_id: int, name: str) -> Unit:
    actor.require(Action.MANAGE_UNITS)
    unit = await _unit(session, actor, unit_id)
    others = [u.name for u in await units_of(session, actor.cluster_id) if u.id != unit.id]
    new_name = rules.require_rename(name, others)
    record(
        session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
        action="units.rename", subject=f"unit:{unit.id}", before=unit.name, after=new_name,
    )
    unit.name = new_name
    await session.flush()
    return unit


async def set_active(session: AsyncSession, actor: Actor, unit_id: int, active: bool) -> Unit:
    """Deactivate (or restore) a unit: it keeps its history and stops receiving ballots."""
    actor.require(Action.MANAGE_UNITS)
    unit = await _unit(session, actor, unit_id)
    if unit.active != active:
        unit.active = active
        record(
            session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
            action="units.activate" if active else "units.deactivate", subject=f"unit:{unit.id}",
        )
        await session.flush()
    return unit


async def _unit(session: AsyncSession, actor: Actor, unit_id: int) -> Unit:
    unit = await unit_in_cluster(session, actor.cluster_id, unit_id)
    if unit is None:
        raise Refusal(_("That unit is not in this cluster (any more)."))
    return unit
