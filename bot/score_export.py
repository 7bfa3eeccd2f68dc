"""The cluster's score table as an Excel file: a summary sheet and one sheet per criteria group.

Pure (plain data in, bytes out). The file is a Vietnamese document whatever the reader's
language: Vietnamese headers, the cluster's name and year in a title row. Scores are written
as **numbers** (exact `Decimal`s, which openpyxl stores as numbers) with a two-decimal format
(`#,##0.00`), so Excel can sum and sort them and shows them rounded half-up to two places —
the same rule as `bot.fmt` (stored values never have more than two decimals, and totals of
such values neither). A criterion not scored is an empty cell, not a zero.

- **Tổng hợp** (summary): STT, Đơn vị, Trạng thái, Tự chấm, Thẩm định, Cuối cùng, Xếp hạng (by
  the final total; equal totals share a place), then each group's final subtotal.
- **One sheet per group**: per unit, each criterion's self / verified / final value and the
  group's three subtotals; the criteria's texts and maxima are listed under the table.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot import scoring
from bot.scoring import FINAL, SELF, VERIFIED, Line
from bot.scoring_table import DEDUCTION, CriterionSpec

NUMBER_FORMAT = "#,##0.00"
STAGE_VI = {SELF: "Tự chấm", VERIFIED: "Thẩm định", FINAL: "Cuối cùng"}
SUMMARY_TITLE = "Tổng hợp"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class UnitRow:
    name: str
    status: str  # already in Vietnamese: "Đã thẩm định", "Chưa nộp"...
    lines: tuple[Line, ...] | None  # one per criterion, in table order; None: no sheet


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name (≤ 31 characters, none of []:*?/\\)."""
    base = _BAD_SHEET_CHARS.sub(" ", name).strip().strip("'") or "Nhóm"
    title = base[:31]
    n = 2
    while title.casefold() in {t.casefold() for t in taken}:
        suffix = f" ({n})"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(title)
    return title


def scores_xlsx(title: str, criteria: Sequence[CriterionSpec], bonus_cap: Decimal, units: Sequence[UnitRow]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    groups = list(dict.fromkeys(c.group for c in criteria))
    totals = {
        stage: [scoring.totals(u.lines, bonus_cap, stage) if u.lines is not None else None for u in units]
        for stage in (SELF, VERIFIED, FINAL)
    }
    scored = [i for i, u in enumerate(units) if u.lines is not None]
    ranks = dict(zip(scored, scoring.ranks([totals[FINAL][i].total for i in scored]), strict=True))

    workbook = Workbook()
    summary = workbook.active
    taken: set[str] = set()
    summary.title = sheet_title(SUMMARY_TITLE, taken)
    summary.append([title])
    summary["A1"].font = Font(bold=True, size=13)
    headers = ["STT", "Đơn vị", "Trạng thái", "Tổng tự chấm", "Tổng thẩm định", "Tổng cuối cùng", "Xếp hạng"]
    headers += [f"{g} (cuối cùng)" for g in groups]
    summary.append(headers)
    for i, unit in enumerate(units):
        row: list = [i + 1, unit.name, unit.status]
        for stage in (SELF, VERIFIED, FINAL):
            row.append(totals[stage][i].total if totals[stage][i] is not None else None)
        row.append(ranks.get(i))
        final = totals[FINAL][i]
        row += [final.group(g) if final is not None else None for g in groups]
        summary.append(row)
    _style(summary, header_row=2, number_columns=[4, 5, 6, *range(8, 8 + len(groups))])
    summary.column_dimensions["B"].width = 48
    summary.column_dimensions["C"].width = 18
    for col in range(4, 8 + len(groups)):
        summary.column_dimensions[get_column_letter(col)].width = 16
    summary.append([])
    summary.append(["Tổng = Σ tiêu chí thường + điểm thưởng (tối đa " + _plain(bonus_cap) + ") − điểm trừ. "
                    "Điểm cuối cùng: điểm quyết định sau giải trình, nếu không có thì điểm thẩm định, "
                    "nếu không có thì điểm tự chấm."])  # fmt: skip

    for group in groups:
        members = [(i, c) for i, c in enumerate(criteria) if c.group == group]
        sheet = workbook.create_sheet(sheet_title(group, taken))
        sheet.append([group])
        sheet["A1"].font = Font(bold=True, size=13)
        headers = ["STT", "Đơn vị"]
        for _i, c in members:
            headers += [f"{c.code} {STAGE_VI[s]}" for s in (SELF, VERIFIED, FINAL)]
        headers += [f"Cộng nhóm {STAGE_VI[s].lower()}" for s in (SELF, VERIFIED, FINAL)]
        sheet.append(headers)
        for n, unit in enumerate(units):
            row = [n + 1, unit.name]
            for i, _c in members:
                line = unit.lines[i] if unit.lines is not None else None
                row += [line.value(s) if line is not None else None for s in (SELF, VERIFIED, FINAL)]
            for stage in (SELF, VERIFIED, FINAL):
                t = totals[stage][n]
                row.append(t.group(group) if t is not None else None)
            sheet.append(row)
        _style(sheet, header_row=2, number_columns=list(range(3, 3 + 3 * len(members) + 3)))
        sheet.column_dimensions["B"].width = 48
        for col in range(3, 3 + 3 * len(members) + 3):
            sheet.column_dimensions[get_column_letter(col)].width = 14
        sheet.append([])
        for _i, c in members:
            sign = "−" if c.kind == DEDUCTION else ""
            sheet.append([c.code, f"{c.text} (tối đa {sign}{_plain(c.max_points)})"])
        for row in sheet.iter_rows(min_row=2, max_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _style(sheet, header_row: int, number_columns: list[int]) -> None:
    from openpyxl.styles import Font

    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=header_row + 1):
        for cell in row:
            if cell.column in number_columns and cell.value is not None:
                cell.number_format = NUMBER_FORMAT
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=3)


def _plain(value: Decimal) -> str:
    """`5`, `2,5`: a maximum in a Vietnamese sentence (no rounding needed: ≤ 2 decimals)."""
    text = format(Decimal(value).quantize(Decimal("0.01")), "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return text.replace(".", ",")
