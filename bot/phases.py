"""The year's phases: which one is open, what may be opened or closed next, deadlines, and the
guard other features call before acting (`require_phase`).

Pure rules over `PhaseView` (plain data, aware UTC datetimes); no Telegram, no database. The
service `bot.services.phases` loads the views and stores what these rules decide.

The rules, as a chair would explain them:

- Phases go in the order of `PhaseKind` (registration → signing → scoring → verification →
  voting → results → closed). At most one is open at a time.
- **Opening** a phase is one step forward: only the phase after the last one opened (the first,
  pledge registration, when none has been). Opening it closes the phase that is still open, so
  one tap on "open scoring" moves the year on. Phases are never skipped: a cluster that starts
  using the bot in November taps through the earlier phases once.
- A phase that was **closed** may be **reopened** as long as no later phase has opened (a
  chair who closed registration a day early can undo it).
- **Stepping back** (the cluster administrator only, a correction): reopen the phase just
  before the last one opened; that later phase's opening is undone (its plan is kept). Never
  further back than one phase at a time.
- The last phase, "closed" (the year's end), cannot itself be closed and has no deadline.
- A **deadline** must be in the future and after the phase's opening. Opening a phase keeps a
  planned deadline that is still ahead and drops one that has passed.
- **Actions** of a phase are allowed while it is open and before its deadline; after the
  deadline they are refused until the chair extends it (`require_phase`).
- A typed date without a time means 17:00, the end of an office day ("trước 17h00 ngày ...").
  The administrative form "17 giờ ngày 01 tháng 01 năm 2027" is read too; examples shown in
  prompts are computed from the current time, so they are never in the past.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from html import escape
from zoneinfo import ZoneInfo

from bot import fmt
from bot.errors import Refusal
from bot.i18n import N_, _
from storage.models.base import utcnow
from storage.models.year import PhaseKind
from storage.text import visible

DEFAULT_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_HOUR = 17  # a date typed without a time: the end of an office day
QUICK_DAYS = (7, 14, 30)

PHASE_NAMES: dict[PhaseKind, str] = {
    PhaseKind.REGISTRATION: N_("Pledge registration"),
    PhaseKind.SIGNING: N_("Signing of the pledge"),
    PhaseKind.SCORING: N_("Self-scoring"),
    PhaseKind.VERIFICATION: N_("Verification"),
    PhaseKind.VOTING: N_("Evaluation and voting"),
    PhaseKind.RESULTS: N_("Announcement of results"),
    PhaseKind.CLOSED: N_("End of the year"),
}


def phase_name(kind: PhaseKind) -> str:
    """The phase's name in the current language ("Tự chấm điểm")."""
    return _(PHASE_NAMES[kind])


class PhaseState(StrEnum):
    NOT_OPENED = "not_opened"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class PhaseView:
    """One phase as the rules see it: planned (`opens_at`, `deadline_at`) and actual
    (`opened_at`, `closed_at`). All datetimes are aware (UTC from storage)."""

    kind: PhaseKind
    opens_at: dt.datetime | None = None
    deadline_at: dt.datetime | None = None
    opened_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None and self.closed_at is None

    @property
    def state(self) -> PhaseState:
        if self.opened_at is None:
            return PhaseState.NOT_OPENED
        return PhaseState.OPEN if self.closed_at is None else PhaseState.CLOSED

    @property
    def start(self) -> dt.datetime | None:
        """When it opened, else when it is planned to."""
        return self.opened_at or self.opens_at

    def overdue(self, now: dt.datetime) -> bool:
        return self.is_open and self.deadline_at is not None and now > self.deadline_at


@dataclass(frozen=True)
class OpenPlan:
    """What opening `kind` changes; the service applies it."""

    kind: PhaseKind
    reopen: bool = False  # it had been opened before (and closed); only `closed_at` is cleared
    closes: PhaseKind | None = None  # the phase still open, closed by this opening
    undoes: PhaseKind | None = None  # stepping back: the later phase whose opening is undone
    drop_deadline: bool = False  # its planned deadline has passed: cleared


# ----------------------------------------------------------------------------- reading views


def complete(views: Iterable[PhaseView]) -> list[PhaseView]:
    """All seven phases in order; a kind missing from `views` is a phase never planned."""
    by_kind = {v.kind: v for v in views}
    return [by_kind.get(kind, PhaseView(kind)) for kind in PhaseKind.ordered()]


