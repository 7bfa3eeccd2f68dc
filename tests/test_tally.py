"""The count (bot/tally.py), table-driven: quorum, threshold and its basis, the quota, ties
broken by final score or left unresolved for a runoff, the score-only method, and a result that
depends on nothing but its inputs."""

from __future__ import annotations

import dataclasses
import random
from decimal import Decimal
from fractions import Fraction

import pytest

from bot.tally import (
    BallotInput,
    Basis,
    Method,
    RoundInput,
    TallyRules,
    YearInputs,
    changes,
    count,
    inputs_hash,
    ranking_by_score,
    result_from_record,
    result_record,
    year_result,
)

A, B, C, D, E = 1, 2, 3, 4, 5
UNITS = (A, B, C, D, E)
SCORES = {A: Decimal("95"), B: Decimal("98"), C: Decimal("97"), D: Decimal("97"), E: Decimal("90")}


def ballot(papers, quota=1, issued=5, active=5, candidates=UNITS) -> BallotInput:
    return BallotInput(quota=quota, candidates=candidates, papers=tuple(tuple(p) for p in papers),
                       issued=issued, active=active)  # fmt: skip


@pytest.mark.parametrize(
    ("papers", "quota", "rules", "proposed", "unresolved"),
    [
        # 3 of 5 for A: more than half of the papers cast
        ([[A], [A], [A], [B], [C]], 1, TallyRules(), (A,), ()),
        # 2 of 4 cast is not more than half; at least half (non-strict) is
        ([[A], [A], [B], [C]], 1, TallyRules(), (), ()),
        ([[A], [A], [B], [C]], 1, TallyRules(strict=False), (A,), ()),
        # the basis: 3 of 4 cast, but 3 of 5 active is not ≥ 70 %
        ([[A], [A], [A], [B]], 1, TallyRules(threshold=Fraction(7, 10), strict=False), (A,), ()),
        ([[A], [A], [A], [B]], 1, TallyRules(threshold=Fraction(7, 10), strict=False, basis=Basis.ACTIVE), (), ()),
        # quota 2: the two with most votes that reach the threshold; A and B tie at 4, B has the score
        ([[A, B], [A, B], [A, C], [B, C], [A, B]], 2, TallyRules(), (B, A), ()),
        # C and D tie in votes and in score (97): both fit a quota of 2, not a quota of 1
        ([[C, D], [C, D], [C, D], [A], [B]], 2, TallyRules(), (C, D), ()),
        ([[C], [D], [C], [D]], 1, TallyRules(strict=False), (), (C, D)),
        # a tie in votes broken by final score: B (98) before A (95)
        ([[A], [B], [A], [B]], 1, TallyRules(strict=False), (B,), ()),
        # blank papers count as cast, not as votes
        ([[A], [A], [A], [], []], 1, TallyRules(), (A,), ()),
    ],
)
def test_count(papers, quota, rules, proposed, unresolved):
    result = count(ballot(papers, quota=quota), SCORES, rules)
    assert (result.proposed, result.unresolved) == (proposed, unresolved)


def test_without_quorum_nothing_is_proposed():
    result = count(ballot([[A], [A], [A]], issued=3, active=5), SCORES)  # 3 of 5 < two thirds
    assert not result.quorum_met and result.proposed == () and result.ranking[0].unit_id == A
    assert count(ballot([[A], [A], [A], [A]], issued=4, active=6), SCORES).quorum_met  # 4 of 6 = ⅔


def test_a_paper_the_bot_would_never_take_is_invalid_not_counted():
    result = count(ballot([[A], [A, B], [A, A], [9], [A]], quota=1), SCORES)
    assert (result.cast, result.valid, result.invalid) == (5, 2, 3)
    assert [r.votes for r in result.ranking if r.unit_id == A] == [2]


