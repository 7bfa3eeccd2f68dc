"""The secretariat's digest as a use case: when it is due, what it says, who gets it.

**When.** `DigestSource` is one of the scheduler's sources. While a phase is open, a daily slot
at each cluster's digest time (default 08:00 in the cluster's time zone; `bot.digest
.DigestSettings`: time, days, off) — on Mondays the weekly summary instead — and, `SETTLE`
after each phase change (an opening or a close), the phase change's digest. Slots are per
*moment*, not per cluster: the 08:00 of every cluster in Hồ Chí Minh City is one slot, and its
run serves them all.

**Scale.** A run reads every cluster it serves with a fixed number of statements whatever the
number of clusters or units (`round_facts`: one per table, grouped by cluster, the cluster ids
written into the statement), then queues the messages through `notify` — one outbox row per
recipient whose digest changed, all in one INSERT (`notify.Batch`; one per 500 rows), in the
slot's transaction — and the sender spreads them within
Telegram's limits.

**Only when something changed.** Each recipient's last digest fingerprint is kept in
``digest_sent``; a digest that would say the same is not queued (the weekly summary goes once a
week whatever changed; `/digest` always answers).

**Who.** Each active secretariat member in private (`Action.RECEIVE_DIGEST`), each one's
deputy while the delegation lasts, and the secretariat chat registered with `/secretariat`.
A cluster with none of them has no digest slots at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot import digest as rules
from bot.errors import Refusal
from bot.i18n import _, fallback_locale
from bot.permissions import PERMISSIONS, Action
from bot.phases import DEFAULT_TZ, PhaseView
from bot.services import notify
from bot.services.actors import Actor
from bot.services.audit import record
from bot.services.phases import cluster_timezone, view
from bot.views import digest as words
from storage.db import offloaded
from storage.models import (
    Adjustment,
    Ballot,
    BallotStatus,
    Cluster,
    DigestDeputy,
    DigestSent,
    EmulationYear,
    Person,
    Phase,
    Pledge,
    RoleAssignment,
    ScoreEntry,
    ScoreRound,
    ScoreSheet,
    SecretariatChat,
    Unit,
    VoterRegister,
    utcnow,
)
from storage.outbox import count_parked_by_cluster
from storage.schedule import schedule_changed

if TYPE_CHECKING:
    from bot.services.slots import Slot

DAILY, WEEKLY, PHASE = "digest.daily", "digest.weekly", "digest.phase"
_VARIANTS = {DAILY: rules.Variant.DAILY, WEEKLY: rules.Variant.WEEKLY, PHASE: rules.Variant.PHASE}
CHANGE_WINDOW = dt.timedelta(days=2)  # a phase change older than this (the bot stopped long) has no digest of its own


def _ids(column, ids: Collection[int]):
    """`column IN (…)` with the ids written into the statement: one statement for any number
    of clusters (no bound-parameter limit), and safe, since they are our own integers."""
    return column.in_(bindparam(f"ids_{column.table.name}_{column.key}", sorted(set(ids)), expanding=True,
                                literal_execute=True))  # fmt: skip


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else DEFAULT_TZ
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_TZ


@dataclass
class ClusterYear:
    """A cluster and its current year, as a round reads it."""

    id: int
    name: str
    locale: str
    tz: ZoneInfo
    settings: rules.DigestSettings
    year_id: int | None = None
    year: int | None = None
    views: list[PhaseView] = field(default_factory=list)

    def open_at(self, at: dt.datetime) -> bool:
        return any(v.opened_at is not None and v.opened_at <= at and (v.closed_at is None or v.closed_at > at)
                   for v in self.views)  # fmt: skip

    def changes(self) -> set[dt.datetime]:
        return {t for v in self.views for t in (v.opened_at, v.closed_at) if t is not None}


async def current_years(session: AsyncSession, cluster_ids: Collection[int] | None = None) -> dict[int, ClusterYear]:
    """Every cluster (or those of `cluster_ids`) with its current year and phases: two statements."""
    latest = (
        select(EmulationYear.cluster_id, func.max(EmulationYear.year).label("year"))
        .group_by(EmulationYear.cluster_id)
        .subquery()
    )
    stmt = (
        select(Cluster.id, Cluster.name, Cluster.locale, Cluster.timezone, Cluster.settings, EmulationYear.id,
               EmulationYear.year)  # fmt: skip
        .outerjoin(latest, latest.c.cluster_id == Cluster.id)
        .outerjoin(EmulationYear, (EmulationYear.cluster_id == Cluster.id) & (EmulationYear.year == latest.c.year))
    )
    if cluster_ids is not None:
        stmt = stmt.where(_ids(Cluster.id, cluster_ids))
    found: dict[int, ClusterYear] = {}
    for cid, name, locale, tz, settings, year_id, year in (await session.execute(stmt)).all():
        found[cid] = ClusterYear(cid, name, locale or fallback_locale(), _zone(tz),
                                 rules.DigestSettings.of(settings), year_id, year)  # fmt: skip
    by_year = {c.year_id: c for c in found.values() if c.year_id is not None}
    phases = select(Phase).join(EmulationYear, EmulationYear.id == Phase.year_id).join(
        latest, (latest.c.cluster_id == EmulationYear.cluster_id) & (latest.c.year == EmulationYear.year))
    if cluster_ids is not None:
        phases = phases.where(_ids(EmulationYear.cluster_id, cluster_ids))
    for phase in (await session.scalars(phases.order_by(Phase.id))).all():
        if phase.year_id in by_year:
            by_year[phase.year_id].views.append(view(phase))
    return found


# ------------------------------------------------------------------------------ the round's facts


async def round_facts(session: AsyncSession, clusters: Iterable[ClusterYear], now: dt.datetime) -> dict[int, rules.Snapshot]:  # fmt: skip
    """The digest of each cluster: seven statements for all of them, none per unit or cluster."""
    clusters = list(clusters)
    if not clusters:
        return {}
    ids = [c.id for c in clusters]
    year_ids = [c.year_id for c in clusters if c.year_id is not None] or [0]
    units: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for cid, uid, name in (await session.execute(
        select(Unit.cluster_id, Unit.id, Unit.name).where(_ids(Unit.cluster_id, ids), Unit.active.is_(True))
        .order_by(Unit.cluster_id, Unit.position, Unit.id)
    )).all():  # fmt: skip
        units[cid].append((uid, name))
    pledges = dict((await session.execute(
        select(Pledge.unit_id, Pledge.status).where(_ids(Pledge.year_id, year_ids))
    )).all())  # fmt: skip
    sheets = dict((await session.execute(
        select(ScoreSheet.unit_id, ScoreSheet.status).where(_ids(ScoreSheet.year_id, year_ids),
                                                            ScoreSheet.round == ScoreRound.YEAREND)
    )).all())  # fmt: skip
    disputes = await _waiting_disputes(session, year_ids)
    ballots: dict[int, list] = defaultdict(list)
    for ballot in (await session.execute(
        select(Ballot.id, Ballot.year_id, Ballot.kind, Ballot.label, Ballot.round, Ballot.deadline_at)
        .where(_ids(Ballot.year_id, year_ids), Ballot.status == BallotStatus.OPEN)
    )).all():  # fmt: skip
        ballots[ballot.year_id].append(ballot)
    cast: dict[int, set[int]] = defaultdict(set)
    open_ballots = select(Ballot.id).where(_ids(Ballot.year_id, year_ids), Ballot.status == BallotStatus.OPEN)
    for ballot_id, unit_id in (await session.execute(
        select(VoterRegister.ballot_id, VoterRegister.unit_id)
        .where(VoterRegister.ballot_id.in_(open_ballots), VoterRegister.cast_at.is_not(None))
    )).all():  # fmt: skip
        cast[ballot_id].add(unit_id)
    parked = await count_parked_by_cluster(session, bindparam("ids_parked", sorted(ids), expanding=True,
                                                                       literal_execute=True))  # fmt: skip
    found = {}
    for cluster in clusters:
        facts = rules.ClusterFacts(
            name=cluster.name,
            year=cluster.year,
            views=cluster.views,
            units=units[cluster.id],
            pledges=pledges,
            sheets=sheets,
            disputes=disputes.get(cluster.year_id, ()),
            ballots=[rules.BallotFacts(b.id, b.kind, b.label, b.round, b.deadline_at, frozenset(cast[b.id]))
                     for b in ballots.get(cluster.year_id, [])],  # fmt: skip
            parked=parked.get(cluster.id, 0),
        )
        found[cluster.id] = rules.snapshot(facts, now)
    return found


async def _waiting_disputes(session: AsyncSession, year_ids: Collection[int]) -> dict[int, list[int]]:
    """Per year, the unit of each dispute waiting for a decision: an entry's standing adjustment
    (its latest, while the verified value differs from the self score: as
    `verification.live_adjustment`) explained and not decided."""
    rows = (await session.execute(
        select(ScoreSheet.year_id, ScoreSheet.unit_id, ScoreEntry.id, ScoreEntry.self_value,
               ScoreEntry.verified_value, Adjustment.to_value, Adjustment.explanation.is_not(None),
               Adjustment.decided_value.is_not(None))
        .join(ScoreEntry, ScoreEntry.sheet_id == ScoreSheet.id)
        .join(Adjustment, Adjustment.entry_id == ScoreEntry.id)
        .where(_ids(ScoreSheet.year_id, year_ids), ScoreSheet.round == ScoreRound.YEAREND)
        .order_by(ScoreEntry.id, Adjustment.id)
    )).all()  # fmt: skip
    latest = {}
    for row in rows:
        latest[row[2]] = row  # ordered by adjustment: the last one stands
    found: dict[int, list[int]] = defaultdict(list)
    for year_id, unit_id, _entry, self_value, verified, to_value, explained, decided in latest.values():
        live = verified is not None and verified != self_value and to_value == verified
        if live and explained and not decided:
            found[year_id].append(unit_id)
    return found


# ------------------------------------------------------------------------------ recipients


@dataclass
class Recipients:
    people: list[Person] = field(default_factory=list)  # the secretariat, then deputies
    chat_id: int | None = None  # the secretariat chat


async def recipients(session: AsyncSession, cluster_ids: Collection[int], now: dt.datetime) -> dict[int, Recipients]:
    """Who gets each cluster's digest: three statements for all clusters."""
    roles = [str(r) for r in PERMISSIONS[Action.RECEIVE_DIGEST]]
    found: dict[int, Recipients] = defaultdict(Recipients)
    members: dict[int, set[int]] = defaultdict(set)
    for cid, person in (await session.execute(
        select(RoleAssignment.cluster_id, Person).join(Person, Person.id == RoleAssignment.person_id)
        .where(_ids(RoleAssignment.cluster_id, cluster_ids), RoleAssignment.role.in_(roles),
               RoleAssignment.active.is_(True))
        .order_by(RoleAssignment.cluster_id, Person.full_name, Person.id)
    )).all():  # fmt: skip
        if person.id not in members[cid]:
            members[cid].add(person.id)
            found[cid].people.append(person)
    for cid, member_id, person in (await session.execute(
        select(DigestDeputy.cluster_id, DigestDeputy.member_person_id, Person)
        .join(Person, Person.id == DigestDeputy.deputy_person_id)
        .where(_ids(DigestDeputy.cluster_id, cluster_ids), DigestDeputy.starts_at <= now, DigestDeputy.ends_at > now,
               DigestDeputy.ended_at.is_(None))
        .order_by(DigestDeputy.id)
    )).all():  # fmt: skip
        if member_id in members[cid] and all(p.id != person.id for p in found[cid].people):
            found[cid].people.append(person)  # a member who left the secretariat: their deputy lapses
    for cid, chat_id in (await session.execute(
        select(SecretariatChat.cluster_id, SecretariatChat.chat_id).where(_ids(SecretariatChat.cluster_id, cluster_ids))
    )).all():  # fmt: skip
        found[cid].chat_id = chat_id
    return found


