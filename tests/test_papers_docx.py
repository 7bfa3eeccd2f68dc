"""The official papers (issue 11, items 5 and 6): the pledge, the minutes of the count and the
proposal, all built by bot/papers/docx_builder.py, opened back with python-docx and read in
their XML: each Nghị định 30/2020 layout rule, for each paper; then the right names and numbers
in the minutes and the proposal; and 300 units still render."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import zipfile
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from docx.oxml.ns import qn
from lxml import etree

from bot.papers import docx_builder as builder
from bot.papers import minutes as minutes_paper
from bot.papers import proposal as proposal_paper
from bot.papers.docx_builder import (
    CELL_MARGIN,
    MOTTO,
    NATIONAL_HEADING,
    TEXT_WIDTH,
    document_text,
    number_line,
    place_and_date,
    text_width,
)
from bot.papers.minutes import (
    Member,
    Minutes,
    Purpose,
    RankedUnit,
    record_of,
)
from bot.papers.proposal import AwardProposal, Proposal, ProposedUnit
from bot.pledge_document import PledgeDocument, UnitPledge
from bot.pledge_document import render as render_pledge
from bot.pledges import Item, Target
from bot.tally import BallotInput, Basis, Method, TallyRules, count, inputs_hash, ranking_by_score

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
CLUSTER = "Cụm thi đua số 3"
UNITS = ["Sở Tư pháp tỉnh X", "Sở Y tế tỉnh X", "Sở Tài chính tỉnh X", "Sở Nội vụ tỉnh X", "Sở Công Thương tỉnh X"]
SCORES = {1: Decimal("95.5"), 2: Decimal("90"), 3: Decimal("88.25"), 4: Decimal("97"), 5: Decimal("80")}
NAMES = dict(enumerate(UNITS, 1))


# ------------------------------------------------------------------------------ the papers


def pledge(units: int = 5, **extra) -> PledgeDocument:
    signed = dt.datetime(2027, 2, 27, 2, 15, tzinfo=dt.UTC)
    names = UNITS if units == len(UNITS) else [f"Đơn vị thành viên số {i}" for i in range(1, units + 1)]
    entries = [
        UnitPledge(name, [Item(i, f"Cam kết số {i}", Target(Decimal(10 * i), "hội viên"))],
                   f"Đại Diện {i}" if i % 2 else None, signed if i % 2 else None)
        for i, name in enumerate(names, 1)
    ]  # fmt: skip
    fields = dict(cluster_name=CLUSTER, year=2027, place="Thành phố X", date=dt.date(2027, 2, 27),
                  common_content="Đoàn kết, phối hợp chặt chẽ.", tz=HCM, units=entries)  # fmt: skip
    fields.update(extra)
    return PledgeDocument(**fields)


def flag_ballot() -> tuple[BallotInput, object]:
    """Five units present of five; Sở Tư pháp gets 3 of 5 papers (60,00%), one paper blank."""
    ballot = BallotInput(quota=1, candidates=(1, 2, 3, 4, 5), papers=((1,), (1,), (1,), (2,), ()), issued=5, active=5)
    return ballot, count(ballot, SCORES)


def minutes(**extra) -> Minutes:
    ballot, result = flag_ballot()
    flag = record_of("Phiếu đề nghị tặng Cờ thi đua", "Cờ thi đua của Ủy ban nhân dân tỉnh X", Purpose.AWARD,
                     ballot, result, NAMES, board_sha256="ab" * 32, inputs_sha256=inputs_hash(ballot, SCORES, TallyRules()))  # fmt: skip
    chair_ballot = BallotInput(quota=1, candidates=(2, 3), papers=((2,), (2,), (2,), (2,), (3,)), issued=5, active=5)
    chair = record_of("Bầu đơn vị Cụm trưởng năm 2028", "Cụm trưởng năm 2028", Purpose.ELECTION, chair_ballot,
                      count(chair_ballot, SCORES), NAMES, board_sha256="cd" * 32)  # fmt: skip
    merit_ballot = BallotInput(quota=1, candidates=(3, 5), papers=((3,), (5,), (3,), (5,)), issued=5, active=5)
    tied = record_of("Phiếu đề nghị tặng Bằng khen", "Bằng khen của Chủ tịch Ủy ban nhân dân tỉnh X", Purpose.AWARD,
                     merit_ballot, count(merit_ballot, {3: Decimal(88), 5: Decimal(88)},
                                         TallyRules(strict=False)), NAMES)  # fmt: skip
    ranking = [RankedUnit(place, NAMES[u], score) for u, score, place in ranking_by_score(SCORES, NAMES)]
    fields = dict(
        cluster=CLUSTER, year=2027, held_at=dt.datetime(2027, 12, 5, 2, 0, tzinfo=dt.UTC), tz=HCM,
        chair=Member("Nguyễn Văn An", "Sở Tư pháp tỉnh X"), secretary=Member("Trần Thị Bình", "Sở Y tế tỉnh X"),
        present=UNITS[:5], absent=["Sở Xây dựng tỉnh X"], ballots=[flag, chair, tied], ranking=ranking,
        venue="Hội trường Sở Tư pháp tỉnh X", place="Thành phố X", upper_body="UBND tỉnh X",
        ended_at=dt.datetime(2027, 12, 5, 4, 30, tzinfo=dt.UTC), authority="Hội đồng Thi đua - Khen thưởng tỉnh X",
        filed_by="TĐKT", inputs_sha256="ef" * 32,
    )  # fmt: skip
    fields.update(extra)
    return Minutes(**fields)


def proposal(**extra) -> Proposal:
    fields = dict(
        cluster=CLUSTER, year=2027, date=dt.date(2027, 12, 6), chair_name="Nguyễn Văn An", upper_body="UBND tỉnh X",
        authority="Hội đồng Thi đua - Khen thưởng tỉnh X", place="Thành phố X", meeting_date=dt.date(2027, 12, 5),
        awards=[
            AwardProposal("Cờ thi đua của Ủy ban nhân dân tỉnh X",
                          [ProposedUnit("Sở Tư pháp tỉnh X", Decimal("95.5"), 6, 9, Fraction(6, 9))]),
            AwardProposal("Bằng khen của Chủ tịch Ủy ban nhân dân tỉnh X",
                          [ProposedUnit("Sở Y tế tỉnh X", Decimal("90"), 5, 9, Fraction(5, 9)),
                           ProposedUnit("Sở Tài chính tỉnh X", Decimal("88.25"), 5, 9, Fraction(5, 9))]),
            AwardProposal("Giấy khen", []),
        ],
    )  # fmt: skip
    fields.update(extra)
    return Proposal(**fields)


PAPERS = {
    "pledge": lambda: render_pledge(pledge(chair_unit="Sở Tài chính tỉnh X", vice_chair_unit="Sở Nội vụ tỉnh X",
                                           upper_body="UBND tỉnh X", symbol="GƯ-CTĐ3", filed_by="TĐKT")),
    "minutes": lambda: minutes_paper.render(minutes()),
    "proposal": lambda: proposal_paper.render(proposal(number="15", symbol="TTr-CTĐ3")),
}  # fmt: skip
KINDS = list(PAPERS)


@pytest.fixture(scope="module")
def papers() -> dict[str, bytes]:
    return {kind: make() for kind, make in PAPERS.items()}


# ------------------------------------------------------------------------------ reading XML


def parts(data: bytes) -> dict[str, etree._Element]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: etree.fromstring(z.read(name)) for name in z.namelist() if name.endswith(".xml")}


def body(data: bytes):
    return parts(data)["word/document.xml"].find(f"{W}body")


def text_of(element) -> str:
    return "".join(t.text or "" for t in element.iter(f"{W}t"))


def attr(element, name: str) -> str | None:
    return None if element is None else element.get(qn(f"w:{name}"))


def twips(element, name: str) -> int:
    value = attr(element, name)
    return int(value) if value is not None else 0


def is_rule(p) -> bool:
    return p.find(f"{W}pPr/{W}pBdr/{W}top") is not None


def rule_length(p, room: int) -> int:
    ind = p.find(f"{W}pPr/{W}ind")
    return room - twips(ind, "left") - twips(ind, "right")


def run_flags(run) -> tuple[bool, bool, float | None]:
    rpr = run.find(f"{W}rPr")
    bold = rpr is not None and rpr.find(f"{W}b") is not None
    italic = rpr is not None and rpr.find(f"{W}i") is not None
    size = rpr.find(f"{W}sz") if rpr is not None else None
    return bold, italic, int(attr(size, "val")) / 2 if size is not None else None


def heading_cells(data: bytes):
    table = body(data).find(f"{W}tbl")
    rows = table.findall(f"{W}tr")
    return [row.findall(f"{W}tc") for row in rows]


def cell_width(tc) -> int:
    return int(attr(tc.find(f"{W}tcPr/{W}tcW"), "w"))


def paragraphs_with(root, text: str):
    return [p for p in root.iter(f"{W}p") if text_of(p) == text]


# ------------------------------------------------------------------------------ layout rules


@pytest.mark.parametrize(
    ("number", "symbol", "line"),
    [(None, None, "Số: ……/……"), ("15", "TTr-CTĐ3", "Số: 15/TTr-CTĐ3"), (7, None, "Số: 7/……"),
     ("  ", "BB-CTĐ", "Số: ……/BB-CTĐ")],
)  # fmt: skip
def test_the_number_line_is_dotted_where_the_number_or_symbol_is_unknown(number, symbol, line):
    assert number_line(number, symbol) == line


@pytest.mark.parametrize(("kind", "line"), [("pledge", "Số: ……/GƯ-CTĐ3"), ("minutes", "Số: ……/BB-……"),
                                            ("proposal", "Số: 15/TTr-CTĐ3")])  # fmt: skip
def test_the_number_line_sits_under_the_issuing_body(papers, kind, line):
    cells = heading_cells(papers[kind])
    assert text_of(cells[1][0]) == line


@pytest.mark.parametrize("kind", KINDS)
def test_the_issuing_body_is_at_the_top_left_in_capitals_with_a_short_line_drawn_under_it(papers, kind):
    left = heading_cells(papers[kind])[0][0]
    paragraphs = left.findall(f"{W}p")
    upper, unit, rule = paragraphs[0], paragraphs[1], paragraphs[2]
    assert text_of(upper) == "UBND TỈNH X" and run_flags(upper.find(f"{W}r"))[0] is False
    assert text_of(unit) == "CỤM THI ĐUA SỐ 3" and run_flags(unit.find(f"{W}r"))[0] is True
    assert is_rule(rule) and text_of(rule) == ""
    room = cell_width(left) - 2 * CELL_MARGIN
    length = rule_length(rule, room)
    written = text_width("CỤM THI ĐUA SỐ 3", 12, bold=True)
    assert written / 3 <= length <= written / 2
    ind = rule.find(f"{W}pPr/{W}ind")
    assert abs(twips(ind, "left") - twips(ind, "right")) <= 1  # centred under the body


@pytest.mark.parametrize("kind", KINDS)
def test_the_national_heading_and_motto_are_at_the_top_right_with_a_line_drawn_under_the_motto(papers, kind):
    right = heading_cells(papers[kind])[0][1]
    heading, motto, rule = right.findall(f"{W}p")[:3]
    assert text_of(heading) == NATIONAL_HEADING and run_flags(heading.find(f"{W}r"))[0]
    assert text_of(motto) == MOTTO and run_flags(motto.find(f"{W}r"))[0]
    assert motto.find(f".//{W}u") is None  # not a text underline
    assert is_rule(rule)
    room = cell_width(right) - 2 * CELL_MARGIN
    assert abs(rule_length(rule, room) - text_width(MOTTO, 13, bold=True)) <= 2  # as long as the motto
    assert "———" not in document_text(papers[kind]) and "___" not in document_text(papers[kind])


def test_the_estimated_widths_match_times_new_roman():
    # Measured in Word and LibreOffice (Liberation Serif): the motto at 13 pt bold is about 5.6 cm.
    assert 5.3 <= text_width(MOTTO, 13, bold=True) / builder.TWIPS_PER_CM <= 5.9
    assert text_width("Đà Nẵng", 13) == text_width("Da Nang", 13)  # a letter is as wide as its base


@pytest.mark.parametrize(("kind", "title", "subject"), [
    ("pledge", "GIAO ƯỚC THI ĐUA NĂM 2027", f"của các đơn vị thành viên {CLUSTER}"),
    ("minutes", "BIÊN BẢN", "Kiểm phiếu và họp bình xét thi đua năm 2027"),
    ("proposal", "TỜ TRÌNH", "Về việc đề nghị tặng Cờ thi đua của Ủy ban nhân dân tỉnh X, Bằng khen của Chủ tịch "
                             "Ủy ban nhân dân tỉnh X năm 2027"),
])  # fmt: skip
def test_the_title_is_bold_and_centred_with_a_line_drawn_under_its_subject(papers, kind, title, subject):
    children = list(body(papers[kind]))
    index = next(i for i, el in enumerate(children) if el.tag == f"{W}p" and text_of(el) == title + subject)
    paragraph, rule = children[index], children[index + 1]
    assert attr(paragraph.find(f"{W}pPr/{W}jc"), "val") == "center"
    assert paragraph.find(f".//{W}br") is not None  # the subject on its own line
    assert all(run_flags(r)[0] and run_flags(r)[2] == 14 for r in paragraph.findall(f"{W}r") if text_of(r))
    assert is_rule(rule)
    written = min(text_width(subject, 14, bold=True), TEXT_WIDTH)
    assert written / 3 <= rule_length(rule, TEXT_WIDTH) <= written / 2


@pytest.mark.parametrize(("kind", "line"), [("pledge", "Thành phố X, ngày 27 tháng 02 năm 2027"),
                                            ("minutes", "Thành phố X, ngày 05 tháng 12 năm 2027"),
                                            ("proposal", "Thành phố X, ngày 06 tháng 12 năm 2027")])  # fmt: skip
def test_the_place_and_date_are_in_italics_under_the_motto(papers, kind, line):
    cell = heading_cells(papers[kind])[1][1]
    assert text_of(cell) == line
    assert all(run_flags(r)[1] for r in cell.iter(f"{W}r"))
    document = Document(io.BytesIO(papers[kind]))
    assert document.tables[0].rows[1].cells[1].text == line  # where tests/test_document_place.py reads it


def test_place_and_date_is_importable_from_the_pledge_module_and_the_builder():
    from bot.pledge_document import place_and_date as from_pledge

    assert from_pledge is place_and_date
    assert place_and_date(None, dt.date(2027, 1, 5)) == "……………, ngày 05 tháng 01 năm 2027"


@pytest.mark.parametrize("kind", KINDS)
def test_page_numbers_are_at_the_top_centre_from_page_two(papers, kind):
    xml = parts(papers[kind])
    sect = xml["word/document.xml"].find(f"{W}body/{W}sectPr")
    assert sect.find(f"{W}titlePg") is not None  # a different first page
    with zipfile.ZipFile(io.BytesIO(papers[kind])) as z:
        rels = etree.fromstring(z.read("word/_rels/document.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels}
    refs = {attr(h, "type"): targets[h.get(qn("r:id"))] for h in sect.findall(f"{W}headerReference")}
    default, first = xml[f"word/{refs['default']}"], xml[f"word/{refs['first']}"]
    instructions = "".join(i.text for i in default.iter(f"{W}instrText"))
    assert instructions.strip() == "PAGE"
    assert [attr(f, "fldCharType") for f in default.iter(f"{W}fldChar")] == ["begin", "separate", "end"]
    assert attr(default.find(f"{W}p/{W}pPr/{W}jc"), "val") == "center"
    assert first.find(f".//{W}fldChar") is None and text_of(first) == ""  # page 1 shows nothing


def spacing_pt(p, side: str) -> float:
    value = attr(p.find(f"{W}pPr/{W}spacing"), side)
    return int(value) / 20 if value is not None else (6.0 if side == "after" else 0.0)  # Normal: 6 pt after


@pytest.mark.parametrize("kind", KINDS)
def test_body_paragraphs_are_at_least_6_pt_apart(papers, kind):
    children = list(body(papers[kind]))
    styles = parts(papers[kind])["word/styles.xml"]
    normal = next(s for s in styles.findall(f"{W}style") if attr(s, "styleId") == "Normal")
    assert twips(normal.find(f"{W}pPr/{W}spacing"), "after") >= 120
    previous, gap, checked = None, 0.0, 0
    for element in children:
        if element.tag != f"{W}p":
            previous, gap = None, 0.0  # a table: its spacer paragraph carries the gap
            continue
        page_break = any(attr(br, "type") == "page" for br in element.iter(f"{W}br"))
        if is_rule(element) or (not text_of(element) and not page_break):
            gap += spacing_pt(element, "before") + spacing_pt(element, "after")
            continue
        if previous is not None and not page_break:
            assert gap + spacing_pt(element, "before") >= 6, (text_of(previous), text_of(element))
            checked += 1
        previous, gap = (None, 0.0) if page_break else (element, spacing_pt(element, "after"))
    assert checked >= 8


@pytest.mark.parametrize("kind", KINDS)
def test_every_style_is_times_new_roman_and_tagged_vietnamese(papers, kind):
    xml = parts(papers[kind])
    styles = xml["word/styles.xml"]
    defaults = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr")
    for rpr in [defaults] + [s.find(f"{W}rPr") for s in styles.findall(f"{W}style")]:
        lang = rpr.find(f"{W}lang")
        assert (attr(lang, "val"), attr(lang, "eastAsia"), attr(lang, "bidi")) == ("vi-VN",) * 3
        fonts = rpr.find(f"{W}rFonts")
        assert {attr(fonts, k) for k in ("ascii", "hAnsi", "eastAsia", "cs")} == {"Times New Roman"}
        assert not [k for k in fonts.attrib if k.lower().endswith("theme")]  # no theme font overrides the name
    assert int(attr(defaults.find(f"{W}sz"), "val")) == 26
    by_id = {attr(s, "styleId"): s for s in styles.findall(f"{W}style")}
    used = {"Normal"} | {attr(e, "val") for part in xml.values() for tag in ("pStyle", "rStyle", "tblStyle")
                         for e in part.iter(f"{W}{tag}")}  # fmt: skip
    for style_id in used:
        size, style = None, by_id[style_id]
        while style is not None and size is None:
            size = style.find(f"{W}rPr/{W}sz")
            style = by_id.get(attr(style.find(f"{W}basedOn"), "val"))
        assert 13 <= int(attr(size if size is not None else defaults.find(f"{W}sz"), "val")) / 2 <= 14, style_id
    for name, part in xml.items():  # nothing sets another language or font on a run
        if not (name.startswith("word/header") or name in ("word/document.xml", "word/styles.xml")):
            continue
        assert all(attr(lang, "val") == "vi-VN" for lang in part.iter(f"{W}lang"))
        assert all(attr(f, "ascii") in (None, "Times New Roman") for f in part.iter(f"{W}rFonts"))
    sizes = {run_flags(r)[2] for r in xml["word/document.xml"].iter(f"{W}r") if text_of(r)}
    assert sizes <= {None, 12, 13, 14}


def signature_cells(data: bytes, root=None):
    """Cells holding a "(Ký, …)" line (of `root`, the parsed body, when given)."""
    return [tc for tc in (root if root is not None else body(data)).iter(f"{W}tc")
            if any(text_of(p).startswith("(Ký,") for p in tc.findall(f"{W}p"))]  # fmt: skip


def signature_paragraphs(tc) -> list:
    """The block's paragraphs: up to the Nơi nhận that may share its cell."""
    paragraphs = tc.findall(f"{W}p")
    ends = [i for i, p in enumerate(paragraphs) if text_of(p) == "Nơi nhận:"]
    return paragraphs[: ends[0]] if ends else paragraphs