def test_shares_are_exact_and_places_are_shared_by_ties():
    result = count(ballot([[C], [D], [A], [], [B]]), SCORES)
    shares = {r.unit_id: r.share for r in result.ranking}
    assert shares[C] == Fraction(1, 5) and result.basis == 5
    places = {r.unit_id: r.place for r in result.ranking}
    assert places[B] == 1 and places[C] == places[D] == 2 and places[A] == 4 and places[E] == 5


def test_score_only_ranks_by_final_score_and_the_vote_confirms():
    papers = [[A, B], [A, C], [A, B], [A, C], [B, C]]  # A 4, B 3, C 3: all more than half of 5
    assert count(ballot(papers, quota=2), SCORES).proposed == (A, B)  # by votes; B's score breaks the tie
    assert count(ballot(papers, quota=2), SCORES, TallyRules(method=Method.SCORE_ONLY)).proposed == (B, C)
    unconfirmed = [[A, C], [A, C], [A, C], [D, C], [B, E]]  # B, first by score, gets 1 of 5
    assert count(ballot(unconfirmed, quota=2), SCORES, TallyRules(method=Method.SCORE_ONLY)).proposed == (C, A)


def test_the_result_depends_on_the_inputs_only():
    papers = [[A], [B], [A], [C], [A], [], [D]]
    rules = TallyRules(basis=Basis.PRESENT)
    first = count(ballot(papers, issued=7, active=7, candidates=UNITS), SCORES, rules)
    shuffled = papers[:]
    random.Random(3).shuffle(shuffled)
    again = count(ballot(shuffled, issued=7, active=7, candidates=UNITS), SCORES, rules)
    assert first == again
    assert inputs_hash(ballot(papers, issued=7, active=7), SCORES, rules) == inputs_hash(
        ballot(shuffled, issued=7, active=7), SCORES, rules)  # fmt: skip
    assert inputs_hash(ballot(papers, issued=7, active=7), SCORES, rules) != inputs_hash(
        ballot(papers, issued=7, active=7), SCORES, TallyRules())  # fmt: skip


def test_ranking_by_score_shares_places_and_leaves_the_unscored_out():
    assert ranking_by_score(SCORES, UNITS) == [
        (B, Decimal("98"), 1), (C, Decimal("97"), 2), (D, Decimal("97"), 2), (A, Decimal("95"), 4), (E, Decimal("90"), 5),
    ]  # fmt: skip
    assert ranking_by_score({A: Decimal(1)}, UNITS) == [(A, Decimal(1), 1)]


# ------------------------------------------------------------------------------ the year's result

NAMES = ((A, "Sở A"), (B, "Sở B"), (C, "Sở C"), (D, "Sở D"), (E, "Sở E"))


def round_(ballot_id, papers, kind="flag", quota=1, candidates=UNITS, runoff_of=None, round_no=1, issued=5):
    return RoundInput(ballot_id=ballot_id, kind=kind, round=round_no, runoff_of=runoff_of, label=None,
                      board_sha256=f"{ballot_id:064x}", ballot=ballot(papers, quota=quota, issued=issued,
                                                                        active=issued, candidates=candidates))  # fmt: skip


def year(*rounds, scores=SCORES, active=UNITS, rules=None) -> YearInputs:
    return YearInputs(units=NAMES, active=tuple(active), scores=tuple(sorted(scores.items())), rounds=tuple(rounds),
                      rules=rules or TallyRules())  # fmt: skip


TIE = {A: Decimal("90"), B: Decimal("90"), C: Decimal("90"), D: Decimal("90"), E: Decimal("90")}


