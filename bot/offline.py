"""An in-process fake of the Telegram Bot API, for the test suite and the offline demo.

Why a fake server rather than mocked handlers: the bot's code, PTB's `Application`, its
handlers, filters and (de)serialisation all run for real. Updates enter through
`Update.de_json` and `Application.process_update`; every Bot API call leaves through a
`telegram.request.BaseRequest` whose `do_request` answers in-process with the JSON and HTTP
status Telegram would send, so PTB raises its real `BadRequest`, `Forbidden`, `RetryAfter`,
`NetworkError`. Nothing touches the network.

The fake is strict on purpose: it refuses what Telegram refuses (text over 4096 UTF-16 units,
callback_data over 64 bytes, malformed HTML, editing to identical content, answering a button
press twice, messaging a user who never opened the chat, ...) with Telegram's wording, so a
test fails where production would. Every refusal is kept in `tg.rejections`.

Telegram's bad days can be played too: `fail_next` (a blocked user, flood control, a network
error, a button press too old to answer), `tg.redeliver(...)` (an update sent again with the
same `update_id`, as after a crash), `copies=2` on a user's action (the same update delivered
twice at the same instant), `press(..., inaccessible=True)` (a button on a message Telegram no
longer shows the bot: `date` 0 and no content), `with tg.hold(chat):` (Telegram slow for one
chat: the bot's calls to it wait until released).

Updates go through the app's update processor, as the updater's do: with the bot's
`KeyedUpdateProcessor`, a user's action returns once its update is handled, after waiting
its turn behind earlier updates of the same chat or sender; other chats' run beside it.

    tg = OfflineTelegram()
    app = tg.builder().build()          # or ApplicationBuilder().token(tg.token).request(...)
    async with tg.running(app):
        alice = tg.user("An Nguyễn", username="an_ng", language_code="vi")
        await alice.send("/start")
        await alice.press("Tiếng Việt")
        print(alice.private.render_transcript())

The same fake also answers over real HTTP, for the bot running as its own process
(`python -m bot` with TELEGRAM_API_URL): see `bot.offline_server.OfflineBotAPIServer`. Both
transports go through `OfflineTelegram.dispatch`, so the rules are the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import inspect
import itertools
import json
import math
import mimetypes
import random
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.error import NetworkError, TimedOut
from telegram.ext import Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest, RequestData

from bot.offline_html import MarkupError, ParsedText, parse_text, utf16_len
from storage.models.base import CLOCK

__all__ = ["OfflineTelegram", "Record", "SimChat", "SimUser"]

MAX_TEXT = 4096  # UTF-16 code units, after entity parsing
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes of UTF-8
MAX_CALLBACK_ANSWER = 200
MAX_UPLOAD = 50 * 1024 * 1024  # what a bot may send
MAX_DOWNLOAD = 20 * 1024 * 1024  # what a bot may fetch with getFile
FLOOD_LIMIT = 20  # messages per rolling minute into one group
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WEBHOOK_ACTIVE = ("Conflict: can't use getUpdates method while webhook is active; use "
                  "deleteWebhook to delete the webhook first")  # fmt: skip
_WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_BUTTON_ACTIONS = (
    "callback_data", "url", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
_INJECTABLE = ("forbidden", "retry_after", "network", "bad_request", "timeout", "query_too_old")
_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{1,64})?")
_MENTION_RE = re.compile(r"(?<!\S)@[A-Za-z0-9_]{5,32}")
_BOT_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
# Telegram numbers a bot's updates in one sequence that outlives the bot's restarts, and the bot
# keeps the ids it handled (to drop a redelivery). So a fake that follows another one over the
# same database (a restart in a test) continues after it, and the first fake of a process starts
# at a random point: the demo may run twice on one file.
_last_update_id = [random.SystemRandom().randrange(1, 2_000_000) * 1000]  # below 2**31, like Telegram's

_VN = ZoneInfo("Asia/Ho_Chi_Minh")  # the transcript's time marks


@dataclass
class _Hold:
    """One held chat (see `OfflineTelegram.hold`): its waiting calls, by method."""

    released: asyncio.Event = field(default_factory=asyncio.Event)
    reached: asyncio.Event = field(default_factory=asyncio.Event)  # a call has come to wait
    waiting: list[str] = field(default_factory=list)


class _Reject(Exception):
    """A refusal: becomes the error JSON and HTTP status Telegram would answer with."""

    def __init__(self, code: int, description: str, retry_after: int | None = None,
                 record: bool = True) -> None:  # fmt: skip
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after
        self.record = record  # False for failures injected by fail_next: no rule was broken

    def response(self) -> tuple[int, bytes]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return self.code, json.dumps(body).encode()


def _bad(description: str) -> _Reject:
    return _Reject(400, f"Bad Request: {description}")


# ------------------------------------------------------------------------------ what was said


@dataclass(eq=False)
class Record:
    """One message in a simulated chat, in its current state (edits applied, deletion flagged).

    `text`/`caption` are what the sender sent (for the bot: the raw markup); `plain` is what
    the reader sees (markup parsed, entities unescaped, surrounding blanks trimmed)."""

    chat_id: int
    message_id: int
    sender: str  # "bot" or the user's name
    kind: str  # text | document | photo | sticker | voice | service
    text: str | None = None
    caption: str | None = None
    parse_mode: str | None = None
    reply_markup: dict | None = None
    document_name: str | None = None
    document_bytes: bytes | None = None
    edits: list[str] = field(default_factory=list)  # earlier texts/captions, oldest first
    deleted: bool = False
    from_bot: bool = False
    user_id: int | None = None
    plain: str = ""
    entities: list[dict] = field(default_factory=list)
    file_id: str | None = None
    mime_type: str | None = None
    date: int = 0
    edit_count: int = 0  # every edit, markup-only ones included
    edit_date: int | None = None
    reply_to_message_id: int | None = None
    forward_origin: dict | None = None
    service: dict | None = None  # e.g. {"new_chat_members": [...]}
    update_id: int | None = None  # of the update that brought a user's message to the bot
    payload: dict = field(default_factory=dict, repr=False)  # the Message JSON as PTB saw it

    @property
    def buttons(self) -> list[list[str]]:
        """Labels of the inline keyboard (or reply keyboard), row by row."""
        rows = _keyboard_rows(self.reply_markup)
        return [[b if isinstance(b, str) else b.get("text", "") for b in row] for row in rows]

    @property
    def button_data(self) -> list[list[str | None]]:
        """callback_data of the inline buttons, row by row (None for URL and other buttons)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[b.get("callback_data") for b in row] for row in rows]


def _keyboard_rows(markup: dict | None) -> list[list[Any]]:
    if not markup:
        return []
    return markup.get("inline_keyboard") or markup.get("keyboard") or []