async def _last_sent(session: AsyncSession, cluster_ids: Collection[int]) -> dict[tuple[int, int], tuple[str, str | None]]:  # fmt: skip
    rows = await session.execute(
        select(DigestSent.cluster_id, DigestSent.chat_id, DigestSent.fingerprint, DigestSent.week)
        .where(_ids(DigestSent.cluster_id, cluster_ids))
    )
    return {(cid, chat): (fp, week) for cid, chat, fp, week in rows.all()}


async def _remember(session: AsyncSession, rows: list[dict]) -> None:
    """Upsert what was sent to whom, in one statement (executemany)."""
    if not rows:
        return
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(DigestSent.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["cluster_id", "chat_id"],
        set_={"fingerprint": stmt.excluded.fingerprint, "sent_at": stmt.excluded.sent_at,
              "week": func.coalesce(stmt.excluded.week, DigestSent.__table__.c.week)},  # fmt: skip
    )
    connection = await session.connection()
    await connection.execute(stmt, rows)


# ------------------------------------------------------------------------------ a round


async def send_round(session: AsyncSession, clusters: list[ClusterYear], variant: rules.Variant, key: str,
                     now: dt.datetime, week: str | None = None) -> int:  # fmt: skip
    """Queue the digest of each cluster to each recipient it says something new to; the
    number of messages queued. Bounded statements: the messages are queued together
    (`notify.Batch`), one INSERT per `storage.outbox.CHUNK` of them."""
    if not clusters:
        return 0
    ids = [c.id for c in clusters]
    snapshots = await round_facts(session, clusters, now)
    who = await recipients(session, ids, now)
    last = await _last_sent(session, ids)
    remembered: list[dict] = []
    batch = notify.Batch()
    for cluster in clusters:
        snap, to = snapshots[cluster.id], who.get(cluster.id)
        if to is None:
            continue
        fp = rules.fingerprint(snap)

        def due(chat_id: int, fp: str = fp, cid: int = cluster.id) -> bool:
            before, before_week = last.get((cid, chat_id), (None, None))
            return rules.should_send(variant, fp, before, week, before_week)

        def render(snap: rules.Snapshot = snap, tz: ZoneInfo = cluster.tz) -> str:
            return words.digest_text(snap, variant, now, tz)

        people = [p for p in to.people if due(p.telegram_user_id)]
        event = f"digest:{cluster.id}:{key}"
        batch.people(people, event, render, cluster_id=cluster.id)
        remembered += [{"cluster_id": cluster.id, "chat_id": p.telegram_user_id, "fingerprint": fp, "week": week,
                        "sent_at": now} for p in people]  # fmt: skip
        if to.chat_id is not None and due(to.chat_id):
            batch.chat(to.chat_id, cluster.locale, event, render, cluster_id=cluster.id)
            remembered.append({"cluster_id": cluster.id, "chat_id": to.chat_id, "fingerprint": fp, "week": week,
                               "sent_at": now})  # fmt: skip
    queued = await batch.flush(session)
    await _remember(session, remembered)
    return queued


