"""Rules for member units' names: what a pasted list means and when it is refused.

A cluster has 5–30 units in practice; up to `MAX_UNITS` are accepted. Names are compared folded
(case and diacritics removed, `storage.text.fold_name`), so "Hội Thủy sản" and "hội thuỷ sản"
are the same unit. A paste is all or nothing: one bad line and nothing is saved. Control
characters (NUL, which PostgreSQL refuses) and invisible ones (zero-width spaces, which would
hide a duplicate) are dropped from names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape

from bot.errors import Refusal
from bot.i18n import _
from storage.text import fold_name, visible

MAX_NAME = 200
MAX_UNITS = 200
# "1. Hội…", "2) Hội…", "- Hội…", "• Hội…": numbering people paste from Word or Excel.
_BULLET = re.compile(r"^\s*(?:\d{1,3}\s*[.)/-]|[-•*–])\s+")


def clean_name(raw: str) -> str:
    """One name: list numbering, control and invisible characters dropped, single spaces."""
    return " ".join(_BULLET.sub("", visible(raw)).split())


def parse_names(text: str) -> list[str]:
    """One unit per line; blank lines and list numbering are ignored."""
    return [name for name in (clean_name(line) for line in text.splitlines()) if name]


def check_new_names(names: list[str], existing: Iterable[str]) -> list[str]:
    """All problems with adding `names` to a cluster that has `existing` names (active or not)."""
    problems: list[str] = []
    if not names:
        return [_("The list is empty: send the units' names, one per line.")]
    seen = {fold_name(n): n for n in existing}
    if len(seen) + len(names) > MAX_UNITS:
        problems.append(
            _("A cluster can have at most {max} units; this list would make {count}.").format(
                max=MAX_UNITS, count=len(seen) + len(names)
            )
        )
    for number, name in enumerate(names, start=1):
        if len(name) > MAX_NAME:
            problems.append(
                _("Line {line}: the name is longer than {max} characters.").format(
                    line=number, max=MAX_NAME
                )
            )
            continue
        key = fold_name(name)
        if key in seen:
            problems.append(
                _("Line {line}: “{name}” is already in the list as “{other}”.").format(
                    line=number, name=escape(name), other=escape(seen[key])
                )
            )
            continue
        seen[key] = name
    return problems


def require_new_names(text: str, existing: Iterable[str]) -> list[str]:
    """The names to add, or a `Refusal` listing every problem (nothing is saved)."""
    names = parse_names(text)
    problems = check_new_names(names, existing)
    if problems:
        raise Refusal(render_problems(problems))
    return names


def require_rename(name: str, existing_other: Iterable[str]) -> str:
    cleaned = clean_name(name)
    if not cleaned:
        raise Refusal(_("The name is empty. Send the new name, or /cancel."))
    problems = check_new_names([cleaned], existing_other)
    if problems:
        raise Refusal(render_problems(problems))
    return cleaned


def render_problems(problems: list[str], limit: int = 20) -> str:
    shown = problems[:limit]
    text = _("Nothing was saved:") + "\n" + "\n".join(f"• {p}" for p in shown)
    if len(problems) > limit:
        text += "\n" + _("… and {count} more problems.").format(count=len(problems) - limit)
    return text
