"""The signed pledge as a Word file (`.docx`), laid out like a Vietnamese administrative
document (Nghị định 30/2020/NĐ-CP): the issuing body at the top left, the national heading at
the top right over the place and date in italics, the title in bold capitals, Times New Roman
13–14 pt, then the common content, each unit's commitments and a table of the units' signatures.

The document is the official text, so it is written in Vietnamese whatever the chat's
language. Pure: plain data in, bytes out (python-docx); the service collects the data.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from bot.pledges import Item, number_text

FONT = "Times New Roman"
BODY_PT = 13
TITLE_PT = 14
NATIONAL_HEADING = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# The place when the cluster has not set one: the paper convention for "to be filled in by
# hand" (a form's "…………, ngày … tháng … năm …"), never a guessed city.
UNKNOWN_PLACE = "……………"


@dataclass(frozen=True)
class Amendment:
    number: int
    at: dt.datetime
    reason: str


@dataclass(frozen=True)
class UnitPledge:
    name: str
    items: Sequence[Item]
    signed_by: str | None = None  # the representative who confirmed
    signed_at: dt.datetime | None = None
    amendments: Sequence[Amendment] = ()


@dataclass(frozen=True)
class PledgeDocument:
    cluster_name: str
    year: int
    place: str | None  # the cluster's setting; None leaves the dotted line to fill in by hand
    date: dt.date  # the day the signing was concluded
    common_content: str
    tz: ZoneInfo
    units: Sequence[UnitPledge] = field(default_factory=tuple)


def place_and_date(place: str | None, date: dt.date) -> str:
    """`Hà Nội, ngày 27 tháng 02 năm 2024`: NĐ 30/2020 pads a day below 10 and the months
    January and February (so that nobody can add a digit in front of them). Without a place,
    `……………, ngày 27 tháng 02 năm 2024`."""
    place = (place or "").strip() or UNKNOWN_PLACE
    day = f"{date.day:02d}" if date.day < 10 else str(date.day)
    month = f"{date.month:02d}" if date.month < 3 else str(date.month)
    return f"{place}, ngày {day} tháng {month} năm {date.year}"


def file_name(year: int) -> str:
    return f"giao-uoc-thi-dua-{year}.docx"


def target_words(item: Item) -> str:
    if item.target is None:
        return ""
    number = number_text(item.target.value, "vi")
    unit = item.target.unit
    return f" (Chỉ tiêu: {number}{'' if unit == '%' or not unit else ' '}{unit})"


def render(doc_data: PledgeDocument) -> bytes:
    """The .docx bytes."""
    document = Document()
    _page_setup(document)
    _heading(document, doc_data)
    _paragraph(document, f"GIAO ƯỚC THI ĐUA NĂM {doc_data.year}", bold=True, size=TITLE_PT,
               align=WD_ALIGN_PARAGRAPH.CENTER, before=18, after=0)  # fmt: skip
    _paragraph(document, f"của các đơn vị thành viên {doc_data.cluster_name}", bold=True,
               align=WD_ALIGN_PARAGRAPH.CENTER, after=12)  # fmt: skip

    _paragraph(document, "I. NỘI DUNG GIAO ƯỚC CHUNG", bold=True, before=6)
    for line in doc_data.common_content.splitlines() or [""]:
        if line.strip():
            _paragraph(document, line.strip(), align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True)

    _paragraph(document, "II. CAM KẾT CỦA CÁC ĐƠN VỊ THÀNH VIÊN", bold=True, before=6)
    for number, unit in enumerate(doc_data.units, 1):
        _paragraph(document, f"{number}. {unit.name}", bold=True, before=6)
        if not unit.items:
            _paragraph(document, "(Đơn vị chưa đăng ký nội dung thi đua.)", italic=True, indent=True)
        for sub, item in enumerate(unit.items, 1):
            _paragraph(document, f"{number}.{sub}. {item.text}{target_words(item)}",
                       align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True)  # fmt: skip
        for amendment in unit.amendments:
            when = amendment.at.astimezone(doc_data.tz).strftime("%d/%m/%Y")
            _paragraph(document, f"(Sửa đổi, bổ sung lần {amendment.number} ngày {when}: "
                                 f"{amendment.reason})", italic=True, indent=True)  # fmt: skip

    _paragraph(document, "III. TỔ CHỨC THỰC HIỆN", bold=True, before=6)
    _paragraph(
        document,
        "Các đơn vị thành viên cam kết thực hiện đầy đủ các nội dung đã đăng ký; Cụm trưởng "
        "theo dõi, đôn đốc, tổng hợp kết quả và làm căn cứ bình xét thi đua cuối năm.",
        align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True,
    )  # fmt: skip
    _paragraph(document, "XÁC NHẬN KÝ KẾT CỦA CÁC ĐƠN VỊ", bold=True,
               align=WD_ALIGN_PARAGRAPH.CENTER, before=12)  # fmt: skip
    _signature_table(document, doc_data)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _page_setup(document) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)  # A4
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    style = document.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(BODY_PT)
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for key in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(key), FONT)
    style.paragraph_format.space_after = Pt(3)
    style.paragraph_format.line_spacing = 1.15


def _heading(document, doc_data: PledgeDocument) -> None:
    """Two columns without borders: the cluster | the national heading, then the date."""
    table = document.add_table(rows=2, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = table.rows[0].cells
    _cell_text(left, doc_data.cluster_name.upper(), bold=True, size=12)
    _cell_text(left, "———", size=12)
    _cell_text(right, NATIONAL_HEADING, bold=True, size=12)
    _cell_text(right, MOTTO, bold=True, size=13, underline=True)
    _cell_text(table.rows[1].cells[0], "")
    _cell_text(table.rows[1].cells[1], place_and_date(doc_data.place, doc_data.date),
               italic=True, size=BODY_PT)  # fmt: skip
    for row in table.rows:
        row.cells[0].width, row.cells[1].width = Cm(7), Cm(9.5)


def _cell_text(cell, text: str, *, bold: bool = False, italic: bool = False,
               underline: bool = False, size: int = BODY_PT) -> None:  # fmt: skip
    paragraph = cell.paragraphs[0] if not cell.paragraphs[0].text and not cell.paragraphs[0].runs else cell.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = Pt(0)
    run = paragraph.add_run(text)
    run.bold, run.italic, run.underline = bold, italic, underline
    run.font.size = Pt(size)
    run.font.name = FONT


def _paragraph(document, text: str, *, bold: bool = False, italic: bool = False,
               size: int = BODY_PT, align=None, indent: bool = False,
               before: int = 0, after: int = 3):  # fmt: skip
    paragraph = document.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if indent:
        fmt.first_line_indent = Cm(1)
    run = paragraph.add_run(text)
    run.bold, run.italic = bold, italic
    run.font.size = Pt(size)
    run.font.name = FONT
    return paragraph


def _signature_table(document, doc_data: PledgeDocument) -> None:
    table = document.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, title in zip(table.rows[0].cells, ("STT", "Đơn vị", "Đại diện xác nhận", "Thời điểm ký"),
                           strict=True):  # fmt: skip
        _cell_text(cell, title, bold=True)
    for number, unit in enumerate(doc_data.units, 1):
        cells = table.add_row().cells
        _cell_text(cells[0], str(number))
        _cell_text(cells[1], unit.name)
        _cell_text(cells[2], unit.signed_by or "")
        if unit.signed_at is not None:
            _cell_text(cells[3], unit.signed_at.astimezone(doc_data.tz).strftime("%H:%M %d/%m/%Y"))
        else:
            _cell_text(cells[3], "Chưa ký", italic=True)
    widths = (Cm(1.2), Cm(7.3), Cm(4.5), Cm(3.5))
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width


def document_text(data: bytes) -> str:
    """Every paragraph and table cell of a .docx, one per line (for tests and checks)."""
    document = Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.extend(cell.text for cell in row.cells)
    return "\n".join(lines)

