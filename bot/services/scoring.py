"""Self-scoring (*tự chấm điểm*) as use cases: a unit's sheet, its values, notes, evidence,
submitting it, and the chair reopening it.

Who and when, checked here (not in handlers), so a forged or stale button is refused too:

- Editing needs `Action.EDIT_SCORES` (a representative) **of the sheet's unit**, the scoring
  phase open and before its deadline (`require_phase`), and the sheet still a draft.
- Reopening a submitted sheet needs `Action.REOPEN_SHEET` (the chair, the administrator), the
  scoring phase open and before its deadline, and no verification begun on the sheet.

**Shared drafts, optimistic concurrency.** All representatives of a unit edit one sheet. A
button or a prompt carries the sheet's `version` it was drawn with; a write whose version is
not the current one raises `StaleSheet` (nothing saved, the caller shows the sheet as it is
now). Every write bumps the version by touching the sheet row (`version_id_col`), so a
concurrent write that slipped in between the check and the flush fails with SQLAlchemy's
`StaleDataError`, turned into `StaleSheet` too. Adding evidence is the one write that never
conflicts (it only adds): it checks no version, so an album of photos arrives whole.

**Evidence** is never downloaded: Telegram's `file_id` (to resend it), `file_unique_id` (to
see the same file twice), name, size and type are kept. Files over 20 MB — what a bot may
fetch — are refused before anything else happens.

**Notices.** Submitting and reopening a sheet tell the unit's representatives (not the one who
acted) through the outbox, in the same transaction as the change (`tell_representatives`), keyed
by the event and the sheet's new version: the same event never queues twice, and a refused or
lost write queues nothing.

**Values** are exact decimals in the criterion's range (`bot.score_input.limits`); a
deduction is stored as the positive amount subtracted (see `bot.scoring`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from html import escape

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from bot import fmt
from bot import scoring as rules
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.score_input import limits
from bot.services import notify, tables
from bot.services.actors import Actor, actor_in
from bot.services.audit import record
from bot.services.clusters import current_year
from bot.services.phases import cluster_timezone, require_phase
from bot.views import scoring as words
from storage import scoring as queries
from storage.locked_tables import LockedTable
from storage.models import (
    AuditLog,
    Cluster,
    Criterion,
    EmulationYear,
    Evidence,
    EvidenceKind,
    Person,
    PhaseKind,
    ScoreEntry,
    ScoreRound,
    ScoreSheet,
    ScoringTable,
    SheetStatus,
    Unit,
    utcnow,
)
from storage.text import visible
from storage.units import units_of

ROUND = ScoreRound.YEAREND
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024  # what a bot may fetch from Telegram
MAX_EVIDENCE_PER_ENTRY = 20
MAX_NOTE = 1000
MAX_FILE_NAME = 300


class StaleSheet(Refusal):
    """The sheet changed since the button or prompt was drawn; nothing was saved."""

    def __init__(self, sheet_id: int) -> None:
        super().__init__(
            _("Someone else changed this sheet a moment ago, so nothing was saved. Here it is as "
              "it is now: please check and try again.")
        )  # fmt: skip
        self.sheet_id = sheet_id


@dataclass
class SheetView:
    """A sheet with everything needed to render or check it."""

    sheet: ScoreSheet
    unit: Unit
    year: EmulationYear
    cluster: Cluster
    table: ScoringTable | LockedTable  # a locked one: the read-only copy kept between updates

    @property
    def criteria(self) -> list[Criterion]:
        return list(self.table.criteria)

    @property
    def entries(self) -> dict[int, ScoreEntry]:
        return {e.criterion_id: e for e in self.sheet.entries}

    def criterion(self, criterion_id: int) -> Criterion | None:
        return next((c for c in self.table.criteria if c.id == criterion_id), None)

    def entry(self, criterion_id: int) -> ScoreEntry | None:
        return self.entries.get(criterion_id)

    def line(self, criterion: Criterion) -> rules.Line:
        return _line(criterion, self.entry(criterion.id))

    def lines(self) -> list[rules.Line]:
        entries = self.entries  # once: a card's totals ask for every line several times
        return [_line(c, entries.get(c.id)) for c in self.table.criteria]

    def rows(self) -> list[tuple[Criterion, ScoreEntry | None, rules.Line]]:
        """Each criterion with its entry and line, in table order, the entries' map built once
        (`entry` and `line` build it per call: a loop over the criteria with them is quadratic)."""
        entries = self.entries
        return [(c, entries.get(c.id), _line(c, entries.get(c.id))) for c in self.table.criteria]

    def totals(self, stage: str = rules.FINAL) -> rules.Totals:
        return rules.totals(self.lines(), self.table.bonus_cap, stage)

    @property
    def scored(self) -> int:
        return rules.scored(self.lines())

    @property
    def size(self) -> int:
        return len(self.table.criteria)

    @property
    def verified(self) -> int:
        return rules.verified_count(self.lines())

    def position(self, criterion_id: int) -> int:
        return next((i for i, c in enumerate(self.table.criteria) if c.id == criterion_id), 0)

    def neighbour(self, criterion_id: int, step: int) -> Criterion:
        criteria = self.criteria
        return criteria[(self.position(criterion_id) + step) % len(criteria)]

    def next_where(self, wanted, after_id: int | None = None) -> Criterion | None:
        """The first criterion after `after_id` (wrapping round) for which `wanted(entry)`."""
        criteria = self.criteria
        start = self.position(after_id) + 1 if after_id is not None else 0
        for i in range(len(criteria)):
            criterion = criteria[(start + i) % len(criteria)]
            if wanted(self.entry(criterion.id)):
                return criterion
        return None

    def next_unscored(self, after_id: int | None = None) -> Criterion | None:
        return self.next_where(lambda e: e is None or e.self_value is None, after_id)

    def limits(self, criterion: Criterion) -> tuple[Decimal, Decimal]:
        return limits(str(criterion.kind), criterion.max_points, self.table.bonus_cap)


def _line(criterion: Criterion, entry: ScoreEntry | None) -> rules.Line:
    return rules.Line(
        criterion.group_name, criterion.code, str(criterion.kind), criterion.max_points,
        entry.self_value if entry else None, entry.verified_value if entry else None,
        entry.decided_value if entry else None,
    )  # fmt: skip


# ------------------------------------------------------------------------------ loading


async def view_of(session: AsyncSession, sheet: ScoreSheet) -> SheetView:
    year = await session.get(EmulationYear, sheet.year_id)
    unit = await session.get(Unit, sheet.unit_id)
    cluster = await session.get(Cluster, year.cluster_id)
    table = await tables.table_to_read(session, year.id)
    return SheetView(sheet, unit, year, cluster, table)


async def load(session: AsyncSession, actor: Actor, sheet_id: int) -> SheetView:
    """A sheet of the actor's cluster (a button naming another cluster's sheet is stale)."""
    sheet = await queries.sheet_in_context(session, sheet_id)
    if sheet is None:
        raise gone()
    view = await view_of(session, sheet)
    if view.cluster.id != actor.cluster_id:
        raise gone()
    return view


async def actor_for_sheet(session: AsyncSession, person_id: int, sheet_id: int) -> Actor:
    """The person acting on a sheet, in the sheet's cluster (a sheet that is gone: stale)."""
    sheet = await queries.sheet_in_context(session, sheet_id)
    year = await session.get(EmulationYear, sheet.year_id) if sheet is not None else None
    if year is None:
        raise gone()
    return await actor_in(session, person_id, year.cluster_id)


