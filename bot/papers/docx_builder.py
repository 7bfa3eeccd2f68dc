"""One builder for every .docx the bot writes, in the layout of Nghị định 30/2020/NĐ-CP
(Phụ lục I: "Thể thức, kỹ thuật trình bày văn bản hành chính"), so the pledge, the minutes and
the proposal cannot drift apart.

What it lays out, and how:

- **A4**, margins 20 mm top and bottom, 30 mm left, 15 mm right; Times New Roman on every style
  (13 pt body), the language **vi-VN** on the document defaults and on every style (`w:lang`
  val, eastAsia and bidi), so Word and LibreOffice spell-check the text as Vietnamese.
- **The heading**: a borderless two-column table. Left: the upper body (caps, regular) and the
  issuing body (caps, bold), a short line under it (40 % of the body's line, inside NĐ 30's
  ⅓–½), and under that the number and symbol line `Số: 12/BB-CTĐ` (`……` for what is not known
  yet: the clerk writes the number when the paper is registered). Right: the national heading
  and the motto, a line under the motto as long as the motto, and the place and date in italics.
- **The drawn lines are paragraph borders** (`w:pBdr/w:top`) on an empty paragraph exactly 1 pt
  high, indented left and right so that what remains between the indents is the line's length,
  centred under its text. Word, LibreOffice, WPS and Google Docs all draw a paragraph border
  between the paragraph's indents and keep it in the flow of the text; a drawn shape (VML or
  DrawingML) is anchored and wrapped differently by each of them, and Google Docs drops
  floating shapes on import. No typed "———", no text underline.
- **The title** (the kind of paper, bold caps, 14 pt) and its subject (bold, 14 pt), centred,
  with a line under the subject (40 % of its line).
- **Page numbers** at the top centre from page 2: a PAGE field in the default header, an empty
  first-page header, "different first page" on the section.
- **Paragraphs** 6 pt apart (the Normal style's spacing after; no body paragraph sets less),
  justified, first line indented 1 cm, line spacing 1.15.
- **Signature blocks**: `TM. [BODY]` (bold caps) / the signer's title (bold caps) /
  *(Ký, đóng dấu)* / room to sign / the name (bold); several signers as a grid of blocks, two
  per row, a row never split across pages.
- ***Nơi nhận:*** at the bottom left (bold italic 12 pt), its entries 12 pt, the last one
  `- Lưu: VT, …`.
- **Tables**: `w:tblGrid` column widths equal to the cells' widths (LibreOffice, WPS and Google
  Docs lay a table out from its grid, Word from the cells: when the two disagree a name wraps to
  three lines in one and not the other), fixed layout, header rows repeated on every page
  (`w:tblHeader`), rows never split across pages (`w:cantSplit`).

Widths are in twips (1/1440 inch). The lengths of the drawn lines come from the Times metrics
(`text_width`): an estimate, good to a few per cent, which the 40 % sits well inside of.

Pure: plain data in, bytes out.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, Twips

FONT = "Times New Roman"
LANGUAGE = "vi-VN"
BODY_PT = 13
TITLE_PT = 14
HEADING_PT = 12  # the issuing body and the national heading (NĐ 30: 12–13 pt)
SMALL_PT = 12  # Nơi nhận
PARAGRAPH_GAP_PT = 6
NATIONAL_HEADING = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# What is not known yet, for a hand to fill in: the paper convention of a dotted space.
DOTS = "……"
UNKNOWN_PLACE = "……………"
SIGN_NOTE = "(Ký, đóng dấu)"
SIGN_NOTE_PERSON = "(Ký, ghi rõ họ tên)"

TWIPS_PER_CM = 1440 / 2.54
PAGE_WIDTH, PAGE_HEIGHT = 11906, 16838  # A4
MARGIN_TOP = MARGIN_BOTTOM = 1134  # 20 mm
MARGIN_LEFT, MARGIN_RIGHT = 1701, 851  # 30 mm, 15 mm
TEXT_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT  # 9354 twips, 16.5 cm
HEADING_LEFT = 3685  # 6.5 cm: the issuing body's column
HEADING_RIGHT = TEXT_WIDTH - HEADING_LEFT  # 10 cm: the national heading fits on one line
CELL_MARGIN = 108  # Word's default left and right cell margin
SHORT_LINE = 0.4  # of the text above it: NĐ 30 asks for ⅓ to ½
RULE_PT = 1  # the height of the paragraph that carries a drawn line
RULE_GAP_PT = 2  # between the text and the line under it (the descenders stay clear)

# Advance widths (1/1000 em) of Times Roman and Times Bold for the characters 32–126 (Adobe's
# core font metrics; Times New Roman and Liberation Serif share them closely). A Vietnamese
# letter is as wide as its base letter.
_ROMAN = (
    "250 333 408 500 500 833 778 333 333 333 500 564 250 333 250 278 500 500 500 500 500 500 500 500 "
    "500 500 278 278 564 564 564 444 921 722 667 667 722 611 556 722 722 333 389 722 611 889 722 722 "
    "556 722 667 556 611 722 722 944 722 722 611 333 278 333 469 500 333 444 500 444 500 444 333 500 "
    "500 278 278 500 278 778 500 500 500 500 333 389 278 500 500 722 500 500 444 480 200 480 541"
)
_BOLD = (
    "250 333 555 500 500 1000 833 333 333 333 500 570 250 333 250 278 500 500 500 500 500 500 500 500 "
    "500 500 333 333 570 570 570 500 930 722 667 722 722 667 611 778 778 389 500 778 667 944 722 778 "
    "611 778 722 556 667 722 722 1000 722 722 667 333 278 333 581 500 333 500 556 444 556 444 333 500 "
    "556 278 333 556 278 833 556 500 556 556 444 389 333 556 500 722 500 500 444 394 220 394 520"
)
_WIDTHS = {False: tuple(map(int, _ROMAN.split())), True: tuple(map(int, _BOLD.split()))}
_WIDE = {"…": 1000, "—": 1000, "–": 500, "“": 444, "”": 444, "‘": 333, "’": 333}
# Characters XML 1.0 cannot hold (control characters a pasted text may carry).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str) -> str:
    """The text without the characters an XML document cannot hold (they would make the save
    fail): a control character pasted into a unit's name must not stop the paper."""
    return _NOT_XML.sub("", text)


