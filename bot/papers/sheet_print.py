"""How every .xlsx the bot sends prints: the layout a secretariat files as it comes out.

One place for it, so a new spreadsheet gets the same paper by calling these helpers:

- `new_workbook()`: a workbook whose default style (the "Normal" style, the one every cell
  without a style of its own uses) is Times New Roman — a reader never sees Calibri, even in an
  empty cell or a row height Excel derives from the default font.
- `font()`: the only way to make a font here; always Times New Roman, always a size.
- `title()`, `header()`, `table()`, `note()`: the title merged over the table, wrapped headers
  with an explicit height, thin borders on every cell of the table, a wrapped note under it.
- `date_and_signatures()`: "…, ngày … tháng … năm …" and the signature blocks at the bottom.
- `print_layout()`: A4 landscape, one page wide (as many pages tall as needed), the title and
  header rows and the identifying columns (STT, the unit) repeated on every printed page,
  margins, centred horizontally, "Tổng hợp – Trang 2" centred in the footer (each sheet's
  pages numbered from 1: `&N` would count the whole workbook in LibreOffice).
- `keep_together()`: the date and signature lines start a new page rather than being split.

Row heights are set explicitly from an estimate of the wrapped lines: Excel does not grow a row
for wrapped text written by a program, so without a height a long unit name or header is cut.

Points are written as numbers with `POINTS_FORMAT`: two decimals, and a negative value (every
deduction, in every sheet) with the Unicode minus sign, `−2,00`, as our texts write it; the
decimal and grouping separators follow the reader's Excel (a Vietnamese one shows `95,50`).
"""

from __future__ import annotations

import datetime as dt
import functools
import textwrap
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from bot.pledge_document import place_and_date

FONT_NAME = "Times New Roman"
BODY_PT = 11
TITLE_PT = 14
FOOTER_PT = 10
POINTS_FORMAT = '#,##0.00;"−"#,##0.00'  # U+2212 before a negative value
INTEGER_FORMAT = "0"
LINE_PT = 15  # one line of 11 pt text, with leading
PAGE_FOOTER = "&A – Trang &P"  # the sheet's name and its page (numbered from 1 in each sheet)
BLANK_DATE = "…………, ngày …… tháng …… năm ……"
SIGNATURE_SPACE = 3  # empty rows left to sign in
MARGINS = PageMargins(left=0.5, right=0.5, top=0.6, bottom=0.7, header=0.3, footer=0.3)  # inches
# A4 landscape (841.9 × 595.3 pt) less the margins: what fitting the width scales the table into
PRINTABLE_WIDTH_PT = 841.9 - 72 * (MARGINS.left + MARGINS.right)
PRINTABLE_HEIGHT_PT = 595.3 - 72 * (MARGINS.top + MARGINS.bottom)
DEFAULT_ROW_PT = 15.0
DEFAULT_WIDTH = 8.43

THIN = Side(style="thin")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
RIGHT = Alignment(horizontal="right", vertical="center")


@functools.cache
def font(*, bold: bool = False, italic: bool = False, size: float = BODY_PT) -> Font:
    """One `Font` per look, made once and shared by every workbook of the process (making a new
    one for each of a 3,000-unit table's cells was a third of the file's time). A cell's `font`
    is a read-only proxy, so no cell changes it; never change a returned font itself."""
    return Font(name=FONT_NAME, size=size, bold=bold, italic=italic, family=1)


def new_workbook() -> Workbook:
    """A workbook whose default font (style 0, the Normal style) is Times New Roman."""
    workbook = Workbook()
    default = font()
    workbook._fonts = IndexedList([default])  # openpyxl has no public setter
    workbook._named_styles["Normal"].font = default
    return workbook


def lines_needed(text: str, width: float) -> int:
    """How many lines `text` wraps to in a column `width` characters wide (a generous estimate:
    a line too many costs a little white space, a line too few hides a word)."""
    per_line = max(int(width * 1.05) - 1, 1)
    return sum(max(len(textwrap.wrap(part, per_line)), 1) for part in str(text).split("\n"))


def height_for(lines: int, size: float = BODY_PT) -> float:
    return round(lines * LINE_PT * size / BODY_PT + 3, 1)


def width_of(sheet: Worksheet, first: int, last: int) -> float:
    return sum(
        sheet.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(first, last + 1)
    )