class SimChat:
    """A chat the fake knows: a user's private chat with the bot, or a group."""

    def __init__(self, tg: OfflineTelegram, chat_id: int, type_: str, title: str | None = None,
                 user: SimUser | None = None) -> None:  # fmt: skip
        self.tg, self.id, self.type, self.title, self.user = tg, chat_id, type_, title, user
        self.admins: list[SimUser] = []  # admins[0] is the creator
        self.members: list[SimUser] = []
        self.bot_status = "member" if type_ == "private" else "left"
        self.transcript: list[Record] = []
        self._log: list[str] = []
        self._next_id = 1
        self._sent_at: deque[float] = deque()  # bot sends, for flood control

    @property
    def is_private(self) -> bool:
        return self.type == "private"

    def payload(self) -> dict:
        if self.user is not None:
            data = {"id": self.id, "type": "private", "first_name": self.user.name}
            return data | ({"username": self.user.username} if self.user.username else {})
        return {"id": self.id, "type": self.type, "title": self.title}

    def status_of(self, user_id: int) -> str:
        """The Bot API chat-member status of `user_id` here."""
        if user_id == self.tg.bot_id:
            return self.bot_status
        if self.is_private:
            return "member" if self.user is not None and user_id == self.user.id else "left"
        if self.admins and self.admins[0].id == user_id:
            return "creator"
        if any(u.id == user_id for u in self.admins):
            return "administrator"
        return "member" if any(u.id == user_id for u in self.members) else "left"

    def find(self, message_id: Any) -> Record | None:
        return next((r for r in self.transcript if r.message_id == _as_int(message_id)), None)

    def bot_messages(self) -> list[Record]:
        return [r for r in self.transcript if r.from_bot]

    def texts(self) -> list[str]:
        """Texts/captions of the bot's live messages, as the reader sees them."""
        return [r.plain for r in self.bot_messages() if not r.deleted]

    @property
    def last(self) -> Record:
        live = [r for r in self.bot_messages() if not r.deleted]
        assert live, f"the bot has sent nothing (still visible) to {self}"
        return live[-1]

    def render_transcript(self) -> str:
        """The conversation as a Vietnamese reader would follow it, one event after another."""
        head = (
            f"── {self.title} ──"
            if self.title
            else f"── Trò chuyện riêng: {self.user and self.user.name} ──"
        )
        return "\n".join([head, *self._log])

    def __repr__(self) -> str:
        return f"SimChat({self.id}, {self.type}, {self.title or (self.user and self.user.name)!r})"


class SimUser:
    """A person talking to the bot. Every action sends the update and waits until the app has
    handled it (including its non-blocking handlers)."""

    def __init__(self, tg: OfflineTelegram, user_id: int, name: str, username: str | None,
                 language_code: str | None, started: bool) -> None:  # fmt: skip
        self.tg, self.id, self.name = tg, user_id, name
        self.username, self.language_code = username, language_code
        self.started = started  # has opened the private chat (Telegram's "Start")
        self.blocked = False

    @property
    def full_name(self) -> str:
        return self.name

    @property
    def private(self) -> SimChat:
        return self.tg._private_chat(self)

    def payload(self) -> dict:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    async def send(self, text: str, chat: SimChat | None = None,
                   reply_to: Record | int | None = None, copies: int = 1) -> Record:  # fmt: skip
        """A text message; `/cmd` and `@name` get their entities like in a real client.
        `copies=2` delivers its update twice at the same instant (one update_id)."""
        entities = [{"type": t, "offset": utf16_len(text[: m.start()]), "length": utf16_len(m[0])}
                    for t, rx in (("bot_command", _COMMAND_RE), ("mention", _MENTION_RE))
                    for m in rx.finditer(text)]  # fmt: skip
        entities.sort(key=lambda e: e["offset"])
        reply_id = reply_to.message_id if isinstance(reply_to, Record) else reply_to
        return await self.tg._user_message(self, chat, "text", text=text, plain=text,
                                           entities=entities, reply_to_message_id=reply_id,
                                           copies=copies)  # fmt: skip

    async def press(self, label: str, chat: SimChat | None = None, message_id: int | None = None,
                    *, inaccessible: bool = False, copies: int = 1) -> dict | None:  # fmt: skip
        """Press the inline button labelled `label` on the newest bot message that has it.
        Returns the callback answer the bot gave (a dict of `tg.callback_answers`) or None.

        `inaccessible=True`: Telegram sends the message as inaccessible (`date` 0, only its
        chat and id), as it does for a message too old to show the bot. `copies=2` delivers
        the press twice at the same instant (one update_id, one callback query)."""
        chat = chat or self.private
        shown: list[str] = []
        for rec in reversed(chat.transcript):
            if not rec.from_bot or rec.deleted or message_id not in (None, rec.message_id):
                continue
            for row in (rec.reply_markup or {}).get("inline_keyboard") or []:
                for button in row:
                    shown.append(f"#{rec.message_id} [{button.get('text')}]")
                    if button.get("text") == label:
                        assert button.get("callback_data") is not None, (
                            f"[{label}] is not a callback button: {button}"
                        )
                        return await self.tg._press(self, chat, rec, button["callback_data"], label,
                                                    inaccessible=inaccessible, copies=copies)  # fmt: skip
        reply_kb = [b if isinstance(b, str) else b.get("text") for r in chat.bot_messages()
                    for row in (r.reply_markup or {}).get("keyboard") or [] for b in row]  # fmt: skip
        hint = (
            f" (reply-keyboard buttons are sent as text: {reply_kb})" if label in reply_kb else ""
        )
        raise AssertionError(
            f"no inline button {label!r} in {chat}{hint}; available: {', '.join(shown) or 'none'}"
        )

    async def press_data(self, data: str, message_id: int | None = None, chat: SimChat | None = None,
                         *, inaccessible: bool = False, copies: int = 1) -> dict | None:  # fmt: skip
        """Press a button by its raw callback_data on any bot message, even one whose keyboard
        has since changed (a stale client can do that)."""
        chat = chat or self.private
        rec = chat.find(message_id) if message_id is not None else chat.last
        assert rec is not None and rec.from_bot and not rec.deleted, (
            f"no live bot message #{message_id} in {chat}"
        )
        return await self.tg._press(self, chat, rec, data, None, inaccessible=inaccessible,
                                    copies=copies)  # fmt: skip

    async def send_document(self, data: bytes, filename: str, mime_type: str | None = None,
                            caption: str | None = None, chat: SimChat | None = None,
                            file_size: int | None = None, copies: int = 1) -> Record:  # fmt: skip
        """Upload a file; `file_size` overrides the size Telegram reports (for 'over 20 MB'
        tests without 20 MB of bytes); `copies=2` delivers its update twice at the same instant."""
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        fid = self.tg._store_file(data, filename, mime, "document", size=file_size)
        return await self.tg._user_message(self, chat, "document", caption=caption,
                                           plain=caption or "", file_id=fid,
                                           document_name=filename, document_bytes=data,
                                           mime_type=mime, copies=copies)  # fmt: skip

    async def send_photo(self, data: bytes, caption: str | None = None,
                         chat: SimChat | None = None) -> Record:  # fmt: skip
        fid = self.tg._store_file(data, "photo.jpg", "image/jpeg", "photo")
        return await self.tg._user_message(self, chat, "photo", caption=caption,
                                           plain=caption or "", file_id=fid,
                                           document_bytes=data)  # fmt: skip

    async def send_sticker(self, chat: SimChat | None = None, emoji: str = "👍") -> Record:
        fid = self.tg._store_file(b"RIFF-webp", "sticker.webp", "image/webp", "sticker")
        return await self.tg._user_message(self, chat, "sticker", file_id=fid, text=emoji)

    async def send_voice(self, chat: SimChat | None = None, duration: int = 3) -> Record:
        fid = self.tg._store_file(b"OggS-voice", "voice.ogg", "audio/ogg", "voice")
        return await self.tg._user_message(self, chat, "voice", file_id=fid,
                                           service={"duration": duration})  # fmt: skip

    async def forward_text(self, text: str, from_user: SimUser | str,
                           chat: SimChat | None = None) -> Record:  # fmt: skip
        """A text forwarded from `from_user` (a SimUser, or a name for a hidden account)."""
        date = int(self.tg.wallclock()) - 3600
        if isinstance(from_user, SimUser):
            origin = {"type": "user", "date": date, "sender_user": from_user.payload()}
        else:
            origin = {"type": "hidden_user", "date": date, "sender_user_name": from_user}
        return await self.tg._user_message(self, chat, "text", text=text, plain=text,
                                           forward_origin=origin)  # fmt: skip

    async def block(self) -> None:
        """Block the bot: it gets a my_chat_member update, then 403 on every message."""
        self.blocked = True
        await self.tg._member_update(self.private, self, "member", "kicked")

    def __repr__(self) -> str:
        return f"SimUser({self.id}, {self.name!r})"


