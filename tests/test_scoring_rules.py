"""The pure rules of scoring, table-driven: reading a typed score, the quick values, and the
arithmetic (final value, totals, the bonus cap, deductions, group subtotals, ranks, rounding)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot import scoring
from bot.errors import Refusal
from bot.fmt import number, round_points
from bot.i18n import use_locale
from bot.score_export import sheet_title
from bot.score_input import limits, parse_score, quick_values
from bot.scoring import FINAL, SELF, VERIFIED, Line

# ------------------------------------------------------------------------------ typed scores

GOOD = [  # (typed, kind, max, stored)
    ("8,5", "normal", "10", "8.5"),
    ("8.5", "normal", "10", "8.5"),
    (" 9 ", "normal", "10", "9"),
    ("0", "normal", "10", "0"),
    ("10", "normal", "10", "10"),
    ("10,00", "normal", "10", "10"),
    ("+7", "normal", "10", "7"),
    ("-0", "normal", "10", "0"),
    ("0,25", "normal", "0.5", "0.25"),
    ("29,75", "normal", "30", "29.75"),
    ("5", "bonus", "5", "5"),
    ("2", "deduction", "2", "2"),
    ("-2", "deduction", "2", "2"),
    ("−1,5", "deduction", "2", "1.5"),  # a typographic minus, as phones type it
    ("–2", "deduction", "2", "2"),
]


@pytest.mark.parametrize(("typed", "kind", "top", "stored"), GOOD)
def test_typed_scores_that_are_read(typed, kind, top, stored):
    assert parse_score(typed, kind, D(top)) == D(stored)


BAD = [  # (typed, kind, max, part of the refusal)
    ("abc", "normal", "10", "is not a number"),
    ("-1", "normal", "10", "cannot be negative"),
    ("-1", "bonus", "5", "cannot be negative"),
    ("1e9", "normal", "10", "is not a number"),
    ("1E2", "normal", "10", "is not a number"),
    ("8,555", "normal", "10", "more than two decimals"),
    ("1.000", "normal", "10", "more than two decimals"),
    ("NaN", "normal", "10", "is not a number"),
    ("nan", "normal", "10", "is not a number"),
    ("Infinity", "normal", "10", "is not a number"),
    ("-inf", "deduction", "2", "is not a number"),
    ("", "normal", "10", "Type a number from 0 to 10"),
    ("   ", "normal", "10", "Type a number from 0 to 10"),
    (None, "normal", "10", "Type a number from 0 to 10"),
    ("10,01", "normal", "10", "above the maximum"),
    ("11", "normal", "10", "above the maximum"),
    ("6", "bonus", "5", "above the maximum"),
    ("3", "deduction", "2", "above the maximum"),
    ("-3", "deduction", "2", "above the maximum"),
    ("1.000,5", "normal", "10", "thousands separators"),
    ("1,000.5", "normal", "10", "thousands separators"),
    ("1 000", "normal", "10", "thousands separators"),
    ("8 5", "normal", "10", "is not a number"),
    ("8,", "normal", "10", "is not a number"),
    (",5", "normal", "10", "is not a number"),
    ("0x10", "normal", "10", "is not a number"),
    ("½", "normal", "10", "digits other than 0 to 9"),
    ("٣", "normal", "10", "digits other than 0 to 9"),  # an Arabic-Indic digit
    ("１０", "normal", "10", "digits other than 0 to 9"),  # full-width
    ("9" * 27, "normal", "10", "above the maximum"),  # once a decimal.InvalidOperation
    ("8,5 điểm", "normal", "10", "is not a number"),
    ("9" * 60, "normal", "10", "is not a number"),
]


@pytest.mark.parametrize(("typed", "kind", "top", "said"), BAD)
def test_typed_scores_that_are_refused_name_the_range(typed, kind, top, said):
    with use_locale("en"), pytest.raises(Refusal) as refusal:
        parse_score(typed, kind, D(top))
    assert said in refusal.value.message
    assert f"from 0 to {top}" in refusal.value.message


def test_what_was_typed_is_escaped_in_the_refusal():
    with use_locale("en"), pytest.raises(Refusal) as refusal:
        parse_score("<b>", "normal", D(10))
    assert "&lt;b&gt;" in refusal.value.message and "<b>" not in refusal.value.message


@pytest.mark.parametrize(("kind", "top", "cap", "expected"), [
    ("normal", "30", None, (0, 30)),
    ("bonus", "10", "5", (0, 5)),  # never above the cap of all bonus points
    ("bonus", "5", "15", (0, 5)),
    ("bonus", "5", "0", (0, 5)),  # no cap given
    ("deduction", "2", "5", (0, 2)),  # the amount subtracted
])  # fmt: skip
def test_the_allowed_range(kind, top, cap, expected):
    assert limits(kind, D(top), D(cap) if cap else None) == tuple(D(x) for x in expected)


@pytest.mark.parametrize(("kind", "top", "values"), [
    ("normal", "30", ["0", "15", "28", "29", "29.5", "30"]),
    ("normal", "10", ["0", "5", "8", "9", "9.5", "10"]),
    ("normal", "1", ["0", "0.5", "1"]),
    ("normal", "2.5", ["0", "0.5", "1", "1.5", "2", "2.5"]),
    ("bonus", "5", ["0", "2.5", "3", "4", "4.5", "5"]),
    ("deduction", "2", ["0", "1", "1.5", "2"]),
])  # fmt: skip
def test_quick_values(kind, top, values):
    shown = quick_values(kind, D(top))
    assert shown == tuple(D(v) for v in values)
    assert all(parse_score(str(v), kind, D(top)) == v for v in shown)  # every button is a valid score


# ------------------------------------------------------------------------------ arithmetic


def line(kind: str, value, verified=None, decided=None, group: str = "G", top: str = "10") -> Line:
    as_d = lambda v: None if v is None else D(str(v))  # noqa: E731
    return Line(group, "x", kind, D(top), as_d(value), as_d(verified), as_d(decided))


@pytest.mark.parametrize(("self_value", "verified", "decided", "final"), [
    (None, None, None, None),
    ("8", None, None, "8"),
    ("8", "7", None, "7"),
    ("8", "7", "7.5", "7.5"),
    ("8", None, "6", "6"),
    ("8", "8", None, "8"),
    ("0", None, None, "0"),  # a zero is a value, not a missing one
    ("8", "0", None, "0"),
])  # fmt: skip
def test_the_final_value_is_decided_else_verified_else_self(self_value, verified, decided, final):
    as_d = lambda v: None if v is None else D(v)  # noqa: E731
    assert scoring.final_value(as_d(self_value), as_d(verified), as_d(decided)) == as_d(final)


TOTALS = [  # (lines, cap, stage, normal, bonus counted, deductions, total)
    ([line("normal", 30), line("normal", "9.5")], "5", FINAL, "39.5", "0", "0", "39.5"),
    ([line("normal", 10), line("bonus", 3), line("bonus", 4)], "5", FINAL, "10", "5", "0", "15"),  # capped
    ([line("normal", 10), line("bonus", 3)], "5", FINAL, "10", "3", "0", "13"),
    ([line("normal", 10), line("bonus", 10), line("bonus", 15)], "15", FINAL, "10", "15", "0", "25"),
    ([line("normal", 10), line("deduction", 2)], "5", FINAL, "10", "0", "2", "8"),
    ([line("normal", 10), line("deduction", 2), line("deduction", "1.5")], "5", FINAL, "10", "0", "3.5", "6.5"),
    ([line("normal", 0), line("deduction", 2)], "5", FINAL, "0", "0", "2", "-2"),  # may go below zero
    ([line("normal", 10, 8), line("bonus", 5, 2)], "5", SELF, "10", "5", "0", "15"),
    ([line("normal", 10, 8), line("bonus", 5, 2)], "5", VERIFIED, "8", "2", "0", "10"),
    ([line("normal", 10, 8, 9), line("deduction", 0, 2, 1)], "5", FINAL, "9", "0", "1", "8"),
    ([line("normal", None), line("normal", 5)], "5", FINAL, "5", "0", "0", "5"),  # missing counts 0
    ([line("normal", "0.01"), line("normal", "0.02")], "5", FINAL, "0.03", "0", "0", "0.03"),  # no float drift
    ([line("normal", "33.33")] * 3, "5", FINAL, "99.99", "0", "0", "99.99"),
    ([line("bonus", 5)], "0", FINAL, "0", "0", "0", "0"),  # a cap of 0 counts no bonus
]


@pytest.mark.parametrize(("lines", "cap", "stage", "normal", "bonus", "deductions", "total"), TOTALS)
def test_totals(lines, cap, stage, normal, bonus, deductions, total):
    totals = scoring.totals(lines, D(cap), stage)
    assert (totals.normal, totals.bonus_counted, totals.deductions, totals.total) == (
        D(normal), D(bonus), D(deductions), D(total))  # fmt: skip
    assert totals.total == totals.normal + totals.bonus_counted - totals.deductions
    assert all(isinstance(v, D) for v in (totals.normal, totals.bonus, totals.total))


def test_group_subtotals_are_signed_and_the_cap_applies_to_the_total_only():
    lines = [line("normal", 30, group="I"), line("normal", 8, group="I"), line("bonus", 4, group="Thưởng"),
             line("bonus", 3, group="Thưởng"), line("deduction", 2, group="Trừ")]  # fmt: skip
    totals = scoring.totals(lines, D(5), FINAL)
    assert totals.groups == (("I", D(38)), ("Thưởng", D(7)), ("Trừ", D(-2)))
    assert totals.capped and totals.bonus == 7 and totals.bonus_counted == 5
    assert totals.total == D(41)  # 38 + 5 − 2, while the groups add up to 43
    assert scoring.group_names(lines) == ["I", "Thưởng", "Trừ"]


def test_progress_counts():
    lines = [line("normal", 1, 1), line("normal", None), line("bonus", 0), line("deduction", None)]
    assert scoring.scored(lines) == 2
    assert [x.kind for x in scoring.missing(lines)] == ["normal", "deduction"]
    assert scoring.verified_count(lines) == 1


@pytest.mark.parametrize(("values", "ranks"), [
    (["90", "95", "80"], [2, 1, 3]),
    (["90", "90", "80"], [1, 1, 3]),
    (["100"], [1]),
    (["70", "80", "80", "90"], [4, 2, 2, 1]),
    ([], []),
])  # fmt: skip
def test_ranks_share_places_on_equal_totals(values, ranks):
    assert scoring.ranks([D(v) for v in values]) == ranks


def test_the_default_tables_best_total_is_105():
    from bot.scoring_table import DEFAULT_TABLE

    lines = [Line(c.group, c.code, c.kind, c.max_points) for c in DEFAULT_TABLE.criteria]
    assert scoring.best_possible(lines, DEFAULT_TABLE.bonus_cap) == D(105)


@pytest.mark.parametrize(("value", "shown_vi", "rounded"), [
    ("97.75", "97,75", "97.75"),
    ("33.335", "33,34", "33.34"),  # half-up, only when shown
    ("33.325", "33,33", "33.33"),
    ("0.005", "0,01", "0.01"),
    ("-2", "-2", "-2.00"),
    ("100", "100", "100.00"),
])  # fmt: skip
def test_one_rounding_rule_when_shown(value, shown_vi, rounded):
    assert number(D(value), locale="vi") == shown_vi
    assert round_points(D(value)) == D(rounded)


@pytest.mark.parametrize(("name", "taken", "title"), [
    ("I. Thực hiện nhiệm vụ chính trị", set(), "I. Thực hiện nhiệm vụ chính trị"),
    ("Nhóm: a/b [c]?*", set(), "Nhóm  a b  c"),
    ("x" * 40, set(), "x" * 31),
    ("Tổng hợp", {"Tổng hợp"}, "Tổng hợp (2)"),
    ("", set(), "Nhóm"),
])  # fmt: skip
def test_excel_sheet_titles_are_valid_and_unique(name, taken, title):
    assert sheet_title(name, set(taken)) == title
