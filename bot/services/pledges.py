"""Pledges as use cases: draft, submit, review, sign, conclude, amend, and the document.

Every function checks who acts (`Actor.require` and the unit they represent), the pledge's
status (`bot.pledges.check`) and the phase (`require_phase`, the guard), then writes. Changes
that a button or a typed step made on a version of the pledge carry that version: if the
pledge moved on meanwhile (another representative of the unit, or the chair) the change is
refused with `StaleDraft`, never merged silently. The same holds at the database: `Pledge`
has a `version_id_col`, so two transactions racing on one version cannot both write; the
loser's `StaleDataError` becomes the same `StaleDraft`.

Signing of the year is *concluded* when every active unit has signed, or when the chair
closes signing; then the signed pledges form the cluster's pledge document. Units that had
not signed by then stay as they were (the document says "not signed"): a signature is never
recorded for a unit that did not give it. Which year is concluded, and when, live in
`Cluster.settings["pledge_signing"]` (no schema change; its former "board" entry, the group
message's id, is no longer read: the outbox keeps the id of the live message it edits).

**What is said** is queued here, in the transaction of the change (`bot.services.notify`,
texts in `bot.views.pledges`), never sent by a handler: a submitted pledge to its reviewers,
a review's outcome to the unit's representatives, an amendment to the group, the group's
signing message (one live message, posted once and edited: `signing-board:<year>`) at every
signature, and at the conclusion its final state and the document, to the group and to each
secretariat member. Each notice's key names its event, so a repeated event sends nothing
twice. A change that is refused, or that loses to a newer version (`StaleDraft`, in the
savepoint each change runs in), queues nothing.

The phases code calls `signing_opened` and `signing_closed` when the signing phase opens and
closes, however it does (a button, later a deadline).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from bot import fmt, pledge_document
from bot import phases as phase_rules
from bot import pledges as rules
from bot.errors import Refusal
from bot.i18n import _, use_locale
from bot.permissions import Action, Role
from bot.pledge_document import UNKNOWN_PLACE, Amendment, PledgeDocument, UnitPledge
from bot.pledges import Change, Item, Op, Target
from bot.services import clusters, notify
from bot.services import phases as phase_service
from bot.services.actors import Actor
from bot.services.audit import record
from bot.services.clusters import PLACE_KEY, current_year
from bot.services.phases import cluster_timezone, phase_views, require_phase
from bot.views import pledges as views
from bot.views.pledges import Board, BoardLine, PledgeCard
from storage.db import racing_write
from storage.models import (
    Cluster,
    EmulationYear,
    OutboxMessage,
    OutboxStatus,
    Person,
    PhaseKind,
    Pledge,
    PledgeItem,
    PledgeRevision,
    PledgeStatus,
    Unit,
    utcnow,
)
from storage.pledges import (
    active_unit_names,
    active_units,
    create_pledge,
    people_by_id,
    people_with_role,
    pledge_in_context,
    pledge_of,
    pledge_states,
    pledges_of_units,
    pledges_of_year,
    representatives_of,
    revision_count,
    revisions_of_year,
    units_by_id,
    unsigned_active_units,
)

SIGNING_KEY = "pledge_signing"  # Cluster.settings: {year id: {"concluded_at": iso, "concluded_by": id}}
COMMON_KEY = "pledge_common_content"

P = ParamSpec("P")
R = TypeVar("R")


def _savepoint(
    func: Callable[Concatenate[AsyncSession, P], Awaitable[R]],
) -> Callable[Concatenate[AsyncSession, P], Awaitable[R]]:
    """Run a change in a savepoint of the caller's transaction where it can lose at the
    database (`storage.db.racing_write`: on PostgreSQL): when it loses to a newer version
    (`StaleDraft` from the flush), what it wrote (the pledge, its audit entry) is undone and the
    caller's session goes on, so the handler can show the current pledge and still record the
    update. Each change checks the version, the status and the phase before it writes anything,
    so a refusal (a `StaleDraft` from the button's version among them) has nothing to undo; a
    refusal the handler does not catch rolls the whole update back (`handlers.base`)."""

    @functools.wraps(func)
    async def run(session: AsyncSession, *args: P.args, **kwargs: P.kwargs) -> R:
        async with racing_write(session):
            return await func(session, *args, **kwargs)

    return run


class StaleDraft(Refusal):
    """The pledge changed since the version the person was looking at."""

    def __init__(self, pledge_id: int) -> None:
        super().__init__(
            _("Someone else changed this pledge in the meantime, so nothing was saved. "
              "Here is the current version.")  # fmt: skip
        )
        self.pledge_id = pledge_id


class AlreadyDone(Refusal):
    """A second tap on a button whose action this person has just done (the button still
    carries the version from before it): said as done, and the message that confirmed the
    action stays as it is. See `check_repeat`."""


def _done_text(op: Op) -> str:
    return {
        Op.SUBMIT: _("Already submitted."),
        Op.WITHDRAW: _("Already withdrawn: the pledge is a draft again."),
        Op.ACCEPT: _("Already accepted."),
        Op.RETURN: _("Already returned to the unit."),
    }[op]


REPEATABLE = (Op.SUBMIT, Op.WITHDRAW, Op.ACCEPT, Op.RETURN)


def check_repeat(pledge: Pledge, actor: Actor, op: Op) -> None:
    """Call when a button for `op` carries an older version than the pledge's: if the pledge
    is in the state `op` leads to and its last change was this person's, the tap repeats what
    they have just done (`AlreadyDone`). Otherwise someone else changed the pledge meanwhile,
    and the caller says so (`StaleDraft`, the current version shown)."""
    if op not in REPEATABLE:
        return
    if pledge.status == rules.TRANSITIONS[op][1] and pledge.updated_by_person_id == actor.person_id:
        raise AlreadyDone(_done_text(op))


@dataclass(frozen=True)
class EditResult:
    pledge: Pledge
    summary: str  # "commitment 2 reworded"
    revision: PledgeRevision | None  # an amendment of a signed pledge


@dataclass(frozen=True)
class SigningOutcome:
    """The year's signing was concluded just now."""

    cluster_id: int
    year_id: int
    signed: int
    total: int  # active units
    concluded_at: dt.datetime

    @property
    def complete(self) -> bool:
        return self.signed >= self.total


@dataclass(frozen=True)
class Submitted:
    pledge: Pledge
    chair_units_own: bool  # the chair unit's own pledge: the vice-chair unit reviews it


@dataclass(frozen=True)
class SignResult:
    pledge: Pledge
    outcome: SigningOutcome | None  # set when this signature was the last one


@dataclass(frozen=True)
class UnitState:
    """One line of /pledges."""

    unit_id: int
    name: str
    status: PledgeStatus | None
    items: int
    pledge_id: int | None
    version: int | None
    signed_at: dt.datetime | None


# ----------------------------------------------------------------------------- reading


def items_of(pledge: Pledge) -> list[Item]:
    return [
        Item(
            row.id,
            row.text,
            Target(row.target_value, row.target_unit or "") if row.target_value is not None else None,
        )
        for row in pledge.items
    ]


def signing_record(cluster: Cluster, year_id: int) -> dict:
    return dict(((cluster.settings or {}).get(SIGNING_KEY) or {}).get(str(year_id)) or {})


def concluded_at(cluster: Cluster, year_id: int) -> dt.datetime | None:
    value = signing_record(cluster, year_id).get("concluded_at")
    return dt.datetime.fromisoformat(value) if value else None


def _update_signing_record(cluster: Cluster, year_id: int, **values) -> None:
    """Replace the top-level value: `MutableDict` notices only top-level assignments."""
    settings = dict(cluster.settings or {})
    records = dict(settings.get(SIGNING_KEY) or {})
    records[str(year_id)] = {**dict(records.get(str(year_id)) or {}), **values}
    settings[SIGNING_KEY] = records
    cluster.settings = settings


def place_of(cluster: Cluster) -> str:
    """The place as the document writes it: the cluster's setting, else a dotted line (never
    a guessed city; see `bot.services.clusters.place_of`)."""
    return clusters.place_of(cluster) or UNKNOWN_PLACE


def common_content_of(cluster: Cluster, year: int) -> str:
    return (cluster.settings or {}).get(COMMON_KEY) or rules.default_common_content(cluster.name, year)


async def _year_of(session: AsyncSession, cluster_id: int) -> EmulationYear:
    year = await current_year(session, cluster_id)
    if year is None:
        raise Refusal(_("This cluster has no emulation year yet."))
    return year


async def _pledge(session: AsyncSession, actor: Actor, pledge_id: int) -> tuple[Pledge, EmulationYear]:
    """The pledge a button or a step names, if it is in the actor's cluster and current year."""
    pledge = await pledge_in_context(session, pledge_id)
    year = await session.get(EmulationYear, pledge.year_id) if pledge is not None else None
    if pledge is None or year is None or year.cluster_id != actor.cluster_id:
        raise Refusal(_("That pledge is not in this cluster."))
    current = await current_year(session, actor.cluster_id)
    if current is None or current.id != year.id:
        raise Refusal(
            _("The pledges of {year} can no longer change.").format(year=year.year)
        )
    return pledge, year


def _require_own(actor: Actor, pledge: Pledge) -> None:
    actor.require(Action.EDIT_PLEDGE)
    if pledge.unit_id not in actor.unit_ids:
        raise Refusal(_("You do not represent this unit, so you cannot change its pledge."))


def _require_version(pledge: Pledge, version: int | None) -> None:
    if version is not None and pledge.version != version:
        raise StaleDraft(pledge.id)


def _check_repeat(pledge: Pledge, actor: Actor, version: int | None, op: Op) -> None:
    """Before the status check, which would refuse a repeat as a wrong state."""
    if version is not None and pledge.version != version:
        check_repeat(pledge, actor, op)


async def _require_phase(session: AsyncSession, year_id: int, op: Op, now: dt.datetime) -> None:
    """`require_phase` for `op`. Reviewing only needs the phase open: a deadline binds the
    units' submissions, not the chair who still has to read them."""
    kinds = rules.PHASES[op]
    if op in (Op.ACCEPT, Op.RETURN):
        views = await phase_views(session, year_id)
        if any(phase_rules.view_of(views, kind).is_open for kind in kinds):
            return
    await require_phase(session, year_id, kinds, now=now)


async def available_ops(session: AsyncSession, pledge: Pledge, now: dt.datetime | None = None) -> set[Op]:
    """What the pledge's status and the open phase allow now (for drawing the buttons)."""
    now = now or utcnow()
    year = await session.get(EmulationYear, pledge.year_id)
    tz = cluster_timezone(await session.get(Cluster, year.cluster_id))
    views = await phase_views(session, pledge.year_id)
    allowed = set()
    for op in Op:
        if not rules.allows(op, pledge.status):
            continue
        if op in (Op.ACCEPT, Op.RETURN):
            if any(phase_rules.view_of(views, k).is_open for k in rules.PHASES[op]):
                allowed.add(op)
            continue
        try:
            phase_rules.require_phase(views, rules.PHASES[op], now, tz)
        except Refusal:
            continue
        allowed.add(op)
    return allowed


async def _flush(session: AsyncSession, pledge: Pledge) -> None:
    pledge_id = pledge.id  # read now: after a failed flush the object is expired
    try:
        await session.flush()
    except StaleDataError:
        raise StaleDraft(pledge_id) from None


def _touch(pledge: Pledge, actor: Actor, now: dt.datetime) -> None:
    """Item changes alone would not UPDATE the pledge row; this moves its version."""
    previous = pledge.updated_at
    pledge.updated_at = now if previous is None or now > previous else previous + dt.timedelta(microseconds=1)
    pledge.updated_by_person_id = actor.person_id


def _store_items(pledge: Pledge, items: list[Item]) -> None:
    rows = {row.id: row for row in pledge.items}
    kept = []
    for position, item in enumerate(items, 1):
        row = rows.get(item.id) if item.id is not None else None
        if row is None:
            row = PledgeItem(text=item.text)
        row.position = position
        row.text = item.text
        row.target_value = item.target.value if item.target else None
        row.target_unit = (item.target.unit or None) if item.target else None
        kept.append(row)
    pledge.items = kept  # rows left out are deleted (delete-orphan)


# ----------------------------------------------------------------------------- representatives


async def open_for_unit(session: AsyncSession, actor: Actor, unit_id: int, now: dt.datetime | None = None) -> Pledge:
    """/pledge: the unit's pledge of the current year; the first time (during registration)
    an empty draft is created for the unit's representatives to share."""
    now = now or utcnow()
    actor.require(Action.EDIT_PLEDGE)
    if unit_id not in actor.unit_ids:
        raise Refusal(_("You do not represent this unit, so you cannot change its pledge."))
    year = await _year_of(session, actor.cluster_id)
    pledge = await pledge_of(session, year.id, unit_id)
    if pledge is None:
        await require_phase(session, year.id, rules.PHASES[Op.EDIT], now=now)
        pledge = await create_pledge(session, year.id, unit_id, actor.person_id)
        await session.flush()
    return pledge


async def representative_pledge(session: AsyncSession, actor: Actor, pledge_id: int) -> tuple[Pledge, EmulationYear]:
    """The pledge a representative's button names, if it is their unit's."""
    pledge, year = await _pledge(session, actor, pledge_id)
    _require_own(actor, pledge)
    return pledge, year


async def require_editable(session: AsyncSession, actor: Actor, pledge_id: int, version: int | None,
                           now: dt.datetime | None = None) -> tuple[Pledge, Op]:  # fmt: skip
    """Before asking for typed input: may the pledge be changed now (edited, or amended when
    signed)? So nobody types a long text only to hear it cannot be saved."""
    now = now or utcnow()
    pledge, year = await representative_pledge(session, actor, pledge_id)
    op = Op.AMEND if pledge.status == PledgeStatus.SIGNED else Op.EDIT
    rules.check(op, pledge.status)
    await _require_phase(session, year.id, op, now)
    _require_version(pledge, version)
    return pledge, op


@_savepoint
async def edit(
    session: AsyncSession,
    actor: Actor,
    pledge_id: int,
    version: int | None,
    change: Change,
    *,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> EditResult:
    """Apply one change to the shared draft; on a signed pledge it is an amendment, which
    needs a reason, keeps the previous content as a `PledgeRevision` and is announced to the
    group."""
    now = now or utcnow()
    pledge, year = await _pledge(session, actor, pledge_id)
    _require_own(actor, pledge)
    op = Op.AMEND if pledge.status == PledgeStatus.SIGNED else Op.EDIT
    rules.check(op, pledge.status)
    await _require_phase(session, year.id, op, now)
    _require_version(pledge, version)
    before = items_of(pledge)
    after = rules.apply_change(before, change)
    summary = rules.change_summary(before, change)
    revision = None
    if op == Op.AMEND:
        reason = rules.clean_text(reason, rules.MAX_REASON, what=_("The reason"))
        number = await revision_count(session, pledge.id) + 1
        revision = PledgeRevision(
            pledge_id=pledge.id, number=number, snapshot=rules.snapshot(before), reason=reason,
            by_person_id=actor.person_id, at=now,
        )  # fmt: skip
        session.add(revision)
        record(
            session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
            action="pledge.amend", subject=f"pledge:{pledge.id}", unit_id=pledge.unit_id,
            revision=number, reason=reason, change=change.as_data(), summary=summary,
        )  # fmt: skip
    _store_items(pledge, after)
    _touch(pledge, actor, now)
    await _flush(session, pledge)
    if revision is not None:
        await _announce_amendment(session, actor, pledge, year, revision, summary)
    return EditResult(pledge, summary, revision)


@_savepoint
async def submit(session: AsyncSession, actor: Actor, pledge_id: int, version: int | None,
                 now: dt.datetime | None = None) -> Submitted:  # fmt: skip
    """Send the pledge to its reviewers (`reviewers`), who are told in private."""
    now = now or utcnow()
    pledge, year = await _pledge(session, actor, pledge_id)
    _require_own(actor, pledge)
    _check_repeat(pledge, actor, version, Op.SUBMIT)
    status = rules.check(Op.SUBMIT, pledge.status)
    await _require_phase(session, year.id, Op.SUBMIT, now)
    _require_version(pledge, version)
    rules.require_submittable(items_of(pledge))
    pledge.status = status
    pledge.submitted_at = now
    _touch(pledge, actor, now)
    record(
        session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
        action="pledge.submit", subject=f"pledge:{pledge.id}", unit_id=pledge.unit_id,
        items=len(pledge.items),
    )  # fmt: skip
    await _flush(session, pledge)
    await _tell_reviewers(session, pledge, year)
    return Submitted(pledge, chair_units_own=pledge.unit_id == year.chair_unit_id)


@_savepoint
async def withdraw(session: AsyncSession, actor: Actor, pledge_id: int, version: int | None,
                   now: dt.datetime | None = None) -> Pledge:  # fmt: skip
    """Take a submitted pledge back to edit it (before the chair has reviewed it)."""
    now = now or utcnow()
    pledge, year = await _pledge(session, actor, pledge_id)
    _require_own(actor, pledge)
    _check_repeat(pledge, actor, version, Op.WITHDRAW)
    status = rules.check(Op.WITHDRAW, pledge.status)
    await _require_phase(session, year.id, Op.WITHDRAW, now)
    _require_version(pledge, version)
    pledge.status = status
    _touch(pledge, actor, now)
    record(
        session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
        action="pledge.withdraw", subject=f"pledge:{pledge.id}", unit_id=pledge.unit_id,
    )  # fmt: skip
    await _flush(session, pledge)
    return pledge


# ----------------------------------------------------------------------------- the chair


@_savepoint
async def accept(session: AsyncSession, actor: Actor, pledge_id: int, version: int | None,
                 now: dt.datetime | None = None) -> Pledge:  # fmt: skip
    """Accept the pledge; the unit's representatives are told."""
    now = now or utcnow()
    pledge, year = await _reviewable(session, actor, pledge_id)
    _check_repeat(pledge, actor, version, Op.ACCEPT)
    status = rules.check(Op.ACCEPT, pledge.status)
    await _require_phase(session, year.id, Op.ACCEPT, now)
    _require_version(pledge, version)
    pledge.status = status
    pledge.reviewed_at = now
    pledge.review_comment = None
    _touch(pledge, actor, now)
    record(
        session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
        action="pledge.accept", subject=f"pledge:{pledge.id}", unit_id=pledge.unit_id,
    )  # fmt: skip
    await _flush(session, pledge)
    reviewer = rules.reviewed_as(pledge.unit_id, year.chair_unit_id, actor.roles)
    unit = await session.get(Unit, pledge.unit_id)
    await _tell_unit(session, pledge, year, f"pledge.accepted:{pledge.id}:v{pledge.version}",
                     lambda: views.accepted_notice(reviewer, year.year, unit.name, pledge.id))  # fmt: skip
    return pledge


@_savepoint
async def return_pledge(session: AsyncSession, actor: Actor, pledge_id: int, version: int | None,
                        comment: str | None, now: dt.datetime | None = None) -> Pledge:  # fmt: skip
    """Return the pledge to the unit with the reviewer's comment; its representatives are told."""
    now = now or utcnow()
    pledge, year = await _reviewable(session, actor, pledge_id)
    _check_repeat(pledge, actor, version, Op.RETURN)
    status = rules.check(Op.RETURN, pledge.status)
    await _require_phase(session, year.id, Op.RETURN, now)
    _require_version(pledge, version)
    comment = rules.clean_text(comment, rules.MAX_COMMENT, what=_("The comment"))
    pledge.status = status
    pledge.reviewed_at = now
    pledge.review_comment = comment
    _touch(pledge, actor, now)
    record(
        session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
        action="pledge.return", subject=f"pledge:{pledge.id}", unit_id=pledge.unit_id,
        comment=comment,
    )  # fmt: skip
    await _flush(session, pledge)
    reviewer = rules.reviewed_as(pledge.unit_id, year.chair_unit_id, actor.roles)
    unit = await session.get(Unit, pledge.unit_id)
    await _tell_unit(session, pledge, year, f"pledge.returned:{pledge.id}:v{pledge.version}",
                     lambda: views.returned_notice(reviewer, year.year, unit.name, pledge.id, comment))  # fmt: skip
    return pledge


async def check_reviewable(session: AsyncSession, actor: Actor, pledge_id: int) -> tuple[Pledge, EmulationYear]:
    """The pledge a reviewer opens (any status; the buttons follow what is allowed)."""
    return await _reviewable(session, actor, pledge_id)


async def _reviewable(session: AsyncSession, actor: Actor, pledge_id: int) -> tuple[Pledge, EmulationYear]:
    """The pledge, if this actor reviews it (`rules.check_reviewer`: the chair, or for the
    chair unit's own pledge the vice-chair; the administrator; never the pledge's own unit)."""
    if Role.VICE_CHAIR not in actor.roles:
        actor.require(Action.REVIEW_PLEDGE)  # before saying anything about the pledge
    pledge, year = await _pledge(session, actor, pledge_id)
    rules.check_reviewer(pledge.unit_id, year.chair_unit_id, actor.roles, actor.unit_ids)
    return pledge, year


# ----------------------------------------------------------------------------- signing


async def _lock_cluster(session: AsyncSession, cluster_id: int) -> Cluster:
    """The cluster row, locked: concluding must happen once even when the last units sign in
    the same second. Take it *before* reading what signing decides on (the pledges, the
    signing phase, the record): a transaction that waited here then reads what the others
    committed (PostgreSQL reads committed rows at each statement; `fresh` reads overwrite the
    session's older copies), so whoever signs last sees every signature and concludes. On
    SQLite a transaction holds the write lock from its first statement (`BEGIN IMMEDIATE`, see
    `storage.db`), so every read of an update already follows the other updates' commits."""
    cluster = await session.get(Cluster, cluster_id, with_for_update=True, populate_existing=True)
    assert cluster is not None
    return cluster


async def sign(
    session: AsyncSession, actor: Actor, unit_id: int | None = None, now: dt.datetime | None = None
) -> SignResult:
    """"Đồng ý ký giao ước": the unit's accepted pledge is signed. `unit_id` None (the group's
    button) means the one unit the actor represents that can sign. The group's signing
    message is brought up to date; the last signature concludes the signing."""
    now = now or utcnow()
    actor.require(Action.EDIT_PLEDGE)
    year = await _year_of(session, actor.cluster_id)
    cluster = await _lock_cluster(session, actor.cluster_id)  # first: then read (see there)
    pledges = await pledges_of_units(session, year.id, actor.unit_ids, fresh=True)
    if unit_id is None:
        units = sorted(actor.unit_ids)
        if len(units) > 1:
            waiting = [u for u in units if u in pledges and pledges[u].status == PledgeStatus.ACCEPTED]
            if len(waiting) != 1:
                raise Refusal(
                    _("You represent several units: sign for each of them with /pledge in a "
                      "private chat with me.")  # fmt: skip
                )
            units = waiting
        unit_id = units[0]
    if unit_id not in actor.unit_ids:
        raise Refusal(_("You do not represent this unit, so you cannot change its pledge."))
    pledge = pledges.get(unit_id)
    if pledge is None:
        raise Refusal(
            _("Your unit has not registered a pledge this year, so there is nothing to sign.")
        )
    if pledge.status == PledgeStatus.SIGNED:
        raise Refusal(
            _("Your unit has already signed the pledge ({when}).").format(
                when=fmt.datetime(pledge.signed_at, cluster_timezone(cluster))
            )
        )
    status = rules.check(Op.SIGN, pledge.status)
    await require_phase(session, year.id, rules.PHASES[Op.SIGN], now=now)
    done_at = concluded_at(cluster, year.id)
    if done_at is not None:
        raise Refusal(
            _("The signing of the {year} pledge was concluded on {when}; no more signatures are "
              "taken.").format(year=year.year, when=fmt.datetime(done_at, cluster_timezone(cluster)))
        )  # fmt: skip
    pledge.status = status
    pledge.signed_at = now
    pledge.signed_by_person_id = actor.person_id
    _touch(pledge, actor, now)
    record(
        session, cluster_id=actor.cluster_id, actor_person_id=actor.person_id,
        action="pledge.sign", subject=f"pledge:{pledge.id}", unit_id=pledge.unit_id,
    )  # fmt: skip
    await _flush(session, pledge)
    outcome = None
    if await unsigned_active_units(session, actor.cluster_id, year.id) == 0:
        outcome = await finalize_signing(session, year.id, now)
    if outcome is None:  # (a conclusion shows its own final board)
        await _show_board(session, cluster, year.id)
    return SignResult(pledge, outcome)


async def finalize_signing(
    session: AsyncSession, year_id: int, now: dt.datetime, *, by_person_id: int | None = None
) -> SigningOutcome | None:
    """Conclude the year's signing: the signed pledges become the cluster's pledge document.

    Called when the last active unit signs, when the chair concludes, and whenever the
    signing phase closes (`signing_closed`). Queues the group message's final state and the
    document for the group and every secretariat member. Idempotent: None (and nothing
    queued) when it was concluded already, or when no unit has signed (nothing to record).
    """
    year = await session.get(EmulationYear, year_id)
    if year is None:
        return None
    cluster = await _lock_cluster(session, year.cluster_id)
    if concluded_at(cluster, year_id) is not None:
        return None
    pledges = await pledges_of_year(session, year_id, fresh=True)
    units = await active_units(session, cluster.id)
    signed = [p for p in pledges.values() if p.status == PledgeStatus.SIGNED]
    if not signed:
        return None
    signed_ids = {p.unit_id for p in signed}
    signed_active = sum(1 for u in units if u.id in signed_ids)
    _update_signing_record(cluster, year_id, concluded_at=now.isoformat(), concluded_by=by_person_id)
    record(
        session, cluster_id=cluster.id, actor_person_id=by_person_id,
        action="pledge.signing_concluded", subject=f"year:{year_id}",
        signed=sorted(p.unit_id for p in signed),
        not_signed=sorted(u.id for u in units if u.id not in signed_ids),
    )  # fmt: skip
    await session.flush()
    await _show_board(session, cluster, year_id)
    await _send_document(session, cluster, year)
    return SigningOutcome(cluster.id, year_id, signed_active, len(units), now)


async def signing_opened(session: AsyncSession, cluster_id: int, year_id: int) -> None:
    """The signing phase opened (or opened again): the group's signing message, with its
    button, is posted so representatives can sign from the group at once; one that exists is
    brought up to date. For the phases code, in the transaction that opened the phase."""
    cluster = await session.get(Cluster, cluster_id)
    if cluster is not None:
        await _show_board(session, cluster, year_id)


async def signing_closed(
    session: AsyncSession, year_id: int, now: dt.datetime, by_person_id: int | None = None
) -> SigningOutcome | None:
    """The signing phase closed (closed with /phase or by a deadline, or by opening
    self-scoring): conclude the signing if it was not yet, which queues the final signing
    message and the document for the group and the secretariat. For the phases code, in the
    transaction that closed the phase; None when there was nothing (more) to conclude."""
    return await finalize_signing(session, year_id, now, by_person_id=by_person_id)


async def conclude(
    session: AsyncSession, actor: Actor, year_id: int, now: dt.datetime | None = None
) -> tuple[phase_service.PhaseChange | None, SigningOutcome | None]:
    """The chair's "Kết thúc ký kết": close the signing phase (if open) and conclude."""
    now = now or utcnow()
    actor.require(Action.MANAGE_PHASES)
    year = await session.get(EmulationYear, year_id)
    if year is None or year.cluster_id != actor.cluster_id:
        raise Refusal(_("That emulation year is not in this cluster."))
    cluster = await _lock_cluster(session, actor.cluster_id)  # first: a signer at the same time waits
    views = await phase_views(session, year_id)
    signing = phase_rules.view_of(views, PhaseKind.SIGNING)
    done_at = concluded_at(cluster, year_id)
    if done_at is not None:
        raise Refusal(
            _("The signing of the {year} pledge was already concluded on {when}.").format(
                year=year.year, when=fmt.datetime(done_at, cluster_timezone(cluster))
            )
        )
    if signing.opened_at is None:
        await require_phase(session, year_id, PhaseKind.SIGNING, now=now)  # says it never opened
    change = None
    if signing.is_open:
        change = await phase_service.close_phase(session, actor, year_id, PhaseKind.SIGNING, now=now)
    outcome = await finalize_signing(session, year_id, now, by_person_id=actor.person_id)
    return change, outcome


# ----------------------------------------------------------------------------- the cluster's view


async def overview(session: AsyncSession, actor: Actor, cluster: Cluster) -> tuple[EmulationYear, list[UnitState]]:
    """/pledges: every active unit (and any inactive one that signed) with its pledge's state."""
    actor.require(Action.VIEW_PLEDGES)
    year = await _year_of(session, cluster.id)
    return year, await _states(session, cluster.id, year.id)


async def _states(session: AsyncSession, cluster_id: int, year_id: int) -> list[UnitState]:
    """Every active unit, then any inactive one that signed, with its pledge's state: read as
    plain rows (`storage.pledges.pledge_states`), since the signing message redraws it at every
    signature and needs no pledge or commitment as an object."""
    pledges = await pledge_states(session, year_id)
    units = await active_unit_names(session, cluster_id)
    active = {unit_id for unit_id, _name in units}
    units += [(u.id, u.name) for u in await units_by_id(session, [
        unit_id for unit_id, pledge in pledges.items() if unit_id not in active and pledge.status == PledgeStatus.SIGNED
    ])]  # fmt: skip
    states = []
    for unit_id, name in units:
        pledge = pledges.get(unit_id)
        states.append(
            UnitState(
                unit_id, name,
                pledge.status if pledge else None,
                pledge.items if pledge else 0,
                pledge.id if pledge else None,
                pledge.version if pledge else None,
                pledge.signed_at if pledge else None,
            )  # fmt: skip
        )
    return states


async def board_of(session: AsyncSession, cluster_id: int, year_id: int) -> Board | None:
    """What the group's signing message shows now."""
    cluster = await session.get(Cluster, cluster_id)
    year = await session.get(EmulationYear, year_id)
    if cluster is None or year is None:
        return None
    states = await _states(session, cluster_id, year_id)
    return Board(
        cluster_id=cluster.id, year_id=year.id, cluster_name=cluster.name, year=year.year,
        tz=cluster_timezone(cluster),
        lines=tuple(BoardLine(s.name, s.signed_at if s.status == PledgeStatus.SIGNED else None) for s in states),
        concluded_at=concluded_at(cluster, year_id),
    )  # fmt: skip


async def card_of(session: AsyncSession, pledge: Pledge, *, ops: bool = True) -> PledgeCard:
    """The pledge as its messages show it; `ops`: with what may be done to it now (buttons)."""
    year = await session.get(EmulationYear, pledge.year_id)
    unit = await session.get(Unit, pledge.unit_id)
    cluster = await session.get(Cluster, year.cluster_id)
    allowed = await available_ops(session, pledge) if ops else set()
    return PledgeCard(
        pledge_id=pledge.id, unit_name=unit.name, year=year.year, status=pledge.status,
        version=pledge.version, review_comment=pledge.review_comment, signed_at=pledge.signed_at,
        tz=cluster_timezone(cluster), items=tuple(items_of(pledge)), ops=frozenset(allowed),
    )  # fmt: skip


async def document_of(session: AsyncSession, cluster: Cluster, year: EmulationYear) -> PledgeDocument | None:
    """The signed pledge of the year, once signing was concluded; None before."""
    done_at = concluded_at(cluster, year.id)
    if done_at is None:
        return None
    tz = cluster_timezone(cluster)
    pledges = await pledges_of_year(session, year.id)
    units = await active_units(session, cluster.id)
    active_ids = {u.id for u in units}
    signed_elsewhere = await units_by_id(session, [uid for uid, p in pledges.items()
                                                   if p.status == PledgeStatus.SIGNED and uid not in active_ids])  # fmt: skip
    people = await people_by_id(session, {p.signed_by_person_id for p in pledges.values() if p.signed_by_person_id})
    amendments: dict[int, list[Amendment]] = {}
    for revision in await revisions_of_year(session, year.id):
        amendments.setdefault(revision.pledge_id, []).append(
            Amendment(revision.number, revision.at, revision.reason)
        )
    entries = []
    for unit in [*units, *signed_elsewhere]:
        pledge = pledges.get(unit.id)
        signed = pledge is not None and pledge.status == PledgeStatus.SIGNED
        signer = people.get(pledge.signed_by_person_id) if signed and pledge.signed_by_person_id else None
        entries.append(
            UnitPledge(
                name=unit.name,
                items=items_of(pledge) if pledge is not None and pledge.status in
                (PledgeStatus.ACCEPTED, PledgeStatus.SIGNED) else [],
                signed_by=signer.full_name if signer else None,
                signed_at=pledge.signed_at if signed else None,
                amendments=amendments.get(pledge.id, []) if pledge is not None else [],
            )  # fmt: skip
        )
    names = {u.id: u.name for u in [*units, *signed_elsewhere] if u is not None}
    return PledgeDocument(
        cluster_name=cluster.name, year=year.year, place=place_of(cluster),
        date=done_at.astimezone(tz).date(), common_content=common_content_of(cluster, year.year),
        tz=tz, units=entries,
        chair_unit=names.get(year.chair_unit_id), vice_chair_unit=names.get(year.vice_chair_unit_id),  # signed first
    )  # fmt: skip


async def set_document_setting(session: AsyncSession, actor: Actor, cluster: Cluster, key: str, text: str | None) -> str:
    """The place written before the date, or the common content of the pledge document."""
    actor.require(Action.CONFIGURE_CLUSTER)
    if key == PLACE_KEY:  # one rule for the place, wherever it is set: until signing concludes
        return await clusters.set_place(session, actor, cluster, text)
    if key == COMMON_KEY:
        value = "\n".join(line.strip() for line in (text or "").splitlines() if line.strip())
        rules.clean_text(value, rules.MAX_COMMON, what=_("The common content"))
    else:
        raise ValueError(key)
    return await clusters.set_setting(session, actor, cluster, key, value)


# ----------------------------------------------------------------------------- who is told


async def reviewers(session: AsyncSession, year: EmulationYear, unit_id: int) -> list[Person]:
    """Who is sent the pledge of `unit_id` to review: the chair unit's representatives; for the
    chair unit's own pledge the vice-chair unit's. When that unit is not set or nobody
    represents it, the administrators. Never someone who represents `unit_id` (they may not
    review it: `rules.check_reviewer`)."""
    own = {p.id for p in await unit_people(session, unit_id)}
    reviewing = year.vice_chair_unit_id if unit_id == year.chair_unit_id else year.chair_unit_id
    if reviewing is not None and reviewing != unit_id:
        people = [p for _u, p in await representatives_of(session, [reviewing]) if p.id not in own]
        if people:
            return people
    return [p for p in await people_with_role(session, year.cluster_id, "admin") if p.id not in own]


async def unit_people(session: AsyncSession, unit_id: int) -> list[Person]:
    return [p for _u, p in await representatives_of(session, [unit_id])]


async def secretariat(session: AsyncSession, cluster_id: int) -> list[Person]:
    return await people_with_role(session, cluster_id, "secretariat")


# ----------------------------------------------------------------------------- what is said


async def _tell_reviewers(session: AsyncSession, pledge: Pledge, year: EmulationYear) -> None:
    """A pledge was submitted: its reviewers get it in private, with Accept / Return."""
    card = await card_of(session, pledge)
    await notify.to_people(session, await reviewers(session, year, pledge.unit_id),
                           f"pledge.submitted:{pledge.id}:v{pledge.version}",
                           lambda: notify.Note(*views.review_view(card)), cluster_id=year.cluster_id)  # fmt: skip


async def _tell_unit(session: AsyncSession, pledge: Pledge, year: EmulationYear, key: str,
                     render: Callable[[], views.View]) -> None:  # fmt: skip
    """The unit's representatives are told what became of their pledge."""
    await notify.to_people(session, await unit_people(session, pledge.unit_id), key,
                           lambda: notify.Note(*render()), cluster_id=year.cluster_id)  # fmt: skip


async def _announce_amendment(session: AsyncSession, actor: Actor, pledge: Pledge, year: EmulationYear,
                              revision: PledgeRevision, summary: str) -> None:  # fmt: skip
    cluster = await session.get(Cluster, year.cluster_id)
    unit = await session.get(Unit, pledge.unit_id)
    person = await session.get(Person, actor.person_id)
    who = person.full_name if person is not None else ""
    await notify.to_group(session, cluster, f"pledge.amended:{pledge.id}:r{revision.number}",
                          lambda: views.amendment_note(unit.name, year.year, revision.number, summary,
                                                       revision.reason, who))  # fmt: skip


def board_key(year_id: int) -> str:
    """The live message that is the group's signing board of a year."""
    return f"signing-board:{year_id}"


async def _show_board(session: AsyncSession, cluster: Cluster, year_id: int) -> None:
    """Queue the group's signing message as it stands now: posted the first time, edited
    afterwards (the outbox keeps its message id), only the latest content sent when several
    changes come quickly. Content the message already shows, or is about to, is not queued
    again: Telegram refuses an edit that changes nothing."""
    board = await board_of(session, cluster.id, year_id)
    if board is None or cluster.telegram_chat_id is None:
        return
    with use_locale(notify.group_locale(cluster)):
        note = notify.Note(*views.board_view(board, notify.bot_username()))
    key = board_key(year_id)
    shown = (
        await session.execute(
            select(OutboxMessage.payload, OutboxMessage.status).where(OutboxMessage.live_key == key)
        )
    ).first()
    if shown is not None and shown.payload == note.payload() and shown.status in (OutboxStatus.PENDING, OutboxStatus.SENT):
        return
    await notify.live_in_group(session, cluster, key, lambda: note)


async def _send_document(session: AsyncSession, cluster: Cluster, year: EmulationYear) -> None:
    """Signing was concluded: the document goes to the group and to each secretariat member."""
    doc = await document_of(session, cluster, year)
    if doc is None:
        return
    # Built in a worker thread: a 300-unit document takes about two seconds, every chat waits otherwise.
    document = notify.Document(await asyncio.to_thread(pledge_document.render, doc), pledge_document.file_name(year.year))
    key = f"pledge.document:{year.id}"
    await notify.document_to_group(session, cluster, key, document, lambda: views.caption(doc))
    await notify.document_to_people(session, await secretariat(session, cluster.id), key, document,
                                    lambda: views.caption(doc), cluster_id=cluster.id)  # fmt: skip
