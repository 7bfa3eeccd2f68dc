"""Words about score sheets and their verification that both a reply and a notice say.

The services (`bot.services.scoring`, `bot.services.verification`) queue the notices — a sheet
submitted or reopened, a score adjusted, an explanation to decide, a decision — with these
functions as their `render`, called once per recipient in that person's language; the
handlers show the same texts (a dispute card, a value with its sign) as replies. Pure: plain
values in, Telegram HTML out, every user-supplied string escaped.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks, fmt
from bot.i18n import _, use_locale
from bot.score_export import UnitRow, scores_xlsx
from bot.scoring_table import DEDUCTION
from storage.models import SheetStatus

if TYPE_CHECKING:
    from bot.services.scoring import ClusterScores, SheetView

MINUS = "−"


def points(kind: str, value: Decimal | None) -> str:
    """A value as the table shows it: a deduction with its minus sign, — for none."""
    if value is None:
        return "—"
    if kind == DEDUCTION and value:
        return MINUS + fmt.number(value)
    return fmt.number(value)


# ------------------------------------------------------------------------------ the sheet


def sheet_submitted(who: str, unit: str, total: Decimal) -> str:
    """To the unit's other representatives, when one of them submits the sheet."""
    return _("📤 {who} submitted the self-scoring sheet of {unit}: {total} points.").format(
        who=escape(who), unit=escape(unit), total=fmt.number(total))  # fmt: skip


def sheet_reopened(who: str, unit: str) -> str:
    """To the unit's representatives, when the chair unlocks a submitted sheet."""
    return _("🔓 {who} reopened the self-scoring sheet of {unit}: change it with /score and submit it "
             "again before the deadline.").format(who=escape(who), unit=escape(unit))  # fmt: skip


# ------------------------------------------------------------------------------ verification


@dataclass(frozen=True)
class AdjustmentFacts:
    """One adjustment of a criterion's score, as its notice and its dispute card show it."""

    adjustment_id: int
    year: int
    unit: str  # the unit whose sheet it is
    code: str
    text: str
    kind: str
    max_points: Decimal
    from_value: Decimal | None
    to_value: Decimal | None
    reason: str
    verifier: str | None  # the verifying unit
    explanation: str | None = None
    decided_value: Decimal | None = None


def _button(text: str, press: callbacks.Button) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=press.pack())


def score_adjusted(facts: AdjustmentFacts) -> tuple[str, InlineKeyboardMarkup]:
    """To the unit's representatives: what changed and why, with the button to explain once."""
    text = "\n".join([
        _("✏️ <b>A score of your unit was adjusted</b> ({year}, {unit})").format(
            year=facts.year, unit=escape(facts.unit)),
        f"<b>{escape(facts.code)}</b>. {escape(facts.text)}",
        _("Your score: {before} → verified: <b>{after}</b>").format(
            before=points(facts.kind, facts.from_value), after=points(facts.kind, facts.to_value)),
        _("Reason: {reason}").format(reason=escape(facts.reason)),
        _("Verified by: {unit}").format(unit=escape(facts.verifier) if facts.verifier else "—"),
        "",
        _("Your unit may explain once (giải trình); the chair then decides the final score."),
    ])  # fmt: skip
    markup = InlineKeyboardMarkup([[_button(_("💬 Explain"), callbacks.DisputeStep("x", facts.adjustment_id))]])
    return text, markup


def dispute_text(facts: AdjustmentFacts) -> str:
    """An explained adjustment as the one who decides it sees it (the notice and the card)."""
    kind = facts.kind
    lines = [
        _("⚖️ <b>Explanation to decide</b> — {unit}").format(unit=escape(facts.unit)),
        f"<b>{escape(facts.code)}</b>. {escape(facts.text)} "
        + _("(maximum {max})").format(max=fmt.number(facts.max_points)),
        _("The unit's score: {before} · verified ({verifier}): <b>{after}</b>").format(
            before=points(kind, facts.from_value), verifier=escape(facts.verifier) if facts.verifier else "—",
            after=points(kind, facts.to_value)),
        _("Reason: {reason}").format(reason=escape(facts.reason)),
        _("💬 Explanation: {text}").format(text=escape(facts.explanation or "")),
    ]  # fmt: skip
    if facts.decided_value is not None:
        lines.append(_("⚖️ Decided: <b>{value}</b>").format(value=points(kind, facts.decided_value)))
    else:
        lines += ["", _("Choose the final score, or type another.")]
    return "\n".join(lines)


def dispute_keyboard(facts: AdjustmentFacts) -> InlineKeyboardMarkup:
    """Keep the verified value, take the unit's, or type another."""
    values = [(facts.to_value, _("Keep the verified score: {value}")),
              (facts.from_value, _("The unit's score: {value}"))]  # fmt: skip
    rows = [[_button(text.format(value=points(facts.kind, value)), callbacks.DisputeKeep(facts.adjustment_id, value))]
            for value, text in values if value is not None]  # fmt: skip
    rows.append([_button(_("✍️ Another score"), callbacks.DisputeStep("t", facts.adjustment_id))])
    return InlineKeyboardMarkup(rows)


def dispute_decided(facts: AdjustmentFacts) -> str:
    """To the unit's and the verifying unit's representatives."""
    kind = facts.kind
    return _("⚖️ The final score of {code} for {unit} is decided: <b>{value}</b> (self {before}, verified {after}).").format(
        code=escape(facts.code), unit=escape(facts.unit), value=points(kind, facts.decided_value),
        before=points(kind, facts.from_value), after=points(kind, facts.to_value))  # fmt: skip


def sheet_state(view: SheetView | None) -> str:
    if view is None:
        return _("not scored")
    if view.sheet.status == SheetStatus.DRAFT:
        return _("not submitted ({done}/{size})").format(done=view.scored, size=view.size)
    if view.sheet.status == SheetStatus.VERIFIED:
        return _("verified")
    if view.verified:
        return _("being verified ({done}/{size})").format(done=view.verified, size=view.size)
    return _("submitted")



def score_table_build(report: ClusterScores, **signed) -> tuple[Callable[[], bytes], str]:
    """The table as an .xlsx, always in Vietnamese (it is a document of the cluster): its rows
    read now (they touch the loaded sheets, so on the event loop and in the session), and a
    function that builds the workbook from them alone — to run in a worker thread, outside any
    transaction. `signed`: the date line and the signature block (`scores_xlsx`'s place, date,
    preparer, chair, chair_unit)."""
    from bot.services import tables

    spec = tables.spec_of(report.table)
    with use_locale("vi"):
        rows = [UnitRow(r.unit.name, sheet_state(r.view), tuple(r.view.lines()) if r.view else None)
                for r in report.units]  # fmt: skip
    title = f"BẢNG TỔNG HỢP ĐIỂM THI ĐUA NĂM {report.year.year} — {report.cluster.name}"
    build = functools.partial(scores_xlsx, title, spec.criteria, report.table.bonus_cap, rows, **signed)
    return build, f"bang-diem-{report.year.year}.xlsx"


async def score_table_file(report: ClusterScores, **signed) -> tuple[bytes, str]:
    """`score_table_build`, built in a worker thread, so a large cluster's file stalls no chat."""
    build, filename = score_table_build(report, **signed)
    return await asyncio.to_thread(build), filename
