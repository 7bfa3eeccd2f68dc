"""The signed pledge as a Word file (`.docx`), laid out like a Vietnamese administrative
document (Nghị định 30/2020/NĐ-CP) by the one builder every paper uses
(`bot/papers/docx_builder.py`): the issuing body (the cluster) at the top left with its number
line, the national heading at the top right over the place and date in italics, the title, the
common content and each unit's commitments, a signature block for every unit (the chair unit's
and the vice-chair unit's first), *Nơi nhận*, and an annex of the confirmations given on
Telegram (who confirmed for each unit, and when).

The document is the official text, so it is written in Vietnamese whatever the chat's
language. Pure: plain data in, bytes out; the service collects the data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.papers.docx_builder import (
    BODY_PT,
    FONT,
    MIME,
    MOTTO,
    NATIONAL_HEADING,
    TITLE_PT,
    UNKNOWN_PLACE,
    Column,
    Heading,
    Paper,
    Run,
    Signature,
    cm,
    document_text,
    place_and_date,
)
from bot.pledges import Item, number_text

__all__ = [
    "BODY_PT", "FONT", "MIME", "MOTTO", "NATIONAL_HEADING", "TITLE_PT", "UNKNOWN_PLACE", "Amendment",
    "PledgeDocument", "UnitPledge", "document_text", "file_name", "place_and_date", "render", "target_words",
]  # fmt: skip

CHAIR_TITLE = "CỤM TRƯỞNG"
VICE_CHAIR_TITLE = "CỤM PHÓ"
MEMBER_TITLE = "THỦ TRƯỞNG ĐƠN VỊ"


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
    # The names (as in `units`) of the year's chair and vice-chair units: their signature
    # blocks come first, titled Cụm trưởng and Cụm phó. None: every unit in its order.
    chair_unit: str | None = None
    vice_chair_unit: str | None = None
    upper_body: str | None = None  # the body above the cluster in the heading, if any
    number: str | None = None  # the number line; None leaves it dotted for the clerk
    symbol: str | None = None
    authority: str | None = None  # the emulation authority, told "để báo cáo" in Nơi nhận
    filed_by: str | None = None  # who files it: "- Lưu: VT, <this>."


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
    paper = Paper(Heading(body=doc_data.cluster_name, date=doc_data.date, upper_body=doc_data.upper_body,
                          place=doc_data.place, number=doc_data.number, symbol=doc_data.symbol),
                  title=f"Giao ước thi đua năm {doc_data.year}")  # fmt: skip
    paper.title(f"Giao ước thi đua năm {doc_data.year}", f"của các đơn vị thành viên {doc_data.cluster_name}")

    paper.section("I. NỘI DUNG GIAO ƯỚC CHUNG")
    for line in doc_data.common_content.splitlines():
        if line.strip():
            paper.paragraph(line.strip())

    paper.section("II. CAM KẾT CỦA CÁC ĐƠN VỊ THÀNH VIÊN")
    for number, unit in enumerate(doc_data.units, 1):
        paper.paragraph(f"{number}. {unit.name}", bold=True, indent=False, keep_next=True)
        if not unit.items:
            paper.paragraph("(Đơn vị chưa đăng ký nội dung thi đua.)", italic=True)
        for sub, item in enumerate(unit.items, 1):
            paper.paragraph(f"{number}.{sub}. {item.text}{target_words(item)}")
        for amendment in unit.amendments:
            when = amendment.at.astimezone(doc_data.tz).strftime("%d/%m/%Y")
            paper.paragraph(f"(Sửa đổi, bổ sung lần {amendment.number} ngày {when}: {amendment.reason})",
                            italic=True)  # fmt: skip

    paper.section("III. TỔ CHỨC THỰC HIỆN")
    paper.paragraph(
        "Các đơn vị thành viên cam kết thực hiện đầy đủ các nội dung đã đăng ký; Cụm trưởng "
        "theo dõi, đôn đốc, tổng hợp kết quả và làm căn cứ bình xét thi đua cuối năm."
    )
    paper.centered("ĐẠI DIỆN CÁC ĐƠN VỊ THÀNH VIÊN KÝ GIAO ƯỚC", bold=True, before=12, keep_next=True)
    paper.signatures(signature_blocks(doc_data), recipients=recipients(doc_data), filed_by=doc_data.filed_by)

    paper.page_break()
    paper.title("Phụ lục", "Xác nhận ký kết trên Telegram", before=0)
    paper.centered(f"(Kèm theo Giao ước thi đua năm {doc_data.year} của các đơn vị thành viên "
                   f"{doc_data.cluster_name})", italic=True)  # fmt: skip
    paper.table(
        [Column("STT", cm(1.3), "center"), Column("Đơn vị", cm(6.9)), Column("Đại diện xác nhận", cm(4.3)),
         Column("Thời điểm ký", cm(4.0), "center")],
        [(str(number), unit.name, unit.signed_by or "",
          unit.signed_at.astimezone(doc_data.tz).strftime("%H:%M %d/%m/%Y") if unit.signed_at is not None
          else Run("Chưa ký", italic=True))
         for number, unit in enumerate(doc_data.units, 1)],
    )  # fmt: skip
    return paper.to_bytes()


def signing_order(doc_data: PledgeDocument) -> list[UnitPledge]:
    """The units as they sign: the chair unit, the vice-chair unit, then the others in order."""
    first = [name for name in (doc_data.chair_unit, doc_data.vice_chair_unit) if name]
    leading = [next(u for u in doc_data.units if u.name == name) for name in first
               if any(u.name == name for u in doc_data.units)]  # fmt: skip
    return leading + [u for u in doc_data.units if all(u is not lead for lead in leading)]


def signature_blocks(doc_data: PledgeDocument) -> list[Signature]:
    """One block per unit: *TM. [UNIT]* / Cụm trưởng, Cụm phó or the head of the unit /
    *(Ký, đóng dấu)* / the representative who confirmed on Telegram (blank if none did)."""
    def title(unit: UnitPledge) -> str:
        if doc_data.chair_unit and unit.name == doc_data.chair_unit:
            return CHAIR_TITLE
        if doc_data.vice_chair_unit and unit.name == doc_data.vice_chair_unit:
            return VICE_CHAIR_TITLE
        return MEMBER_TITLE

    return [Signature(title(u), u.signed_by or "", on_behalf_of=u.name) for u in signing_order(doc_data)]


def recipients(doc_data: PledgeDocument) -> list[str]:
    out = [f"Các đơn vị thành viên {doc_data.cluster_name}"]
    if doc_data.authority and doc_data.authority.strip():
        out.append(f"{doc_data.authority.strip()} (để báo cáo)")
    return out
