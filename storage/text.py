"""Text folding used to decide when two names are "the same" name.

Unit names arrive typed by people on phones: with or without Vietnamese diacritics, in
different Unicode forms (a precomposed "ủ" or "u" + combining hook), with the old and new
placement of the tone mark ("Thuỷ" and "Thủy" are both in use), with doubled spaces. The
database must treat all of these as one unit, so uniqueness is enforced on the folded key,
never on the display name.

Folding removes diacritics, so distinct Vietnamese words can collide ("Hội" and "Hồi"). For
the few dozen unit names of one cluster that is what we want: a near-duplicate is far more
likely a typo than a second organisation.
"""

import unicodedata

# "đ" is a letter of its own, not "d" plus a combining mark, so decomposition leaves it alone.
_LETTER_MAP = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})


def fold_name(s: str) -> str:
    """Fold a name to its comparison key: lowercase, no diacritics, đ→d, single spaces."""
    s = s.translate(_LETTER_MAP)
    # NFKD also folds compatibility forms (full-width letters, ligatures) that keyboards emit.
    decomposed = unicodedata.normalize("NFKD", s.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.translate(_LETTER_MAP).split())


# Invisible characters that only hide what a text says: zero-width spaces and the byte-order
# mark (two names would look the same and not fold the same), bidirectional overrides (a name
# shown backwards). Joiners (U+200C, U+200D) stay: emoji and some scripts need them.
_INVISIBLE = frozenset("\u200b\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def visible(s: str) -> str:
    """`s` without control characters (NUL, which PostgreSQL refuses in text, and the like),
    lone surrogates (not encodable) and the invisible characters above; whitespace is kept."""
    return "".join(
        ch for ch in s
        if ch.isspace() or (ch not in _INVISIBLE and unicodedata.category(ch) not in ("Cc", "Cs"))
    )  # fmt: skip