def view_of(views: Iterable[PhaseView], kind: PhaseKind) -> PhaseView:
    return next((v for v in views if v.kind == kind), PhaseView(kind))


def current_phase(views: Iterable[PhaseView]) -> PhaseView | None:
    """The open phase (opened and not closed), or None between phases."""
    open_ = [v for v in views if v.is_open]
    return max(open_, key=lambda v: v.kind.rank) if open_ else None


def latest_opened(views: Iterable[PhaseView]) -> PhaseView | None:
    """The furthest phase the year has reached, open or closed since."""
    opened = [v for v in views if v.opened_at is not None]
    return max(opened, key=lambda v: v.kind.rank) if opened else None


def next_to_open(views: Iterable[PhaseView]) -> PhaseKind | None:
    """The phase a forward step opens: the one after the latest opened, or the first."""
    latest = latest_opened(views)
    if latest is None:
        return PhaseKind.ordered()[0]
    return latest.kind.next


def deadline_target(views: Sequence[PhaseView]) -> PhaseKind | None:
    """Which phase "set the deadline" is about: the open one, else the next one to open."""
    current = current_phase(views)
    kind = current.kind if current is not None else next_to_open(views)
    return None if kind is None or kind == PhaseKind.CLOSED else kind


# ----------------------------------------------------------------------------- changing phases


def check_open(views: Sequence[PhaseView], kind: PhaseKind, now: dt.datetime,
               tz: ZoneInfo = DEFAULT_TZ) -> OpenPlan:  # fmt: skip
    """Opening `kind` one step forward, or reopening the latest phase after it was closed."""
    view = view_of(views, kind)
    if view.is_open:
        raise Refusal(already_open_text(view, tz))
    latest = latest_opened(views)
    current = current_phase(views)
    drop = view.deadline_at is not None and view.deadline_at <= now
    if latest is not None and kind == latest.kind:
        return OpenPlan(kind, reopen=True, drop_deadline=drop)
    expected = next_to_open(views)
    if kind == expected:
        return OpenPlan(kind, closes=current.kind if current else None, drop_deadline=drop)
    if latest is not None and kind < latest.kind:
        raise Refusal(
            _(
                "{phase} cannot be opened again: {later} has already started. The cluster "
                "administrator can step back one phase at a time with /phase."
            ).format(phase=phase_name(kind), later=phase_name(latest.kind))
        )
    assert expected is not None  # the year's end was reached: every kind is <= latest
    raise Refusal(
        _("Phases go in order: open {expected} before {phase}.").format(
            expected=phase_name(expected), phase=phase_name(kind)
        )
    )


def check_step_back(views: Sequence[PhaseView], kind: PhaseKind, now: dt.datetime,
                    tz: ZoneInfo = DEFAULT_TZ) -> OpenPlan:  # fmt: skip
    """Reopen `kind`, the phase just before the latest opened one, undoing that opening."""
    view = view_of(views, kind)
    if view.is_open:
        raise Refusal(already_open_text(view, tz))
    latest = latest_opened(views)
    if latest is None or kind.next != latest.kind:
        raise Refusal(
            _("You can only step back to the phase just before the latest one opened.")
        )
    drop = view.deadline_at is not None and view.deadline_at <= now
    return OpenPlan(kind, reopen=view.opened_at is not None, undoes=latest.kind, drop_deadline=drop)


def check_close(views: Sequence[PhaseView], kind: PhaseKind) -> None:
    if kind == PhaseKind.CLOSED:
        raise Refusal(
            _("{phase} is the end of the year: it is not closed.").format(phase=phase_name(kind))
        )
    if not view_of(views, kind).is_open:
        raise Refusal(_("{phase} is not open.").format(phase=phase_name(kind)))


def check_deadline(opens_at: dt.datetime | None, deadline: dt.datetime, now: dt.datetime,
                   tz: ZoneInfo = DEFAULT_TZ) -> None:  # fmt: skip
    """A deadline must be ahead of now and after the phase's opening."""
    if deadline <= now:
        raise Refusal(
            _("The deadline {deadline} has already passed (it is now {now}).").format(
                deadline=fmt.datetime(deadline, tz), now=fmt.datetime(now, tz)
            )
        )
    if opens_at is not None and deadline <= opens_at:
        raise Refusal(
            _("The deadline {deadline} is before the phase opens ({opens}).").format(
                deadline=fmt.datetime(deadline, tz), opens=fmt.datetime(opens_at, tz)
            )
        )


