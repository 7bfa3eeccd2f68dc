"""Typed input is bounded everywhere: every parser of typed text (pledge targets and texts,
scores, dates and deadlines, unit names) answers hostile text with our own refusal or a correct
value, never an exception; the administrative date forms are read; example dates in prompts are
ahead of now. The pure parsers table-driven first, then each kind through the real Application
and the offline harness."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import phases, pledges, units
from bot.errors import Refusal
from bot.i18n import use_locale
from bot.pledges import Target
from bot.score_input import parse_score
from bot.scoring_table import BONUS, DEDUCTION, NORMAL
from storage.models import Phase, PhaseKind, Unit, utcnow
from tests.support import bound_cluster
from tests.test_pledges import ADD, cast, items_of
from tests.test_scoring import sheet_values, world

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = dt.datetime(2099, 3, 10, 3, 0, tzinfo=dt.UTC)
D = Decimal


@pytest.fixture(autouse=True)
def vietnamese():
    with use_locale("vi"):
        yield


# ------------------------------------------------------------------------------ any parser, any text

HOSTILE = [
    "", " ", "\n\t", "-", "0", "-0", "+0", "1" * 24, "1" * 25, "9" * 27, "9" * 31, "1" * 10_000,
    "9" * 10 + ",99995", "1." + "0" * 5000, "0." + "0" * 40 + "1", "1,000", "1.000.000.000.000",
    "1e999999", "1E-999999", "NaN", "nan", "-Infinity", "Infinity", "sNaN", "0x10", "1_000",
    "²", "½", "٣", "٣١/١٢/٢٠٩٩", "１２", "５ xã", "1.2.3.4.5.6", "1,,,2", "..,,..", "5,", ",5",
    "<b>5</b>", "5 <b>xã</b>", "<script>alert(1)</script>", "&amp;", "😀", "5 😀", "👨‍👩‍👧",
    "\x00", "5\x00", "5 \x00xã", "\u200b5", "\u202e5 xã", "\ud800", "31/12/99999", "99/99/9999 99:99",
    "31/12/2099 " + "9" * 50 + ":00", "31/12/2099" + " a" * 5000, "1/1/0001 00:00", "31/12/9999 23:59",
    "01/01/0000", "5%" * 3000, "31/12/2099 17:00 - " * 300, "1\n" * 5000, "Hội A\n" * 300,
]  # fmt: skip

PARSERS = {
    "target": pledges.parse_target,
    "commitment": pledges.clean_text,
    "score": lambda t: parse_score(t, NORMAL, D(30)),
    "bonus": lambda t: parse_score(t, BONUS, D(5), D(5)),
    "deduction": lambda t: parse_score(t, DEDUCTION, D(10), buttons=False),
    "deadline": lambda t: phases.parse_schedule(t, HCM, NOW),
    "unit names": lambda t: units.require_new_names(t, ["Hội Nông dân"]),
    "unit rename": lambda t: units.require_rename(t, ["Hội Nông dân"]),
}


@pytest.mark.parametrize("parser", list(PARSERS))
@pytest.mark.parametrize("typed", HOSTILE, ids=lambda t: repr(t[:24]))
def test_hostile_text_gets_a_refusal_that_fits_a_message_or_a_value(parser, typed):
    try:
        value = PARSERS[parser](typed)
    except Refusal as refusal:
        assert refusal.message.strip()
        assert len(refusal.message) <= 1500, refusal.message[:200]  # the reply stays one message
        assert "\x00" not in refusal.message and "\ud800" not in refusal.message
        return
    for part in value if isinstance(value, (tuple, list)) else [value]:
        if isinstance(part, Decimal):
            assert part.is_finite() and part >= 0
        if isinstance(part, Target):
            assert part.value.is_finite() and D(0) <= part.value < D(10) ** pledges.MAX_TARGET_DIGITS
            assert "\x00" not in part.unit
        if isinstance(part, str):
            assert "\x00" not in part and "\u200b" not in part and "\u202e" not in part
        if isinstance(part, dt.datetime):
            assert phases.FIRST_YEAR <= part.year <= phases.LAST_YEAR


# ------------------------------------------------------------------------------ pledge targets


@pytest.mark.parametrize(
    ("typed", "value", "unit"),
    [
        ("0.500 tấn", "0.5", "tấn"),  # a leading zero: a decimal point, not thousands
        ("0,500 tấn", "0.5", "tấn"),
        ("00000000001 xã", "1", "xã"),
        ("1." + "0" * 5000, "1", ""),  # trailing zeros of the fraction are no decimals
        ("9999999999,9999 đồng", "9999999999.9999", "đồng"),  # the largest target
        ("5 \x00xã", "5", "xã"),  # a control character is dropped
        ("100 m²", "100", "m²"),  # a superscript in what it counts is fine
    ],
)
def test_targets_at_the_edges_are_read_exactly(typed, value, unit):
    target = pledges.parse_target(typed)
    assert target == Target(D(value), unit)
    assert str(target.value) == value  # no exponent, no padding: stored and shown as typed


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("1" * 25 + " hội viên", "quá lớn đối với một chỉ tiêu: chỉ tiêu phải nhỏ hơn 10.000.000.000"),
        ("1" * 24, "phải nhỏ hơn 10.000.000.000"),
        ("1" * 4000 + " xã", "phải nhỏ hơn 10.000.000.000"),
        ("10.000.000.000 đồng", "phải nhỏ hơn 10.000.000.000"),
        ("1," + "1" * 30 + " tấn", "tối đa 4 chữ số thập phân"),
        ("0." + "0" * 40 + "1", "tối đa 4 chữ số thập phân"),
        ("1e6 hội viên", "viết đầy đủ con số"),
        ("1E999999", "viết đầy đủ con số"),
        ("-5 vụ", "không thể là số âm"),
        ("−0 vụ", "không thể là số âm"),
        ("٣ xã", "chữ số từ 0 đến 9"),
        ("１２ xã", "chữ số từ 0 đến 9"),
        ("5٣ xã", "chữ số từ 0 đến 9"),
        ("1² m", "chữ số từ 0 đến 9"),
        ("NaN", "con số và đơn vị tính"),
        ("Infinity", "con số và đơn vị tính"),
        ("😀", "con số và đơn vị tính"),
        ("<b>5</b>", "con số và đơn vị tính"),
    ],
)
def test_targets_out_of_bounds_are_refused_naming_the_accepted_form(typed, says):
    with pytest.raises(Refusal) as caught:
        pledges.parse_target(typed)
    assert says in caught.value.message
    assert len(caught.value.message) < 300  # what was typed is echoed short


def test_commitment_texts_lose_control_and_invisible_characters():
    assert pledges.clean_text("Tổ chức\x00 hội\u200b thi\u202e") == "Tổ chức hội thi"
    with pytest.raises(Refusal, match="trống"):
        pledges.clean_text("\x00\u200b\ufeff")


# ------------------------------------------------------------------------------ scores


@pytest.mark.parametrize(
    ("typed", "kind", "says"),
    [
        ("9" * 27, NORMAL, "vượt quá điểm tối đa"),
        ("9" * 31, NORMAL, "vượt quá điểm tối đa"),
        ("9" * 29 + ",9", NORMAL, "vượt quá điểm tối đa"),
        ("-" + "9" * 30, DEDUCTION, "vượt quá điểm tối đa"),
        ("-" + "9" * 30, NORMAL, "không được là số âm"),
        ("٣", NORMAL, "có chữ số không thuộc 0 đến 9"),
        ("１２", NORMAL, "có chữ số không thuộc 0 đến 9"),
        ("½", NORMAL, "có chữ số không thuộc 0 đến 9"),
        ("1e999999", NORMAL, "không phải là số"),
        ("NaN", NORMAL, "không phải là số"),
        ("Infinity", NORMAL, "không phải là số"),
    ],
)
def test_scores_out_of_bounds_are_refused_naming_the_range(typed, kind, says):
    with pytest.raises(Refusal) as caught:
        parse_score(typed, kind, D(30))
    assert says in caught.value.message
    assert "từ 0 đến 30" in caught.value.message


@pytest.mark.parametrize(("typed", "kind"), [("-0", NORMAL), ("-0,00", NORMAL), ("−0", BONUS), ("000", NORMAL)])
def test_minus_zero_is_zero(typed, kind):
    assert parse_score(typed, kind, D(30), D(5)) == 0


# ------------------------------------------------------------------------------ dates and deadlines


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17 giờ ngày 01 tháng 01 năm 2027", (2027, 1, 1, 17, 0)),
        ("17h00 ngày 01/01/2027", (2027, 1, 1, 17, 0)),
        ("17h ngày 1/1/2027", (2027, 1, 1, 17, 0)),
        ("ngày 01 tháng 01 năm 2027", (2027, 1, 1, 17, 0)),  # the default hour
        ("Ngày 1 tháng 1 năm 2027", (2027, 1, 1, 17, 0)),
        ("17 giờ 30 ngày 01 tháng 01 năm 2027", (2027, 1, 1, 17, 30)),
        ("17 giờ 30 phút ngày 01 tháng 01 năm 2027", (2027, 1, 1, 17, 30)),
        ("8 giờ 5 phút, ngày 15 tháng 12 năm 2099", (2099, 12, 15, 8, 5)),
        ("ngày 15 tháng 12 năm 2099 lúc 16 giờ", (2099, 12, 15, 16, 0)),
        ("trước 17 giờ ngày 15 tháng 12 năm 2099", (2099, 12, 15, 17, 0)),
        ("17 GIỜ NGÀY 15 THÁNG 12 NĂM 2099", (2099, 12, 15, 17, 0)),
        ("17 gio ngay 15 thang 12 nam 2099", (2099, 12, 15, 17, 0)),  # typed without diacritics
        ("5 giờ chiều ngày 15/12/2099", (2099, 12, 15, 17, 0)),
        ("8 giờ sáng ngày 15/12/2099", (2099, 12, 15, 8, 0)),
        ("7 giờ tối 15/12/2099", (2099, 12, 15, 19, 0)),
        ("17g30 15/12/2099", (2099, 12, 15, 17, 30)),
        ("٣١/١٢/٢٠٩٩", (2099, 12, 31, 17, 0)),  # other scripts' digits: the same date
    ],
)
def test_the_administrative_date_forms_are_read(text, expected):
    local = phases.parse_datetime(text, HCM).astimezone(HCM)
    assert (local.year, local.month, local.day, local.hour, local.minute) == expected


def test_a_schedule_in_the_administrative_form():
    opens, deadline = phases.parse_schedule(
        "từ 8 giờ ngày 01 tháng 11 năm 2099 đến 17 giờ ngày 15 tháng 12 năm 2099", HCM
    )
    assert opens == dt.datetime(2099, 11, 1, 8, tzinfo=HCM)
    assert deadline == dt.datetime(2099, 12, 15, 17, tzinfo=HCM)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1/1/0001 00:00", "năm phải từ 2000 đến 2100"),
        ("31/12/9999 23:59", "năm phải từ 2000 đến 2100"),
        ("01/01/0000", "năm phải từ 2000 đến 2100"),
        ("17 giờ ngày 01 tháng 01 năm 1999", "năm phải từ 2000 đến 2100"),
        ("17 giờ ngày 31 tháng 02 năm 2099", "31 tháng 02 năm 2099 không phải là"),
        ("25 giờ ngày 01 tháng 01 năm 2099", "25 giờ không phải là giờ hợp lệ"),
        ("17 giờ ngày 01 tháng 01 năm 2099 và 01/02/2099", "Tôi không đọc được ngày giờ"),
        ("17:5 01/01/2099", "Tôi không đọc được ngày giờ"),
    ],
)
def test_dates_out_of_bounds_are_refused_clearly(text, says):
    with pytest.raises(Refusal) as caught:
        phases.parse_datetime(text, HCM, NOW)
    assert says in caught.value.message


LOCAL_NOWS = [
    dt.datetime(2026, 12, 1, 9, 0), dt.datetime(2026, 12, 31, 23, 59), dt.datetime(2027, 1, 15, 17, 0),
    dt.datetime(2028, 2, 29, 8, 0), dt.datetime(2099, 11, 30, 18, 0),
]  # fmt: skip


@pytest.mark.parametrize("local_now", LOCAL_NOWS, ids=str)
def test_example_dates_are_ahead_of_now(local_now):
    now = local_now.replace(tzinfo=HCM).astimezone(dt.UTC)
    opens, deadline = phases.example_schedule(now, HCM)
    assert now < opens < deadline
    shown = re.findall(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", phases.unreadable_text("mai", HCM, now))
    assert shown and all(phases.parse_datetime(s, HCM) > now for s in shown)
    assert phases.parse_schedule(phases.example_range(now, HCM), HCM) == (opens, deadline)  # as typed


# ------------------------------------------------------------------------------ unit names


def test_unit_names_lose_control_and_invisible_characters():
    assert units.parse_names("1. Hội\x00 Làm vườn\n\u200b\n• Hội\u202e Sinh vật cảnh") == [
        "Hội Làm vườn", "Hội Sinh vật cảnh",
    ]  # fmt: skip


def test_a_zero_width_space_does_not_hide_a_duplicate_unit():
    with pytest.raises(Refusal, match="đã có trong danh sách"):
        units.require_new_names("Hội Nông\u200b dân", ["Hội Nông dân"])
    with pytest.raises(Refusal, match="đã có trong danh sách"):
        units.require_rename("\ufeffHội Nông dân", ["Hội Nông dân"])


# ------------------------------------------------------------------------------ through the bot


async def test_a_25_digit_target_is_refused_politely_and_the_step_keeps_waiting(tg, db):
    c = await cast(tg, db)
    rep = c.reps[2]
    await rep.send("/pledge")
    await rep.press(ADD)
    await rep.send("Phát triển hội viên mới")
    await rep.send("1" * 25 + " hội viên")
    assert "quá lớn đối với một chỉ tiêu: chỉ tiêu phải nhỏ hơn 10.000.000.000" in rep.private.last.plain
    await rep.send("1e6 hội viên")
    assert "Hãy viết đầy đủ con số" in rep.private.last.plain
    await rep.send_sticker()
    assert "Vui lòng gõ chỉ tiêu bằng tin nhắn văn bản" in rep.private.last.plain
    assert "bằng chữ" not in rep.private.last.plain  # not "write the number in words"
    assert tg.errors == []
    assert await items_of(db, c.units[2]) == []
    await rep.send("1.000 hội viên")  # still waiting for the target
    assert await items_of(db, c.units[2]) == [("Phát triển hội viên mới", D(1000), "hội viên")]


async def test_a_huge_score_is_refused_politely_and_nothing_is_stored(tg, db):
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    for typed in ("9" * 30, "1" * 27, "٣"):
        await rep.send(typed)
        assert "từ 0 đến 30" in rep.private.last.plain, typed
    assert "có chữ số không thuộc 0 đến 9" in rep.private.last.plain
    assert tg.errors == []
    _sheet, values = await sheet_values(db, w.units[0])
    assert all(v[0] is None for v in values.values())
    await rep.send("29")
    _sheet, values = await sheet_values(db, w.units[0])
    assert values["1.1"][0] == D(29)


def _dates_in(text: str) -> list[dt.datetime]:
    return [dt.datetime.strptime(s, "%d/%m/%Y %H:%M").replace(tzinfo=HCM)
            for s in re.findall(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", text)]  # fmt: skip


async def test_a_deadline_typed_the_formal_way_is_saved_and_every_example_is_ahead(tg, db):
    scene = await bound_cluster(tg, db)
    admin = scene.admin
    await admin.send("/phase")
    await admin.press("🗓 Đặt hạn chót")  # nothing open yet: the prompt offers a planned opening too
    await admin.press("✍️ Nhập ngày giờ")
    prompt = admin.private.last.plain
    assert "gửi cả hai" in prompt
    examples = _dates_in(prompt)
    assert len(examples) == 3 and all(when > utcnow() for when in examples), prompt
    await admin.send("ngày mai nhé")
    refusal = admin.private.last.plain
    assert "Tôi không đọc được ngày giờ" in refusal
    assert _dates_in(refusal) and all(when > utcnow() for when in _dates_in(refusal)), refusal
    await admin.send_sticker()
    assert "Vui lòng gõ ngày giờ bằng tin nhắn văn bản" in admin.private.last.plain
    assert all(when > utcnow() for when in _dates_in(admin.private.last.plain))
    await admin.send("17 giờ ngày 31 tháng 12 năm 9999")
    assert "năm phải từ 2000 đến 2100" in admin.private.last.plain
    await admin.send("17 giờ 30 ngày 31 tháng 12 năm 2099")
    assert "Đã lưu: hạn chót của giai đoạn Đăng ký thi đua là 31/12/2099 17:30." in admin.private.last.plain
    assert tg.errors == []
    async with db.session() as s:
        phase = await s.scalar(select(Phase).where(Phase.year_id == scene.year_id,
                                                    Phase.kind == PhaseKind.REGISTRATION))  # fmt: skip
        assert phase.deadline_at == dt.datetime(2099, 12, 31, 10, 30, tzinfo=dt.UTC)


async def test_a_deadline_in_the_form_17h00_ngay_is_saved(tg, db):
    scene = await bound_cluster(tg, db)
    admin = scene.admin
    await admin.send("/phase")
    await admin.press("▶️ Mở Đăng ký thi đua")
    await admin.press("🗓 Đặt hạn chót")
    await admin.press("✍️ Nhập ngày giờ")
    assert "gửi cả hai" not in admin.private.last.plain  # open already: only the deadline
    assert all(when > utcnow() for when in _dates_in(admin.private.last.plain))
    await admin.send("17h00 ngày 01/01/2100")
    assert "Đã lưu: hạn chót của giai đoạn Đăng ký thi đua là 01/01/2100 17:00." in admin.private.last.plain


async def test_a_pasted_list_with_nul_and_zero_width_characters_is_cleaned_or_refused(tg, db):
    scene = await bound_cluster(tg, db)
    admin = scene.admin
    await admin.send("/units")
    await admin.press("➕ Thêm đơn vị")
    await admin.send("1. Hội Nông\u200b dân\n2. Hội Nông dân")  # the same unit, one hiding a zero-width space
    assert "đã có trong danh sách" in admin.private.last.plain
    await admin.send("1. Hội\x00 Nông dân\n2. <b>Hội</b> Cựu chiến binh 😀\n" + "3. " + "x" * 10_000)
    assert "Dòng 3: tên dài quá 200 ký tự" in admin.private.last.plain
    await admin.send("1. Hội\x00 Nông dân\n2. <b>Hội</b> Cựu chiến binh 😀")
    assert "Đã thêm 2 đơn vị" in admin.private.last.plain
    assert "&lt;b&gt;Hội&lt;/b&gt;" in admin.private.last.text  # shown as typed, escaped
    assert tg.errors == []
    async with db.session() as s:
        names = (await s.scalars(select(Unit.name).where(Unit.cluster_id == scene.cluster_id).order_by(Unit.position))).all()
    assert list(names) == ["Hội Nông dân", "<b>Hội</b> Cựu chiến binh 😀"]


async def test_a_note_with_nul_and_hidden_characters_is_stored_clean(tg, db):
    """PostgreSQL refuses NUL in text; a zero-width space only hides what a note says."""
    w = await world(tg, db)
    rep = w.reps[0]
    await rep.send("/score")
    await rep.press("📝 Ghi chú")
    await rep.send("Báo\x00 cáo\u200b năm")
    assert "📝 Đã lưu ghi chú." in rep.private.last.plain
    assert tg.errors == []
    assert (await sheet_values(db, w.units[0]))[1]["1.1"][3] == "Báo cáo năm"
