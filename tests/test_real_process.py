"""The real process path: `python -m bot run` long-polling the offline Telegram over HTTP.

`bot.offline_server.OfflineBotAPIServer` serves the fake Bot API on 127.0.0.1 (an ephemeral
port); the bot runs as its own process with TELEGRAM_API_URL pointing there, exactly as an
operator starts it against a self-hosted Bot API server. The simulated users are the same as
in-process: `await an.send("/start")` returns once the bot has fetched the update with
getUpdates, handled it and gone quiet. Nothing leaves the loopback interface.

The last tests drive PTB's own HTTP transport (httpx) against the server in this process, to pin
down the wire details the subprocess tests rely on (forms, multipart uploads, downloads, 401).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.offline import OfflineTelegram
from bot.offline_server import OfflineBotAPIServer, parse_multipart

BOT_USERNAME = "ThiDuaBot"
LOOPBACK = "127.0.0.1,localhost"
# Generous limits: on a loaded 2-core CI machine a start can take many seconds. Tests wait for
# the event they need (`until`), never for a fixed time, so these only bound a hang.
STARTUP = 120.0  # seconds for the process to import, migrate its database and start polling
STOP = 60.0  # seconds for it to stop after a signal
EVENTUALLY = 60.0  # seconds for an expected reply to appear


async def until(predicate, what: str, within: float = EVENTUALLY) -> None:
    """Wait until `predicate()` holds: the harness returns once the bot went quiet for a moment,
    but a bot process slowed down by a busy machine may still be working on the update."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() >= deadline:
            raise AssertionError(f"not within {within:g} s: {what}")
        await asyncio.sleep(0.05)


