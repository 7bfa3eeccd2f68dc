"""The scoring table as plain data: the default, reading .xlsx/.csv files (every kind of bad
input the issue names), and writing them back (table-driven; no Telegram, no database)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
import unicodedata
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from bot import scoring_table as st
from bot.i18n import use_locale
from bot.scoring_table import (
    BONUS,
    DEDUCTION,
    DEFAULT_TABLE,
    NORMAL,
    CriterionSpec,
    TableError,
    TableSpec,
    parse_csv,
    parse_file,
    parse_xlsx,
    to_csv,
    to_xlsx,
)

HEADER = ["Nhóm tiêu chí", "Mã", "Tiêu chí", "Điểm tối đa", "Loại"]
GOOD = [
    ["I. Nhiệm vụ", "1.1", "Hoàn thành chỉ tiêu", 60, "thường"],
    ["", "1.2", "Chuyển đổi số", 40, "thường"],
    ["Điểm thưởng", "B.1", "Sáng kiến", 5, "thưởng"],
    ["Điểm trừ", "D.1", "Báo cáo chậm", 2, "trừ"],
]


def xlsx(rows, merges=(), title_rows=(), extra_sheet_first=False) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    if extra_sheet_first:
        sheet.title = "Hướng dẫn"
        sheet.append(["Điền bảng ở trang sau."])
        sheet = workbook.create_sheet("Bảng")
    for row in title_rows:
        sheet.append(row)
    for row in rows:
        sheet.append(row)
    for ref in merges:
        sheet.merge_cells(ref)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, delimiter=",", encoding="utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    if encoding == "cp1258":
        return _windows_1258(buffer.getvalue())
    return buffer.getvalue().encode(encoding)


_TONES = "\u0300\u0301\u0303\u0309\u0323"


def _windows_1258(text: str) -> bytes:
    """How Excel on a Vietnamese Windows saves "CSV": â, ơ, đ… precomposed, tones combining."""
    out = []
    for ch in text:
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
        out.append(base + "".join(c for c in parts if c in _TONES))
    return "".join(out).encode("cp1258")


def problems_of(call) -> list[tuple[int | None, str]]:
    with use_locale("en"), pytest.raises(TableError) as caught:
        call()
    return [(p.row, p.message) for p in caught.value.problems]


# ------------------------------------------------------------------------------ default


def test_the_default_table_is_domain_md_example():
    normal = DEFAULT_TABLE.of_kind(NORMAL)
    assert sum(c.max_points for c in normal) == DEFAULT_TABLE.normal_total == 100
    assert [c.code for c in normal] == ["1.1", "1.2", "2.1", "2.2", "3.1", "4.1", "4.2", "5.1"]
    assert [(c.code, c.max_points) for c in DEFAULT_TABLE.of_kind(BONUS)] == [("B.1", 5)]
    assert DEFAULT_TABLE.bonus_cap == 5
    # a deduction is kept as the positive amount that is subtracted
    assert [(c.code, c.max_points) for c in DEFAULT_TABLE.of_kind(DEDUCTION)] == [("D.1", 2)]


# ------------------------------------------------------------------------------ round trips


UNUSUAL = TableSpec(
    criteria=(
        CriterionSpec("A. Nhóm một, có dấu phẩy", "01", "Tiêu chí \"có ngoặc\"; chấm phẩy", Decimal("42.5")),
        CriterionSpec("A. Nhóm một, có dấu phẩy", "1.10", "Tiêu chí hai", Decimal("47.5")),
        CriterionSpec("Điểm thưởng", "B.1", "Cờ thi đua của Bộ", Decimal(10), BONUS),
        CriterionSpec("Điểm thưởng", "B.2", "Cờ thi đua của Chính phủ", Decimal(15), BONUS),
        CriterionSpec("Điểm trừ", "D.1", "Báo cáo chậm", Decimal("0.25"), DEDUCTION),
    ),
    normal_total=Decimal(90),
    bonus_cap=Decimal(15),
)  # fmt: skip


@pytest.mark.parametrize("spec", [DEFAULT_TABLE, UNUSUAL], ids=["default", "unusual"])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_import_gives_the_same_table(spec, fmt):
    data = to_xlsx(spec) if fmt == "xlsx" else to_csv(spec)
    assert parse_file(data, f"bang.{fmt}") == spec


def test_csv_export_has_a_bom_vietnamese_headers_and_decimal_points():
    data = to_csv(UNUSUAL)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(HEADER)
    assert lines[1].endswith(",42.5,thường")
    assert lines[-2] == ",,Tổng điểm các tiêu chí thường,90,tổng"
    assert lines[-1] == ",,Điểm thưởng được cộng tối đa,15,trần điểm thưởng"


def test_xlsx_export_has_numbers_as_numbers_and_codes_as_text():
    sheet = load_workbook(io.BytesIO(to_xlsx(UNUSUAL))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    assert rows[1][1] == "01" and rows[2][1] == "1.10"
    assert rows[1][3] == 42.5 and isinstance(rows[3][3], int)


# ------------------------------------------------------------------------------ good input


@pytest.mark.parametrize(
    "header",
    [
        HEADER,
        ["nhom tieu chi", "ma", "tieu chi", "diem toi da", "loai"],
        ["NHÓM", "MÃ SỐ", "NỘI DUNG", "ĐIỂM", "LOẠI ĐIỂM"],
        ["Group", "Code", "Criterion", "Maximum points", "Kind"],
        ["group", "code", "criterion", "max", "kind"],
        ["Điểm tối đa (điểm)", "Loại", "Tiêu chí", "Mã", "Nhóm tiêu chí:"],  # any order
    ],
)
def test_headers_in_vietnamese_or_english_any_case_and_order(header):
    order = [st._header_key(h) for h in header]
    canonical = dict(zip(st.COLUMNS, range(5), strict=True))
    rows = [header] + [[r[canonical[key]] for key in order] for r in GOOD]
    expected = parse_xlsx(xlsx([HEADER, *GOOD]))
    assert parse_xlsx(xlsx(rows)) == expected
    assert parse_csv(csv_bytes(rows)) == expected
    assert [c.code for c in expected.criteria] == ["1.1", "1.2", "B.1", "D.1"]
    assert expected.criteria[1].group == "I. Nhiệm vụ"  # a blank group repeats the one above
    assert expected.bonus_cap == 5


def test_a_title_above_extra_columns_and_blank_rows_are_ignored():
    rows = [["STT", *HEADER, "Ghi chú"]]
    rows += [[i, *r, "ghi chú"] for i, r in enumerate(GOOD, 1)]
    rows.insert(2, [None] * 7)
    data = xlsx(rows, title_rows=[["BẢNG CHẤM ĐIỂM THI ĐUA NĂM 2024"], []], merges=["A1:G1"])
    spec = parse_xlsx(data)
    assert len(spec.criteria) == 4 and spec.normal_total == 100


def test_the_table_may_be_on_another_sheet_than_the_first():
    assert len(parse_xlsx(xlsx([HEADER, *GOOD], extra_sheet_first=True)).criteria) == 4


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [(",", "utf-8"), (",", "utf-8-sig"), (";", "utf-8"), ("\t", "utf-16"), (";", "cp1258")],
)
def test_csv_separators_and_encodings_excel_produces(delimiter, encoding):
    spec = parse_csv(csv_bytes([HEADER, *GOOD], delimiter, encoding))
    assert [c.group for c in spec.criteria][:2] == ["I. Nhiệm vụ", "I. Nhiệm vụ"]
    assert spec.criteria[0].text == "Hoàn thành chỉ tiêu"


@pytest.mark.parametrize(
    ("cell", "kind", "points"),
    [
        ("8,5", "thường", Decimal("8.5")),
        ("8.5", "thường", Decimal("8.5")),
        (8.5, "thường", Decimal("8.5")),
        (" 12,25 ", "normal", Decimal("12.25")),
        ("10.50", "", Decimal("10.5")),  # a blank kind is a normal criterion
        ("-2", "trừ", Decimal(2)),  # a deduction may be written negative
        ("−2", "Điểm trừ", Decimal(2)),
        (2, "deduction", Decimal(2)),
        (5, "THƯỞNG", Decimal(5)),
        (5, "bonus", Decimal(5)),
        (5, "cong", Decimal(5)),  # folded spellings that only one kind has
        (3, "tru", Decimal(3)),
    ],
)
def test_points_and_kinds_that_are_understood(cell, kind, points):
    rows = [HEADER, ["I", "1", "Chính", 100, "thường"], ["X", "2", "Thêm", cell, kind]]
    expected_kind = {"thường": NORMAL, "normal": NORMAL, "": NORMAL}.get(kind)
    if expected_kind == NORMAL:
        rows[1][3] = 100 - points
    spec = parse_xlsx(xlsx(rows))
    assert spec.criteria[1].max_points == points
    if expected_kind:
        assert spec.criteria[1].kind == expected_kind


def test_declared_total_line_and_bonus_cap_line():
    rows = [
        HEADER,
        ["I", "1.1", "Một", 50, "thường"],
        ["I", "1.2", "Hai", 40, "thường"],
        ["Thưởng", "B.1", "Cờ của Bộ", 10, "thưởng"],
        ["Thưởng", "B.2", "Cờ của Chính phủ", 15, "thưởng"],
        ["", "", "Tổng", 90, "Tổng điểm"],
        ["", "", "", 15, "trần điểm thưởng"],
    ]
    spec = parse_csv(csv_bytes(rows))
    assert (spec.normal_total, spec.bonus_cap) == (90, 15)
    assert len(spec.criteria) == 4


def test_without_a_total_line_the_callers_default_total_applies():
    rows = [HEADER, ["I", "1", "Một", 95, ""]]
    assert parse_csv(csv_bytes(rows), default_total=Decimal(95)).normal_total == 95
    assert problems_of(lambda: parse_csv(csv_bytes(rows)))[0][1].startswith(
        "The normal criteria add up to 95 points, but the declared total is 100."
    )


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # wrong header: no recognisable column names
        ([["Tên", "Số", "Kiểu"], ["a", "1", "x"]], [(1, "no header row found")]),
        # a header that misses columns names them
        ([["Nhóm", "Mã", "Tiêu chí"], ["I", "1", "x"]],
         [(1, "the header has no column “Điểm tối đa”, “Loại”.")]),
        ([[*HEADER, "Mã"], ["I", "1", "x", 100, "", "2"]], [(1, "the header has the column “Mã” twice.")]),
        # text in the points column
        ([HEADER, ["I", "1", "x", "mười", ""]], [(2, "the maximum points “mười” are not a number.")]),
        ([HEADER, ["I", "1", "x", "8.555", ""]], [(2, "the maximum points “8.555” have more than two decimals.")]),
        ([HEADER, ["I", "1", "x", "0", ""]], [(2, "the maximum points must be a positive number, not “0”.")]),
        ([HEADER, ["I", "1", "x", "-5", ""]], [(2, "the maximum points must be a positive number, not “-5”.")]),
        ([HEADER, ["I", "1", "x", "", ""]], [(2, "the maximum points are missing (column “Điểm tối đa”).")]),
        ([HEADER, ["I", "1", "x", "1001", ""]], [(2, "the maximum points “1001” are more than 1,000.")]),
        ([HEADER, ["I", "1", "x", "1,5,0", ""]], [(2, "the maximum points “1,5,0” are not a number.")]),
        # kinds
        ([HEADER, ["I", "1", "x", 100, "thuong"]],
         [(2, "the kind “thuong” could be “thường” (normal) or “thưởng” (bonus): write it with its diacritics.")]),
        ([HEADER, ["I", "1", "x", 100, "đặc biệt"]],
         [(2, "the kind “đặc biệt” is not one of: thường, thưởng, trừ, tổng, trần điểm thưởng.")]),
        # missing cells, duplicates
        ([HEADER, ["", "1", "x", 100, ""]], [(2, "the group is empty (column “Nhóm tiêu chí”).")]),
        ([HEADER, ["I", "", "x", 100, ""]], [(2, "the code is empty (column “Mã”).")]),
        ([HEADER, ["I", "1", "", 100, ""]], [(2, "the criterion is empty (column “Tiêu chí”).")]),
        ([HEADER, ["I", "1", "x", 50, ""], ["I", "1", "y", 50, ""]], [(3, "the code “1” is already used on row 2.")]),
        ([HEADER, ["I", "x" * 17, "x", 100, ""]], [(2, f"the code “{'x' * 17}” is longer than 16 characters.")]),
        ([HEADER, ["I", "1", "x" * 1001, 100, ""]], [(2, "the criterion is longer than 1000 characters.")]),
        # totals
        ([HEADER, ["I", "1", "x", 60, ""], ["I", "2", "y", 30, ""]],
         [(None, "The normal criteria add up to 90 points, but the declared total is 100. If your "
                 "cluster's table has another total, add a line of kind “tổng” with the total in "
                 "column “Điểm tối đa”.")]),
        ([HEADER, ["I", "1", "x", 60, ""], ["", "", "", 95, "tổng"]],
         [(3, "The normal criteria add up to 60 points, but the declared total is 95.")]),
        ([HEADER, ["I", "1", "x", 90, ""], ["", "", "", 90, "tổng"], ["", "", "", 90, "total"]],
         [(4, "a second line of kind “tổng”; the first is on row 3.")]),
        ([HEADER, ["I", "1", "x", 100, ""], ["", "", "", 5, "trần điểm thưởng"]],
         [(3, "a bonus cap is given but there are no bonus criteria.")]),
        ([HEADER, ["B", "B.1", "x", 5, "thưởng"]], [(None, "The table has no normal criteria.")]),
    ],
)  # fmt: skip
def test_each_problem_is_named_with_its_row(rows, expected):
    for data, parse in ((xlsx(rows), parse_xlsx), (csv_bytes(rows), parse_csv)):
        problems = problems_of(lambda data=data, parse=parse: parse(data))
        assert [(row, msg[: len(text)]) for (row, msg), (_r, text) in zip(problems, expected, strict=True)] == expected


def test_all_problems_are_reported_at_once_and_the_total_is_not_second_guessed():
    rows = [
        HEADER,
        ["I", "1.1", "Một", "ba mươi", "thường"],
        ["", "1.1", "Hai", 40, "thường"],
        ["", "", "Ba", 10, "thường"],
        ["", "1.4", "Bốn", 10, "thuong"],
    ]
    problems = problems_of(lambda: parse_xlsx(xlsx(rows)))
    assert [row for row, _msg in problems] == [2, 3, 4, 5]
    assert not any("add up to" in msg for _row, msg in problems)  # the sum would mislead


def test_merged_cells_are_refused_naming_the_cells_and_the_row():
    rows = [HEADER, ["I. Nhiệm vụ", "1.1", "Một", 60, ""], [None, "1.2", "Hai", 40, ""]]
    problems = problems_of(lambda: parse_xlsx(xlsx(rows, merges=["A2:A3"])))
    assert problems == [(2, problems[0][1])]
    assert problems[0][1].startswith("cells A2:A3 are merged. Unmerge them")


def test_ten_thousand_rows_are_refused_quickly_without_reading_them_all():
    rows = [HEADER] + [["I", f"c{i}", "Tiêu chí", "0,01", ""] for i in range(10_000)]
    for data, parse in ((xlsx(rows), parse_xlsx), (csv_bytes(rows), parse_csv)):
        started = time.perf_counter()
        problems = problems_of(lambda data=data, parse=parse: parse(data))
        assert time.perf_counter() - started < 2
        assert problems == [(None, "The table is too long: at most 500 criteria. Nothing was read.")]


def test_five_hundred_criteria_are_fine():
    rows = [HEADER] + [["I", f"c{i}", "Tiêu chí", "0,2", ""] for i in range(500)]
    assert len(parse_xlsx(xlsx(rows)).criteria) == 500


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


NOT_EXCEL = "This file is not a real Excel (.xlsx) workbook"


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"%PDF-1.7 not a spreadsheet", "bang.xlsx", NOT_EXCEL),
        (b"PK\x03\x04 a broken zip", "bang.xlsx", NOT_EXCEL),
        (_zip({"word/document.xml": b"<w/>"}), "bang.xlsx", NOT_EXCEL),  # a .docx renamed
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "bang.xlsx", "This is an old Excel 97-2003 (.xls) file."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "bang.xls", "This is an old Excel 97-2003 (.xls) file."),
        (b"\x89PNG\r\n\x1a\n\0\0\0", "bang.csv", "This is not a text CSV file."),
        (b"", "bang.csv", "The file is empty."),
        (b"hello", "bang.pdf", "Send the table as an Excel file (.xlsx) or a CSV file (.csv)."),
    ],
)
def test_files_that_are_not_tables_get_a_clear_message(data, name, expected):
    problems = problems_of(lambda: parse_file(data, name))
    assert len(problems) == 1 and problems[0][0] is None
    assert problems[0][1].startswith(expected)


def test_an_xlsx_sent_under_a_csv_name_is_still_read():
    assert parse_file(to_xlsx(DEFAULT_TABLE), "bang.csv") == DEFAULT_TABLE


def test_a_workbook_that_inflates_too_much_is_refused(monkeypatch):
    monkeypatch.setattr(st, "MAX_UNZIPPED", 1000)
    problems = problems_of(lambda: parse_xlsx(to_xlsx(DEFAULT_TABLE)))
    assert problems == [(None, "This workbook is too large. Keep only the scoring table in it.")]


def test_a_date_or_boolean_in_the_points_column_is_not_a_number():
    rows = [HEADER, ["I", "1", "x", dt.datetime(2024, 5, 8), ""], ["I", "2", "y", True, ""]]
    problems = problems_of(lambda: parse_xlsx(xlsx(rows)))
    assert [row for row, _msg in problems] == [2, 3]
    assert all("are not a number" in msg for _row, msg in problems)


def test_messages_are_in_vietnamese_by_default():
    with use_locale("vi"), pytest.raises(TableError) as caught:
        parse_csv(csv_bytes([HEADER, ["I", "1", "x", "mười", ""]]))
    assert caught.value.problems[0].message == "điểm tối đa “mười” không phải là số."