def block(tc) -> list[tuple[str, bool, bool]]:
    out = []
    for p in signature_paragraphs(tc):
        runs = [r for r in p.findall(f"{W}r") if text_of(r)]
        flags = run_flags(runs[0]) if runs else (False, False, None)
        out.append((text_of(p), flags[0], flags[1]))
    return out


@pytest.mark.parametrize(("kind", "blocks"), [
    ("pledge", [
        [("TM. SỞ TÀI CHÍNH TỈNH X", True, False), ("CỤM TRƯỞNG", True, False), ("(Ký, đóng dấu)", False, True),
         ("Đại Diện 3", True, False)],
        [("TM. SỞ NỘI VỤ TỈNH X", True, False), ("CỤM PHÓ", True, False), ("(Ký, đóng dấu)", False, True),
         ("", False, False)],
        [("TM. SỞ TƯ PHÁP TỈNH X", True, False), ("THỦ TRƯỞNG ĐƠN VỊ", True, False), ("(Ký, đóng dấu)", False, True),
         ("Đại Diện 1", True, False)],
        [("TM. SỞ Y TẾ TỈNH X", True, False), ("THỦ TRƯỞNG ĐƠN VỊ", True, False), ("(Ký, đóng dấu)", False, True),
         ("", False, False)],
        [("TM. SỞ CÔNG THƯƠNG TỈNH X", True, False), ("THỦ TRƯỞNG ĐƠN VỊ", True, False),
         ("(Ký, đóng dấu)", False, True), ("Đại Diện 5", True, False)],
    ]),
    ("minutes", [
        [("THƯ KÝ", True, False), ("(Ký, ghi rõ họ tên)", False, True), ("", False, False),
         ("Trần Thị Bình", True, False)],
        [("CHỦ TRÌ", True, False), ("CỤM TRƯỞNG", True, False), ("(Ký, ghi rõ họ tên)", False, True),
         ("Nguyễn Văn An", True, False)],
    ]),
    ("proposal", [
        [("TM. CỤM THI ĐUA SỐ 3", True, False), ("CỤM TRƯỞNG", True, False), ("(Ký, đóng dấu)", False, True),
         ("Nguyễn Văn An", True, False)],
    ]),
])  # fmt: skip
def test_signature_blocks_in_order_chair_and_vice_chair_first(papers, kind, blocks):
    assert [block(tc) for tc in signature_cells(papers[kind])] == blocks
    for tc in signature_cells(papers[kind]):
        name = signature_paragraphs(tc)[-1]
        assert spacing_pt(name, "before") >= 60  # room to sign and stamp
        assert tc.getparent().find(f"{W}trPr/{W}cantSplit") is not None
    cells = signature_cells(papers[kind])
    for row in {tc.getparent() for tc in cells}:  # the names of a row line up
        assert len({len(signature_paragraphs(tc)) for tc in row.findall(f"{W}tc") if tc in cells}) == 1


