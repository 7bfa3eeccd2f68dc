"""/scores: the cluster's score table for the chair, the secretariat and the administrator; a
representative's own unit's sheet with its adjustments.

The table shows, per unit, the self, verified and final totals and the same per group. It is
a message while it fits (Telegram's 4096 characters), else an `.xlsx` file
(`bot.score_export`), which is also a button under the message. Each unit's sheet opens from
a paged list; the chair may reopen a submitted sheet there (during scoring, before its
deadline). Buttons: `ss:<action>:<cluster>[:<unit or page>]`, `ss:r:<sheet>:<version>`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler

from bot import callbacks, fmt, render
from bot import scoring as arithmetic
from bot.errors import Refusal
from bot.i18n import _
from bot.permissions import Action
from bot.scoring_table import DEDUCTION
from bot.services import scoring as service
from bot.services.actors import Actor
from bot.services.phases import cluster_timezone
from bot.services.scoring import ClusterScores, SheetView
from bot.services.verification import live_adjustment
from bot.views.scoring import points, score_table_file, sheet_state
from handlers.base import BotContext, Turn, handler
from handlers.buttons import dispatch
from handlers.clusters import acting_from_button, acting_in, rerunnable
from handlers.keyboards import unit_picker
from handlers.score import actor_for_sheet
from storage.models import Cluster, SheetStatus, Unit

TEXT_BUDGET = 3800
_GROUP_PREFIX = re.compile(r"^([IVXLC]+|[0-9]+)[.)]\s")


def signed(value: Decimal) -> str:
    return "−" + fmt.number(-value) if value < 0 else fmt.number(value)


def short_group(name: str) -> str:
    """`I` for "I. Thực hiện nhiệm vụ chính trị"; short names as they are."""
    match = _GROUP_PREFIX.match(name)
    if match:
        return match.group(1)
    return name if len(name) <= 14 else name[:13].rstrip() + "…"


def triple(values: tuple[Decimal, Decimal, Decimal], strong_last: bool = False) -> str:
    """`98 → 95 → 96` (self → verified → final); one value when the three agree."""
    parts = [signed(v) for v in values] if len(set(values)) > 1 else [signed(values[0])]
    if strong_last:
        parts[-1] = f"<b>{parts[-1]}</b>"
    return " → ".join(parts)


def table_text(report: ClusterScores) -> str:
    submitted = sum(1 for u in report.units if u.view and u.view.sheet.status != SheetStatus.DRAFT)
    verified = sum(1 for u in report.units if u.view and u.view.sheet.status == SheetStatus.VERIFIED)
    lines = [
        _("📊 <b>Scores {year}</b> — {cluster}").format(year=report.year.year, cluster=escape(report.cluster.name)),
        _("Submitted {submitted}/{n} · verified {verified}/{n}").format(
            submitted=submitted, verified=verified, n=len(report.units)),
        _("Points: self → verified → <b>final</b> (one number when the three agree)."),
    ]  # fmt: skip
    for number, row in enumerate(report.units, 1):
        lines.append("")
        lines.append(f"{number}. <b>{escape(row.unit.name)}</b> — {sheet_state(row.view)}")
        if row.view is None:
            continue
        stages = [row.view.totals(s) for s in (arithmetic.SELF, arithmetic.VERIFIED, arithmetic.FINAL)]
        lines.append("   " + _("Total: {values}").format(values=triple(tuple(t.total for t in stages), True)))
        groups = []
        for group in arithmetic.group_names(row.view.lines()):
            groups.append(f"{escape(short_group(group))} {triple(tuple(t.group(group) for t in stages))}")
        lines.append("   " + " · ".join(groups))
    return "\n".join(lines)


def table_keyboard(cluster_id: int, own_unit_id: int | None) -> InlineKeyboardMarkup:
    rows = [[
        InlineKeyboardButton("⬇️ Excel (.xlsx)", callback_data=callbacks.ScoresTable("x", cluster_id).pack()),
        InlineKeyboardButton(_("🔎 A unit's sheet"), callback_data=callbacks.ScoresUnits(cluster_id, 0).pack()),
    ]]  # fmt: skip
    if own_unit_id is not None:
        rows.append([InlineKeyboardButton(_("📄 My unit's sheet"), callback_data=callbacks.ScoresSheet(cluster_id, own_unit_id).pack())])
    return InlineKeyboardMarkup(rows)


def detail_lines(unit: Unit, view: SheetView | None, verifier: Unit | None, cluster: Cluster) -> list[str]:
    """One unit's sheet, criterion by criterion, with adjustments and disputes."""
    lines = [_("📄 <b>Score sheet {year}</b> — {unit}").format(
        year=view.year.year if view else "", unit=escape(unit.name)).replace("  ", " ")]  # fmt: skip
    lines.append(_("Status: {status}").format(status=sheet_state(view)))
    if view is None:
        return lines
    if view.sheet.submitted_at is not None:
        lines.append(_("Submitted: {when}").format(when=fmt.datetime(view.sheet.submitted_at, cluster_timezone(cluster))))
    if verifier is not None:
        lines.append(_("Verified by: {unit}").format(unit=escape(verifier.name)))
    rows = view.rows()
    for group in arithmetic.group_names([line for _c, _e, line in rows]):
        lines += ["", f"<b>{escape(group)}</b>"]
        for c, entry, line in (row for row in rows if row[0].group_name == group):
            kind = str(c.kind)
            values = [points(kind, line.self_value)]
            if line.verified_value is not None and line.verified_value != line.self_value:
                values.append(points(kind, line.verified_value))
            if line.decided_value is not None and line.decided_value != line.value(arithmetic.VERIFIED):
                values.append(points(kind, line.decided_value))
            top = (("−" if kind == DEDUCTION else "") + fmt.number(c.max_points))
            lines.append(f"{escape(c.code)}: {' → '.join(values)} / {top}")
            adjustment = live_adjustment(entry)
            if adjustment is not None:
                lines.append("   " + _("✏️ Adjusted: {reason}").format(reason=escape(adjustment.reason)))
                if adjustment.explanation is not None:
                    lines.append("   " + _("💬 Explanation: {text}").format(text=escape(adjustment.explanation)))
                if adjustment.decided_value is not None:
                    lines.append("   " + _("⚖️ Decided: <b>{value}</b>").format(value=points(kind, adjustment.decided_value)))
    lines.append("")
    stages = [view.totals(s) for s in (arithmetic.SELF, arithmetic.VERIFIED, arithmetic.FINAL)]
    lines.append(_("<b>Total</b>: self {self} · verified {verified} · final <b>{final}</b>").format(
        self=signed(stages[0].total), verified=signed(stages[1].total), final=signed(stages[2].total)))  # fmt: skip
    if stages[2].capped:
        lines.append(_("Bonus points above the cap ({cap}) are not counted.").format(cap=fmt.number(view.table.bonus_cap)))
    return lines