async def evidence_to_resend(session: AsyncSession, actor: Actor, sheet_id: int,
                             evidence_id: int) -> tuple[Criterion, Evidence]:  # fmt: skip
    """A file of the actor's own unit's sheet to send back to them (reading: any phase)."""
    view = await load(session, actor, sheet_id)
    check_own_unit(actor, view.sheet.unit_id)
    found = await queries.evidence_of(session, evidence_id)
    if found is None or found[1].sheet_id != sheet_id:
        raise gone()
    evidence, entry = found
    return criterion_of(view, entry.criterion_id), evidence


def gone() -> Refusal:
    return Refusal(_("This button is no longer valid. Please use the newest message, or type /help."))


async def current_year_of(session: AsyncSession, cluster_id: int) -> EmulationYear:
    year = await current_year(session, cluster_id)
    if year is None:
        raise Refusal(_("This cluster has no emulation year yet."))
    return year


async def own_units(session: AsyncSession, actor: Actor) -> list[Unit]:
    """The active units this person represents in the cluster, in the cluster's order."""
    if not actor.unit_ids:
        return []
    rows = await session.scalars(
        select(Unit)
        .where(Unit.cluster_id == actor.cluster_id, Unit.active.is_(True), Unit.id.in_(sorted(actor.unit_ids)))
        .order_by(Unit.position, Unit.id)
    )  # by key: the person's own few, however many units the cluster has
    return list(rows.all())


