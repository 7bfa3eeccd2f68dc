"""Typed set-up answers: the emulation year and the place of the pledge document (pure rules)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import Refusal
from bot.i18n import use_locale
from bot.pledge_document import UNKNOWN_PLACE, place_and_date
from bot.setup_input import FIRST_YEAR, check_year, clean_place, parse_year

THIS_YEAR = 2026


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("2017", 2017),
        ("năm 2017", 2017),
        ("Năm 2017", 2017),
        ("NĂM 2017", 2017),
        ("năm2017", 2017),
        ("nam 2017", 2017),
        ("  2017  ", 2017),
        ("2017.", 2017),
        ("na\u0306m 2017", 2017),  # "năm" typed with a combining breve (NFD)
        ("2000", FIRST_YEAR),
        ("2027", THIS_YEAR + 1),
    ],
)
def test_a_year_is_read_as_people_type_it(text, year):
    assert parse_year(text, THIS_YEAR) == year


@pytest.mark.parametrize(
    "text",
    [
        None, "", "   ", "99999999", "²⁰¹⁷", "２０１７", "٢٠١٧", "1999", "2028", "17", "0x7e1", "2017-2018",
        "năm 2017 và 2018", "hai nghìn không trăm mười bảy", "-2017", "+2017", "2017,5", "2 017",
        "2017" + "\u200b", "<b>2017</b>", "năm " * 30 + "2017", "2017" * 1000,
    ],
)
def test_anything_else_is_refused_politely(text):
    with use_locale("vi"), pytest.raises(Refusal, match=f"Hãy nhập một năm từ 2000 đến {THIS_YEAR + 1}"):
        parse_year(text, THIS_YEAR)


@pytest.mark.parametrize(("year", "ok"), [(1999, False), (2000, True), (2026, True), (2027, True), (2028, False)])
def test_the_year_range_is_2000_to_next_year(year, ok):
    if ok:
        assert check_year(year, THIS_YEAR) == year
    else:
        with pytest.raises(Refusal):
            check_year(year, THIS_YEAR)


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("TP. Hồ Chí Minh", "TP. Hồ Chí Minh"),
        ("  Thừa Thiên   Huế ", "Thừa Thiên Huế"),
        ("Đà\nNẵng", "Đà Nẵng"),
        ("Hue\u0302\u0301", "Huế"),  # typed decomposed (NFD), stored composed
        ("<b>Huế</b>", "<b>Huế</b>"),  # kept as typed; escaped wherever it is shown
        ("x" * 100, "x" * 100),
    ],
)
def test_a_place_is_trimmed_and_kept(text, place):
    assert clean_place(text) == place


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "Hãy nhập địa danh"),
        ("   ", "Hãy nhập địa danh"),
        ("x" * 101, "101 ký tự"),
        ("Hu\u200be", "chỉ gồm chữ"),
        ("Hu\x00e", "chỉ gồm chữ"),
        ("Hu\x1be", "chỉ gồm chữ"),
        ("Huế\u202e", "chỉ gồm chữ"),
    ],
)
def test_a_place_that_cannot_stand_on_the_document_is_refused(text, message):
    with use_locale("vi"), pytest.raises(Refusal, match=message):
        clean_place(text)


def test_without_a_place_the_date_line_leaves_dots_not_a_city():
    assert place_and_date(None, dt.date(2024, 2, 27)) == f"{UNKNOWN_PLACE}, ngày 27 tháng 02 năm 2024"
    assert place_and_date("  ", dt.date(2024, 2, 27)).startswith("……")
