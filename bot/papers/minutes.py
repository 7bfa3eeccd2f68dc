"""The minutes of the count and of the evaluation meeting, one paper: *Biên bản kiểm phiếu và
họp bình xét thi đua năm YYYY* (issue 11, item 5; `../shared/domain.md`, "Documents").

What a cluster files with its award proposal: when and where the meeting was held, who chaired
it and headed the count and who kept the minutes (names and units), the units present (those
that voted) and absent, the year's ranking by final score, and per ballot the papers issued,
received, valid, invalid and blank, the votes and share of every candidate against the
threshold, the quorum and threshold in words, the result; then the conclusion, naming the
cluster each proposed unit belongs to (the authority's rules require it), the ties left for a
runoff, and the SHA-256 of each ballot board and of the count's inputs, so that anyone can hold
the paper against the board published in the group.

Pure: `Minutes` (plain frozen data) in, .docx bytes out, through `bot/papers/docx_builder.py`.
`record_of` turns a `bot.tally` result into a `BallotRecord`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot import fmt
from bot.papers.docx_builder import (
    DOTS,
    SIGN_NOTE_PERSON,
    Column,
    Heading,
    Paper,
    Run,
    Signature,
    cm,
    date_words,
    time_of_day,
)
from bot.tally import BallotInput, BallotResult, Basis, Method, TallyRules

SYMBOL = "BB"  # the minutes' kind in the symbol (NĐ 30, Phụ lục III)


class Purpose(StrEnum):
    AWARD = "award"  # the ballot proposes units for an award
    ELECTION = "election"  # the ballot elects a unit to an office (Cụm trưởng, Cụm phó)


@dataclass(frozen=True)
class Member:
    """A person of the count committee."""

    name: str
    unit: str


@dataclass(frozen=True)
class CandidateLine:
    unit: str
    votes: int
    share: Fraction  # of the ballot's basis
    reaches: bool  # the threshold
    place: int  # by votes (score only: by score); tied candidates share it
    score: Decimal | None = None  # the final score, which breaks a tie in votes


@dataclass(frozen=True)
class BallotRecord:
    """One ballot as the minutes report it."""

    title: str  # "Phiếu đề nghị tặng Cờ thi đua", "Bầu đơn vị Cụm trưởng năm 2027"
    # What a chosen unit gets: the award ("Cờ thi đua": "Đề nghị tặng Cờ thi đua cho …") or,
    # for an election, the office ("Cụm trưởng năm 2027": "Bầu … làm đơn vị Cụm trưởng năm 2027").
    subject: str
    purpose: Purpose
    quota: int
    issued: int  # papers issued: the units present
    received: int  # papers cast
    valid: int
    invalid: int
    blank: int  # valid papers marking no one
    active: int  # active units of the cluster (the quorum is of them)
    basis: int  # the number the shares are of
    quorum_met: bool
    candidates: Sequence[CandidateLine]
    proposed: Sequence[str] = ()  # in order
    unresolved: Sequence[str] = ()  # tied for the last places of the quota: a runoff decides
    open_places: int = 0
    board_sha256: str | None = None
    inputs_sha256: str | None = None


@dataclass(frozen=True)
class RankedUnit:
    place: int  # 0: no final score
    unit: str
    score: Decimal | None


@dataclass(frozen=True)
class Minutes:
    cluster: str  # "Cụm thi đua số 3"
    year: int
    held_at: dt.datetime  # when the meeting opened
    tz: ZoneInfo
    chair: Member  # chairs the meeting and heads the count
    present: Sequence[str]  # the units that voted
    absent: Sequence[str] = ()
    ballots: Sequence[BallotRecord] = ()
    ranking: Sequence[RankedUnit] = ()
    rules: TallyRules = field(default_factory=TallyRules)
    secretary: Member | None = None  # None leaves the line dotted
    chair_capacity: str = "Cụm trưởng"  # "Cụm phó" when the vice-chair unit chaired
    venue: str | None = None  # where the meeting was held; None: dotted
    place: str | None = None  # before the date in the heading
    ended_at: dt.datetime | None = None  # None: dotted, written by hand
    upper_body: str | None = None
    number: str | None = None
    symbol: str | None = None  # None: "BB-……"
    authority: str | None = None  # the emulation authority, in Nơi nhận
    filed_by: str | None = None
    inputs_sha256: str | None = None  # of the whole count, if the result stores one


def file_name(year: int) -> str:
    return f"bien-ban-kiem-phieu-binh-xet-{year}.docx"


def record_of(
    title: str, subject: str, purpose: Purpose, ballot: BallotInput, result: BallotResult,
    names: Mapping[int, str], *, board_sha256: str | None = None, inputs_sha256: str | None = None,
) -> BallotRecord:  # fmt: skip
    """A `bot.tally` count as the minutes report it (`names`: unit id → name)."""
    return BallotRecord(
        title=title, subject=subject, purpose=purpose, quota=ballot.quota, issued=ballot.issued,
        received=result.cast, valid=result.valid, invalid=result.invalid, blank=result.blank,
        active=ballot.active, basis=result.basis, quorum_met=result.quorum_met,
        candidates=tuple(CandidateLine(names[r.unit_id], r.votes, r.share, r.reaches, r.place, r.score)
                         for r in result.ranking),
        proposed=tuple(names[u] for u in result.proposed),
        unresolved=tuple(names[u] for u in result.unresolved), open_places=result.open_places,
        board_sha256=board_sha256, inputs_sha256=inputs_sha256,
    )  # fmt: skip


# ------------------------------------------------------------------------------ words


_FRACTION_WORDS = {
    Fraction(1, 2): "một phần hai (1/2)", Fraction(2, 3): "hai phần ba (2/3)", Fraction(3, 4): "ba phần tư (3/4)",
    Fraction(1, 3): "một phần ba (1/3)", Fraction(3, 5): "ba phần năm (3/5)", Fraction(4, 5): "bốn phần năm (4/5)",
}  # fmt: skip

BASIS_WORDS = {
    Basis.CAST: "số phiếu thu về",
    Basis.PRESENT: "số đơn vị có mặt",
    Basis.ACTIVE: "tổng số đơn vị thành viên",
}


def percent_words(share: Fraction) -> str:
    """`50%`, `66,67%`: a rule's figure, without trailing zeros."""
    return f"{fmt.number(Decimal(share.numerator) * 100 / Decimal(share.denominator), 'vi')}%"