def check_own_unit(actor: Actor, unit_id: int) -> None:
    actor.require(Action.EDIT_SCORES)
    if unit_id not in actor.unit_ids:
        raise Refusal(_("You can only see and score your own unit's sheet."))


async def open_sheet(session: AsyncSession, actor: Actor, unit_id: int) -> SheetView:
    """The unit's sheet for self-scoring (a new draft on first use), during scoring only."""
    check_own_unit(actor, unit_id)
    year = await current_year_of(session, actor.cluster_id)
    await require_phase(session, year.id, PhaseKind.SCORING)
    await tables.lock_table(session, year.id)  # scoring has opened: it already is; cheap
    sheet = await queries.ensure_sheet(session, year.id, unit_id, ROUND)
    return await view_of(session, sheet)


async def own_sheet(session: AsyncSession, actor: Actor, unit_id: int) -> SheetView | None:
    """The unit's sheet to look at (any phase), or None if it never scored."""
    check_own_unit(actor, unit_id)
    year = await current_year_of(session, actor.cluster_id)
    sheet = await queries.sheet_of(session, year.id, unit_id, ROUND)
    return await view_of(session, sheet) if sheet is not None else None


async def editable(session: AsyncSession, actor: Actor, sheet_id: int, version: int | None) -> SheetView:
    """The sheet, if this actor may change it now and it is still at `version` (None: any)."""
    view = await load(session, actor, sheet_id)
    check_own_unit(actor, view.sheet.unit_id)
    current = await current_year_of(session, actor.cluster_id)
    if current.id != view.year.id:
        raise Refusal(_("That sheet belongs to an earlier year; it can no longer change."))
    await require_phase(session, view.year.id, PhaseKind.SCORING)
    if view.sheet.status != SheetStatus.DRAFT:
        raise Refusal(await submitted_text(session, view))
    if version is not None and view.sheet.version != version:
        raise StaleSheet(view.sheet.id)
    return view


async def submitted_text(session: AsyncSession, view: SheetView) -> str:
    sheet = view.sheet
    who = await session.get(Person, sheet.submitted_by_person_id) if sheet.submitted_by_person_id else None
    when = fmt.datetime(sheet.submitted_at, cluster_timezone(view.cluster)) if sheet.submitted_at else "—"
    return _(
        "This sheet was submitted on {when} by {who}, so it can no longer be changed. The chair can "
        "reopen it before the scoring deadline."
    ).format(when=when, who=escape(who.full_name) if who else "—")


def criterion_of(view: SheetView, criterion_id: int) -> Criterion:
    criterion = view.criterion(criterion_id)
    if criterion is None:
        raise gone()
    return criterion


def _entry(view: SheetView, criterion: Criterion) -> ScoreEntry:
    entry = view.entry(criterion.id)
    if entry is None:
        entry = ScoreEntry(criterion_id=criterion.id, evidence=[], adjustments=[])
        view.sheet.entries.append(entry)
    return entry


async def save(session: AsyncSession, sheet: ScoreSheet) -> None:
    """Bump the sheet's version with the entries' changes; a concurrent write → `StaleSheet`."""
    sheet_id = sheet.id
    sheet.updated_at = utcnow()
    try:
        await session.flush()
    except StaleDataError:
        raise StaleSheet(sheet_id) from None


# ------------------------------------------------------------------------------ writing


async def changed_last_by(session: AsyncSession, view: SheetView, actor: Actor) -> bool:
    """Was the sheet's newest change this person's? (Every change writes its audit entry in
    the same transaction.) A button on an older version then repeats their own action, not
    someone else's that they have not seen."""
    last = await session.scalar(
        select(AuditLog.actor_person_id)
        .where(AuditLog.cluster_id == view.cluster.id, AuditLog.subject == f"sheet:{view.sheet.id}")
        .order_by(AuditLog.id.desc())
        .limit(1)
    )
    return last is not None and last == actor.person_id