@pytest.mark.parametrize(
    ("case", "inputs", "proposed", "unresolved"),
    [
        ("clear winner", year(round_(1, [[A], [A], [A], [B], [C]])), (A,), ()),
        ("quota 2, tie for second broken by score",
         year(round_(1, [[A, B], [A, E], [A, B], [A, E], [B, E]], quota=2)), (A, B), ()),  # B and E 3 each: 98 > 90
        ("a tie the score cannot break: unresolved",
         year(round_(1, [[C], [D], [C], [D], [A]]), rules=TallyRules(threshold=Fraction(1, 3))), (), (C, D)),
        ("the runoff completes it",
         year(round_(1, [[C], [D], [C], [D], [A]]), round_(2, [[D], [D], [D], [C], []], candidates=(C, D), runoff_of=1,
                                                          round_no=2), rules=TallyRules(threshold=Fraction(1, 3))),
         (D,), ()),
        ("a runoff among other units is not this tie's", year(
            round_(1, [[C], [D], [C], [D], [A]]), round_(2, [[A]] * 5, candidates=(A, B), runoff_of=1, round_no=2),
            rules=TallyRules(threshold=Fraction(1, 3))), (), (C, D)),
        ("quorum not met", year(round_(1, [[A], [A], [A]])), (), ()),
        ("everyone abstains", year(round_(1, [[], [], [], [], []])), (), ()),
        ("threshold not reached", year(round_(1, [[A], [A], [B], [C], [D]])), (), ()),
        ("basis: all active units (3 of 6 is not more than half)",
         year(round_(1, [[A], [A], [A], [B], []], issued=6), rules=TallyRules(basis=Basis.ACTIVE)), (), ()),
        ("basis: units present, at least half",
         year(round_(1, [[A], [A], [A], [B], []], issued=6), rules=TallyRules(basis=Basis.PRESENT, strict=False)), (A,), ()),
        ("candidates limited to the top N", year(round_(1, [[B], [B], [C], [B], []], candidates=(B, C))), (B,), ()),
        ("score only", year(round_(1, [[A, C], [A, C], [A, C], [B, C], [B, A]], quota=2),
                            rules=TallyRules(method=Method.SCORE_ONLY)), (C, A), ()),
    ],
)
def test_the_years_award(case, inputs, proposed, unresolved):
    scores = TIE if "cannot break" in case or "runoff" in case else SCORES
    result = year_result(dataclasses_replace(inputs, scores=tuple(sorted(scores.items()))))
    award = result.awards[0]
    assert (award.proposed, award.unresolved) == (proposed, unresolved), case


def dataclasses_replace(inputs, **changes_):
    return dataclasses.replace(inputs, **changes_)


def test_the_election_of_chair_and_vice_chair():
    result = year_result(year(round_(1, [[C], [C], [C], [A], [B]], kind="chair"),
                              round_(2, [[B], [B], [B], [B], [A]], kind="vice_chair")))  # fmt: skip
    assert result.elected("chair") == C and result.elected("vice_chair") == B and result.elected("flag") is None
    unresolved = year_result(year(round_(1, [[C], [D], [C], [D], [A]], kind="chair"), scores=TIE,
                                  rules=TallyRules(threshold=Fraction(1, 3))))  # fmt: skip
    assert unresolved.elected("chair") is None


def test_a_unit_deactivated_after_voting_leaves_the_ballot_as_it_was_cast():
    before = year_result(year(round_(1, [[A], [A], [A], [B], [E]])))
    after = year_result(year(round_(1, [[A], [A], [A], [B], [E]]), active=(A, B, C, D)))  # E left
    assert after.awards == before.awards  # the papers issued at close are what the count reads
    assert [u for u, _s, _p in after.ranking] == [B, C, D, A]


def test_the_stored_result_reads_back_bit_for_bit_and_changes_say_what_moved():
    inputs = year(round_(1, [[A], [A], [A], [B], [C]]), round_(2, [[C], [C], [C], [C], [A]], kind="chair"))
    first = year_result(inputs)
    assert result_record(year_result(inputs)) == result_record(first)  # the same inputs, the same bytes
    assert result_record(result_from_record(result_record(first))) == result_record(first)
    assert changes(first, result_from_record(result_record(first))) == []
    moved = year_result(dataclasses_replace(inputs, scores=tuple(sorted({**SCORES, E: Decimal("99")}.items()))))
    found = changes(first, moved)
    assert [(c.what, c.unit_id) for c in found if c.what == "score"] == [("score", E)]
    assert {c.unit_id for c in found if c.what == "place"} == {B, C, D, A}
    assert moved.inputs_sha256 != first.inputs_sha256