def set_widths(sheet: Worksheet, widths: Sequence[float]) -> None:
    for column, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def title(sheet: Worksheet, row: int, text: str, last_column: int) -> None:
    """The title, bold, centred over the whole table, as many lines as it needs."""
    _merged(sheet, row, 1, last_column, text, font(bold=True, size=TITLE_PT), CENTRE)
    lines = lines_needed(text, width_of(sheet, 1, last_column) * BODY_PT / TITLE_PT)
    sheet.row_dimensions[row].height = height_for(lines, TITLE_PT) + 6


def header(sheet: Worksheet, row: int, values: Sequence[str]) -> None:
    """The table's header row: bold, centred, wrapped, bordered, high enough for its longest."""
    lines = 1
    for column, value in enumerate(values, 1):
        cell = sheet.cell(row=row, column=column, value=value)
        cell.font, cell.alignment, cell.border = font(bold=True), CENTRE, BORDER
        lines = max(
            lines,
            lines_needed(value, sheet.column_dimensions[get_column_letter(column)].width or 8.43),
        )
    sheet.row_dimensions[row].height = height_for(lines)


@dataclass(frozen=True)
class Column:
    """How a table column's cells look: `number_format` for numbers, `wrap` for long text."""

    number_format: str | None = None
    align: Alignment = CENTRE
    wrap: bool = False


def table(
    sheet: Worksheet, first_row: int, rows: Sequence[Sequence[object]], columns: Sequence[Column]
) -> int:
    """Write the table's body from `first_row`: every cell bordered and in our font (an empty
    cell too, so the grid is whole), each row as high as its longest wrapped text. Returns the
    row after the table.

    A cell's look is set once per (column, numbered or not, the format its value gave it) and
    copied to the cells like it (openpyxl's style array: the workbook's font, border, alignment
    and format indexes), since setting each part looks it up in the workbook's lists: most of a
    large table's time."""
    looks: dict[tuple[int, bool, str], StyleArray] = {}
    for offset, values in enumerate(rows):
        row = first_row + offset
        lines = 1
        for column, (value, spec) in enumerate(zip(values, columns, strict=True), 1):
            cell = sheet.cell(row=row, column=column, value=value)
            numbered = bool(spec.number_format) and isinstance(value, int | float | Decimal)
            key = (column, numbered, cell.number_format)  # a date value has set a date format
            look = looks.get(key)
            if look is not None:
                cell._style = copy(look)
            else:
                cell.font, cell.border, cell.alignment = font(), BORDER, spec.align
                if numbered:
                    cell.number_format = spec.number_format
                looks[key] = copy(cell._style)
            if spec.wrap and isinstance(value, str):
                width = sheet.column_dimensions[get_column_letter(column)].width or 8.43
                lines = max(lines, lines_needed(value, width))
        sheet.row_dimensions[row].height = height_for(lines)
    return first_row + len(rows)


def note(
    sheet: Worksheet,
    row: int,
    text: str,
    first_column: int,
    last_column: int,
    *,
    italic: bool = False,
) -> None:
    """A wrapped line of text under the table, merged over `first_column..last_column`."""
    _merged(sheet, row, first_column, last_column, text, font(italic=italic), LEFT)
    sheet.row_dimensions[row].height = height_for(
        lines_needed(text, width_of(sheet, first_column, last_column))
    )


@dataclass(frozen=True)
class Signer:
    """One signature block: the title (`CỤM TRƯỞNG`), an optional line under it (the unit),
    the instruction in brackets, and the name once known (else the space stays blank)."""

    title: str
    subtitle: str | None = None
    instruction: str = "(Ký, ghi rõ họ tên)"
    name: str | None = None