def text_width(text: str, size_pt: float, *, bold: bool = False) -> int:
    """The estimated width, in twips, of `text` on one line in Times New Roman."""
    table = _WIDTHS[bold]
    total = 0
    for char in text:
        base = unicodedata.normalize("NFD", char)[0]
        base = {"đ": "d", "Đ": "D"}.get(base, base)
        code = ord(base)
        total += table[code - 32] if 32 <= code < 127 else _WIDE.get(char, 500)
    return round(total / 1000 * size_pt * 20)


def place_and_date(place: str | None, date: dt.date) -> str:
    """`Hà Nội, ngày 27 tháng 02 năm 2024`: NĐ 30/2020 pads a day below 10 and the months
    January and February (so that nobody can add a digit in front of them). Without a place,
    `……………, ngày 27 tháng 02 năm 2024`."""
    place = (place or "").strip() or UNKNOWN_PLACE
    return f"{place}, {date_words(date)}"


def date_words(date: dt.date) -> str:
    """`ngày 05 tháng 02 năm 2024` (NĐ 30's padding, as in `place_and_date`)."""
    day = f"{date.day:02d}" if date.day < 10 else str(date.day)
    month = f"{date.month:02d}" if date.month < 3 else str(date.month)
    return f"ngày {day} tháng {month} năm {date.year}"


def number_line(number: str | int | None, symbol: str | None) -> str:
    """`Số: 12/BB-CTĐ`; what is not known yet is dotted: `Số: ……/……`."""
    number_text = str(number).strip() if number is not None else ""
    return f"Số: {number_text or DOTS}/{(symbol or '').strip() or DOTS}"