async def check_value_repeat(session: AsyncSession, view: SheetView, actor: Actor, criterion: Criterion,
                             value: Decimal) -> None:  # fmt: skip
    """A value given on an older version of the sheet that is already the criterion's value,
    the sheet last changed by this person: a second tap on the same quick value, said as
    saved (a `Refusal`: the message that followed the first tap stays)."""
    entry = view.entry(criterion.id)
    if entry is None or entry.self_value is None or entry.self_value != value:
        return
    if await changed_last_by(session, view, actor):
        raise Refusal(_("Already saved: {code} is {value}.").format(
            code=escape(criterion.code), value=fmt.number(value)))  # fmt: skip


async def set_self_value(
    session: AsyncSession, actor: Actor, sheet_id: int, criterion_id: int, value: Decimal, version: int | None
) -> SheetView:
    view = await editable(session, actor, sheet_id, None)
    criterion = criterion_of(view, criterion_id)
    if version is not None and view.sheet.version != version:
        await check_value_repeat(session, view, actor, criterion, value)
        raise StaleSheet(view.sheet.id)
    low, high = view.limits(criterion)
    if not low <= value <= high or value.quantize(Decimal("0.01")) != value:
        raise Refusal(_("Type a number from {low} to {high}, e.g. {example}, or press a button.").format(
            low=fmt.number(low), high=fmt.number(high), example=fmt.number(high)))  # fmt: skip
    entry = _entry(view, criterion)
    before = entry.self_value
    entry.self_value = value
    _audit(session, actor, view, "score.self", criterion=criterion.code, before=before, after=value)
    await save(session, view.sheet)
    return view


async def set_note(
    session: AsyncSession, actor: Actor, sheet_id: int, criterion_id: int, note: str | None, version: int | None
) -> SheetView:
    view = await editable(session, actor, sheet_id, version)
    criterion = criterion_of(view, criterion_id)
    note = visible(note or "").strip() or None  # no NUL (PostgreSQL refuses it) nor hidden text
    if note is not None and len(note) > MAX_NOTE:
        raise Refusal(_("A note can have at most {max} characters; yours has {n}. Please shorten it.").format(
            max=MAX_NOTE, n=len(note)))  # fmt: skip
    entry = _entry(view, criterion)
    entry.note = note
    _audit(session, actor, view, "score.note", criterion=criterion.code, cleared=note is None)
    await save(session, view.sheet)
    return view


@dataclass(frozen=True)
class EvidenceFile:
    """What Telegram tells about a file; nothing is downloaded."""

    file_id: str
    file_unique_id: str
    file_name: str | None
    file_size: int | None
    mime_type: str | None
    kind: EvidenceKind


def check_evidence_size(file: EvidenceFile) -> None:
    if file.file_size is not None and file.file_size > MAX_EVIDENCE_BYTES:
        raise Refusal(
            _("This file is {size} MB; evidence files can be at most 20 MB. Send a smaller file "
              "(e.g. split or compress the PDF), or a link to it in the note.").format(
                size=fmt.number(Decimal(file.file_size) / (1024 * 1024)))
        )  # fmt: skip


async def add_evidence(
    session: AsyncSession, actor: Actor, sheet_id: int, criterion_id: int, file: EvidenceFile
) -> tuple[SheetView, Evidence]:
    check_evidence_size(file)
    view = await editable(session, actor, sheet_id, None)  # adding never conflicts
    criterion = criterion_of(view, criterion_id)
    entry = _entry(view, criterion)
    if any(e.file_unique_id == file.file_unique_id for e in entry.evidence):
        raise Refusal(_("This file is already attached to criterion {code}.").format(code=escape(criterion.code)))
    if len(entry.evidence) >= MAX_EVIDENCE_PER_ENTRY:
        raise Refusal(_("A criterion can have at most {max} evidence files. Remove one first.").format(
            max=MAX_EVIDENCE_PER_ENTRY))  # fmt: skip
    evidence = Evidence(
        telegram_file_id=file.file_id, file_unique_id=file.file_unique_id,
        file_name=(file.file_name or "")[:MAX_FILE_NAME] or None, file_size=file.file_size,
        mime_type=(file.mime_type or "")[:128] or None, kind=file.kind, added_by_person_id=actor.person_id,
    )  # fmt: skip
    entry.evidence.append(evidence)
    _audit(session, actor, view, "score.evidence_add", criterion=criterion.code, file=evidence.file_name,
           size=file.file_size)  # fmt: skip
    await save(session, view.sheet)
    return view, evidence


