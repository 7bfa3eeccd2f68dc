"""Faults, tested (issue 13 item 3): what the bot does on its bad days, through the real
Application, the offline harness and a real database (SQLite, or PostgreSQL with
`.ci/with-postgres`).

- **A restart in the middle of every conversation**: one row per typed-input step (`MIDWAYS`;
  a guard fails when a new `@on_input` step has none). The bot stops while the step waits, a
  new Application starts on the same database and the same Telegram, and the person's next
  message is taken by the saved step. (Earlier single cases: test_pledges, test_scoring,
  test_phase_handlers, test_table_handlers.)
- **The same update twice**: typed text and button presses, redelivered later and twice at
  once, are in tests/test_repeated_updates.py; a cast twice at once in tests/test_ballots.py;
  a submission in tests/test_scoring_notices.py. Here: an uploaded file, and a cast
  redelivered after its receipt.
- **30 representatives casting at the same instant**: 30 papers, none lost or doubled.
- **The database briefly unavailable** (for real: SQLite's folder taken away, the PostgreSQL
  server stopped and started): one apology that says the update is kept, nothing half-written,
  and the update handled once the database is back (handlers/retry.py).
- **kill -9 of a SQLite writer** (tests/faults_writer.py) mid-burst: the file is intact and
  every acknowledged commit is in it.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import pkgutil
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, make_url, select

from bot.i18n import _, use_locale
from bot.offline import OfflineTelegram, SimUser
from handlers import awaiting
from handlers.awaiting import INPUT_FLOW
from handlers.errors import apology, kept_apology
from storage.db import Database, is_unavailable, sqlite_file_of
from storage.models import (
    Adjustment,
    AuditLog,
    BallotMark,
    BallotPaper,
    Cluster,
    ConversationState,
    EmulationYear,
    OutboxMessage,
    Phase,
    PhaseKind,
    PledgeRevision,
    PledgeStatus,
    ScoringTable,
    Unit,
    VoterRegister,
)
from storage.people import person_by_telegram_id
from tests import test_pledges as pledges
from tests.conftest import BOT_USERNAME, make_app
from tests.faults_writer import PER_COMMIT
from tests.support import add_units, bound_cluster
from tests.test_ballots import open_flag, turnout, vote, voting
from tests.test_pledges import cast as pledge_cast
from tests.test_scoring import NAMES, sheet_values
from tests.test_scoring import world as score_world
from tests.test_table_handlers import NEW_CSV, start_replacing
from tests.test_table_handlers import stored as stored_table
from tests.test_verification import open_sheet, verification_world


@pytest.fixture
def database_url(tmp_path) -> str:
    """As in conftest, with the SQLite file in a folder of its own, which an outage can take
    away and give back."""
    return os.environ.get("THIDUA_TEST_DATABASE_URL") or (
        f"sqlite+aiosqlite:///{tmp_path / 'data' / 'thidua-test.sqlite3'}"
    )


def vi(text) -> str:
    with use_locale("vi"):
        return text() if callable(text) else _(text)


async def count(db: Database, model, *where) -> int:
    async with db.session() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def eventually(check, within: float = 10.0) -> None:
    """Wait (really: the retries run on PTB's job queue) until `await check()` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, "still not done"
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------ the database unavailable


@asynccontextmanager
async def outage(db: Database):
    """The database cannot be reached until the block ends, for real. SQLite: its folder goes
    away (as a network mount would) and the pooled connections are closed, so the next one
    fails with SQLite's own "unable to open database file". PostgreSQL: the server is stopped
    (`pg_ctl stop -m fast`, which also ends the pooled connections) and started again."""
    path = sqlite_file_of(db.url)
    if path is None:
        async with _server_stopped(db):
            yield
        return
    away = path.parent.with_name(path.parent.name + ".away")
    path.parent.rename(away)
    await db.engine.dispose()
    try:
        yield
    finally:
        away.rename(path.parent)


def _pg_ctl(url: str):
    """A function running `pg_ctl` on the throwaway server of .ci/with-postgres, started with
    the options it has now (the port, the socket, the settings), or None elsewhere."""
    data = Path(str(make_url(url).query.get("host"))) / "data"
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not (data / "postmaster.opts").is_file() or not binaries:
        return None
    argv = shlex.split((data / "postmaster.opts").read_text())
    options = shlex.join(argv[argv.index("-D") + 2 :])

    def pg(action: str) -> None:
        args = ["-m", "fast", "stop"] if action == "stop" else ["-l", str(data.parent / "log"), "-o", options, "start"]
        command = shlex.join([str(binaries[-1]), "-D", str(data), "-w", *args])
        if os.geteuid() == 0:
            command = shlex.join(["su", "postgres", "-s", "/bin/sh", "-c", command])
        subprocess.run(command, shell=True, check=True, capture_output=True, timeout=60)

    return pg


@asynccontextmanager
async def _server_stopped(db: Database):
    pg = _pg_ctl(db.url)
    if pg is None:
        pytest.skip("needs the throwaway server of .ci/with-postgres")
    await asyncio.to_thread(pg, "stop")
    try:
        yield
    finally:
        await asyncio.to_thread(pg, "start")


async def test_while_the_database_is_away_a_typed_list_is_kept_and_added_once_it_is_back(settings, db):
    tg = OfflineTelegram(bot_username=BOT_USERNAME)
    async with tg.running(make_app(settings, db, tg)):
        scene = await bound_cluster(tg, db)
        admin = scene.admin
        await admin.send("/units")
        await admin.press("➕ Thêm đơn vị")
        async with outage(db):
            await admin.send("Hội Làm vườn Việt Nam\nHội Sinh vật cảnh Việt Nam")
            assert admin.private.last.text == vi(kept_apology)
            await asyncio.sleep(1.2)  # the first retry fails too: no second apology
            assert admin.private.last.text == vi(kept_apology)
        assert await count(db, Unit) == 0  # nothing half-written
        await eventually(lambda: _units_added(db))
        await eventually(lambda: _said(admin, "Đã thêm 2 đơn vị"))
        assert await count(db, Unit) == 2 and await count(db, AuditLog, AuditLog.action == "units.add") == 1
        texts = admin.private.texts()
        assert texts.count(vi(kept_apology)) == 1 and vi(apology) not in texts
        assert len(tg.app.bot_data["retries"]) == 0
    assert tg.errors and all(is_unavailable(e) for e in tg.errors), tg.errors
    assert tg.rejections == []


async def _units_added(db) -> bool:
    return await count(db, Unit) == 2


async def _said(user, fragment: str) -> bool:
    return fragment in user.private.last.text


async def test_an_outage_longer_than_the_retries_is_logged_without_the_message_and_the_person_asked_again(
    settings, db, caplog
):
    caplog.set_level(logging.INFO)
    tg = OfflineTelegram(bot_username=BOT_USERNAME)
    async with tg.running(make_app(settings, db, tg)):
        retries = tg.app.bot_data["retries"]
        retries.first_delay, retries.give_up_after = 0.2, 0.5  # ten minutes, shortened
        scene = await bound_cluster(tg, db)
        admin = scene.admin
        await admin.send("/units")
        await admin.press("➕ Thêm đơn vị")
        async with outage(db):
            await admin.send("Hội Bí Mật Việt Nam")
            await eventually(lambda: _said(admin, vi(apology)))
        assert admin.private.texts()[-2:] == [vi(kept_apology), vi(apology)]
        assert len(retries) == 0
        await asyncio.sleep(0.3)
        assert await count(db, Unit) == 0
    given_up = [r for r in caplog.records if r.name == "thidua.retry" and r.levelname == "ERROR"]
    assert len(given_up) == 1 and "given up" in given_up[0].getMessage()
    assert "Bí Mật" not in caplog.text  # nor in any traceback: SQL parameters are hidden


# ------------------------------------------------------------------ 30 casting at once


async def test_thirty_representatives_casting_at_the_same_instant_store_thirty_papers(unthrottled, db):
    tg = unthrottled  # 30 turnout edits into one group: the limiter's 20/min is not the subject
    names = [f"Sở số {i:02d}" for i in range(1, 31)]
    w = await voting(tg, db, names)
    ballot_id = await open_flag(w)
    for i, rep in enumerate(w.reps):
        await rep.send(f"/start vote-{ballot_id}")
        await rep.press("⬜ " + names[(i + 1) % 30])  # the next unit: never its own
        await rep.press("➡️ Xem lại và bỏ phiếu")
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(BallotPaper)) == 0  # filling in stores nothing
    await asyncio.gather(*(rep.press("🗳 Bỏ phiếu") for rep in w.reps))
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(BallotPaper)) == 30
        assert await s.scalar(select(func.count()).select_from(BallotMark)) == 30
        voted = (await s.scalars(select(VoterRegister.unit_id).where(VoterRegister.ballot_id == ballot_id))).all()
        assert sorted(voted) == sorted(w.units)
        marks = (await s.scalars(select(BallotMark.candidate_unit_id))).all()
        assert sorted(marks) == sorted(w.units)  # each unit marked once: by the unit before it
    receipts = [re.findall(r"Mã phiếu của đơn vị: (\w+)", "\n".join(rep.private.texts())) for rep in w.reps]
    assert all(len(r) == 1 for r in receipts) and len({r[0] for r in receipts}) == 30
    await eventually(lambda: _turnout_says(w.scene.group, "30/30 đơn vị đã bỏ phiếu"))


