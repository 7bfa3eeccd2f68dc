"""The secretariat's digest, as rules: what it says about a cluster, when it is due, and
whether it says anything new.

Pure: plain data in (`ClusterFacts`, read by `bot/services/digests.py` for every cluster of a
round at once), a `Snapshot` out. The words are in `bot/views/digest.py`. A digest is sent to a
recipient only when its `fingerprint` differs from the one last sent to them; the fingerprint
is of the content, never of the moment (the "3 days left" of the text changes every day, the
content does not), so the next morning's digest of an unchanged cluster is skipped.

Ballots are counted from the voter register alone: which units cast, never what.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.phases import PhaseView, current_phase, latest_opened
from storage.models.ballot import BallotKind
from storage.models.pledge import PledgeStatus
from storage.models.scoring import SheetStatus
from storage.models.year import PhaseKind

DUE_WINDOW = dt.timedelta(days=7)  # "what falls due in the next 7 days"
DEFAULT_TIME = dt.time(8, 0)
EVERY_DAY = frozenset(range(7))  # Monday = 0, as `date.weekday()`
WEEKLY_DAY = 0  # the weekly summary goes on Mondays, in place of that day's digest
CATCH_UP = dt.timedelta(hours=20)  # a daily slot missed while the bot was stopped, still worth sending
SETTLE = dt.timedelta(minutes=5)  # a phase change's digest waits this long: a slip undone meanwhile says nothing
TIMES = tuple(dt.time(h) for h in (6, 7, 8, 9, 10, 12, 14, 16, 17))  # the settings' buttons


class StepKind(enum.StrEnum):
    PLEDGES_SUBMITTED = "pledges_submitted"
    PLEDGES_ACCEPTED = "pledges_accepted"
    PLEDGES_SIGNED = "pledges_signed"
    SHEETS_SUBMITTED = "sheets_submitted"
    SHEETS_VERIFIED = "sheets_verified"
    DISPUTES = "disputes"
    BALLOT = "ballot"


class Variant(enum.StrEnum):
    DAILY = "daily"
    PHASE = "phase"  # sent at a phase change
    WEEKLY = "weekly"  # Mondays: sent even when nothing changed
    NOW = "now"  # /digest


# (step, the phase from which it is shown, the statuses that count as done)
_PLEDGE_STEPS = (
    (StepKind.PLEDGES_SUBMITTED, PhaseKind.REGISTRATION,
     frozenset({PledgeStatus.SUBMITTED, PledgeStatus.ACCEPTED, PledgeStatus.SIGNED})),
    (StepKind.PLEDGES_ACCEPTED, PhaseKind.REGISTRATION, frozenset({PledgeStatus.ACCEPTED, PledgeStatus.SIGNED})),
    (StepKind.PLEDGES_SIGNED, PhaseKind.SIGNING, frozenset({PledgeStatus.SIGNED})),
)  # fmt: skip
_SHEET_STEPS = (
    (StepKind.SHEETS_SUBMITTED, PhaseKind.SCORING, frozenset({SheetStatus.SUBMITTED, SheetStatus.VERIFIED})),
    (StepKind.SHEETS_VERIFIED, PhaseKind.VERIFICATION, frozenset({SheetStatus.VERIFIED})),
)


# ------------------------------------------------------------------------------ settings


@dataclass(frozen=True)
class DigestSettings:
    """A cluster's choices (kept in ``clusters.settings``): the time of day, the days of the
    week (Monday = 0), or off."""

    at: dt.time = DEFAULT_TIME
    days: frozenset[int] = EVERY_DAY
    enabled: bool = True

    @classmethod
    def of(cls, settings: Mapping | None) -> DigestSettings:
        """Read from a cluster's settings; anything unreadable falls back to the default."""
        settings = settings or {}
        at = DEFAULT_TIME
        text = settings.get("digest_time")
        if isinstance(text, str):
            try:
                at = dt.time.fromisoformat(text).replace(second=0, microsecond=0, tzinfo=None)
            except ValueError:
                pass
        days = settings.get("digest_days")
        if isinstance(days, list) and all(type(d) is int and 0 <= d <= 6 for d in days):
            chosen = frozenset(days)
        else:
            chosen = EVERY_DAY
        return cls(at, chosen, settings.get("digest_off") is not True)

    def stored(self) -> dict:
        return {"digest_time": self.at.strftime("%H:%M"), "digest_days": sorted(self.days),
                "digest_off": not self.enabled}  # fmt: skip

    def with_day(self, day: int) -> DigestSettings:
        """The day toggled (never the last one off: switch the digest off for that)."""
        days = self.days ^ {day}
        return dataclasses.replace(self, days=days) if days else self


