"""What a typed set-up answer means: an emulation year, the place written on the pledge document.

Pure: text in, a value out, or a `Refusal` that says what is expected. Hostile text is normal
here: only ASCII digits make a year (Python's `int()` would also take "²⁰¹⁷" or "٢٠١٧"), the
length is bounded before any parsing, and a place may not carry control characters (python-docx
cannot write them, and they have no business on an official document).
"""

from __future__ import annotations

import re
import unicodedata

from bot.errors import Refusal
from bot.i18n import _
from bot.pledges import MAX_PLACE  # the one bound, also named in /pledges' prompt

FIRST_YEAR = 2000  # no cluster records an emulation year before the bot's time that far back
MAX_YEAR_TEXT = 40  # "năm 2017" and some spaces; anything longer is not a year

_YEAR = re.compile(r"(?:năm|nam)?\s*([0-9]{4})\.?", re.ASCII | re.IGNORECASE)


def year_range(this_year: int) -> tuple[int, int]:
    """The years a cluster may record: from FIRST_YEAR to next year (set up in December)."""
    return FIRST_YEAR, this_year + 1


def check_year(year: int, this_year: int) -> int:
    """`year` if it is in `year_range(this_year)`, else a refusal naming the range."""
    first, last = year_range(this_year)
    if not first <= year <= last:
        raise _not_a_year(this_year)
    return year


def _not_a_year(this_year: int) -> Refusal:
    first, last = year_range(this_year)
    return Refusal(
        _("Please type a year from {first} to {last}, e.g. {example}. Type /cancel to stop.").format(
            first=first, last=last, example=this_year - 1
        )
    )


def parse_year(text: str | None, this_year: int) -> int:
    """"2017", "năm 2017", "Năm 2017." → 2017; anything else is refused politely."""
    cleaned = unicodedata.normalize("NFC", " ".join((text or "").split()))
    match = _YEAR.fullmatch(cleaned.lower()) if len(cleaned) <= MAX_YEAR_TEXT else None
    if match is None:
        raise _not_a_year(this_year)
    return check_year(int(match[1]), this_year)


def clean_place(text: str | None) -> str:
    """The place as it will stand before the date: trimmed, spaces collapsed, 1 to MAX_PLACE
    characters, on one line, without control or invisible formatting characters."""
    cleaned = " ".join(unicodedata.normalize("NFC", text or "").split())
    if not cleaned:
        raise Refusal(_("Please type the place as text, e.g. TP. Hồ Chí Minh, or /cancel."))
    if len(cleaned) > MAX_PLACE:
        raise Refusal(
            _("The place has {count} characters; at most {max} are allowed. Please shorten it.").format(
                count=len(cleaned), max=MAX_PLACE
            )
        )
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise Refusal(_("The place may contain only letters, digits, spaces and punctuation. Please type it again."))
    return cleaned
