"""Who is acting, in which cluster, with which roles: computed once per action."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.permissions import Action, can, cluster_roles, require
from storage.people import roles_of


@dataclass(frozen=True)
class Actor:
    person_id: int
    cluster_id: int
    roles: frozenset[str]
    unit_ids: frozenset[int]  # the units this person represents in the cluster

    def may(self, action: Action) -> bool:
        return can(self.roles, action)

    def require(self, action: Action) -> None:
        """Raise a `Refusal` naming who may do it, unless this actor may."""
        require(self.roles, action)


async def actor_in(session: AsyncSession, person_id: int, cluster_id: int) -> Actor:
    views = await roles_of(session, person_id)
    return Actor(
        person_id=person_id,
        cluster_id=cluster_id,
        roles=frozenset(cluster_roles(views, cluster_id)),
        unit_ids=frozenset(
            v.unit_id
            for v in views
            if v.cluster_id == cluster_id and v.role == "representative" and v.unit_id is not None
        ),
    )