async def _turnout_says(group, fragment: str) -> bool:
    return fragment in turnout(group)


# ------------------------------------------------------------------ kill -9 of a SQLite writer

WRITER = Path(__file__).with_name("faults_writer.py")


def _kill_after(url: str, round_: str, acks: int | None, seconds: float | None) -> set[int]:
    """Start the writer, SIGKILL it after `acks` acknowledged commits (or `seconds` after its
    first one, wherever it is then), and return the commits it acknowledged."""
    env = {**os.environ, "PYTHONPATH": str(WRITER.parent.parent)}
    child = subprocess.Popen([sys.executable, str(WRITER), url, round_], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    acknowledged: set[int] = set()
    try:
        first = child.stdout.readline()
        assert first.strip().isdigit(), child.stderr.read()
        acknowledged.add(int(first))
        if seconds is not None:
            time.sleep(seconds)
        else:
            while len(acknowledged) < acks:
                acknowledged.add(int(child.stdout.readline()))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        acknowledged |= {int(line) for line in child.stdout.read().split()}  # printed before death
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    return acknowledged


def _integrity(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


@pytest.mark.parametrize("kill", [{"acks": 1}, {"acks": 12}, {"acks": 40}, {"seconds": 0.05}, {"seconds": 0.3}],
                         ids=["after-1", "after-12", "after-40", "mid-burst-50ms", "mid-burst-300ms"])  # fmt: skip
async def test_a_sqlite_writer_killed_mid_burst_leaves_the_file_intact_with_every_acknowledged_write(db, kill):
    path = sqlite_file_of(db.url)
    if path is None:
        pytest.skip("SQLite's file is the subject")
    await db.dispose()
    for round_ in ("a", "b"):  # the second writer starts on the file the first was killed over
        acknowledged = await asyncio.to_thread(_kill_after, db.url, round_, **{"acks": None, "seconds": None, **kill})
        assert await asyncio.to_thread(_integrity, path) == "ok"
        async with db.session() as s:
            keys = (await s.scalars(select(OutboxMessage.dedupe_key)
                                    .where(OutboxMessage.dedupe_key.like(f"burst:{round_}:%")))).all()  # fmt: skip
        committed: dict[int, int] = {}
        for key in keys:
            n = int(key.split(":")[2])
            committed[n] = committed.get(n, 0) + 1
        assert acknowledged <= set(committed), sorted(acknowledged - set(committed))
        assert set(committed.values()) == {PER_COMMIT}  # no commit half there
        assert len(committed) - len(acknowledged) <= 1  # at most the one that was being acknowledged


# ------------------------------------------------------------------ the same update twice
# Typed text and button presses, redelivered and twice at once: tests/test_repeated_updates.py.
# A cast twice at once: tests/test_ballots.py. Here: a file, and a cast redelivered later.

TABLE_REPLACED = "✅ Đã thay bảng chấm điểm: 5 tiêu chí."


@pytest.mark.parametrize("how", ["twice at once", "again later", "twice at once, then again"])
async def test_an_uploaded_table_delivered_twice_replaces_the_table_once(tg, db, how):
    scene = await bound_cluster(tg, db)
    await start_replacing(scene)
    upload = await scene.admin.send_document(NEW_CSV, "bang-moi.csv", copies=1 if how == "again later" else 2)
    if how != "twice at once":
        await tg.redeliver(upload)
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "table.replace")) == 1
        assert await s.scalar(select(func.count()).select_from(ScoringTable)) == 1
    assert [c for c, _m, _k in await stored_table(db)] == ["1.1", "1.2", "B.1", "B.2", "D.1"]
    assert sum(TABLE_REPLACED in t for t in scene.admin.private.texts()) == 1
    await scene.admin.send("xin chào")  # the wait ended once, and stays ended
    assert TABLE_REPLACED not in scene.admin.private.last.plain


