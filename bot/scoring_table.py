"""The scoring table (*bảng chấm điểm*) as plain data: the default, reading it from a
spreadsheet the chair's office made, and writing it back in the same format.

Pure: no Telegram, no database. The file format (one sheet, or a CSV file):

| Nhóm tiêu chí | Mã | Tiêu chí | Điểm tối đa | Loại |
|---|---|---|---|---|
| I. Thực hiện nhiệm vụ chính trị | 1.1 | Hoàn thành chỉ tiêu… | 30 | thường |
| | 1.2 | Đổi mới, sáng tạo… | 10 | thường |
| Điểm thưởng | B.1 | Sáng kiến… | 5 | thưởng |
| Điểm trừ | D.1 | Báo cáo chậm… | 2 | trừ |
| | | Tổng điểm các tiêu chí thường | 100 | tổng |

- Headers are found in the first rows (a title above them is fine), in Vietnamese or English,
  with or without diacritics: group/Nhóm, code/Mã, criterion/Tiêu chí, max/Điểm tối đa,
  kind/Loại. Other columns (STT, Ghi chú…) are ignored.
- A blank group repeats the group of the row above (how these tables are written by hand).
- Kind: normal/thường (also a blank cell), bonus/thưởng, deduction/trừ. "thuong" without
  diacritics could be either and is refused with a question.
- Points: `8,5` and `8.5` both mean 8.5, at most two decimals, at most 1000. A deduction may be
  written `-2` or `2`: it is kept as the positive amount that is subtracted.
- **The declared total** of the normal criteria: a line of kind `tổng`/total (its maximum is
  the total). Without one it is the caller's `default_total` (the cluster's setting
  `normal_total`, default 100; see `bot.services.tables`). The normal criteria must add up to
  it exactly.
- **The bonus cap**: a line of kind `trần điểm thưởng`/bonus cap; without one it is the sum of
  the bonus criteria's maxima.

Every problem is collected, with the row number the spreadsheet shows, and raised together in
one `TableError`: nothing is half-read.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from bot.fmt import number
from bot.i18n import _
from storage.text import fold_name

NORMAL, BONUS, DEDUCTION = "normal", "bonus", "deduction"
KINDS = (NORMAL, BONUS, DEDUCTION)
_TOTAL, _BONUS_CAP = "total", "bonus_cap"  # summary lines, not criteria

DEFAULT_NORMAL_TOTAL = Decimal(100)
MAX_CRITERIA = 500
MAX_SCANNED_ROWS = 5_000  # blank rows included: a sheet longer than this is refused
MAX_COLUMNS = 30
HEADER_SEARCH_ROWS = 20
MAX_POINTS = Decimal(1000)
MAX_GROUP, MAX_CODE, MAX_TEXT = 300, 16, 1000  # the database columns' sizes
MAX_UNZIPPED = 50 * 1024 * 1024  # an .xlsx is a zip: refuse one that inflates past this
_TWO_PLACES = Decimal("0.01")

GROUP, CODE, CRITERION, MAX, KIND = "group", "code", "criterion", "max", "kind"
COLUMNS = (GROUP, CODE, CRITERION, MAX, KIND)
# The headers written on export (and shown in messages): the document is Vietnamese.
HEADERS_VI = {
    GROUP: "Nhóm tiêu chí",
    CODE: "Mã",
    CRITERION: "Tiêu chí",
    MAX: "Điểm tối đa",
    KIND: "Loại",
}
KIND_VI = {
    NORMAL: "thường",
    BONUS: "thưởng",
    DEDUCTION: "trừ",
    _TOTAL: "tổng",
    _BONUS_CAP: "trần điểm thưởng",
}
_TOTAL_TEXT_VI = "Tổng điểm các tiêu chí thường"
_BONUS_CAP_TEXT_VI = "Điểm thưởng được cộng tối đa"

_HEADER_ALIASES = {
    GROUP: ("nhom", "nhom tieu chi", "linh vuc", "group", "criteria group", "criterion group"),
    CODE: ("ma", "ma so", "ma tieu chi", "ky hieu", "so hieu", "code"),
    CRITERION: (
        "tieu chi", "ten tieu chi", "noi dung", "noi dung tieu chi", "noi dung cham diem",
        "criterion", "criteria", "text", "description",
    ),
    MAX: (
        "diem toi da", "toi da", "diem", "so diem", "diem chuan", "thang diem", "max", "maximum",
        "max points", "maximum points", "points",
    ),
    KIND: ("loai", "loai diem", "loai tieu chi", "kind", "type"),
}  # fmt: skip
_HEADER_KEYS = {alias: key for key, aliases in _HEADER_ALIASES.items() for alias in aliases}

# Kind values, compared first with their diacritics (so "thường" and "thưởng" differ), then
# folded, where a folded spelling that two kinds share is ambiguous.
_KIND_ALIASES = {
    NORMAL: ("normal", "thường", "điểm thường", "tiêu chí thường", "cơ bản"),
    BONUS: ("bonus", "thưởng", "điểm thưởng", "tiêu chí thưởng", "cộng", "điểm cộng"),
    DEDUCTION: ("deduction", "trừ", "điểm trừ", "penalty"),
    _TOTAL: ("total", "tổng", "tổng điểm", "tổng cộng"),
    _BONUS_CAP: (
        "bonus cap", "bonus_cap", "trần điểm thưởng", "trần thưởng", "thưởng tối đa",
        "điểm thưởng tối đa",
    ),
}  # fmt: skip
_KIND_EXACT = {
    unicodedata.normalize("NFC", alias).casefold(): kind
    for kind, aliases in _KIND_ALIASES.items()
    for alias in aliases
}
_KIND_FOLDED: dict[str, str | None] = {}
for _alias, _kind in _KIND_EXACT.items():
    _key = fold_name(_alias)
    _KIND_FOLDED[_key] = _kind if _KIND_FOLDED.get(_key, _kind) == _kind else None
_AMBIGUOUS = object()

_NUMBER_RE = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_MERGE_RE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Za-z]+\d+(?::[A-Za-z]+\d+)?)\"")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 .xls, old .doc


@dataclass(frozen=True)
class CriterionSpec:
    group: str
    code: str
    text: str
    max_points: Decimal  # positive; a deduction's amount is subtracted
    kind: str = NORMAL


@dataclass(frozen=True)
class TableSpec:
    criteria: tuple[CriterionSpec, ...]
    normal_total: Decimal
    bonus_cap: Decimal

    def of_kind(self, kind: str) -> list[CriterionSpec]:
        return [c for c in self.criteria if c.kind == kind]


class Problem(NamedTuple):
    row: int | None  # as the spreadsheet shows it (1-based); None: the file as a whole
    message: str  # plain text (not HTML), already translated


class TableError(Exception):
    """The file is not a valid table; `problems` lists everything found, by row."""

    def __init__(self, problems: Iterable[Problem | tuple[int | None, str]]) -> None:
        self.problems = sorted(
            (Problem(*p) for p in problems), key=lambda p: (p.row is not None, p.row or 0)
        )
        super().__init__("; ".join(_line(p) for p in self.problems))


def _line(problem: Problem) -> str:
    return f"{problem.row}: {problem.message}" if problem.row is not None else problem.message


def _c(group: str, code: str, text: str, points: int, kind: str = NORMAL) -> CriterionSpec:
    return CriterionSpec(group, code, text, Decimal(points), kind)


_G1, _G2 = "I. Thực hiện nhiệm vụ chính trị", "II. Tổ chức phong trào thi đua"
_G4 = "IV. Xây dựng tổ chức"
DEFAULT_TABLE = TableSpec(
    criteria=(
        _c(_G1, "1.1", "Hoàn thành chỉ tiêu, nhiệm vụ chuyên môn được giao", 30),
        _c(_G1, "1.2", "Đổi mới, sáng tạo, ứng dụng chuyển đổi số", 10),
        _c(_G2, "2.1", "Phát động, triển khai phong trào thi đua", 10),
        _c(_G2, "2.2", "Phát hiện, bồi dưỡng, nhân rộng điển hình tiên tiến", 10),
        _c("III. Công tác khen thưởng", "3.1", "Khen thưởng đúng, kịp thời; hồ sơ đúng quy định", 10),
        _c(_G4, "4.1", "Xây dựng tổ chức Đảng, đoàn thể vững mạnh", 10),
        _c(_G4, "4.2", "Thực hành tiết kiệm, phòng chống tham nhũng, lãng phí", 10),
        _c("V. Tham gia hoạt động của Cụm", "5.1",
           "Tham gia đầy đủ hội nghị, hoạt động chung; báo cáo đúng hạn", 10),
        _c("Điểm thưởng", "B.1", "Sáng kiến, mô hình mới có tính lan tỏa (tối đa)", 5, BONUS),
        _c("Điểm trừ", "D.1", "Báo cáo chậm, không đầy đủ (mỗi lần)", 2, DEDUCTION),
    ),
    normal_total=Decimal(100),
    bonus_cap=Decimal(5),
)  # fmt: skip


# ------------------------------------------------------------------------------ reading


def parse_file(data: bytes, filename: str | None, default_total: Decimal = DEFAULT_NORMAL_TOTAL) -> TableSpec:
    """Read an uploaded table, by what the bytes are rather than what the name claims."""
    name = (filename or "").lower()
    if data.startswith(_ZIP_MAGIC):
        return parse_xlsx(data, default_total)
    if data.startswith(_OLE2_MAGIC):
        raise TableError([(None, _old_xls())])
    if name.endswith((".xlsx", ".xlsm")):
        return parse_xlsx(data, default_total)  # says it is not a real Excel file
    if name.endswith((".csv", ".txt")):
        return parse_csv(data, default_total)
    raise TableError([(None, _("Send the table as an Excel file (.xlsx) or a CSV file (.csv)."))])


def _old_xls() -> str:
    return _(
        "This is an old Excel 97-2003 (.xls) file. Open it in Excel and save it as "
        "\"Excel Workbook (.xlsx)\", then send it again."
    )


def parse_csv(data: bytes, default_total: Decimal = DEFAULT_NORMAL_TOTAL) -> TableSpec:
    """A CSV file: UTF-8 (with or without BOM), UTF-16, or Windows-1258 as Excel saves it on a
    Vietnamese Windows; separated by `,`, `;` or tabs (guessed from the header row)."""
    if not data.strip():
        raise TableError([(None, _("The file is empty."))])
    text = _decode(data)
    lines = text.splitlines()[:HEADER_SEARCH_ROWS]
    delimiter = max((",", ";", "\t"), key=lambda d: _header_score(lines, d))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
        try:
            for n, row in enumerate(reader, 1):
                yield n, tuple(row[:MAX_COLUMNS])
        except csv.Error as exc:
            raise TableError([(reader.line_num or None, _("This line cannot be read: {error}").format(error=exc))]) from None

    spec, problems, _header = _read_rows(rows(), default_total)
    if problems:
        raise TableError(problems)
    assert spec is not None
    return spec


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data[:8192]:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:  # Excel's "CSV" on a Vietnamese Windows: combining tone marks, made NFC later
                return data.decode("cp1258")
            except UnicodeDecodeError:
                pass
    raise TableError([(None, _("This is not a text CSV file. Send an .xlsx or .csv table."))])


def _header_score(lines: list[str], delimiter: str) -> int:
    best = 0
    for row in csv.reader(lines, delimiter=delimiter):
        best = max(best, len(_header_columns(row)[0]))
    return best


def parse_xlsx(data: bytes, default_total: Decimal = DEFAULT_NORMAL_TOTAL) -> TableSpec:
    """An Excel workbook: the first sheet (the active one first) that has the header row.

    Read in openpyxl's streaming mode, so a huge sheet is refused after `MAX_CRITERIA` rows
    without being loaded whole. Formulas count by their last computed value."""
    from openpyxl import load_workbook

    not_excel = _(
        "This file is not a real Excel (.xlsx) workbook, even if its name ends in .xlsx. "
        "Open the table in Excel and save it as \"Excel Workbook (.xlsx)\", or send it as .csv."
    )
    if data.startswith(_OLE2_MAGIC):
        raise TableError([(None, _old_xls())])
    if not data.startswith(_ZIP_MAGIC):
        raise TableError([(None, not_excel)])
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED:
            raise TableError([(None, _("This workbook is too large. Keep only the scoring table in it."))])
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except TableError:
        raise
    except Exception:  # a zip that is not a workbook (or is damaged): many kinds of error
        raise TableError([(None, not_excel)]) from None
    try:
        sheets = list(workbook.worksheets)
        first_problems: list[Problem] = []
        active = workbook.active
        if active in sheets:
            sheets.remove(active)
            sheets.insert(0, active)
        for sheet in sheets:
            try:
                sheet.reset_dimensions()  # a wrong <dimension> must not cut rows off
                rows = (
                    (n, row)
                    for n, row in enumerate(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS), 1)
                )
                spec, problems, header = _read_rows(rows, default_total)
            except TableError:
                raise
            except Exception:
                raise TableError([(None, not_excel)]) from None
            if header is None:
                first_problems = first_problems or problems
                continue
            problems += _merge_problems(archive, getattr(sheet, "_worksheet_path", None), header)
            if problems:
                raise TableError(problems)
            assert spec is not None
            return spec
        raise TableError(first_problems or [(None, _no_header())])
    finally:
        workbook.close()
        archive.close()


def _merge_problems(archive: zipfile.ZipFile, path: str | None, header_row: int) -> list[Problem]:
    """Merged cells at or below the header: the sheet's XML lists them as `<mergeCell ref=…>`
    (openpyxl's streaming mode does not expose them)."""
    from openpyxl.utils.cell import range_boundaries

    if not path:
        return []
    try:
        xml = archive.read(path.lstrip("/"))
    except KeyError:
        return []
    problems = []
    for match in _MERGE_RE.finditer(xml):
        ref = match.group(1).decode("ascii").upper()
        try:
            _min_col, min_row, _max_col, max_row = range_boundaries(ref)
        except ValueError:
            continue
        if max_row is None or max_row < header_row:
            continue  # a merged title above the table is fine
        problems.append(Problem(
            max(min_row or header_row, header_row),
            _("cells {cells} are merged. Unmerge them (Home → Merge & Center); a group "
              "written once applies to the rows below it that leave the group blank.").format(cells=ref),
        ))  # fmt: skip
    return problems


def _no_header() -> str:
    return _(
        "no header row found. The first row of the table must name its columns: {columns} "
        "(in Vietnamese or English)."
    ).format(columns=", ".join(HEADERS_VI[c] for c in COLUMNS))


def _header_key(value: Any) -> str | None:
    if value is None:
        return None
    text = re.sub(r"\(.*?\)", " ", str(value))
    text = re.sub(r"[^0-9a-z ]", " ", fold_name(text))
    return _HEADER_KEYS.get(" ".join(text.split()))


def _header_columns(row: Iterable[Any]) -> tuple[dict[str, int], list[str]]:
    """Which column index each known header is in, and the keys found twice."""
    found: dict[str, int] = {}
    twice: list[str] = []
    for index, value in enumerate(row):
        key = _header_key(value)
        if key is None:
            continue
        if key in found:
            twice.append(key)
        else:
            found[key] = index
    return found, twice


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


def _column_name(key: str) -> str:
    return f"“{HEADERS_VI[key]}”"


def _quote(text: str, limit: int = 40) -> str:
    return f"“{text if len(text) <= limit else text[: limit - 1] + '…'}”"


class _Builder:
    """Collects the criteria and the problems of the rows after the header."""

    def __init__(self, default_total: Decimal) -> None:
        self.criteria: list[tuple[int, CriterionSpec]] = []
        self.problems: list[Problem] = []
        self.codes: dict[str, int] = {}
        self.group = ""
        self.total: tuple[int, Decimal] | None = None
        self.bonus_cap: tuple[int, Decimal] | None = None
        self.default_total = default_total
        self.incomplete = False

    def problem(self, row: int, message: str) -> None:
        self.problems.append(Problem(row, message))

    def add(self, row: int, cells: dict[str, Any]) -> None:
        raw_kind = _cell_text(cells[KIND])
        kind = _kind(raw_kind)
        ok = True
        if kind is _AMBIGUOUS:
            ok = False
            self.problem(row, _("the kind {value} could be “thường” (normal) or “thưởng” (bonus): "
                                "write it with its diacritics.").format(value=_quote(raw_kind)))
        elif kind is None:
            ok = False
            self.problem(row, _("the kind {value} is not one of: {kinds}.").format(
                value=_quote(raw_kind),
                kinds=", ".join(KIND_VI[k] for k in (NORMAL, BONUS, DEDUCTION, _TOTAL, _BONUS_CAP)),
            ))  # fmt: skip
        points = _points(cells[MAX], allow_negative=kind == DEDUCTION)
        if kind in (_TOTAL, _BONUS_CAP):
            self._summary(row, kind, points)
            return
        group = _cell_text(cells[GROUP]) or self.group
        code = _cell_text(cells[CODE])
        text = _cell_text(cells[CRITERION])
        if not group:
            ok = False
            self.problem(row, _("the group is empty (column {column}).").format(column=_column_name(GROUP)))
        elif len(group) > MAX_GROUP:
            ok = False
            self.problem(row, _("the group is longer than {max} characters.").format(max=MAX_GROUP))
        self.group = group
        if not code:
            ok = False
            self.problem(row, _("the code is empty (column {column}).").format(column=_column_name(CODE)))
        elif len(code) > MAX_CODE:
            ok = False
            self.problem(row, _("the code {code} is longer than {max} characters.").format(code=_quote(code), max=MAX_CODE))
        elif (first := self.codes.get(code.casefold())) is not None:
            ok = False
            self.problem(row, _("the code {code} is already used on row {row}.").format(code=_quote(code), row=first))
        else:
            self.codes[code.casefold()] = row
        if not text:
            ok = False
            self.problem(row, _("the criterion is empty (column {column}).").format(column=_column_name(CRITERION)))
        elif len(text) > MAX_TEXT:
            ok = False
            self.problem(row, _("the criterion is longer than {max} characters.").format(max=MAX_TEXT))
        if isinstance(points, str):
            ok = False
            self.problem(row, points)
        if ok:
            self.criteria.append((row, CriterionSpec(group, code, text, points, kind)))
        elif kind not in (BONUS, DEDUCTION):
            self.incomplete = True  # the sum of the normal criteria would be misleading

    def _summary(self, row: int, kind: str, points: Decimal | str) -> None:
        if isinstance(points, str):
            self.problem(row, points)
            if kind == _TOTAL:
                self.incomplete = True
            return
        seen = self.total if kind == _TOTAL else self.bonus_cap
        if seen is not None:
            self.problem(row, _("a second line of kind {kind}; the first is on row {row}.").format(
                kind=_quote(KIND_VI[kind]), row=seen[0]))  # fmt: skip
            return
        if kind == _TOTAL:
            self.total = (row, points)
        else:
            self.bonus_cap = (row, points)

    def finish(self) -> TableSpec | None:
        normal = [c for _row, c in self.criteria if c.kind == NORMAL]
        bonus = [c for _row, c in self.criteria if c.kind == BONUS]
        total_row, declared = self.total or (None, self.default_total)
        if not normal and not self.incomplete:
            self.problems.append(Problem(None, _("The table has no normal criteria.")))
        elif not self.incomplete:
            added = sum((c.max_points for c in normal), Decimal(0))
            if added != declared:
                message = _(
                    "The normal criteria add up to {sum} points, but the declared total is "
                    "{total}."
                ).format(sum=number(added), total=number(declared))
                if self.total is None:
                    message += " " + _(
                        "If your cluster's table has another total, add a line of kind "
                        "“tổng” with the total in column {column}."
                    ).format(column=_column_name(MAX))
                self.problems.append(Problem(total_row, message))
        if self.bonus_cap is not None and not bonus:
            self.problem(self.bonus_cap[0], _("a bonus cap is given but there are no bonus criteria."))
        if self.problems:
            return None
        cap = self.bonus_cap[1] if self.bonus_cap else sum((c.max_points for c in bonus), Decimal(0))
        return TableSpec(tuple(c for _row, c in self.criteria), declared, cap)


def _read_rows(
    rows: Iterator[tuple[int, tuple[Any, ...]]], default_total: Decimal
) -> tuple[TableSpec | None, list[Problem], int | None]:
    """(the table or None, the problems, the header's row number or None when not found)."""
    header: int | None = None
    columns: dict[str, int] = {}
    builder = _Builder(default_total)
    data_rows = 0
    first_filled: int | None = None
    for n, row in rows:
        if n > MAX_SCANNED_ROWS:
            raise TableError([(None, _too_long())])
        if header is None:
            found, twice = _header_columns(row)
            if first_filled is None and any(_cell_text(v) for v in row):
                first_filled = n
            if len(found) < 3:
                if n >= HEADER_SEARCH_ROWS:
                    break
                continue
            header, columns = n, found
            missing = [k for k in COLUMNS if k not in found]
            problems = []
            if missing:
                problems.append(Problem(n, _("the header has no column {columns}.").format(
                    columns=", ".join(_column_name(k) for k in missing))))  # fmt: skip
            if twice:
                problems.append(Problem(n, _("the header has the column {columns} twice.").format(
                    columns=", ".join(_column_name(k) for k in dict.fromkeys(twice)))))  # fmt: skip
            if problems:
                return None, problems, header
            continue
        cells = {k: row[i] if i < len(row) else None for k, i in columns.items()}
        if all(_cell_text(v) == "" for v in cells.values()):
            continue
        data_rows += 1
        if data_rows > MAX_CRITERIA:
            raise TableError([(None, _too_long())])
        builder.add(n, cells)
    if header is None:
        return None, [Problem(first_filled, _no_header())], None
    spec = builder.finish()
    return spec, builder.problems, header


def _too_long() -> str:
    return _("The table is too long: at most {max} criteria. Nothing was read.").format(max=MAX_CRITERIA)


def _kind(value: str) -> str | object | None:
    if not value:
        return NORMAL
    exact = _KIND_EXACT.get(value.casefold())
    if exact is not None:
        return exact
    folded = fold_name(value)
    if folded in _KIND_FOLDED:
        return _KIND_FOLDED[folded] or _AMBIGUOUS
    return None


def _points(value: Any, allow_negative: bool) -> Decimal | str:
    """The points of a cell, or the problem with them (a translated message)."""
    shown = _quote(_cell_text(value))
    if value is None or (isinstance(value, str) and not value.strip()):
        return _("the maximum points are missing (column {column}).").format(column=_column_name(MAX))
    if isinstance(value, bool | datetime | date | time | timedelta):
        return _("the maximum points {value} are not a number.").format(value=shown)
    if isinstance(value, int | Decimal):
        amount = Decimal(value)
    elif isinstance(value, float):
        try:
            amount = Decimal(repr(value))
        except InvalidOperation:
            return _("the maximum points {value} are not a number.").format(value=shown)
    else:
        text = "".join(str(value).split()).replace("−", "-").replace("–", "-")
        if not _NUMBER_RE.match(text):
            return _("the maximum points {value} are not a number.").format(value=shown)
        amount = Decimal(text.replace(",", "."))
    if not amount.is_finite():
        return _("the maximum points {value} are not a number.").format(value=shown)
    if amount < 0 and allow_negative:
        amount = -amount
    if amount <= 0:
        return _("the maximum points must be a positive number, not {value}.").format(value=shown)
    if amount.quantize(_TWO_PLACES) != amount:
        return _("the maximum points {value} have more than two decimals.").format(value=shown)
    if amount > MAX_POINTS:
        return _("the maximum points {value} are more than {max}.").format(value=shown, max=number(MAX_POINTS))
    return amount


# ------------------------------------------------------------------------------ writing


def _plain(value: Decimal) -> str:
    """`30`, `8.5`: no exponent, no trailing zeros (CSV uses the decimal point)."""
    text = format(value.quantize(_TWO_PLACES), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _rows(spec: TableSpec) -> list[tuple[str, str, str, Decimal, str]]:
    rows = [(c.group, c.code, c.text, c.max_points, KIND_VI[c.kind]) for c in spec.criteria]
    rows.append(("", "", _TOTAL_TEXT_VI, spec.normal_total, KIND_VI[_TOTAL]))
    if spec.of_kind(BONUS):
        rows.append(("", "", _BONUS_CAP_TEXT_VI, spec.bonus_cap, KIND_VI[_BONUS_CAP]))
    return rows


def to_csv(spec: TableSpec) -> bytes:
    """UTF-8 with a BOM (so Excel shows the Vietnamese letters), comma-separated."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([HEADERS_VI[c] for c in COLUMNS])
    for group, code, text, points, kind in _rows(spec):
        writer.writerow([group, code, text, _plain(points), kind])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(spec: TableSpec) -> bytes:
    """One sheet, Vietnamese headers, points as numbers, codes as text; it prints like every
    .xlsx of the bot (`bot.papers.sheet_print`: A4 landscape, one page wide, the header on
    every page) and reads back unchanged."""
    from bot.papers import sheet_print as paper

    workbook = paper.new_workbook()
    sheet = workbook.active
    sheet.title = "Bảng chấm điểm"
    paper.set_widths(sheet, (34, 8, 70, 12, 18))
    paper.header(sheet, 1, [HEADERS_VI[c] for c in COLUMNS])
    rows = []
    for group, code, text, points, kind in _rows(spec):
        value = int(points) if points == points.to_integral_value() else float(points)
        rows.append([group, code, text, value, kind])
    wrapped = paper.Column(align=paper.LEFT, wrap=True)
    paper.table(sheet, 2, rows, [wrapped, paper.Column(), wrapped, paper.Column(), paper.Column()])
    for row in sheet.iter_rows(min_row=2):
        row[1].number_format = "@"
    sheet.freeze_panes = "A2"
    paper.print_layout(sheet, title_rows=(1, 1), title_columns=None)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