def daily_instant(settings: DigestSettings, tz: ZoneInfo, day: dt.date) -> dt.datetime:
    """The digest's moment on a local `day`, in UTC (a time skipped by a clock change moves on)."""
    local = dt.datetime.combine(day, settings.at, tzinfo=tz)
    return local.astimezone(dt.UTC)


def variant_on(settings: DigestSettings, day: dt.date) -> Variant | None:
    """What the daily slot of a local `day` sends: the weekly summary on Mondays, the daily
    digest on a chosen day, nothing otherwise (or when the digest is off)."""
    if not settings.enabled:
        return None
    if day.weekday() == WEEKLY_DAY:
        return Variant.WEEKLY
    return Variant.DAILY if day.weekday() in settings.days else None


def daily_slots(settings: DigestSettings, tz: ZoneInfo, now: dt.datetime) -> list[tuple[dt.datetime, Variant]]:
    """The latest daily slot not older than `CATCH_UP` (one missed while the bot was stopped)
    and the next one: (UTC moment, variant)."""
    today = now.astimezone(tz).date()
    found: list[tuple[dt.datetime, Variant]] = []
    past = None
    for offset in range(-1, 8):
        day = today + dt.timedelta(days=offset)
        variant = variant_on(settings, day)
        if variant is None:
            continue
        at = daily_instant(settings, tz, day)
        if at <= now:
            if now - at <= CATCH_UP:
                past = (at, variant)
        else:
            found.append((at, variant))
            break
    return ([past] if past else []) + found


# ------------------------------------------------------------------------------ content


@dataclass(frozen=True)
class BallotFacts:
    id: int
    kind: BallotKind
    label: str | None
    round: int
    deadline_at: dt.datetime | None
    cast: frozenset[int]  # units with a register row cast: never anything about the papers


@dataclass(frozen=True)
class ClusterFacts:
    """What the database says about one cluster, as plain data."""

    name: str
    year: int | None
    views: Sequence[PhaseView]
    units: Sequence[tuple[int, str]]  # active units (id, name), in the cluster's order
    pledges: Mapping[int, str] = dataclasses.field(default_factory=dict)  # unit -> status
    sheets: Mapping[int, str] = dataclasses.field(default_factory=dict)  # unit -> year-end sheet status
    disputes: Sequence[int] = ()  # the unit of each dispute waiting for a decision
    ballots: Sequence[BallotFacts] = ()  # open ballots
    parked: int = 0  # outbox rows that will not go by themselves


@dataclass(frozen=True)
class Step:
    kind: StepKind
    done: int
    total: int
    missing: tuple[str, ...]  # the units not done (DISPUTES: the units whose disputes wait)
    ballot: tuple[BallotKind, str | None, int] | None = None  # kind, label, round


class DueKind(enum.StrEnum):
    PHASE_OPENS = "phase_opens"
    PHASE_DEADLINE = "phase_deadline"
    BALLOT_DEADLINE = "ballot_deadline"


@dataclass(frozen=True)
class Due:
    at: dt.datetime
    kind: DueKind
    phase: PhaseKind | None = None
    ballot: tuple[BallotKind, str | None, int] | None = None


@dataclass(frozen=True)
class Snapshot:
    cluster: str
    year: int | None
    phase: PhaseKind | None  # the open phase
    deadline: dt.datetime | None
    units: int
    steps: tuple[Step, ...]
    parked: int
    due: tuple[Due, ...]


