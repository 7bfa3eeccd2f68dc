"""The cluster's proposal to the emulation authority: *Tờ trình đề nghị khen thưởng* (issue 11,
item 5; `../shared/domain.md`, "Documents").

Addressed (*Kính gửi*) to the authority — a cluster setting, e.g. "Hội đồng Thi đua - Khen
thưởng tỉnh X"; dotted when unset, for a hand to write it — on the basis (*căn cứ*) of the law,
the cluster's regulation and the evaluation meeting's minutes, it lists per award the proposed
units with their final score and the vote (votes of the basis, share), and is signed
*TM. [CỤM THI ĐUA] / CỤM TRƯỞNG*.

Pure: `Proposal` (plain frozen data) in, .docx bytes out, through `bot/papers/docx_builder.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from bot import fmt
from bot.papers.docx_builder import DOTS, Column, Heading, Paper, Signature, cm, date_words

SYMBOL = "TTr"  # Tờ trình (NĐ 30, Phụ lục III)

# The law the proposal rests on (Luật Thi đua, khen thưởng 2022, in force from 01/01/2024, and
# its decree). A cluster whose authority cites other texts passes its own `legal_basis`.
LEGAL_BASIS = (
    "Căn cứ Luật Thi đua, khen thưởng ngày 15 tháng 6 năm 2022",
    "Căn cứ Nghị định số 98/2023/NĐ-CP ngày 31 tháng 12 năm 2023 của Chính phủ quy định chi tiết thi hành "
    "một số điều của Luật Thi đua, khen thưởng",
)


@dataclass(frozen=True)
class ProposedUnit:
    unit: str
    score: Decimal | None  # the final score
    votes: int
    basis: int  # the number the share is of (papers cast, units present or all active units)
    share: Fraction


@dataclass(frozen=True)
class AwardProposal:
    award: str  # "Cờ thi đua của Ủy ban nhân dân tỉnh", "Bằng khen"
    units: Sequence[ProposedUnit]  # in the order of the result


@dataclass(frozen=True)
class Proposal:
    cluster: str  # "Cụm thi đua số 3"
    year: int
    date: dt.date  # the date of the paper
    awards: Sequence[AwardProposal]
    chair_name: str = ""  # signs for the cluster as Cụm trưởng; blank: written by hand
    chair_capacity: str = "Cụm trưởng"
    authority: str | None = None  # "Hội đồng Thi đua - Khen thưởng tỉnh X"; None: dotted
    place: str | None = None
    meeting_date: dt.date | None = None  # of the evaluation meeting (the minutes)
    minutes_number: str | None = None  # "12/BB-CTĐ", when the minutes were registered
    legal_basis: Sequence[str] = LEGAL_BASIS
    regulation: str | None = None  # the cluster's regulation, e.g. "Quy chế hoạt động của Cụm …"
    upper_body: str | None = None
    number: str | None = None
    symbol: str | None = None  # None: "TTr-……"
    filed_by: str | None = None


def file_name(year: int) -> str:
    return f"to-trinh-de-nghi-khen-thuong-{year}.docx"


def render(proposal: Proposal) -> bytes:
    authority = (proposal.authority or "").strip() or DOTS * 4
    awards = [a for a in proposal.awards if a.units]
    subject = (f"Về việc đề nghị tặng {', '.join(a.award for a in awards)} năm {proposal.year}" if awards
               else f"Về việc đề nghị khen thưởng năm {proposal.year}")  # fmt: skip
    paper = Paper(Heading(body=proposal.cluster, date=proposal.date, upper_body=proposal.upper_body,
                          place=proposal.place, number=proposal.number,
                          symbol=proposal.symbol or f"{SYMBOL}-{DOTS}"),
                  title=f"Tờ trình đề nghị khen thưởng năm {proposal.year}")  # fmt: skip
    paper.title("Tờ trình", subject)
    paper.centered(f"Kính gửi: {authority}.", before=6, after=12)

    basis = [line.strip().rstrip(";.") for line in proposal.legal_basis if line.strip()]
    regulation = (proposal.regulation or "").strip() or f"Quy chế hoạt động của {proposal.cluster}"
    basis.append(f"Căn cứ {regulation}")
    meeting = f" {date_words(proposal.meeting_date)}" if proposal.meeting_date else ""
    minutes = f" số {proposal.minutes_number.strip()}" if (proposal.minutes_number or "").strip() else ""
    basis.append(f"Căn cứ kết quả chấm điểm thi đua và Biên bản kiểm phiếu và họp bình xét thi đua năm "
                 f"{proposal.year}{minutes}{meeting} của {proposal.cluster}")  # fmt: skip
    for index, line in enumerate(basis):
        paper.paragraph(line + ("," if index == len(basis) - 1 else ";"))

    if not awards:
        paper.paragraph(f"Năm {proposal.year}, {proposal.cluster} không có đơn vị đủ điều kiện để đề nghị khen thưởng.")
    else:
        paper.paragraph(f"{proposal.cluster} kính trình {authority} xem xét, đề nghị khen thưởng năm {proposal.year} "
                        f"cho các đơn vị sau:", keep_next=True)  # fmt: skip
    for number, award in enumerate(awards, 1):
        paper.paragraph(f"{number}. Đề nghị tặng {award.award}: {len(award.units)} đơn vị", bold=True,
                        indent=False, keep_next=True)  # fmt: skip
        paper.table(
            [Column("STT", cm(1.3), "center"), Column("Đơn vị", cm(7.7)), Column("Tổng điểm", cm(2.5), "center"),
             Column("Số phiếu đồng ý", cm(2.6), "center"), Column("Tỷ lệ", cm(2.4), "center")],
            [(str(i), u.unit, fmt.fixed(u.score, "vi") if u.score is not None else "-",
              f"{u.votes}/{u.basis}", fmt.percent(u.share, "vi")) for i, u in enumerate(award.units, 1)],
        )  # fmt: skip
    paper.paragraph("(Gửi kèm Biên bản kiểm phiếu và họp bình xét thi đua, bảng tổng hợp điểm thi đua của Cụm và "
                    "hồ sơ đề nghị khen thưởng của các đơn vị.)", italic=True)  # fmt: skip
    paper.paragraph(f"Kính trình {authority} xem xét, quyết định./.")
    paper.closing(["Như trên", f"Các đơn vị thành viên {proposal.cluster}"], proposal.filed_by,
                  Signature(proposal.chair_capacity, proposal.chair_name, on_behalf_of=proposal.cluster))  # fmt: skip
    return paper.to_bytes()
