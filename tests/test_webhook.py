"""Webhook mode and several instances: the real `python -m bot run` processes, with
TELEGRAM_WEBHOOK_URL set, behind the offline Telegram over loopback HTTP.

`bot.offline_server.OfflineBotAPIServer` answers the Bot API and, once the bot has called
setWebhook, POSTs each update to the webhook as Telegram does (JSON, the secret in
`X-Telegram-Bot-Api-Secret-Token`). Its `webhook_router` plays the load balancer in front of
two instances: odd update ids to one, even to the other, and some updates to both at once (a
redelivery that reaches the other instance). Both share one database (`db`: SQLite file, or
PostgreSQL with THIDUA_TEST_DATABASE_URL). Nothing leaves the loopback interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.offline import OfflineTelegram
from bot.offline_server import OfflineBotAPIServer
from storage.migrate import current_revision, head_revision
from storage.models import OutboxMessage, OutboxStatus, ProcessedUpdate
from tests.conftest import _reset_schema
from tests.support import BOT, add_units, bound_cluster
from tests.test_invites import invite_link
from tests.test_real_process import EVENTUALLY, LOOPBACK, STARTUP, BotProcess, until

SECRET = "webhook-secret_" + "x" * 20
PUBLIC_URL = "https://bot.example.org/telegram/hook"  # what Telegram is told; never dialled
PATH = "/telegram/hook"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_env(api_url: str, token: str, database_url: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "WEBHOOK_")) and k not in ("DATABASE_URL", "BOT_LOCALE")}  # fmt: skip
    env.update(TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_URL=api_url, DATABASE_URL=database_url,
               NO_PROXY=LOOPBACK, no_proxy=LOOPBACK, PYTHONUNBUFFERED="1", **extra)  # fmt: skip
    return env


def webhook_env(api_url: str, token: str, database_url: str, port: int, secret: str = SECRET) -> dict:
    return bot_env(api_url, token, database_url, TELEGRAM_WEBHOOK_URL=PUBLIC_URL,
                   TELEGRAM_WEBHOOK_SECRET=secret, WEBHOOK_LISTEN="127.0.0.1",
                   WEBHOOK_PORT=str(port))  # fmt: skip


@contextlib.asynccontextmanager
async def launched(workdir: Path, env: dict, *args: str) -> AsyncIterator[BotProcess]:
    """`python -m bot run` in `workdir`; killed however the test ends, and on a clean end it must
    stop on SIGINT with exit code 0 and no traceback."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    stderr_path = workdir / "stderr.txt"
    with (workdir / "stdout.txt").open("wb") as out, stderr_path.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *(args or ("run",)), cwd=workdir, env=env,
            stdin=subprocess.DEVNULL, stdout=out, stderr=err,
        )  # fmt: skip
    process = BotProcess(proc, stderr_path)
    try:
        yield process
        if proc.returncode is None:
            assert await process.stop() == 0, process.stderr
        assert "Traceback" not in process.stderr, process.stderr
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def serving(tg: OfflineTelegram, process: BotProcess, port: int, set_by: int = 1) -> None:
    """Until `set_by` processes have called setWebhook and this one listens on `port` (PTB calls
    setWebhook just before its server starts listening)."""

    def listening() -> bool:
        if process.proc.returncode is not None:
            raise AssertionError(f"the bot exited with {process.proc.returncode}: {process.stderr}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        return False

    def set_webhook_calls() -> int:
        return sum(name == "setWebhook" for name, _ in tg.calls)

    try:
        await until(lambda: set_webhook_calls() >= set_by and tg.webhook is not None and listening(),
                    "the webhook is served", STARTUP)  # fmt: skip
    except AssertionError as exc:
        calls = [name for name, _ in tg.calls]
        raise AssertionError(f"{exc}; Bot API calls: {calls}; stderr: {process.stderr}") from None


@pytest.fixture
def tg() -> OfflineTelegram:
    return OfflineTelegram(bot_username=BOT, bot_first_name="ThiĐua Bot")


@pytest.fixture
async def server(tg: OfflineTelegram) -> AsyncIterator[OfflineBotAPIServer]:
    async with OfflineBotAPIServer(tg, timeout=EVENTUALLY, settle=0.5) as srv:
        yield srv


async def post(url: str, update: dict, secret: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    async with httpx.AsyncClient(trust_env=False, timeout=EVENTUALLY) as client:
        return await client.post(url, content=json.dumps(update).encode(), headers=headers)


async def processed(db, update_id: int) -> bool:
    async with db.session() as s:
        return await s.get(ProcessedUpdate, update_id) is not None


# ------------------------------------------------------------------------------ one instance


async def test_webhook_mode_sets_the_webhook_with_its_secret_and_handles_what_is_posted(
    tmp_path, tg, server, db, settings
) -> None:
    port = free_port()
    env = webhook_env(server.url, tg.token, settings.database_url, port)
    async with launched(tmp_path / "bot", env) as bot:
        await serving(tg, bot, port)
        [(_, params)] = [c for c in tg.calls if c[0] == "setWebhook"]
        assert params["url"] == PUBLIC_URL and params["secret_token"] == SECRET
        allowed = params["allowed_updates"]
        allowed = json.loads(allowed) if isinstance(allowed, str) else allowed
        assert {"message", "callback_query", "my_chat_member", "chat_member"} <= set(allowed)
        assert "getUpdates" not in [name for name, _ in tg.calls]  # no polling in webhook mode
        server.webhook_router = lambda update: [f"http://127.0.0.1:{port}{PATH}"]  # the proxy
        an = tg.user("An Nguyễn", language_code="vi")
        await an.send("/start")
        await until(lambda: any("Xin chào, An Nguyễn!" in t for t in an.private.texts()), "the reply")
        assert server.webhook_posts[-1][2] == 200

        # The container's health check: the database is migrated and the webhook port answers.
        health = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "health", cwd=tmp_path / "bot", env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(health.communicate(), STARTUP)
        assert health.returncode == 0, (out, err)
    assert tg.rejections == [], tg.rejections


async def test_a_post_with_a_wrong_or_no_secret_is_refused_and_never_handled(
    tmp_path, tg, server, db, settings
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}{PATH}"
    async with launched(tmp_path / "bot", webhook_env(server.url, tg.token, settings.database_url, port)) as bot:
        await serving(tg, bot, port)
        mallory = tg.user("Kẻ Giả Mạo", language_code="vi", started=True)
        forged = {"update_id": 424242, "message": {
            "message_id": 1, "date": 1_700_000_000, "text": "/start",
            "chat": {"id": mallory.id, "type": "private", "first_name": mallory.name},
            "from": {"id": mallory.id, "is_bot": False, "first_name": mallory.name},
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}  # fmt: skip
        calls_before = len(tg.calls)
        for secret in ("wrong-secret_" + "y" * 20, None, ""):
            answer = await post(url, forged, secret)
            assert answer.status_code == 403, (secret, answer.status_code)
        await asyncio.sleep(1.0)  # were it handled, the reply would be on its way by now
        assert tg.calls[calls_before:] == [] and mallory.private.texts() == []
        assert not await processed(db, 424242)
        answer = await post(url, forged, SECRET)  # the same update with the right secret: handled
        assert answer.status_code == 200
        await until(lambda: any("Xin chào" in t for t in mallory.private.texts()), "the reply")
    assert await processed(db, 424242)


async def test_polling_deletes_a_webhook_left_over_before_it_polls(tmp_path, tg, server, db, settings) -> None:
    """The fake refuses getUpdates while a webhook is set (409), as Telegram does."""
    tg.webhook = {"url": PUBLIC_URL, "secret_token": SECRET, "allowed_updates": None, "max_connections": 40}
    async with launched(tmp_path / "bot", bot_env(server.url, tg.token, settings.database_url)) as bot:
        await server.wait_for_polling(within=STARTUP, process=bot.proc)
        names = [name for name, _ in tg.calls]
        assert "deleteWebhook" in names and names.index("deleteWebhook") < names.index("getUpdates")
        [(_, params)] = [c for c in tg.calls if c[0] == "deleteWebhook"]
        assert not params.get("drop_pending_updates")  # what Telegram kept for us is not thrown away
        assert tg.webhook is None
        an = tg.user("An", language_code="vi")
        await an.send("/start")
        assert "Xin chào, An!" in an.private.last.text
    assert tg.rejections == [], tg.rejections


def test_the_health_check_fails_without_a_migrated_database_or_a_listening_port(tmp_path) -> None:
    empty = f"sqlite+aiosqlite:///{tmp_path / 'never-migrated.sqlite3'}"
    env = webhook_env("http://127.0.0.1:9", "123456:OFFLINE", empty, free_port())
    done = subprocess.run([sys.executable, "-m", "bot", "health"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=STARTUP)  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "never-migrated.sqlite3").exists()  # asking created nothing
    migrate = subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=STARTUP)  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr
    done = subprocess.run([sys.executable, "-m", "bot", "health"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=STARTUP)  # fmt: skip
    assert done.returncode == 1 and str(env["WEBHOOK_PORT"]) in done.stderr, done.stderr  # nobody listens


# ------------------------------------------------------------------------- two instances


async def test_two_instances_behind_one_url_on_one_database_handle_each_update_once(
    tmp_path, tg, server, db, settings
) -> None:
    """Odd update ids go to one instance, even ones to the other; each invite's confirmation
    press is posted to both at the same instant. Every update is handled once (one reply, one
    answer to each press: the fake refuses a second), every notice queued in the outbox is sent
    once, and both instances did their share."""
    ports = free_port(), free_port()
    urls = [f"http://127.0.0.1:{p}{PATH}" for p in ports]
    to_both = False
    server.webhook_router = lambda update: urls if to_both else [urls[update["update_id"] % 2]]
    async with contextlib.AsyncExitStack() as stack:
        for n, port in enumerate(ports):
            env = webhook_env(server.url, tg.token, settings.database_url, port)
            bot = await stack.enter_async_context(launched(tmp_path / f"bot{n}", env))
            await serving(tg, bot, port, set_by=n + 1)  # each sets the same URL and secret
        assert [p["secret_token"] for name, p in tg.calls if name == "setWebhook"] == [SECRET] * 2

        scene = await bound_cluster(tg, db)
        names = ["Hội Làm vườn", "Hội Thuỷ sản", "Hội Chăn nuôi", "Hội Cây cảnh"]
        await add_units(db, scene.cluster_id, names)
        reps = []
        for n, name in enumerate(names):
            token = await invite_link(scene, name)
            rep = tg.user(f"Đại Diện {n}", language_code="vi")
            scene.group.members.append(rep)
            await rep.send(f"/start {token}")
            assert name in rep.private.last.text
            to_both = True  # Telegram redelivers the press, and the other instance gets it too
            await rep.press("✅ Đúng, xác nhận")
            to_both = False
            reps.append(rep)
        strangers = [tg.user(f"Người {n}", language_code="vi") for n in range(8)]
        await asyncio.gather(*(s.send("/start") for s in strangers))

        def notices(rep) -> int:
            return sum(rep.name in t for t in scene.group.texts())

        await until(lambda: all(notices(r) >= 1 for r in reps), "every joining told to the group")
        await asyncio.sleep(1.0)  # a doubled send would land by now

    # Each update handled once.
    for rep in reps:
        assert sum("Chào mừng" in t for t in rep.private.texts()) == 1, rep.private.render_transcript()
        assert notices(rep) == 1, scene.group.render_transcript()
    for s in strangers:
        assert sum("Xin chào" in t for t in s.private.texts()) == 1, s.private.render_transcript()
    assert tg.unanswered_queries == []
    assert tg.rejections == [], tg.rejections  # a second answer to a press would be refused
    # Nothing lost: every update posted was taken (200) and recorded as handled.
    posted = {uid for uid, _url, _code in server.webhook_posts}
    assert all(code == 200 for _uid, _url, code in server.webhook_posts)
    handled_by = Counter(url for _uid, url, _code in server.webhook_posts)
    to_each = Counter(uid for uid, _url, _code in server.webhook_posts)
    assert sum(n == 2 for n in to_each.values()) == len(reps)  # each press reached both at once
    assert handled_by[urls[0]] >= 5 and handled_by[urls[1]] >= 5, handled_by
    async with db.session() as s:
        recorded = set(await s.scalars(select(ProcessedUpdate.update_id).where(
            ProcessedUpdate.update_id.in_(posted))))  # fmt: skip
        rows = (await s.scalars(select(OutboxMessage))).all()
        joined = await s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.dedupe_key.like("invite.accepted:%")))  # fmt: skip
    # Member updates and service messages may be ignored by design; a text or a press never is.
    must = {uid for uid in posted
            if "callback_query" in tg.updates[uid] or "text" in tg.updates[uid].get("message", {})}  # fmt: skip
    assert len(must) >= 20 and must - recorded == set(), sorted(must - recorded)
    assert joined == len(reps)
    assert rows and all(r.status is OutboxStatus.SENT for r in rows), [(r.dedupe_key, r.status) for r in rows]


async def test_instances_starting_together_migrate_one_after_the_other(tmp_path, database_url) -> None:
    """Every instance migrates at start; on a fresh database two processes doing it at once
    must not both create the tables (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE).
    Without the lock, PostgreSQL deadlocks or refuses a duplicate table."""
    await _reset_schema(database_url)
    env = bot_env("http://127.0.0.1:9", "123456:OFFLINE", database_url)
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "migrate", cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]  # fmt: skip
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), STARTUP)
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert await asyncio.to_thread(current_revision, database_url) == head_revision()
