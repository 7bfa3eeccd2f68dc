"""The score table prints as it is (issue 11, item 7): every sheet A4 landscape, one page wide,
the title and header rows and the STT/unit columns on every page, borders, wrapped headers with
a height, Times New Roman everywhere, deductions as −2 in every sheet, the date and signature
lines at the bottom. Opened back with openpyxl, as a secretariat's Excel would read it."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from bot.papers import sheet_print
from bot.score_export import NUMBER_FORMAT, UnitRow, scores_xlsx
from bot.scoring import Line
from bot.scoring_table import DEDUCTION, DEFAULT_TABLE

CRITERIA = DEFAULT_TABLE.criteria
TITLE = "BẢNG TỔNG HỢP ĐIỂM THI ĐUA NĂM 2026 — Cụm thi đua số 3"
LONG = "Liên minh Hợp tác xã tỉnh số {:02d} thuộc khối các đơn vị sự nghiệp và doanh nghiệp"


def lines(k: int) -> tuple[Line, ...]:
    """Every criterion scored; a deduction of 2 (or 1) points on every other unit."""
    return tuple(
        Line(c.group, c.code, c.kind, c.max_points,
             self_value=Decimal(2 - k % 2) if c.kind == DEDUCTION else c.max_points - k % 3,
             verified_value=Decimal(2) if c.kind == DEDUCTION else None)
        for c in CRITERIA
    )  # fmt: skip


def workbook(count: int = 40, **kwargs) -> Workbook:
    units = [UnitRow(LONG.format(i), "đã thẩm định", lines(i)) for i in range(count)]
    units.append(UnitRow("Sở Tư pháp tỉnh Đắk Lắk", "chưa nộp", None))
    return load_workbook(io.BytesIO(scores_xlsx(TITLE, CRITERIA, Decimal(5), units, **kwargs)))


SIGNED = {"place": "Hà Nội", "date": dt.date(2026, 12, 5), "preparer": "Nguyễn Văn An",
          "chair": "Trần Thị Bình", "chair_unit": "Sở Tư pháp"}  # fmt: skip


@pytest.fixture(scope="module")
def book() -> Workbook:
    return workbook(**SIGNED)


def table_rows(sheet) -> range:
    """The header row and the units' rows (41 units: rows 2..43)."""
    return range(2, 2 + 1 + 41)


def test_every_sheet_is_a4_landscape_one_page_wide(book):
    assert len(book.worksheets) == 8
    for sheet in book.worksheets:
        setup = sheet.page_setup
        assert setup.orientation == "landscape", sheet.title
        assert int(setup.paperSize) == 9  # A4
        assert int(setup.fitToWidth) == 1 and int(setup.fitToHeight) == 0  # as many pages tall as needed
        assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
        assert sheet.print_options.horizontalCentered is True
        margins = sheet.page_margins
        assert (margins.left, margins.right, margins.top, margins.bottom) == (0.5, 0.5, 0.6, 0.7)


def test_title_header_and_unit_columns_repeat_on_every_page(book):
    for sheet in book.worksheets:
        assert sheet.print_title_rows == "$1:$2", sheet.title  # the title and the header
        assert sheet.print_title_cols == "$A:$B"  # STT and the unit
        assert [sheet.cell(2, c).value for c in (1, 2)] == ["STT", "Đơn vị"]
        footer = sheet.oddFooter.center
        assert footer.text == "&A – Trang &P" and footer.font == "Times New Roman,Regular"
        assert int(sheet.page_setup.firstPageNumber) == 1 and sheet.page_setup.useFirstPageNumber


def test_times_new_roman_on_every_style_and_every_written_cell(book):
    assert book._named_styles["Normal"].font.name == "Times New Roman"  # empty cells too
    assert {f.name for f in book._fonts} == {"Times New Roman"}  # every font the file defines
    for sheet in book.worksheets:
        written = [c for row in sheet.iter_rows() for c in row if c.value is not None]
        assert len(written) > 41 * 3
        for cell in written:
            assert cell.font.name == "Times New Roman", (sheet.title, cell.coordinate)
            assert cell.font.sz is not None, (sheet.title, cell.coordinate)
        assert sheet["A1"].value.startswith(TITLE) and sheet["A1"].font.b and sheet["A1"].font.sz == 14