def date_and_signatures(
    sheet: Worksheet,
    row: int,
    last_column: int,
    signers: Sequence[Signer],
    *,
    place: str | None = None,
    date: dt.date | None = None,
) -> int:
    """At `row`: the date line over the last signer's block (right side, italic), then the
    signers side by side, each over an equal share of the table's width. Without a date the
    line is left to be filled in by hand. Returns the row after the block."""
    spans = _spans(last_column, len(signers))
    first, last = spans[-1]
    line = place_and_date(place, date) if date is not None else BLANK_DATE
    _merged(sheet, row, first, last, line, font(italic=True), CENTRE)
    sheet.row_dimensions[row].height = height_for(lines_needed(line, width_of(sheet, first, last)))
    with_subtitle = any(signer.subtitle for signer in signers)
    title_row = row + 1
    instruction_row = title_row + (2 if with_subtitle else 1)
    name_row = instruction_row + SIGNATURE_SPACE + 1
    lines = {title_row: 1, instruction_row: 1, name_row: 1}
    for (first, last), signer in zip(spans, signers, strict=True):
        width = width_of(sheet, first, last)
        parts = [(title_row, signer.title.upper(), font(bold=True)),
                 (title_row + 1, signer.subtitle, font(bold=True)),
                 (instruction_row, signer.instruction, font(italic=True)),
                 (name_row, signer.name, font(bold=True))]  # fmt: skip
        for at, text, style in parts:
            if text:
                _merged(sheet, at, first, last, text, style, CENTRE)
                lines[at] = max(lines.get(at, 1), lines_needed(text, width))
    for at, count in lines.items():
        sheet.row_dimensions[at].height = height_for(count)
    return name_row + 1


def keep_together(
    sheet: Worksheet,
    first_row: int,
    last_row: int,
    *,
    title_rows: tuple[int, int],
    last_column: int,
) -> bool:
    """Start rows `first_row..last_row` (the date and the signatures) on a new page if, printed
    one page wide, they would be split between two pages — a signature page without its date
    line is no use. The pages are estimated from the explicit row heights and column widths
    (what fitting the width scales them by); returns whether a break was put in."""
    wide = sum(
        _width_pt(sheet.column_dimensions[get_column_letter(c)].width)
        for c in range(1, last_column + 1)
    )
    page = PRINTABLE_HEIGHT_PT / min(1.0, PRINTABLE_WIDTH_PT / wide)
    repeated = sum(_height_pt(sheet, r) for r in range(title_rows[0], title_rows[1] + 1))
    used = 0.0
    for row in range(1, first_row):
        height = _height_pt(sheet, row)
        used = repeated + height if used + height > page else used + height
    block = sum(_height_pt(sheet, r) for r in range(first_row, last_row + 1))
    if used + block <= page or repeated + block > page:
        return False
    sheet.row_breaks.append(Break(id=first_row - 1))
    return True


def _height_pt(sheet: Worksheet, row: int) -> float:
    return sheet.row_dimensions[row].height or DEFAULT_ROW_PT


def _width_pt(width: float | None) -> float:
    """A column's width in points: Excel's width counts digits of the default font (7 px for
    11 pt) plus 5 px of padding, at 96 px to the inch."""
    return (7 * (width or DEFAULT_WIDTH) + 5) * 0.75


def print_layout(
    sheet: Worksheet, *, title_rows: tuple[int, int], title_columns: tuple[int, int] | None
) -> None:
    """A4 landscape, one page wide and as many tall as it takes; `title_rows` (the title and the
    header) and `title_columns` (what names a row: STT and the unit) on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # 0: as many pages tall as needed
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"
    if title_columns is not None:
        first, last = (get_column_letter(c) for c in title_columns)
        sheet.print_title_cols = f"{first}:{last}"
    sheet.page_margins = copy(MARGINS)
    sheet.page_setup.firstPageNumber = 1
    sheet.page_setup.useFirstPageNumber = True
    sheet.print_options.horizontalCentered = True
    footer = sheet.oddFooter.center
    footer.text, footer.font, footer.size = PAGE_FOOTER, f"{FONT_NAME},Regular", FOOTER_PT
    sheet.evenFooter.center.text = footer.text


def _merged(
    sheet: Worksheet, row: int, first: int, last: int, value: str, style: Font, align: Alignment
) -> None:
    cell = sheet.cell(row=row, column=first, value=value)
    cell.font, cell.alignment = style, align
    if last > first:
        sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)


def _spans(last_column: int, count: int) -> list[tuple[int, int]]:
    """`count` side-by-side column ranges covering 1..last_column (each at least one column)."""
    count = max(min(count, last_column), 1)
    edges = [round(i * last_column / count) for i in range(count + 1)]
    return [(edges[i] + 1, max(edges[i + 1], edges[i] + 1)) for i in range(count)]
