"""Pledge rules, table-driven: targets as people type them, texts, the life cycle, changes of
the list, and the document's date line and content."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from docx import Document

from bot import pledges as rules
from bot.errors import Refusal
from bot.i18n import use_locale
from bot.pledge_document import (
    NATIONAL_HEADING,
    Amendment,
    PledgeDocument,
    UnitPledge,
    document_text,
    place_and_date,
    render,
)
from bot.pledges import Change, ChangeKind, Item, Op, Target
from storage.models import PledgeStatus

S = PledgeStatus


@pytest.mark.parametrize(
    ("typed", "value", "unit"),
    [
        ("50 hợp tác xã", "50", "hợp tác xã"),
        ("1.000 hội viên", "1000", "hội viên"),
        ("12.500.000 đồng", "12500000", "đồng"),
        ("2,5 tỷ đồng", "2.5", "tỷ đồng"),
        ("1.000,5 tấn", "1000.5", "tấn"),
        ("0,125 tấn", "0.125", "tấn"),
        ("2.5 ha", "2.5", "ha"),  # a phone's dot, not a thousands separator
        ("95%", "95", "%"),
        ("100 %", "100", "%"),
        ("0 vụ vi phạm", "0", "vụ vi phạm"),
        ("Chỉ tiêu: 30 lớp tập huấn", "30", "lớp tập huấn"),
        ("  63   tỉnh, thành phố ", "63", "tỉnh, thành phố"),
        ("200", "200", ""),
    ],
)
def test_targets_are_read_the_vietnamese_way(typed, value, unit):
    assert rules.parse_target(typed) == Target(Decimal(value), unit)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "con số và đơn vị tính"),
        ("khoảng 50 hợp tác xã", "con số và đơn vị tính"),
        ("1,000 hội viên", "một nghìn hay là số thập phân"),
        ("1 000 hội viên", "không có dấu cách"),
        ("1,23456 tấn", "tối đa 4 chữ số thập phân"),
        ("99999999999 đồng", "quá lớn"),
        ("5 " + "x" * 65, "tối đa 64 ký tự"),
        ("1.2.3 lớp", "không đọc được"),
    ],
)
def test_unreadable_targets_are_refused_with_a_hint(typed, says):
    with use_locale("vi"), pytest.raises(Refusal) as caught:
        rules.parse_target(typed)
    assert says in caught.value.message


@pytest.mark.parametrize(
    ("target", "locale", "shown"),
    [
        (Target(Decimal(1000), "hội viên"), "vi", "1.000 hội viên"),
        (Target(Decimal("2.5"), "tỷ đồng"), "vi", "2,5 tỷ đồng"),
        (Target(Decimal("0.125"), "tấn"), "vi", "0,125 tấn"),
        (Target(Decimal(95), "%"), "vi", "95%"),
        (Target(Decimal(1000), "members"), "en", "1,000 members"),
        (Target(Decimal(200), ""), "vi", "200"),
    ],
)
def test_targets_are_written_back_in_the_readers_format(target, locale, shown):
    assert rules.target_text(target, locale) == shown


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  Tổ chức hội thi  ", "Tổ chức hội thi"),
        ("Tổ chức\n\nhội   thi", "Tổ chức hội thi"),
        ("x" * 1000, "x" * 1000),
    ],
)
def test_commitment_texts_are_trimmed(typed, kept):
    assert rules.clean_text(typed) == kept


@pytest.mark.parametrize("typed", ["", "   \n\t ", None, "x" * 1001, " " + "x" * 1001 + " "])
def test_empty_and_over_long_commitments_are_refused(typed):
    with use_locale("vi"), pytest.raises(Refusal):
        rules.clean_text(typed)


# op -> statuses it is allowed from (every other status must be refused)
ALLOWED = {
    Op.EDIT: {S.DRAFT, S.RETURNED},
    Op.SUBMIT: {S.DRAFT, S.RETURNED},
    Op.WITHDRAW: {S.SUBMITTED},
    Op.ACCEPT: {S.SUBMITTED},
    Op.RETURN: {S.SUBMITTED},  # an accepted pledge is settled
    Op.SIGN: {S.ACCEPTED},
    Op.AMEND: {S.SIGNED},
}
AFTER = {Op.SUBMIT: S.SUBMITTED, Op.WITHDRAW: S.DRAFT, Op.ACCEPT: S.ACCEPTED, Op.RETURN: S.RETURNED,
         Op.SIGN: S.SIGNED}  # fmt: skip


@pytest.mark.parametrize("op", list(Op))
@pytest.mark.parametrize("status", list(PledgeStatus))
def test_the_life_cycle(op, status):
    if status in ALLOWED[op]:
        assert rules.check(op, status) == AFTER.get(op, status)
    else:
        with use_locale("vi"), pytest.raises(Refusal):
            rules.check(op, status)


def test_the_refusals_say_what_to_do():
    with use_locale("vi"):
        with pytest.raises(Refusal, match="đã ký giao ước rồi"):
            rules.check(Op.SIGN, S.SIGNED)
        with pytest.raises(Refusal, match="Chỉ ký được bản đăng ký đã được chấp nhận"):
            rules.check(Op.SIGN, S.SUBMITTED)
        with pytest.raises(Refusal, match="hãy rút lại trước"):
            rules.check(Op.EDIT, S.SUBMITTED)


CHAIR, VICE, OTHER, FOURTH = 1, 2, 3, 4  # unit ids; CHAIR is the year's chair unit


@pytest.mark.parametrize(
    ("unit", "chair_unit", "roles", "own", "says"),
    [
        (OTHER, CHAIR, {"representative", "chair"}, {CHAIR}, None),  # the chair reviews the units
        (OTHER, CHAIR, {"admin"}, set(), None),
        (CHAIR, CHAIR, {"representative", "chair"}, {CHAIR}, "Cụm phó"),  # never its own pledge
        (CHAIR, CHAIR, {"representative", "vice_chair"}, {VICE}, None),  # the vice-chair does
        (CHAIR, CHAIR, {"admin"}, set(), None),  # or the administrator
        (CHAIR, CHAIR, {"admin", "representative", "chair"}, {CHAIR}, "Cụm phó"),
        (OTHER, CHAIR, {"representative", "vice_chair"}, {VICE}, "Chỉ .*Cụm trưởng"),  # only the chair's
        (OTHER, CHAIR, {"representative"}, {FOURTH}, "Chỉ .*Cụm trưởng"),
        (OTHER, CHAIR, {"representative"}, {OTHER}, "không thể xem xét bản đăng ký của chính đơn vị"),
        (OTHER, CHAIR, {"admin", "representative"}, {OTHER}, "không thể xem xét bản đăng ký của chính đơn vị"),
        (OTHER, CHAIR, {"secretariat"}, set(), "Chỉ .*Cụm trưởng"),
        (OTHER, None, {"admin"}, set(), None),  # no chair unit yet: the administrator
        (OTHER, None, {"representative", "vice_chair"}, {VICE}, "Chỉ .*Cụm trưởng"),
    ],
)
def test_who_reviews_a_pledge(unit, chair_unit, roles, own, says):
    assert rules.may_review(unit, chair_unit, roles, own) is (says is None)
    if says is None:
        rules.check_reviewer(unit, chair_unit, roles, own)
    else:
        with use_locale("vi"), pytest.raises(Refusal, match=says):
            rules.check_reviewer(unit, chair_unit, roles, own)


ITEMS = [Item(1, "Một"), Item(2, "Hai", Target(Decimal(5), "lớp")), Item(3, "Ba")]


@pytest.mark.parametrize(
    ("change", "texts"),
    [
        (Change(ChangeKind.ADD, text="  Bốn "), ["Một", "Hai", "Ba", "Bốn"]),
        (Change(ChangeKind.TEXT, 2, text="Hai mới"), ["Một", "Hai mới", "Ba"]),
        (Change(ChangeKind.DELETE, 1), ["Hai", "Ba"]),
        (Change(ChangeKind.UP, 3), ["Một", "Ba", "Hai"]),
        (Change(ChangeKind.DOWN, 1), ["Hai", "Một", "Ba"]),
    ],
)
def test_changes_of_the_list(change, texts):
    assert [i.text for i in rules.apply_change(ITEMS, change)] == texts


def test_a_target_is_set_and_cleared_without_touching_the_text():
    set_ = rules.apply_change(ITEMS, Change(ChangeKind.TARGET, 1, target=Target(Decimal(50), "hợp tác xã")))
    assert set_[0] == Item(1, "Một", Target(Decimal(50), "hợp tác xã"))
    cleared = rules.apply_change(ITEMS, Change(ChangeKind.TARGET, 2, target=None))
    assert cleared[1] == Item(2, "Hai", None)


@pytest.mark.parametrize(
    ("items", "change", "says"),
    [
        (ITEMS, Change(ChangeKind.UP, 1), "đã ở vị trí đầu"),
        (ITEMS, Change(ChangeKind.DOWN, 3), "đã ở vị trí cuối"),
        (ITEMS, Change(ChangeKind.TEXT, 99, text="x"), "không còn trong bản đăng ký"),
        (ITEMS, Change(ChangeKind.ADD, text="   "), "không được để trống"),
        ([Item(i, str(i)) for i in range(20)], Change(ChangeKind.ADD, text="x"), "tối đa 20 cam kết"),
    ],
)
def test_impossible_changes_are_refused(items, change, says):
    with use_locale("vi"), pytest.raises(Refusal, match=says):
        rules.apply_change(items, change)


def test_a_change_survives_the_trip_through_a_waiting_step():
    change = Change(ChangeKind.ADD, None, "Bốn", Target(Decimal("2.5"), "tỷ đồng"))
    assert Change.from_data(change.as_data()) == change


@pytest.mark.parametrize(
    ("date", "line"),
    [
        (dt.date(2024, 2, 27), "Hà Nội, ngày 27 tháng 02 năm 2024"),
        (dt.date(2024, 1, 9), "Hà Nội, ngày 09 tháng 01 năm 2024"),
        (dt.date(2024, 3, 5), "Hà Nội, ngày 05 tháng 3 năm 2024"),
        (dt.date(2024, 12, 10), "Hà Nội, ngày 10 tháng 12 năm 2024"),
        (dt.date(2024, 11, 30), "Hà Nội, ngày 30 tháng 11 năm 2024"),
    ],
)
def test_the_date_line_pads_as_decree_30_says(date, line):
    assert place_and_date("Hà Nội", date) == line


HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def sample_document() -> PledgeDocument:
    signed = dt.datetime(2024, 2, 27, 2, 15, tzinfo=dt.UTC)
    return PledgeDocument(
        cluster_name="Cụm thi đua kinh tế", year=2024, place="Hà Nội", date=dt.date(2024, 2, 27),
        common_content="Đoàn kết, phối hợp chặt chẽ.\nThi đua hoàn thành xuất sắc nhiệm vụ.", tz=HCM,
        units=[
            UnitPledge("Liên minh Hợp tác xã Việt Nam",
                       [Item(1, "Phát triển mới hợp tác xã", Target(Decimal(50), "hợp tác xã")),
                        Item(2, "Tập huấn", Target(Decimal(1000), "lượt người"))],
                       "Hoàng Văn Em", signed, [Amendment(1, signed, "Bổ sung theo nghị quyết")]),
            UnitPledge("Hội Thuỷ sản Việt Nam", [Item(3, "Chống khai thác IUU", Target(Decimal(100), "%"))]),
        ],
    )  # fmt: skip


def test_the_document_opens_and_holds_the_heading_the_units_and_the_signatures():
    data = render(sample_document())
    text = document_text(data)
    for expected in (
        NATIONAL_HEADING, "Độc lập - Tự do - Hạnh phúc", "GIAO ƯỚC THI ĐUA NĂM 2024",
        "Hà Nội, ngày 27 tháng 02 năm 2024", "CỤM THI ĐUA KINH TẾ",
        "1.1. Phát triển mới hợp tác xã (Chỉ tiêu: 50 hợp tác xã)",
        "1.2. Tập huấn (Chỉ tiêu: 1.000 lượt người)", "2.1. Chống khai thác IUU (Chỉ tiêu: 100%)",
        "Sửa đổi, bổ sung lần 1 ngày 27/02/2024: Bổ sung theo nghị quyết",
        "Đoàn kết, phối hợp chặt chẽ.", "Thi đua hoàn thành xuất sắc nhiệm vụ.",
        "Hoàng Văn Em", "09:15 27/02/2024", "Chưa ký",
    ):  # fmt: skip
        assert expected in text, expected
    document = Document(io.BytesIO(data))
    runs = {run.text: run for table in document.tables for row in table.rows for cell in row.cells
            for p in cell.paragraphs for run in p.runs}  # fmt: skip
    assert runs[NATIONAL_HEADING].bold
    # Bold, and a line drawn under it (tests/test_papers_docx.py), not a text underline.
    assert runs["Độc lập - Tự do - Hạnh phúc"].bold and not runs["Độc lập - Tự do - Hạnh phúc"].underline
    assert runs["Hà Nội, ngày 27 tháng 02 năm 2024"].italic
    title = next(p for p in document.paragraphs if p.text.split("\n")[0] == "GIAO ƯỚC THI ĐUA NĂM 2024")
    assert title.runs[0].bold and title.alignment == 1  # centred
    assert document.styles["Normal"].font.name == "Times New Roman"
    assert 13 <= document.styles["Normal"].font.size.pt <= 14
    signatures = document.tables[-1]
    assert [c.text for c in signatures.rows[0].cells] == ["STT", "Đơn vị", "Đại diện xác nhận", "Thời điểm ký"]
    assert [c.text for c in signatures.rows[2].cells] == ["2", "Hội Thuỷ sản Việt Nam", "", "Chưa ký"]
