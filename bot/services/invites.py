"""Invite links: create, revoke, open and accept (see bot/invites.py for the token rules)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot import invites as rules
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.services import notify
from bot.services.actors import Actor
from bot.services.audit import record
from bot.views import members
from storage.models import Cluster, Invite, Person, RoleAssignment, Unit
from storage.units import (
    active_representatives,
    invite_by_hash,
    invite_by_id,
    role_row,
    unit_in_cluster,
)


@dataclass(frozen=True)
class InviteOffer:
    invite_id: int
    cluster_id: int
    cluster_name: str
    role: str
    unit_name: str | None
    expires_at: dt.datetime


async def create_invite(
    session: AsyncSession, actor: Actor, *, role: str, unit_id: int | None, now: dt.datetime
) -> tuple[Invite, str]:
    """A new one-time link; returns the stored invite and the raw token (shown once)."""
    actor.require(Action.INVITE)
    if role == "representative":
        unit = await unit_in_cluster(session, actor.cluster_id, unit_id or 0)
        if unit is None:
            raise Refusal(_("That unit is not in this cluster (any more)."))
        if not unit.active:
            raise Refusal(_("This unit is deactivated; restore it in /units before inviting."))
    elif role == "secretariat":
        unit_id = None
    else:
        raise Refusal(_("Invites are for representatives and the secretariat only."))
    cluster = await session.get(Cluster, actor.cluster_id)
    days = int(cluster.settings.get("invite_valid_days", rules.DEFAULT_VALID_DAYS))
    token = rules.new_token()
    invite = Invite(
        cluster_id=actor.cluster_id,
        role=role,
        unit_id=unit_id,
        token_hash=rules.token_hash(token),
        created_by_person_id=actor.person_id,
        expires_at=now + dt.timedelta(days=days),
    )
    session.add(invite)
    await session.flush()
    record(
        session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
        action="invite.create", subject=f"invite:{invite.id}", role=role, unit_id=unit_id,
    )
    return invite, token


async def revoke_invite(session: AsyncSession, actor: Actor, invite_id: int, now: dt.datetime) -> Invite:
    actor.require(Action.INVITE)
    invite = await session.get(Invite, invite_id)
    if invite is None or invite.cluster_id != actor.cluster_id:
        raise Refusal(_("This invite link is not valid. Ask your cluster's administrator for a new one."))
    if invite.used_at is not None:
        raise Refusal(_("This link was already used; remove the person's role instead."))
    if invite.revoked_at is None:
        invite.revoked_at = now
        record(
            session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
            action="invite.revoke", subject=f"invite:{invite.id}",
        )
    return invite


async def open_invite(session: AsyncSession, token: str, now: dt.datetime) -> InviteOffer:
    """What the link offers, if it can still be used (nothing is changed yet)."""
    invite = await invite_by_hash(session, rules.token_hash(token)) if rules.looks_like_token(token) else None
    return await _offer(session, invite, now)


async def accept_invite(
    session: AsyncSession, invite_id: int, person_id: int, now: dt.datetime
) -> InviteOffer:
    """The person confirmed: they get the role and the link is used up."""
    invite = await invite_by_id(session, invite_id)
    offer = await _offer(session, invite, now)
    if invite.role == "representative":
        cluster = await session.get(Cluster, invite.cluster_id)
        limit = int(cluster.settings.get("max_representatives", rules.DEFAULT_MAX_REPRESENTATIVES))
        existing = await role_row(session, invite.cluster_id, person_id, invite.role, invite.unit_id)
        if existing is not None and existing.active:
            raise Refusal(_("You already represent this unit."))
        if await active_representatives(session, invite.unit_id) >= limit:
            raise Refusal(
                _("This unit already has {limit} representatives, the most the cluster allows. "
                  "Ask the administrator.").format(limit=limit)
            )
    else:
        existing = await role_row(session, invite.cluster_id, person_id, invite.role, None)
        if existing is not None and existing.active:
            raise Refusal(_("You already have this role in the cluster."))
    if existing is not None:
        existing.active, existing.revoked_at = True, None
    else:
        session.add(
            RoleAssignment(
                cluster_id=invite.cluster_id, person_id=person_id, role=invite.role, unit_id=invite.unit_id
            )
        )
    invite.used_at, invite.used_by_person_id = now, person_id
    record(
        session, cluster_id=invite.cluster_id, actor_person_id=person_id,
        action="invite.accept", subject=f"invite:{invite.id}", role=invite.role, unit_id=invite.unit_id,
    )
    await session.flush()
    person = await session.get(Person, person_id)
    cluster = await session.get(Cluster, invite.cluster_id)
    await notify.to_group(session, cluster, f"invite.accepted:{invite.id}",
                          lambda: members.joined(person.full_name, offer.role, offer.unit_name))  # fmt: skip
    return offer


async def _offer(session: AsyncSession, invite: Invite | None, now: dt.datetime) -> InviteOffer:
    unit = await session.get(Unit, invite.unit_id) if invite is not None and invite.unit_id else None
    state = None
    if invite is not None:
        state = rules.InviteState(
            expires_at=invite.expires_at, used_at=invite.used_at, revoked_at=invite.revoked_at,
            unit_active=None if unit is None else unit.active,
        )
    rules.check_usable(state, now)
    cluster = await session.get(Cluster, invite.cluster_id)
    return InviteOffer(
        invite_id=invite.id, cluster_id=cluster.id, cluster_name=cluster.name, role=invite.role,
        unit_name=unit.name if unit else None, expires_at=invite.expires_at,
    )