def test_the_summary_of_thirty_units_with_long_names_and_four_ballots_fits_telegrams_pages():
    import datetime as dt
    from zoneinfo import ZoneInfo

    from bot.i18n import use_locale
    from bot.offline_html import utf16_len
    from bot.views.tally import summary

    units = tuple(range(1, 31))
    names = tuple((u, f"Sở Tư pháp tỉnh Bà Rịa - Vũng Tàu và các đơn vị trực thuộc số {u} " + "ư" * 140) for u in units)
    scores = {u: Decimal(100) - Decimal(u) / 4 for u in units}
    papers = [[u % 30 + 1, (u + 7) % 30 + 1] for u in units]
    rounds = tuple(RoundInput(b, kind, 1, None, None, "ab" * 32, BallotInput(2, units, tuple(map(tuple, papers)), 30, 30))
                   for b, kind in enumerate(("flag", "merit", "chair", "vice_chair"), 1))  # fmt: skip
    result = year_result(YearInputs(names, units, tuple(scores.items()), rounds))
    with use_locale("vi"):
        pages = summary(result, cluster_name="Cụm " + "x" * 200, year=2026, number=3,
                        counted_at=dt.datetime(2026, 12, 2, 3, tzinfo=dt.UTC), tz=ZoneInfo("Asia/Ho_Chi_Minh"),
                        who="Nguyễn Văn An")  # fmt: skip
    assert len(pages) > 1
    assert all(utf16_len(page) <= 4096 for page in pages), [utf16_len(p) for p in pages]
    text = "\n".join(pages)
    assert all(f"số {u} " in text for u in units) and text.count("SHA-256") == 5


def test_a_runoff_without_quorum_or_threshold_leaves_the_tie_for_another_round():
    tied = (round_(1, [[C], [D], [C], [D], [A]]), )
    empty = round_(2, [], candidates=(C, D), runoff_of=1, round_no=2)
    split = round_(2, [[C], [D], [C], [D], []], candidates=(C, D), runoff_of=1, round_no=2)  # again 2-2
    third = round_(3, [[D], [D], [D], [C], []], candidates=(C, D), runoff_of=2, round_no=3)
    low = TallyRules(threshold=Fraction(1, 3))
    for rounds, proposed, unresolved in (
        ((*tied, empty), (), (C, D)),  # no quorum in the runoff: still tied for the place
        ((*tied, split), (), (C, D)),  # tied again
        ((*tied, empty, third), (D,), ()),  # the next round decides it
    ):
        award = year_result(year(*rounds, scores=TIE, rules=low)).awards[0]
        assert (award.proposed, award.unresolved, award.open_places) == (proposed, unresolved, 1 if unresolved else 0)


def test_units_present_and_all_active_units_are_different_bases():
    # 6 active units; 4 took part in the evaluation (voted on some ballot); 3 cast this paper.
    ballot_ = BallotInput(quota=1, candidates=UNITS, papers=((A,), (A,), (B,)), issued=6, active=6, present=4)
    shares = {basis: count(ballot_, SCORES, TallyRules(basis=basis, strict=False)).ranking[0].share for basis in Basis}
    assert shares == {Basis.CAST: Fraction(2, 3), Basis.PRESENT: Fraction(2, 4), Basis.ACTIVE: Fraction(2, 6)}


def test_changes_name_the_rules_renamed_units_and_moved_votes():
    first = year_result(year(round_(1, [[A], [A], [A], [B], [C]])))
    renamed = year_result(dataclasses_replace(year(round_(1, [[A], [A], [B], [B], [C]]), rules=TallyRules(strict=False)),
                                              units=((A, "Sở A mới"), *NAMES[1:])))  # fmt: skip
    found = {(c.what, c.unit_id, c.before, c.after) for c in changes(first, renamed)}
    assert ("rules", None, None, None) in found and ("name", A, "Sở A", "Sở A mới") in found
    assert ("votes", A, "3", "2") in found and ("votes", B, "1", "2") in found
