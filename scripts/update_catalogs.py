"""Sync the catalogs with the code: extract, merge into each `.po`, and list what is missing.

Msgids are English, so the English catalog is filled with the msgid itself; Vietnamese entries
that are new are left empty and listed, for a person to translate. Run:
    .venv/bin/python scripts/update_catalogs.py [--vi translations.json ...]
`--vi` merges a JSON object {msgid: Vietnamese text} into the Vietnamese catalog first (how
new translations are added without hand-editing the `.po`). Exit code 1 while anything is
left untranslated.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


def extract() -> Catalog:
    template = Catalog(project="thidua-bot", domain="messages")
    for package in PACKAGES:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            template.add(
                message, locations=[(f"{package}/{filename}", lineno)],
                auto_comments=comments, context=context,
            )
    return template


def _filled(string: str | tuple | list) -> bool:
    """A plural entry is translated only when every one of its forms is."""
    if isinstance(string, (tuple, list)):
        return bool(string) and all(string)
    return bool(string)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vi", action="append", default=[], help="JSON {msgid: translation}")
    args = parser.parse_args()
    given: dict[str, str] = {}
    for path in args.vi:
        given.update(json.loads(Path(path).read_text(encoding="utf-8")))
    template = extract()
    missing = 0
    for locale in ("vi", "en"):
        po = ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po"
        if po.is_file():
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
        else:
            po.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=locale, project="thidua-bot", domain="messages")
        # Each catalog gets its own copy: update() shares message objects with the template.
        catalog.update(copy.deepcopy(template), no_fuzzy_matching=True)
        catalog.fuzzy = False
        catalog.msgid_bugs_address = ""
        catalog.copyright_holder = "ThiĐua Bot maintainers"
        catalog.last_translator = "ThiĐua Bot maintainers"
        catalog.language_team = f"{locale} <thidua-bot>"
        catalog.obsolete.clear()
        for message in catalog:
            if not message.id:
                continue
            plural = isinstance(message.id, (tuple, list))
            key = message.id[0] if plural else message.id
            # Babel marks an entry fuzzy when it turned from plural to singular (or back): its
            # old text may not fit, so it counts as untranslated until it is given again.
            fuzzy = message.fuzzy
            if locale == "en" and (fuzzy or not _filled(message.string)):
                message.string = tuple(message.id) if plural else message.id
                fuzzy = False
            if locale == "vi" and key in given:
                # Vietnamese has one plural form: the JSON gives it as a plain string.
                message.string = (given[key],) if plural else given[key]
                fuzzy = False
            if not fuzzy:
                message.flags.discard("fuzzy")
            if fuzzy or not _filled(message.string):
                missing += 1
                print(f"{locale}: untranslated: {key!r}")
        with po.open("wb") as fh:
            write_po(fh, catalog, width=100, sort_output=False, include_previous=False)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
