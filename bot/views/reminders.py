"""What a late unit's representative reads in a reminder, and its buttons (issue 12)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks, fmt
from bot.i18n import _, ngettext
from bot.phases import phase_name
from bot.reminders import Quiet
from bot.views import ballots as ballot_views
from storage.models import BallotKind, PhaseKind


@dataclass(frozen=True)
class OpenBallotFacts:
    ballot_id: int
    kind: BallotKind
    label: str | None
    round: int = 1


@dataclass(frozen=True)
class Late:
    """A unit that has not done the open phase's step, and what is left for it."""

    unit_id: int
    unit_name: str
    ballots: tuple[OpenBallotFacts, ...] = ()  # voting: the open ballots it has not voted on
    sheets: int = 0  # verification: the sheets assigned to it not verified yet


def _what(kind: PhaseKind, late: Late) -> str:
    unit = escape(late.unit_name)
    if kind == PhaseKind.REGISTRATION:
        return _("Your unit <b>{unit}</b> has not submitted its pledge yet: /pledge").format(unit=unit)
    if kind == PhaseKind.SIGNING:
        return _("Your unit <b>{unit}</b> has not signed the pledge yet: /pledge").format(unit=unit)
    if kind == PhaseKind.SCORING:
        return _("Your unit <b>{unit}</b> has not submitted its score sheet yet: /score").format(unit=unit)
    if kind == PhaseKind.VERIFICATION:
        return ngettext("Your unit <b>{unit}</b> has {count} score sheet still to verify: /verify",
                        "Your unit <b>{unit}</b> has {count} score sheets still to verify: /verify",
                        late.sheets).format(unit=unit, count=late.sheets)  # fmt: skip
    titles = "; ".join(ballot_views.title(b.kind, b.label, b.round) for b in late.ballots)
    return _("Your unit <b>{unit}</b> has not voted yet: {ballots}.").format(unit=unit, ballots=titles)


def text(kind: PhaseKind, late: Late, deadline: dt.datetime | None, tz: ZoneInfo, now: dt.datetime) -> str:
    lines = [_("⏰ <b>Reminder — {phase}</b>").format(phase=phase_name(kind)), _what(kind, late)]
    if deadline is not None and deadline > now:
        lines.append(_("Deadline: {deadline} ({left} left).").format(
            deadline=fmt.datetime(deadline, tz), left=fmt.duration(deadline - now)))  # fmt: skip
    return "\n".join(lines)


def mute_row(phase_id: int, muted: bool = False) -> list[InlineKeyboardButton]:
    if muted:
        return [InlineKeyboardButton(_("🔔 Remind me again in this phase"),
                                     callback_data=callbacks.ReminderMute("u", phase_id).pack())]  # fmt: skip
    return [InlineKeyboardButton(_("🔕 No more reminders in this phase"),
                                 callback_data=callbacks.ReminderMute("m", phase_id).pack())]  # fmt: skip


def markup(phase_id: int, late: Late) -> InlineKeyboardMarkup:
    rows = []
    for ballot in late.ballots:
        label = _("🗳 Open the ballot paper")
        if len(late.ballots) > 1:
            label = f"{label}: {ballot_views.kind_name(ballot.kind)}"[:60]
        rows.append([InlineKeyboardButton(label, callback_data=callbacks.VoteOpen(ballot.ballot_id).pack())])
    rows.append(mute_row(phase_id))
    return InlineKeyboardMarkup(rows)


def with_mute(current: InlineKeyboardMarkup | None, phase_id: int, muted: bool) -> InlineKeyboardMarkup:
    """The reminder's keyboard with its mute row swapped for the other one (other rows kept)."""
    rows = [list(row) for row in (current.inline_keyboard if current is not None else ())
            if not any(callbacks.REMIND.unpack(b.callback_data) for b in row)]  # fmt: skip
    return InlineKeyboardMarkup([*rows, mute_row(phase_id, muted)])


def remind_now_button(phase_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        _("🔔 Remind the late units"), callback_data=callbacks.RemindLate(phase_id).pack())]])  # fmt: skip


def settings_text(cluster_name: str, quiet: Quiet, may_change: bool) -> str:
    """/reminders: when the late units are reminded, the quiet hours, and how to change them."""
    lines = [
        _("🔔 <b>Reminders</b> — {cluster}").format(cluster=escape(cluster_name)),
        _("The representatives of the units not done with the open phase's step are reminded in "
          "private 3 days and 1 day before its deadline and on the deadline's morning (08:00, or an "
          "hour before an earlier deadline). A unit that is done is never reminded; each person can "
          "mute a phase with the button on a reminder."),
        _("Quiet hours: none.") if quiet.start == quiet.end
        else _("Quiet hours: {hours} (a reminder due then waits until they end).").format(hours=quiet.text()),
    ]  # fmt: skip
    if may_change:
        lines.append(_("Change them with /reminders 22:00-06:00, or /reminders off."))
    return "\n".join(lines)