async def test_a_cast_delivered_again_after_its_receipt_stores_no_second_paper(tg, db):
    w = await voting(tg, db)
    ballot_id = await open_flag(w)
    tracker = await vote(w.reps[2], ballot_id, "⬜ Sở Tài chính")
    await tg.redeliver()  # the final press, as Telegram sends it after a lost confirmation
    await tg.redeliver(copies=2)  # and twice at once
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(BallotPaper)) == 1
        assert await s.scalar(select(func.count()).select_from(BallotMark)) == 1
        assert await s.scalar(select(func.count()).select_from(VoterRegister)) == 1
    assert sum(tracker in t for t in w.reps[2].private.texts()) == 1
    assert "1/5 đơn vị đã bỏ phiếu" in turnout(w.scene.group)


# ------------------------------------------------------------------ a restart mid-conversation
# Every step that waits for typed input (handlers/awaiting.py's `_STEPS`): the bot is stopped
# while it waits, a new Application starts on the same database (Telegram and the people stay
# as they were: the same harness), and the person's next message is taken by the saved step.


@dataclass(frozen=True)
class Midway:
    step: str
    reach: Callable[[OfflineTelegram, Database], Awaitable[tuple[SimUser, Any]]]  # who answers
    answer: Callable[[SimUser], Awaitable[Any]]  # what they send after the restart
    reply: str  # what the bot then says (part of it)
    stored: Callable[[Database, Any], Awaitable[None]]  # asserts the answer was stored
    then: str | None = None  # the step after it, for a conversation of several steps

    def __str__(self) -> str:
        return self.step