async def remove_evidence(
    session: AsyncSession, actor: Actor, sheet_id: int, evidence_id: int, version: int | None
) -> tuple[SheetView, Criterion]:
    view = await editable(session, actor, sheet_id, version)
    for entry in view.sheet.entries:
        for evidence in entry.evidence:
            if evidence.id == evidence_id:
                entry.evidence.remove(evidence)
                criterion = criterion_of(view, entry.criterion_id)
                _audit(session, actor, view, "score.evidence_remove", criterion=criterion.code,
                       file=evidence.file_name)  # fmt: skip
                await save(session, view.sheet)
                return view, criterion
    raise gone()


async def check_submit_repeat(view: SheetView, actor: Actor) -> None:
    """A second tap on "Submit" (its button carries the version from before): when this person
    submitted the sheet, say it is done (a `Refusal`: the message that confirmed it stays).
    Someone else's submission meanwhile is a change they did not see (`StaleSheet`)."""
    sheet = view.sheet
    if sheet.status != SheetStatus.DRAFT and sheet.submitted_by_person_id == actor.person_id:
        raise Refusal(_("The sheet is already submitted."))


async def submit(session: AsyncSession, actor: Actor, sheet_id: int, version: int | None) -> SheetView:
    """Lock the sheet for verification; every criterion must have a self score."""
    view = await load(session, actor, sheet_id)
    check_own_unit(actor, view.sheet.unit_id)
    if version is not None and view.sheet.version != version and view.sheet.status != SheetStatus.DRAFT:
        await check_submit_repeat(view, actor)
        raise StaleSheet(view.sheet.id)  # submitted by someone else meanwhile: shown as it is now
    view = await editable(session, actor, sheet_id, version)
    missing = rules.missing(view.lines())
    if missing:
        codes = ", ".join(escape(line.code) for line in missing[:12]) + ("…" if len(missing) > 12 else "")
        raise Refusal(
            _("{n} criteria have no score yet: {codes}. Score them (0 is a score) and submit again.").format(
                n=len(missing), codes=codes)
        )  # fmt: skip
    sheet = view.sheet
    sheet.status = SheetStatus.SUBMITTED
    sheet.submitted_at = utcnow()
    sheet.submitted_by_person_id = actor.person_id
    total = view.totals(rules.SELF).total
    _audit(session, actor, view, "score.submit", total=str(total))
    await save(session, sheet)
    who, unit = await _name_of(session, actor), view.unit.name
    await tell_representatives(session, view.cluster.id, [view.unit.id], f"sheet.submitted:{sheet.id}:v{sheet.version}",
                               lambda: words.sheet_submitted(who, unit, total), skip_person=actor.person_id)  # fmt: skip
    return view


async def reopen(session: AsyncSession, actor: Actor, sheet_id: int, version: int | None) -> SheetView:
    """The chair (or the administrator) unlocks a submitted sheet before the scoring deadline."""
    actor.require(Action.REOPEN_SHEET)
    view = await load(session, actor, sheet_id)
    await require_phase(session, view.year.id, PhaseKind.SCORING)
    if view.sheet.status == SheetStatus.DRAFT:
        raise Refusal(_("This sheet is not submitted: its unit can still change it."))
    if version is not None and view.sheet.version != version:
        raise StaleSheet(view.sheet.id)
    if await queries.sheet_verified_anything(session, view.sheet.id):
        raise Refusal(_("Verification of this sheet has begun; it can no longer be reopened."))
    sheet = view.sheet
    sheet.status = SheetStatus.DRAFT
    sheet.reopened_at = utcnow()
    _audit(session, actor, view, "score.reopen")
    await save(session, sheet)
    who, unit = await _name_of(session, actor), view.unit.name
    await tell_representatives(session, view.cluster.id, [view.unit.id], f"sheet.reopened:{sheet.id}:v{sheet.version}",
                               lambda: words.sheet_reopened(who, unit), skip_person=actor.person_id)  # fmt: skip
    return view


