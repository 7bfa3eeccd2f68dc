"""The group's signing message ("board") through the real Application and the offline harness:
posted with its button when the signing phase opens, and kept under Telegram's 4096 characters
and counting to the end for the largest cluster the bot allows (200 units, 80-character names).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.i18n import use_locale
from bot.offline import OfflineTelegram, Record, SimChat
from bot.offline_html import parse_text, utf16_len
from bot.units import MAX_NAME, MAX_UNITS
from bot.views.pledges import Board, BoardLine, board_view
from storage.models import Pledge, PledgeItem, PledgeStatus, utcnow
from tests.support import BOT, add_units, bound_cluster, make_representative, set_chair

OPEN_REGISTRATION = "▶️ Mở Đăng ký thi đua"
OPEN_SIGNING = "▶️ Mở Ký kết giao ước"
SIGN = "✍️ Đồng ý ký giao ước"
BOARD_TITLE = "Ký kết giao ước thi đua năm"
NAME_LENGTH = 80


def long_names(count: int) -> list[str]:
    """`count` different unit names of exactly 80 characters, as long as real ones get."""
    names = []
    for number in range(1, count + 1):
        name = f"Hiệp hội Doanh nghiệp Thủ công Mỹ nghệ và Làng nghề Truyền thống số {number:03d} tỉnh Bắc"
        name = name[:NAME_LENGTH]
        assert len(name) == NAME_LENGTH, name
        names.append(name)
    return names


async def accepted_pledges(db, year_id: int, unit_ids: list[int]) -> None:
    """Accepted pledges written straight to storage (the review has its own tests)."""
    async with db.session() as s:
        for unit_id in unit_ids:
            s.add(Pledge(year_id=year_id, unit_id=unit_id, status=PledgeStatus.ACCEPTED, items=[
                PledgeItem(position=1, text="Hoàn thành chỉ tiêu phát triển hội viên",
                           target_value=Decimal(100), target_unit="hội viên"),
            ]))  # fmt: skip
        await s.commit()


async def open_phase(admin, label: str) -> None:
    await admin.send("/phase")
    await admin.press(label)


def boards(group: SimChat) -> list[Record]:
    return [r for r in group.bot_messages() if r.kind == "text" and BOARD_TITLE.lower() in r.plain.lower()]


async def shown(group: SimChat, message_id: int, text: str) -> Record:
    """The board once it shows `text`: it is redrawn in the background, as fast as Telegram's
    flood limits for a group allow."""
    try:
        async with asyncio.timeout(60):
            # polled: what a reader sees, however the redraw is scheduled (task today, outbox later)
            while text not in group.find(message_id).plain:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"the board never showed {text!r}:\n{group.find(message_id).plain}") from None
    return group.find(message_id)


# The counts reached by a signature through the bot (the first, around where the old message
# froze, and the last eleven one by one); the signatures in between are written to storage, as
# they would be by other updates: the board is redrawn from the database each time.
PRESSED = (1, 10, 47, 70, 150, *range(190, MAX_UNITS + 1))


async def sign_in_storage(db, year_id: int, unit_ids: list[int]) -> None:
    async with db.session() as s:
        pledges = (await s.scalars(select(Pledge).where(Pledge.year_id == year_id, Pledge.unit_id.in_(unit_ids)))).all()
        for pledge in pledges:
            pledge.status, pledge.signed_at = PledgeStatus.SIGNED, utcnow()
        await s.commit()


async def test_the_board_of_the_largest_cluster_fits_a_message_and_counts_every_signature(tg, db):
    scene = await bound_cluster(tg, db)
    names = long_names(MAX_UNITS)
    units = await add_units(db, scene.cluster_id, names)
    await set_chair(db, scene.year_id, units[0], units[1])
    await open_phase(scene.admin, OPEN_REGISTRATION)
    await accepted_pledges(db, scene.year_id, units)
    await open_phase(scene.admin, OPEN_SIGNING)
    group = scene.group
    assert len(boards(group)) == 1
    board = boards(group)[0]
    assert f"Đã ký: 0/{MAX_UNITS} đơn vị" in board.plain and board.buttons == [[SIGN]]

    texts = {}
    signed = 0  # units[:signed] have signed
    for count in PRESSED:
        await sign_in_storage(db, scene.year_id, units[signed : count - 1])
        rep = await make_representative(tg, db, scene.cluster_id, units[count - 1], f"Đại Diện {count}", group)
        answer = await rep.press(SIGN, chat=group, message_id=board.message_id)
        assert "Đã ký thay mặt Hiệp hội Doanh nghiệp" in answer["text"]
        signed = count
        texts[count] = (await shown(group, board.message_id, f"Đã ký: {count}/{MAX_UNITS} đơn vị")).plain
    board = group.find(board.message_id)

    assert tg.rejections == []  # no message or edit was ever over 4096 characters
    assert len(boards(group)) == 1  # one message, edited to the end, never posted again
    for text in [*board.edits, board.plain]:
        assert utf16_len(text) <= 4096
    # many still to sign: the first of them by name, how many more, where the full list is
    few_signed = texts[10]
    assert f"⏳ 11. {names[10]}" in few_signed and names[-1] not in few_signed
    assert "… và " in few_signed and " đơn vị khác." in few_signed
    assert f"/pledges@{BOT}" in few_signed
    # few still to sign: every one of them by name, and the signed ones counted, not listed
    nearly = texts[190]
    for number in range(191, MAX_UNITS + 1):
        assert f"⏳ {number}. {names[number - 1]}" in nearly
    assert names[0] not in nearly and "khác." not in nearly
    assert f"⏳ 200. {names[-1]}" in texts[199] and names[-2] not in texts[199]
    # the last signature concludes: no button, the document sent once
    assert f"Đã ký: {MAX_UNITS}/{MAX_UNITS} đơn vị" in board.plain
    assert "Đã ký kết giao ước thi đua năm" in board.plain and board.buttons == []
    documents = [r for r in group.bot_messages() if r.kind == "document"]
    assert len(documents) == 1 and f"Đã có {MAX_UNITS}/{MAX_UNITS} đơn vị ký." in documents[0].plain
    async with db.session() as s:
        statuses = (await s.scalars(select(Pledge.status))).all()
    assert statuses == [PledgeStatus.SIGNED] * MAX_UNITS


def board_of(names: list[str], signed: int, concluded: bool) -> Board:
    at = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)
    lines = tuple(BoardLine(name, at if n < signed else None) for n, name in enumerate(names))
    return Board(1, 1, "Cụm thi đua & <các> đơn vị 🏛" * 8, 2026, ZoneInfo("Asia/Ho_Chi_Minh"),
                 lines, at if concluded else None)  # fmt: skip


@pytest.mark.parametrize(
    "names",
    [
        long_names(MAX_UNITS),
        # the longest names allowed, with what HTML escaping and UTF-16 make longer
        [(f"Đơn vị {n:03d} & <b>hợp tác xã</b> 🌾🌾 " + "Ư&" * MAX_NAME)[:MAX_NAME] for n in range(MAX_UNITS)],
    ],
    ids=["80-character names", "200-character names with markup and emoji"],
)
def test_the_board_stays_under_telegrams_limit_at_every_count(names):
    with use_locale("vi"):
        for concluded in (False, True):
            for signed in range(MAX_UNITS + 1):
                text, _markup = board_view(board_of(names, signed, concluded), BOT)
                parsed = parse_text(text, "HTML")  # what Telegram would count, and valid HTML
                assert utf16_len(parsed.text) <= 4096, (signed, concluded)
                assert f"Đã ký: {signed}/{MAX_UNITS} đơn vị" in parsed.text


async def test_opening_the_signing_phase_posts_the_board_with_its_button(tg, db):
    scene = await bound_cluster(tg, db)
    units = await add_units(db, scene.cluster_id)
    await set_chair(db, scene.year_id, units[0], units[1])
    rep = await make_representative(tg, db, scene.cluster_id, units[2], "Đại Diện Hai", scene.group)
    await open_phase(scene.admin, OPEN_REGISTRATION)
    await accepted_pledges(db, scene.year_id, [units[2]])
    assert boards(scene.group) == []
    await open_phase(scene.admin, OPEN_SIGNING)
    group = scene.group
    assert len(boards(group)) == 1
    board = boards(group)[0]
    assert "Đã ký: 0/9 đơn vị" in board.plain and board.buttons == [[SIGN]]
    news = next(r for r in group.bot_messages() if r.plain.startswith("📣 Giai đoạn Ký kết giao ước đã mở."))
    assert news.message_id < board.message_id  # the news first, then the board under it
    # nobody signed in private first: the group's button is there from the start
    answer = await rep.press(SIGN, chat=group)
    assert "Đã ký thay mặt Hội Làm vườn Việt Nam" in answer["text"]
    board = await shown(group, board.message_id, "Đã ký: 1/9 đơn vị")
    assert "✅ 3. Hội Làm vườn Việt Nam —" in board.plain
    assert len(boards(group)) == 1


async def test_the_board_is_not_posted_twice_when_signing_is_reopened(tg: OfflineTelegram, db):
    scene = await bound_cluster(tg, db)
    units = await add_units(db, scene.cluster_id)
    await set_chair(db, scene.year_id, units[0], units[1])
    await open_phase(scene.admin, OPEN_REGISTRATION)
    await open_phase(scene.admin, OPEN_SIGNING)
    await scene.admin.send("/phase")
    await scene.admin.press("⏹ Đóng Ký kết giao ước")
    await scene.admin.press("🔁 Mở lại Ký kết giao ước")
    assert len(boards(scene.group)) == 1
