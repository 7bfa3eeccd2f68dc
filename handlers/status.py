"""/status, in the group or in private: the phase and its deadline, and per step how many units
are done. The administrator, the chair and the secretariat also see, in private only, which
units are not done yet; a representative sees whether their own unit is.

A long report (30 units with long names) is split into several messages at line boundaries,
each well under Telegram's 4096 characters.
"""

from __future__ import annotations

from html import escape

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


def _name(name: str) -> str:
    return escape(name if len(name) <= NAME_MAX else name[: NAME_MAX - 1].rstrip() + "…")


def step_lines(step: StepStatus) -> list[str]:
    lines = [
        _("<b>{step}</b>: {done}/{total}").format(
            step=escape(step.title), done=step.done, total=step.total
        )
    ]
    for unit, done in step.own:
        text = _("your unit {unit}: done") if done else _("your unit {unit}: not yet")
        lines.append("   " + ("✅ " if done else "⏳ ") + text.format(unit=_name(unit)))
    if step.missing is not None and step.total:
        if step.done == 0:
            lines.append("   " + _("No unit yet."))
        elif step.missing:
            lines.append("   " + _("Not yet ({count}):").format(count=len(step.missing)))
            lines.extend(f"   • {_name(name)}" for name in step.missing)
    return lines


def status_lines(report: StatusReport, public: bool) -> list[str]:
    head = (
        _("📊 <b>{cluster}</b> — emulation year {year}").format(
            cluster=escape(report.cluster_name), year=report.year
        )
        if report.year is not None
        else _("📊 <b>{cluster}</b>").format(cluster=escape(report.cluster_name))
    )
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
        lines.extend(step_lines(step))
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
    pages = [page.strip() for page in render.chunk_lines(status_lines(report, public)) if page.strip()]
    for index, page in enumerate(pages):
        last = index == len(pages) - 1
        turn.reply(page, reminder_views.remind_now_button(remindable.id) if last and remindable else None)


status_command = handler(show_status)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("status", status_command))