async def detail_keyboard(turn: Turn, actor: Actor, cluster: Cluster, unit: Unit, view: SheetView | None) -> InlineKeyboardMarkup | None:
    rows = []
    if view is not None and unit.id in actor.unit_ids:
        for entry in view.sheet.entries:
            adjustment = live_adjustment(entry)
            if adjustment is not None and adjustment.explanation is None:
                code = view.criterion(entry.criterion_id).code
                rows.append([InlineKeyboardButton(_("💬 Explain {code}").format(code=code[:16]),
                                                  callback_data=callbacks.DisputeStep("x", adjustment.id).pack())])  # fmt: skip
    if view is not None and view.sheet.status != SheetStatus.DRAFT and actor.may(Action.REOPEN_SHEET):
        rows.append([InlineKeyboardButton(_("🔓 Reopen this sheet"),
                                          callback_data=callbacks.ScoresReopen(view.sheet.id, view.sheet.version).pack())])  # fmt: skip
    if actor.may(Action.VIEW_ALL_SCORES):
        rows.append([InlineKeyboardButton(_("« The table"), callback_data=callbacks.ScoresTable("t", cluster.id).pack())])
    return InlineKeyboardMarkup(rows) if rows else None


async def show_detail(turn: Turn, actor: Actor, cluster: Cluster, unit_id: int, *, edit: bool, notice: str | None = None) -> None:
    found = await service.sheet_for_viewing(turn.session, actor, unit_id)
    unit, view = found.unit, found.view
    lines = detail_lines(unit, view, found.verifier, cluster)
    if notice:
        lines[0:0] = [notice, ""]
    chunks = render.chunk_lines(lines, TEXT_BUDGET)
    markup = await detail_keyboard(turn, actor, cluster, unit, view)
    if edit and len(chunks) == 1:
        show(turn, chunks[0], markup)
        return
    if edit:
        turn.answer()
    for chunk in chunks[:-1]:
        turn.reply(chunk)
    turn.reply(chunks[-1], markup)