def time_of_day(value: dt.datetime) -> str:
    """`09 giờ 05 phút`, as minutes open."""
    return f"{value.hour:02d} giờ {value.minute:02d} phút"


@dataclass(frozen=True)
class Heading:
    """The top of the first page."""

    body: str  # the issuing body, e.g. "Cụm thi đua số 3" (written in capitals)
    date: dt.date
    upper_body: str | None = None  # the body above it, e.g. "UBND tỉnh X" (capitals, regular)
    place: str | None = None  # before the date; None leaves the dotted space
    number: str | int | None = None
    symbol: str | None = None


@dataclass(frozen=True)
class Signature:
    """One signature block. `title` may be several lines ("CHỦ TRÌ", "CỤM TRƯỞNG")."""

    title: str | Sequence[str]
    name: str = ""  # blank leaves the room to write it
    on_behalf_of: str | None = None  # "TM. <this>" above the title
    note: str = SIGN_NOTE


@dataclass(frozen=True)
class Run:
    text: str
    bold: bool = False
    italic: bool = False


@dataclass(frozen=True)
class Column:
    header: str
    width: int  # twips
    align: str = "left"  # left | center | right


ALIGN = {"left": "left", "center": "center", "right": "right", "justify": "both"}


def cm(value: float) -> int:
    """Centimetres in whole twips (widths stay integers, so grid and cells agree exactly)."""
    return round(value * TWIPS_PER_CM)


