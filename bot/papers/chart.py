"""The result chart (issue 11, item 2): a PNG of the final scores per unit as horizontal bars,
ranked, with the vote shares of one ballot beside them, for the group and the papers.

- Left: one bar per unit, the first place on top, labelled "1. Sở Tư pháp" (a long name is
  shortened with "…") and its score at the bar's end in Vietnamese format, `95,50`. A unit
  proposed for the award is drawn in another colour (with a legend). A unit with no score has no
  bar and says so, at the bottom.
- Right, when a ballot is given: the share of that ballot's basis each candidate received, as a
  bar on a 0–100 % scale labelled `62,5%`, with the threshold as a dashed line. The two panels
  share the rows, so a unit's score and votes are read on one line.
- The height grows with the number of units (5 to 300 stay readable; past ~60 the type gets
  smaller so the picture stays within what Telegram accepts as a photo).

Pure and thread-safe: a frozen `ResultChart` in, PNG bytes out. It draws on its own
`matplotlib.figure.Figure` with the Agg canvas — never `pyplot`, which keeps global state —
so the caller may run it in `asyncio.to_thread`. Every text is drawn with the DejaVu Sans that
matplotlib ships (it has every Vietnamese letter: "Đắk Lắk", "Ủy ban"), by file, so no system
font without them can be picked instead. The same input gives the same bytes (no timestamp or
version in the PNG's metadata).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from bot import fmt
from bot.scoring import ranks

MAX_NAME = 40  # characters of a unit's name on its label
BALLOT_LINE = 22  # characters a line of the votes panel's title holds
DPI = 110
WIDTH_IN = 11.0
ROW_IN = 0.34  # one unit's row, up to CROWDED units
CROWDED = 60
MAX_HEIGHT_IN = 78.0  # 8580 px high, 1210 wide: Telegram takes a photo of width + height ≤ 10000 px
BAR = "#4a7ab5"
PROPOSED = "#c8102e"  # the red of a "Cờ thi đua"
SHARE = "#e0a526"
MUTED = "#6b6b6b"


@dataclass(frozen=True)
class UnitBar:
    name: str
    score: Decimal | None  # the final score; None: not scored (no bar)
    share: Fraction | None = None  # of the ballot's basis; None: not a candidate of that ballot
    proposed: bool = False  # proposed for the award: drawn in the award's colour


@dataclass(frozen=True)
class ResultChart:
    year: int
    cluster: str  # "Cụm thi đua số 3"
    units: tuple[UnitBar, ...]  # any order: the chart ranks them by score
    ballot: str | None = None  # what the shares are of ("Cờ thi đua của Chính phủ"); None: no votes panel
    threshold: Fraction | None = None  # the share a candidate must pass, drawn on the votes panel

    @property
    def title(self) -> str:
        return f"Kết quả thi đua năm {self.year} — {self.cluster}"


def png(chart: ResultChart) -> bytes:
    """The chart as PNG bytes. No unit at all gives the title and a note, not an error: the
    group still sees why there is nothing to draw."""
    buffer = io.BytesIO()
    figure(chart).savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


def figure(chart: ResultChart):
    """The chart as a `matplotlib.figure.Figure` on its own Agg canvas (what `png` saves)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = _ranked(chart.units)
    n = len(rows)
    row_in = ROW_IN if n <= CROWDED else max(min(ROW_IN, (MAX_HEIGHT_IN - 2.2) / n), 0.12)
    size = 10.0 if n <= CROWDED else max(10.0 * row_in / ROW_IN, 5.0)
    height = min(2.2 + row_in * max(n, 4), MAX_HEIGHT_IN)
    drawing = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(drawing)
    drawing.suptitle(chart.title, fontproperties=_font(bold=True), fontsize=15)
    votes = chart.ballot is not None and n > 0
    grid = drawing.add_gridspec(1, 2 if votes else 1, width_ratios=[3.0, 1.25] if votes else [1.0])
    scores = drawing.add_subplot(grid[0, 0])
    if not n:
        scores.set_axis_off()
        scores.text(0.5, 0.5, "Chưa có đơn vị nào để xếp hạng.", ha="center", va="center",
                    transform=scores.transAxes, fontproperties=_font(), fontsize=12, color=MUTED)  # fmt: skip
        return drawing

    positions = list(range(n))
    scored = [r for r in rows if r.unit.score is not None]
    values = [float(r.unit.score) for r in scored]
    top = max([*values, 0.0])
    low = min([*values, 0.0])
    span = (top - low) or 1.0
    scores.barh([r.y for r in scored], values, height=0.68,
                color=[PROPOSED if r.unit.proposed else BAR for r in scored])  # fmt: skip
    for r, value in zip(scored, values, strict=True):
        scores.text(value + span * 0.012 if value >= 0 else value - span * 0.012, r.y, points(r.unit.score),
                    va="center", ha="left" if value >= 0 else "right", fontproperties=_font(bold=r.unit.proposed),
                    fontsize=size)  # fmt: skip
    for r in rows:
        if r.unit.score is None:
            scores.text(0, r.y, " chưa có điểm", va="center", ha="left", fontproperties=_font(italic=True),
                        fontsize=size, color=MUTED)  # fmt: skip
    scores.set_xlim(low - (span * 0.14 if low < 0 else 0), top + span * 0.14)
    scores.set_ylim(n - 0.5, -0.5)  # the first place on top
    scores.set_yticks(positions, [r.label for r in rows], fontproperties=_font(), fontsize=size)
    scores.set_xlabel("Điểm cuối cùng", fontproperties=_font(), fontsize=10)
    _tidy(scores, size)
    if any(r.unit.proposed for r in rows):
        handles = [Patch(color=PROPOSED, label="Được đề nghị khen thưởng"), Patch(color=BAR, label="Đơn vị khác")]
        drawing.legend(handles=handles, loc="outside lower center", ncols=2, prop=_font(size=9), frameon=False)

    if votes:
        shares = drawing.add_subplot(grid[0, 1], sharey=scores)
        candidates = [r for r in rows if r.unit.share is not None]
        percents = [float(r.unit.share) * 100 for r in candidates]
        shares.barh([r.y for r in candidates], percents, height=0.68, color=SHARE)
        for r, value in zip(candidates, percents, strict=True):
            shares.text(value + 1.5, r.y, percent(r.unit.share), va="center", ha="left",
                        fontproperties=_font(bold=r.unit.proposed), fontsize=size)  # fmt: skip
        label = "Tỷ lệ phiếu (%)"
        if chart.threshold is not None:
            shares.axvline(float(chart.threshold) * 100, color=MUTED, linestyle="--", linewidth=1)
            label += f"\nngưỡng {percent(chart.threshold)} (- - -)"
        shares.set_xlim(0, 125)
        shares.set_xticks([0, 25, 50, 75, 100])
        shares.tick_params(labelleft=False, left=False)
        shares.set_xlabel(label, fontproperties=_font(), fontsize=10)
        shares.set_title(_two_lines(f"Phiếu bầu: {chart.ballot}", BALLOT_LINE), fontproperties=_font(bold=True),
                         fontsize=10, loc="left")  # fmt: skip
        _tidy(shares, size)
    scores.set_title("Điểm thi đua", fontproperties=_font(bold=True), fontsize=11, loc="left")
    return drawing


