"""The offline Telegram fake (`bot.offline`) behaves like Telegram where it matters.

Each test drives a tiny, throwaway PTB Application (built here, independent of the bot's own
modules) through the fake, and checks both halves of every limit: the edge is accepted, one
step past it is refused with Telegram's error, the handler sees the real PTB exception
(recorded in `tg.errors`) and `tg.rejections` names the refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.offline import OfflineTelegram, Record, SimChat, SimUser

# PTB itself warns when it builds a RetryAfter (its retry_after type is changing in v23)
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

Ctx = ContextTypes.DEFAULT_TYPE
Action = Callable[[Update, Ctx], Awaitable[Any]]
MB = 1024 * 1024


def lang_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Tiếng Việt", callback_data="lang:vi"),
                InlineKeyboardButton("English", callback_data="lang:en"),
            ]
        ]
    )


def build_app(tg: OfflineTelegram, builder: ApplicationBuilder | None = None) -> Application:
    """A throwaway bot: just enough handlers to exercise the fake."""
    builder = builder or ApplicationBuilder().token(tg.token)
    app = builder.request(tg.make_request()).get_updates_request(tg.make_request()).build()

    async def echo(update: Update, context: Ctx) -> None:
        await update.effective_message.reply_text("echo: " + " ".join(context.args or []))

    async def do(update: Update, context: Ctx) -> None:
        await context.bot_data["do"](update, context)

    async def menu(update: Update, context: Ctx) -> None:
        await update.effective_chat.send_message("Chọn ngôn ngữ:", reply_markup=lang_keyboard())

    async def on_lang(update: Update, context: Ctx) -> None:
        query = update.callback_query
        context.bot_data.setdefault("pressed", []).append(query.data)
        await query.answer("Đã lưu")
        await query.edit_message_text(f"Ngôn ngữ: <b>{query.data[5:]}</b>", parse_mode="HTML")

    async def on_answer(update: Update, context: Ctx) -> None:
        await context.bot_data["do"](update, context)

    async def on_document(update: Update, context: Ctx) -> None:
        file = await context.bot.get_file(update.message.document.file_id)
        data = await file.download_as_bytearray()
        context.bot_data["downloaded"] = bytes(data)
        await update.message.reply_document(bytes(data)[::-1], filename="nguoc.bin")

    async def on_my_member(update: Update, context: Ctx) -> None:
        change = update.my_chat_member
        context.bot_data.setdefault("member_updates", []).append(
            (change.chat.id, change.old_chat_member.status, change.new_chat_member.status)
        )

    async def on_joined(update: Update, context: Ctx) -> None:
        names = [u.username for u in update.message.new_chat_members]
        context.bot_data.setdefault("joined", []).extend(names)

    async def slow(update: Update, context: Ctx) -> None:
        await asyncio.sleep(0.01)
        await update.effective_chat.send_message("xong việc nền")

    app.add_handler(CommandHandler("echo", echo))
    app.add_handler(CommandHandler("do", do))
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CommandHandler("slow", slow, block=False))
    app.add_handler(CallbackQueryHandler(on_lang, pattern="^lang:"))
    app.add_handler(CallbackQueryHandler(on_answer, pattern="^ans"))
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    app.add_handler(MessageHandler(filters.StatusUpdate.NEW_CHAT_MEMBERS, on_joined))
    app.add_handler(ChatMemberHandler(on_my_member, ChatMemberHandler.MY_CHAT_MEMBER))

    async def keep(update: Update, context: Ctx) -> None:
        context.bot_data.setdefault("seen", []).append(update.effective_message)

    app.add_handler(MessageHandler(filters.ALL, keep), group=1)  # sees every message too
    return app


@dataclass
class World:
    tg: OfflineTelegram
    app: Application
    alice: SimUser

    async def act(self, action: Action, user: SimUser | None = None,
                  chat: SimChat | None = None) -> None:  # fmt: skip
        """Run `action` inside a real command handler (so its failures reach tg.errors)."""
        self.app.bot_data["do"] = action
        await (user or self.alice).send("/do", chat=chat)

    def sent(self, action: Callable[[Update, Ctx], Awaitable[Message]]) -> Action:
        """Wrap an action so the Message PTB got back is kept in bot_data['msg']."""

        async def run(update: Update, context: Ctx) -> None:
            context.bot_data["msg"] = await action(update, context)

        return run


@pytest.fixture
async def world() -> Any:
    tg = OfflineTelegram(bot_username="ThiDuaBot", bot_first_name="ThiĐua Bot")
    app = build_app(tg)
    async with tg.running(app):
        alice = tg.user("An Nguyễn", username="an_ng", language_code="vi")
        await alice.send("/start")  # opens the private chat (no handler: nothing happens)
        yield World(tg, app, alice)


def assert_refused(tg: OfflineTelegram, method: str, fragment: str, exc: type = BadRequest) -> None:
    assert tg.errors, "the handler should have failed"
    error = tg.errors[-1]
    assert isinstance(error, exc), repr(error)
    # PTB drops "Bad Request: " and capitalises the rest, hence the case-insensitive check
    assert fragment.lower() in error.message.lower(), error.message
    assert tg.rejections, "the fake should have recorded the refusal"
    assert tg.rejections[-1][0] == method
    assert fragment in tg.rejections[-1][1]


def text_sender(text: str, **kwargs: Any) -> Action:
    async def run(update: Update, context: Ctx) -> None:
        await update.effective_chat.send_message(text, **kwargs)

    return run


# ----------------------------------------------------------------------- message text limits


async def test_text_of_4096_is_sent_and_4097_is_too_long(world: World) -> None:
    tg, chat = world.tg, world.alice.private
    await world.act(text_sender("a" * 4096))
    assert not tg.errors and chat.last.plain == "a" * 4096
    await world.act(text_sender("b" * 4097))
    assert_refused(tg, "sendMessage", "message is too long")
    assert chat.last.plain == "a" * 4096  # nothing was delivered


async def test_text_length_counts_utf16_units_after_parsing(world: World) -> None:
    tg = world.tg
    await world.act(text_sender("<b>" + "đ" * 4096 + "</b>", parse_mode="HTML"))
    assert not tg.errors, "tags do not count toward the limit"
    await world.act(text_sender("😀" * 2048))  # 4096 UTF-16 units
    assert not tg.errors
    await world.act(text_sender("😀" * 2049))  # 2049 characters, but 4098 units
    assert_refused(tg, "sendMessage", "message is too long")


@pytest.mark.parametrize("text,mode", [("<b></b>", "HTML"), ("  \n ", None), ("", None)])
async def test_empty_text_is_refused(world: World, text: str, mode: str | None) -> None:
    await world.act(text_sender(text, parse_mode=mode))
    assert_refused(world.tg, "sendMessage", "message text is empty")


async def test_caption_of_1024_is_sent_and_1025_is_too_long(world: World) -> None:
    tg = world.tg

    def send(caption: str) -> Action:
        async def run(update: Update, context: Ctx) -> None:
            await update.effective_chat.send_document(b"data", filename="a.txt", caption=caption)

        return run

    await world.act(send("ê" * 1024))
    assert not tg.errors and world.alice.private.last.caption == "ê" * 1024
    await world.act(send("ê" * 1025))
    assert_refused(tg, "sendDocument", "message caption is too long")


# ------------------------------------------------------------------------- inline keyboards


def button_sender(**button: Any) -> Action:
    async def run(update: Update, context: Ctx) -> None:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(**button)]])
        await update.effective_chat.send_message("Chọn:", reply_markup=markup)

    return run


@pytest.mark.parametrize(
    "ok_data,bad_data",
    [("x" * 64, "x" * 65), ("đ" * 32, "đ" * 32 + "x")],  # Vietnamese: 2 bytes a character
    ids=["ascii", "vietnamese-bytes"],
)
async def test_callback_data_of_64_bytes_is_sent_and_65_is_invalid(
    world: World, ok_data: str, bad_data: str
) -> None:
    tg = world.tg
    await world.act(button_sender(text="OK", callback_data=ok_data))
    assert not tg.errors and world.alice.private.last.button_data == [[ok_data]]
    assert len(bad_data) < 64 or bad_data.isascii()  # the Vietnamese one is only 33 characters
    await world.act(button_sender(text="OK", callback_data=bad_data))
    assert_refused(tg, "sendMessage", "BUTTON_DATA_INVALID")


async def test_empty_callback_data_is_invalid(world: World) -> None:
    await world.act(button_sender(text="OK", callback_data=""))
    assert_refused(world.tg, "sendMessage", "BUTTON_DATA_INVALID")


async def test_button_without_text_or_action_is_refused(world: World) -> None:
    await world.act(button_sender(text="", callback_data="x"))
    assert_refused(world.tg, "sendMessage", "text buttons are unallowed in the inline keyboard")
    await world.act(button_sender(text="Chỉ có chữ"))
    assert_refused(world.tg, "sendMessage", "Text buttons are unallowed in the inline keyboard")
    await world.act(button_sender(text="Trang", url="https://thidua.gov.vn"))
    assert len(world.tg.errors) == 2, "a URL button is fine"


# ------------------------------------------------------------------------------ HTML markup


@pytest.mark.parametrize(
    "html,fragment",
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("<b>đậm", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("Điểm 5 < 6", f'Unsupported start tag "" at byte offset {len("Điểm 5 ".encode())}'),
        ("Tài chính & Kế hoạch", 'Unescaped "&" at byte offset'),
        ("<a href=https://x.vn/y>z</a>", "Unexpected end of name token at byte offset 8"),
        ('<span class="note">s</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
    ],
)
async def test_bad_html_cannot_be_parsed(world: World, html: str, fragment: str) -> None:
    await world.act(text_sender(html, parse_mode="HTML"))
    assert_refused(world.tg, "sendMessage", "can't parse entities: " + fragment)


async def test_good_html_is_parsed_into_text_and_entities(world: World) -> None:
    html = (
        "<b>đậm</b> <i>nghiêng</i> <u>gạch</u> <s>xoá</s> <tg-spoiler>ẩn</tg-spoiler> "
        '<span class="tg-spoiler">ẩn</span> <a href="https://t.me/x">link</a> <code>c</code> '
        "<pre>p</pre> <blockquote expandable>q</blockquote> &lt;tag&gt; &amp; &quot;&#65;&#x42;"
    )
    await world.act(world.sent(lambda u, c: u.effective_chat.send_message(html, parse_mode="HTML")))
    assert not world.tg.errors
    msg: Message = world.app.bot_data["msg"]
    assert msg.text == 'đậm nghiêng gạch xoá ẩn ẩn link c p q <tag> & "AB'
    kinds = [e.type for e in msg.entities]
    assert kinds == ["bold", "italic", "underline", "strikethrough", "spoiler", "spoiler",
                     "text_link", "code", "pre", "expandable_blockquote"]  # fmt: skip
    assert msg.parse_entity(msg.entities[0]) == "đậm"
    assert world.alice.private.last.text == html  # the record keeps what the bot sent


async def test_markdown_v2_reserved_character_is_refused(world: World) -> None:
    await world.act(text_sender("Điểm: 92.5", parse_mode="MarkdownV2"))
    assert_refused(world.tg, "sendMessage", "Character '.' is reserved")
    await world.act(text_sender("Điểm: *92\\.5*", parse_mode="MarkdownV2"))
    assert len(world.tg.errors) == 1 and world.alice.private.last.plain == "Điểm: 92.5"


# --------------------------------------------------------------------------- edits, deletes


async def test_edit_to_identical_content_is_not_modified(world: World) -> None:
    tg = world.tg
    await world.alice.send("/menu")
    rec = world.alice.private.last

    def edit(**kwargs: Any) -> Action:
        async def run(update: Update, context: Ctx) -> None:
            await context.bot.edit_message_text(
                chat_id=rec.chat_id, message_id=rec.message_id, **kwargs
            )

        return run

    await world.act(edit(text="Chọn ngôn ngữ:", reply_markup=lang_keyboard()))
    assert_refused(tg, "editMessageText", "message is not modified: specified new message content")
    await world.act(edit(text="Chọn ngôn ngữ:"))  # same text, but the keyboard goes away
    assert len(tg.errors) == 1
    assert rec.buttons == [] and rec.edit_count == 1


async def test_editing_or_deleting_an_unknown_message_is_refused(world: World) -> None:
    tg = world.tg

    async def edit(update: Update, context: Ctx) -> None:
        await context.bot.edit_message_text("mới", chat_id=update.effective_chat.id, message_id=999)

    async def delete(update: Update, context: Ctx) -> None:
        await context.bot.delete_message(update.effective_chat.id, 999)

    await world.act(edit)
    assert_refused(tg, "editMessageText", "message to edit not found")
    await world.act(delete)
    assert_refused(tg, "deleteMessage", "message to delete not found")


async def test_edit_and_delete_show_in_records_and_transcript(world: World) -> None:
    async def run(update: Update, context: Ctx) -> None:
        msg = await update.effective_chat.send_message("<i>bản nháp</i>", parse_mode="HTML")
        await msg.edit_text("bản chính")
        note = await update.effective_chat.send_message("tạm thời")
        await note.delete()

    await world.act(run)
    chat = world.alice.private
    draft, note = chat.bot_messages()
    assert draft.text == "bản chính" and draft.edits == ["<i>bản nháp</i>"]
    assert note.deleted and chat.texts() == ["bản chính"]
    transcript = chat.render_transcript()
    assert "🤖 ThiĐua Bot: bản nháp" in transcript
    assert "✏️ (đã sửa) 🤖 ThiĐua Bot: bản chính" in transcript
    assert "🗑️ (đã xoá) 🤖 ThiĐua Bot: tạm thời" in transcript


# --------------------------------------------------------------------------- button presses


async def test_press_finds_the_button_and_records_the_answer(world: World) -> None:
    tg, alice = world.tg, world.alice
    await alice.send("/menu")
    answer = await alice.press("Tiếng Việt")
    assert world.app.bot_data["pressed"] == ["lang:vi"]
    assert answer is not None and answer["text"] == "Đã lưu"
    assert tg.callback_answers == [answer] and tg.unanswered_queries == []
    assert alice.private.last.plain == "Ngôn ngữ: vi"  # the handler's edit was applied


async def test_press_of_a_missing_label_lists_the_available_ones(world: World) -> None:
    await world.alice.send("/menu")
    with pytest.raises(AssertionError, match=r"Français.*\[Tiếng Việt\].*\[English\]"):
        await world.alice.press("Français")


async def test_press_data_reaches_the_handler_on_a_stale_message(world: World) -> None:
    alice = world.alice
    await alice.send("/menu")
    old = alice.private.last
    await alice.press("English")  # the edit removes the keyboard
    assert old.buttons == []
    await alice.press_data("lang:vi", message_id=old.message_id)
    assert world.app.bot_data["pressed"] == ["lang:en", "lang:vi"]


def answer_with(*texts: str) -> Action:
    async def run(update: Update, context: Ctx) -> None:
        for text in texts:
            await update.callback_query.answer(text)

    return run


async def test_callback_answer_of_200_is_fine_and_201_too_long(world: World) -> None:
    tg, alice = world.tg, world.alice
    await world.act(button_sender(text="Trả lời", callback_data="ans"))
    world.app.bot_data["do"] = answer_with("ồ" * 200)
    await alice.press("Trả lời")
    assert not tg.errors and tg.callback_answers[-1]["text"] == "ồ" * 200
    world.app.bot_data["do"] = answer_with("ồ" * 201)
    await alice.press("Trả lời")
    assert_refused(tg, "answerCallbackQuery", "MESSAGE_TOO_LONG")


async def test_answering_a_query_twice_is_refused(world: World) -> None:
    await world.act(button_sender(text="Trả lời", callback_data="ans"))
    world.app.bot_data["do"] = answer_with("một", "hai")
    await world.alice.press("Trả lời")
    assert_refused(world.tg, "answerCallbackQuery", "query is too old")
    assert [a["text"] for a in world.tg.callback_answers] == ["một"]


# ------------------------------------------------------------------------------------ files


async def test_document_upload_get_file_download_round_trip(world: World) -> None:
    tg, alice = world.tg, world.alice
    data = "Bảng điểm".encode() * 100
    sent = await alice.send_document(data, "bang_diem.xlsx")
    assert world.app.bot_data["downloaded"] == data
    reply = alice.private.last
    assert reply.kind == "document" and reply.document_name == "nguoc.bin"
    assert reply.document_bytes == data[::-1] and tg.files[reply.file_id] == data[::-1]
    assert tg.files[sent.file_id] == data and not tg.errors


async def test_get_file_of_20_mb_works_and_over_is_too_big(world: World) -> None:
    tg, alice = world.tg, world.alice
    await alice.send_document(b"x", "lon.xlsx", file_size=20 * MB)
    assert not tg.errors and world.app.bot_data["downloaded"] == b"x"
    await alice.send_document(b"x", "qua_lon.xlsx", file_size=20 * MB + 1)
    assert_refused(tg, "getFile", "file is too big")


async def test_bot_file_over_50_mb_is_refused(world: World) -> None:
    def send(data: bytes) -> Action:
        async def run(update: Update, context: Ctx) -> None:
            await update.effective_chat.send_document(data, filename="x.bin")

        return run

    await world.act(send(b"\0" * (50 * MB)))
    assert not world.tg.errors
    await world.act(send(b"\0" * (50 * MB + 1)))
    assert_refused(world.tg, "sendDocument", "Request Entity Too Large", exc=NetworkError)
    await world.act(send(b""))
    assert_refused(world.tg, "sendDocument", "file must be non-empty")


async def test_bot_resends_an_uploaded_file_by_file_id(world: World) -> None:
    alice = world.alice
    photo = await alice.send_photo(b"\xff\xd8jpeg", caption="ảnh")
    world.app.bot_data["do"] = None

    async def resend(update: Update, context: Ctx) -> None:
        await update.effective_chat.send_photo(photo.file_id, caption="nhận rồi")
        await update.effective_chat.send_document("no-such-id")

    await world.act(resend)
    last_photo = [r for r in alice.private.bot_messages() if r.kind == "photo"][-1]
    assert last_photo.document_bytes == b"\xff\xd8jpeg" and last_photo.plain == "nhận rồi"
    assert_refused(world.tg, "sendDocument", "wrong file identifier")


# ---------------------------------------------------------------------------------- groups


async def test_command_addressed_to_the_bot_works_in_a_group(world: World) -> None:
    tg, alice = world.tg, world.alice
    bob = tg.user("Bình Trần", username="binh_tr")
    group = tg.group("Cụm thi đua kinh tế", admins=[alice], members=[bob])
    await tg.add_bot_to_group(group, by=alice)
    await bob.send("/echo@ThiDuaBot xin chào", chat=group)
    assert group.last.plain == "echo: xin chào"
    assert group.last.reply_to_message_id == group.transcript[-2].message_id
    await bob.send("/echo@OtherBot không phải tôi", chat=group)
    assert len(group.bot_messages()) == 1, "commands for another bot are not ours"


async def test_add_bot_to_group_sends_my_chat_member_and_new_members(world: World) -> None:
    tg, alice = world.tg, world.alice
    group = tg.group("Cụm 5", admins=[alice])
    await tg.add_bot_to_group(group, by=alice)
    assert world.app.bot_data["member_updates"] == [(group.id, "left", "member")]
    assert world.app.bot_data["joined"] == ["ThiDuaBot"]
    await tg.remove_bot_from_group(group, by=alice)
    assert world.app.bot_data["member_updates"][-1] == (group.id, "member", "kicked")
    await world.act(text_sender("còn đó không?"), chat=None)

    async def to_group(update: Update, context: Ctx) -> None:
        await context.bot.send_message(group.id, "xin chào")

    await world.act(to_group)
    assert_refused(tg, "sendMessage", "bot was kicked from the supergroup chat", exc=Forbidden)


async def test_get_chat_member_statuses(world: World) -> None:
    tg, alice = world.tg, world.alice
    bob, chi, dung = tg.user("Bình"), tg.user("Chi"), tg.user("Dũng")
    group = tg.group("Cụm 1", admins=[alice, bob], members=[chi])
    await tg.add_bot_to_group(group, by=alice, as_admin=True)
    statuses: dict[int, str] = {}

    async def run(update: Update, context: Ctx) -> None:
        for uid in (alice.id, bob.id, chi.id, dung.id, context.bot.id):
            statuses[uid] = (await context.bot.get_chat_member(group.id, uid)).status
        admins = await context.bot.get_chat_administrators(group.id)
        statuses[0] = ",".join(a.user.first_name for a in admins)

    await world.act(run)
    assert statuses == {
        alice.id: "creator",
        bob.id: "administrator",
        chi.id: "member",
        dung.id: "left",
        tg.bot_id: "administrator",
        0: "An Nguyễn,Bình,ThiĐua Bot",
    }


async def test_deleting_a_members_message_needs_admin_rights(world: World) -> None:
    tg, alice = world.tg, world.alice
    group = tg.group("Cụm 2", admins=[alice])
    await tg.add_bot_to_group(group, by=alice)
    spam = await alice.send("quảng cáo", chat=group)

    async def delete(update: Update, context: Ctx) -> None:
        await context.bot.delete_message(group.id, spam.message_id)

    await world.act(delete)
    assert_refused(tg, "deleteMessage", "message can't be deleted")


# ------------------------------------------------------------------ who the bot may talk to


async def test_unknown_chat_and_unstarted_user_are_refused(world: World) -> None:
    tg = world.tg
    stranger = tg.user("Người lạ")

    def to(chat_id: int) -> Action:
        async def run(update: Update, context: Ctx) -> None:
            await context.bot.send_message(chat_id, "chào")

        return run

    await world.act(to(-100999))
    assert_refused(tg, "sendMessage", "chat not found")
    await world.act(to(stranger.id))
    assert_refused(tg, "sendMessage", "bot can't initiate conversation with a user", exc=Forbidden)
    await stranger.send("/start")
    await world.act(to(stranger.id))
    assert stranger.private.texts() == ["chào"]
    await stranger.block()
    await world.act(to(stranger.id))
    assert_refused(tg, "sendMessage", "bot was blocked by the user", exc=Forbidden)


async def test_reply_to_a_missing_message_is_refused(world: World) -> None:
    async def run(update: Update, context: Ctx) -> None:
        await update.effective_chat.send_message("trả lời", reply_to_message_id=12345)

    await world.act(run)
    assert_refused(world.tg, "sendMessage", "message to be replied not found")


# ------------------------------------------------------------------------- injected failures


@pytest.mark.parametrize(
    "error,exc",
    [
        ("forbidden", Forbidden),
        ("retry_after", RetryAfter),
        ("network", NetworkError),
        ("timeout", TimedOut),
        ("bad_request", BadRequest),
    ],
)
async def test_fail_next_raises_the_real_ptb_exception(world: World, error: str, exc: type) -> None:
    tg = world.tg
    tg.fail_next("sendMessage", error=error, retry_after=7)
    await world.act(text_sender("lần một"))
    assert len(tg.errors) == 1 and isinstance(tg.errors[0], exc), tg.errors
    if error == "retry_after":
        assert "Retry in 7 seconds" in str(tg.errors[0])
    assert tg.rejections == [] and tg.injected == [("sendMessage", error)]
    await world.act(text_sender("lần hai"))
    assert len(tg.errors) == 1 and world.alice.private.texts() == ["lần hai"]


async def test_fail_next_can_target_one_chat(world: World) -> None:
    tg = world.tg
    bob = tg.user("Bình", started=True)
    tg.fail_next("sendMessage", error="forbidden", chat_id=bob.id)

    async def both(update: Update, context: Ctx) -> None:
        await context.bot.send_message(world.alice.id, "cho An")
        await context.bot.send_message(bob.id, "cho Bình")

    await world.act(both)
    assert world.alice.private.texts() == ["cho An"] and bob.private.texts() == []
    assert isinstance(tg.errors[-1], Forbidden)


# ------------------------------------------------------------------------------- the rest


async def test_flood_control_allows_20_a_minute_in_a_group(world: World) -> None:
    tg, alice = world.tg, world.alice
    now = [1000.0]
    tg.clock = lambda: now[0]
    tg.flood_control = True
    group = tg.group("Cụm 3", admins=[alice])
    await tg.add_bot_to_group(group, by=alice)

    async def burst(update: Update, context: Ctx) -> None:
        for i in range(21):
            await context.bot.send_message(group.id, f"tin {i}")

    await world.act(burst)
    assert len(group.bot_messages()) == 20
    assert isinstance(tg.errors[-1], RetryAfter) and "Retry in 60 seconds" in str(tg.errors[-1])
    assert tg.rejections[-1] == ("sendMessage", "Too Many Requests: retry after 60")
    now[0] += 60
    await world.act(text_sender("sau một phút"), chat=group)
    assert group.last.plain == "sau một phút" and len(tg.errors) == 1


async def test_flood_control_is_off_by_default(world: World) -> None:
    async def burst(update: Update, context: Ctx) -> None:
        for i in range(25):
            await update.effective_chat.send_message(f"tin {i}")

    await world.act(burst)
    assert not world.tg.errors and len(world.alice.private.bot_messages()) == 25


async def test_render_transcript_reads_like_the_chat(world: World) -> None:
    alice = world.alice
    await alice.send("/echo chào bot")
    await world.act(text_sender("<b>Chào</b> &lt;bạn&gt;", parse_mode="HTML",
                                reply_markup=lang_keyboard()))  # fmt: skip
    await alice.press("English")
    await alice.send_document(b"12345", "bang_diem.xlsx")
    transcript = alice.private.render_transcript()
    expected = [
        "👤 An Nguyễn: /echo chào bot",
        "🤖 ThiĐua Bot: echo: chào bot",
        "🤖 ThiĐua Bot: Chào <bạn>",
        "   [Tiếng Việt] [English]",
        "👆 An Nguyễn bấm [English]",
        "   💬 (thông báo) Đã lưu",
        "✏️ (đã sửa) 🤖 ThiĐua Bot: Ngôn ngữ: en",
        "👤 An Nguyễn: 📎 bang_diem.xlsx (5 bytes)",
        "🤖 ThiĐua Bot: 📎 nguoc.bin (5 bytes)",
    ]
    lines = transcript.splitlines()
    positions = [lines.index(line) for line in expected]
    assert positions == sorted(positions), transcript
    assert "<b>" not in transcript
    assert [r.sender for r in alice.private.transcript][:3] == ["An Nguyễn", "An Nguyễn", "bot"]


async def test_commands_are_validated_and_stored_per_scope_and_language(world: World) -> None:
    from telegram import BotCommand, BotCommandScopeAllGroupChats

    bot, tg = world.app.bot, world.tg
    await bot.set_my_commands([BotCommand("start", "Bắt đầu")], language_code="vi")
    await bot.set_my_commands([BotCommand("help", "Help")], scope=BotCommandScopeAllGroupChats())
    assert tg.my_commands == {("default", "vi"): [("start", "Bắt đầu")],
                              ("all_group_chats", ""): [("help", "Help")]}  # fmt: skip
    assert [c.command for c in await bot.get_my_commands(language_code="vi")] == ["start"]
    assert await bot.get_my_commands() == ()
    for bad in (BotCommand("Start", "x"), BotCommand("x" * 33, "x"), BotCommand("ok", "")):
        with pytest.raises(BadRequest, match="(?i)bot_command"):
            await bot.set_my_commands([bad])
    await bot.set_my_commands([BotCommand("a" * 32, "d" * 256)])
    await bot.delete_my_commands(language_code="vi")
    assert ("default", "vi") not in tg.my_commands


async def test_unknown_method_is_not_found(world: World) -> None:
    with pytest.raises(EndPointNotFound):
        await world.app.bot.do_api_request("sendTelepathy")
    assert world.tg.rejections == [("sendTelepathy", "Not Found")]


async def test_non_blocking_handlers_are_awaited_before_send_returns(world: World) -> None:
    await world.alice.send("/slow")
    assert world.alice.private.texts() == ["xong việc nền"]


async def test_custom_base_urls_are_routed(world: World) -> None:
    tg = OfflineTelegram(token="987:ABC")
    builder = (
        ApplicationBuilder()
        .token(tg.token)
        .base_url("http://127.0.0.1:8081/bot")
        .base_file_url("http://127.0.0.1:8081/file/bot")
    )
    app = build_app(tg, builder)
    async with tg.running(app):
        bob = tg.user("Bình")
        await bob.send_document(b"tep", "t.txt")
        assert app.bot_data["downloaded"] == b"tep" and not tg.errors
        assert app.bot.id == 987 and tg.calls[0][0] == "getMe"


async def test_an_app_with_a_real_transport_is_refused() -> None:
    tg = OfflineTelegram()
    app = ApplicationBuilder().token(tg.token).build()
    with pytest.raises(ValueError, match="make_request"):
        async with tg.running(app):
            pass


async def test_records_expose_buttons_and_callback_data(world: World) -> None:
    await world.alice.send("/menu")
    rec: Record = world.alice.private.last
    assert rec.buttons == [["Tiếng Việt", "English"]]
    assert rec.button_data == [["lang:vi", "lang:en"]]
    assert rec.from_bot and rec.sender == "bot" and rec.kind == "text"
    assert [r.message_id for r in world.alice.private.transcript] == [1, 2, 3]


async def test_bare_ampersand_passes_when_strict_html_is_off(world: World) -> None:
    world.tg.strict_html = False  # Telegram itself keeps a lone "&" literally
    await world.act(text_sender("Tài chính & Kế hoạch", parse_mode="HTML"))
    assert not world.tg.errors and world.alice.private.last.plain == "Tài chính & Kế hoạch"


async def test_errors_reach_tg_errors_even_if_the_app_stops_error_handling() -> None:
    tg = OfflineTelegram()
    app = build_app(tg)
    seen: list[object] = []

    async def stopper(update: object, context: Ctx) -> None:
        seen.append(context.error)
        raise ApplicationHandlerStop

    app.add_error_handler(stopper)
    async with tg.running(app):
        alice = tg.user("An", started=True)
        app.bot_data["do"] = text_sender("x" * 5000)
        await alice.send("/do")
    assert len(seen) == 1 and tg.errors == seen


async def test_other_kinds_of_user_messages_arrive_as_telegram_sends_them(world: World) -> None:
    tg, alice = world.tg, world.alice
    bob = tg.user("Bình Trần", username="binh_tr")
    await alice.forward_text("Thông báo họp", from_user=bob)
    await alice.send_sticker()
    await alice.send_voice(duration=4)
    await alice.send_photo(b"\xff\xd8", caption="Ảnh khen thưởng")
    forwarded, sticker, voice, photo = world.app.bot_data["seen"][-4:]
    assert forwarded.forward_origin.sender_user.first_name == "Bình Trần"
    assert forwarded.text == "Thông báo họp"
    assert sticker.sticker.emoji == "👍" and voice.voice.api_kwargs == {}
    assert voice.voice.file_size == len(tg.files[voice.voice.file_id])
    assert photo.caption == "Ảnh khen thưởng" and tg.files[photo.photo[-1].file_id] == b"\xff\xd8"
    transcript = alice.private.render_transcript()
    assert "↪️ (chuyển tiếp từ Bình Trần) Thông báo họp" in transcript
    assert "🎤" in transcript and "🖼️ (ảnh)" in transcript


# ------------------------------------------------------------------------------ redelivery


def recorder(log: list, pause: float = 0) -> Action:
    """Note (update_id, text or callback data, start/end) of each delivery it handles."""

    async def run(update: Update, context: Ctx) -> None:
        what = update.callback_query.data if update.callback_query else update.effective_message.text
        log.append((update.update_id, what, "start"))
        await asyncio.sleep(pause)
        log.append((update.update_id, what, "end"))

    return run


async def test_redeliver_sends_the_same_update_with_the_same_id(world: World) -> None:
    tg, alice, seen = world.tg, world.alice, []
    world.app.bot_data["do"] = recorder(seen)
    rec = await alice.send("/do một")
    await alice.send("/do hai")
    await tg.redeliver(rec)
    await tg.redeliver()  # the latest update
    assert [(uid, what) for uid, what, at in seen if at == "start"] == [
        (rec.update_id, "/do một"), (rec.update_id + 1, "/do hai"),
        (rec.update_id, "/do một"), (rec.update_id + 1, "/do hai"),
    ]  # fmt: skip
    assert tg.updates[rec.update_id]["message"]["text"] == "/do một"
    assert "🔁 (Telegram gửi lại cập nhật" in alice.private.render_transcript()


async def test_a_redelivered_press_brings_back_its_query_which_takes_one_answer(world: World) -> None:
    tg = world.tg
    await world.act(button_sender(text="Trả lời", callback_data="ans"))
    world.app.bot_data["do"] = answer_with("một")
    await world.alice.press("Trả lời")
    await tg.redeliver()
    assert_refused(tg, "answerCallbackQuery", "query is too old")
    assert [a["text"] for a in tg.callback_answers] == ["một"]


async def test_copies_deliver_one_update_twice_at_the_same_instant(world: World) -> None:
    seen: list = []
    world.app.bot_data["do"] = recorder(seen, pause=0.01)
    rec = await world.alice.send("/do", copies=2)
    assert [(uid, at) for uid, _what, at in seen] == [(rec.update_id, "start")] * 2 + [(rec.update_id, "end")] * 2


async def test_a_press_on_an_inaccessible_message_has_no_date_and_no_text(world: World) -> None:
    seen: list = []

    async def look(update: Update, context: Ctx) -> None:
        message = update.callback_query.message
        seen.append((message.is_accessible, message.text, message.message_id, message.chat.id))
        await update.callback_query.answer()

    await world.act(button_sender(text="Trả lời", callback_data="ans"))
    world.app.bot_data["do"] = look
    shown = world.alice.private.last
    await world.alice.press("Trả lời", inaccessible=True)
    assert seen == [(False, None, shown.message_id, world.alice.id)]


async def test_fail_next_query_too_old_is_telegrams_400_and_no_rejection(world: World) -> None:
    tg = world.tg
    await world.act(button_sender(text="Trả lời", callback_data="ans"))
    world.app.bot_data["do"] = answer_with("một")
    tg.fail_next("answerCallbackQuery", "query_too_old")
    await world.alice.press("Trả lời")
    assert len(tg.errors) == 1 and isinstance(tg.errors[0], BadRequest)
    assert "query is too old" in tg.errors[0].message.lower()
    assert tg.rejections == [] and tg.injected == [("answerCallbackQuery", "query_too_old")]
    assert tg.callback_answers == [] and len(tg.unanswered_queries) == 1