def test_the_table_has_thin_borders_wrapped_headers_and_row_heights(book):
    for sheet in book.worksheets:
        last = sheet.max_column
        for row in table_rows(sheet):
            for column in range(1, last + 1):
                border = sheet.cell(row, column).border
                sides = (border.left, border.right, border.top, border.bottom)
                assert all(s.style == "thin" for s in sides), (sheet.title, row, column)
            assert sheet.row_dimensions[row].height, (sheet.title, row)  # explicit: Excel does not grow it
        header = [sheet.cell(2, c) for c in range(1, last + 1)]
        assert all(c.alignment.wrap_text and c.font.b for c in header)
        assert sheet.row_dimensions[2].height >= 2 * sheet_print.LINE_PT  # the headers wrap
        assert sheet.row_dimensions[3].height >= 2 * sheet_print.LINE_PT  # so does a long unit name
        assert sheet.row_dimensions[43].height < 2 * sheet_print.LINE_PT  # a short one does not
        assert sheet["B3"].alignment.wrap_text
        assert sheet.row_dimensions[1].height >= sheet_print.LINE_PT  # the title
        assert "A1" in {r.coord.split(":")[0] for r in sheet.merged_cells.ranges}  # over the table
        assert sheet.freeze_panes == "C3"
        # the border ends with the table: the rows under it are not a grid
        assert sheet.cell(44, 2).border.left.style is None


def test_deductions_are_negative_and_shown_with_a_minus_in_every_sheet(book):
    negative = NUMBER_FORMAT.split(";")[1]
    assert negative.startswith('"−"')  # U+2212, the sign our texts use: −2,00
    summary = book["Tổng hợp"]
    assert summary.cell(2, summary.max_column).value == "Điểm trừ (cuối cùng)"
    assert [summary.cell(r, summary.max_column).value for r in (3, 4)] == [-2, -2]
    deductions = book["Điểm trừ"]
    assert [c.value for c in deductions[3]][2:6] == [-2, -2, -2, -2]  # self, verified, final, self subtotal
    assert [c.value for c in deductions[4]][2:6] == [-1, -2, -2, -1]
    legend = [c.value for row in deductions.iter_rows(min_row=44) for c in row if c.value]
    assert any("(tối đa −2)" in str(v) for v in legend)
    for sheet in book.worksheets:
        numbers = [c for row in sheet.iter_rows(min_row=3, max_row=43, min_col=3) for c in row
                   if isinstance(c.value, int | float) and c.column != (7 if sheet.title == "Tổng hợp" else 0)]
        assert numbers, sheet.title
        assert {c.number_format for c in numbers} == {NUMBER_FORMAT}, sheet.title  # one way everywhere
    assert {summary.cell(r, 7).number_format for r in range(3, 43)} == {"0"}  # the rank is a count


def bottom(sheet, units: int = 41) -> list[list[str]]:
    """The rows under the table (title, header, `units` rows)."""
    return [[str(c.value) for c in row if c.value is not None] for row in sheet.iter_rows(min_row=3 + units)]


def test_a_date_line_and_the_signatures_close_every_sheet(book):
    for sheet in book.worksheets:
        rows = bottom(sheet)
        date_row = next(i for i, r in enumerate(rows) if r == ["Hà Nội, ngày 05 tháng 12 năm 2026"])
        after = rows[date_row + 1:]
        assert after[0] == ["NGƯỜI LẬP BIỂU", "CỤM TRƯỞNG"], sheet.title
        assert after[1] == ["Sở Tư pháp"]
        assert after[2] == ["(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)"]
        assert after[-1] == ["Nguyễn Văn An", "Trần Thị Bình"]  # on one row, under the space to sign
        assert len(after) == 3 + sheet_print.SIGNATURE_SPACE + 1
        at = 44 + date_row
        cell = sheet.cell(at, next(c for c in range(1, sheet.max_column + 1) if sheet.cell(at, c).value))
        assert cell.font.i and cell.column > sheet.max_column // 2  # italic, on the right, over the chair
        names_row = at + len(after)
        assert sum(r.min_row == names_row for r in sheet.merged_cells.ranges) == 2  # each over its half