def check_schedule(view: PhaseView, opens_at: dt.datetime | None, deadline: dt.datetime,
                   now: dt.datetime, tz: ZoneInfo = DEFAULT_TZ) -> None:  # fmt: skip
    """Setting `view`'s deadline (and, for a phase not opened yet, its planned opening)."""
    check_can_schedule(view)
    if opens_at is not None and view.opened_at is not None:
        raise Refusal(
            _("{phase} has been open since {opened}: send only the deadline.").format(
                phase=phase_name(view.kind), opened=fmt.datetime(view.opened_at, tz)
            )
        )
    if opens_at is not None and opens_at <= now:
        raise Refusal(
            _("The planned opening {opens} has already passed (it is now {now}).").format(
                opens=fmt.datetime(opens_at, tz), now=fmt.datetime(now, tz)
            )
        )
    check_deadline(opens_at or view.start, deadline, now, tz)


def check_can_schedule(view: PhaseView) -> None:
    """Only a phase that is open or still to come takes a deadline (the year's end never)."""
    if view.kind == PhaseKind.CLOSED:
        raise Refusal(
            _("{phase} has no deadline.").format(phase=phase_name(view.kind))
        )
    if view.state == PhaseState.CLOSED:
        raise Refusal(
            _("{phase} has closed; reopen it before giving it a new deadline.").format(
                phase=phase_name(view.kind)
            )
        )


# ----------------------------------------------------------------------------- the guard


def require_phase(views: Sequence[PhaseView], kind: PhaseKind | Iterable[PhaseKind],
                  now: dt.datetime, tz: ZoneInfo = DEFAULT_TZ) -> PhaseView:  # fmt: skip
    """The guard of every phase-bound action: the open phase among `kind`, before its deadline.

    Otherwise a `Refusal` naming the phase(s) with their dates and the current phase, e.g.
    "Việc này chỉ làm được trong giai đoạn Tự chấm điểm (01/11/2099 08:00 – 15/12/2099
    17:00); giai đoạn này chưa mở. Giai đoạn hiện tại: Thẩm định, hạn chót ...".
    """
    kinds = [kind] if isinstance(kind, PhaseKind) else sorted(set(kind))
    views = complete(views)
    wanted = [view_of(views, k) for k in kinds]
    for view in wanted:
        if view.is_open and not view.overdue(now):
            return view
    overdue = next((v for v in wanted if v.overdue(now)), None)
    if overdue is not None:
        message = _(
            "The deadline of {phase} was {deadline}: this can no longer be done. Ask the chair "
            "to extend the deadline."
        ).format(phase=phase_name(overdue.kind), deadline=fmt.datetime(overdue.deadline_at, tz))
        raise Refusal(message)
    during = _(" or ").join(
        _("{phase} ({dates})").format(phase=phase_name(v.kind), dates=span_text(v, tz))
        for v in wanted
    )
    if len(wanted) == 1 and wanted[0].state == PhaseState.CLOSED:
        first = _("This can only be done during {phases}, which has closed.")
    elif len(wanted) == 1:
        first = _("This can only be done during {phases}, which has not opened yet.")
    else:
        first = _("This can only be done during {phases}.")
    raise Refusal(first.format(phases=during) + " " + current_text(views, now, tz))


# ----------------------------------------------------------------------------- words and dates


