"""The cluster's score table as an Excel file: a summary sheet and one sheet per criteria group.

Pure (plain data in, bytes out). The file is a Vietnamese document whatever the reader's
language: Vietnamese headers, the cluster's name and year in a title row. Scores are written
as **numbers** (exact `Decimal`s, which openpyxl stores as numbers) with a two-decimal format
(`NUMBER_FORMAT`), so Excel can sum and sort them and shows them rounded half-up to two places —
the same rule as `bot.fmt` (stored values never have more than two decimals, and totals of
such values neither). A criterion not scored is an empty cell, not a zero. A deduction is a
negative number in every sheet (the criterion's cells, its group's subtotal, the summary's
column), shown with the Unicode minus by the format: `−2,00`.

It prints as it is (`bot.papers.sheet_print`): A4 landscape, one page wide, the title, the
header and the STT/unit columns on every page, and the date and signature lines at the bottom
of each sheet.

- **Tổng hợp** (summary): STT, Đơn vị, Trạng thái, Tự chấm, Thẩm định, Cuối cùng, Xếp hạng (by
  the final total; equal totals share a place), then each group's final subtotal.
- **One sheet per group**: per unit, each criterion's self / verified / final value and the
  group's three subtotals; the criteria's texts and maxima are listed under the table.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot import scoring
from bot.papers import sheet_print as paper
from bot.scoring import FINAL, SELF, VERIFIED, Line
from bot.scoring_table import DEDUCTION, CriterionSpec

NUMBER_FORMAT = paper.POINTS_FORMAT  # two decimals, a negative with the Unicode minus: −2,00
HEADER_ROW = 2  # row 1 is the title; the table's rows follow the header
STAGE_VI = {SELF: "Tự chấm", VERIFIED: "Thẩm định", FINAL: "Cuối cùng"}
SUMMARY_TITLE = "Tổng hợp"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_COUNT = paper.Column(paper.INTEGER_FORMAT)
_NAME = paper.Column(align=paper.LEFT, wrap=True)
_STATUS = paper.Column(wrap=True)
_POINTS = paper.Column(NUMBER_FORMAT)


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


def scores_xlsx(
    title: str,
    criteria: Sequence[CriterionSpec],
    bonus_cap: Decimal,
    units: Sequence[UnitRow],
    *,
    place: str | None = None,
    date: dt.date | None = None,
    preparer: str | None = None,
    chair: str | None = None,
    chair_unit: str | None = None,
) -> bytes:
    """The workbook's bytes. `place` and `date` make the line "Hà Nội, ngày 05 tháng 12 năm
    2026" at the bottom of every sheet (without a date it is left blank to fill in by hand);
    `preparer` and `chair` are the names under the signature blocks "Người lập biểu" and "Cụm
    trưởng" (`chair_unit`, the chair unit's name, under its title); missing ones stay blank."""
    groups = list(dict.fromkeys(c.group for c in criteria))
    totals = {
        stage: [scoring.totals(u.lines, bonus_cap, stage) if u.lines is not None else None for u in units]
        for stage in (SELF, VERIFIED, FINAL)
    }
    scored = [i for i, u in enumerate(units) if u.lines is not None]
    ranks = dict(zip(scored, scoring.ranks([totals[FINAL][i].total for i in scored]), strict=True))
    signers = (
        paper.Signer("Người lập biểu", name=preparer),
        paper.Signer("Cụm trưởng", subtitle=chair_unit, instruction="(Ký tên, đóng dấu)", name=chair),
    )

    def bottom(sheet, row: int, last_column: int) -> None:
        end = paper.date_and_signatures(sheet, row, last_column, signers, place=place, date=date)
        paper.print_layout(sheet, title_rows=(1, HEADER_ROW), title_columns=(1, 2))
        paper.keep_together(sheet, row, end - 1, title_rows=(1, HEADER_ROW), last_column=last_column)
        sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=3)

    workbook = paper.new_workbook()
    summary = workbook.active
    taken: set[str] = set()
    summary.title = sheet_title(SUMMARY_TITLE, taken)
    headers = ["STT", "Đơn vị", "Trạng thái", "Tổng tự chấm", "Tổng thẩm định", "Tổng cuối cùng", "Xếp hạng"]
    headers += [f"{g} (cuối cùng)" for g in groups]
    paper.set_widths(summary, [5, 44, 14, 11, 11, 11, 8] + [12] * len(groups))
    paper.title(summary, 1, title, len(headers))
    paper.header(summary, HEADER_ROW, headers)
    rows = []
    for i, unit in enumerate(units):
        row: list = [i + 1, unit.name, unit.status]
        for stage in (SELF, VERIFIED, FINAL):
            row.append(totals[stage][i].total if totals[stage][i] is not None else None)
        row.append(ranks.get(i))
        final = totals[FINAL][i]
        row += [final.group(g) if final is not None else None for g in groups]
        rows.append(row)
    columns = [_COUNT, _NAME, _STATUS, _POINTS, _POINTS, _POINTS, _COUNT] + [_POINTS] * len(groups)
    after = paper.table(summary, HEADER_ROW + 1, rows, columns)
    paper.note(summary, after + 1, "Tổng = Σ tiêu chí thường + điểm thưởng (tối đa " + _plain(bonus_cap) + ") − điểm trừ. "
               "Điểm cuối cùng: điểm quyết định sau giải trình, nếu không có thì điểm thẩm định, "
               "nếu không có thì điểm tự chấm. Điểm trừ ghi số âm (−).", 1, len(headers), italic=True)  # fmt: skip
    bottom(summary, after + 3, len(headers))

    for group in groups:
        members = [(i, c) for i, c in enumerate(criteria) if c.group == group]
        sheet = workbook.create_sheet(sheet_title(group, taken))
        headers = ["STT", "Đơn vị"]
        for _i, c in members:
            headers += [f"{c.code} {STAGE_VI[s]}" for s in (SELF, VERIFIED, FINAL)]
        headers += [f"Cộng nhóm {STAGE_VI[s].lower()}" for s in (SELF, VERIFIED, FINAL)]
        paper.set_widths(sheet, [5, 40] + [9.5] * (len(headers) - 2))
        paper.title(sheet, 1, f"{title}\n{group}", len(headers))
        paper.header(sheet, HEADER_ROW, headers)
        rows = []
        for n, unit in enumerate(units):
            row = [n + 1, unit.name]
            for i, _c in members:
                line = unit.lines[i] if unit.lines is not None else None
                row += [_shown(line, s) for s in (SELF, VERIFIED, FINAL)]
            for stage in (SELF, VERIFIED, FINAL):
                t = totals[stage][n]
                row.append(t.group(group) if t is not None else None)
            rows.append(row)
        after = paper.table(sheet, HEADER_ROW + 1, rows, [_COUNT, _NAME] + [_POINTS] * (len(headers) - 2))
        at = after + 1
        for _i, c in members:
            sign = "−" if c.kind == DEDUCTION else ""
            cell = sheet.cell(row=at, column=1, value=c.code)
            cell.font = paper.font(bold=True)
            paper.note(sheet, at, f"{c.text} (tối đa {sign}{_plain(c.max_points)})", 2, len(headers))
            at += 1
        bottom(sheet, at + 1, len(headers))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _shown(line: Line | None, stage: str) -> Decimal | None:
    """A criterion's value as the sheet shows it: a deduction as a negative number, the way its
    group's subtotal and the summary carry it (−2 everywhere, never 2 here and −2 there)."""
    value = line.value(stage) if line is not None else None
    if not value:
        return value  # None (not scored) stays empty; a zero deduction is 0, not −0
    return -value if line.kind == DEDUCTION else value


def _plain(value: Decimal) -> str:
    """`5`, `2,5`: a maximum in a Vietnamese sentence (no rounding needed: ≤ 2 decimals)."""
    text = format(Decimal(value).quantize(Decimal("0.01")), "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return text.replace(".", ",")