async def _with_recipients(session: AsyncSession) -> set[int]:
    """The clusters with someone to read a digest (a secretariat member, a secretariat chat):
    the others have no slots."""
    roles = [str(r) for r in PERMISSIONS[Action.RECEIVE_DIGEST]]
    members = select(RoleAssignment.cluster_id).where(RoleAssignment.role.in_(roles), RoleAssignment.active.is_(True))
    return set((await session.scalars(members.union(select(SecretariatChat.cluster_id)))).all())


def _daily_due(cluster: ClusterYear, at: dt.datetime, name: str) -> bool:
    day = at.astimezone(cluster.tz).date()
    variant = rules.variant_on(cluster.settings, day)
    return (variant is not None and _VARIANTS[name] is variant
            and rules.daily_instant(cluster.settings, cluster.tz, day) == at and cluster.open_at(at))  # fmt: skip


def _changed_at(cluster: ClusterYear, at: dt.datetime) -> bool:
    return cluster.settings.enabled and any(t + rules.SETTLE == at for t in cluster.changes())


class DigestSource:
    """The digests' slots (see the module docstring): ``digest.daily`` / ``digest.weekly`` at
    a moment, for every cluster whose digest time it is; ``digest.phase`` `SETTLE` after a
    phase change, for every cluster that changed then. A `scheduler.Source` by its shape (the
    scheduler imports this module for `SOURCES`, so it cannot import the scheduler first)."""

    names = (DAILY, WEEKLY, PHASE)

    async def slots(self, session: AsyncSession, now: dt.datetime) -> list[Slot]:
        from bot.services.slots import Slot

        daily: set[tuple[str, dt.datetime]] = set()
        changed: dict[dt.datetime, set[int]] = defaultdict(set)
        served = await _with_recipients(session)
        for cluster in (await current_years(session)).values():
            if not cluster.settings.enabled or cluster.year_id is None or cluster.id not in served:
                continue
            planned = any(v.is_open or (v.opened_at is None and v.opens_at is not None) for v in cluster.views)
            for at, variant in rules.daily_slots(cluster.settings, cluster.tz, now):
                if cluster.open_at(at) or (at > now and planned):
                    daily.add((WEEKLY if variant is rules.Variant.WEEKLY else DAILY, at))
            for at in cluster.changes():
                if now - at <= CHANGE_WINDOW:
                    changed[at + rules.SETTLE].add(cluster.id)
        slots = [Slot(name, 0, None, 0, None, at) for name, at in daily]
        # The clusters in the key: one that changes at the same moment later (a retried close)
        # makes a new slot; those served already find their digest unchanged.
        slots += [Slot(PHASE, 0, None, 0, None, at, hashlib.sha256(repr(sorted(ids)).encode()).hexdigest()[:12])
                  for at, ids in changed.items()]  # fmt: skip
        return slots

    async def run(self, session: AsyncSession, slot: Slot, now: dt.datetime) -> str:
        with offloaded():  # a round reads every cluster: off the event loop (storage.db.offloaded)
            return await self._run(session, slot, now)

    async def _run(self, session: AsyncSession, slot: Slot, now: dt.datetime) -> str:
        clusters = [c for c in (await current_years(session)).values() if c.year_id is not None]
        if slot.name == PHASE:
            due = [c for c in clusters if _changed_at(c, slot.at)]
            week = None
        else:
            due = [c for c in clusters if _daily_due(c, slot.at, slot.name)]
            week = rules.week_of(slot.at.astimezone(due[0].tz).date()) if due and slot.name == WEEKLY else None
        if not due:
            return "skipped"
        await send_round(session, due, _VARIANTS[slot.name], slot.key, now, week)
        return "done"


