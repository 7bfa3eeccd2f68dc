"""When the representatives of late units are reminded of a deadline: pure rules.

A deadline has up to three reminders, in the cluster's time zone:

- ``3d``: three days before, at the deadline's own time of day;
- ``1d``: one day before, likewise;
- ``day``: the morning of the deadline's day, at 08:00 — or one hour before the deadline when
  that is earlier (a deadline at 08:30 is reminded at 07:30; one at 07:30 at 06:30, which the
  quiet window then moves to 07:00).

**The quiet window** (default 21:00–07:00 local, the cluster setting ``reminder_quiet``, e.g.
``"21:00-07:00"``; ``"off"`` or equal ends: none): a reminder due inside it moves to the
window's end. One that would then fall at or after the deadline is dropped, as is any reminder
before the phase opened or at/after the deadline.

**Close reminders collapse**: when two fall less than `MIN_GAP` apart after moving (a deadline
at 23:00: its 1-day reminder moves from 23:00 to 07:00 of the deadline's day, an hour before
the morning one), only the later one — nearer the deadline, so more urgent — is kept.

No Telegram, no database: `plan` is table-tested in tests/test_reminder_rules.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

SETTING = "reminder_quiet"
MORNING = dt.time(8, 0)
BEFORE_EARLY_DEADLINE = dt.timedelta(hours=1)
MIN_GAP = dt.timedelta(hours=6)
OFFSETS: tuple[tuple[str, dt.timedelta], ...] = (("3d", dt.timedelta(days=3)), ("1d", dt.timedelta(days=1)))
LABELS = ("3d", "1d", "day")

_SPELLING = re.compile(r"\s*([01]?\d|2[0-3])[:h.]([0-5]\d)\s*[-–—]\s*([01]?\d|2[0-3])[:h.]([0-5]\d)\s*")


@dataclass(frozen=True)
class Quiet:
    """The local hours no reminder is sent in: from `start` up to `end` (across midnight when
    `start` > `end`). `start == end` is no quiet window."""

    start: dt.time = dt.time(21, 0)
    end: dt.time = dt.time(7, 0)

    def contains(self, local: dt.time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def text(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


DEFAULT_QUIET = Quiet()
NO_QUIET = Quiet(dt.time(0, 0), dt.time(0, 0))


def parse_quiet(text: str | None) -> Quiet | None:
    """``"21:00-07:00"`` (also ``21h00–7h00``), ``"off"``: the window; None when unreadable."""
    if text is None:
        return None
    if text.strip().lower() in {"off", "tắt", "tat", "0"}:
        return NO_QUIET
    found = _SPELLING.fullmatch(text)
    if not found:
        return None
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    return Quiet(dt.time(h1, m1), dt.time(h2, m2))


def quiet_of(settings: Mapping[str, Any] | None) -> Quiet:
    """The cluster's quiet window; the default when unset or unreadable."""
    value = (settings or {}).get(SETTING)
    return (parse_quiet(value) if isinstance(value, str) else None) or DEFAULT_QUIET


def setting_value(quiet: Quiet) -> str:
    return "off" if quiet.start == quiet.end else f"{quiet.start:%H:%M}-{quiet.end:%H:%M}"


def out_of_quiet(at: dt.datetime, tz: ZoneInfo, quiet: Quiet) -> dt.datetime:
    """`at`, or the end of the quiet window it falls in (an aware UTC time either way)."""
    local = at.astimezone(tz)
    if not quiet.contains(local.time()):
        return at.astimezone(dt.UTC)
    day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        day += dt.timedelta(days=1)  # before midnight: the window ends tomorrow morning
    return dt.datetime.combine(day, quiet.end, tzinfo=tz).astimezone(dt.UTC)


def morning_of(deadline: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """08:00 on the deadline's local day, or an hour before the deadline when that is earlier."""
    local = deadline.astimezone(tz)
    morning = dt.datetime.combine(local.date(), MORNING, tzinfo=tz)
    return min(morning, local - BEFORE_EARLY_DEADLINE).astimezone(dt.UTC)


def plan(deadline: dt.datetime, opened_at: dt.datetime | None, tz: ZoneInfo,
         quiet: Quiet = DEFAULT_QUIET) -> list[tuple[str, dt.datetime]]:  # fmt: skip
    """The reminders of `deadline` as (label, UTC time), earliest first (see the module)."""
    wanted = [(label, deadline - before) for label, before in OFFSETS] + [("day", morning_of(deadline, tz))]
    kept: list[tuple[str, dt.datetime]] = []
    for label, at in wanted:
        at = out_of_quiet(at, tz, quiet)
        if at >= deadline or (opened_at is not None and at < opened_at):
            continue
        kept.append((label, at))
    kept.sort(key=lambda item: item[1])
    result: list[tuple[str, dt.datetime]] = []
    for i, (label, at) in enumerate(kept):
        following = kept[i + 1][1] if i + 1 < len(kept) else None
        if following is not None and following - at < MIN_GAP:
            continue  # the next one, nearer the deadline, is enough
        result.append((label, at))
    return result


def latest_due(planned: list[tuple[str, dt.datetime]], now: dt.datetime) -> str | None:
    """The label of the latest reminder due at `now`: after a stop only that one is sent, not
    every reminder missed meanwhile."""
    due = [label for label, at in planned if at <= now]
    return due[-1] if due else None