def test_a_pledge_without_chair_units_signs_in_the_units_order():
    data = render_pledge(pledge())
    assert [block(tc)[0][0] for tc in signature_cells(data)] == [f"TM. {u.upper()}" for u in UNITS]
    assert {block(tc)[1][0] for tc in signature_cells(data)} == {"THỦ TRƯỞNG ĐƠN VỊ"}


@pytest.mark.parametrize(("kind", "entries"), [
    ("pledge", [f"- Các đơn vị thành viên {CLUSTER};", "- Lưu: VT, TĐKT."]),
    ("minutes", ["- Hội đồng Thi đua - Khen thưởng tỉnh X (để báo cáo);", f"- Các đơn vị thành viên {CLUSTER};",
                 "- Lưu: VT, TĐKT."]),
    ("proposal", ["- Như trên;", f"- Các đơn vị thành viên {CLUSTER};", "- Lưu: VT, ……"]),
])  # fmt: skip
def test_noi_nhan_is_at_the_bottom_left_after_the_signatures(papers, kind, entries):
    root = body(papers[kind])
    heading = paragraphs_with(root, "Nơi nhận:")
    assert len(heading) == 1
    bold, italic, size = run_flags(heading[0].find(f"{W}r"))
    assert bold and italic and size == 12
    cell = heading[0].getparent()
    assert cell.tag == f"{W}tc" and cell.getparent().index(cell) == 1  # the row's first cell (after trPr)
    lines = cell.findall(f"{W}p")
    lines = lines[lines.index(heading[0]):]
    assert [text_of(p) for p in lines[1:]] == entries
    assert all(run_flags(p.find(f"{W}r"))[2] == 12 and attr(p.find(f"{W}pPr/{W}jc"), "val") == "left" for p in lines)
    # Its table comes last: after every signature (beside the one signature of a proposal), and
    # only the pledge's annex, on a page of its own, follows it.
    children = list(root)
    table = cell.getparent().getparent()
    signed = {tc.getparent().getparent() for tc in signature_cells(papers[kind], root)}
    assert children.index(table) >= max(children.index(t) for t in signed)
    after = children[children.index(table) + 1:]
    rest = next((i for i, el in enumerate(after) if any(attr(b, "type") == "page" for b in el.iter(f"{W}br"))),
                len(after))  # fmt: skip
    assert all(el.tag == f"{W}sectPr" or (el.tag == f"{W}p" and not text_of(el)) for el in after[:rest])


