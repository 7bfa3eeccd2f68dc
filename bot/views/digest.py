"""What the secretariat reads in a digest (`bot/digest.py` says what it contains), and the
/digest and /deputy screens. Pure: a `Snapshot` in, Telegram HTML out, in the current language.

A digest is one message: when the names of the units not done would take it past Telegram's
4096 characters, each list is cut shorter ("… and 12 more") until it fits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks, fmt
from bot.digest import TIMES, DigestSettings, Due, DueKind, Snapshot, Step, StepKind, Variant
from bot.i18n import N_, _, ngettext
from bot.phases import phase_name, time_left
from bot.views import ballots as ballot_words

LIMIT = 4096
_MINUTE = dt.timedelta(minutes=1)  # a delegation ends at midnight; it is shown as lasting until 23:59
NAME_MAX = 80
_CUTS = (None, 30, 15, 8, 4, 2, 0)  # names shown per list, tried in turn until the digest fits

STEP_TITLES = {
    StepKind.PLEDGES_SUBMITTED: N_("Pledges submitted"),
    StepKind.PLEDGES_ACCEPTED: N_("Pledges accepted"),
    StepKind.PLEDGES_SIGNED: N_("Pledges signed"),
    StepKind.SHEETS_SUBMITTED: N_("Score sheets submitted"),
    StepKind.SHEETS_VERIFIED: N_("Score sheets verified"),
}
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def _name(name: str) -> str:
    return escape(name if len(name) <= NAME_MAX else name[: NAME_MAX - 1].rstrip() + "…")


def _names(names: Sequence[str], cut: int | None) -> list[str]:
    shown = list(names) if cut is None else list(names[:cut])
    lines = [f"   • {_name(n)}" for n in shown]
    if len(names) > len(shown):
        lines.append("   " + _("… and {count} more").format(count=len(names) - len(shown)))
    return lines


def step_lines(step: Step, cut: int | None) -> list[str]:
    if step.kind is StepKind.DISPUTES:
        if not step.done:
            return [_("<b>Disputes waiting for a decision</b>: none")]
        lines = [_("<b>Disputes waiting for a decision</b>: {count}").format(count=step.done)]
        return lines + _names(step.missing, cut)
    if step.kind is StepKind.BALLOT:
        kind, label, round_ = step.ballot
        title = _("Ballot turnout — {ballot}").format(ballot=ballot_words.title(kind, label, round_))
    else:
        title = escape(_(STEP_TITLES[step.kind]))
    lines = [_("<b>{step}</b>: {done}/{total}").format(step=title, done=step.done, total=step.total)]
    if step.total and step.missing:
        if step.done == 0:
            lines.append("   " + _("No unit yet."))
        else:
            lines.append("   " + _("Not yet ({count}):").format(count=len(step.missing)))
            lines += _names(step.missing, cut)
    return lines


def due_line(due: Due, tz: ZoneInfo) -> str:
    when = fmt.datetime(due.at, tz)
    if due.kind is DueKind.PHASE_OPENS:
        what = _("{phase} opens").format(phase=phase_name(due.phase))
    elif due.kind is DueKind.PHASE_DEADLINE:
        what = _("deadline of {phase}").format(phase=phase_name(due.phase))
    else:
        kind, label, round_ = due.ballot
        what = _("the ballot closes: {ballot}").format(ballot=ballot_words.title(kind, label, round_))
    return f"• {when} — {what}"


def heading(snap: Snapshot, variant: Variant, now: dt.datetime, tz: ZoneInfo) -> str:
    day = fmt.date(now.astimezone(tz).date())
    cluster = escape(snap.cluster)
    if variant is Variant.WEEKLY:
        return _("🗞 <b>Weekly summary</b> — {cluster}, week of {day}").format(cluster=cluster, day=day)
    if variant is Variant.PHASE:
        return _("🔔 <b>Digest: the phase changed</b> — {cluster}, {day}").format(cluster=cluster, day=day)
    return _("📋 <b>Digest</b> — {cluster}, {day}").format(cluster=cluster, day=day)


def phase_line(snap: Snapshot, now: dt.datetime, tz: ZoneInfo) -> str:
    if snap.phase is None:
        return _("No phase is open right now.")
    if snap.deadline is None:
        return _("Phase: <b>{phase}</b> (no deadline set).").format(phase=phase_name(snap.phase))
    if snap.deadline <= now:
        return _("Phase: <b>{phase}</b>; its deadline {deadline} has passed.").format(
            phase=phase_name(snap.phase), deadline=fmt.datetime(snap.deadline, tz))
    return _("Phase: <b>{phase}</b>, deadline {deadline} ({left} left).").format(
        phase=phase_name(snap.phase), deadline=fmt.datetime(snap.deadline, tz), left=time_left(snap.deadline - now))


def _lines(snap: Snapshot, variant: Variant, now: dt.datetime, tz: ZoneInfo, cut: int | None) -> list[str]:
    lines = [heading(snap, variant, now, tz), phase_line(snap, now, tz)]
    if snap.year is not None:
        lines.append(_("Emulation year {year}; active units: {count}").format(year=snap.year, count=snap.units))
    for step in snap.steps:
        lines.append("")
        lines += step_lines(step, cut)
    if snap.parked:
        lines += ["", ngettext("📭 {count} message could not be delivered: /undelivered",
                               "📭 {count} messages could not be delivered: /undelivered",
                               snap.parked).format(count=snap.parked)]  # fmt: skip
    lines += ["", _("🗓 <b>In the next 7 days</b>")]
    if snap.due:
        lines += [due_line(d, tz) for d in snap.due]
    else:
        lines.append(_("Nothing falls due."))
    return lines


def digest_text(snap: Snapshot, variant: Variant, now: dt.datetime, tz: ZoneInfo) -> str:
    """The digest as one message within Telegram's limit, lists cut as needed."""
    for cut in _CUTS:
        text = "\n".join(_lines(snap, variant, now, tz, cut))
        if len(text) <= LIMIT:
            return text
    return text[: LIMIT - 1] + "…"  # a cluster name and due list alone this long: not in practice


