"""When reminders of a deadline are due (bot/reminders.py): pure, table-driven."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot import reminders as rules
from bot.reminders import DEFAULT_QUIET, NO_QUIET, Quiet

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
OPENED = dt.datetime(2026, 11, 1, 8, tzinfo=HCM)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=HCM)


def local(planned):
    return [(label, f"{when.astimezone(HCM):%d %H:%M}") for label, when in planned]


@pytest.mark.parametrize(("deadline", "quiet", "expected"), [
    # an afternoon deadline: three days, one day, the morning
    (at(15, 17), DEFAULT_QUIET, [("3d", "12 17:00"), ("1d", "14 17:00"), ("day", "15 08:00")]),
    # 08:30: the morning one an hour before, at 07:30
    (at(15, 8, 30), DEFAULT_QUIET, [("3d", "12 08:30"), ("1d", "14 08:30"), ("day", "15 07:30")]),
    # 07:30: an hour before is 06:30, in the quiet window: moved to 07:00
    (at(15, 7, 30), DEFAULT_QUIET, [("3d", "12 07:30"), ("1d", "14 07:30"), ("day", "15 07:00")]),
    # 06:30: the day before at 06:30 moves to 07:00; the morning one would be after the deadline
    (at(15, 6, 30), DEFAULT_QUIET, [("3d", "12 07:00"), ("1d", "14 07:00")]),
    # 23:00: the 1-day one moves to 07:00 of the deadline's day, an hour before the morning one:
    # only the morning one is kept
    (at(15, 23), DEFAULT_QUIET, [("3d", "13 07:00"), ("day", "15 08:00")]),
    # 00:30: at night throughout; the morning one would be after the deadline
    (at(15, 0, 30), DEFAULT_QUIET, [("3d", "12 07:00"), ("1d", "14 07:00")]),
    # no quiet window: at their times
    (at(15, 23), NO_QUIET, [("3d", "12 23:00"), ("1d", "14 23:00"), ("day", "15 08:00")]),
    (at(15, 0, 30), NO_QUIET, [("3d", "12 00:30"), ("1d", "14 00:30"), ("day", "14 23:30")]),
    # a window within a day (12:00–14:00): a 13:00 deadline's reminders move to 14:00, the
    # morning one stays
    (at(15, 13), Quiet(dt.time(12), dt.time(14)), [("3d", "12 14:00"), ("1d", "14 14:00"), ("day", "15 08:00")]),
])  # fmt: skip
def test_the_reminders_of_a_deadline(deadline, quiet, expected):
    assert local(rules.plan(deadline, OPENED, HCM, quiet)) == expected


@pytest.mark.parametrize(("opened", "expected"), [
    (at(12, 18), [("1d", "14 17:00"), ("day", "15 08:00")]),  # opened after the 3-day one
    (at(15, 9), []),  # opened on the deadline's day, after the morning
    (at(11, 9), [("3d", "12 17:00"), ("1d", "14 17:00"), ("day", "15 08:00")]),
])  # fmt: skip
def test_no_reminder_before_the_phase_opened(opened, expected):
    assert local(rules.plan(at(15, 17), opened, HCM)) == expected


def test_reminders_are_in_utc_and_before_the_deadline():
    planned = rules.plan(at(15, 17), OPENED, HCM)
    assert all(when.tzinfo is dt.UTC and when < at(15, 17) for _label, when in planned)
    assert planned[0][1] == dt.datetime(2026, 12, 12, 10, tzinfo=dt.UTC)


@pytest.mark.parametrize(("now", "label"), [
    (at(12, 16), None),
    (at(12, 17), "3d"),
    (at(14, 16), "3d"),
    (at(14, 18), "1d"),  # both due (the bot was stopped): only the latest
    (at(15, 9), "day"),
])  # fmt: skip
def test_only_the_latest_due_reminder_is_sent(now, label):
    assert rules.latest_due(rules.plan(at(15, 17), OPENED, HCM), now) == label


@pytest.mark.parametrize(("text", "quiet"), [
    ("21:00-07:00", DEFAULT_QUIET),
    ("22h30 – 6h00", Quiet(dt.time(22, 30), dt.time(6))),
    (" 7:05-8:00 ", Quiet(dt.time(7, 5), dt.time(8))),
    ("off", NO_QUIET),
    ("Tắt", NO_QUIET),
    ("25:00-07:00", None),
    ("21:00", None),
    ("21:60-07:00", None),
    ("", None),
    (None, None),
])  # fmt: skip
def test_a_typed_quiet_window(text, quiet):
    assert rules.parse_quiet(text) == quiet


@pytest.mark.parametrize(("settings", "quiet"), [
    ({}, DEFAULT_QUIET),
    (None, DEFAULT_QUIET),
    ({"reminder_quiet": "22:00-06:00"}, Quiet(dt.time(22), dt.time(6))),
    ({"reminder_quiet": "off"}, NO_QUIET),
    ({"reminder_quiet": "nonsense"}, DEFAULT_QUIET),
    ({"reminder_quiet": 7}, DEFAULT_QUIET),
])  # fmt: skip
def test_the_clusters_quiet_window(settings, quiet):
    assert rules.quiet_of(settings) == quiet
    assert rules.parse_quiet(rules.setting_value(quiet)) == quiet


@pytest.mark.parametrize(("local_time", "inside"), [
    (dt.time(20, 59), False), (dt.time(21, 0), True), (dt.time(23, 59), True),
    (dt.time(0, 0), True), (dt.time(6, 59), True), (dt.time(7, 0), False), (dt.time(12, 0), False),
])  # fmt: skip
def test_the_default_quiet_window_crosses_midnight(local_time, inside):
    assert DEFAULT_QUIET.contains(local_time) is inside
    assert NO_QUIET.contains(local_time) is False