def points(value: Decimal) -> str:
    """`95,50`: two decimals, half-up, a decimal comma (a chart's labels line up that way)."""
    text = format(fmt.round_points(value), "f")
    whole, _dot, fraction = text.lstrip("-").partition(".")
    sign = "−" if value < 0 else ""
    return f"{sign}{fmt.decimal_text(Decimal(whole), 'vi')},{(fraction + '00')[:2]}"


def percent(share: Fraction) -> str:
    """`62,5%`, `66,67%`: the share in percent, two decimals at most, half-up."""
    hundredfold = Decimal(share.numerator * 100) / Decimal(share.denominator)
    return f"{fmt.number(hundredfold, 'vi')}%"


def _two_lines(text: str, width: int) -> str:
    """`text` on at most two lines of `width` characters (the second shortened if need be)."""
    import textwrap

    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > 2:
        lines = [lines[0], shorten(" ".join(lines[1:]), width)]
    return "\n".join(lines)


def shorten(text: str, limit: int = MAX_NAME) -> str:
    """At most `limit` characters, cut at a word and ended with "…" when it was longer."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut and text[limit - 1] != " ":
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:–—-") + "…"


@dataclass(frozen=True)
class _Row:
    y: int
    label: str
    unit: UnitBar


def _ranked(units: tuple[UnitBar, ...]) -> list[_Row]:
    """By score, highest first (equal scores share a place, in the order given); the units
    with no score last, without a place."""
    scored = sorted((u for u in units if u.score is not None), key=lambda u: -u.score)
    places = ranks([u.score for u in scored])
    rows = [_Row(i, shorten(f"{p}. {u.name}"), u) for i, (p, u) in enumerate(zip(places, scored, strict=True))]
    rest = [u for u in units if u.score is None]
    return rows + [_Row(len(rows) + i, shorten(f"– {u.name}"), u) for i, u in enumerate(rest)]


def _tidy(axes, size: float) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis="x", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    axes.tick_params(axis="x", labelsize=9)
    axes.xaxis.set_major_formatter(_number_formatter())


def _number_formatter():
    from matplotlib.ticker import FuncFormatter

    def vi(value: float, _position: int) -> str:
        text = f"{value:g}"
        return text.replace("-", "−").replace(".", ",")

    return FuncFormatter(vi)


def font_file(bold: bool = False, italic: bool = False) -> Path:
    """The DejaVu Sans file matplotlib ships, in the weight and slant asked for."""
    from matplotlib import get_data_path

    style = {(False, False): "", (True, False): "-Bold", (False, True): "-Oblique", (True, True): "-BoldOblique"}
    return Path(get_data_path()) / "fonts" / "ttf" / f"DejaVuSans{style[bold, italic]}.ttf"


def _font(bold: bool = False, italic: bool = False, size: float | None = None):
    from matplotlib.font_manager import FontProperties

    return FontProperties(fname=font_file(bold, italic), size=size)