def fraction_words(share: Fraction) -> str:
    return _FRACTION_WORDS.get(share) or percent_words(share)


def quorum_words(rules: TallyRules) -> str:
    return f"số phiếu thu về đạt ít nhất {fraction_words(rules.quorum)} tổng số đơn vị thành viên"


def threshold_words(rules: TallyRules) -> str:
    """`trên 50% số phiếu thu về`, `từ 70% trở lên tổng số đơn vị thành viên`."""
    figure = percent_words(rules.threshold)
    basis = BASIS_WORDS[rules.basis]
    return f"trên {figure} {basis}" if rules.strict else f"từ {figure} trở lên {basis}"


def score_text(score: Decimal | None) -> str:
    return fmt.fixed(score, "vi") if score is not None else "Chưa có điểm"


def names_list(names: Sequence[str]) -> str:
    return "; ".join(n.strip() for n in names) + "." if names else "không có."


def belongs(unit: str, cluster: str) -> str:
    """`Sở Tư pháp tỉnh X, đơn vị thuộc Cụm thi đua số 3`: the authority asks the minutes to
    name each proposed unit's cluster."""
    return f"{unit}, đơn vị thuộc {cluster}"


def local(value: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return (value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)).astimezone(tz)


# ------------------------------------------------------------------------------ the paper


def render(minutes: Minutes) -> bytes:
    held = local(minutes.held_at, minutes.tz)
    symbol = minutes.symbol or f"{SYMBOL}-{DOTS}"
    paper = Paper(Heading(body=minutes.cluster, date=held.date(), upper_body=minutes.upper_body,
                          place=minutes.place, number=minutes.number, symbol=symbol),
                  title=f"Biên bản kiểm phiếu và họp bình xét thi đua năm {minutes.year}")  # fmt: skip
    paper.title("Biên bản", f"Kiểm phiếu và họp bình xét thi đua năm {minutes.year}")
    venue = (minutes.venue or "").strip() or DOTS * 3
    paper.paragraph(f"Hồi {time_of_day(held)}, {date_words(held.date())}, tại {venue}, {minutes.cluster} "
                    f"họp bình xét thi đua và kiểm phiếu năm {minutes.year}.")  # fmt: skip

    _members(paper, minutes)
    _ranking(paper, minutes)
    paper.section("III. KẾT QUẢ KIỂM PHIẾU")
    paper.paragraph(f"Các đơn vị bỏ phiếu kín; mỗi đơn vị một phiếu. Điều kiện để có kết quả: "
                    f"{quorum_words(minutes.rules)}. Điều kiện để được đề nghị hoặc trúng cử: được "
                    f"{threshold_words(minutes.rules)} đồng ý; {_order_words(minutes.rules)}.")  # fmt: skip
    if not minutes.ballots:
        paper.paragraph("Không có cuộc bỏ phiếu nào.", italic=True)
    for number, ballot in enumerate(minutes.ballots, 1):
        _ballot(paper, number, ballot, minutes)
    _conclusion(paper, minutes)

    ended = (f"hồi {time_of_day(local(minutes.ended_at, minutes.tz))}" if minutes.ended_at is not None
             else f"hồi {DOTS} giờ {DOTS} phút")  # fmt: skip
    paper.paragraph(f"Biên bản kết thúc vào {ended} cùng ngày và được đọc lại trước cuộc họp.")
    secretary = minutes.secretary
    recipients = [f"{minutes.authority.strip()} (để báo cáo)"] if (minutes.authority or "").strip() else []
    recipients.append(f"Các đơn vị thành viên {minutes.cluster}")
    paper.signatures([
        Signature("Thư ký", secretary.name if secretary else "", note=SIGN_NOTE_PERSON),
        Signature(("Chủ trì", minutes.chair_capacity), minutes.chair.name, note=SIGN_NOTE_PERSON),
    ], recipients=recipients, filed_by=minutes.filed_by)  # fmt: skip
    return paper.to_bytes()


