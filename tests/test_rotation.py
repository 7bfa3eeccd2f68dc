"""Who verifies whom, table-driven and property-style: the cross-check circle for every cluster
size from 2 to 30 (and beyond what the bot sees), inactive units, the chair mode and the rules
beyond the permission table."""

from __future__ import annotations

import pytest

from bot import rotation
from bot.rotation import (
    CHAIR,
    CROSS,
    RotationError,
    chair_assignment,
    circle,
    cross_assignment,
    decides_own_dispute,
    may_verify,
    mode_of,
    seed_for,
)

SIZES = range(2, 31)


def units(n: int, start: int = 101) -> list[int]:
    return list(range(start, start + n))


@pytest.mark.parametrize("n", SIZES)
def test_every_unit_verifies_exactly_one_other_sheet_and_every_sheet_is_verified_once(n):
    ids = units(n)
    for seed in (seed_for(1, 2024), seed_for(7, 2025), "x"):
        plan = cross_assignment(ids, ids, seed)
        assert sorted(plan) == ids  # every sheet has a verifier
        assert sorted(plan.values()) == ids  # every unit verifies exactly one
        assert all(sheet != verifier for sheet, verifier in plan.items())  # never its own


@pytest.mark.parametrize("n", SIZES)
def test_the_assignment_is_one_circle(n):
    """Following "who verifies me" from any unit visits every unit before returning: no closed
    little groups, and for three units or more no two units verify each other."""
    ids = units(n)
    plan = cross_assignment(ids, ids, seed_for(3, 2024))
    seen, unit = [], ids[0]
    for _ in range(n):
        seen.append(unit)
        unit = plan[unit]
    assert unit == ids[0] and sorted(seen) == ids
    if n >= 3:
        assert all(plan[plan[u]] != u for u in ids)


@pytest.mark.parametrize("n", SIZES)
def test_the_same_cluster_and_year_give_the_same_assignment(n):
    ids = units(n)
    shuffled = list(reversed(ids))  # the order units are listed in does not matter
    assert cross_assignment(ids, ids, seed_for(5, 2024)) == cross_assignment(shuffled, shuffled, seed_for(5, 2024))


def test_another_year_or_cluster_gives_another_circle():
    ids = units(12)
    plans = {tuple(sorted(cross_assignment(ids, ids, seed_for(c, y)).items())) for c in (1, 2) for y in (2024, 2025)}
    assert len(plans) == 4


def test_the_circle_is_stable_across_processes():
    """The seed goes through SHA-256, not Python's salted hash: a restart changes nothing."""
    assert circle(units(5), seed_for(1, 2024)) == circle(units(5), seed_for(1, 2024))
    assert circle(units(5), "thidua:1:2024") == [101, 104, 103, 102, 105]


@pytest.mark.parametrize(("n", "missing"), [(5, 1), (9, 3), (30, 29), (2, 1), (30, 0)])
def test_a_unit_that_did_not_submit_leaves_one_verifier_idle(n, missing):
    ids = units(n)
    sheets = ids[missing:]
    plan = cross_assignment(ids, sheets, seed_for(1, 2024))
    assert sorted(plan) == sheets
    assert len(set(plan.values())) == len(sheets)  # still one sheet each
    assert all(s != v for s, v in plan.items())


@pytest.mark.parametrize(("active", "left"), [(5, 1), (5, 3), (9, 9), (2, 5), (30, 4)])
def test_sheets_of_units_that_left_go_to_the_least_loaded_verifiers(active, left):
    verifiers = units(active)
    gone = units(left, start=900)
    plan = cross_assignment(verifiers, verifiers + gone, seed_for(2, 2024))
    assert sorted(plan) == sorted(verifiers + gone)
    loads = [list(plan.values()).count(v) for v in verifiers]
    assert max(loads) - min(loads) <= 1  # the load is spread
    assert set(plan.values()) <= set(verifiers)  # a unit that left verifies nothing


@pytest.mark.parametrize("ids", [[], [101]])
def test_cross_checking_needs_two_units(ids):
    with pytest.raises(RotationError):
        cross_assignment(ids, ids, "x")


@pytest.mark.parametrize(("sheets", "chair", "vice", "order", "expected"), [
    ([1, 2, 3], 1, 2, [1, 2, 3], {1: 2, 2: 1, 3: 1}),
    ([1, 2, 3], 1, None, [1, 2, 3], {1: 2, 2: 1, 3: 1}),  # no vice-chair: the next unit
    ([1, 2, 3], 2, None, [2, 3, 1], {1: 2, 2: 3, 3: 2}),
    ([3], 1, 2, [1, 2, 3], {3: 1}),  # the chair's own sheet not submitted
    ([], 1, 2, [1, 2], {}),
])  # fmt: skip
def test_in_chair_mode_the_chair_verifies_all_but_its_own_sheet(sheets, chair, vice, order, expected):
    assert chair_assignment(sheets, chair, vice, order) == expected


def test_a_lone_chair_cannot_verify_its_own_sheet():
    with pytest.raises(RotationError):
        chair_assignment([1], 1, None, [1])


@pytest.mark.parametrize(("sheet", "verifier", "mine", "allowed"), [
    (1, 2, {2}, True),
    (1, 2, {3}, False),  # not the assigned unit
    (1, 2, {1}, False),  # one's own sheet
    (1, 2, {1, 2}, False),  # representing both: still one's own sheet
    (1, None, {2}, False),  # not assigned yet
    (1, 1, {1}, False),  # a forged assignment to oneself
])  # fmt: skip
def test_only_the_assigned_unit_verifies_never_its_own_sheet(sheet, verifier, mine, allowed):
    assert may_verify(sheet, verifier, mine) is allowed


@pytest.mark.parametrize(("sheet", "chair", "own"), [(1, 1, True), (2, 1, False), (1, None, False)])
def test_the_chair_never_decides_its_own_dispute(sheet, chair, own):
    assert decides_own_dispute(sheet, chair) is own


@pytest.mark.parametrize(("settings", "mode"), [
    (None, CHAIR), ({}, CHAIR), ({"verification": "cross"}, CROSS), ({"verification": "chair"}, CHAIR),
    ({"verification": "peers"}, CHAIR), ({"verification": None}, CHAIR),
])  # fmt: skip
def test_the_mode_setting_defaults_to_the_chair(settings, mode):
    assert mode_of(settings) == mode
    assert rotation.DEFAULT_MODE == CHAIR