def columns_to_width(columns: Sequence[Column], total: int = TEXT_WIDTH) -> list[Column]:
    """The columns scaled to `total` twips, the rounding left on the widest one (the grid and
    the table's width add up exactly)."""
    given = sum(c.width for c in columns)
    widths = [c.width * total // given for c in columns]
    widest = max(range(len(widths)), key=lambda i: widths[i])
    widths[widest] += total - sum(widths)
    return [Column(c.header, w, c.align) for c, w in zip(columns, widths, strict=True)]


# ------------------------------------------------------------------------------ XML helpers


def _el(tag: str, **attrs: str | int) -> OxmlElement:
    element = OxmlElement(tag)
    for key, value in attrs.items():
        element.set(qn(f"w:{key}"), str(value))
    return element


def _child(parent, tag: str, **attrs: str | int):
    """The child `tag` of `parent`, replaced by a fresh one with `attrs`."""
    for old in parent.findall(qn(tag)):
        parent.remove(old)
    element = _el(tag, **attrs)
    parent.append(element)
    return element


def _run_properties(rpr, *, bold: bool = False, italic: bool = False, size: float | None = None) -> None:
    if bold:
        rpr.append(_el("w:b"))
        rpr.append(_el("w:bCs"))
    if italic:
        rpr.append(_el("w:i"))
        rpr.append(_el("w:iCs"))
    if size is not None:
        rpr.append(_el("w:sz", val=round(size * 2)))
        rpr.append(_el("w:szCs", val=round(size * 2)))


def _run(text: str, *, bold: bool = False, italic: bool = False, size: float | None = None):
    run = _el("w:r")
    rpr = _el("w:rPr")
    _run_properties(rpr, bold=bold, italic=italic, size=size)
    if len(rpr):
        run.append(rpr)
    for index, line in enumerate(clean(text).split("\n")):
        if index:
            run.append(_el("w:br"))
        t = _el("w:t")
        t.text = line
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        run.append(t)
    return run


def _paragraph_xml(
    runs: Iterable, *, align: str = "center", before: float = 0, after: float = 0, size: float | None = None,
    keep_next: bool = False, left: int = 0, right: int = 0, first_line: int = 0,
):  # fmt: skip
    p = _el("w:p")
    ppr = _el("w:pPr")
    if keep_next:
        ppr.append(_el("w:keepNext"))
    ppr.append(_el("w:spacing", before=round(before * 20), after=round(after * 20)))
    if left or right or first_line:
        ppr.append(_el("w:ind", left=left, right=right, firstLine=first_line))
    ppr.append(_el("w:jc", val=ALIGN[align]))
    if size is not None:  # the paragraph mark's size, so an empty line is as high as its text
        mark = _el("w:rPr")
        _run_properties(mark, size=size)
        ppr.append(mark)
    p.append(ppr)
    for run in runs:
        p.append(run)
    return p


def _rule_xml(length: int, room: int):
    """A drawn line `length` twips long, centred in `room` twips: the top border of an empty
    paragraph exactly RULE_PT high whose indents leave `length` between them."""
    length = max(1, min(length, room))
    side = (room - length) // 2
    p = _el("w:p")
    ppr = _el("w:pPr")
    borders = _el("w:pBdr")
    borders.append(_el("w:top", val="single", sz=6, space=0, color="000000"))
    ppr.append(borders)
    ppr.append(_el("w:spacing", before=RULE_GAP_PT * 20, after=0, line=RULE_PT * 20, lineRule="exact"))
    ppr.append(_el("w:ind", left=side, right=room - length - side, firstLine=0))
    ppr.append(_el("w:jc", val="center"))
    mark = _el("w:rPr")
    _run_properties(mark, size=RULE_PT)
    ppr.append(mark)
    p.append(ppr)
    return p


def _table_xml(widths: Sequence[int], *, borders: bool, align: str = "center"):
    """An empty `w:tbl` whose grid columns are exactly `widths`, in fixed layout."""
    tbl = _el("w:tbl")
    tblpr = _el("w:tblPr")
    tblpr.append(_el("w:tblW", w=sum(widths), type="dxa"))
    tblpr.append(_el("w:jc", val=align))
    edges = _el("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        if borders:
            edges.append(_el(f"w:{edge}", val="single", sz=4, space=0, color="000000"))
        else:
            edges.append(_el(f"w:{edge}", val="nil"))
    tblpr.append(edges)
    tblpr.append(_el("w:tblLayout", type="fixed"))
    margins = _el("w:tblCellMar")
    margins.append(_el("w:left", w=CELL_MARGIN, type="dxa"))
    margins.append(_el("w:right", w=CELL_MARGIN, type="dxa"))
    tblpr.append(margins)
    tblpr.append(_el("w:tblLook", val="0000", firstRow=0, lastRow=0, firstColumn=0, lastColumn=0,
                     noHBand=1, noVBand=1))  # fmt: skip
    tbl.append(tblpr)
    grid = _el("w:tblGrid")
    for width in widths:
        grid.append(_el("w:gridCol", w=width))
    tbl.append(grid)
    return tbl


def _row_xml(header: bool = False):
    tr = _el("w:tr")
    trpr = _el("w:trPr")
    trpr.append(_el("w:cantSplit"))
    if header:
        trpr.append(_el("w:tblHeader"))
    tr.append(trpr)
    return tr


def _cell_xml(width: int, paragraphs: Sequence, *, v_align: str | None = None):
    tc = _el("w:tc")
    tcpr = _el("w:tcPr")
    tcpr.append(_el("w:tcW", w=width, type="dxa"))
    if v_align:
        tcpr.append(_el("w:vAlign", val=v_align))
    tc.append(tcpr)
    for p in paragraphs or [_paragraph_xml([])]:
        tc.append(p)
    return tc


# ------------------------------------------------------------------------------ the builder


class Paper:
    """A paper being written: the heading on construction, then titles, paragraphs, tables,
    signatures and the Nơi nhận in the order they are added; `to_bytes()` at the end."""

    def __init__(self, heading: Heading, *, title: str | None = None) -> None:
        self.document = Document()
        self._body = self.document.element.body
        self._setup_page()
        self._setup_styles()
        self._page_numbers()
        self._heading(heading)
        if title:
            self.document.core_properties.title = clean(title)
        self.document.core_properties.language = LANGUAGE

    # -- page, styles, header

    def _setup_page(self) -> None:
        section = self.document.sections[0]
        section.page_width, section.page_height = Twips(PAGE_WIDTH), Twips(PAGE_HEIGHT)
        section.top_margin, section.bottom_margin = Twips(MARGIN_TOP), Twips(MARGIN_BOTTOM)
        section.left_margin, section.right_margin = Twips(MARGIN_LEFT), Twips(MARGIN_RIGHT)
        section.header_distance = Twips(567)  # 1 cm: the page number sits in the top margin
        section.start_type = WD_SECTION.NEW_PAGE

    def _setup_styles(self) -> None:
        """Times New Roman and vi-VN on the document defaults and on every style; 13 pt and the
        paragraph spacing on the defaults and on Normal."""
        styles = self.document.styles.element
        defaults = styles.find(qn("w:docDefaults"))
        rpr_default = defaults.find(qn("w:rPrDefault"))
        rpr = rpr_default.find(qn("w:rPr"))
        if rpr is None:
            rpr = _child(rpr_default, "w:rPr")
        _fonts(rpr)
        _child(rpr, "w:sz", val=BODY_PT * 2)
        _child(rpr, "w:szCs", val=BODY_PT * 2)
        _language(rpr)
        for style in styles.findall(qn("w:style")):
            style_rpr = style.find(qn("w:rPr"))
            if style_rpr is None:
                style_rpr = _el("w:rPr")
                style.append(style_rpr)
            _fonts(style_rpr)
            _language(style_rpr)
        for fonts in styles.iter(qn("w:rFonts")):  # the table styles' conditional formats too
            _font_names(fonts)
        for name in ("Normal", "Header", "Footer"):
            style = self.document.styles[name]
            style.font.size = Pt(BODY_PT)
            size = style.element.rPr.find(qn("w:sz"))
            for old in style.element.rPr.findall(qn("w:szCs")):
                style.element.rPr.remove(old)
            size.addnext(_el("w:szCs", val=BODY_PT * 2))
        normal = self.document.styles["Normal"].paragraph_format
        normal.space_before, normal.space_after = Pt(0), Pt(PARAGRAPH_GAP_PT)
        normal.line_spacing = 1.15
        # The template's stylesWithEffects.xml (for Word 2010) is a second copy of the styles, in
        # English and Calibri: dropped, so the one styles part above is the only one.
        rels = self.document.part.rels
        for key in [k for k, rel in rels.items() if rel.reltype.endswith("/stylesWithEffects")]:
            del rels[key]
        settings = self.document.settings.element
        theme = settings.find(qn("w:themeFontLang"))
        if theme is not None:
            for key in ("val", "eastAsia", "bidi"):
                theme.set(qn(f"w:{key}"), LANGUAGE)

    def _page_numbers(self) -> None:
        """Page 2 onwards: the number at the top centre; page 1: nothing."""
        section = self.document.sections[0]
        section.different_first_page_header_footer = True
        section.first_page_header.is_linked_to_previous = False  # an empty first-page header
        header = section.header
        header.is_linked_to_previous = False
        paragraph = header.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p = paragraph._p
        for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "2"), ("end", None)):
            run = _el("w:r")
            rpr = _el("w:rPr")
            _run_properties(rpr, size=BODY_PT)
            run.append(rpr)
            if kind is not None:
                run.append(_el("w:fldChar", fldCharType=kind))
            elif text == " PAGE ":
                instr = _el("w:instrText")
                instr.text = text
                instr.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
                run.append(instr)
            else:
                t = _el("w:t")
                t.text = text
                run.append(t)
            p.append(run)

    # -- the heading

    def _heading(self, heading: Heading) -> None:
        widths = (HEADING_LEFT, HEADING_RIGHT)
        tbl = _table_xml(widths, borders=False)
        left_room, right_room = (w - 2 * CELL_MARGIN for w in widths)
        body = clean(heading.body).strip().upper()
        left = []
        if heading.upper_body and heading.upper_body.strip():
            left.append(_paragraph_xml([_run(heading.upper_body.strip().upper(), size=HEADING_PT)]))
        left.append(_paragraph_xml([_run(body, bold=True, size=HEADING_PT)]))
        body_line = min(text_width(body, HEADING_PT, bold=True), left_room)
        left.append(_rule_xml(round(body_line * SHORT_LINE), left_room))
        motto_line = min(text_width(MOTTO, BODY_PT, bold=True), right_room)
        right = [
            _paragraph_xml([_run(NATIONAL_HEADING, bold=True, size=HEADING_PT)]),
            _paragraph_xml([_run(MOTTO, bold=True, size=BODY_PT)]),
            _rule_xml(motto_line, right_room),
        ]
        top = _row_xml()
        top.append(_cell_xml(widths[0], left))
        top.append(_cell_xml(widths[1], right))
        tbl.append(top)
        bottom = _row_xml()
        bottom.append(_cell_xml(widths[0], [
            _paragraph_xml([_run(number_line(heading.number, heading.symbol), size=BODY_PT)], before=6),
        ]))  # fmt: skip
        bottom.append(_cell_xml(widths[1], [
            _paragraph_xml([_run(place_and_date(heading.place, heading.date), italic=True, size=BODY_PT)],
                           before=6),
        ]))  # fmt: skip
        tbl.append(bottom)
        self._append(tbl)

    def _append(self, element) -> None:
        self._body.sectPr.addprevious(element)

    # -- content

    def title(self, kind: str, subject: str | None = None, *, before: float = 18) -> None:
        """The kind of paper (bold caps, 14 pt) and its subject (bold, 14 pt), centred, with a
        short line under the last of them."""
        lines = [kind.upper()] + ([subject] if subject else [])
        runs = []
        for index, line in enumerate(lines):
            if index:  # one paragraph, the subject on its own line: no gap inside the title
                runs.append(_el("w:r"))
                runs[-1].append(_el("w:br"))
            runs.append(_run(line, bold=True, size=TITLE_PT))
        self._append(_paragraph_xml(runs, before=before, after=0, keep_next=True))
        width = min(text_width(clean(lines[-1]), TITLE_PT, bold=True), TEXT_WIDTH)
        rule = _rule_xml(round(width * SHORT_LINE), TEXT_WIDTH)
        rule.find(qn("w:pPr")).find(qn("w:spacing")).set(qn("w:after"), str(12 * 20))
        self._append(rule)

    def centered(self, text: str | Sequence[Run], *, bold: bool = False, italic: bool = False,
                 size: float | None = None, before: float = 0, after: float = PARAGRAPH_GAP_PT,
                 keep_next: bool = False) -> None:  # fmt: skip
        self._append(_paragraph_xml(self._runs(text, bold, italic, size), align="center", before=before,
                                    after=max(after, PARAGRAPH_GAP_PT), keep_next=keep_next))  # fmt: skip

    def paragraph(self, text: str | Sequence[Run], *, bold: bool = False, italic: bool = False,
                  size: float | None = None, indent: bool = True, align: str = "justify",
                  before: float = 0, keep_next: bool = False) -> None:  # fmt: skip
        """A body paragraph: justified, first line indented 1 cm, 6 pt after."""
        self._append(_paragraph_xml(
            self._runs(text, bold, italic, size), align=align, before=before, after=PARAGRAPH_GAP_PT,
            keep_next=keep_next, first_line=cm(1) if indent else 0,
        ))  # fmt: skip

    def section(self, text: str, *, before: float = 6) -> None:
        """A section heading ("I. …"): bold, kept with what follows."""
        self.paragraph(text, bold=True, indent=False, align="left", before=before, keep_next=True)

    @staticmethod
    def _runs(text: str | Sequence[Run], bold: bool, italic: bool, size: float | None) -> list:
        parts = [Run(text, bold, italic)] if isinstance(text, str) else list(text)
        return [_run(part.text, bold=part.bold, italic=part.italic, size=size) for part in parts]

    def page_break(self) -> None:
        paragraph = self.document.add_paragraph()  # added before the section's properties
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run().add_break(WD_BREAK.PAGE)

    def table(self, columns: Sequence[Column], rows: Iterable[Sequence[str | Run]], *, size: float | None = None,
              bold_rows: Sequence[int] = ()) -> None:  # fmt: skip
        """A bordered table: a bold header row repeated on every page, rows kept whole, the
        grid's columns exactly the cells' widths. `columns` are scaled to the text width; a cell
        is a str or a `Run` (bold/italic); a newline starts a new paragraph in the cell."""
        columns = columns_to_width(columns)
        widths = [c.width for c in columns]
        tbl = _table_xml(widths, borders=True)
        header = _row_xml(header=True)
        for column in columns:
            header.append(_cell_xml(column.width, [
                _paragraph_xml([_run(column.header, bold=True, size=size)], before=2, after=2),
            ], v_align="center"))  # fmt: skip
        tbl.append(header)
        bold = set(bold_rows)
        for index, row in enumerate(rows):
            tr = _row_xml()
            for column, value in zip(columns, row, strict=True):
                part = value if isinstance(value, Run) else Run(str(value))
                paragraphs = [
                    _paragraph_xml([_run(line, bold=part.bold or index in bold, italic=part.italic, size=size)],
                                   align=column.align, before=2, after=2)
                    for line in part.text.split("\n")
                ]  # fmt: skip
                tr.append(_cell_xml(column.width, paragraphs, v_align="center"))
            tbl.append(tr)
        self._append(tbl)
        self._spacer()

    def signatures(self, blocks: Sequence[Signature], *, per_row: int = 2, before: float = 12,
                   recipients: Sequence[str] | None = None, filed_by: str | None = None) -> None:  # fmt: skip
        """Signature blocks in a borderless grid, `per_row` to a row (a row is never split
        across pages; a lone last block goes to the right, where one signer signs). The names
        of one row stand on one line, whatever the number of title lines above them.

        With `recipients`, the *Nơi nhận* goes into the last row's first cell (beside a lone
        block, or under the left block's name): at the bottom left, and on the same page as
        the last signatures, in every application (a "keep with next" between two tables is
        not honoured alike)."""
        if not blocks:
            return
        per_row = max(1, min(per_row, len(blocks)))
        width = TEXT_WIDTH // per_row
        widths = [width] * per_row
        widths[-1] += TEXT_WIDTH - sum(widths)
        room = width - 2 * CELL_MARGIN
        tbl = _table_xml(widths, borders=False)
        starts = range(0, len(blocks), per_row)
        for start in starts:
            chunk = list(blocks[start : start + per_row])
            if len(chunk) < per_row:
                chunk = [None] * (per_row - len(chunk)) + chunk
            lines = max(_heading_lines(block, room) for block in chunk)
            tr = _row_xml()
            for column, (cell_width, block) in enumerate(zip(widths, chunk, strict=True)):
                pad = lines - _heading_lines(block, room) if block is not None else 0
                paragraphs = _signature_xml(block, before if start == 0 else 18, pad=pad)
                if recipients is not None and start == starts[-1] and column == 0:
                    listed = recipients_xml(recipients, filed_by)
                    if paragraphs:  # under the name, a little apart
                        listed[0].find(qn("w:pPr")).find(qn("w:spacing")).set(qn("w:before"), str(18 * 20))
                    else:
                        listed[0].find(qn("w:pPr")).find(qn("w:spacing")).set(qn("w:before"), str(before * 20))
                    paragraphs = paragraphs + listed
                tr.append(_cell_xml(cell_width, paragraphs))
            tbl.append(tr)
        self._append(tbl)
        self._spacer()

    def closing(self, recipients: Sequence[str], filed_by: str | None, signature: Signature | None = None) -> None:
        """The bottom of the paper: *Nơi nhận:* at the left, the signature (if any) at the right."""
        widths = (cm(7), TEXT_WIDTH - cm(7))
        tbl = _table_xml(widths, borders=False)
        tr = _row_xml()
        tr.append(_cell_xml(widths[0], recipients_xml(recipients, filed_by)))
        tr.append(_cell_xml(widths[1], _signature_xml(signature, 0) if signature else []))
        tbl.append(tr)
        self._append(tbl)

    def _spacer(self, keep_next: bool = False) -> None:
        """A paragraph after a table: Word needs one between two tables, and it gives the gap."""
        self._append(_paragraph_xml([], align="left", after=PARAGRAPH_GAP_PT, keep_next=keep_next))

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.document.save(buffer)
        return buffer.getvalue()