@pytest.mark.parametrize("kind", KINDS)
def test_table_grids_equal_the_cells_fixed_layout_header_repeated_rows_kept_whole(papers, kind):
    tables = list(body(papers[kind]).iter(f"{W}tbl"))
    assert len(tables) >= 3
    bordered = 0
    for tbl in tables:
        grid = [int(attr(c, "w")) for c in tbl.findall(f"{W}tblGrid/{W}gridCol")]
        assert attr(tbl.find(f"{W}tblPr/{W}tblLayout"), "type") == "fixed"
        assert int(attr(tbl.find(f"{W}tblPr/{W}tblW"), "w")) == sum(grid)
        assert sum(grid) <= TEXT_WIDTH
        rows = tbl.findall(f"{W}tr")
        for row in rows:
            assert [cell_width(tc) for tc in row.findall(f"{W}tc")] == grid
            assert row.find(f"{W}trPr/{W}cantSplit") is not None
        if attr(tbl.find(f"{W}tblPr/{W}tblBorders/{W}top"), "val") == "single":
            bordered += 1
            assert rows[0].find(f"{W}trPr/{W}tblHeader") is not None
            assert all(r.find(f"{W}trPr/{W}tblHeader") is None for r in rows[1:])
    assert bordered >= 1


# ------------------------------------------------------------------------------ the pledge


