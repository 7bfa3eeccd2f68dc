"""The rules of a secret ballot (bot/ballots.py), table-driven: candidates, the paper each unit
gets, marking within the quota, casting, trackers, and the board that anyone can recount."""

from __future__ import annotations

import random
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import ballots as rules
from bot.ballots import BoardPaper, CandidateMode
from bot.errors import Refusal
from bot.i18n import use_locale
from storage.models.ballot import BallotKind

UNITS = [11, 12, 13, 14, 15]
SCORES = {11: Decimal("95.5"), 12: Decimal("98"), 13: Decimal("95.5"), 14: Decimal("90"), 15: Decimal("97")}


@pytest.mark.parametrize(
    ("kind", "quota"),
    [(BallotKind.FLAG, 1), (BallotKind.MERIT, 2), (BallotKind.CHAIR, 1), (BallotKind.VICE_CHAIR, 1)],
)
def test_defaults_per_kind_follow_the_domain(kind, quota):
    assert rules.DEFAULTS[kind].quota == quota
    assert rules.DEFAULTS[kind].self_vote is False


@pytest.mark.parametrize(
    ("mode", "kwargs", "expected"),
    [
        (CandidateMode.ALL, {}, UNITS),
        (CandidateMode.TOP, {"scores": SCORES, "top": 1}, [12]),
        (CandidateMode.TOP, {"scores": SCORES, "top": 2}, [12, 15]),
        (CandidateMode.TOP, {"scores": SCORES, "top": 3}, [12, 15, 11, 13]),  # a tie at the cut stays
        (CandidateMode.TOP, {"scores": SCORES, "top": 9}, [12, 15, 11, 13, 14]),
        (CandidateMode.TOP, {"scores": {12: Decimal(1)}, "top": 2}, [12]),  # units without a score are out
        (CandidateMode.LIST, {"chosen": [15, 11, 99]}, [11, 15]),  # the units' order; not active: out
    ],
)
def test_candidates(mode, kwargs, expected):
    assert rules.candidates_for(mode, UNITS, **kwargs) == expected


@pytest.mark.parametrize(
    ("mode", "kwargs", "says"),
    [
        (CandidateMode.LIST, {"chosen": []}, "ít nhất một"),
        (CandidateMode.LIST, {"chosen": [99]}, "ít nhất một"),
        (CandidateMode.TOP, {"scores": {}, "top": 2}, "điểm cuối cùng"),
        (CandidateMode.TOP, {"scores": SCORES, "top": 0}, "điểm cuối cùng"),
    ],
)
def test_candidates_refused(mode, kwargs, says):
    with use_locale("vi"), pytest.raises(Refusal) as refused:
        rules.candidates_for(mode, UNITS, **kwargs)
    assert says in refused.value.message


@pytest.mark.parametrize(
    ("voter", "self_vote", "expected"),
    [(12, False, [11, 13, 14, 15]), (12, True, UNITS), (99, False, UNITS)],
)
def test_the_own_unit_is_off_its_paper_unless_allowed(voter, self_vote, expected):
    assert rules.paper_for(voter, UNITS, self_vote) == expected


PAPER = [11, 13, 14, 15]


@pytest.mark.parametrize(
    ("marks", "press", "quota", "expected"),
    [
        (set(), 11, 1, {11}),
        ({11}, 11, 1, set()),  # pressing a marked candidate unmarks it
        ({11}, 13, 2, {11, 13}),
        ({11, 13}, 11, 2, {13}),
    ],
)
def test_toggle(marks, press, quota, expected):
    assert rules.toggle(frozenset(marks), press, PAPER, quota) == frozenset(expected)


@pytest.mark.parametrize(
    ("marks", "press", "quota", "says"),
    [
        ({11}, 13, 1, "tối đa 1 đơn vị"),  # beyond the quota: impossible
        ({11, 13}, 14, 2, "tối đa 2 đơn vị"),
        (set(), 12, 1, "không phải là ứng viên"),  # the own unit, barred
        (set(), 99, 1, "không phải là ứng viên"),  # a forged id
    ],
)
def test_toggle_refused(marks, press, quota, says):
    with use_locale("vi"), pytest.raises(Refusal) as refused:
        rules.toggle(frozenset(marks), press, PAPER, quota)
    assert says in refused.value.message


@pytest.mark.parametrize(
    ("marks", "abstain", "says"),
    [
        (set(), False, "bỏ phiếu trắng"),  # empty: only as a confirmed abstention
        ({11, 13}, False, "không còn hợp lệ"),  # over the quota of 1
        ({12}, False, "không còn hợp lệ"),  # not on the paper
    ],
)
def test_cast_refused(marks, abstain, says):
    with use_locale("vi"), pytest.raises(Refusal) as refused:
        rules.check_cast(frozenset(marks), PAPER, 1, abstain=abstain)
    assert says in refused.value.message


@pytest.mark.parametrize(("marks", "abstain"), [({11}, False), (set(), True), ({15}, True)])
def test_cast_allowed(marks, abstain):
    rules.check_cast(frozenset(marks), PAPER, 1, abstain=abstain)


def test_trackers_are_random_and_spelled_unambiguously():
    trackers = {rules.new_tracker() for _ in range(2000)}
    assert len(trackers) == 2000
    assert all(re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", t) for t in trackers)
    seeded = random.Random(7)
    assert rules.new_tracker(seeded.choice) == rules.new_tracker(random.Random(7).choice)


NAMES = {11: "Hội Làm vườn Việt Nam", 13: "Hội A; B\tC", 15: "Liên minh HTX"}


def test_the_board_is_sorted_by_tracker_and_its_bytes_and_hash_are_stable():
    papers = rules.board([("ZK3M9QRT", [15, 11]), ("A2B3C4D5", []), ("M7N8P9QR", [13])])
    assert [p.tracker for p in papers] == ["A2B3C4D5", "M7N8P9QR", "ZK3M9QRT"]
    text = rules.board_text(papers, NAMES)
    assert text == (
        "A2B3C4D5\t-\n"
        "M7N8P9QR\t13\tHội A; B C\n"
        "ZK3M9QRT\t11,15\tHội Làm vườn Việt Nam; Liên minh HTX\n"
    )
    again = rules.board_text(rules.board([("M7N8P9QR", [13]), ("ZK3M9QRT", [11, 15]), ("A2B3C4D5", [])]), NAMES)
    assert rules.board_hash(text) == rules.board_hash(again) and len(rules.board_hash(text)) == 64
    assert rules.board_text(papers, NAMES, with_choices=False) == "A2B3C4D5\nM7N8P9QR\nZK3M9QRT\n"


@given(st.lists(st.tuples(st.text(alphabet=rules.TRACKER_ALPHABET, min_size=8, max_size=8),
                          st.sets(st.sampled_from(UNITS), max_size=3)), max_size=30, unique_by=lambda p: p[0]))  # fmt: skip
def test_the_board_read_back_recounts_to_the_same_result(papers):
    board = rules.board(papers)
    text = rules.board_text(board, NAMES)
    assert rules.parse_board(text) == board
    count = rules.recount(rules.parse_board(text), UNITS)
    assert count.cast == len(papers)
    assert count.abstaining == sum(1 for _t, marks in papers if not marks)
    assert count.votes == {u: sum(1 for _t, marks in papers if u in marks) for u in UNITS}


def test_recount_counts_every_candidate_even_with_no_vote():
    count = rules.recount([BoardPaper("A", (11,)), BoardPaper("B", ())], [11, 13])
    assert (count.cast, count.abstaining, count.votes) == (2, 1, {11: 1, 13: 0})