def _fonts(rpr) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = _el("w:rFonts")
        rpr.insert(0, fonts)
    _font_names(fonts)


def _font_names(fonts) -> None:
    for key in list(fonts.attrib):
        if key.lower().endswith("theme"):  # asciiTheme, cstheme…: a theme font wins over the name
            del fonts.attrib[key]
    for key in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{key}"), FONT)


# What may follow w:lang in a w:rPr (CT_RPr is a sequence: Word refuses a file out of order).
_AFTER_LANG = ("w:eastAsianLayout", "w:specVanish", "w:oMath", "w:rPrChange")


def _language(rpr) -> None:
    """`w:lang` = vi-VN for Latin, East Asian and complex-script text alike, in its place."""
    for old in rpr.findall(qn("w:lang")):
        rpr.remove(old)
    lang = _el("w:lang", val=LANGUAGE, eastAsia=LANGUAGE, bidi=LANGUAGE)
    successor = next((child for child in rpr if child.tag in {qn(t) for t in _AFTER_LANG}), None)
    if successor is not None:
        successor.addprevious(lang)
    else:
        rpr.append(lang)


def _titles(block: Signature) -> list[str]:
    titles = [block.title] if isinstance(block.title, str) else list(block.title)
    if block.on_behalf_of:
        titles.insert(0, f"TM. {block.on_behalf_of.strip()}")
    return [t.upper() for t in titles]