# ------------------------------------------------------------------------------ /digest


async def digest_now(session: AsyncSession, actor: Actor, person: Person) -> tuple[rules.Snapshot, ZoneInfo]:
    """The cluster's digest for /digest; it counts as the person's last one (tomorrow's says
    only what is new)."""
    actor.require(Action.VIEW_DIGEST)
    now = utcnow()
    clusters = await current_years(session, [actor.cluster_id])
    cluster = clusters[actor.cluster_id]
    snap = (await round_facts(session, [cluster], now))[cluster.id]
    await _remember(session, [{"cluster_id": cluster.id, "chat_id": person.telegram_user_id,
                               "fingerprint": rules.fingerprint(snap), "week": None, "sent_at": now}])  # fmt: skip
    return snap, cluster.tz


async def change_settings(session: AsyncSession, actor: Actor, cluster: Cluster, *, hour: int | None = None,
                          day: int | None = None, on: bool | None = None) -> rules.DigestSettings:  # fmt: skip
    actor.require(Action.CONFIGURE_DIGEST)
    before = rules.DigestSettings.of(cluster.settings)
    after = before
    if hour is not None:
        after = rules.DigestSettings(dt.time(hour), after.days, after.enabled)
    if day is not None:
        after = after.with_day(day)
    if on is not None:
        after = rules.DigestSettings(after.at, after.days, on)
    if after != before:
        cluster.settings = {**(cluster.settings or {}), **after.stored()}
        record(session, cluster_id=cluster.id, actor_person_id=actor.person_id, action="digest.settings",
               subject=f"cluster:{cluster.id}", **after.stored())  # fmt: skip
        schedule_changed(session)  # the next digest's moment moved
    return after