# ------------------------------------------------------------------------------ /digest settings


def settings_text(cluster_name: str, settings: DigestSettings) -> str:
    if not settings.enabled:
        state = _("The daily digest is off.")
    else:
        days = ", ".join(_(WEEKDAYS[d]) for d in sorted(settings.days))
        state = _("The daily digest goes at {time} on {days}; the weekly summary on Mondays.").format(
            time=settings.at.strftime("%H:%M"), days=days)
    return _("⚙️ <b>Digest settings</b> — {cluster}\n{state}\nIt goes to each secretariat member, their "
             "deputies and the secretariat chat, only when something changed.").format(
        cluster=escape(cluster_name), state=state)  # fmt: skip


def settings_keyboard(cluster_id: int, settings: DigestSettings) -> InlineKeyboardMarkup:
    times = [InlineKeyboardButton(("• " if t == settings.at else "") + t.strftime("%H:%M"),
                                  callback_data=callbacks.DigestTime(cluster_id, t.hour).pack()) for t in TIMES]  # fmt: skip
    days = [InlineKeyboardButton(("✅ " if d in settings.days else "") + _(WEEKDAYS[d]),
                                 callback_data=callbacks.DigestDay(cluster_id, d).pack()) for d in range(7)]  # fmt: skip
    toggle = InlineKeyboardButton(_("🔕 Turn the digest off") if settings.enabled else _("🔔 Turn the digest on"),
                                  callback_data=callbacks.DigestSwitch(cluster_id, 0 if settings.enabled else 1).pack())  # fmt: skip
    return InlineKeyboardMarkup([times[:5], times[5:], days[:4], days[4:], [toggle]])


# ------------------------------------------------------------------------------ /deputy


def deputy_text(cluster_name: str, current: Sequence[tuple[str, dt.datetime]], tz: ZoneInfo) -> str:
    lines = [_("👥 <b>Deputy for the digests</b> — {cluster}").format(cluster=escape(cluster_name))]
    if current:
        lines += [_("{name} receives your digests until {until}.").format(name=_name(name), until=fmt.datetime(until - _MINUTE, tz))
                  for name, until in current]  # fmt: skip
    else:
        lines.append(_("Nobody receives the digests for you."))
    lines.append(_("Going on leave? Choose who receives the digests meanwhile:"))
    return "\n".join(lines)


def deputy_keyboard(cluster_id: int, people: Sequence[tuple[int, str]], page: int, pages: int,
                    ends: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:  # fmt: skip
    """People to choose (one page), the pages, and the end buttons for current delegations."""
    rows = [[InlineKeyboardButton(_name(name), callback_data=callbacks.DeputyPick(cluster_id, pid).pack())]
            for pid, name in people]  # fmt: skip
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(InlineKeyboardButton("◀️", callback_data=callbacks.DeputyPage(cluster_id, page - 1).pack()))
        nav.append(InlineKeyboardButton(f"{page + 1}/{pages}", callback_data=callbacks.NOOP))
        if page + 1 < pages:
            nav.append(InlineKeyboardButton("▶️", callback_data=callbacks.DeputyPage(cluster_id, page + 1).pack()))
        rows.append(nav)
    rows += [[InlineKeyboardButton(_("⏹ End the delegation to {name}").format(name=_name(name)),
                                   callback_data=callbacks.DeputyEnd(cluster_id, delegation_id).pack())]
             for delegation_id, name in ends]  # fmt: skip
    return InlineKeyboardMarkup(rows)


DEPUTY_SPANS = (7, 14, 30)


def deputy_until_keyboard(cluster_id: int, person_id: int) -> InlineKeyboardMarkup:
    labels = {7: _("1 week"), 14: _("2 weeks"), 30: _("30 days")}
    return InlineKeyboardMarkup([[InlineKeyboardButton(labels[d], callback_data=callbacks.DeputyUntil(
        cluster_id, person_id, d).pack()) for d in DEPUTY_SPANS]])  # fmt: skip


def deputy_until_text(name: str) -> str:
    return _("Until when does {name} receive your digests?").format(name=_name(name))


def deputy_named(name: str, until: dt.datetime, tz: ZoneInfo) -> str:
    return _("✅ {name} receives your digests until {until}.").format(name=_name(name),
                                                                     until=fmt.datetime(until - _MINUTE, tz))


def deputy_told(member: str, cluster_name: str, until: dt.datetime, tz: ZoneInfo) -> str:
    return _("👥 {member} named you deputy for the digests of {cluster} until {until}: you will receive "
             "them meanwhile.").format(member=_name(member), cluster=escape(cluster_name),
                                       until=fmt.datetime(until - _MINUTE, tz))  # fmt: skip