def _heading_lines(block: Signature | None, room: int) -> int:
    """The lines the block's bold capitals take in `room` twips (estimated)."""
    if block is None:
        return 0
    return sum(max(1, -(-text_width(clean(t), BODY_PT, bold=True) // room)) for t in _titles(block))


def _signature_xml(block: Signature | None, before: float, *, pad: int = 0) -> list:
    if block is None:
        return []
    lines = []
    titles = [block.title] if isinstance(block.title, str) else list(block.title)
    # No keep-with-next inside a cell: the row is kept whole (cantSplit), and LibreOffice reads
    # a kept last paragraph as "keep the table with the next paragraph".
    if block.on_behalf_of:
        lines.append(_paragraph_xml([_run(f"TM. {block.on_behalf_of.strip().upper()}", bold=True)],
                                    before=before))  # fmt: skip
        before = 0
    for title in titles:
        lines.append(_paragraph_xml([_run(title.upper(), bold=True)], before=before))
        before = 0
    if block.note:
        lines.append(_paragraph_xml([_run(block.note, italic=True)]))
    # As many empty lines as the row's longest heading has more: the names line up.
    lines.extend(_paragraph_xml([], size=BODY_PT) for _ in range(pad))
    # The room to sign and stamp (about 3 cm), then the name.
    lines.append(_paragraph_xml([_run(block.name.strip(), bold=True)], before=72))
    return lines


def recipients_xml(recipients: Sequence[str], filed_by: str | None) -> list:
    """*Nơi nhận:* and its entries ("- X;"), the last one "- Lưu: VT, <who files it>."."""
    lines = [_paragraph_xml([_run("Nơi nhận:", bold=True, italic=True, size=SMALL_PT)], align="left",
                            size=SMALL_PT)]  # fmt: skip
    for recipient in recipients:
        text = recipient.strip().rstrip(";.")
        if text:
            lines.append(_paragraph_xml([_run(f"- {text};", size=SMALL_PT)], align="left", size=SMALL_PT))
    archive = (filed_by or "").strip().rstrip(".")
    last = f"- Lưu: VT, {archive}." if archive else f"- Lưu: VT, {DOTS}"
    lines.append(_paragraph_xml([_run(last, size=SMALL_PT)], align="left", size=SMALL_PT))
    return lines


def document_text(data: bytes) -> str:
    """Every paragraph and table cell of a .docx, one per line (for tests and checks)."""
    document = Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.extend(cell.text for cell in row.cells)
    return "\n".join(lines)