def settings_of(actor: Actor, cluster: Cluster) -> rules.DigestSettings:
    actor.require(Action.CONFIGURE_DIGEST)
    return rules.DigestSettings.of(cluster.settings)


# ------------------------------------------------------------------------------ /secretariat


async def clusters_for_chat(session: AsyncSession, person_id: int) -> list[Cluster]:
    """The clusters in which this person may register a secretariat chat."""
    roles = [str(r) for r in PERMISSIONS[Action.REGISTER_SECRETARIAT_CHAT]]
    rows = await session.scalars(
        select(Cluster).join(RoleAssignment, RoleAssignment.cluster_id == Cluster.id)
        .where(RoleAssignment.person_id == person_id, RoleAssignment.active.is_(True), RoleAssignment.role.in_(roles))
        .order_by(Cluster.name, Cluster.id)
    )  # fmt: skip
    return list(dict.fromkeys(rows.all()))


async def register_chat(session: AsyncSession, actor: Actor, cluster: Cluster, chat_id: int, title: str) -> bool:
    """This chat becomes the cluster's secretariat chat (replacing another); False when it was already."""
    actor.require(Action.REGISTER_SECRETARIAT_CHAT)
    bound = await session.scalar(select(Cluster.id).where(Cluster.telegram_chat_id == chat_id))
    if bound is not None:
        raise Refusal(_("This is a cluster's own group, where every unit reads: the digest names the units "
                        "not done, so it goes to a chat of the secretariat only. Send /secretariat there."))  # fmt: skip
    row = await session.get(SecretariatChat, cluster.id)
    if row is not None and row.chat_id == chat_id:
        return False
    before = row.chat_id if row is not None else None
    if row is None:
        row = SecretariatChat(cluster_id=cluster.id, chat_id=chat_id)
        session.add(row)
    row.chat_id, row.title, row.registered_by_person_id, row.registered_at = chat_id, title[:300], actor.person_id, utcnow()
    record(session, cluster_id=cluster.id, actor_person_id=actor.person_id, action="digest.secretariat_chat",
           subject=f"cluster:{cluster.id}", chat_id=chat_id, before=before)  # fmt: skip
    return True


