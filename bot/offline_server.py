"""The offline Telegram over real HTTP: a Bot API server on 127.0.0.1 for `python -m bot`.

`bot.offline.OfflineTelegram` answers PTB in-process. This module puts the same fake (the same
state, the same rules, the same `OfflineTelegram.dispatch`) behind a loopback HTTP listener, so
the bot can run as its own process, exactly as an operator starts it, with
`TELEGRAM_API_URL=<server.url>`:

    tg = OfflineTelegram(bot_username="ThiDuaBot")
    async with OfflineBotAPIServer(tg) as server:     # listens on an ephemeral port
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env={
            ..., "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_URL": server.url})
        await server.wait_for_polling(process=proc)   # getMe, setMyCommands, ... getUpdates
        alice = tg.user("An Nguyễn", language_code="vi")
        await alice.send("/start")                    # queued for getUpdates; returns when the
        assert "Xin chào" in alice.private.last.text  # bot has taken it and gone quiet

What the wire looks like (what PTB's httpx transport sends):
  * `POST /bot<token>/<method>` with an `application/x-www-form-urlencoded` body (PTB 22 sends
    its parameters as a form: strings as they are, everything else JSON-encoded), or
    `multipart/form-data` when files are uploaded; `application/json` bodies and query-string
    parameters are understood too (other clients, curl). Form values are decoded back to what
    PTB meant: JSON numbers, booleans, objects and arrays are parsed, except in fields that are
    always strings (text, caption, file_id, ...).
  * `GET /file/bot<token>/<file_path>` downloads what getFile named.
  * A path without this fake's token answers 401 Unauthorized (PTB raises InvalidToken).
  * An injected "network" or "timeout" failure (`tg.fail_next`) closes the connection without
    an answer, which PTB reports as a NetworkError.

Long polling follows Telegram: `getUpdates` returns the queued updates whose id is >= `offset`
(a call with `offset` confirms and forgets everything before it), at most `limit`, only the
kinds in the last `allowed_updates` (by default all but chat_member, message_reaction and
message_reaction_count), waiting up to `timeout` seconds (capped at `max_poll`) while there are
none. A newer getUpdates call ends a waiting older one with 409 Conflict, as Telegram does when
two instances poll one token.

Webhooks follow Telegram too: after setWebhook (see `OfflineTelegram.webhook`) getUpdates is
refused with 409, and each update is POSTed as JSON to the webhook URL with the secret in
`X-Telegram-Bot-Api-Secret-Token`; the bot's 200 counts as taking it. `webhook_router` plays a
load balancer in front of several instances: it maps an update to the URLs it is posted to
(more than one: the same update at the same instant to each, as a redelivery after a timeout
may reach another instance). Every post is kept in `webhook_posts`.

Simulated users (`SimUser.send`, `press`, `send_document`, `tg.add_bot_to_group`, ...) work
unchanged while the server serves: instead of `app.process_update`, each update is queued and
the call returns once the bot has confirmed it (its next getUpdates moved the offset past it)
and then made no Bot API call for `settle` seconds. If that does not happen within `timeout`
seconds, an AssertionError says what the bot did (or did not do). Handler exceptions happen in
the bot's process, so `tg.errors` stays empty in this mode: read the process's stderr instead.
`tg.rejections`, `tg.calls`, the transcripts and every other record work as in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import deque
from collections.abc import Callable
from email.message import Message
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
from telegram.error import NetworkError, TimedOut

from bot.offline import OfflineTelegram, _as_int, _Reject

__all__ = ["OfflineBotAPIServer"]

# Telegram sends these kinds only when asked to by name in allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Form fields that are always strings, even when they look like JSON ("2024", "[x]", "true").
_STRING_FIELDS = frozenset({
    "text", "caption", "parse_mode", "description", "short_description", "name", "title",
    "url", "file_id", "callback_query_id", "inline_message_id", "language_code", "emoji",
    "question", "action", "query", "custom_title", "invite_link", "secret_token", "ip_address",
    "business_connection_id", "message_effect_id", "sticker_set_name", "document", "photo",
    "audio", "video", "voice", "animation", "sticker", "thumbnail", "video_note",
})  # fmt: skip
_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
_MAX_HEADER = 64 * 1024
_MAX_BODY = 60 * 1024 * 1024  # above the 50 MB a bot may upload, so that limit is the fake's


class _BadRequestLine(Exception):
    pass


class _HangUp(Exception):
    """Close the connection without answering (an injected network failure)."""


# ------------------------------------------------------------------------- request parsing


def decode_fields(fields: dict[str, str]) -> dict[str, Any]:
    """Form fields as PTB meant them: it JSON-encodes every non-string parameter."""
    params: dict[str, Any] = {}
    for key, raw in fields.items():
        value: Any = raw
        if key not in _STRING_FIELDS:
            with contextlib.suppress(ValueError):
                decoded = json.loads(raw, parse_constant=_no_constant)
                if not isinstance(decoded, str):
                    value = decoded
        params[key] = value
    return params


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN / Infinity are not Bot API values


def _header_params(value: str) -> Message:
    """A MIME header value with parameters (Content-Type, Content-Disposition), parsed."""
    msg = Message()
    msg["content-type"] = value
    return msg


def _disposition_param(disposition: str, key: str) -> str | None:
    """`name` / `filename` of a form-data part, as httpx writes it: UTF-8, inside quotes, with
    `"` as %22, backslash doubled and control characters %-escaped (the HTML5 form rules)."""
    extended = re.search(rf";\s*{key}\*\s*=\s*([^;]+)", disposition, re.IGNORECASE)
    if extended:  # RFC 5987: filename*=utf-8''%E1%BB%87...
        charset, _lang, value = extended[1].strip().strip('"').split("'", 2)
        return unquote(value, encoding=charset or "utf-8")
    quoted = re.search(rf';\s*{key}\s*=\s*"((?:[^"\\]|\\.)*)"', disposition, re.IGNORECASE)
    if quoted:
        value = re.sub(r"\\(.)", r"\1", quoted[1])
        return re.sub(r"%(22|[01][0-9A-F])", lambda m: chr(int(m[1], 16)), value)
    bare = re.search(rf";\s*{key}\s*=\s*([^;\s]+)", disposition, re.IGNORECASE)
    return bare[1] if bare else None


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, tuple]]:
    """A multipart/form-data body: (text fields, files as {field: (filename, bytes, MIME type)}),
    the shape `RequestData.multipart_data` has in-process."""
    boundary = _header_params(content_type).get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise ValueError("multipart/form-data without a boundary")
    fields: dict[str, str] = {}
    files: dict[str, tuple] = {}
    # Each delimiter is CRLF "--" boundary; the CRLF before it belongs to it, not to the data.
    chunks = (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))
    if len(chunks) < 2:
        raise ValueError("multipart body without its boundary")
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("multipart part without a blank line after its headers")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        field = _disposition_param(disposition, "name")
        if field is None:
            raise ValueError(f"multipart part without a name: {disposition!r}")
        filename = _disposition_param(disposition, "filename")
        if filename is None:
            fields[field] = data.decode("utf-8")
        else:
            mime = headers.get("content-type") or "application/octet-stream"
            files[field] = (filename, data, mime)
    return fields, files


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict, bytes] | None:
    """One HTTP/1.1 request: (method, target, lower-cased headers, body); None at a clean EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise _BadRequestLine("truncated request") from None
    except asyncio.LimitOverrunError:
        raise _BadRequestLine("request headers too large") from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequestLine(f"bad request line {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
            if len(body) > _MAX_BODY:
                raise _BadRequestLine("request body too large")
        return parts[0].upper(), parts[1], headers, bytes(body)
    length = int(headers.get("content-length") or 0)
    if length > _MAX_BODY:
        raise _BadRequestLine("request body too large")
    body = await reader.readexactly(length) if length else b""
    return parts[0].upper(), parts[1], headers, body


def _params_of(query: str, headers: dict, body: bytes) -> tuple[dict[str, Any], dict[str, tuple]]:
    """The Bot API parameters of a request, from its query string and its body."""
    params = decode_fields(dict(parse_qsl(query, keep_blank_values=True)))
    files: dict[str, tuple] = {}
    ctype = headers.get("content-type", "")
    kind = ctype.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        data = json.loads(body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("the JSON body must be an object")
        params.update(data)
    elif kind == "multipart/form-data":
        fields, files = parse_multipart(body, ctype)
        params.update(decode_fields(fields))
    elif body:  # application/x-www-form-urlencoded, or no type at all
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        params.update(decode_fields(fields))
    return params, files


# -------------------------------------------------------------------------------- the server


class OfflineBotAPIServer:
    """`tg`'s Bot API on http://127.0.0.1:<port> (see the module docstring).

    `max_poll` caps a getUpdates wait; `settle` is how long the bot must make no Bot API call
    before a simulated action counts as handled; `timeout` bounds each wait of a simulated
    action (for the bot to take the update, then for it to go quiet)."""

    def __init__(self, tg: OfflineTelegram, host: str = "127.0.0.1", port: int = 0, *,
                 max_poll: float = 2.0, settle: float = 0.25,
                 timeout: float = 10.0) -> None:  # fmt: skip
        self.tg, self.host, self.port = tg, host, port
        self.max_poll, self.settle, self.timeout = max_poll, settle, timeout
        self.pending: list[dict] = []  # queued updates the bot has not confirmed yet
        self.delivered: list[dict] = []  # every update queued, in order
        self.allowed_updates: frozenset[str] | None = None  # None: Telegram's default
        self.polls = 0  # getUpdates calls so far
        self.unauthorized = 0  # requests with a wrong token
        self.requests: list[tuple[str, int]] = []  # (method or file path, HTTP status), polls aside
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self._outcome: dict[int, str] = {}  # update_id -> taken | skipped | dropped
        self._fetched_at: dict[int, float] = {}
        self._last_poll: float | None = None
        self._poll_generation = 0
        self._busy = 0  # Bot API calls in flight, getUpdates aside
        self._last_activity = 0.0
        self._recent: deque[str] = deque(maxlen=8)
        self._changed = asyncio.Event()
        # Webhook mode: where an update is posted (default: the URL setWebhook gave), and what
        # each post got back: (update_id, URL, HTTP status or 0 when the connection failed).
        self.webhook_router: Callable[[dict], list[str]] | None = None
        self.webhook_posts: list[tuple[int, str, int]] = []

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """What to put in TELEGRAM_API_URL."""
        assert self._server is not None, "start the server first: `async with server:`"
        return f"http://{self.host}:{self.port}"

    @property
    def serving(self) -> bool:
        return self._server is not None

    async def start(self) -> OfflineBotAPIServer:
        if self._server is not None:
            return self
        if self.tg.server is not None:
            raise RuntimeError(f"{self.tg!r} is already served by {self.tg.server!r}")
        self._server = await asyncio.start_server(self._serve, self.host, self.port,
                                                  limit=_MAX_HEADER)  # fmt: skip
        self.port = self._server.sockets[0].getsockname()[1]
        self.tg.server = self
        return self

    async def stop(self) -> None:
        """Stop listening, drop every open connection (a waiting getUpdates included)."""
        server, self._server = self._server, None
        if server is None:
            return
        if self.tg.server is self:
            self.tg.server = None
        self._wake()
        server.close()
        for task, writer in list(self._connections.items()):
            writer.close()
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()

    async def __aenter__(self) -> OfflineBotAPIServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"OfflineBotAPIServer({where}, {len(self.pending)} pending)"

    # ------------------------------------------------------------------ what tests await

    async def wait_for_polling(self, within: float | None = None,
                               process: Any = None) -> None:  # fmt: skip
        """Until the bot's first getUpdates (it has run getMe, post_init, ... by then). With
        `process` (a subprocess.Popen or asyncio Process), fail at once if it exits first."""
        loop = asyncio.get_running_loop()
        limit = self.timeout if within is None else within
        deadline = loop.time() + limit
        while self.polls == 0:
            code = _returncode(process)
            if code is not None:
                raise AssertionError(
                    f"the bot process exited with code {code} before it polled {self.url}"
                    f"{self._recent_calls()}"
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"the bot did not call getUpdates on {self.url} within {limit:g} s; is it "
                    f"running with TELEGRAM_API_URL={self.url}?{self._recent_calls()}"
                )
            await self._wait(min(remaining, 0.05))

    async def deliver(self, update: dict) -> None:
        """Queue one update (called by `OfflineTelegram._deliver` while serving) and wait until
        the bot has confirmed it and gone quiet."""
        uid = update["update_id"]
        self.delivered.append(update)
        loop = asyncio.get_running_loop()
        if self.tg.webhook is not None:
            await self._post_to_webhook(update)
        else:
            self.pending.append(update)
            self._wake()
        deadline = loop.time() + self.timeout
        while uid not in self._outcome:
            if self._server is None:
                raise AssertionError(f"the server stopped before the bot took {_describe(update)}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._not_taken(update))
            await self._wait(remaining)
        if self._outcome[uid] != "taken":
            return  # not for this bot (allowed_updates) or dropped (drop_pending_updates)
        deadline = loop.time() + self.timeout
        while True:
            now = loop.time()
            idle_for = now - max(self._last_activity, self._fetched_at.get(uid, 0.0))
            if self._busy == 0 and idle_for >= self.settle:
                return
            if now >= deadline:
                raise AssertionError(
                    f"the bot took {_describe(update)} but was still calling the Bot API "
                    f"{self.timeout:g} s later{self._recent_calls()}"
                )
            wait = self.settle - idle_for if self._busy == 0 else self.settle
            await self._wait(max(min(wait, deadline - now), 0.005))

    async def _post_to_webhook(self, update: dict) -> None:
        """POST `update` to the webhook (each URL of `webhook_router`, at once), as Telegram
        does; an answer other than 200 fails the test (Telegram would retry, and the bot
        would be broken for real)."""
        uid = update["update_id"]
        if not self._wanted(update):
            self._outcome[uid] = "skipped"
            return
        hook = self.tg.webhook
        assert hook is not None
        targets = self.webhook_router(update) if self.webhook_router else [hook["url"]]
        headers = {"Content-Type": "application/json"}
        if hook["secret_token"] is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        body = json.dumps(update).encode()
        async with httpx.AsyncClient(trust_env=False, timeout=self.timeout) as client:
            answers = await asyncio.gather(
                *(client.post(url, content=body, headers=headers) for url in targets),
                return_exceptions=True,
            )
        statuses = [a.status_code if isinstance(a, httpx.Response) else 0 for a in answers]
        self.webhook_posts.extend((uid, url, code) for url, code in zip(targets, statuses, strict=True))
        if any(code != 200 for code in statuses):
            failed = [f"{url} → {code or answer!r}" for url, code, answer
                      in zip(targets, statuses, answers, strict=True) if code != 200]  # fmt: skip
            raise AssertionError(f"the bot's webhook did not take {_describe(update)}: {failed}")
        self._fetched_at.setdefault(uid, asyncio.get_running_loop().time())
        self._outcome[uid] = "taken"

    def drop_pending(self) -> None:
        """deleteWebhook(drop_pending_updates=True): forget what is queued."""
        for update in self.pending:
            self._outcome[update["update_id"]] = "dropped"
        self.pending.clear()
        self._wake()

    # ------------------------------------------------------------------ getUpdates

    async def get_updates(self, p: dict) -> list:
        """The getUpdates method while serving (called through `OfflineTelegram.dispatch`)."""
        loop = asyncio.get_running_loop()
        self._poll_generation += 1
        mine = self._poll_generation
        self.polls += 1
        self._last_poll = loop.time()
        allowed = p.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        if allowed is not None:
            self.allowed_updates = frozenset(allowed) or None
        self._confirm(_as_int(p.get("offset")))
        self._wake()  # an older poll ends with 409; deliver() sees the confirmation
        limit = min(max(_as_int(p.get("limit")) or 100, 1), 100)
        deadline = loop.time() + min(max(float(p.get("timeout") or 0), 0.0), self.max_poll)
        while True:
            if mine != self._poll_generation:
                raise _Reject(409, _CONFLICT, record=False)
            ready = self._ready()[:limit]
            remaining = deadline - loop.time()
            if ready or remaining <= 0 or self._server is None:
                now = loop.time()
                for update in ready:
                    self._fetched_at.setdefault(update["update_id"], now)
                return ready
            await self._wait(remaining)

    def _confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset < 0:  # the last -offset updates; all the others are forgotten
            keep = self.pending[offset:]
            gone = self.pending[: len(self.pending) - len(keep)]
        else:
            keep = [u for u in self.pending if u["update_id"] >= offset]
            gone = [u for u in self.pending if u["update_id"] < offset]
        for update in gone:
            self._outcome.setdefault(update["update_id"], "taken")
        self.pending = keep

    def _ready(self) -> list[dict]:
        """Pending updates of the kinds the bot wants; the others are skipped, as Telegram
        never sends them."""
        ready = []
        for update in list(self.pending):
            if self._wanted(update):
                ready.append(update)
            else:
                self.pending.remove(update)
                self._outcome[update["update_id"]] = "skipped"
        return ready

    def _wanted(self, update: dict) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        if self.allowed_updates is None:
            return kind not in _OPT_IN_UPDATES
        return kind in self.allowed_updates

    # ------------------------------------------------------------------ HTTP

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        try:
            while True:
                try:
                    request = await _read_request(reader)
                except _BadRequestLine as exc:
                    await self._send(writer, 400, str(exc).encode(), "text/plain", close=True)
                    return
                if request is None:
                    return
                method, target, headers, body = request
                status, payload, ctype = await self._answer(method, target, headers, body)
                close = headers.get("connection", "").lower() == "close"
                await self._send(writer, status, payload, ctype, close, head=method == "HEAD")
                if close:
                    return
        except (_HangUp, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, status: int, body: bytes, ctype: str,
                    close: bool, head: bool = False) -> None:  # fmt: skip
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        lines = [
            f"HTTP/1.1 {status} {reason}",
            "Server: offline-telegram-bot-api",
            f"Content-Type: {ctype}",
            f"Content-Length: {len(body)}",
            f"Connection: {'close' if close else 'keep-alive'}",
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else body))
        await writer.drain()

    async def _answer(self, http_method: str, target: str, headers: dict,
                      body: bytes) -> tuple[int, bytes, str]:  # fmt: skip
        split = urlsplit(target)
        route = self.tg.route(unquote(split.path))
        if route is None:
            self.unauthorized += 1
            self._note(split.path.rsplit("/", 1)[-1] + " (wrong token)", 401)
            status, payload = _Reject(401, "Unauthorized").response()
            return status, payload, "application/json"
        is_file, name = route
        if is_file:
            status, payload = (
                self.tg.download(name)
                if http_method in ("GET", "HEAD")
                else _Reject(405, "Method Not Allowed").response()
            )
            self._note(f"file {name}", status)
            ctype = "application/octet-stream" if status == 200 else "application/json"
            return status, payload, ctype
        try:
            params, files = _params_of(split.query, headers, body)
        except (ValueError, UnicodeDecodeError) as exc:
            status, payload = _Reject(400, f"Bad Request: can't parse request: {exc}").response()
            return status, payload, "application/json"
        polling = name.lower() == "getupdates"
        loop = asyncio.get_running_loop()
        if not polling:
            self._busy += 1
            self._last_activity = loop.time()
        try:
            status, payload = await self.tg.dispatch(name, params, files)
        except (NetworkError, TimedOut) as exc:  # tg.fail_next: no answer at all
            self._note(f"{name} (connection dropped: {exc})", 0)
            raise _HangUp from exc
        finally:
            if not polling:
                self._busy -= 1
                self._last_activity = loop.time()
                self._wake()
        if not polling:
            self._note(name, status)
        return status, payload, "application/json"

    # ------------------------------------------------------------------ bookkeeping

    def _note(self, what: str, status: int) -> None:
        self.requests.append((what, status))
        self._recent.append(f"{what} → {status}" if status else what)

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(self, seconds: float) -> None:
        """Until something changes (a request, an update, a stop) or `seconds` pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    def _recent_calls(self) -> str:
        if not self._recent:
            return "; it has made no Bot API call"
        return "; its last calls: " + ", ".join(self._recent)

    def _not_taken(self, update: dict) -> str:
        loop = asyncio.get_running_loop()
        if self._last_poll is None:
            why = "it never called getUpdates"
        else:
            ago = loop.time() - self._last_poll
            why = f"its last getUpdates was {ago:.1f} s ago ({self.polls} so far)"
            if update in self.pending and update["update_id"] in self._fetched_at:
                why += ", it fetched the update but never confirmed it with a higher offset"
        if self.unauthorized:
            why += f"; {self.unauthorized} request(s) came with a wrong token"
        return (
            f"the bot did not take {_describe(update)} from {self.url} within "
            f"{self.timeout:g} s: {why}{self._recent_calls()}"
        )


def _describe(update: dict) -> str:
    kind = next((k for k in update if k != "update_id"), "?")
    body = update.get(kind) or {}
    what = body.get("text") or body.get("data") or body.get("caption") or ""
    return f"update #{update['update_id']} ({kind}{' ' + repr(what) if what else ''})"


def _returncode(process: Any) -> int | None:
    if process is None:
        return None
    poll = getattr(process, "poll", None)  # subprocess.Popen
    return poll() if callable(poll) else process.returncode  # asyncio.subprocess.Process