# --------------------------------------------------------------------------- the HTTP layer


class _OfflineRequest(BaseRequest):
    """PTB's transport, answered by an `OfflineTelegram` instead of the network."""

    __slots__ = ("_tg",)

    def __init__(self, tg: OfflineTelegram) -> None:
        self._tg = tg

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE,
                         write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:  # fmt: skip
        return await self._tg._handle(url, method, request_data)


_METHODS: dict[str, Callable[..., Any]] = {}


def _api(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a Bot API method implementation (method names are case-insensitive)."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        for name in names:
            _METHODS[name.lower()] = func
        return func

    return register


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------- the server


class OfflineTelegram:
    """The fake Telegram: the chats, the people, and the Bot API the app talks to."""

    def __init__(self, bot_username: str = "ThiDuaBot", bot_first_name: str = "ThiĐua Bot",
                 token: str = "123456:OFFLINE") -> None:  # fmt: skip
        self.token, self.bot_username, self.bot_first_name = token, bot_username, bot_first_name
        self.bot_id = int(token.split(":", 1)[0])
        self.app: Application | None = None
        self.server: Any = None  # an OfflineBotAPIServer while it serves this fake over HTTP
        self.users: dict[int, SimUser] = {}
        self.chats: dict[int, SimChat] = {}
        self.errors: list[Exception] = []  # raised by the app's handlers
        self.rejections: list[tuple[str, str]] = []  # (method, description) Telegram would give
        self.injected: list[tuple[str, str]] = []  # (method, error) from fail_next
        self.calls: list[tuple[str, dict]] = []
        self.callback_answers: list[dict] = []
        self._answer_of: dict[str, dict] = {}  # query id -> its first answer (a press's result)
        self.my_commands: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}  # (method suffix, language) -> text
        self.files: dict[str, bytes] = {}
        self.flood_control = False
        self.strict_html = True  # refuse a bare "&" (see bot.offline_html)
        self.clock: Callable[[], float] = time.monotonic  # flood control's clock
        self.wallclock: Callable[[], float] = lambda: CLOCK.now().timestamp()  # message dates
        self._file_meta: dict[str, dict] = {}
        self._paths: dict[str, str] = {}  # file_path -> file_id
        self._scoped_commands: dict[tuple[str, str], list[dict]] = {}
        self._queries: dict[str, dict] = {}
        self._injections: list[dict] = []
        self._holds: dict[int, _Hold] = {}
        self.last_update_id = _last_update_id[0]  # set it to jump, as Telegram may after a quiet week
        self.updates: dict[int, dict] = {}  # update_id -> the update as delivered (JSON)
        # The webhook setWebhook set (url, secret_token, allowed_updates, max_connections), or
        # None. While one is set getUpdates is refused, and an OfflineBotAPIServer posts
        # updates to it instead of queuing them for polling.
        self.webhook: dict | None = None
        self._user_ids = itertools.count(700_000_001)
        self._group_ids = itertools.count(1)
        self._seq = itertools.count(1)

    # ---------------------------------------------------------------- setting up the world

    def make_request(self) -> BaseRequest:
        """A new PTB request object answered by this fake (use one per builder slot)."""
        return _OfflineRequest(self)

    def builder(self) -> ApplicationBuilder:
        """An `ApplicationBuilder` already wired to this fake: token and both requests."""
        return (ApplicationBuilder().token(self.token).request(self.make_request())
                .get_updates_request(self.make_request()))  # fmt: skip

    def user(self, name: str, username: str | None = None, language_code: str | None = None,
             id: int | None = None, started: bool = False) -> SimUser:  # fmt: skip
        """A person. `started=True` means they opened the private chat before the test (else
        the bot may not write to them first, as on Telegram)."""
        uid = id if id is not None else next(self._user_ids)
        assert uid not in self.users and uid != self.bot_id, f"user id {uid} is taken"
        self.users[uid] = SimUser(self, uid, name, username, language_code, started)
        return self.users[uid]

    def group(self, title: str, admins: Iterable[SimUser] = (), members: Iterable[SimUser] = (),
              id: int | None = None, type: str = "supergroup") -> SimChat:  # fmt: skip
        """A group (the bot is not in it until `add_bot_to_group`); admins[0] is its creator."""
        n = next(self._group_ids)
        cid = -1001_000_000_000 - n if type == "supergroup" else -4_000_000 - n
        cid = id if id is not None else cid
        assert cid < 0 and cid not in self.chats, f"group id {cid} is invalid or taken"
        chat = SimChat(self, cid, type, title)
        chat.admins = list(admins)
        chat.members = [m for m in members if m not in chat.admins]
        self.chats[cid] = chat
        return chat

    def chat(self, chat_id: int) -> SimChat:
        chat = self.chats.get(chat_id)
        if chat is None and chat_id in self.users:
            chat = self._private_chat(self.users[chat_id])
        assert chat is not None, f"no chat {chat_id}"
        return chat

    async def add_bot_to_group(self, group: SimChat, by: SimUser, as_admin: bool = False) -> None:
        """`by` adds the bot: a my_chat_member update, then the new_chat_members message."""
        assert not group.is_private, "the bot is always in private chats"
        new = "administrator" if as_admin else "member"
        await self._member_update(group, by, group.bot_status, new)
        await self._user_message(by, group, "service",
                                 service={"new_chat_members": [self._bot_user()]})  # fmt: skip

    async def remove_bot_from_group(self, group: SimChat, by: SimUser) -> None:
        await self._member_update(group, by, group.bot_status, "kicked")

    def fail_next(self, method: str, error: str = "network", times: int = 1,
                  chat_id: int | None = None, retry_after: int = 5) -> None:  # fmt: skip
        """Make the next `times` calls of `method` (to `chat_id`, if given) fail like a bad
        day on Telegram: forbidden (403 blocked), retry_after (429), network, timeout,
        bad_request, query_too_old (answerCallbackQuery's 400 for a press answered too late).
        Injected failures go to `tg.injected`, not `tg.rejections`."""
        if error not in _INJECTABLE:
            raise ValueError(f"error must be one of {_INJECTABLE}, not {error!r}")
        self._injections.append({"method": method.lower(), "error": error, "times": times,
                                 "chat_id": chat_id, "retry_after": retry_after})  # fmt: skip

    @contextlib.contextmanager
    def hold(self, chat: SimChat | SimUser | int) -> Iterator[_Hold]:
        """Make Telegram slow for one chat: every Bot API call to that `chat_id` waits until
        the block ends (or `release(chat)`), then is answered as usual. Other chats are not
        held. `await (with-value).reached.wait()` to know a call is waiting."""
        cid = chat if isinstance(chat, int) else chat.id
        assert cid not in self._holds, f"chat {cid} is already held"
        self._holds[cid] = hold = _Hold()
        try:
            yield hold
        finally:
            self.release(cid)

    def release(self, chat: SimChat | SimUser | int) -> None:
        """Let a held chat's calls through (see `hold`)."""
        cid = chat if isinstance(chat, int) else chat.id
        hold = self._holds.pop(cid, None)
        if hold is not None:
            hold.released.set()

    async def travel(self, **delta: float) -> None:
        """Move time forward (`days=3`, `hours=2`...) for the bot and for message dates, then
        let the bot do what became due (planned openings, deadlines, outbox retries) as its
        timers would have. The clock keeps running from there; `storage.models.CLOCK.reset()`
        goes back to the system time (tests/conftest.py does it after each test)."""
        CLOCK.travel(dt.timedelta(**delta))
        for chat in self.chats.values():
            chat._log.append(f"⏩ (thời gian: {CLOCK.now().astimezone(_VN):%d/%m/%Y %H:%M})")
        assert self.app is not None, "attach the app first: `async with tg.running(app):`"
        due_work = self.app.bot_data.get("clock_moved")
        if due_work is not None:
            await due_work()

    @property
    def unanswered_queries(self) -> list[dict]:
        """Button presses the bot never answered (the user's client keeps spinning)."""
        return [q for q in self._queries.values() if not q["answered"]]

    # ------------------------------------------------------------------ running the app

    def attach(self, app: Application) -> None:
        """Bind the app; refuse one that would talk to the real Telegram. The error recorder
        goes first among the error handlers, so an app handler that stops error handling
        (ApplicationHandlerStop) cannot hide an error from `tg.errors`."""
        request = app.bot.request
        if not (isinstance(request, _OfflineRequest) and request._tg is self):
            raise ValueError(
                "build the Application with .request(tg.make_request()) "
                "and .get_updates_request(tg.make_request())"
            )
        self.app = app
        others = dict(app.error_handlers)
        app.error_handlers.clear()
        app.add_error_handler(self._record_error)
        app.error_handlers.update(others)

    async def _record_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is not None:
            self.errors.append(context.error)  # type: ignore[arg-type]

    @contextlib.asynccontextmanager
    async def running(self, app: Application) -> AsyncIterator[OfflineTelegram]:
        """initialize + post_init + start (no updater: updates are fed directly), and the
        mirror image on exit."""
        self.attach(app)
        await app.initialize()
        try:
            if app.post_init:
                await app.post_init(app)
            await app.start()
            try:
                yield self
            finally:
                if app.running:
                    await app.stop()
                if app.post_stop:
                    await app.post_stop(app)
        finally:
            await app.shutdown()
            if app.post_shutdown:
                await app.post_shutdown(app)

    async def _deliver(self, payload: dict, copies: int = 1) -> int:
        """Give the next update id to `payload`, feed it to the app (`copies` times at once)
        and wait for what it started in the background; while an `OfflineBotAPIServer` serves
        this fake, queue it for getUpdates instead. Returns the update id."""
        self.last_update_id += 1
        _last_update_id[0] = max(_last_update_id[0], self.last_update_id)
        update = {"update_id": self.last_update_id, **payload}
        self.updates[self.last_update_id] = json.loads(json.dumps(update))
        if self.server is not None:
            assert copies == 1, "copies are fed in-process only"
            await self.server.deliver(update)
        else:
            await self._feed(update, copies)
        return self.last_update_id

    async def redeliver(self, what: Record | int | None = None, copies: int = 1) -> None:
        """Deliver an update again, same update_id and payload, as Telegram does when the bot
        did not confirm it in time or crashed: `what` is a user's message (the update that
        brought it), an update id, or None for the latest update. A button press comes back
        with its callback query, which Telegram takes one answer for."""
        if isinstance(what, Record):
            assert what.update_id is not None, f"{what} did not come to the bot in an update"
            update_id = what.update_id
        else:
            update_id = self.last_update_id if what is None else what
        assert update_id in self.updates, f"no update #{update_id} was delivered"
        assert self.server is None, "redelivery is simulated in-process only"
        update = self.updates[update_id]
        kind = next(k for k in update if k != "update_id")
        for chat in self._chats_of(update[kind]):
            chat._log.append(f"🔁 (Telegram gửi lại cập nhật #{update_id})")
        await self._feed(update, copies)

    def _chats_of(self, body: dict) -> list[SimChat]:
        chat = (body.get("message") or body).get("chat") or {}
        return [self.chats[chat["id"]]] if chat.get("id") in self.chats else []

    async def _feed(self, update: dict, copies: int) -> None:
        app = self.app
        assert app is not None, "attach the app first: `async with tg.running(app):`"
        before = set(self._app_tasks())
        first, *twins = [Update.de_json(json.loads(json.dumps(update)), app.bot)
                         for _ in range(copies)]  # fmt: skip
        # The update goes through the app's update processor, as one fetched by the updater does
        # (so it waits its turn behind its chat's and its sender's earlier updates); a twin is
        # handled at the same instant beside it, as a second instance of the bot would.
        await asyncio.gather(app.update_processor.process_update(first, app.process_update(first)),
                             *(app.process_update(u) for u in twins))  # fmt: skip
        deadline = asyncio.get_running_loop().time() + 10
        while pending := {t for t in set(self._app_tasks()) - before if not t.done()}:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            await asyncio.wait(pending, timeout=remaining)

    def _app_tasks(self) -> set[asyncio.Task]:
        # PTB keeps the tasks of block=False handlers here; no public accessor exists.
        return getattr(self.app, "_Application__create_task_tasks", set())

    # ------------------------------------------------------------------ users' side

    def _private_chat(self, user: SimUser) -> SimChat:
        if user.id not in self.chats:
            self.chats[user.id] = SimChat(self, user.id, "private", user=user)
        return self.chats[user.id]

    def _bot_user(self) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_first_name,
                "username": self.bot_username}  # fmt: skip

    def _new_record(self, chat: SimChat, **fields: Any) -> Record:
        rec = Record(chat_id=chat.id, message_id=chat._next_id, date=int(self.wallclock()),
                     **fields)  # fmt: skip
        chat._next_id += 1
        chat.transcript.append(rec)
        return rec

    async def _user_message(self, user: SimUser, chat: SimChat | None, kind: str,
                            copies: int = 1, **fields: Any) -> Record:  # fmt: skip
        chat = chat or user.private
        if chat.is_private:
            assert chat.user is user, f"{user} cannot write in {chat}"
            user.started = True
            if user.blocked:  # writing again is Telegram's "Restart bot"
                user.blocked = False
                await self._member_update(chat, user, "kicked", "member")
        else:
            assert chat.status_of(user.id) != "left", (
                f"{user} is not in {chat}; list them in tg.group(admins=/members=)"
            )
            assert chat.bot_status in ("member", "administrator"), (
                f"the bot is not in {chat}; await tg.add_bot_to_group(...) first"
            )
        if kind != "text" and fields.get("file_id"):
            fields.setdefault("document_name", self._file_meta[fields["file_id"]]["file_name"])
        rec = self._new_record(chat, sender=user.name, kind=kind, user_id=user.id, **fields)
        rec.payload = self._message_json(rec)
        chat._log.extend(self._render(rec))
        rec.update_id = await self._deliver({"message": rec.payload}, copies)
        return rec

    async def _press(self, user: SimUser, chat: SimChat, rec: Record, data: str, label: str | None,
                     inaccessible: bool = False, copies: int = 1) -> dict | None:  # fmt: skip
        if chat.is_private:
            user.started = True
        else:
            assert chat.status_of(user.id) != "left", f"{user} is not in {chat}"
        qid = str(4_000_000_000_000 + next(self._seq))
        self._queries[qid] = {"id": qid, "user_id": user.id, "chat_id": chat.id, "data": data,
                              "message_id": rec.message_id, "answered": False}  # fmt: skip
        chat._log.append(f"👆 {user.name} bấm [{label if label is not None else data}]"
                         + (" (tin cũ, bot không còn xem được)" if inaccessible else ""))
        # An inaccessible message is Telegram's InaccessibleMessage: its chat, its id, date 0.
        message = ({"chat": chat.payload(), "message_id": rec.message_id, "date": 0}
                   if inaccessible else rec.payload)  # fmt: skip
        await self._deliver({"callback_query": {
            "id": qid, "from": user.payload(), "message": message,
            "chat_instance": str(abs(chat.id) * 7 + self.bot_id), "data": data}}, copies)  # fmt: skip
        return self._answer_of.get(qid)

    async def _member_update(self, chat: SimChat, by: SimUser, old: str, new: str) -> None:
        if not chat.is_private:
            chat.bot_status = new
        if new == "kicked":  # an addition is shown by its new_chat_members message instead
            verb = "đã chặn" if chat.is_private else "đã xoá khỏi nhóm"
            chat._log.append(f"➖ {by.name} {verb} {self.bot_first_name}")
        await self._deliver({"my_chat_member": {
            "chat": chat.payload(), "from": by.payload(), "date": int(self.wallclock()),
            "old_chat_member": self._member_json(self._bot_user(), old),
            "new_chat_member": self._member_json(self._bot_user(), new)}})  # fmt: skip

    # ------------------------------------------------------------------ the wire

    async def _handle(self, url: str, http_method: str,
                      data: RequestData | None) -> tuple[int, bytes]:  # fmt: skip
        """One in-process HTTP exchange: route the URL, then answer as the Bot API would."""
        await asyncio.sleep(0)  # a real request yields to the event loop; so does this one
        route = self.route(unquote(urlsplit(url).path))
        if route is None:
            return _Reject(401, "Unauthorized").response()
        is_file, target = route
        if is_file or http_method == "GET":
            return self.download(target)
        params = dict(data.parameters) if data else {}
        files = data.multipart_data if data and data.contains_files else {}
        return await self.dispatch(target, params, files)

    def route(self, path: str) -> tuple[bool, str] | None:
        """Split a URL path into (is a file download, Bot API method or file path); None when
        the path does not carry this fake's token (Telegram answers 401 Unauthorized)."""
        marker = f"bot{self.token}/"
        at = path.find(marker)
        if at < 0:
            return None
        return path[:at].endswith("file/"), path[at + len(marker) :]

    def download(self, file_path: str) -> tuple[int, bytes]:
        """GET .../file/bot<token>/<file_path>: the bytes of a file getFile has named."""
        file_id = self._paths.get(file_path)
        if file_id is None:
            return _Reject(404, "Not Found").response()
        return 200, self.files[file_id]

    async def dispatch(self, method: str, params: dict,
                       files: dict) -> tuple[int, bytes]:  # fmt: skip
        """One Bot API call, the single entry point of both transports (the in-process
        `BaseRequest` and `bot.offline_server`): `params` are decoded JSON values, `files` maps
        a field name to (filename, bytes or file object, MIME type). Returns the HTTP status and
        the JSON body Telegram would send. May raise NetworkError/TimedOut (from fail_next)."""
        hold = self._holds.get(_as_int(params.get("chat_id")))
        if hold is not None:
            hold.waiting.append(method)
            hold.reached.set()
            await hold.released.wait()
            hold.waiting.remove(method)
        self.calls.append((method, params))
        try:
            self._inject(method, params)
            func = _METHODS.get(method.lower())
            if func is None:
                raise _Reject(404, "Not Found")
            result = func(self, params, files)
            if inspect.isawaitable(result):
                result = await result
        except _Reject as refusal:
            if refusal.record:
                self.rejections.append((method, refusal.description))
            return refusal.response()
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _inject(self, method: str, params: dict) -> None:
        for inj in self._injections:
            if inj["method"] != method.lower():
                continue
            if inj["chat_id"] is not None and str(params.get("chat_id")) != str(inj["chat_id"]):
                continue
            inj["times"] -= 1
            if inj["times"] <= 0:
                self._injections.remove(inj)
            self.injected.append((method, inj["error"]))
            error = inj["error"]
            if error == "network":
                raise NetworkError("offline: injected network error")
            if error == "timeout":
                raise TimedOut("offline: injected timeout")
            wait = inj["retry_after"]
            code, description, retry = {
                "forbidden": (403, "Forbidden: bot was blocked by the user", None),
                "bad_request": (400, "Bad Request: offline: injected failure", None),
                "query_too_old": (400, QUERY_TOO_OLD, None),
                "retry_after": (429, f"Too Many Requests: retry after {wait}", wait),
            }[error]
            raise _Reject(code, description, retry, record=False)

    # ------------------------------------------------------------------ checks Telegram makes

    def _chat_for_bot(self, chat_id: Any, sending: bool = True) -> SimChat:
        cid = _as_int(chat_id)
        chat = self.chats.get(cid) if cid is not None else None
        if chat is None and cid in self.users:
            chat = self._private_chat(self.users[cid])
        if chat is None:
            raise _bad("chat not found")
        if chat.is_private:
            assert chat.user is not None
            if chat.user.blocked:
                raise _Reject(403, "Forbidden: bot was blocked by the user")
            if sending and not chat.user.started:
                raise _Reject(403, "Forbidden: bot can't initiate conversation with a user")
        elif chat.bot_status in ("left", "kicked"):
            kind = "supergroup" if chat.type == "supergroup" else "group"
            what = "was kicked from" if chat.bot_status == "kicked" else "is not a member of"
            raise _Reject(403, f"Forbidden: bot {what} the {kind} chat")
        return chat

    def _parse(self, raw: Any, parse_mode: Any, entities: Any, caption: bool) -> ParsedText:
        try:
            parsed = parse_text(str(raw or ""), parse_mode, entities, strict=self.strict_html)
        except MarkupError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
        size = utf16_len(parsed.text)
        if caption and size > MAX_CAPTION:
            raise _bad("message caption is too long")
        if not caption and not parsed.text:
            raise _bad("message text is empty")
        if not caption and size > MAX_TEXT:
            raise _bad("message is too long")
        return parsed

    def _check_markup(self, markup: Any) -> dict | None:
        if markup is None:
            return None
        if isinstance(markup, str):
            markup = json.loads(markup)
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup  # reply keyboards, ForceReply, ReplyKeyboardRemove
        buttons = [b for row in rows for b in row]
        if len(buttons) > 100:
            raise _bad("reply markup is too long")
        for button in buttons:
            if not str(button.get("text") or "").strip():
                raise _bad("text buttons are unallowed in the inline keyboard")
            if not any(button.get(k) is not None for k in _BUTTON_ACTIONS):
                raise _bad("can't parse inline keyboard button: Text buttons are unallowed in "
                           "the inline keyboard")  # fmt: skip
            data = button.get("callback_data")
            if data is not None and not 0 < len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA:
                raise _bad("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None:
                parts = urlsplit(str(url))
                if parts.scheme not in ("http", "https", "tg") or not parts.netloc:
                    raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
        return markup

    def _reply_target(self, chat: SimChat, params: dict) -> int | None:
        reply = params.get("reply_parameters") or {}
        mid = reply.get("message_id", params.get("reply_to_message_id"))
        if mid is None:
            return None
        target = chat.find(mid)
        if target is None or target.deleted:
            if reply.get("allow_sending_without_reply") or params.get(
                "allow_sending_without_reply"
            ):
                return None
            raise _bad("message to be replied not found")
        return target.message_id

    def _flood_check(self, chat: SimChat) -> None:
        """At most 20 bot messages a minute into one group (only when `flood_control` is on)."""
        now = self.clock()
        while chat._sent_at and now - chat._sent_at[0] >= 60:
            chat._sent_at.popleft()
        if self.flood_control and not chat.is_private and len(chat._sent_at) >= FLOOD_LIMIT:
            wait = max(1, math.ceil(chat._sent_at[0] + 60 - now))
            raise _Reject(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

    def _input_file(self, params: dict, files: dict, name: str, kind: str) -> str:
        """The file_id of the file a send method names: uploaded now, or an existing id."""
        value = params.get(name)
        if value is None or str(value).startswith("attach://"):
            key = name if value is None else str(value)[len("attach://") :]
            if key not in files:
                raise _bad(f"there is no {name} in the request")
            filename, content, mime = files[key]
            data = content if isinstance(content, bytes) else content.read()
            if len(data) > MAX_UPLOAD:
                raise _Reject(413, "Request Entity Too Large")
            if not data:
                raise _bad("file must be non-empty")
            return self._store_file(data, filename, mime, kind)
        value = str(value)
        if value.startswith(("http://", "https://")):  # Telegram would fetch it; we cannot
            return self._store_file(b"", value.rsplit("/", 1)[-1] or "file", None, kind)
        meta = self._file_meta.get(value)
        if meta is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        if (meta["kind"] == "photo") != (kind == "photo"):
            raise _bad("type of file mismatch")
        return value

    def _store_file(self, data: bytes, name: str, mime: str | None, kind: str,
                    size: int | None = None) -> str:  # fmt: skip
        n = next(self._seq)
        file_id = f"OFF{kind[:3].upper()}{n:08d}"
        folder = {"photo": "photos", "sticker": "stickers", "voice": "voice"}.get(kind, "documents")
        path = f"{folder}/file_{n}{'.' + name.rsplit('.', 1)[-1] if '.' in name else ''}"
        self.files[file_id] = bytes(data)
        self._paths[path] = file_id
        self._file_meta[file_id] = {"file_id": file_id, "file_unique_id": f"U{n:08d}",
                                    "file_size": len(data) if size is None else size,
                                    "file_name": name, "mime_type": mime, "kind": kind,
                                    "file_path": path}  # fmt: skip
        return file_id

    # ------------------------------------------------------------------ JSON Telegram returns

    def _file_json(self, file_id: str, *keys: str) -> dict:
        meta = self._file_meta[file_id]
        out = {k: meta[k] for k in ("file_id", "file_unique_id", "file_size", *keys)}
        return {k: v for k, v in out.items() if v is not None}

    def _message_json(self, rec: Record, nested: bool = True) -> dict:
        chat = self.chats[rec.chat_id]
        sender = self._bot_user() if rec.from_bot else self.users[rec.user_id].payload()  # type: ignore[index]
        msg: dict[str, Any] = {"message_id": rec.message_id, "date": rec.date,
                               "chat": chat.payload(), "from": sender}  # fmt: skip
        if rec.kind == "text":
            msg["text"] = rec.plain
        elif rec.kind == "document":
            msg["document"] = self._file_json(rec.file_id, "file_name", "mime_type")  # type: ignore[arg-type]
        elif rec.kind == "photo":
            msg["photo"] = [{**self._file_json(rec.file_id), "width": 1280, "height": 960}]  # type: ignore[arg-type]
        elif rec.kind == "sticker":
            msg["sticker"] = {**self._file_json(rec.file_id), "type": "regular", "width": 512,  # type: ignore[arg-type]
                              "height": 512, "is_animated": False, "is_video": False,
                              "emoji": rec.text}  # fmt: skip
        elif rec.kind == "voice":
            msg["voice"] = {**self._file_json(rec.file_id, "mime_type"), **(rec.service or {})}  # type: ignore[arg-type]
        elif rec.service:
            msg.update(rec.service)
        if rec.plain and rec.kind not in ("text", "sticker"):
            msg["caption"] = rec.plain
        if rec.entities:
            msg["entities" if rec.kind == "text" else "caption_entities"] = rec.entities
        if rec.edit_date:
            msg["edit_date"] = rec.edit_date
        if rec.forward_origin:
            msg["forward_origin"] = rec.forward_origin
        if rec.reply_to_message_id and nested and (target := chat.find(rec.reply_to_message_id)):
            msg["reply_to_message"] = self._message_json(target, nested=False)
        if rec.reply_markup and "inline_keyboard" in rec.reply_markup:
            msg["reply_markup"] = rec.reply_markup
        return msg

    def _member_json(self, user: dict, status: str) -> dict:
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(dict.fromkeys(
                ("can_be_edited", "is_anonymous", "can_promote_members", "can_post_stories",
                 "can_edit_stories", "can_delete_stories"), False))  # fmt: skip
            member.update(dict.fromkeys(
                ("can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                 "can_restrict_members", "can_change_info", "can_invite_users",
                 "can_pin_messages"), True))  # fmt: skip
        elif status == "kicked":
            member["until_date"] = 0
        return member

    # ------------------------------------------------------------------ the bot's messages

    def _bot_message(self, chat: SimChat, kind: str, params: dict, parsed: ParsedText,
                     markup: dict | None, reply_to: int | None, **fields: Any) -> dict:  # fmt: skip
        rec = self._new_record(chat, sender="bot", kind=kind, from_bot=True, plain=parsed.text,
                               entities=parsed.entities, parse_mode=params.get("parse_mode"),
                               reply_markup=markup, reply_to_message_id=reply_to,
                               **fields)  # fmt: skip
        if rec.file_id:
            meta = self._file_meta[rec.file_id]
            rec.document_name, rec.mime_type = meta["file_name"], meta["mime_type"]
            rec.document_bytes = self.files[rec.file_id]
        chat._sent_at.append(self.clock())
        rec.payload = self._message_json(rec)
        chat._log.extend(self._render(rec))
        return rec.payload

    def _editable(self, params: dict) -> tuple[SimChat, Record]:
        if params.get("inline_message_id"):
            raise _bad("message to edit not found")  # inline messages are not simulated
        chat = self._chat_for_bot(params.get("chat_id"), sending=False)
        rec = chat.find(params.get("message_id"))
        if rec is None or rec.deleted:
            raise _bad("message to edit not found")
        if not rec.from_bot:
            raise _bad("message can't be edited")
        return chat, rec

    def _apply_edit(self, chat: SimChat, rec: Record, params: dict, parsed: ParsedText | None,
                    markup: dict | None, raw_field: str | None) -> dict:  # fmt: skip
        """Edit in place; without `reply_markup` the inline keyboard goes away, as on Telegram."""
        old_kb = (
            rec.reply_markup if rec.reply_markup and "inline_keyboard" in rec.reply_markup else None
        )
        new_kb = markup if markup and "inline_keyboard" in markup else None
        same_body = parsed is None or (parsed.text == rec.plain and parsed.entities == rec.entities)
        if same_body and old_kb == new_kb:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        if parsed is not None and raw_field is not None:
            rec.edits.append(getattr(rec, raw_field) or "")
            setattr(rec, raw_field, params.get(raw_field))
            rec.plain, rec.entities = parsed.text, parsed.entities
            rec.parse_mode = params.get("parse_mode")
        rec.reply_markup = new_kb
        rec.edit_count += 1
        rec.edit_date = int(self.wallclock())
        rec.payload = self._message_json(rec)
        chat._log.extend(self._render(rec, edited=parsed is not None, markup_only=parsed is None))
        return rec.payload

    # ------------------------------------------------------------------ rendering

    def _render(self, rec: Record, edited: bool = False, markup_only: bool = False) -> list[str]:
        who = f"🤖 {self.bot_first_name}" if rec.from_bot else f"👤 {rec.sender}"
        if markup_only:
            lines = [f"✏️ (đã sửa nút bấm) {who}, tin #{rec.message_id}"]
        else:
            body = {
                "text": rec.plain,
                "document": f"📎 {rec.document_name} ({len(rec.document_bytes or b'')} bytes)",
                "photo": "🖼️ (ảnh)",
                "sticker": f"(nhãn dán {rec.text})",
                "voice": "🎤 (tin nhắn thoại)",
            }.get(rec.kind, "")
            if rec.service and "new_chat_members" in rec.service:
                names = ", ".join(u["first_name"] for u in rec.service["new_chat_members"])
                return [f"➕ {rec.sender} đã thêm {names} vào nhóm"]
            if rec.kind not in ("text", "sticker") and rec.plain:
                body += "\n" + rec.plain
            if rec.forward_origin:
                origin = rec.forward_origin
                src = origin.get("sender_user", {}).get("first_name") or origin.get(
                    "sender_user_name"
                )
                body = f"↪️ (chuyển tiếp từ {src}) {body}"
            first, *rest = body.split("\n")
            lines = [f"{'✏️ (đã sửa) ' if edited else ''}{who}: {first}", *("   " + r for r in rest)]
        lines += ["   " + " ".join(f"[{label}]" for label in row) for row in rec.buttons]
        return lines

    # ================================================================== Bot API methods
    # Each takes (params, files) and returns the `result` JSON or raises _Reject.

    @_api("getMe")
    def _get_me(self, p: dict, files: dict) -> dict:
        return {**self._bot_user(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False,
                "has_main_web_app": False}  # fmt: skip

    @_api("setMyCommands")
    def _set_my_commands(self, p: dict, files: dict) -> bool:
        commands = p.get("commands") or []
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for c in commands:
            if not _BOT_COMMAND_RE.match(str(c.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", "")).strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        scope, lang = p.get("scope") or {"type": "default"}, p.get("language_code") or ""
        self._scoped_commands[(json.dumps(scope, sort_keys=True), lang)] = commands
        self.my_commands[(scope["type"], lang)] = [
            (c["command"], c["description"]) for c in commands
        ]
        return True

    @_api("getMyCommands")
    def _get_my_commands(self, p: dict, files: dict) -> list:
        scope = json.dumps(p.get("scope") or {"type": "default"}, sort_keys=True)
        return self._scoped_commands.get((scope, p.get("language_code") or ""), [])

    @_api("deleteMyCommands")
    def _delete_my_commands(self, p: dict, files: dict) -> bool:
        scope, lang = p.get("scope") or {"type": "default"}, p.get("language_code") or ""
        self._scoped_commands.pop((json.dumps(scope, sort_keys=True), lang), None)
        self.my_commands.pop((scope["type"], lang), None)
        return True

    @_api("setMyDescription", "setMyShortDescription", "setMyName")
    def _set_description(self, p: dict, files: dict) -> bool:
        for key in ("description", "short_description", "name"):
            if key in p:
                self.descriptions[(key, p.get("language_code") or "")] = p[key]
        return True

    def _described(self, p: dict, key: str) -> dict:
        return {key: self.descriptions.get((key, p.get("language_code") or ""), "")}

    @_api("getMyDescription")
    def _get_description(self, p: dict, files: dict) -> dict:
        return self._described(p, "description")

    @_api("getMyShortDescription")
    def _get_short_description(self, p: dict, files: dict) -> dict:
        return self._described(p, "short_description")

    @_api("getMyName")
    def _get_name(self, p: dict, files: dict) -> dict:
        return self._described(p, "name")

    @_api("sendMessage")
    def _send_message(self, p: dict, files: dict) -> dict:
        chat = self._chat_for_bot(p.get("chat_id"))
        parsed = self._parse(p.get("text"), p.get("parse_mode"), p.get("entities"), caption=False)
        markup = self._check_markup(p.get("reply_markup"))
        reply_to = self._reply_target(chat, p)
        self._flood_check(chat)
        return self._bot_message(chat, "text", p, parsed, markup, reply_to, text=p.get("text"))

    @_api("sendDocument", "sendPhoto")
    def _send_file(self, p: dict, files: dict) -> dict:
        kind = "photo" if "photo" in p or "photo" in files else "document"
        chat = self._chat_for_bot(p.get("chat_id"))
        file_id = self._input_file(p, files, kind, kind)
        parsed = self._parse(p.get("caption"), p.get("parse_mode"), p.get("caption_entities"),
                             caption=True)  # fmt: skip
        markup = self._check_markup(p.get("reply_markup"))
        reply_to = self._reply_target(chat, p)
        self._flood_check(chat)
        return self._bot_message(chat, kind, p, parsed, markup, reply_to,
                                 caption=p.get("caption"), file_id=file_id)  # fmt: skip

    @_api("editMessageText")
    def _edit_text(self, p: dict, files: dict) -> dict:
        chat, rec = self._editable(p)
        if rec.kind != "text":
            raise _bad("there is no text in the message to edit")
        parsed = self._parse(p.get("text"), p.get("parse_mode"), p.get("entities"), caption=False)
        return self._apply_edit(chat, rec, p, parsed, self._check_markup(p.get("reply_markup")),
                                "text")  # fmt: skip

    @_api("editMessageCaption")
    def _edit_caption(self, p: dict, files: dict) -> dict:
        chat, rec = self._editable(p)
        if rec.kind == "text":
            raise _bad("there is no caption in the message to edit")
        parsed = self._parse(p.get("caption"), p.get("parse_mode"), p.get("caption_entities"),
                             caption=True)  # fmt: skip
        return self._apply_edit(chat, rec, p, parsed, self._check_markup(p.get("reply_markup")),
                                "caption")  # fmt: skip

    @_api("editMessageReplyMarkup")
    def _edit_markup(self, p: dict, files: dict) -> dict:
        chat, rec = self._editable(p)
        return self._apply_edit(chat, rec, p, None, self._check_markup(p.get("reply_markup")), None)

    @_api("deleteMessage")
    def _delete_message(self, p: dict, files: dict) -> bool:
        chat = self._chat_for_bot(p.get("chat_id"), sending=False)
        rec = chat.find(p.get("message_id"))
        if rec is None or rec.deleted:
            raise _bad("message to delete not found")
        if not rec.from_bot and not chat.is_private and chat.bot_status != "administrator":
            raise _bad("message can't be deleted")
        rec.deleted = True
        who = "🤖 " + self.bot_first_name if rec.from_bot else "👤 " + rec.sender
        snippet = (rec.plain or rec.document_name or rec.kind).split("\n")[0][:60]
        chat._log.append(f"🗑️ (đã xoá) {who}: {snippet}")
        return True

    @_api("answerCallbackQuery")
    def _answer_callback(self, p: dict, files: dict) -> bool:
        query = self._queries.get(str(p.get("callback_query_id")))
        if query is None or query["answered"]:
            raise _bad(QUERY_TOO_OLD.removeprefix("Bad Request: "))
        text = p.get("text") or ""
        if len(text) > MAX_CALLBACK_ANSWER:
            raise _bad("MESSAGE_TOO_LONG")
        query["answered"] = True
        answer = {"callback_query_id": query["id"], "text": p.get("text"),
                  "show_alert": bool(p.get("show_alert")), "url": p.get("url")}  # fmt: skip
        self.callback_answers.append(answer)
        self._answer_of.setdefault(answer["callback_query_id"], answer)
        if text:
            box = "⚠️ (hộp thoại)" if answer["show_alert"] else "💬 (thông báo)"
            self.chats[query["chat_id"]]._log.append(f"   {box} {text}")
        return True

    @_api("getFile")
    def _get_file(self, p: dict, files: dict) -> dict:
        meta = self._file_meta.get(str(p.get("file_id")))
        if meta is None:
            raise _bad("invalid file_id")
        if meta["file_size"] > MAX_DOWNLOAD:
            raise _bad("file is too big")
        return self._file_json(meta["file_id"], "file_path")

    @_api("getChat")
    def _get_chat(self, p: dict, files: dict) -> dict:
        chat = self._chat_for_bot(p.get("chat_id"), sending=False)
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts",
                               "premium_subscription", "gifts_from_channels"), False)  # fmt: skip
        return {**chat.payload(), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": gifts}  # fmt: skip

    @_api("getChatMember")
    def _get_chat_member(self, p: dict, files: dict) -> dict:
        chat = self._chat_for_bot(p.get("chat_id"), sending=False)
        uid = _as_int(p.get("user_id"))
        if uid == self.bot_id:
            return self._member_json(self._bot_user(), chat.status_of(uid))
        if uid not in self.users:
            raise _bad("user not found")
        return self._member_json(self.users[uid].payload(), chat.status_of(uid))

    @_api("getChatAdministrators")
    def _get_chat_admins(self, p: dict, files: dict) -> list:
        chat = self._chat_for_bot(p.get("chat_id"), sending=False)
        if chat.is_private:
            raise _bad("there are no administrators in the private chat")
        admins = [self._member_json(u.payload(), chat.status_of(u.id)) for u in chat.admins]
        if chat.bot_status == "administrator":
            admins.append(self._member_json(self._bot_user(), "administrator"))
        return admins

    @_api("getChatMemberCount")
    def _get_member_count(self, p: dict, files: dict) -> int:
        chat = self._chat_for_bot(p.get("chat_id"), sending=False)
        return 2 if chat.is_private else len(chat.admins) + len(chat.members) + 1

    @_api("sendChatAction")
    def _send_chat_action(self, p: dict, files: dict) -> bool:
        self._chat_for_bot(p.get("chat_id"))
        return True

    @_api("pinChatMessage", "unpinChatMessage", "unpinAllChatMessages")
    def _pin(self, p: dict, files: dict) -> bool:
        chat = self._chat_for_bot(p.get("chat_id"), sending=False)
        if not chat.is_private and chat.bot_status != "administrator":
            raise _bad("not enough rights to manage pinned messages in the chat")
        if "message_id" in p and (chat.find(p["message_id"]) is None):
            raise _bad("message to pin not found")
        return True

    @_api("getUpdates")
    async def _get_updates(self, p: dict, files: dict) -> list:
        if self.webhook is not None:
            raise _Reject(409, WEBHOOK_ACTIVE)
        if self.server is not None:  # long polling over HTTP: see bot.offline_server
            return await self.server.get_updates(p)
        await asyncio.sleep(min(float(p.get("timeout") or 0), 0.05))
        return []  # updates are fed to process_update directly, never through polling

    @_api("setWebhook")
    def _set_webhook(self, p: dict, files: dict) -> bool:
        url = str(p.get("url") or "")
        secret = p.get("secret_token")
        if secret is not None and not _WEBHOOK_SECRET_RE.fullmatch(str(secret)):
            raise _bad("secret token contains unallowed characters")
        if url and urlsplit(url).scheme not in ("http", "https"):
            raise _bad("bad webhook: an HTTPS URL must be provided for webhook")
        allowed = p.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        self._drop_pending(p)
        if not url:  # setWebhook with an empty URL removes it, like deleteWebhook
            self.webhook = None
            return True
        self.webhook = {"url": url, "secret_token": None if secret is None else str(secret),
                        "allowed_updates": None if allowed is None else list(allowed),
                        "max_connections": _as_int(p.get("max_connections")) or 40}  # fmt: skip
        if self.server is not None and allowed is not None:
            self.server.allowed_updates = frozenset(allowed) or None
        return True

    @_api("deleteWebhook")
    def _delete_webhook(self, p: dict, files: dict) -> bool:
        self._drop_pending(p)
        self.webhook = None
        return True

    def _drop_pending(self, p: dict) -> None:
        if self.server is not None and p.get("drop_pending_updates"):
            self.server.drop_pending()

    @_api("close", "logOut")
    def _ok(self, p: dict, files: dict) -> bool:
        return True

    @_api("getWebhookInfo")
    def _webhook_info(self, p: dict, files: dict) -> dict:
        info: dict = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        if self.webhook is not None:
            info.update(url=self.webhook["url"], max_connections=self.webhook["max_connections"])
            if self.webhook["allowed_updates"] is not None:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info