def typed(text: str) -> Callable[[SimUser], Awaitable[Any]]:
    return lambda who: who.send(text)


async def _units_add(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.send("/units")
    await scene.admin.press("➕ Thêm đơn vị")
    return scene.admin, scene


async def _units_added_named(db, scene) -> None:
    async with db.session() as s:
        assert (await s.scalars(select(Unit.name).where(Unit.cluster_id == scene.cluster_id))).all() == ["Hội A", "Hội B"]


async def _unit_rename(tg, db):
    scene = await bound_cluster(tg, db)
    await add_units(db, scene.cluster_id, ["Hội A"])
    await scene.admin.send("/units")
    await scene.admin.press("✏️ Đổi tên")
    await scene.admin.press("Hội A")
    return scene.admin, scene


async def _unit_renamed(db, scene) -> None:
    async with db.session() as s:
        assert (await s.scalars(select(Unit.name))).all() == ["Hội A Việt Nam"]


async def _setup_year(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.press("✍️ Năm khác…", chat=scene.group)
    return scene.admin, scene


async def _year_is_2017(db, scene) -> None:
    async with db.session() as s:
        assert (await s.get(EmulationYear, scene.year_id)).year == 2017


async def _setup_place(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.press("📍 Địa danh…", chat=scene.group)
    return scene.admin, scene


async def _place_is(db, scene, place: str = "Huế") -> None:
    async with db.session() as s:
        assert (await s.get(Cluster, scene.cluster_id)).settings["pledge_place"] == place


async def _phase_deadline(tg, db):
    scene = await bound_cluster(tg, db)
    await scene.admin.send("/phase")
    await scene.admin.press("▶️ Mở Đăng ký thi đua")
    await scene.admin.press("🗓 Đặt hạn chót")
    await scene.admin.press("✍️ Nhập ngày giờ")
    return scene.admin, scene


async def _deadline_set(db, scene) -> None:
    async with db.session() as s:
        phase = await s.scalar(select(Phase).where(Phase.year_id == scene.year_id, Phase.kind == PhaseKind.REGISTRATION))
        assert phase.deadline_at is not None


async def _table_upload(tg, db):
    scene = await bound_cluster(tg, db)
    await start_replacing(scene)
    return scene.admin, scene


async def _table_replaced(db, scene) -> None:
    assert [code for code, _m, _k in await stored_table(db)] == ["1.1", "1.2", "B.1", "B.2", "D.1"]


async def _pledge_settings(tg, db, which: str):
    c = await pledge_cast(tg, db)
    await c.scene.admin.send("/pledges")
    await c.scene.admin.press("⚙️ Địa danh và nội dung chung của văn bản")
    await c.scene.admin.press(which)
    return c.scene.admin, c.scene


async def _common_content_is(db, scene) -> None:
    async with db.session() as s:
        assert (await s.get(Cluster, scene.cluster_id)).settings["pledge_common_content"] == "Đoàn kết, sáng tạo."


async def _pledge_text(tg, db):
    c = await pledge_cast(tg, db)
    await c.reps[2].send("/pledge")
    await c.reps[2].press(pledges.ADD)
    return c.reps[2], c


async def _pledge_target(tg, db):
    rep, c = await _pledge_text(tg, db)
    await rep.send("Một")
    return rep, c


async def _text_kept(db, c) -> None:
    async with db.session() as s:
        person = await person_by_telegram_id(s, c.reps[2].id)
        state = await s.scalar(select(ConversationState).where(ConversationState.person_id == person.id))
        assert state.data["text"] == "Một"


async def _item_stored(db, c) -> None:
    assert await pledges.items_of(db, c.units[2]) == [("Một", Decimal(5), "lớp")]


async def _pledge_reason(tg, db):
    c = await pledge_cast(tg, db)
    await pledges.accepted_pledges(db, c.scene.year_id, [c.units[2]])
    await pledges.open_phase(c.scene, pledges.OPEN_SIGNING)
    rep = c.reps[2]
    await rep.send("/pledge")
    for label in (pledges.SIGN, pledges.AMEND, pledges.EDIT, "1", "✏️ Sửa nội dung"):
        await rep.press(label)
    await rep.send("Cam kết số một, điều chỉnh")
    return rep, c


async def _amended(db, c) -> None:
    assert (await pledges.items_of(db, c.units[2]))[0][0] == "Cam kết số một, điều chỉnh"
    async with db.session() as s:
        assert (await s.scalar(select(PledgeRevision))).reason == "Theo kết luận của Ban Thường vụ"


async def _return_comment(tg, db):
    c = await pledge_cast(tg, db)
    await pledges.register(c.reps[2], ("Một", None))
    await c.chair.press(pledges.RETURN)
    return c.chair, c


async def _returned(db, c) -> None:
    assert (await pledges.pledge_of(db, c.units[2])).status == PledgeStatus.RETURNED


async def _score_value(tg, db):
    w = await score_world(tg, db)
    await w.reps[0].send("/score")
    return w.reps[0], w


async def _score_note(tg, db):
    rep, w = await _score_value(tg, db)
    await rep.press("📝 Ghi chú")
    return rep, w


async def _entry_is(db, w, index: int = 0, value: Any = Decimal("8.5"), unit: int = 0) -> None:
    """Criterion 1.1 of the unit's sheet: (self, verified, decided, note)[index] is `value`."""
    _sheet, values = await sheet_values(db, w.units[unit])
    assert values["1.1"][index] == value


async def _verify_value(tg, db):
    w = await verification_world(tg, db)
    await open_sheet(w.reps[0], NAMES[2])
    await w.reps[0].press("✏️ Điều chỉnh")
    return w.reps[0], w


async def _verify_reason(tg, db):
    chair, w = await _verify_value(tg, db)
    await chair.send("25,5")
    return chair, w


async def _value_kept(db, w) -> None:
    async with db.session() as s:
        person = await person_by_telegram_id(s, w.reps[0].id)
        state = await s.scalar(select(ConversationState).where(ConversationState.person_id == person.id))
        assert Decimal(str(state.data["value"])) == Decimal("25.5"), state.data


async def _verify_explain(tg, db):
    chair, w = await _verify_reason(tg, db)
    await chair.send("Thiếu quyết định giao chỉ tiêu năm 2024")
    rep = w.reps[2]
    await rep.press("💬 Giải trình", message_id=rep.private.last.message_id)
    return rep, w


async def _explained(db, w) -> None:
    async with db.session() as s:
        assert (await s.scalar(select(Adjustment))).explanation.startswith("Quyết định số 12/QĐ")


async def _verify_decide(tg, db):
    rep, w = await _verify_explain(tg, db)
    await rep.send("Quyết định số 12/QĐ ngày 15/01/2024.")
    await w.reps[0].press("✍️ Mức điểm khác")
    return w.reps[0], w


MIDWAYS = [
    Midway("units_add", _units_add, typed("Hội A\nHội B"), "Đã thêm 2 đơn vị", _units_added_named),
    Midway("unit_rename", _unit_rename, typed("Hội A Việt Nam"), "Hội A Việt Nam", _unit_renamed),
    Midway("setup_year", _setup_year, typed("2017"), "năm thi đua 2017", _year_is_2017),
    Midway("setup_place", _setup_place, typed("Huế"), "Huế", _place_is),
    Midway("phase_deadline", _phase_deadline, typed("31/12/2099 17:00"),
           "Đã lưu: hạn chót của giai đoạn Đăng ký thi đua là 31/12/2099 17:00.", _deadline_set),
    Midway("table_upload", _table_upload, lambda who: who.send_document(NEW_CSV, "bang-moi.csv"),
           TABLE_REPLACED, _table_replaced),
    Midway("pledge_place", lambda tg, db: _pledge_settings(tg, db, "📍 Đổi địa danh"), typed("Đà Nẵng"),
           "Địa danh ghi trước ngày tháng: Đà Nẵng", lambda db, scene: _place_is(db, scene, "Đà Nẵng")),
    Midway("pledge_common", lambda tg, db: _pledge_settings(tg, db, "📄 Đổi nội dung chung"),
           typed("Đoàn kết, sáng tạo."), "Đoàn kết, sáng tạo.", _common_content_is),
    Midway("pledge_text", _pledge_text, typed("Một"), "Chỉ tiêu", _text_kept, then="pledge_target"),
    Midway("pledge_target", _pledge_target, typed("5 lớp"), "🎯 Chỉ tiêu: 5 lớp", _item_stored),
    Midway("pledge_reason", _pledge_reason, typed("Theo kết luận của Ban Thường vụ"),
           "Đã lưu: sửa nội dung cam kết 1.", _amended),
    Midway("pledge_return_comment", _return_comment, typed("Đề nghị bổ sung chỉ tiêu cụ thể."),
           "Đã trả lại bản đăng ký cho đơn vị kèm góp ý", _returned),
    Midway("score_value", _score_value, typed("8,5"), "✅ Đã lưu tiêu chí 1.1", _entry_is,
           then="score_value"),  # the next criterion's value
    Midway("score_note", _score_note, typed("Báo cáo tổng kết, trang 3"), "📝 Đã lưu ghi chú.",
           lambda db, w: _entry_is(db, w, index=3, value="Báo cáo tổng kết, trang 3"), then="score_value"),
    Midway("verify_value", _verify_value, typed("25,5"), "Bây giờ hãy gõ lý do điều chỉnh tiêu chí 1.1",
           _value_kept, then="verify_reason"),
    Midway("verify_reason", _verify_reason, typed("Thiếu quyết định giao chỉ tiêu năm 2024"),
           "✏️ Đã điều chỉnh tiêu chí 1.1: 28 → 25,5",
           lambda db, w: _entry_is(db, w, index=1, value=Decimal("25.5"), unit=2)),
    Midway("verify_explain", _verify_explain, typed("Quyết định số 12/QĐ ngày 15/01/2024."),
           "Đã gửi giải trình về tiêu chí 1.1", _explained),
    Midway("verify_decide", _verify_decide, typed("27"), "⚖️ Quyết định: 27",
           lambda db, w: _entry_is(db, w, index=2, value=Decimal(27), unit=2)),
]


async def _step_of(db: Database, who: SimUser) -> str | None:
    async with db.session() as s:
        person = await person_by_telegram_id(s, who.id)
        state = await s.scalar(select(ConversationState).where(
            ConversationState.person_id == person.id, ConversationState.flow == INPUT_FLOW))  # fmt: skip
        return state.step if state is not None else None


def test_every_typed_input_step_has_a_restart_row():
    """A new `@on_input` step fails here until MIDWAYS says how to stop the bot in it."""
    import handlers

    for module in pkgutil.iter_modules(handlers.__path__):  # importing registers the steps
        importlib.import_module(f"handlers.{module.name}")
    assert sorted(m.step for m in MIDWAYS) == sorted(awaiting._STEPS), "a Midway row for each step"


@pytest.mark.parametrize("midway", MIDWAYS, ids=str)
async def test_a_restart_in_the_middle_of_a_conversation_continues_from_the_saved_step(settings, db, midway):
    tg = OfflineTelegram(bot_username=BOT_USERNAME)
    async with tg.running(make_app(settings, db, tg)):
        who, kept = await midway.reach(tg, db)
        assert await _step_of(db, who) == midway.step
    # The process stops; Telegram and its chats stay. A new process starts on the same database.
    async with tg.running(make_app(settings, db, tg)):
        await midway.answer(who)
        assert midway.reply in who.private.last.plain, who.private.render_transcript()
        await midway.stored(db, kept)
        assert await _step_of(db, who) == midway.then
    assert tg.errors == [] and tg.rejections == []