@dataclass
class BotProcess:
    proc: asyncio.subprocess.Process
    stderr_path: Path

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    async def wait(self, within: float) -> int | None:
        """The exit code, or None if it still runs after `within` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), within)
        return self.proc.returncode

    async def stop(self, sig: int = signal.SIGINT) -> int | None:
        self.proc.send_signal(sig)
        return await self.wait(STOP)


@contextlib.asynccontextmanager
async def bot_process(tmp_path: Path, server: OfflineBotAPIServer,
                      token: str) -> AsyncIterator[BotProcess]:  # fmt: skip
    """`python -m bot run` in `tmp_path`, talking to `server` only; killed however the test
    ends. (An asyncio subprocess: the server it talks to runs on this event loop.)"""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TELEGRAM_") and k not in ("DATABASE_URL", "BOT_LOCALE")}  # fmt: skip
    env.update(
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_URL=server.url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        NO_PROXY=LOOPBACK,  # a proxy from the environment must not see loopback traffic
        no_proxy=LOOPBACK,
        PYTHONUNBUFFERED="1",
    )
    stdout_path, stderr_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        # Files, not pipes: a full pipe would stall the bot's logging, and with it the bot.
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
            stdin=subprocess.DEVNULL, stdout=out, stderr=err,
        )  # fmt: skip
    try:
        yield BotProcess(proc, stderr_path)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


@pytest.fixture
def tg() -> OfflineTelegram:
    return OfflineTelegram(bot_username=BOT_USERNAME, bot_first_name="ThiĐua Bot")


@pytest.fixture
async def server(tg: OfflineTelegram) -> AsyncIterator[OfflineBotAPIServer]:
    async with OfflineBotAPIServer(tg, timeout=EVENTUALLY) as srv:
        yield srv


@pytest.fixture
async def bot(tmp_path: Path, tg: OfflineTelegram,
              server: OfflineBotAPIServer) -> AsyncIterator[BotProcess]:  # fmt: skip
    """The bot process, polling; on the way out it must stop cleanly on SIGINT, and Telegram
    must have had nothing to refuse."""
    async with bot_process(tmp_path, server, tg.token) as process:
        await server.wait_for_polling(within=STARTUP, process=process.proc)
        yield process
        if process.proc.returncode is None:
            assert await process.stop() == 0, process.stderr
    assert "Traceback" not in process.stderr, process.stderr
    assert tg.rejections == [], f"Telegram would have refused: {tg.rejections}"


# ------------------------------------------------------------------------ the bot's process


async def test_process_starts_polling_and_publishes_its_commands(
    bot: BotProcess, tg: OfflineTelegram, server: OfflineBotAPIServer
) -> None:
    assert tg.calls[0][0] == "getMe"
    scopes = {"all_private_chats", "all_group_chats"}
    assert set(tg.my_commands) == {(s, lang) for s in scopes for lang in ("", "vi", "en")}
    for key, commands in tg.my_commands.items():
        names = [name for name, _description in commands]
        assert "start" in names or "help" in names, (key, commands)
    assert server.allowed_updates is not None and "chat_member" in server.allowed_updates
    assert bot.proc.returncode is None


async def test_start_in_private_speaks_the_users_language(
    bot: BotProcess, tg: OfflineTelegram
) -> None:
    an = tg.user("An Nguyễn", language_code="vi")
    jo = tg.user("Jo Smith", language_code="en")
    await an.send("/start")
    await jo.send("/start")
    await until(lambda: bool(an.private.bot_messages()) and bool(jo.private.bot_messages()), "two greetings")
    assert "Xin chào" in an.private.last.plain
    assert "Hello" in jo.private.last.plain


async def test_lang_button_round_trip(bot: BotProcess, tg: OfflineTelegram) -> None:
    an = tg.user("An Nguyễn", language_code="vi")
    await an.send("/lang")
    await until(lambda: bool(an.private.bot_messages()), "the /lang menu")
    menu = an.private.last
    assert menu.buttons == [["Tiếng Việt", "English"]]
    await an.press("English")
    await until(lambda: "Language set: English" in menu.plain and not tg.unanswered_queries,
                "the menu edited to English and the press answered")  # fmt: skip
    assert an.private.last is menu


async def test_adding_the_bot_to_a_group_greets_with_the_setup_command(
    bot: BotProcess, tg: OfflineTelegram
) -> None:
    an = tg.user("An Nguyễn", language_code="vi")
    group = tg.group("Cụm thi đua kinh tế 2024", admins=[an])
    await tg.add_bot_to_group(group, by=an)
    await until(lambda: any(f"/setup@{BOT_USERNAME}" in text for text in group.texts()),
                f"the greeting naming /setup in {group.texts()}")  # fmt: skip


async def test_files_travel_both_ways_through_the_configured_api_url(
    bot: BotProcess, tg: OfflineTelegram, server: OfflineBotAPIServer
) -> None:
    """A scoring table uploaded by the administrator is downloaded by the bot process from
    TELEGRAM_API_URL/file/bot<token>/…, and the export comes back as a multipart upload."""
    from io import BytesIO

    from openpyxl import load_workbook

    from tests.test_table_handlers import NEW_CSV, REPLACE, XLSX

    admin = tg.user("Quản Trị", language_code="vi")
    await admin.send("/start")
    group = tg.group("Cụm thi đua kinh tế", admins=[admin])
    await tg.add_bot_to_group(group, by=admin)
    await admin.send(f"/setup@{BOT_USERNAME}", chat=group)
    await admin.send("/table")
    await admin.press(REPLACE)
    await admin.send_document(NEW_CSV, "bang-moi.csv", mime_type="text/csv")
    await until(lambda: "✅ Đã thay bảng chấm điểm" in admin.private.last.plain,
                f"the table replaced:\n{admin.private.render_transcript()}")  # fmt: skip
    downloads = [what for what, status in server.requests if what.startswith("file ") and status == 200]
    assert len(downloads) == 1, server.requests  # fetched over HTTP from the configured server
    await admin.send("/table")
    await admin.press(XLSX)
    await until(lambda: admin.private.last.kind == "document", "the .xlsx export")
    exported = admin.private.last
    assert exported.kind == "document" and exported.document_name.endswith(".xlsx")
    cells = [c for row in load_workbook(BytesIO(exported.document_bytes)).active.iter_rows(values_only=True)
             for c in row]  # fmt: skip
    assert "Cờ thi đua của Chính phủ" in cells


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_a_stop_signal_ends_the_process_cleanly(
    bot: BotProcess, tg: OfflineTelegram, sig: int
) -> None:
    an = tg.user("An Nguyễn", language_code="vi")
    await an.send("/start")  # mid-conversation, not just idle
    assert await bot.stop(sig) == 0, bot.stderr
    assert "Traceback" not in bot.stderr, bot.stderr


async def test_a_rejected_token_is_one_clear_line_and_a_failure_exit(
    tmp_path: Path, server: OfflineBotAPIServer
) -> None:
    async with bot_process(tmp_path, server, "999999:REJECTED-by-the-server") as process:
        code = await process.wait(STARTUP)
        stderr = process.stderr
    assert code not in (None, 0), f"exit code {code}; stderr: {stderr}"
    assert server.unauthorized >= 1 and server.polls == 0
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "TELEGRAM_BOT_TOKEN" in lines[0], stderr


# ------------------------------------------------------------- the wire, with PTB in-process


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", LOOPBACK)
    monkeypatch.setenv("no_proxy", LOOPBACK)


def http_app(tg: OfflineTelegram, server: OfflineBotAPIServer) -> Application:
    """A throwaway PTB app with its real httpx transport, pointed at the server."""
    app = (
        ApplicationBuilder()
        .token(tg.token)
        .base_url(f"{server.url}/bot")
        .base_file_url(f"{server.url}/file/bot")
        .build()
    )

    async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        file = await context.bot.get_file(update.message.document.file_id)
        data = bytes(await file.download_as_bytearray())
        context.bot_data["downloaded"] = data
        button = InlineKeyboardButton("Đồng ý", callback_data="ok:1")
        await update.message.reply_document(
            data[::-1], filename='ngược "x".bin', caption="<b>2024</b>", parse_mode="HTML",
            reply_markup=InlineKeyboardMarkup([[button]]),
        )  # fmt: skip

    async def on_number(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("123", disable_notification=False)

    async def on_ok(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("[1]", show_alert=False)

    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    app.add_handler(CommandHandler("number", on_number))
    app.add_handler(CallbackQueryHandler(on_ok))
    return app


async def test_ptb_over_http_uploads_downloads_and_form_fields(
    tg: OfflineTelegram, server: OfflineBotAPIServer, no_proxy: None
) -> None:
    app = http_app(tg, server)
    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=5)
        await app.start()
        try:
            an = tg.user("An Nguyễn", language_code="vi")
            payload = b"a\r\n--b\x00\xff\r\n" * 1000 + b"\r\n"  # CRLFs and dashes near the edges
            await an.send_document(payload, "báo cáo.txt")
            await until(lambda: any(r.kind == "document" for r in an.private.bot_messages()), "the document")
            await an.send("/number")
            await until(lambda: an.private.last.text == "123", "the reply to /number")
            reply = an.private.last
            await an.press("Đồng ý")
            await until(lambda: bool(tg.callback_answers), "the answer to the press")
        finally:
            await app.updater.stop()
            await app.stop()
    assert app.bot_data["downloaded"] == payload
    sent = next(r for r in an.private.bot_messages() if r.kind == "document")
    assert sent.document_bytes == payload[::-1]
    assert sent.document_name == 'ngược "x".bin'
    assert sent.plain == "2024" and sent.entities[0]["type"] == "bold"
    assert sent.button_data == [["ok:1"]]
    assert reply.text == "123"  # a text that looks like JSON stays text
    assert tg.callback_answers[-1]["text"] == "[1]"
    assert tg.callback_answers[-1]["show_alert"] is False  # "false" in the form is False
    assert tg.rejections == [] and server.pending == []


async def test_wrong_token_is_401_and_an_injected_failure_drops_the_connection(
    tg: OfflineTelegram, server: OfflineBotAPIServer, no_proxy: None
) -> None:
    urls = {"base_url": f"{server.url}/bot", "base_file_url": f"{server.url}/file/bot"}
    with pytest.raises(InvalidToken):
        await Bot("999999:WRONG", **urls).initialize()
    assert server.unauthorized == 1
    bot = Bot(tg.token, **urls)
    tg.fail_next("getMe", "network")
    with pytest.raises(NetworkError):
        await bot.get_me()
    async with bot:
        assert bot.username == BOT_USERNAME
    assert tg.injected == [("getMe", "network")]


async def test_long_polling_offsets_timeouts_and_allowed_updates(
    tg: OfflineTelegram, no_proxy: None
) -> None:
    async with OfflineBotAPIServer(tg, max_poll=0.5) as server, httpx.AsyncClient() as client:
        method = f"{server.url}/bot{tg.token}/getUpdates"
        loop = asyncio.get_running_loop()
        started = loop.time()
        empty = await client.post(method, json={"timeout": 30, "allowed_updates": ["message"]})
        assert empty.json() == {"ok": True, "result": []}
        assert 0.4 <= loop.time() - started < 20  # an empty queue waits, capped at max_poll (not 30 s)

        an = tg.user("An Nguyễn", language_code="vi")
        group = tg.group("Nhóm", admins=[an])
        sending = asyncio.create_task(an.send("xin chào"))
        removing = asyncio.create_task(tg.remove_bot_from_group(group, by=an))
        await asyncio.sleep(0)  # both queue their update at their first step
        assert len(server.pending) == 2
        first = (await client.post(method, data={"timeout": "2"})).json()["result"]
        assert [u["message"]["text"] for u in first] == ["xin chào"]
        await asyncio.wait_for(removing, EVENTUALLY)  # my_chat_member is not wanted: skipped, not sent
        assert not sending.done()  # fetched but not confirmed: the bot could still lose it
        again = (await client.post(f"{method}?offset={first[0]['update_id']}")).json()["result"]
        assert again == first
        later = await client.post(method, data={"offset": str(first[0]["update_id"] + 1)})
        assert later.json()["result"] == []
        await asyncio.wait_for(sending, EVENTUALLY)  # confirmed, then quiet for `settle`
        assert server.pending == [] and server.polls == 4

        waiting = asyncio.create_task(client.post(method, json={"timeout": 5}))
        while server.polls < 5:  # noqa: ASYNC110 - the server has no event to await here
            await asyncio.sleep(0.01)
        await client.post(method, json={"timeout": 0})  # a second instance polls the token
        conflict = await waiting
        assert conflict.status_code == 409 and "Conflict" in conflict.json()["description"]


async def test_an_action_nobody_polls_for_fails_with_a_helpful_message(
    tg: OfflineTelegram,
) -> None:
    async with OfflineBotAPIServer(tg, timeout=0.3) as server:
        an = tg.user("An Nguyễn")
        with pytest.raises(AssertionError, match="never called getUpdates"):
            await an.send("/start")
        assert server.url.startswith("http://127.0.0.1:")
    assert tg.server is None


def test_multipart_parser_keeps_bytes_and_escaped_names() -> None:
    request = httpx.Request(
        "POST", "http://127.0.0.1/x",
        data={"chat_id": "5", "caption": "a\r\nb"},
        files={"document": ('t\\ệp "1"\t.bin', b"--x\r\n\r\n", "application/x-test")},
    )  # fmt: skip
    body = request.read()
    fields, files = parse_multipart(body, request.headers["content-type"])
    assert fields == {"chat_id": "5", "caption": "a\r\nb"}
    assert files == {"document": ('t\\ệp "1"\t.bin', b"--x\r\n\r\n", "application/x-test")}
