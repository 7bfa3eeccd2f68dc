"""The phases' news for the group: what a change did, in the cluster's language.

Shared by `/phase` (a person's change) and the scheduler (a planned opening or a deadline that
acts by itself), so the group reads the same words however the change came about.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import fmt
from bot.i18n import _
from bot.phases import phase_name
from storage.models import PhaseKind

if TYPE_CHECKING:
    from bot.services.phases import PhaseChange


def announcement(change: PhaseChange, who: str | None, tz: ZoneInfo, now: dt.datetime) -> str:
    """The group's news about a change, in the current (the cluster's) language, signed by
    the person who made it (`who`), or as done by the schedule (`who` None)."""
    phase = escape(phase_name(change.kind))
    view = change.view
    if change.action == "close":
        lines = [_("⏹ <b>{phase}</b> has closed.").format(phase=phase)]
        if who is None and view.deadline_at is not None:
            lines.append(_("Its deadline, {deadline}, has passed.").format(deadline=fmt.datetime(view.deadline_at, tz)))
    elif change.action == "deadline":
        lines = [
            _("🗓 The deadline of <b>{phase}</b> is now {deadline}.").format(
                phase=phase, deadline=fmt.datetime(view.deadline_at, tz)
            )
        ]
        if view.opened_at is None and view.opens_at is not None:
            lines.append(_("Planned opening: {opens}.").format(opens=fmt.datetime(view.opens_at, tz)))
    else:
        if change.action == "step_back":
            lines = [
                _("↩️ <b>{phase}</b> is open again; the opening of <b>{undone}</b> was undone.").format(
                    phase=phase, undone=escape(phase_name(change.undone))
                )
            ]
        elif change.action == "reopen":
            lines = [_("📣 <b>{phase}</b> is open again.").format(phase=phase)]
        else:
            lines = [_("📣 <b>{phase}</b> is now open.").format(phase=phase)]
        if change.closed is not None:
            lines.append(_("<b>{phase}</b> has closed.").format(phase=escape(phase_name(change.closed))))
        if change.kind != PhaseKind.CLOSED:
            if view.deadline_at is not None:
                lines.append(_("Deadline: {deadline}.").format(deadline=fmt.datetime(view.deadline_at, tz)))
            else:
                lines.append(_("No deadline has been set yet."))
    if who is None:
        lines.append(_("— as scheduled"))
    else:
        lines.append(_("— {person}").format(person=escape(who)))
    return "\n".join(lines)