def span_text(view: PhaseView, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """`01/11/2099 08:00 – 15/12/2099 17:00`, "not set" where a side is unknown."""
    start = fmt.datetime(view.start, tz) if view.start else _("not scheduled")
    end_at = view.deadline_at or view.closed_at
    end = fmt.datetime(end_at, tz) if end_at else _("not scheduled")
    return f"{start} – {end}"


def already_open_text(view: PhaseView, tz: ZoneInfo = DEFAULT_TZ) -> str:
    return _("{phase} is already open (since {opened}).").format(
        phase=phase_name(view.kind), opened=fmt.datetime(view.opened_at, tz)
    )


def current_text(views: Sequence[PhaseView], now: dt.datetime, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """One sentence: the open phase and its deadline, or that none is open."""
    current = current_phase(views)
    if current is None:
        if latest_opened(views) is None:
            return _("No phase has been opened yet this year.")
        return _("No phase is open right now.")
    if current.deadline_at is None:
        return _("The current phase is {phase} (no deadline set).").format(
            phase=phase_name(current.kind)
        )
    if current.overdue(now):
        return _("The current phase is {phase}; its deadline {deadline} has passed.").format(
            phase=phase_name(current.kind), deadline=fmt.datetime(current.deadline_at, tz)
        )
    return _("The current phase is {phase}, until {deadline} ({left} left).").format(
        phase=phase_name(current.kind),
        deadline=fmt.datetime(current.deadline_at, tz),
        left=time_left(current.deadline_at - now),
    )


def time_left(delta: dt.timedelta, locale: str | None = None) -> str:
    """`3 ngày 4 giờ`, `5 giờ 20 phút`, `12 phút`: two units at most, rounded down."""
    return fmt.duration(delta, locale)


# ----------------------------------------------------------------------------- typed dates

FIRST_YEAR, LAST_YEAR = 2000, 2100  # a typed year outside these is a slip, not a plan
_SHOWN = 60  # characters of what was typed, echoed back in a refusal

# `31/12/2024`, `31-12-2024`, `31.12.24`
_DATE = re.compile(r"(?<!\d)(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4}|\d{2})(?!\d)")
# the administrative form `01 tháng 01 năm 2027` (also typed without diacritics)
_DATE_WORDS = re.compile(r"(?<!\d)(\d{1,2})\s+th[áa]ng\s+(\d{1,2})\s*,?\s+n[ăa]m\s+(\d{4})(?!\d)",
                         re.IGNORECASE)  # fmt: skip
# `17:00`, `17h00`, `17h`, `17g30`, `17 giờ`, `17 giờ 30`, `17 giờ 5 phút`, `5 giờ chiều`
_TIME = re.compile(
    r"(?<![\d/.-])(\d{1,2})\s*(?::|gi[ờo]|h|g)\s*"
    r"(?:(\d{2})|(\d)(?=\s*(?:ph[úu]t|p|')))?(?:\s*(?:ph[úu]t|p|'))?"
    r"(?:\s*(sáng|chiều|tối)\b)?(?![\d/])",
    re.IGNORECASE,
)
_AFTERNOON = ("chiều", "tối")  # "5 giờ chiều" is 17:00
_FILLER = re.compile(r"\b(?:ng[àa]y|lúc|vào|hồi|trước|từ|at|on|from)\b|[,;]", re.IGNORECASE)
_RANGE = re.compile(r"\s+(?:-|–|—|đến|to)\s+|\s*[–—→]\s*", re.IGNORECASE)


def parse_datetime(text: str | None, tz: ZoneInfo = DEFAULT_TZ, now: dt.datetime | None = None) -> dt.datetime:
    """A date and time as people type it, in the cluster's time zone; aware.

    Accepts `31/12/2024 17:00`, `31/12/2024 17h00`, `31/12/2024 17h`, `31-12-2024 17:00`,
    `31.12.2024`, `17h00 ngày 31/12/2024`, `31/12/24` (→ 2024), and the administrative form
    `17 giờ ngày 01 tháng 01 năm 2027`, `17 giờ 30 ngày …`, `5 giờ chiều ngày …`; a date alone
    means 17:00. Years outside 2000–2100 are refused. `now` only dates the example a refusal
    shows (default: the clock), so that the example is always ahead.
    """
    raw = " ".join(visible(text or "").split())
    found = [*_DATE.finditer(raw), *_DATE_WORDS.finditer(raw)]
    if len(found) != 1:
        raise Refusal(unreadable_text(raw, tz, now))
    date_match = found[0]
    rest = raw[: date_match.start()] + " " + raw[date_match.end() :]
    time_match = _TIME.search(rest)
    hour, minute = DEFAULT_HOUR, 0
    if time_match is not None:
        hour, minute = int(time_match[1]), int(time_match[2] or time_match[3] or 0)
        if (time_match[4] or "").lower() in _AFTERNOON and 1 <= hour <= 11:
            hour += 12
        rest = rest[: time_match.start()] + " " + rest[time_match.end() :]
    if _FILLER.sub(" ", rest).strip():
        raise Refusal(unreadable_text(raw, tz, now))
    day, month, year = (int(g) for g in date_match.groups())
    if len(date_match[3]) == 2:
        year += 2000
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Refusal(
            _("{date}: the year must be between {first} and {last}.").format(
                date=escape(date_match[0]), first=FIRST_YEAR, last=LAST_YEAR
            )
        )
    try:
        date = dt.date(year, month, day)
    except ValueError:
        raise Refusal(
            _("{date} is not a date in the calendar.").format(date=escape(date_match[0]))
        ) from None
    if hour > 23 or minute > 59:
        raise Refusal(
            _("{time} is not a time of day: use 00:00 to 23:59.").format(
                time=escape(time_match[0].strip() if time_match else "")
            )
        )
    return dt.datetime.combine(date, dt.time(hour, minute), tzinfo=tz)


def parse_schedule(text: str | None, tz: ZoneInfo = DEFAULT_TZ,
                   now: dt.datetime | None = None) -> tuple[dt.datetime | None, dt.datetime]:  # fmt: skip
    """`deadline`, or `opening – deadline` (a phase not opened yet can be planned)."""
    text = text or ""
    try:
        return None, parse_datetime(text, tz, now)
    except Refusal:
        parts = [p for p in _RANGE.split(text.strip(), maxsplit=1) if p.strip()]
        if len(parts) != 2:
            raise
    return parse_datetime(parts[0], tz, now), parse_datetime(parts[1], tz, now)


def example_schedule(now: dt.datetime | None = None, tz: ZoneInfo = DEFAULT_TZ) -> tuple[dt.datetime, dt.datetime]:
    """The dates a prompt shows as an example, always ahead of `now`: an opening on the 1st of
    next month at 08:00 and a deadline on the 15th of the month after, at 17:00."""
    today = (now or utcnow()).astimezone(tz).date()
    first = _next_month(today.replace(day=1))
    deadline = _next_month(first).replace(day=15)
    return (dt.datetime.combine(first, dt.time(8), tzinfo=tz),
            dt.datetime.combine(deadline, dt.time(DEFAULT_HOUR), tzinfo=tz))  # fmt: skip


def example_deadline(now: dt.datetime | None = None, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """`15/02/2027 17:00`: a deadline to show as an example, ahead of `now`."""
    return fmt.datetime(example_schedule(now, tz)[1], tz)


def example_range(now: dt.datetime | None = None, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """`01/01/2027 08:00 - 15/02/2027 17:00`: an opening and a deadline, ahead of `now`."""
    opens, deadline = example_schedule(now, tz)
    return f"{fmt.datetime(opens, tz)} - {fmt.datetime(deadline, tz)}"


def _next_month(day: dt.date) -> dt.date:
    return day.replace(year=day.year + 1, month=1) if day.month == 12 else day.replace(month=day.month + 1)


def unreadable_text(raw: str, tz: ZoneInfo = DEFAULT_TZ, now: dt.datetime | None = None) -> str:
    shown = raw if len(raw) <= _SHOWN else raw[: _SHOWN - 1] + "…"
    deadline = example_schedule(now, tz)[1]
    return _(
        "I could not read a date and time in “{text}”. Write it like {example} (or just {date} "
        "for 17:00)."
    ).format(text=escape(shown), example=fmt.datetime(deadline, tz), date=fmt.date(deadline.date()))


def quick_deadlines(now: dt.datetime, tz: ZoneInfo = DEFAULT_TZ) -> list[tuple[str, dt.datetime]]:
    """The deadline buttons: in 7, 14 and 30 days, and the end of the month, each at 17:00.

    Labels are translated; the end of this month becomes the end of the next when this month's
    17:00 on its last day is less than a day away.
    """
    today = now.astimezone(tz).date()

    def at_five(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(DEFAULT_HOUR), tzinfo=tz)

    choices = [
        (_("In {days} days").format(days=days), at_five(today + dt.timedelta(days=days)))
        for days in QUICK_DAYS
    ]
    month_end = at_five(_last_day(today.year, today.month))
    if month_end - now < dt.timedelta(days=1):
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        month_end = at_five(_last_day(year, month))
    choices.append((_("End of the month"), month_end))
    return choices


def _last_day(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])