def test_without_a_date_the_line_is_left_to_fill_in_and_signers_stay_blank():
    book = workbook(count=3)
    rows = bottom(book["Tổng hợp"], units=4)
    flat = [v for r in rows for v in r]
    assert sheet_print.BLANK_DATE in flat and "…………, ngày …… tháng …… năm ……" in flat
    assert ["NGƯỜI LẬP BIỂU", "CỤM TRƯỞNG"] in rows
    assert ["(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)"] in rows
    assert rows[-1] == ["(Ký, ghi rõ họ tên)", "(Ký tên, đóng dấu)"]  # no names: blank space to sign


def test_the_callers_four_arguments_still_make_the_same_table():
    units = [UnitRow("Hội Làm vườn Việt Nam", "đã nộp", lines(0))]
    book = load_workbook(io.BytesIO(scores_xlsx(TITLE, CRITERIA, Decimal(5), units)))
    assert [c.value for c in book["Tổng hợp"][3]][:7] == [1, "Hội Làm vườn Việt Nam", "đã nộp", 103, 103, 103, 1]  # 100 + 5 − 2


@pytest.mark.parametrize(
    ("rows_before", "block", "expected"),
    [
        (10, 8, False),  # fits under the table
        (20, 8, True),  # would straddle the page's end: it starts the next page
        (25, 8, True),  # the table fills its page: the break falls where the page ends anyway
        (30, 8, False),  # on the second page, under the repeated title rows, it fits
        (3, 40, False),  # longer than a page: no break would help
    ],
)
def test_the_signatures_are_not_split_between_two_pages(rows_before, block, expected):
    """20 pt rows, unscaled (two narrow columns): a page holds 501,7 pt, 25 rows of 20 pt; a
    later page repeats the two title rows."""
    sheet = Workbook().active
    sheet_print.set_widths(sheet, [10, 10])
    for row in range(1, rows_before + block + 1):
        sheet.row_dimensions[row].height = 20
    first = rows_before + 1
    broke = sheet_print.keep_together(sheet, first, first + block - 1, title_rows=(1, 2), last_column=2)
    assert broke is expected
    assert [b.id for b in sheet.row_breaks.brk] == ([rows_before] if expected else [])


def test_page_height_is_scaled_by_the_fit_to_width():
    """A table twice as wide as the page is printed at half size: a page holds twice the rows."""
    sheet = Workbook().active
    width = sheet_print.PRINTABLE_WIDTH_PT * 2 / 0.75  # px
    sheet_print.set_widths(sheet, [(width - 5) / 7])
    for row in range(1, 80):
        sheet.row_dimensions[row].height = 20
    # 501,7 pt / 0,5 = 1003,4 pt a page, 50 rows of 20: rows 40..47 fit; 44..51 straddle
    assert sheet_print.keep_together(sheet, 40, 47, title_rows=(1, 2), last_column=1) is False
    assert sheet_print.keep_together(sheet, 44, 51, title_rows=(1, 2), last_column=1) is True


def test_the_scoring_table_export_prints_the_same_way_and_reads_back():
    from bot.scoring_table import parse_file, to_xlsx

    data = to_xlsx(DEFAULT_TABLE)
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9
    assert int(sheet.page_setup.fitToWidth) == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1" and sheet.print_title_cols is None
    written = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert {c.font.name for c in written} == {"Times New Roman"}
    assert all(c.border.left.style == "thin" for c in written)
    assert sheet.row_dimensions[1].height and sheet["A1"].alignment.wrap_text
    assert parse_file(data, "bang.xlsx") == DEFAULT_TABLE
