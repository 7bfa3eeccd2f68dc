"""Catalogs and formats: Vietnamese first, English second, nothing left untranslated."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import fmt
from bot.i18n import (
    LOCALES_DIR,
    SUPPORTED_LOCALES,
    _,
    compile_catalog,
    pick_locale,
    po_path,
    use_locale,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("chosen", "telegram", "default", "expected"),
    [
        ("en", "vi", "vi", "en"),  # the person's /lang choice wins
        (None, "en-US", "vi", "en"),  # then Telegram's app language
        (None, "vi", "en", "vi"),
        (None, "fr", "vi", "vi"),  # unsupported: the bot's default
        (None, None, "en", "en"),
        ("xx", "pt-br", "vi", "vi"),  # a stale unsupported choice is ignored
        (None, "EN_gb", "vi", "en"),
    ],
)
def test_language_follows_choice_then_telegram_then_default(chosen, telegram, default, expected):
    assert pick_locale(chosen, telegram, default) == expected


def source_messages() -> set[str]:
    found: set[str] = set()
    for package in ("bot", "handlers", "storage"):
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / package, method_map=[("**.py", "python")], keywords={"_": None, "N_": None, "ngettext": (1, 2)}
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_message_in_the_code_is_translated(locale):
    with po_path(locale).open("rb") as fh:
        catalog = read_po(fh)
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id): m.string
        for m in catalog
        if m.id and _filled(m.string) and not m.fuzzy
    }
    missing = sorted(source_messages() - translated.keys())
    assert missing == [], f"untranslated in {locale}: {missing}"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_translations_keep_the_placeholders_and_tags(locale):
    with po_path(locale).open("rb") as fh:
        catalog = read_po(fh)
    for message in catalog:
        if not message.id or not _filled(message.string):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:  # every plural form keeps the singular's placeholders
            for pattern in (r"\{\w+\}", r"</?\w+>", r"/\w+"):
                assert sorted(re.findall(pattern, ids[0])) == sorted(
                    re.findall(pattern, string)
                ), f"{locale}: {message.id!r} -> {message.string!r}"


def _filled(string) -> bool:
    if isinstance(string, tuple):
        return bool(string) and all(string)
    return bool(string)


def test_vietnamese_is_the_default_and_english_the_second():
    message = "Type /help to see what you can do."
    with use_locale("vi"):
        vietnamese = _(message)
    with use_locale("en"):
        english = _(message)
    assert english == message
    assert vietnamese != message and "/help" in vietnamese


def test_stale_mo_is_recompiled_and_missing_mo_created(tmp_path):
    po = tmp_path / "vi" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    shutil.copy(LOCALES_DIR / "vi" / "LC_MESSAGES" / "messages.po", po)
    mo = po.with_suffix(".mo")
    assert not mo.exists()
    compile_catalog(po)
    assert mo.is_file()
    first = mo.read_bytes()
    po.write_text(
        po.read_text(encoding="utf-8")
        + '\nmsgid "A brand new message"\nmsgstr "Một thông báo mới"\n',
        encoding="utf-8",
    )
    os.utime(po, (mo.stat().st_mtime + 10, mo.stat().st_mtime + 10))
    compile_catalog(po)
    assert mo.read_bytes() != first
    assert "Một thông báo mới".encode() in mo.read_bytes()


def test_read_only_install_compiles_in_memory(tmp_path, monkeypatch):
    po = tmp_path / "vi" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    shutil.copy(LOCALES_DIR / "vi" / "LC_MESSAGES" / "messages.po", po)

    def read_only(self, data):
        raise PermissionError(13, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "write_bytes", read_only)
    data = compile_catalog(po)
    assert "Xin chào".encode() in data
    assert not po.with_suffix(".mo").exists()


@pytest.mark.parametrize(
    ("value", "locale", "expected"),
    [
        (Decimal("92.5"), "vi", "92,5"),
        (Decimal("92.50"), "vi", "92,5"),
        (Decimal("100"), "vi", "100"),
        (Decimal("1234.75"), "vi", "1.234,75"),
        (Decimal("8.555"), "vi", "8,56"),  # half-up
        (Decimal("8.545"), "vi", "8,55"),  # half-up, not banker's
        (Decimal("-2"), "vi", "-2"),
        (Decimal("92.5"), "en", "92.5"),
        (7, "vi", "7"),
    ],
)
def test_points_are_shown_the_vietnamese_way(value, locale, expected):
    assert fmt.number(value, locale) == expected


def test_floats_are_refused_for_points():
    with pytest.raises(TypeError):
        fmt.number(92.5)  # type: ignore[arg-type]


def test_dates_in_vietnamese_and_english():
    day = dt.date(2024, 2, 27)
    assert fmt.date(day, "vi") == "27/02/2024"
    assert fmt.date_long(day, "vi") == "ngày 27 tháng 2 năm 2024"
    assert fmt.date_long(day, "en") == "February 27, 2024"


def test_datetimes_are_shown_in_the_cluster_time_zone():
    moment = dt.datetime(2024, 12, 31, 10, 0, tzinfo=dt.UTC)
    assert fmt.datetime(moment, ZoneInfo("Asia/Ho_Chi_Minh"), "vi") == "31/12/2024 17:00"


@pytest.mark.parametrize(
    ("value", "locale", "expected"),
    [
        (Decimal("1000"), "vi", "1.000"),
        (Decimal("2.5"), "vi", "2,5"),
        (Decimal("0.125"), "vi", "0,125"),
        (Decimal("1234567.50"), "vi", "1.234.567,5"),
        (Decimal("-1234.5"), "vi", "-1.234,5"),
        (Decimal("-0"), "vi", "0"),
        (Decimal("100"), "vi", "100"),
        (Decimal("1E+3"), "vi", "1.000"),
        (Decimal("1234.5"), "en", "1,234.5"),
        (0, "vi", "0"),
    ],
)
def test_decimals_use_our_separators(value, locale, expected):
    assert fmt.decimal_text(value, locale) == expected


@pytest.mark.parametrize("month", range(1, 13))
def test_long_dates_use_our_month_names(month):
    day = dt.date(2027, month, 1)
    assert fmt.date_long(day, "vi") == f"ngày 1 tháng {month} năm 2027"
    assert fmt.date_long(day, "en").endswith(" 1, 2027")


def test_rendered_words_never_come_from_babel_or_cldr():
    """Babel 2.19 renamed the Vietnamese hour ("tiếng"); our wording must not follow a library."""
    offenders = []
    for package in ("bot", "handlers", "storage"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if re.search(r"^\s*(from|import) babel\.(dates|numbers|units|lists)", text, re.M):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