def _members(paper: Paper, minutes: Minutes) -> None:
    paper.section("I. THÀNH PHẦN")
    chair = minutes.chair
    paper.paragraph(f"1. Chủ trì cuộc họp, Trưởng ban kiểm phiếu: {chair.name}, {chair.unit} "
                    f"(đơn vị {minutes.chair_capacity}).")  # fmt: skip
    secretary = minutes.secretary
    paper.paragraph(f"2. Thư ký: {secretary.name}, {secretary.unit}." if secretary else f"2. Thư ký: {DOTS * 3}.")
    total = len(minutes.present) + len(minutes.absent)
    paper.paragraph(f"3. Đơn vị có mặt (tham gia bỏ phiếu): {len(minutes.present)}/{total} đơn vị: "
                    f"{names_list(minutes.present)}")
    if minutes.absent:
        paper.paragraph(f"4. Đơn vị vắng mặt: {len(minutes.absent)}/{total} đơn vị: {names_list(minutes.absent)}")
    else:
        paper.paragraph("4. Đơn vị vắng mặt: không có.")


def _ranking(paper: Paper, minutes: Minutes) -> None:
    paper.section("II. KẾT QUẢ CHẤM ĐIỂM THI ĐUA")
    if not minutes.ranking:
        paper.paragraph("Chưa có đơn vị nào có điểm thi đua.", italic=True)
        return
    paper.paragraph("Tổng điểm cuối cùng của các đơn vị (sau thẩm định), xếp theo thứ tự từ cao xuống thấp:",
                    keep_next=True)  # fmt: skip
    paper.table(
        [Column("Thứ hạng", cm(2.5), "center"), Column("Đơn vị", cm(10.5)), Column("Tổng điểm", cm(3.5), "center")],
        [(str(r.place) if r.place else "-", r.unit, score_text(r.score)) for r in minutes.ranking],
    )  # fmt: skip


def _order_words(rules: TallyRules) -> str:
    if rules.method is Method.SCORE_ONLY:
        return "lấy theo thứ tự tổng điểm từ cao xuống thấp trong chỉ tiêu, phiếu bầu để xác nhận"
    return ("lấy theo thứ tự số phiếu từ cao xuống thấp trong chỉ tiêu; bằng phiếu thì đơn vị có tổng điểm "
            "cao hơn được xếp trên")  # fmt: skip


