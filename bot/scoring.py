"""Score arithmetic: a criterion's final value, a sheet's totals, per group and in all.

Pure and exact: `Decimal` in, `Decimal` out, no rounding here. Stored values have at most two
decimals (the column refuses more), so every sum below is exact. Rounding happens only when a
number is shown, by `bot.fmt.number` / `bot.fmt.round_points` (half-up to two decimals) — the
one rounding rule, used by messages and the `.xlsx` alike (the file keeps the exact value and
shows it with a two-decimal format).

The rules, in `domain.md`'s terms:

- **Final value** of a criterion: the decided value (after an explanation was ruled on), else
  the verified value, else the self score. The *verified* stage is the same without the
  decision: verified, else self.
- **A unit's total** = Σ normal + min(Σ bonus, bonus cap) − Σ deductions.
- **Deductions** are stored as the positive amount subtracted (`max_points = 2` for "−2"), so
  a deduction line adds `-value` to its group and to the total.
- A criterion not scored yet counts as 0 in totals; completeness is reported separately
  (`scored`, `missing`) and a sheet cannot be submitted incomplete.
- **Group subtotals** are the plain signed sums of their criteria (bonus lines not capped):
  the cap bounds the bonus points of the whole sheet, not of a group. When a unit's bonus
  points exceed the cap, its group subtotals therefore add up to more than its total; views
  show the bonus points counted next to the total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.scoring_table import BONUS, DEDUCTION, NORMAL

SELF, VERIFIED, FINAL = "self", "verified", "final"
STAGES = (SELF, VERIFIED, FINAL)
ZERO = Decimal(0)


def final_value(self_value: Decimal | None, verified_value: Decimal | None,
                decided_value: Decimal | None) -> Decimal | None:  # fmt: skip
    """Decided, else verified, else self (None when nothing was scored)."""
    for value in (decided_value, verified_value, self_value):
        if value is not None:
            return value
    return None


@dataclass(frozen=True)
class Line:
    """One criterion of a sheet with its three values (any may be missing)."""

    group: str
    code: str
    kind: str  # normal | bonus | deduction
    max_points: Decimal
    self_value: Decimal | None = None
    verified_value: Decimal | None = None
    decided_value: Decimal | None = None

    def value(self, stage: str = FINAL) -> Decimal | None:
        if stage == SELF:
            return self.self_value
        if stage == VERIFIED:
            return final_value(self.self_value, self.verified_value, None)
        if stage == FINAL:
            return final_value(self.self_value, self.verified_value, self.decided_value)
        raise ValueError(f"unknown stage {stage!r}")

    def signed(self, stage: str = FINAL) -> Decimal:
        """What the line adds to its group: a deduction subtracts, a missing value adds 0."""
        value = self.value(stage) or ZERO
        return -value if self.kind == DEDUCTION else value


@dataclass(frozen=True)
class Totals:
    normal: Decimal  # Σ normal criteria
    bonus: Decimal  # Σ bonus criteria, as scored
    bonus_counted: Decimal  # min(bonus, cap): what the total counts
    deductions: Decimal  # Σ deductions, a positive amount
    total: Decimal  # normal + bonus_counted − deductions
    groups: tuple[tuple[str, Decimal], ...]  # (group, signed subtotal), in table order

    @property
    def capped(self) -> bool:
        """Bonus points above the cap were left out of the total."""
        return self.bonus_counted < self.bonus

    def group(self, name: str) -> Decimal:
        return dict(self.groups).get(name, ZERO)


def totals(lines: Iterable[Line], bonus_cap: Decimal, stage: str = FINAL) -> Totals:
    """A sheet's totals at `stage` (self, verified or final)."""
    lines = list(lines)
    sums = {NORMAL: ZERO, BONUS: ZERO, DEDUCTION: ZERO}
    groups: dict[str, Decimal] = {}
    for line in lines:
        sums[line.kind] += line.value(stage) or ZERO
        groups[line.group] = groups.get(line.group, ZERO) + line.signed(stage)
    bonus_counted = min(sums[BONUS], max(Decimal(bonus_cap), ZERO))
    return Totals(
        normal=sums[NORMAL],
        bonus=sums[BONUS],
        bonus_counted=bonus_counted,
        deductions=sums[DEDUCTION],
        total=sums[NORMAL] + bonus_counted - sums[DEDUCTION],
        groups=tuple(groups.items()),
    )


def group_names(lines: Iterable[Line]) -> list[str]:
    """Groups in the order the table lists them (a group is named once)."""
    return list(dict.fromkeys(line.group for line in lines))


def scored(lines: Iterable[Line]) -> int:
    """How many criteria have a self score."""
    return sum(1 for line in lines if line.self_value is not None)


def missing(lines: Sequence[Line]) -> list[Line]:
    """Criteria with no self score yet, in table order."""
    return [line for line in lines if line.self_value is None]


def verified_count(lines: Iterable[Line]) -> int:
    """How many criteria the verifier has accepted or adjusted."""
    return sum(1 for line in lines if line.verified_value is not None)


def best_possible(lines: Iterable[Line], bonus_cap: Decimal) -> Decimal:
    """The highest total the table allows: every normal and bonus maximum, no deduction."""
    full = [Line(x.group, x.code, x.kind, x.max_points, ZERO if x.kind == DEDUCTION else x.max_points)
            for x in lines]  # fmt: skip
    return totals(full, bonus_cap, SELF).total


def ranks(values: Sequence[Decimal]) -> list[int]:
    """Competition ranking, highest first: equal totals share a place (1, 2, 2, 4)."""
    ordered = sorted(values, reverse=True)
    return [ordered.index(v) + 1 for v in values]