def test_the_pledge_keeps_the_telegram_confirmations_as_an_annex(papers):
    data = papers["pledge"]
    root = body(data)
    children = list(root)
    title = next(i for i, el in enumerate(children) if text_of(el) == "PHỤ LỤCXác nhận ký kết trên Telegram")
    assert any(attr(br, "type") == "page" for br in children[title - 1].iter(f"{W}br"))  # on a page of its own
    annex = Document(io.BytesIO(data)).tables[-1]
    assert [c.text for c in annex.rows[0].cells] == ["STT", "Đơn vị", "Đại diện xác nhận", "Thời điểm ký"]
    assert [c.text for c in annex.rows[1].cells] == ["1", "Sở Tư pháp tỉnh X", "Đại Diện 1", "09:15 27/02/2027"]
    assert [c.text for c in annex.rows[2].cells] == ["2", "Sở Y tế tỉnh X", "", "Chưa ký"]
    assert annex.rows[2].cells[3].paragraphs[0].runs[0].italic


def test_a_control_character_in_a_name_does_not_stop_the_paper():
    data = render_pledge(pledge(units=2, cluster_name="Cụm\x0b thi đua\x01"))
    assert "CỤM THI ĐUA" in document_text(data)


# ------------------------------------------------------------------------------ the minutes


