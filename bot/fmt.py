"""Numbers and dates the way a Vietnamese reader expects them, through Babel.

`92,5` not `92.5`; `27/02/2024`; "ngày 27 tháng 2 năm 2024". Points are exact decimals rounded
half-up to two places only when shown (domain.md), so rounding lives here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

from bot.i18n import current_locale

TWO_PLACES = Decimal("0.01")
# Long dates: the administrative wording in Vietnamese, Babel's own long form elsewhere.
_LONG_DATE = {"vi": "'ngày' d 'tháng' M 'năm' y"}


def round_points(value: Decimal | int) -> Decimal:
    """Half-up to two decimals: the one rounding rule for every total the bot shows."""
    return Decimal(value).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def number(value: Decimal | int, locale: str | None = None) -> str:
    """A point value: `92,5`, `1.234,75`, `30`; at most two decimals, no trailing zeros."""
    if isinstance(value, float):
        raise TypeError("points are Decimal, never float")
    return format_decimal(
        round_points(value), format="#,##0.##", locale=locale or current_locale()
    )


def date(value: dt.date, locale: str | None = None) -> str:
    """`27/02/2024` (both languages use day/month/year: the users are Vietnamese)."""
    return format_date(value, "dd/MM/yyyy", locale=locale or current_locale())


def date_long(value: dt.date, locale: str | None = None) -> str:
    loc = locale or current_locale()
    return format_date(value, _LONG_DATE.get(loc, "long"), locale=loc)


def datetime(value: dt.datetime, tz: ZoneInfo, locale: str | None = None) -> str:
    """`31/12/2024 17:00` in the cluster's time zone; naive values are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return format_datetime(
        value.astimezone(tz), "dd/MM/yyyy HH:mm", tzinfo=tz, locale=locale or current_locale()
    )
