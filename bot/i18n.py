"""Message catalogs and the language of the current update.

The language is held in a context variable, set once per update by the handler wrapper (see
`handlers/base.py`), so rule and rendering code can call `_()` without threading a locale
through every function. Group messages and messages to other people switch it with
`use_locale`.

Catalogs are gettext `.po` files under `locales/<lang>/LC_MESSAGES/messages.po`. Msgids are the
English source text. A `.mo` is compiled automatically when it is missing or older than its
`.po`; where the package directory is read-only the catalog is compiled in memory instead, so a
user never has to run a build step.
"""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import locales

SUPPORTED_LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
DOMAIN = "messages"
LOCALES_DIR = Path(locales.__file__).resolve().parent
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}

log = logging.getLogger(__name__)
_current: ContextVar[str] = ContextVar("thidua_locale", default=DEFAULT_LOCALE)
_fallback = [DEFAULT_LOCALE]


def set_fallback_locale(locale: str) -> None:
    """The bot's default language (BOT_LOCALE), for messages composed outside an update:
    a notice to someone who never chose a language, a scheduled announcement."""
    _fallback[0] = locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE


def fallback_locale() -> str:
    return _fallback[0]


def pick_locale(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """The user's own choice wins, then Telegram's app language, then the bot's default."""
    if chosen in SUPPORTED_LOCALES:
        return chosen
    if telegram_code:
        primary = telegram_code.replace("_", "-").split("-", 1)[0].lower()
        if primary in SUPPORTED_LOCALES:
            return primary
    return default if default in SUPPORTED_LOCALES else DEFAULT_LOCALE


def po_path(locale: str, directory: Path = LOCALES_DIR) -> Path:
    return directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_catalog(po: Path) -> bytes:
    """Compile one `.po` to `.mo` bytes and refresh the `.mo` file beside it when stale."""
    mo = po.with_suffix(".mo")
    if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
        return mo.read_bytes()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=po.parent.parent.name, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    data = buffer.getvalue()
    try:
        mo.write_bytes(data)
    except OSError as exc:  # read-only install: keep the in-memory copy
        log.debug("cannot write %s (%s); using the catalog compiled in memory", mo, exc)
    return data


def compile_all(directory: Path = LOCALES_DIR) -> list[Path]:
    """Compile every stale catalog; returns the `.po` files seen (used at start-up and in tests)."""
    seen = sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    for po in seen:
        compile_catalog(po)
    return seen


@cache
def translations(locale: str) -> gettext.NullTranslations:
    po = po_path(locale)
    if not po.is_file():
        return gettext.NullTranslations()
    return gettext.GNUTranslations(io.BytesIO(compile_catalog(po)))


def current_locale() -> str:
    return _current.get()


def set_locale(locale: str) -> None:
    """Set the language for the rest of this update (called once by the handler wrapper)."""
    _current.set(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE)


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Temporarily speak another language, e.g. the cluster's in a group announcement."""
    token = _current.set(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str) -> str:
    """Translate into the current update's language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction where it must be translated later (module constants)."""
    return message