# ------------------------------------------------------------------------------ deputies


@dataclass(frozen=True)
class Delegation:
    id: int
    deputy_id: int
    deputy_name: str
    ends_at: dt.datetime


async def delegations(session: AsyncSession, actor: Actor, now: dt.datetime | None = None) -> list[Delegation]:
    """The actor's delegations in force."""
    actor.require(Action.RECEIVE_DIGEST)
    now = now or utcnow()
    rows = await session.execute(
        select(DigestDeputy.id, Person.id, Person.full_name, DigestDeputy.ends_at)
        .join(Person, Person.id == DigestDeputy.deputy_person_id)
        .where(DigestDeputy.cluster_id == actor.cluster_id, DigestDeputy.member_person_id == actor.person_id,
               DigestDeputy.ended_at.is_(None), DigestDeputy.ends_at > now)
        .order_by(DigestDeputy.id)
    )  # fmt: skip
    return [Delegation(*row) for row in rows.all()]


async def deputy_candidates(session: AsyncSession, actor: Actor) -> list[tuple[int, str]]:
    """People with a role in the cluster, other than the actor: (id, name)."""
    actor.require(Action.RECEIVE_DIGEST)
    rows = await session.execute(
        select(Person.id, Person.full_name).join(RoleAssignment, RoleAssignment.person_id == Person.id)
        .where(RoleAssignment.cluster_id == actor.cluster_id, RoleAssignment.active.is_(True),
               Person.id != actor.person_id)
        .order_by(Person.full_name, Person.id)
    )  # fmt: skip
    return list(dict.fromkeys(rows.all()))


