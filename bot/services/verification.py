"""Verification (*thẩm định* / *chấm chéo*) as use cases: who verifies which sheet, accepting
or adjusting a score with its reason, the unit's one explanation (*giải trình*), the decision.

The rules (pure ones in `bot.rotation`), checked here so a forged or stale button is refused:

- The mode is the cluster setting ``Cluster.settings["verification"]``: ``"chair"`` (default)
  or ``"cross"``. The administrator may change it until the first score is verified.
- Who verifies a sheet is stored in ``ScoreSheet.verifier_unit_id`` the first time anyone
  needs it during verification (`ensure_assignment`); a sheet assigned keeps its verifier.
- Verifying needs the verification phase open (before its deadline), a submitted sheet, and
  being a representative of the **assigned** unit and not of the sheet's unit
  (`rotation.may_verify`); in chair mode the chair unit's sheets also need
  `Action.VERIFY_AS_CHAIR`.
- An adjustment needs a reason; it sets the entry's verified value and keeps a row
  (`Adjustment`) with both values and the reason. The verifier may change an entry until the
  unit has explained it. When every entry is verified the sheet becomes ``verified``.
- The unit's representatives may explain an adjustment **once** (`Action.EDIT_SCORES`, own
  unit, verification phase). The chair (`Action.DECIDE_DISPUTE`) then decides the final value
  — except on the chair unit's own sheet, which the vice-chair unit decides.

**Notices**, queued through the outbox in the transaction of the change (so a refused or lost
write says nothing, and each event is queued once, keyed by the adjustment): an adjustment to
the unit's representatives (with the button to explain), an explanation to the representatives
of the unit that decides it (with the buttons to decide), a decision to the unit's and the
verifying unit's representatives. The one who acted is never among them: they see the reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from html import escape

from sqlalchemy.ext.asyncio import AsyncSession

from bot import fmt, rotation
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action, Role
from bot.services import notify, scoring, tables
from bot.services.actors import Actor
from bot.services.audit import record
from bot.services.phases import require_phase
from bot.services.scoring import SheetView, StaleSheet, tell_representatives
from bot.views import scoring as words
from bot.views.scoring import AdjustmentFacts
from storage import scoring as queries
from storage.models import (
    Adjustment,
    Cluster,
    EmulationYear,
    PhaseKind,
    ScoreEntry,
    SheetStatus,
    Unit,
    utcnow,
)
from storage.text import visible
from storage.units import units_of

MAX_REASON = 1000
MAX_EXPLANATION = 2000
_REVIEWABLE = (SheetStatus.SUBMITTED, SheetStatus.VERIFIED)


def mode(cluster: Cluster) -> str:
    return rotation.mode_of(cluster.settings)


async def set_mode(session: AsyncSession, actor: Actor, cluster: Cluster, new_mode: str) -> None:
    """Choose chair or cross verification; refused once any score has been verified."""
    actor.require(Action.CONFIGURE_CLUSTER)
    if new_mode not in rotation.MODES:
        raise Refusal(_("Unknown verification mode."))
    year = await scoring.current_year_of(session, cluster.id)
    if await queries.verification_started(session, year.id):
        raise Refusal(_("Verification has begun, so the way of verifying can no longer change this year."))
    before = mode(cluster)
    if before == new_mode:
        return
    cluster.settings[rotation.SETTING] = new_mode
    for sheet in await queries.sheets_of_year(session, year.id, scoring.ROUND):
        sheet.verifier_unit_id = None  # assigned again, the new way, on first use
    record(
        session, cluster_id=cluster.id, actor_person_id=actor.person_id, action="verification.mode",
        subject=f"cluster:{cluster.id}", before=before, after=new_mode,
    )  # fmt: skip
    await session.flush()


async def ensure_assignment(session: AsyncSession, cluster: Cluster, year: EmulationYear) -> None:
    """Give every submitted sheet without a verifier its verifying unit (see `bot.rotation`).

    Asked by every list of sheets to verify and by a press on a sheet without its verifier (a
    press on an assigned sheet needs no other's): one indexed look for a sheet still without a
    verifier first, and the year's sheets (with all their entries) are read only when there is one."""
    if not await queries.unassigned_sheet_exists(session, year.id, scoring.ROUND, _REVIEWABLE):
        return
    sheets = [s for s in await queries.sheets_of_year(session, year.id, scoring.ROUND) if s.status in _REVIEWABLE]
    todo = [s for s in sheets if s.verifier_unit_id is None]
    if not todo:
        return
    active = [u.id for u in await units_of(session, cluster.id, active_only=True)]
    try:
        if mode(cluster) == rotation.CROSS:
            plan = rotation.cross_assignment(active, [s.unit_id for s in sheets],
                                             rotation.seed_for(cluster.id, year.year))  # fmt: skip
        else:
            if year.chair_unit_id is None:
                raise Refusal(_("The year has no chair unit yet, so nobody can verify. The administrator "
                                "sets it with /chair."))  # fmt: skip
            plan = rotation.chair_assignment([s.unit_id for s in sheets], year.chair_unit_id,
                                             year.vice_chair_unit_id, active)  # fmt: skip
    except rotation.RotationError:
        raise Refusal(_("Cross-checking needs at least two active units. The administrator can "
                        "switch to verification by the chair in /verify.")) from None  # fmt: skip
    for sheet in todo:
        sheet.verifier_unit_id = plan.get(sheet.unit_id)
    record(
        session, cluster_id=cluster.id, actor_person_id=None, action="verification.assign",
        subject=f"year:{year.id}", mode=mode(cluster),
        plan={str(s.unit_id): s.verifier_unit_id for s in todo},
    )  # fmt: skip
    await session.flush()


async def _verification_year(session: AsyncSession, cluster_id: int) -> EmulationYear:
    year = await scoring.current_year_of(session, cluster_id)
    await require_phase(session, year.id, PhaseKind.VERIFICATION)
    return year


async def assigned_sheet_ids(session: AsyncSession, actor: Actor, cluster: Cluster) -> list[int]:
    """The sheets this person verifies now (never their own unit's), in the units' order.
    Ids only: a list shows a page of them (`progress_of`), the rest are only counted."""
    year = await _verification_year(session, cluster.id)
    await ensure_assignment(session, cluster, year)
    return await queries.sheet_ids_verified_by(session, year.id, scoring.ROUND, _REVIEWABLE, actor.unit_ids)


@dataclass(frozen=True)
class Progress:
    """One line of a verifier's list: whose sheet, how far verified (the button names the
    sheet at its version)."""

    sheet_id: int
    version: int
    status: SheetStatus
    unit_name: str
    verified: int
    size: int


async def progress_of(session: AsyncSession, actor: Actor, cluster: Cluster, sheet_ids: list[int]) -> list[Progress]:
    """The lines of these sheets (from `assigned_sheet_ids`) that this person verifies."""
    if not sheet_ids:
        return []
    year = await scoring.current_year_of(session, cluster.id)
    table = await tables.ensure_default_table(session, year.id)
    return [
        Progress(row.id, row.version, row.status, row.unit_name, row.verified, len(table.criteria))
        for row in await queries.verification_progress(session, sheet_ids, table.id)
        if rotation.may_verify(row.unit_id, row.verifier_unit_id, actor.unit_ids)
    ]


async def verifiable(session: AsyncSession, actor: Actor, sheet_id: int, version: int | None) -> SheetView:
    """The sheet, if this person verifies it now and it is still at `version` (None: any)."""
    view = await scoring.load(session, actor, sheet_id)
    year = await _verification_year(session, view.cluster.id)
    if year.id != view.year.id:
        raise Refusal(_("That sheet belongs to an earlier year; it can no longer change."))
    if view.sheet.unit_id in actor.unit_ids:
        raise Refusal(_("You cannot verify your own unit's sheet."))
    if view.sheet.verifier_unit_id is None:  # assigned sheets keep their verifier: no need to look
        await ensure_assignment(session, view.cluster, year)
    if view.sheet.status not in _REVIEWABLE:
        raise Refusal(_("This sheet has not been submitted, so there is nothing to verify."))
    if not rotation.may_verify(view.sheet.unit_id, view.sheet.verifier_unit_id, actor.unit_ids):
        assigned = await session.get(Unit, view.sheet.verifier_unit_id) if view.sheet.verifier_unit_id else None
        raise Refusal(_("This sheet is verified by {unit}, not by your unit.").format(
            unit=escape(assigned.name) if assigned else "—"))  # fmt: skip
    if mode(view.cluster) == rotation.CHAIR and view.sheet.verifier_unit_id == year.chair_unit_id:
        actor.require(Action.VERIFY_AS_CHAIR)
    if version is not None and view.sheet.version != version:
        raise StaleSheet(view.sheet.id)
    return view


def live_adjustment(entry: ScoreEntry | None) -> Adjustment | None:
    """The adjustment that stands: the latest one, while the entry's verified value differs
    from its self score (accepting after an adjustment withdraws it)."""
    if entry is None or not entry.adjustments or entry.verified_value is None:
        return None
    latest = entry.adjustments[-1]
    if entry.verified_value == entry.self_value or latest.to_value != entry.verified_value:
        return None
    return latest


def _check_unexplained(entry: ScoreEntry) -> None:
    adjustment = live_adjustment(entry)
    if adjustment is not None and adjustment.explanation is not None:
        raise Refusal(_("The unit has already explained this score; the chair decides it now."))


def _refresh_status(view: SheetView, actor: Actor) -> None:
    sheet = view.sheet
    if view.verified == view.size and sheet.status == SheetStatus.SUBMITTED:
        sheet.status = SheetStatus.VERIFIED
        sheet.verified_at = utcnow()
        sheet.verified_by_person_id = actor.person_id
    elif view.verified < view.size and sheet.status == SheetStatus.VERIFIED:
        sheet.status = SheetStatus.SUBMITTED


async def check_accept_repeat(session: AsyncSession, view: SheetView, actor: Actor, criterion_id: int) -> None:
    """"Accept" pressed on an older version of the sheet when the criterion is accepted (its
    verified value is the unit's score) and the sheet was last changed by this person: a
    second tap, said as done (a `Refusal`: the message that followed the first tap stays).
    Anything else is a change they have not seen (`StaleSheet`)."""
    entry = view.entry(criterion_id)
    if entry is None or entry.self_value is None or entry.verified_value != entry.self_value:
        return
    if await scoring.changed_last_by(session, view, actor):
        raise Refusal(_("Already accepted."))


async def check_accept_rest_repeat(session: AsyncSession, view: SheetView, actor: Actor) -> None:
    """"Accept all the rest" pressed again: nothing is left to verify, and this person made
    the sheet's last change."""
    if view.verified == view.size and await scoring.changed_last_by(session, view, actor):
        raise Refusal(_("Every criterion is already verified."))


async def accept(
    session: AsyncSession, actor: Actor, sheet_id: int, criterion_id: int, version: int | None
) -> SheetView:
    view = await verifiable(session, actor, sheet_id, None)
    criterion = scoring.criterion_of(view, criterion_id)
    if version is not None and view.sheet.version != version:
        await check_accept_repeat(session, view, actor, criterion.id)
        raise StaleSheet(view.sheet.id)
    entry = view.entry(criterion.id)
    if entry is None or entry.self_value is None:
        raise Refusal(_("This criterion has no self score to accept."))
    _check_unexplained(entry)
    entry.verified_value = entry.self_value
    _refresh_status(view, actor)
    _audit(session, actor, view, "verify.accept", criterion=criterion.code, value=str(entry.self_value))
    await scoring.save(session, view.sheet)
    return view


async def accept_rest(session: AsyncSession, actor: Actor, sheet_id: int, version: int | None) -> tuple[SheetView, int]:
    """Accept every criterion not verified yet; returns how many."""
    view = await verifiable(session, actor, sheet_id, None)
    if version is not None and view.sheet.version != version:
        await check_accept_rest_repeat(session, view, actor)
        raise StaleSheet(view.sheet.id)
    count = 0
    for entry in view.sheet.entries:
        if entry.verified_value is None and entry.self_value is not None:
            entry.verified_value = entry.self_value
            count += 1
    _refresh_status(view, actor)
    _audit(session, actor, view, "verify.accept_rest", count=count)
    await scoring.save(session, view.sheet)
    return view, count


async def adjust(
    session: AsyncSession, actor: Actor, sheet_id: int, criterion_id: int, value: Decimal, reason: str,
    version: int | None,
) -> tuple[SheetView, Adjustment]:
    view = await verifiable(session, actor, sheet_id, version)
    criterion = scoring.criterion_of(view, criterion_id)
    entry = view.entry(criterion.id)
    if entry is None or entry.self_value is None:
        raise Refusal(_("This criterion has no self score to adjust."))
    _check_unexplained(entry)
    low, high = view.limits(criterion)
    if not low <= value <= high:
        raise Refusal(_("Type a number from {low} to {high}, e.g. {example}, or press a button.").format(
            low=fmt.number(low), high=fmt.number(high), example=fmt.number(high)))  # fmt: skip
    if value == entry.self_value:
        raise Refusal(_("That is the unit's own score: press ✅ Accept instead."))
    reason = " ".join(visible(reason or "").split())
    check_reason(reason)
    adjustment = Adjustment(
        verifier_unit_id=view.sheet.verifier_unit_id, by_person_id=actor.person_id,
        from_value=entry.self_value, to_value=value, reason=reason,
    )  # fmt: skip
    entry.adjustments.append(adjustment)
    entry.verified_value = value
    _refresh_status(view, actor)
    _audit(session, actor, view, "verify.adjust", criterion=criterion.code, before=str(entry.self_value),
           after=str(value))  # fmt: skip
    await scoring.save(session, view.sheet)
    facts = facts_of(view, entry, adjustment, await _unit_name(session, adjustment.verifier_unit_id))

    def render() -> notify.Note:
        return notify.Note(*words.score_adjusted(facts))

    await tell_representatives(session, view.cluster.id, [view.unit.id], f"verification.adjusted:{adjustment.id}",
                               render, skip_person=actor.person_id)  # fmt: skip
    return view, adjustment


def check_value_range(view: SheetView, criterion_id: int, value: Decimal) -> None:
    criterion = scoring.criterion_of(view, criterion_id)
    low, high = view.limits(criterion)
    if not low <= value <= high:
        raise Refusal(_("Type a number from {low} to {high}, e.g. {example}, or press a button.").format(
            low=fmt.number(low), high=fmt.number(high), example=fmt.number(high)))  # fmt: skip


def check_reason(reason: str) -> None:
    if not reason.strip():
        raise Refusal(_("A reason is required for an adjustment: type why the score changes."))
    if len(reason) > MAX_REASON:
        raise Refusal(_("A reason can have at most {max} characters; yours has {n}.").format(
            max=MAX_REASON, n=len(reason)))  # fmt: skip


# ------------------------------------------------------------------------------ disputes


@dataclass
class Dispute:
    adjustment: Adjustment
    entry: ScoreEntry
    view: SheetView
    verifier: str | None = None  # the verifying unit's name

    @property
    def criterion(self):
        return self.view.criterion(self.entry.criterion_id)

    @property
    def facts(self) -> AdjustmentFacts:
        """What the dispute card (`bot.views.scoring.dispute_text`) shows."""
        return facts_of(self.view, self.entry, self.adjustment, self.verifier)


def facts_of(view: SheetView, entry: ScoreEntry, adjustment: Adjustment, verifier: str | None) -> AdjustmentFacts:
    criterion = scoring.criterion_of(view, entry.criterion_id)
    return AdjustmentFacts(
        adjustment_id=adjustment.id, year=view.year.year, unit=view.unit.name, code=criterion.code,
        text=criterion.text, kind=str(criterion.kind), max_points=criterion.max_points,
        from_value=adjustment.from_value, to_value=adjustment.to_value, reason=adjustment.reason,
        verifier=verifier, explanation=adjustment.explanation, decided_value=adjustment.decided_value,
    )  # fmt: skip


async def _unit_name(session: AsyncSession, unit_id: int | None) -> str | None:
    unit = await session.get(Unit, unit_id) if unit_id is not None else None
    return unit.name if unit is not None else None


async def actor_for_adjustment(session: AsyncSession, person_id: int, adjustment_id: int) -> Actor:
    """The person acting on an adjustment, in its sheet's cluster (gone: stale)."""
    found = await queries.adjustment_of(session, adjustment_id)
    if found is None:
        raise scoring.gone()
    return await scoring.actor_for_sheet(session, person_id, found[2].id)


async def dispute(session: AsyncSession, actor: Actor, adjustment_id: int) -> Dispute:
    """An adjustment of the actor's cluster, with its sheet (refused as stale otherwise)."""
    found = await queries.adjustment_of(session, adjustment_id)
    if found is None:
        raise scoring.gone()
    adjustment, entry, sheet = found
    view = await scoring.load(session, actor, sheet.id)
    return Dispute(adjustment, entry, view, await _unit_name(session, adjustment.verifier_unit_id))


def deciding_unit(view: SheetView) -> int | None:
    """The unit whose representatives decide an explanation about this sheet: the chair unit,
    the vice-chair unit for the chair unit's own sheet."""
    year = view.year
    if rotation.decides_own_dispute(view.sheet.unit_id, year.chair_unit_id):
        return year.vice_chair_unit_id
    return year.chair_unit_id


async def explainable(session: AsyncSession, actor: Actor, adjustment_id: int) -> Dispute:
    found = await dispute(session, actor, adjustment_id)
    scoring.check_own_unit(actor, found.view.sheet.unit_id)
    await _verification_year(session, found.view.cluster.id)
    if live_adjustment(found.entry) is not found.adjustment:
        raise Refusal(_("The verifier has changed this score since; see the newest message about it."))
    if found.adjustment.explanation is not None:
        raise Refusal(_("Your unit has already explained this adjustment; an explanation can be given once."))
    return found


async def explain(session: AsyncSession, actor: Actor, adjustment_id: int, text: str) -> Dispute:
    found = await explainable(session, actor, adjustment_id)
    text = visible(text or "").strip()
    if not text:
        raise Refusal(_("Type your explanation as a text message, or /cancel."))
    if len(text) > MAX_EXPLANATION:
        raise Refusal(_("An explanation can have at most {max} characters; yours has {n}.").format(
            max=MAX_EXPLANATION, n=len(text)))  # fmt: skip
    found.adjustment.explanation = text
    found.adjustment.explained_at = utcnow()
    found.adjustment.explained_by_person_id = actor.person_id
    _audit(session, actor, found.view, "verify.explain", adjustment=found.adjustment.id)
    await scoring.save(session, found.view.sheet)
    deciders, facts = deciding_unit(found.view), found.facts

    def render() -> notify.Note:
        return notify.Note(words.dispute_text(facts), words.dispute_keyboard(facts))

    if deciders is not None:
        await tell_representatives(session, found.view.cluster.id, [deciders],
                                   f"verification.explained:{found.adjustment.id}", render,
                                   skip_person=actor.person_id)  # fmt: skip
    return found


def check_decider(actor: Actor, view: SheetView) -> None:
    """The chair decides; a dispute about the chair unit's own sheet goes to the vice-chair."""
    if rotation.decides_own_dispute(view.sheet.unit_id, view.year.chair_unit_id):
        if Role.VICE_CHAIR not in actor.roles or view.sheet.unit_id in actor.unit_ids:
            raise Refusal(_("This explanation is about the chair unit's own sheet: the vice-chair unit decides it."))
        return
    actor.require(Action.DECIDE_DISPUTE)
    if view.sheet.unit_id in actor.unit_ids:
        raise Refusal(_("You cannot decide about your own unit's sheet."))


async def decidable(session: AsyncSession, actor: Actor, adjustment_id: int) -> Dispute:
    found = await dispute(session, actor, adjustment_id)
    check_decider(actor, found.view)
    await _verification_year(session, found.view.cluster.id)
    if found.adjustment.explanation is None:
        raise Refusal(_("The unit has not explained this adjustment; the verified score stands."))
    if found.adjustment.decided_value is not None or live_adjustment(found.entry) is not found.adjustment:
        raise Refusal(_("This explanation has already been decided."))
    return found


async def decide(session: AsyncSession, actor: Actor, adjustment_id: int, value: Decimal) -> Dispute:
    found = await decidable(session, actor, adjustment_id)
    check_value_range(found.view, found.entry.criterion_id, value)
    found.adjustment.decided_value = value
    found.adjustment.decided_at = utcnow()
    found.adjustment.decided_by_person_id = actor.person_id
    found.entry.decided_value = value
    _audit(session, actor, found.view, "verify.decide", adjustment=found.adjustment.id, value=str(value))
    await scoring.save(session, found.view.sheet)
    view, facts = found.view, found.facts
    units = [view.unit.id] + ([view.sheet.verifier_unit_id] if view.sheet.verifier_unit_id else [])
    await tell_representatives(session, view.cluster.id, units, f"verification.decided:{found.adjustment.id}",
                               lambda: words.dispute_decided(facts), skip_person=actor.person_id)  # fmt: skip
    return found


async def open_disputes(session: AsyncSession, actor: Actor, cluster: Cluster) -> list[Dispute]:
    """Explained, undecided adjustments this person may decide."""
    year = await _verification_year(session, cluster.id)
    found = []
    for sheet in await queries.sheets_with_open_explanations(session, year.id, scoring.ROUND):
        view = None
        for entry in sheet.entries:
            adjustment = live_adjustment(entry)
            if adjustment is None or adjustment.explanation is None or adjustment.decided_value is not None:
                continue
            view = view or await scoring.view_of(session, sheet)
            try:
                check_decider(actor, view)
            except Refusal:
                continue
            found.append(Dispute(adjustment, entry, view))
    return found


def _audit(session: AsyncSession, actor: Actor, view: SheetView, action: str, **details) -> None:
    record(
        session, cluster_id=view.cluster.id, actor_person_id=actor.person_id, action=action,
        subject=f"sheet:{view.sheet.id}", unit_id=view.unit.id, **details,
    )  # fmt: skip
