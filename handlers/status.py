"""/status, in the group or in private: the phase and its deadline, and per step how many units
are done. The administrator, the chair and the secretariat also see, in private only, which
units are not done yet; a representative sees whether their own unit is.

A long report (30 units with long names) is split into several messages at line boundaries,
each well under Telegram's 4096 characters. A report that would take more than `MAX_PAGES`
messages (the names of the units not done in a cluster of hundreds or thousands: about 100
messages at 3,000 units) comes as a short summary — the counts, the viewer's own units, and
per step how many are not done — and one text file with the names, step by step. That is what
the chair can use: the chat is not buried under pages of names (nor the bot held up by
Telegram's limit of about one message a second in a chat), and the file can be searched,
kept, printed or forwarded to whoever chases the units.
"""

from __future__ import annotations

import re
from html import escape, unescape

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot import phases as rules
from bot import render
from bot.i18n import _, ngettext
from bot.services import reminders as reminder_service
from bot.services.actors import actor_in
from bot.services.status import StatusReport, StepStatus, status_report
from bot.views import reminders as reminder_views
from handlers.base import BotContext, Turn, handler
from handlers.clusters import cluster_for, rerunnable

NAME_MAX = 100
MAX_PAGES = 5  # messages a report may take with the names in it; beyond, a summary and a file
PAGE_SIZE = 3500  # characters per message at most (Telegram takes 4096)


def _name(name: str) -> str:
    return escape(name if len(name) <= NAME_MAX else name[: NAME_MAX - 1].rstrip() + "…")


def _step_head(step: StepStatus) -> str:
    return _("<b>{step}</b>: {done}/{total}").format(step=escape(step.title), done=step.done, total=step.total)


def step_lines(step: StepStatus, names_in_file: bool = False) -> list[str]:
    """A step's lines; `names_in_file`: the units not done are counted here and named in the file."""
    lines = [_step_head(step)]
    for unit, done in step.own:
        text = _("your unit {unit}: done") if done else _("your unit {unit}: not yet")
        lines.append("   " + ("✅ " if done else "⏳ ") + text.format(unit=_name(unit)))
    if step.missing is not None and step.total:
        if step.done == 0:
            lines.append("   " + _("No unit yet."))
        elif step.missing and names_in_file:
            lines.append("   " + _("Not yet ({count}): named in the file below.").format(count=len(step.missing)))
        elif step.missing:
            lines.append("   " + _("Not yet ({count}):").format(count=len(step.missing)))
            lines.extend(f"   • {_name(name)}" for name in step.missing)
    return lines


def _head(report: StatusReport) -> str:
    if report.year is None:
        return _("📊 <b>{cluster}</b>").format(cluster=escape(report.cluster_name))
    return _("📊 <b>{cluster}</b> — emulation year {year}").format(cluster=escape(report.cluster_name), year=report.year)


def status_lines(report: StatusReport, public: bool, names_in_file: bool = False) -> list[str]:
    head = _head(report)
    lines = [head, rules.current_text(report.views, report.now, report.tz)]
    if report.undelivered:
        lines.append(ngettext("📭 {count} message could not be delivered: /undelivered",
                              "📭 {count} messages could not be delivered: /undelivered",
                              report.undelivered).format(count=report.undelivered))  # fmt: skip
    if report.year is None:
        lines.append(_("This cluster has no emulation year yet."))
        return lines
    lines.append(_("Active units: {count}").format(count=report.units))
    for step in report.steps:
        lines.append("")
        lines.extend(step_lines(step, names_in_file))
    if not report.steps:
        lines += ["", _("Nothing to count yet: the steps appear as the year's phases open.")]
    if public:
        lines += [
            "",
            _(
                "The chair and the secretariat see which units are not done yet with /status "
                "in a private chat with me."
            ),
        ]
    return lines


@rerunnable("status")
async def show_status(update: Update, context: BotContext, turn: Turn) -> None:
    cluster = await cluster_for(turn, "status")
    if cluster is None:
        return
    public = not turn.private
    actor = await actor_in(turn.session, turn.person.id, cluster.id) if turn.person else None
    report = await status_report(turn.session, cluster, actor=actor, public=public)
    # In private, who chases the late units gets "remind now" for the open phase's step.
    remindable = None if public else await reminder_service.remindable(turn.session, actor, cluster)
    names_file = None
    pages = None if _surely_too_long(report) else _pages(status_lines(report, public))
    if pages is None or (len(pages) > MAX_PAGES and report.names_shown):
        pages = _pages(status_lines(report, public, names_in_file=True))
        names_file = missing_file(report)
    for index, page in enumerate(pages):
        last = index == len(pages) - 1
        turn.reply(page, reminder_views.remind_now_button(remindable.id) if last and remindable else None)
    if names_file is not None:
        data, filename = names_file
        caption = _("📋 {cluster}, emulation year {year}: the units not done yet, step by step.").format(
            cluster=escape(report.cluster_name), year=report.year)  # fmt: skip
        turn.reply_file(data, filename, caption)


def _surely_too_long(report: StatusReport) -> bool:
    """Whether the names alone surely exceed `MAX_PAGES` full messages (a page holds at most
    `PAGE_SIZE` characters; a name's line at least "   • ", half a long name cut at
    `NAME_MAX`, and its newline): then the report with them is not drawn just to be measured
    (100 pages at 3,000 units). False for a report without names (its pages are as few as
    its steps)."""
    if not report.names_shown:
        return False
    size = sum(min(len(name), NAME_MAX // 2) + 6 for step in report.steps if step.done
               for name in step.missing or ())  # fmt: skip
    return size > MAX_PAGES * PAGE_SIZE


def _pages(lines: list[str]) -> list[str]:
    return [page.strip() for page in render.chunk_lines(lines, limit=PAGE_SIZE) if page.strip()]


def _plain(html: str) -> str:
    """Our own Telegram HTML (bold, escaped text) as plain text, for the file."""
    return unescape(re.sub(r"<[^>]+>", "", html))


def missing_file(report: StatusReport) -> tuple[bytes, str]:
    """The units not done, step by step, as a UTF-8 text file (names in full, numbered), and its
    name: what the summary leaves out when the names would take more than `MAX_PAGES` messages."""
    lines = [_plain(_head(report)), _plain(rules.current_text(report.views, report.now, report.tz)),
             _plain(_("Active units: {count}").format(count=report.units))]  # fmt: skip
    for step in report.steps:
        lines += ["", _plain(_step_head(step))]
        if step.missing is None or not step.total:
            continue
        if step.done == 0:
            lines.append("   " + _("No unit yet."))
        elif step.missing:
            lines.append("   " + _plain(_("Not yet ({count}):").format(count=len(step.missing))))
            lines.extend(f"   {number}. {name}" for number, name in enumerate(step.missing, start=1))
    return ("\n".join(lines) + "\n").encode("utf-8"), f"don-vi-chua-xong-{report.year}.txt"


status_command = handler(show_status)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("status", status_command))
