"""Who verifies whose sheet: the cross-check rotation, the chair mode, and the rules beyond
the permission table (a unit never verifies itself; the chair never decides its own dispute).

Pure: plain unit ids in, a mapping out. The cluster setting ``Cluster.settings["verification"]``
chooses the mode (`CHAIR`, the default, or `CROSS`); `bot.services.verification` stores the
result in ``ScoreSheet.verifier_unit_id`` on first use and never reshuffles it.

**Cross-checking** (*chấm chéo*), `cross_assignment`: the active units are shuffled with a seed
derived from the cluster and the year, and each unit checks the next one round the circle. That
is a single cycle, so

- no unit is ever given its own sheet, and for three units or more no two units check each
  other (no "you were kind to me" pairs);
- each unit checks exactly one sheet and each sheet is checked once;
- the same cluster and year always give the same circle (re-running changes nothing), and
  another year gives another.

A unit that did not submit leaves the unit before it with nothing to check. A sheet of a unit
that is no longer active (it submitted, then left) goes to the least-loaded verifier, idle
ones first, so loads differ by at most one.

**Chair mode**, `chair_assignment`: the chair unit verifies every sheet but its own, which the
vice-chair unit verifies (without a vice-chair: the first other active unit in the cluster's
order).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence

CHAIR, CROSS = "chair", "cross"
MODES = (CHAIR, CROSS)
DEFAULT_MODE = CHAIR
SETTING = "verification"  # the key in Cluster.settings


class RotationError(ValueError):
    """No fair assignment exists (fewer than two units to verify one another)."""


def mode_of(settings: dict | None) -> str:
    value = (settings or {}).get(SETTING)
    return value if value in MODES else DEFAULT_MODE


def seed_for(cluster_id: int, year: int) -> str:
    return f"thidua:{cluster_id}:{year}"


def circle(unit_ids: Iterable[int], seed: str) -> list[int]:
    """The units in the seeded shuffled order: unit `i` verifies unit `i + 1` (wrapping)."""
    order = sorted(set(unit_ids))
    rng = random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))
    rng.shuffle(order)
    return order


def cross_assignment(verifiers: Iterable[int], sheets: Iterable[int], seed: str) -> dict[int, int]:
    """{sheet's unit: verifying unit} for cross-checking; see the module docstring."""
    order = circle(verifiers, seed)
    sheets = set(sheets)
    if len(order) < 2:
        raise RotationError("cross-checking needs at least two active units")
    place = {unit: i for i, unit in enumerate(order)}
    plan = {unit: order[place[unit] - 1] for unit in order if unit in sheets}
    load = dict.fromkeys(order, 0)
    for verifier in plan.values():
        load[verifier] += 1
    for unit in sorted(sheets - set(order)):
        verifier = min(order, key=lambda v: (load[v], place[v]))
        plan[unit] = verifier
        load[verifier] += 1
    return plan


def chair_assignment(sheets: Iterable[int], chair_unit_id: int, vice_chair_unit_id: int | None,
                     units_in_order: Sequence[int]) -> dict[int, int]:  # fmt: skip
    """{sheet's unit: verifying unit} when the chair verifies (its own sheet: the vice-chair)."""
    own_checker = vice_chair_unit_id
    if own_checker is None or own_checker == chair_unit_id:
        own_checker = next((u for u in units_in_order if u != chair_unit_id), None)
    plan = {}
    for unit in sheets:
        verifier = chair_unit_id if unit != chair_unit_id else own_checker
        if verifier is None:
            raise RotationError("no unit other than the chair can verify the chair's sheet")
        plan[unit] = verifier
    return plan


def may_verify(sheet_unit_id: int, verifier_unit_id: int | None, actor_unit_ids: Iterable[int]) -> bool:
    """Only the representatives of the assigned unit verify a sheet, never of the sheet's unit
    (also when one person represents both)."""
    units = set(actor_unit_ids)
    return verifier_unit_id is not None and verifier_unit_id in units and sheet_unit_id not in units


def decides_own_dispute(sheet_unit_id: int, chair_unit_id: int | None) -> bool:
    """The chair unit may not rule on an explanation about its own sheet: the vice-chair does."""
    return chair_unit_id is not None and sheet_unit_id == chair_unit_id
