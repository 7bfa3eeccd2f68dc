"""Reading a score a person types, and the quick values offered as buttons.

Pure: no Telegram, no database. What is accepted, and why:

- `8,5` and `8.5` both mean 8.5 (Vietnamese writes a decimal comma, phones often offer a
  point). At most two decimals: `8,555` is refused rather than rounded, because a score
  silently changed by the bot is worse than a question.
- Only plain digits (0-9) with at most one separator. `1e9`, `NaN`, `Infinity`, `0x10`, `½`,
  digits of other scripts and grouped thousands (`1.000`, `1 000`, `1.000,5`) are refused: a
  score never needs thousands, and `1.000` could mean one or a thousand.
- The range comes from the criterion (`limits`): 0..max for a normal criterion; 0..max for a
  bonus criterion, and never more than the table's bonus cap (the cap also bounds the sum of
  bonus points in `bot.scoring`); for a **deduction** 0..max as well, because deductions are
  stored as the positive amount that is subtracted. Since the table shows a deduction as
  `−2`, a person may type `-2` or `2` for it: both store 2. A minus sign anywhere else is
  refused with the allowed range. `-0` is 0.
- A number of any length is refused in words, never by an exception: the digits are checked
  before any arithmetic (Decimal's 28-digit context would fail on 27 digits and two places).

Every refusal names the allowed range with an example, in the person's language, as Telegram
HTML (what was typed is escaped).
"""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, Decimal
from html import escape

from bot.errors import Refusal
from bot.fmt import number
from bot.i18n import _
from bot.scoring_table import BONUS, DEDUCTION
from storage.text import visible

TWO_PLACES = Decimal("0.01")
MAX_TYPED = 32  # characters: anything longer is not a score
MAX_WHOLE_DIGITS = 12  # a whole part longer than this is above any criterion's maximum
_MINUSES = "−–—‒"  # what phones and copy-paste put where a "-" was meant
_NUMBER = re.compile(r"^(?P<sign>[+-]?)(?P<int>[0-9]+)(?:[.,](?P<frac>[0-9]+))?$")
_GROUPED = re.compile(r"^[+-]?[0-9]{1,3}(?:[.,\s][0-9]{3})+(?:[.,][0-9]+)?$")


def limits(kind: str, max_points: Decimal, bonus_cap: Decimal | None = None) -> tuple[Decimal, Decimal]:
    """The allowed range (low, high) of a score for a criterion of `kind`."""
    high = Decimal(max_points)
    if kind == BONUS and bonus_cap is not None and bonus_cap > 0:
        high = min(high, Decimal(bonus_cap))
    return Decimal(0), high


def parse_score(text: str | None, kind: str, max_points: Decimal, bonus_cap: Decimal | None = None,
                buttons: bool = True) -> Decimal:  # fmt: skip
    """The score typed in `text`, or a `Refusal` saying what is allowed (and, with `buttons`,
    that a button may be pressed instead)."""
    low, high = limits(kind, max_points, bonus_cap)
    raw = visible(text or "").strip()
    for minus in _MINUSES:
        raw = raw.replace(minus, "-")
    if not raw:
        raise Refusal(_range_text(kind, low, high, buttons))
    shown = escape(raw if len(raw) <= MAX_TYPED else raw[: MAX_TYPED - 1] + "…")
    match = _NUMBER.match(raw) if len(raw) <= MAX_TYPED else None
    if match is None:
        if any(ch.isnumeric() and not "0" <= ch <= "9" for ch in raw):
            raise Refusal(
                _("“{value}” has digits other than 0 to 9. {range}").format(
                    value=shown, range=_range_text(kind, low, high, buttons)
                )
            )
        if _GROUPED.match(raw):
            raise Refusal(
                _("“{value}” looks like a number with thousands separators; scores have none. "
                  "{range}").format(value=shown, range=_range_text(kind, low, high, buttons))
            )  # fmt: skip
        raise Refusal(
            _("“{value}” is not a number. {range}").format(value=shown, range=_range_text(kind, low, high, buttons))
        )
    if match["frac"] is not None and len(match["frac"]) > 2:
        raise Refusal(
            _("“{value}” has more than two decimals. Scores have at most two decimals and no "
              "thousands separators. {range}").format(
                value=shown, range=_range_text(kind, low, high, buttons)
            )
        )
    whole = match["int"].lstrip("0") or "0"
    negative = match["sign"] == "-" and (whole != "0" or (match["frac"] or "0").strip("0") != "")
    if negative and kind != DEDUCTION:
        raise Refusal(
            _("A score cannot be negative. {range}").format(range=_range_text(kind, low, high, buttons))
        )
    if len(whole) > MAX_WHOLE_DIGITS:  # decided on the digits: no arithmetic on a huge number
        raise Refusal(
            _("{value} is above the maximum of this criterion. {range}").format(
                value=shown, range=_range_text(kind, low, high, buttons)
            )
        )
    value = Decimal(whole + "." + (match["frac"] or "0")).quantize(TWO_PLACES)
    if value > high:
        raise Refusal(
            _("{value} is above the maximum of this criterion. {range}").format(
                value=number(value), range=_range_text(kind, low, high, buttons)
            )
        )
    return normalize(value)


def normalize(value: Decimal) -> Decimal:
    """`9.50` → `9.5`, `30.00` → `30`: the same number, without trailing zeros (exact)."""
    value = Decimal(value).quantize(TWO_PLACES)
    return value.to_integral_value() if value == value.to_integral_value() else value.normalize()


def _range_text(kind: str, low: Decimal, high: Decimal, buttons: bool = True) -> str:
    example = normalize(_half_step(high * Decimal("0.85")) or high)
    values = {"low": number(low), "high": number(high), "example": number(example)}
    if kind == DEDUCTION:
        if buttons:
            return _("Type the points deducted, from {low} to {high} (e.g. {example}; “-{example}” means "
                     "the same), or press a button.").format(**values)  # fmt: skip
        return _("Type the points deducted, from {low} to {high} (e.g. {example}; “-{example}” means "
                 "the same).").format(**values)  # fmt: skip
    if buttons:
        return _("Type a number from {low} to {high}, e.g. {example}, or press a button.").format(**values)
    return _("Type a number from {low} to {high}, e.g. {example}.").format(**values)


def _half_step(value: Decimal) -> Decimal:
    """Down to a multiple of ½ (what a person would press)."""
    return (value * 2).to_integral_value(rounding=ROUND_FLOOR) / 2


def range_text(kind: str, max_points: Decimal, bonus_cap: Decimal | None = None, buttons: bool = True) -> str:
    """The hint shown under a criterion: what may be typed."""
    return _range_text(kind, *limits(kind, max_points, bonus_cap), buttons)


def quick_values(kind: str, max_points: Decimal, bonus_cap: Decimal | None = None) -> tuple[Decimal, ...]:
    """At most six values for buttons: 0, half, and the top steps (max−2, max−1, max−½, max),
    where units usually score themselves. Each within the range, exact, no duplicates."""
    low, high = limits(kind, max_points, bonus_cap)
    half = _half_step(high / 2)
    candidates = {low, half, high - 2, high - 1, high - Decimal("0.5"), high}
    values = sorted(normalize(v) for v in candidates if low <= v <= high)
    return tuple(dict.fromkeys(values))[:6]