async def tell_representatives(session: AsyncSession, cluster_id: int, unit_ids: list[int], key: str,
                               render: notify.Render, *, skip_person: int | None = None) -> int:  # fmt: skip
    """Queue a private notice about the units' sheets to their representatives (each once, in
    their own language), except `skip_person` (who caused it and sees the reply); the number
    queued now (0 when the event `key` was queued before)."""
    people = [p for p in await queries.representatives_of(session, set(unit_ids)) if p.id != skip_person]
    return await notify.to_people(session, people, key, render, cluster_id=cluster_id)


async def _name_of(session: AsyncSession, actor: Actor) -> str:
    person = await session.get(Person, actor.person_id) if actor.person_id is not None else None
    return person.full_name if person is not None else "—"


def _audit(session: AsyncSession, actor: Actor, view: SheetView, action: str, **details) -> None:
    details = {k: str(v) if isinstance(v, Decimal) else v for k, v in details.items()}
    record(
        session, cluster_id=view.cluster.id, actor_person_id=actor.person_id, action=action,
        subject=f"sheet:{view.sheet.id}", unit_id=view.unit.id, **details,
    )  # fmt: skip


# ------------------------------------------------------------------------------ views


@dataclass(frozen=True)
class UnitScores:
    """One unit's line of the cluster's table: its sheet (None: never scored)."""

    unit: Unit
    view: SheetView | None
    verifier: Unit | None


@dataclass(frozen=True)
class ClusterScores:
    cluster: Cluster
    year: EmulationYear
    table: ScoringTable
    units: list[UnitScores]


async def cluster_scores(session: AsyncSession, actor: Actor, cluster: Cluster) -> ClusterScores:
    """Every unit's sheet of the current year (chair, secretariat, administrator only).

    Active units all appear (with no sheet if they never scored); a unit that left appears
    only if it had a sheet."""
    actor.require(Action.VIEW_ALL_SCORES)
    return await score_report(session, cluster)


async def final_totals(session: AsyncSession, cluster: Cluster) -> dict[int, Decimal]:
    """Each scored unit's final total this year: what a ballot's top N and the year's count
    read (their callers hold `Action.MANAGE_BALLOTS` or `Action.TALLY`; this says no names)."""
    from bot import scoring as arithmetic

    table = await score_report(session, cluster)
    return {row.unit.id: row.view.totals(arithmetic.FINAL).total for row in table.units if row.view is not None}


async def score_report(session: AsyncSession, cluster: Cluster, year_id: int | None = None) -> ClusterScores:
    """`cluster_scores` without the permission check, for callers that made their own (the
    count's papers: `Action.TALLY`, which name the counted year: the next year may have been
    started while they were being built)."""
    year = await current_year_of(session, cluster.id) if year_id is None else await session.get(EmulationYear, year_id)
    table = await tables.ensure_default_table(session, year.id)
    sheets = {s.unit_id: s for s in await queries.sheets_of_year(session, year.id, ROUND)}
    rows = []
    names = {}
    for unit in await units_of(session, cluster.id):
        names[unit.id] = unit
    for unit in names.values():
        sheet = sheets.get(unit.id)
        if sheet is None and not unit.active:
            continue
        view = SheetView(sheet, unit, year, cluster, table) if sheet is not None else None
        verifier = names.get(sheet.verifier_unit_id) if sheet is not None and sheet.verifier_unit_id else None
        rows.append(UnitScores(unit, view, verifier))
    return ClusterScores(cluster, year, table, rows)


async def sheet_for_viewing(session: AsyncSession, actor: Actor, unit_id: int) -> UnitScores:
    """A unit's sheet to read, with its verifying unit: one's own unit, or any unit for
    `Action.VIEW_ALL_SCORES`."""
    unit = await session.get(Unit, unit_id)
    if unit is None or unit.cluster_id != actor.cluster_id:
        raise gone()
    if unit_id not in actor.unit_ids:
        if not actor.may(Action.VIEW_ALL_SCORES):
            raise Refusal(_("You can only see your own unit's sheet."))
    year = await current_year_of(session, actor.cluster_id)
    sheet = await queries.sheet_of(session, year.id, unit_id, ROUND)
    if sheet is None:
        return UnitScores(unit, None, None)
    verifier = await session.get(Unit, sheet.verifier_unit_id) if sheet.verifier_unit_id else None
    return UnitScores(unit, await view_of(session, sheet), verifier)