async def _candidate(session: AsyncSession, actor: Actor, person_id: int) -> Person:
    if person_id == actor.person_id:
        raise Refusal(_("You receive your digests already; choose someone else."))
    person = await session.get(Person, person_id)
    member = await session.scalar(
        select(RoleAssignment.id).where(RoleAssignment.cluster_id == actor.cluster_id,
                                        RoleAssignment.person_id == person_id, RoleAssignment.active.is_(True)).limit(1)
    )  # fmt: skip
    if person is None or member is None:
        raise Refusal(_("That person has no role in this cluster any more."))
    return person


async def deputy_to_name(session: AsyncSession, actor: Actor, person_id: int) -> Person:
    """The person chosen, checked (before asking until when)."""
    actor.require(Action.RECEIVE_DIGEST)
    return await _candidate(session, actor, person_id)


async def name_deputy(session: AsyncSession, actor: Actor, cluster: Cluster, person_id: int, days: int) -> Delegation:
    """`person_id` receives the actor's digests from now until the end of the local day `days`
    from today; a delegation to the same person still in force is replaced. The deputy is told."""
    actor.require(Action.RECEIVE_DIGEST)
    if not 1 <= days <= 90:
        raise Refusal(_("A delegation lasts from one day to 90 days."))
    person = await _candidate(session, actor, person_id)
    now = utcnow()
    tz = cluster_timezone(cluster)
    last_day = now.astimezone(tz).date() + dt.timedelta(days=days)
    ends_at = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    for earlier in (await session.scalars(
        select(DigestDeputy).where(DigestDeputy.cluster_id == cluster.id, DigestDeputy.member_person_id == actor.person_id,
                                   DigestDeputy.deputy_person_id == person_id, DigestDeputy.ended_at.is_(None),
                                   DigestDeputy.ends_at > now)
    )).all():  # fmt: skip
        earlier.ended_at = now
    row = DigestDeputy(cluster_id=cluster.id, member_person_id=actor.person_id, deputy_person_id=person_id,
                       starts_at=now, ends_at=ends_at)  # fmt: skip
    session.add(row)
    await session.flush()
    record(session, cluster_id=cluster.id, actor_person_id=actor.person_id, action="digest.deputy",
           subject=f"deputy:{row.id}", deputy_person_id=person_id, ends_at=ends_at)  # fmt: skip
    member = await session.get(Person, actor.person_id)
    await notify.to_people(session, [person], f"digest.deputy:{row.id}",
                           lambda: words.deputy_told(member.full_name, cluster.name, ends_at, tz),
                           cluster_id=cluster.id)  # fmt: skip
    return Delegation(row.id, person.id, person.full_name, ends_at)


async def end_deputy(session: AsyncSession, actor: Actor, delegation_id: int) -> Delegation:
    actor.require(Action.RECEIVE_DIGEST)
    row = await session.get(DigestDeputy, delegation_id)
    now = utcnow()
    if row is None or row.member_person_id != actor.person_id or row.cluster_id != actor.cluster_id:
        raise Refusal(_("This button is no longer valid. Please use the newest message, or type /help."))
    if row.ended_at is not None or row.ends_at <= now:
        raise Refusal(_("That delegation has ended already."))
    row.ended_at = now
    record(session, cluster_id=row.cluster_id, actor_person_id=actor.person_id, action="digest.deputy_end",
           subject=f"deputy:{row.id}")  # fmt: skip
    person = await session.get(Person, row.deputy_person_id)
    return Delegation(row.id, person.id, person.full_name, row.ends_at)