def test_the_minutes_name_the_time_place_committee_and_units(papers):
    text = document_text(papers["minutes"])
    for expected in (
        "Hồi 09 giờ 00 phút, ngày 05 tháng 12 năm 2027, tại Hội trường Sở Tư pháp tỉnh X, Cụm thi đua số 3 "
        "họp bình xét thi đua và kiểm phiếu năm 2027.",
        "1. Chủ trì cuộc họp, Trưởng ban kiểm phiếu: Nguyễn Văn An, Sở Tư pháp tỉnh X (đơn vị Cụm trưởng).",
        "2. Thư ký: Trần Thị Bình, Sở Y tế tỉnh X.",
        "3. Đơn vị có mặt (tham gia bỏ phiếu): 5/6 đơn vị: Sở Tư pháp tỉnh X; Sở Y tế tỉnh X; Sở Tài chính tỉnh X; "
        "Sở Nội vụ tỉnh X; Sở Công Thương tỉnh X.",
        "4. Đơn vị vắng mặt: 1/6 đơn vị: Sở Xây dựng tỉnh X.",
        "Biên bản kết thúc vào hồi 11 giờ 30 phút cùng ngày và được đọc lại trước cuộc họp.",
    ):  # fmt: skip
        assert expected in text, expected


def table_after(data: bytes, text: str) -> list[list[str]]:
    """The rows of the first table after the paragraph starting with `text`."""
    children = list(body(data))
    start = next(i for i, el in enumerate(children) if text_of(el).startswith(text))
    tbl = next(el for el in children[start:] if el.tag == f"{W}tbl")
    return [[text_of(tc) for tc in tr.findall(f"{W}tc")] for tr in tbl.findall(f"{W}tr")]


def test_the_minutes_rank_units_by_final_score(papers):
    assert table_after(papers["minutes"], "II. KẾT QUẢ CHẤM ĐIỂM") == [
        ["Thứ hạng", "Đơn vị", "Tổng điểm"],
        ["1", "Sở Nội vụ tỉnh X", "97,00"], ["2", "Sở Tư pháp tỉnh X", "95,50"], ["3", "Sở Y tế tỉnh X", "90,00"],
        ["4", "Sở Tài chính tỉnh X", "88,25"], ["5", "Sở Công Thương tỉnh X", "80,00"],
    ]  # fmt: skip


def test_the_minutes_report_each_ballot_papers_votes_shares_and_threshold(papers):
    data = papers["minutes"]
    text = document_text(data)
    assert "1. Phiếu đề nghị tặng Cờ thi đua (mỗi phiếu chọn tối đa 1 đơn vị)" in text
    assert ("- Số phiếu phát ra: 5; số phiếu thu về: 5; số phiếu hợp lệ: 5; số phiếu không hợp lệ: 0; "
            "số phiếu trống (không chọn đơn vị nào): 1.") in text  # fmt: skip
    assert ("- Số phiếu thu về bằng 5/5 đơn vị thành viên (100,00%), đạt yêu cầu (số phiếu thu về đạt ít nhất "
            "hai phần ba (2/3) tổng số đơn vị thành viên): cuộc bỏ phiếu có kết quả.") in text  # fmt: skip
    assert "đơn vị phải được trên 50% số phiếu thu về đồng ý." in text
    rows = table_after(data, "1. Phiếu đề nghị tặng Cờ thi đua")
    assert rows[1] == ["1", "Sở Tư pháp tỉnh X", "95,50", "3", "60,00%", "Đạt"]
    assert rows[2] == ["2", "Sở Y tế tỉnh X", "90,00", "1", "20,00%", "Không đạt"]
    # no votes: tied, the final score orders them
    assert [r[1] for r in rows[3:]] == ["Sở Nội vụ tỉnh X", "Sở Tài chính tỉnh X", "Sở Công Thương tỉnh X"]
    assert "- Kết quả: Sở Tư pháp tỉnh X được 3/5 phiếu (60,00%), đủ điều kiện đề nghị." in text
    assert "- Kết quả: Sở Y tế tỉnh X được 4/5 phiếu (80,00%), trúng cử." in text


