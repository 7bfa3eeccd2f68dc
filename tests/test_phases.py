"""The phase rules (`bot.phases`): order, reopening, stepping back, deadlines, typed dates and
the guard other features call. Pure: no Telegram, no database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot import phases as rules
from bot.errors import Refusal
from bot.i18n import use_locale
from bot.phases import PhaseView
from storage.models import PhaseKind as K

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = dt.datetime(2099, 3, 10, 3, 0, tzinfo=dt.UTC)  # 10:00 in Hà Nội


def at(day: str, hour: int = 17, minute: int = 0) -> dt.datetime:
    """A Hà Nội wall-clock time, as the aware UTC datetime storage hands back."""
    d, m, y = (int(p) for p in day.split("/"))
    return dt.datetime(y, m, d, hour, minute, tzinfo=HCM).astimezone(dt.UTC)


def year(*phases: tuple) -> list[PhaseView]:
    """`(kind, opened, closed)` or `(kind, opened, closed, deadline)`; the rest never opened."""
    views = []
    for kind, opened, closed, *deadline in phases:
        views.append(PhaseView(kind, None, deadline[0] if deadline else None, opened, closed))
    return rules.complete(views)


FRESH = year()
REGISTRATION_OPEN = year((K.REGISTRATION, at("01/02/2099", 8), None, at("31/03/2099")))
REGISTRATION_CLOSED = year((K.REGISTRATION, at("01/02/2099", 8), at("01/03/2099", 9)))
SIGNING_OPEN = year((K.REGISTRATION, at("01/02/2099", 8), at("01/03/2099", 9)),
                    (K.SIGNING, at("01/03/2099", 9), None))  # fmt: skip
YEAR_ENDED = year(*[(k, at("01/02/2099", 8), at("02/02/2099", 8)) for k in list(K)[:-1]],
                  (K.CLOSED, at("03/02/2099", 8), None))  # fmt: skip


@pytest.fixture(autouse=True)
def vietnamese():
    with use_locale("vi"):
        yield


# ------------------------------------------------------------------------------ reading views


@pytest.mark.parametrize(
    ("views", "current", "latest", "following"),
    [
        (FRESH, None, None, K.REGISTRATION),
        (REGISTRATION_OPEN, K.REGISTRATION, K.REGISTRATION, K.SIGNING),
        (REGISTRATION_CLOSED, None, K.REGISTRATION, K.SIGNING),
        (SIGNING_OPEN, K.SIGNING, K.SIGNING, K.SCORING),
        (YEAR_ENDED, K.CLOSED, K.CLOSED, None),
    ],
)
def test_current_latest_and_next_phase(views, current, latest, following):
    assert (rules.current_phase(views) or PhaseView(None)).kind == current
    assert (rules.latest_opened(views) or PhaseView(None)).kind == latest
    assert rules.next_to_open(views) == following


def test_complete_fills_the_seven_phases_in_order():
    views = rules.complete([PhaseView(K.VOTING)])
    assert [v.kind for v in views] == list(K)


@pytest.mark.parametrize(
    ("views", "target"),
    [
        (FRESH, K.REGISTRATION),  # nothing open: plan the next one
        (REGISTRATION_OPEN, K.REGISTRATION),
        (REGISTRATION_CLOSED, K.SIGNING),
        (YEAR_ENDED, None),  # the year's end has no deadline
    ],
)
def test_the_deadline_button_is_about_the_open_phase_else_the_next(views, target):
    assert rules.deadline_target(views) == target


# ------------------------------------------------------------------------------ opening


@pytest.mark.parametrize(
    ("views", "kind", "reopen", "closes"),
    [
        (FRESH, K.REGISTRATION, False, None),
        (REGISTRATION_OPEN, K.SIGNING, False, K.REGISTRATION),  # one tap moves the year on
        (REGISTRATION_CLOSED, K.SIGNING, False, None),
        (REGISTRATION_CLOSED, K.REGISTRATION, True, None),  # closed a day early: undo
        (SIGNING_OPEN, K.SCORING, False, K.SIGNING),
    ],
)
def test_opening_is_one_step_forward_or_the_latest_again(views, kind, reopen, closes):
    plan = rules.check_open(views, kind, NOW, HCM)
    assert (plan.kind, plan.reopen, plan.closes, plan.undoes) == (kind, reopen, closes, None)


@pytest.mark.parametrize(
    ("views", "kind", "message"),
    [
        (FRESH, K.SCORING, "cần mở giai đoạn Đăng ký thi đua trước giai đoạn Tự chấm điểm"),
        (FRESH, K.CLOSED, "cần mở giai đoạn Đăng ký thi đua trước giai đoạn Kết thúc năm"),
        (REGISTRATION_OPEN, K.SCORING, "cần mở giai đoạn Ký kết giao ước trước giai đoạn Tự chấm điểm"),
        (REGISTRATION_OPEN, K.REGISTRATION, "Đăng ký thi đua đã mở rồi (từ 01/02/2099 08:00)"),
        (SIGNING_OPEN, K.REGISTRATION, "Không thể mở lại giai đoạn Đăng ký thi đua"),
        (YEAR_ENDED, K.RESULTS, "giai đoạn Kết thúc năm đã bắt đầu"),
        (YEAR_ENDED, K.CLOSED, "Kết thúc năm đã mở rồi"),
    ],
)
def test_opening_out_of_order_or_twice_is_refused(views, kind, message):
    with pytest.raises(Refusal) as refusal:
        rules.check_open(views, kind, NOW, HCM)
    assert message in refusal.value.message


def test_opening_drops_a_planned_deadline_that_has_passed_and_keeps_one_ahead():
    passed = rules.complete([PhaseView(K.REGISTRATION, deadline_at=NOW - dt.timedelta(hours=1))])
    ahead = rules.complete([PhaseView(K.REGISTRATION, deadline_at=NOW + dt.timedelta(hours=1))])
    assert rules.check_open(passed, K.REGISTRATION, NOW).drop_deadline is True
    assert rules.check_open(ahead, K.REGISTRATION, NOW).drop_deadline is False


# ------------------------------------------------------------------------------ stepping back


@pytest.mark.parametrize(
    ("views", "kind", "undoes"),
    [
        (SIGNING_OPEN, K.REGISTRATION, K.SIGNING),
        (YEAR_ENDED, K.RESULTS, K.CLOSED),
        (REGISTRATION_CLOSED, K.REGISTRATION, None),  # not a step back: refused below
    ],
)
def test_stepping_back_reopens_the_phase_before_the_latest(views, kind, undoes):
    if undoes is None:
        with pytest.raises(Refusal):
            rules.check_step_back(views, kind, NOW, HCM)
        return
    plan = rules.check_step_back(views, kind, NOW, HCM)
    assert (plan.kind, plan.reopen, plan.undoes) == (kind, True, undoes)


def test_stepping_back_two_phases_at_once_is_refused():
    views = year((K.REGISTRATION, at("01/02/2099"), at("02/02/2099")),
                 (K.SIGNING, at("02/02/2099"), at("03/02/2099")),
                 (K.SCORING, at("03/02/2099"), None))  # fmt: skip
    with pytest.raises(Refusal) as refusal:
        rules.check_step_back(views, K.REGISTRATION, NOW, HCM)
    assert "ngay trước" in refusal.value.message


# ------------------------------------------------------------------------------ closing


@pytest.mark.parametrize(
    ("views", "kind", "message"),
    [
        (REGISTRATION_OPEN, K.REGISTRATION, None),
        (REGISTRATION_CLOSED, K.REGISTRATION, "Đăng ký thi đua hiện không mở"),
        (FRESH, K.SCORING, "Tự chấm điểm hiện không mở"),
        (SIGNING_OPEN, K.REGISTRATION, "Đăng ký thi đua hiện không mở"),
        (YEAR_ENDED, K.CLOSED, "bước cuối của năm"),
    ],
)
def test_only_the_open_phase_can_be_closed(views, kind, message):
    if message is None:
        rules.check_close(views, kind)
        return
    with pytest.raises(Refusal) as refusal:
        rules.check_close(views, kind)
    assert message in refusal.value.message


# ------------------------------------------------------------------------------ deadlines


@pytest.mark.parametrize(
    ("opens", "deadline", "message"),
    [
        (None, NOW + dt.timedelta(minutes=1), None),
        (NOW - dt.timedelta(days=3), NOW + dt.timedelta(days=3), None),
        (None, NOW, "đã qua (bây giờ là 10/03/2099 10:00)"),
        (None, NOW - dt.timedelta(days=1), "Hạn chót 09/03/2099 10:00 đã qua"),
        (at("01/04/2099", 8), at("31/03/2099"), "sớm hơn thời điểm mở giai đoạn (01/04/2099 08:00)"),
        (at("01/04/2099", 8), at("01/04/2099", 8), "sớm hơn thời điểm mở"),
        (at("01/04/2099", 8), at("01/04/2099", 9), None),
    ],
)
def test_a_deadline_must_be_ahead_and_after_the_opening(opens, deadline, message):
    if message is None:
        rules.check_deadline(opens, deadline, NOW, HCM)
        return
    with pytest.raises(Refusal) as refusal:
        rules.check_deadline(opens, deadline, NOW, HCM)
    assert message in refusal.value.message


@pytest.mark.parametrize(
    ("views", "kind", "opens", "message"),
    [
        (REGISTRATION_OPEN, K.REGISTRATION, None, None),
        (REGISTRATION_OPEN, K.SIGNING, at("01/04/2099", 8), None),  # planning the next one
        (REGISTRATION_OPEN, K.REGISTRATION, at("01/04/2099", 8), "chỉ cần gửi hạn chót"),
        (REGISTRATION_CLOSED, K.REGISTRATION, None, "đã đóng; hãy mở lại"),
        (FRESH, K.CLOSED, None, "không có hạn chót"),
        (FRESH, K.SIGNING, NOW - dt.timedelta(hours=1), "dự kiến mở 10/03/2099 09:00 đã qua"),
    ],
)
def test_scheduling_a_phase(views, kind, opens, message):
    deadline = at("30/04/2099")
    view = rules.view_of(views, kind)
    if message is None:
        rules.check_schedule(view, opens, deadline, NOW, HCM)
        return
    with pytest.raises(Refusal) as refusal:
        rules.check_schedule(view, opens, deadline, NOW, HCM)
    assert message in refusal.value.message


def test_a_planned_phase_refuses_a_deadline_before_its_planned_opening():
    view = PhaseView(K.SCORING, opens_at=at("01/11/2099", 8))
    with pytest.raises(Refusal) as refusal:
        rules.check_schedule(view, None, at("31/10/2099"), NOW, HCM)
    assert "sớm hơn thời điểm mở giai đoạn (01/11/2099 08:00)" in refusal.value.message


# ------------------------------------------------------------------------------ typed dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31/12/2024 17:00", (2024, 12, 31, 17, 0)),
        ("31/12/2024 17h00", (2024, 12, 31, 17, 0)),
        ("31/12/2024 17h", (2024, 12, 31, 17, 0)),
        ("31/12/2024 8:30", (2024, 12, 31, 8, 30)),
        ("31-12-2024 17:00", (2024, 12, 31, 17, 0)),
        ("31.12.2024 09:15", (2024, 12, 31, 9, 15)),
        ("31/12/2024", (2024, 12, 31, 17, 0)),  # a date alone: the end of an office day
        ("1/2/2025", (2025, 2, 1, 17, 0)),
        ("  31/12/2024   17:00  ", (2024, 12, 31, 17, 0)),
        ("17h00 ngày 31/12/2024", (2024, 12, 31, 17, 0)),
        ("ngày 31/12/2024 lúc 16h30", (2024, 12, 31, 16, 30)),
        ("31/12/24 17:00", (2024, 12, 31, 17, 0)),
        ("29/02/2028 17:00", (2028, 2, 29, 17, 0)),
        ("31/12/2024 00:00", (2024, 12, 31, 0, 0)),
        ("31/12/2024 23:59", (2024, 12, 31, 23, 59)),
    ],
)
def test_dates_are_read_as_people_type_them(text, expected):
    value = rules.parse_datetime(text, HCM)
    assert value.tzinfo is not None
    local = value.astimezone(HCM)
    assert (local.year, local.month, local.day, local.hour, local.minute) == expected


def test_a_typed_time_is_the_clusters_wall_clock():
    assert rules.parse_datetime("31/12/2024 17:00", HCM).astimezone(dt.UTC).hour == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mai", "Tôi không đọc được ngày giờ trong “mai”"),
        ("", "Tôi không đọc được ngày giờ"),
        ("17:00", "Tôi không đọc được ngày giờ"),
        ("31/12", "Tôi không đọc được ngày giờ"),
        ("2024-12-31 17:00", "Tôi không đọc được ngày giờ"),  # the year first is ambiguous here
        ("31/12/2024 17:00 hoặc sớm hơn", "Tôi không đọc được ngày giờ"),
        ("31/12/2024 31/12/2025", "Tôi không đọc được ngày giờ"),
        ("31/12/2024 17", "Tôi không đọc được ngày giờ"),
        ("31/02/2099 17:00", "31/02/2099 không phải là ngày hợp lệ"),
        ("29/02/2099", "29/02/2099 không phải là ngày hợp lệ"),
        ("00/01/2099", "không phải là ngày hợp lệ"),
        ("31/13/2099", "không phải là ngày hợp lệ"),
        ("31/12/2099 24:00", "24:00 không phải là giờ hợp lệ"),
        ("31/12/2099 17:60", "không phải là giờ hợp lệ"),
        ("<b>31/12</b>", "&lt;b&gt;"),  # what they typed is shown, escaped
    ],
)
def test_garbage_and_impossible_dates_are_refused_clearly(text, message):
    with pytest.raises(Refusal) as refusal:
        rules.parse_datetime(text, HCM)
    assert message in refusal.value.message


@pytest.mark.parametrize(
    ("text", "opens", "deadline"),
    [
        ("31/12/2099 17:00", None, (31, 12, 17)),
        ("01/11/2099 08:00 - 15/12/2099 17:00", (1, 11, 8), (15, 12, 17)),
        ("01/11/2099 – 15/12/2099", (1, 11, 17), (15, 12, 17)),
        ("01/11/2099 08:00 đến 15/12/2099", (1, 11, 8), (15, 12, 17)),
        ("01-11-2099 08:00 - 15-12-2099 17:00", (1, 11, 8), (15, 12, 17)),
    ],
)
def test_a_schedule_is_a_deadline_or_an_opening_and_a_deadline(text, opens, deadline):
    got_opens, got_deadline = rules.parse_schedule(text, HCM)

    def parts(value):
        local = value.astimezone(HCM)
        return local.day, local.month, local.hour

    assert (parts(got_opens) if got_opens else None) == opens
    assert parts(got_deadline) == deadline


# ------------------------------------------------------------------------------ quick choices


@pytest.mark.parametrize(
    ("now_local", "expected"),
    [
        (dt.datetime(2099, 3, 10, 10, 0), ["17/03/2099", "24/03/2099", "09/04/2099", "31/03/2099"]),
        (dt.datetime(2099, 3, 31, 9, 0), ["07/04/2099", "14/04/2099", "30/04/2099", "30/04/2099"]),
        (dt.datetime(2099, 12, 31, 18, 0), ["07/01/2100", "14/01/2100", "30/01/2100", "31/01/2100"]),
        (dt.datetime(2100, 2, 1, 8, 0), ["08/02/2100", "15/02/2100", "03/03/2100", "28/02/2100"]),
    ],
)
def test_quick_deadlines_are_at_five_in_the_afternoon(now_local, expected):
    now = now_local.replace(tzinfo=HCM).astimezone(dt.UTC)
    choices = rules.quick_deadlines(now, HCM)
    assert [c[1].strftime("%d/%m/%Y") for c in choices] == expected
    assert all(c[1].hour == 17 and c[1].minute == 0 for c in choices)
    assert [c[0] for c in choices] == ["Sau 7 ngày", "Sau 14 ngày", "Sau 30 ngày", "Cuối tháng"]
    assert all(c[1] > now for c in choices)


# ------------------------------------------------------------------------------ the guard


SCORING_PLANNED = rules.complete(
    [
        PhaseView(K.REGISTRATION, None, None, at("01/02/2099", 8), at("01/03/2099", 9)),
        PhaseView(K.SIGNING, None, at("30/04/2099"), at("01/03/2099", 9), None),
        PhaseView(K.SCORING, at("01/11/2099", 8), at("15/12/2099")),
    ]
)


def test_the_guard_lets_an_action_of_the_open_phase_through():
    assert rules.require_phase(SCORING_PLANNED, K.SIGNING, NOW, HCM).kind == K.SIGNING
    assert rules.require_phase(SCORING_PLANNED, (K.REGISTRATION, K.SIGNING), NOW, HCM).kind == K.SIGNING


@pytest.mark.parametrize(
    ("kind", "now", "parts"),
    [
        (K.SCORING, NOW, [
            "Việc này chỉ làm được trong giai đoạn Tự chấm điểm (01/11/2099 08:00 – 15/12/2099 17:00)",
            "giai đoạn này chưa mở",
            "Giai đoạn hiện tại: Ký kết giao ước, hạn chót 30/04/2099 17:00 (còn 51 ngày 7 giờ)",
        ]),
        (K.REGISTRATION, NOW, [
            "Đăng ký thi đua (01/02/2099 08:00 – 01/03/2099 09:00)", "đã kết thúc",
        ]),
        (K.VOTING, NOW, ["Bình xét, bỏ phiếu (chưa ấn định – chưa ấn định)", "chưa mở"]),
        (K.SIGNING, at("01/05/2099", 9), [
            "Hạn chót của giai đoạn Ký kết giao ước là 30/04/2099 17:00",
            "đề nghị Cụm trưởng gia hạn",
        ]),
        ((K.SCORING, K.VERIFICATION), NOW, [
            "Tự chấm điểm (01/11/2099 08:00 – 15/12/2099 17:00) hoặc Thẩm định (chưa ấn định – chưa ấn định)",
        ]),
    ],
)  # fmt: skip
def test_the_guard_names_the_phase_its_dates_and_the_current_phase(kind, now, parts):
    with pytest.raises(Refusal) as refusal:
        rules.require_phase(SCORING_PLANNED, kind, now, HCM)
    for part in parts:
        assert part in refusal.value.message


@pytest.mark.parametrize(
    ("views", "expected"),
    [
        (FRESH, "Năm nay chưa mở giai đoạn nào."),
        (REGISTRATION_CLOSED, "Hiện không có giai đoạn nào đang mở."),
        (SIGNING_OPEN, "Giai đoạn hiện tại: Ký kết giao ước (chưa đặt hạn chót)."),
        (year((K.REGISTRATION, at("01/02/2099", 8), None, at("01/03/2099"))),
         "Giai đoạn hiện tại: Đăng ký thi đua; hạn chót 01/03/2099 17:00 đã qua."),
    ],
)  # fmt: skip
def test_the_current_phase_in_one_sentence(views, expected):
    assert rules.current_text(views, NOW, HCM) == expected


def test_the_guard_speaks_english_too():
    with use_locale("en"), pytest.raises(Refusal) as refusal:
        rules.require_phase(FRESH, K.SCORING, NOW, HCM)
    assert "This can only be done during Self-scoring" in refusal.value.message
    assert "No phase has been opened yet this year." in refusal.value.message


@pytest.mark.parametrize(
    ("delta", "vi", "en"),
    [
        (dt.timedelta(days=3, hours=4, minutes=20), "3 ngày 4 giờ", "3 days 4 hours"),
        (dt.timedelta(days=1), "1 ngày", "1 day"),
        (dt.timedelta(days=400, hours=2), "400 ngày 2 giờ", "400 days 2 hours"),  # not weeks
        (dt.timedelta(hours=5, minutes=20), "5 giờ 20 phút", "5 hours 20 minutes"),
        (dt.timedelta(minutes=12, seconds=50), "12 phút", "12 minutes"),
        (dt.timedelta(seconds=20), "1 phút", "1 minute"),
    ],
)
def test_time_left_in_two_units_at_most(delta, vi, en):
    assert rules.time_left(delta, "vi") == vi
    assert rules.time_left(delta, "en") == en


def test_every_phase_has_its_vietnamese_name():
    assert [rules.phase_name(k) for k in K] == [
        "Đăng ký thi đua", "Ký kết giao ước", "Tự chấm điểm", "Thẩm định",
        "Bình xét, bỏ phiếu", "Công bố kết quả", "Kết thúc năm",
    ]  # fmt: skip