def _ballot(paper: Paper, number: int, ballot: BallotRecord, minutes: Minutes) -> None:
    paper.paragraph(f"{number}. {ballot.title} (mỗi phiếu chọn tối đa {ballot.quota} đơn vị)", bold=True,
                    indent=False, keep_next=True)  # fmt: skip
    paper.paragraph(f"- Số phiếu phát ra: {ballot.issued}; số phiếu thu về: {ballot.received}; số phiếu hợp lệ: "
                    f"{ballot.valid}; số phiếu không hợp lệ: {ballot.invalid}; số phiếu trống (không chọn "
                    f"đơn vị nào): {ballot.blank}.")  # fmt: skip
    share = fmt.percent(Fraction(ballot.received, ballot.active), "vi") if ballot.active else fmt.percent(0, "vi")
    if ballot.quorum_met:
        paper.paragraph(f"- Số phiếu thu về bằng {ballot.received}/{ballot.active} đơn vị thành viên ({share}), "
                        f"đạt yêu cầu ({quorum_words(minutes.rules)}): cuộc bỏ phiếu có kết quả.")  # fmt: skip
    else:
        paper.paragraph(f"- Số phiếu thu về bằng {ballot.received}/{ballot.active} đơn vị thành viên ({share}), "
                        f"không đạt yêu cầu ({quorum_words(minutes.rules)}): cuộc bỏ phiếu không có kết quả.")  # fmt: skip
    paper.paragraph(f"- Tỷ lệ phiếu tính trên {BASIS_WORDS[minutes.rules.basis]}: {ballot.basis}; đơn vị phải được "
                    f"{threshold_words(minutes.rules)} đồng ý.", keep_next=True)  # fmt: skip
    if ballot.candidates:
        paper.table(
            [Column("TT", cm(1.1), "center"), Column("Đơn vị", cm(6.4)), Column("Tổng điểm", cm(2.3), "center"),
             Column("Số phiếu", cm(1.9), "center"), Column("Tỷ lệ", cm(2.2), "center"),
             Column("Đạt tỷ lệ quy định", cm(2.6), "center")],
            [(str(c.place), c.unit, score_text(c.score), str(c.votes), fmt.percent(c.share, "vi"),
              "Đạt" if c.reaches else "Không đạt") for c in ballot.candidates],
        )  # fmt: skip
    paper.paragraph(f"- Kết quả: {_result_words(ballot)}")
    for label, digest in (("bảng kiểm phiếu (các phiếu đã công khai)", ballot.board_sha256),
                          ("dữ liệu đầu vào của việc kiểm phiếu", ballot.inputs_sha256)):  # fmt: skip
        if digest:
            paper.paragraph([Run(f"- Mã băm SHA-256 của {label}:\n"), Run(digest, bold=True)], size=12,
                            indent=False, align="left")  # fmt: skip


def _votes(ballot: BallotRecord, unit: str) -> str:
    line = next(c for c in ballot.candidates if c.unit == unit)
    return f"{line.votes}/{ballot.basis} phiếu ({fmt.percent(line.share, 'vi')})"


def _result_words(ballot: BallotRecord) -> str:
    if not ballot.quorum_met:
        return "không có đơn vị nào được đề nghị vì số phiếu thu về không đạt yêu cầu."
    parts = []
    if ballot.proposed:
        verb = "trúng cử" if ballot.purpose is Purpose.ELECTION else "đủ điều kiện đề nghị"
        parts.append("; ".join(f"{unit} được {_votes(ballot, unit)}, {verb}" for unit in ballot.proposed))
    if ballot.unresolved:
        parts.append(_tie_words(ballot))
    if not parts:
        return "không có đơn vị nào đạt tỷ lệ phiếu quy định."
    return "; ".join(parts) + "."


def _tie_words(ballot: BallotRecord) -> str:
    return (f"các đơn vị {', '.join(ballot.unresolved)} bằng nhau về số phiếu và tổng điểm, cùng tranh "
            f"{ballot.open_places} vị trí còn lại trong chỉ tiêu: chưa xác định được, phải bỏ phiếu lại giữa "
            f"các đơn vị này")  # fmt: skip


def _conclusion(paper: Paper, minutes: Minutes) -> None:
    paper.section("IV. KẾT LUẬN VÀ ĐỀ NGHỊ")
    lines = []
    for ballot in minutes.ballots:
        if not ballot.quorum_met:
            lines.append(f"{ballot.title}: không có kết quả (số phiếu thu về không đạt yêu cầu).")
            continue
        for unit in ballot.proposed:
            if ballot.purpose is Purpose.ELECTION:
                lines.append(f"Bầu {belongs(unit, minutes.cluster)}, làm đơn vị {ballot.subject}.")
            else:
                lines.append(f"Đề nghị tặng {ballot.subject} cho {belongs(unit, minutes.cluster)}.")
        if ballot.unresolved:
            lines.append(f"{ballot.title}: {_tie_words(ballot)}.")
        if not ballot.proposed and not ballot.unresolved:
            lines.append(f"{ballot.title}: không có đơn vị nào đạt tỷ lệ phiếu quy định.")
    if not lines:
        lines.append("Không có đề nghị nào.")
    for line in lines:
        paper.paragraph(f"- {line}")
    if minutes.inputs_sha256:
        paper.paragraph([Run("Mã băm SHA-256 của toàn bộ dữ liệu kiểm phiếu (điểm, phiếu, quy định):\n"),
                         Run(minutes.inputs_sha256, bold=True)], size=12, indent=False, align="left")  # fmt: skip