def test_the_minutes_conclude_with_the_cluster_of_each_proposed_unit_and_the_ties(papers):
    text = document_text(papers["minutes"])
    assert ("- Đề nghị tặng Cờ thi đua của Ủy ban nhân dân tỉnh X cho Sở Tư pháp tỉnh X, đơn vị thuộc "
            "Cụm thi đua số 3.") in text  # fmt: skip
    assert "- Bầu Sở Y tế tỉnh X, đơn vị thuộc Cụm thi đua số 3, làm đơn vị Cụm trưởng năm 2028." in text
    assert ("- Phiếu đề nghị tặng Bằng khen: các đơn vị Sở Tài chính tỉnh X, Sở Công Thương tỉnh X bằng nhau về số "
            "phiếu và tổng điểm, cùng tranh 1 vị trí còn lại trong chỉ tiêu: chưa xác định được, phải bỏ phiếu lại "
            "giữa các đơn vị này.") in text  # fmt: skip


def test_the_minutes_carry_the_sha256_of_each_board_and_of_the_inputs(papers):
    text = document_text(papers["minutes"])
    ballot, _result = flag_ballot()
    assert f"- Mã băm SHA-256 của bảng kiểm phiếu (các phiếu đã công khai):\n{'ab' * 32}" in text
    assert f"dữ liệu đầu vào của việc kiểm phiếu:\n{inputs_hash(ballot, SCORES, TallyRules())}" in text
    assert "cd" * 32 in text and "ef" * 32 in text


@pytest.mark.parametrize(
    ("rules", "quorum", "threshold"),
    [
        (TallyRules(), "hai phần ba (2/3)", "trên 50% số phiếu thu về"),
        (TallyRules(quorum=Fraction(1, 2), threshold=Fraction(7, 10), strict=False, basis=Basis.ACTIVE),
         "một phần hai (1/2)", "từ 70% trở lên tổng số đơn vị thành viên"),
        (TallyRules(quorum=Fraction(7, 9), threshold=Fraction(2, 3), basis=Basis.PRESENT),
         "77,78%", "trên 66,67% số đơn vị có mặt"),
    ],
)  # fmt: skip
def test_quorum_and_threshold_are_stated_in_words(rules, quorum, threshold):
    text = document_text(minutes_paper.render(minutes(rules=rules)))
    assert f"Điều kiện để có kết quả: số phiếu thu về đạt ít nhất {quorum} tổng số đơn vị thành viên." in text
    assert f"Điều kiện để được đề nghị hoặc trúng cử: được {threshold} đồng ý" in text


def test_score_only_says_the_vote_confirms_the_ranking():
    text = document_text(minutes_paper.render(minutes(rules=TallyRules(method=Method.SCORE_ONLY))))
    assert "lấy theo thứ tự tổng điểm từ cao xuống thấp trong chỉ tiêu, phiếu bầu để xác nhận" in text


def test_a_ballot_without_quorum_proposes_nothing():
    ballot = BallotInput(quota=1, candidates=(1, 2), papers=((1,), (1,)), issued=2, active=5)
    record = record_of("Phiếu đề nghị tặng Cờ thi đua", "Cờ thi đua", Purpose.AWARD, ballot, count(ballot, SCORES), NAMES)
    text = document_text(minutes_paper.render(minutes(ballots=[record], present=UNITS[:2], absent=UNITS[2:],
                                                      secretary=None, venue=None, ended_at=None)))  # fmt: skip
    assert "không đạt yêu cầu (số phiếu thu về đạt ít nhất hai phần ba (2/3)" in text
    assert "- Kết quả: không có đơn vị nào được đề nghị vì số phiếu thu về không đạt yêu cầu." in text
    assert "- Phiếu đề nghị tặng Cờ thi đua: không có kết quả (số phiếu thu về không đạt yêu cầu)." in text
    assert "Đề nghị tặng Cờ thi đua cho" not in text
    assert "2. Thư ký: ………………." in text and "tại ………………," in text and "vào hồi …… giờ …… phút" in text


def test_a_ballot_nobody_reaches_says_so():
    ballot = BallotInput(quota=1, candidates=(1, 2), papers=((1,), (2,), (), ()), issued=4, active=5)
    record = record_of("Phiếu đề nghị tặng Cờ thi đua", "Cờ thi đua", Purpose.AWARD, ballot, count(ballot, SCORES), NAMES)
    text = document_text(minutes_paper.render(minutes(ballots=[record])))
    assert "- Kết quả: không có đơn vị nào đạt tỷ lệ phiếu quy định." in text
    assert "- Phiếu đề nghị tặng Cờ thi đua: không có đơn vị nào đạt tỷ lệ phiếu quy định." in text


def test_the_vice_chair_may_chair_the_minutes():
    data = minutes_paper.render(minutes(chair_capacity="Cụm phó", chair=Member("Lê Văn Cường", "Sở Y tế tỉnh X")))
    assert block(signature_cells(data)[1])[:2] == [("CHỦ TRÌ", True, False), ("CỤM PHÓ", True, False)]
    assert "Lê Văn Cường, Sở Y tế tỉnh X (đơn vị Cụm phó)" in document_text(data)


