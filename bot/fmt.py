"""Numbers, dates and durations the way a Vietnamese reader expects them, in our own words.

`92,5` not `92.5`; `27/02/2024`; "ngày 27 tháng 2 năm 2024"; "3 ngày 4 giờ". Points are exact
decimals rounded half-up to two places only when shown (domain.md), so rounding lives here and
nowhere else.

Nothing here asks Babel/CLDR for wording or symbols: a new CLDR release once changed the
Vietnamese hour from "giờ" to "tiếng" under us. Separators are fixed per language below and
every word (month names, units of time) comes from our catalog, so what users read changes
only when we change it.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot.i18n import N_, _, current_locale, ngettext, use_locale

TWO_PLACES = Decimal("0.01")

# (grouping separator, decimal separator) per language: `1.234,75` in Vietnamese.
_SEPARATORS = {"vi": (".", ","), "en": (",", ".")}

_MONTH_NAMES = (
    N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"),
    N_("July"), N_("August"), N_("September"), N_("October"), N_("November"), N_("December"),
)  # fmt: skip


def round_points(value: Decimal | int) -> Decimal:
    """Half-up to two decimals: the one rounding rule for every total the bot shows."""
    return Decimal(value).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def number(value: Decimal | int, locale: str | None = None) -> str:
    """A point value: `92,5`, `1.234,75`, `30`; at most two decimals, no trailing zeros."""
    if isinstance(value, float):
        raise TypeError("points are Decimal, never float")
    return decimal_text(round_points(value), locale)


def decimal_text(value: Decimal | int, locale: str | None = None) -> str:
    """Any exact decimal with the language's separators: `1.000`, `2,5`, `0,125`, `-2`.

    Every digit of the value is kept (round first if you want fewer) and trailing zeros of
    the fraction are dropped; grouping is by thousands.
    """
    if isinstance(value, float):
        raise TypeError("decimals are Decimal, never float")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number")
    group, point = _SEPARATORS.get(locale or current_locale(), _SEPARATORS["vi"])
    sign = "-" if value < 0 else ""
    digits = format(abs(value), "f")
    whole, _dot, fraction = digits.partition(".")
    fraction = fraction.rstrip("0")
    grouped = _group_thousands(whole.lstrip("0") or "0", group)
    return f"{sign}{grouped}{point}{fraction}" if fraction else f"{sign}{grouped}"


def _group_thousands(whole: str, separator: str) -> str:
    head = len(whole) % 3 or 3
    parts = [whole[:head]] + [whole[i : i + 3] for i in range(head, len(whole), 3)]
    return separator.join(parts)


def date(value: dt.date, locale: str | None = None) -> str:
    """`27/02/2024` (both languages use day/month/year: the users are Vietnamese)."""
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def date_long(value: dt.date, locale: str | None = None) -> str:
    """"ngày 27 tháng 2 năm 2024" (the administrative form), "February 27, 2024" in English."""
    with use_locale(locale or current_locale()):
        return _("{month_name} {day}, {year}").format(
            month_name=_(_MONTH_NAMES[value.month - 1]), day=value.day, year=value.year
        )


def datetime(value: dt.datetime, tz: ZoneInfo, locale: str | None = None) -> str:
    """`31/12/2024 17:00` in the cluster's time zone; naive values are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(tz)
    return f"{date(local)} {local.hour:02d}:{local.minute:02d}"


def duration(delta: dt.timedelta, locale: str | None = None) -> str:
    """`3 ngày 4 giờ`, `5 giờ 20 phút`, `12 phút`: two units at most, rounded down.

    Less than a minute (or a negative span) reads as one minute: a deadline still ahead is
    never "0 minutes" away.
    """
    total = max(int(Decimal(delta.total_seconds()).to_integral_value(ROUND_DOWN)) // 60, 0)
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    with use_locale(locale or current_locale()):
        units = {
            "day": lambda n: ngettext("{n} day", "{n} days", n),
            "hour": lambda n: ngettext("{n} hour", "{n} hours", n),
            "minute": lambda n: ngettext("{n} minute", "{n} minutes", n),
        }
        parts = [(days, "day"), (hours, "hour")] if days else [(hours, "hour"), (minutes, "minute")]
        shown = [units[unit](n).format(n=n) for n, unit in parts if n]
        if not shown:
            shown = [units["minute"](1).format(n=1)]
        return " ".join(shown)


def fixed(value: Decimal | int, locale: str | None = None, places: int = 2) -> str:
    """A score with its decimals always shown, as a ranking or an official paper writes it:
    `95,50`, `100,00`, `-2,00` (half-up, like every total)."""
    if isinstance(value, float):
        raise TypeError("points are Decimal, never float")
    quantum = Decimal(1).scaleb(-places)
    value = Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)
    group, point = _SEPARATORS.get(locale or current_locale(), _SEPARATORS["vi"])
    sign = "-" if value < 0 else ""
    whole, _dot, fraction = format(abs(value), "f").partition(".")
    grouped = _group_thousands(whole.lstrip("0") or "0", group)
    return f"{sign}{grouped}{point}{fraction}" if places else f"{sign}{grouped}"


def percent(share: Fraction | Decimal | int, locale: str | None = None, places: int = 2) -> str:
    """An exact share as a percentage, rounded half-up only here: Fraction(2, 3) → `66,67%`,
    1 → `100,00%`, Fraction(1, 8) → `12,50%`."""
    if isinstance(share, float):
        raise TypeError("shares are exact, never float")
    share = Fraction(share)
    with localcontext() as context:
        context.prec = 50
        value = Decimal(share.numerator) * 100 / Decimal(share.denominator)
    return f"{fixed(value, locale, places)}%"