def _done(units: Sequence[tuple[int, str]], statuses: Mapping[int, str], done: Iterable[str]) -> set[int]:
    done = set(done)
    return {uid for uid, _name in units if statuses.get(uid) in done}


def _step(kind: StepKind, units: Sequence[tuple[int, str]], done: set[int], ballot=None) -> Step:
    return Step(kind, sum(1 for uid, _n in units if uid in done), len(units),
                tuple(name for uid, name in units if uid not in done), ballot)  # fmt: skip


def snapshot(facts: ClusterFacts, now: dt.datetime) -> Snapshot:
    """The digest's content: the open phase and its deadline; each step reached so far, how
    many units are done and which are not; disputes waiting; ballot turnout; undelivered
    messages; what falls due in the next 7 days."""
    current = current_phase(facts.views)
    reached = latest_opened(facts.views)
    reached_kind = reached.kind if reached is not None else None
    steps: list[Step] = []
    if reached_kind is not None:
        for kind, from_phase, done in _PLEDGE_STEPS:
            if from_phase <= reached_kind:
                steps.append(_step(kind, facts.units, _done(facts.units, facts.pledges, done)))
        for kind, from_phase, done in _SHEET_STEPS:
            if from_phase <= reached_kind:
                steps.append(_step(kind, facts.units, _done(facts.units, facts.sheets, done)))
        if PhaseKind.VERIFICATION <= reached_kind or facts.disputes:
            waiting = {uid for uid in facts.disputes}
            names = tuple(name for uid, name in facts.units if uid in waiting)
            steps.append(Step(StepKind.DISPUTES, len(facts.disputes), len(facts.units), names))
    for ballot in sorted(facts.ballots, key=lambda b: b.id):
        steps.append(_step(StepKind.BALLOT, facts.units, set(ballot.cast), (ballot.kind, ballot.label, ballot.round)))
    return Snapshot(
        cluster=facts.name,
        year=facts.year,
        phase=current.kind if current else None,
        deadline=current.deadline_at if current else None,
        units=len(facts.units),
        steps=tuple(steps),
        parked=facts.parked,
        due=due_soon(facts.views, facts.ballots, now),
    )


def due_soon(views: Iterable[PhaseView], ballots: Iterable[BallotFacts], now: dt.datetime) -> tuple[Due, ...]:
    """Planned openings, deadlines of open phases and of open ballots within `DUE_WINDOW`."""
    until = now + DUE_WINDOW
    found: list[Due] = []
    for view in views:
        if view.opened_at is None and view.opens_at is not None and now <= view.opens_at <= until:
            found.append(Due(view.opens_at, DueKind.PHASE_OPENS, phase=view.kind))
        if view.is_open and view.deadline_at is not None and now <= view.deadline_at <= until:
            found.append(Due(view.deadline_at, DueKind.PHASE_DEADLINE, phase=view.kind))
    for ballot in ballots:
        if ballot.deadline_at is not None and now <= ballot.deadline_at <= until:
            found.append(Due(ballot.deadline_at, DueKind.BALLOT_DEADLINE,
                             ballot=(ballot.kind, ballot.label, ballot.round)))  # fmt: skip
    return tuple(sorted(found, key=lambda d: (d.at, d.kind, d.phase.rank if d.phase else 0)))


def _plain(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def fingerprint(snap: Snapshot) -> str:
    """SHA-256 of the content: equal exactly when the digest would say the same."""
    data = json.dumps(_plain(snap), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def week_of(day: dt.date) -> str:
    """The ISO week a weekly summary belongs to (`2026-W49`): one per recipient per week."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def should_send(variant: Variant, snap_fingerprint: str, last_fingerprint: str | None,
                week: str | None, last_week: str | None) -> bool:  # fmt: skip
    """Whether a recipient gets this digest: something changed since the last one they got;
    the weekly summary once a week whatever changed; /digest always."""
    if variant is Variant.NOW:
        return True
    if variant is Variant.WEEKLY:
        return week != last_week
    return snap_fingerprint != last_fingerprint