def show(turn: Turn, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the pressed message, or answer below it when it is the table's file (a
    document's caption cannot become a long text)."""
    message = turn.update.callback_query.message if turn.update.callback_query else None
    if message is not None and getattr(message, "text", None):
        turn.edit(text, markup)
    else:
        turn.reply(text, markup)


# ------------------------------------------------------------------------------ handlers


@rerunnable("scores")
async def start(update: Update, context: BotContext, turn: Turn) -> None:
    if not turn.private:
        raise Refusal(_("Use /scores in a private chat with me: scores are shown to each person as they may see them."))
    acting = await acting_in(turn, "scores")
    if acting is None:
        return
    cluster, actor = acting
    own = sorted(actor.unit_ids)
    if not actor.may(Action.VIEW_ALL_SCORES):
        if not own:
            actor.require(Action.VIEW_ALL_SCORES)
        await show_detail(turn, actor, cluster, own[0], edit=False)
        return
    await send_table(turn, context, cluster, actor)


scores_command = handler(start)


async def send_table(turn: Turn, context: BotContext, cluster: Cluster, actor: Actor, *, edit: bool = False) -> None:
    report = await service.cluster_scores(turn.session, actor, cluster)
    own = sorted(actor.unit_ids)
    markup = table_keyboard(cluster.id, own[0] if own else None)
    text = table_text(report)
    if len(text) <= TEXT_BUDGET:
        show(turn, text, markup) if edit else turn.reply(text, markup)
        return
    data, filename = await score_table_file(report)
    caption = _("📊 Scores {year} — {cluster}: {n} units, too many for one message, so here is the table as "
                "a file.").format(year=report.year.year, cluster=escape(cluster.name), n=len(report.units))  # fmt: skip
    if edit:
        turn.answer()
    turn.reply_file(data, filename, caption, markup)


async def reopen_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.ScoresReopen) -> None:
    actor = await actor_for_sheet(turn, press.sheet_id)
    view = await service.reopen(turn.session, actor, press.sheet_id, press.version)  # its representatives are told
    await show_detail(turn, actor, view.cluster, view.unit.id, edit=True,
                      notice=_("🔓 The sheet is open again; its representatives are told."))  # fmt: skip


async def table_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.ScoresTable) -> None:
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    if press.action == "t":
        await send_table(turn, context, cluster, actor, edit=True)
        return
    report = await service.cluster_scores(turn.session, actor, cluster)
    data, filename = await score_table_file(report)
    caption = _("📊 Scores {year} — {cluster}").format(year=report.year.year, cluster=escape(cluster.name))
    turn.answer()
    turn.reply_file(data, filename, caption)


async def units_pressed(update: Update, context: BotContext, turn: Turn,
                        press: callbacks.ScoresUnits | callbacks.ScoresUnitsPage) -> None:  # fmt: skip
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    actor.require(Action.VIEW_ALL_SCORES)
    report = await service.cluster_scores(turn.session, actor, cluster)
    units = [r.unit for r in report.units]
    cluster_id = cluster.id
    show(turn, _("Whose sheet?"), unit_picker(
        units, press.page,
        lambda unit_id: callbacks.ScoresSheet(cluster_id, unit_id),
        lambda other: callbacks.ScoresUnitsPage("v", cluster_id, other),
    ))  # fmt: skip


async def sheet_pressed(update: Update, context: BotContext, turn: Turn, press: callbacks.ScoresSheet) -> None:
    cluster, actor = await acting_from_button(turn, press.cluster_id)
    await show_detail(turn, actor, cluster, press.unit_id, edit=True)


def register(app: Application) -> None:
    app.add_handler(CommandHandler("scores", scores_command))
    app.add_handler(dispatch(callbacks.SCORES, {
        callbacks.ScoresTable: table_pressed, callbacks.ScoresUnits: units_pressed,
        callbacks.ScoresUnitsPage: units_pressed, callbacks.ScoresSheet: sheet_pressed,
        callbacks.ScoresReopen: reopen_pressed,
    }))  # fmt: skip