# ------------------------------------------------------------------------------ the proposal


def test_the_proposal_is_addressed_to_the_authority_on_its_basis(papers):
    text = document_text(papers["proposal"])
    for expected in (
        "Kính gửi: Hội đồng Thi đua - Khen thưởng tỉnh X.",
        "Căn cứ Luật Thi đua, khen thưởng ngày 15 tháng 6 năm 2022;",
        "Căn cứ Quy chế hoạt động của Cụm thi đua số 3;",
        "Căn cứ kết quả chấm điểm thi đua và Biên bản kiểm phiếu và họp bình xét thi đua năm 2027 ngày 05 tháng 12 "
        "năm 2027 của Cụm thi đua số 3,",
        "Cụm thi đua số 3 kính trình Hội đồng Thi đua - Khen thưởng tỉnh X xem xét, đề nghị khen thưởng năm 2027 cho "
        "các đơn vị sau:",
        "Kính trình Hội đồng Thi đua - Khen thưởng tỉnh X xem xét, quyết định./.",
    ):  # fmt: skip
        assert expected in text, expected
    kinh_gui = paragraphs_with(body(papers["proposal"]), "Kính gửi: Hội đồng Thi đua - Khen thưởng tỉnh X.")[0]
    assert attr(kinh_gui.find(f"{W}pPr/{W}jc"), "val") == "center"


def test_the_proposal_lists_the_units_per_award_with_score_and_vote(papers):
    data = papers["proposal"]
    assert table_after(data, "1. Đề nghị tặng Cờ thi đua của Ủy ban nhân dân tỉnh X: 1 đơn vị") == [
        ["STT", "Đơn vị", "Tổng điểm", "Số phiếu đồng ý", "Tỷ lệ"],
        ["1", "Sở Tư pháp tỉnh X", "95,50", "6/9", "66,67%"],
    ]
    assert table_after(data, "2. Đề nghị tặng Bằng khen của Chủ tịch Ủy ban nhân dân tỉnh X: 2 đơn vị")[1:] == [
        ["1", "Sở Y tế tỉnh X", "90,00", "5/9", "55,56%"], ["2", "Sở Tài chính tỉnh X", "88,25", "5/9", "55,56%"],
    ]  # fmt: skip
    assert "Giấy khen" not in document_text(data)  # an award nobody is proposed for is left out


def test_an_unset_authority_is_dotted_and_no_award_says_so():
    text = document_text(proposal_paper.render(proposal(authority=None, awards=[], meeting_date=None)))
    assert "Kính gửi: ……………………." in text and "Về việc đề nghị khen thưởng năm 2027" in text
    assert "Năm 2027, Cụm thi đua số 3 không có đơn vị đủ điều kiện để đề nghị khen thưởng." in text
    assert "năm 2027 của Cụm thi đua số 3," in text


def test_file_names():
    assert minutes_paper.file_name(2027) == "bien-ban-kiem-phieu-binh-xet-2027.docx"
    assert proposal_paper.file_name(2027) == "to-trinh-de-nghi-khen-thuong-2027.docx"


# ------------------------------------------------------------------------------ scale


def test_three_hundred_units_still_render():
    names = {i: f"Đơn vị thành viên số {i}" for i in range(1, 301)}
    scores = {i: Decimal(60) + Decimal(i) / 10 for i in names}
    ballot = BallotInput(quota=2, candidates=tuple(names), papers=tuple((i % 300 + 1,) for i in names),
                         issued=300, active=300)  # fmt: skip
    record = record_of("Phiếu đề nghị tặng Bằng khen", "Bằng khen", Purpose.AWARD, ballot, count(ballot, scores), names)
    data = minutes_paper.render(minutes(present=list(names.values()), absent=[], ballots=[record],
                                        ranking=[RankedUnit(i, n, scores[i]) for i, n in names.items()]))  # fmt: skip
    tables = Document(io.BytesIO(data)).tables
    assert len(tables[1].rows) == 301 and len(tables[2].rows) == 301
    data = render_pledge(pledge(units=300, chair_unit="Đơn vị thành viên số 300"))
    assert len(signature_cells(data)) == 300 and block(signature_cells(data)[0])[1][0] == "CỤM TRƯỞNG"
    assert len(Document(io.BytesIO(data)).tables[-1].rows) == 301
    units = [ProposedUnit(n, scores[i], 200, 300, Fraction(2, 3)) for i, n in names.items()]
    data = proposal_paper.render(proposal(awards=[AwardProposal("Bằng khen", units)]))
    assert len(Document(io.BytesIO(data)).tables[1].rows) == 301


# ------------------------------------------------------------------------------ LibreOffice, if installed


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_converts_every_paper_to_pdf(papers, tmp_path):
    for kind, data in papers.items():
        (tmp_path / f"{kind}.docx").write_bytes(data)
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), *[str(tmp_path / f"{k}.docx") for k in papers]],
                   check=True, capture_output=True, timeout=240)  # fmt: skip
    for kind in papers:
        pdf = (tmp_path / f"{kind}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") + pdf.count(b"/Type/Page") >= 1
