"""The result chart (issue 11, item 2): a PNG of the final scores as ranked bars with a
ballot's vote shares beside them, Vietnamese labels drawn with a font that has every letter,
readable from 5 to 300 units, pure and safe to run in threads."""

from __future__ import annotations

import logging
import struct
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from fractions import Fraction

import pytest
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text

from bot.papers import chart as result_chart
from bot.papers.chart import MAX_NAME, ResultChart, UnitBar, percent, points, shorten

# Every vowel of Vietnamese with every tone, and Đ: if one is missing from the font, a box.
VOWELS = "aăâeêioôơuưy"
TONED = "".join(
    "".join(v + mark for mark in ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")) for v in VOWELS
)
DIACRITICS = ("Sở Tư pháp", "Ủy ban nhân dân tỉnh Đắk Lắk", "Bằng khen", "Cờ thi đua", "Đoàn Thanh niên",
              "Hội Cựu chiến binh", "Liên đoàn Lao động", "Ngữ Ưởng Ỷ Ỹ Ỵ Ữ Ự")  # fmt: skip


def letters() -> str:
    """Every toned Vietnamese letter in both cases, composed (what a person types and Telegram
    sends)."""
    import unicodedata

    lower = unicodedata.normalize("NFC", TONED + "đ")
    return lower + lower.upper()


def alphabet_names() -> list[str]:
    """Unit names that, together, carry every letter of `letters()` (short enough not to be cut)."""
    letters_ = letters()
    return [f"Đơn vị {letters_[i:i + 24]}" for i in range(0, len(letters_), 24)]


def shown_texts(figure) -> list[str]:
    figure.canvas.draw()
    return [t.get_text() for t in figure.findobj(Text) if t.get_text() and t.get_visible()]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def bars(n: int, **extra) -> ResultChart:
    units = tuple(
        UnitBar(f"Hội Liên hiệp Phụ nữ tỉnh Đắk Lắk và các đơn vị trực thuộc số {i}",
                Decimal(9550 - 37 * i) / 100, Fraction(5, 8) if i == 0 else None, proposed=i == 0)
        for i in range(n)
    )  # fmt: skip
    return ResultChart(2026, "Cụm thi đua số 3", units, **extra)


FIVE = ResultChart(
    2026,
    "Cụm thi đua số 3",
    (
        UnitBar("Ủy ban nhân dân tỉnh Đắk Lắk", Decimal("94.125"), Fraction(3, 8)),
        UnitBar("Sở Tư pháp", Decimal("95.5"), Fraction(5, 8), proposed=True),
        UnitBar("Cờ thi đua và Bằng khen của Hội Cựu chiến binh", Decimal("94.125"), Fraction(0)),
        UnitBar("Đoàn Thanh niên", Decimal(80)),
        UnitBar("Liên đoàn Lao động", None),
    ),
    ballot="Cờ thi đua của Chính phủ",
    threshold=Fraction(1, 2),
)


def test_the_png_opens_and_its_height_grows_with_the_units():
    small, thirty = result_chart.png(FIVE), result_chart.png(bars(30, ballot="Bằng khen"))
    (w5, h5), (w30, h30) = png_size(small), png_size(thirty)
    assert w5 == w30 == round(result_chart.WIDTH_IN * result_chart.DPI)
    assert 300 < h5 < 700 and h30 > h5 + 25 * result_chart.ROW_IN * result_chart.DPI * 0.9
    assert small[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82"  # a whole file
    assert b"Matplotlib" not in small  # no version in the metadata: same data, same bytes


def test_ranked_bars_with_vietnamese_numbers_and_vote_shares():
    texts = shown_texts(result_chart.figure(FIVE))
    labels = [t for t in texts if t[:2] in {"1.", "2.", "3.", "4.", "5.", "– "}]
    assert labels == [  # by score; equal scores share a place, in the order given; no score last
        "1. Sở Tư pháp",
        "2. Ủy ban nhân dân tỉnh Đắk Lắk",
        "2. Cờ thi đua và Bằng khen của Hội Cựu…",
        "4. Đoàn Thanh niên",
        "– Liên đoàn Lao động",
    ]
    assert ["95,50", "94,13", "94,13", "80,00"] == [t for t in texts if t in {"95,50", "94,13", "80,00"}]
    assert "chưa có điểm" in " ".join(texts)
    assert {"62,5%", "37,5%", "0%"} <= set(texts)
    assert "Kết quả thi đua năm 2026 — Cụm thi đua số 3" in texts
    assert "Phiếu bầu: Cờ thi đua\ncủa Chính phủ" in texts  # wrapped to fit its panel
    assert "Tỷ lệ phiếu (%)\nngưỡng 50% (- - -)" in texts
    assert "Được đề nghị khen thưởng" in texts


def test_without_a_ballot_there_is_no_votes_panel():
    drawing = result_chart.figure(bars(5))
    assert len(drawing.axes) == 1
    assert not any(t.endswith("%") for t in shown_texts(drawing))


def render_quietly(chart: ResultChart, caplog) -> tuple[list[warnings.WarningMessage], list[str]]:
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG, "matplotlib"):
        warnings.simplefilter("always")
        data = result_chart.png(chart)
    png_size(data)
    return caught, [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_vietnamese_letters_render_without_a_missing_glyph(caplog):
    names = list(DIACRITICS) + alphabet_names()
    chart = ResultChart(2026, "Cụm thi đua số 3 — Đắk Lắk",
                        tuple(UnitBar(n, Decimal(90 - i), Fraction(1, 3)) for i, n in enumerate(names)),
                        ballot="Bằng khen của Thủ tướng Chính phủ, Cờ thi đua", threshold=Fraction(1, 2))  # fmt: skip
    caught, logged = render_quietly(chart, caplog)
    assert [str(w.message) for w in caught] == []
    assert logged == []
    # and by the font itself: every character drawn is in the DejaVu Sans files the chart uses
    styles = ((False, False), (True, False), (False, True))
    covered = set.intersection(*(set(FT2Font(str(result_chart.font_file(*s))).get_charmap()) for s in styles))
    drawn = "".join(shown_texts(result_chart.figure(chart)))
    assert set(letters()) <= set(drawn) and len(set(letters())) == 2 * (6 * len(VOWELS) + 1)
    assert [c for c in set(drawn) if c != "\n" and ord(c) not in covered] == []


def test_the_glyph_check_would_catch_a_font_without_vietnamese(caplog):
    """The same check, on a font matplotlib ships that has no Vietnamese letters (Computer
    Modern), does see the missing glyphs: the test above is not passing by accident."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    figure = Figure()
    FigureCanvasAgg(figure)
    cmr = FontProperties(fname=str(result_chart.font_file().parent / "cmr10.ttf"))
    figure.text(0.1, 0.5, " ".join(DIACRITICS), fontproperties=cmr)
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.DEBUG, "matplotlib"):
        warnings.simplefilter("always")
        figure.canvas.draw()
    found = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert any("missing" in m.lower() for m in found), found


def test_thirty_units_each_on_its_row_with_long_names_shortened():
    drawing = result_chart.figure(bars(30, ballot="Cờ thi đua"))
    scores = drawing.axes[0]
    labels = [t.get_text() for t in scores.get_yticklabels()]
    assert len(labels) == 30 and len(set(labels)) == 30
    assert labels[0].startswith("1. ") and labels[-1].startswith("30. ")
    assert all(len(label) <= MAX_NAME and label.endswith("…") for label in labels)
    assert labels[9] == "10. Hội Liên hiệp Phụ nữ tỉnh Đắk Lắk…"
    values = [p.get_width() for p in scores.patches]
    assert values == sorted(values, reverse=True) and len(values) == 30


def test_three_hundred_units_stay_within_a_telegram_photo():
    width, height = png_size(result_chart.png(bars(300, ballot="Cờ thi đua")))
    assert width + height <= 10_000 and height / width <= 20


def test_no_unit_draws_the_title_and_a_note():
    empty = ResultChart(2026, "Cụm thi đua số 3", (), ballot="Cờ thi đua")
    texts = shown_texts(result_chart.figure(empty))
    assert sorted(texts) == ["Chưa có đơn vị nào để xếp hạng.", "Kết quả thi đua năm 2026 — Cụm thi đua số 3"]
    png_size(result_chart.png(empty))


def test_the_same_input_gives_the_same_bytes_in_parallel_threads():
    charts = [FIVE, bars(12, ballot="Bằng khen"), bars(7)]
    alone = [result_chart.png(c) for c in charts]
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(result_chart.png, charts * 2))
    assert together == alone * 2


def test_drawing_never_loads_pyplot():
    code = ("import sys; from bot.papers import chart; from tests.test_chart import FIVE; chart.png(FIVE); "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot'; print('ok')")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("95.5"), "95,50"),
        (Decimal("94.125"), "94,13"),  # half-up, as bot.fmt rounds
        (Decimal(80), "80,00"),
        (Decimal("0"), "0,00"),
        (Decimal("-2"), "−2,00"),
        (Decimal("1234.5"), "1.234,50"),
    ],
)
def test_points_have_two_decimals_and_a_comma(value, text):
    assert points(value) == text


@pytest.mark.parametrize(
    ("share", "text"),
    [(Fraction(5, 8), "62,5%"), (Fraction(2, 3), "66,67%"), (Fraction(1), "100%"), (Fraction(0), "0%"),
     (Fraction(1, 200), "0,5%")],
)  # fmt: skip
def test_shares_are_vietnamese_percentages(share, text):
    assert percent(share) == text


@pytest.mark.parametrize(
    ("name", "limit", "text"),
    [
        ("Sở Tư pháp", 40, "Sở Tư pháp"),
        ("Ủy ban nhân dân tỉnh Đắk Lắk", 20, "Ủy ban nhân dân…"),
        ("Ủy ban nhân dân tỉnh Đắk Lắk", 28, "Ủy ban nhân dân tỉnh Đắk Lắk"),
        ("Hội  Cựu   chiến binh", 40, "Hội Cựu chiến binh"),  # spaces collapsed
        ("Liên đoàn Lao động, Công đoàn ngành", 22, "Liên đoàn Lao động…"),  # no dangling comma
        ("Bằngkhencủathủtướngchínhphủ", 10, "Bằngkhenc…"),  # one long word is cut inside
    ],
)
def test_long_names_are_shortened_at_a_word(name, limit, text):
    assert shorten(name, limit) == text
    assert len(shorten(name, limit)) <= limit
