"""The outbox and its sender, through the real Application, the offline harness and a real
database: Telegram's bad days (429, network errors, timeouts, 403, 400) are injected, and the
sender's clock is moved instead of sleeping.

On PostgreSQL: `.ci/with-postgres .venv/bin/python -m pytest -q tests/test_outbox.py`.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import build_application
from bot.offline import OfflineTelegram
from bot.services.outbox import OutboxSender
from storage import outbox as store
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus, RecipientKind, UnreachableChat
from tests.conftest import BOT_USERNAME, make_app
from tests.support import bound_cluster

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def sender_of(tg: OfflineTelegram, clock: Clock) -> OutboxSender:
    """The running app's sender on the test's clock, once its start-up run is over (so what a
    test queues next is sent only when the test says)."""
    assert tg.app is not None and tg.app.job_queue is not None
    sender: OutboxSender = tg.app.bot_data["outbox"]
    sender.clock = clock
    for _ in range(500):
        if sender.runs:
            break
        await asyncio.sleep(0.01)
    assert sender.runs, "the sender did not run at start"
    return sender


async def queue(db: Database, chat_id: int, key: str, text: str, *, cluster_id: int | None = None,
                recipient: RecipientKind = RecipientKind.PERSON, at: datetime = T0) -> bool:  # fmt: skip
    async with db.session() as s:
        added = await store.enqueue(s, chat_id=chat_id, key=key, payload={"text": text},
                                    recipient=recipient, cluster_id=cluster_id, not_before=at)  # fmt: skip
        await s.commit()
        return added


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as s:
        return list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_three_429s_then_success_delivers_once_at_telegrams_retry_after(tg, db) -> None:
    clock = Clock()
    sender = await sender_of(tg, clock)
    an = tg.user("An", started=True)
    tg.fail_next("sendMessage", "retry_after", times=3, chat_id=an.id, retry_after=30)
    await queue(db, an.id, "k1", "Thông báo một")
    started = time.monotonic()
    for _ in range(3):
        await sender.run()
        [row] = await rows(db)
        assert row.status is OutboxStatus.PENDING and row.not_before == clock.now + timedelta(seconds=30)
        await sender.run()  # not due yet: nothing is tried
        assert [e for _, e in tg.injected].count("retry_after") == _ + 1
        clock.move(seconds=30)
    await sender.run()
    assert an.private.texts() == ["Thông báo một"]
    [row] = await rows(db)
    assert (row.status, row.attempts, row.sent_at) == (OutboxStatus.SENT, 4, clock.now)
    assert time.monotonic() - started < 5  # the limiter handed the 429s back; nobody slept 30 s
    await sender.run()
    assert an.private.texts() == ["Thông báo một"]


async def test_a_network_error_and_a_timeout_are_retried_with_backoff_and_deliver_once(tg, db) -> None:
    clock = Clock()
    sender = await sender_of(tg, clock)
    an = tg.user("An", started=True)
    tg.fail_next("sendMessage", "network", chat_id=an.id)
    await queue(db, an.id, "k1", "Thông báo")
    await sender.run()
    [row] = await rows(db)
    assert row.status is OutboxStatus.PENDING and row.not_before > clock.now and row.attempts == 1
    assert "injected network error" in (row.last_error or "")
    tg.fail_next("sendMessage", "timeout", chat_id=an.id)
    clock.now = row.not_before
    await sender.run()
    [row2] = await rows(db)
    assert row2.status is OutboxStatus.PENDING and row2.attempts == 2
    assert row2.not_before - clock.now > row.not_before - T0  # the second wait is longer
    assert an.private.texts() == []
    clock.now = row2.not_before
    await sender.run()
    assert an.private.texts() == ["Thông báo"]
    assert [e for _, e in tg.injected] == ["network", "timeout"]
    assert (await rows(db))[0].status is OutboxStatus.SENT


async def test_403_marks_the_recipient_tells_the_administrator_once_and_serves_the_others(tg, db) -> None:
    clock = Clock()
    scene = await bound_cluster(tg, db)
    sender = await sender_of(tg, clock)
    await sender.run()  # whatever set-up queued
    binh = tg.user("Trần Văn Bình", started=True)
    chi = tg.user("Lê Thị Chi", started=True)
    await binh.send("/start")
    await binh.block()
    admin_before = len(scene.admin.private.texts())
    for n, person in enumerate([binh, chi, binh, chi]):
        await queue(db, person.id, f"notice:{n}", f"Thông báo {n}", cluster_id=scene.cluster_id)
    await sender.run()
    assert chi.private.texts()[-2:] == ["Thông báo 1", "Thông báo 3"]
    statuses = [(r.chat_id, r.status) for r in await rows(db) if r.dedupe_key.startswith("notice:")]
    assert statuses == [(binh.id, OutboxStatus.UNREACHABLE), (chi.id, OutboxStatus.SENT)] * 2
    async with db.session() as s:
        [unreachable] = (await s.scalars(select(UnreachableChat))).all()
    assert (unreachable.chat_id, unreachable.recipient, unreachable.cluster_id) == (
        binh.id, RecipientKind.PERSON, scene.cluster_id)  # fmt: skip
    told = scene.admin.private.texts()[admin_before:]
    assert len(told) == 1 and "Trần Văn Bình" in told[0], told
    # Later messages to the same person: still marked, the administrator is not told again.
    await queue(db, binh.id, "notice:later", "Thông báo sau", cluster_id=scene.cluster_id)
    await sender.run()
    assert len(scene.admin.private.texts()) == admin_before + 1
    assert tg.rejections and {m for m, _ in tg.rejections} == {"sendMessage"}
    assert all("blocked" in d for _, d in tg.rejections)
    tg.rejections.clear()  # Telegram's 403s were the point of this test


async def test_a_400_is_parked_with_telegrams_reason_and_the_next_row_still_goes(tg, db) -> None:
    clock = Clock()
    sender = await sender_of(tg, clock)
    an = tg.user("An", started=True)
    tg.fail_next("sendMessage", "bad_request", chat_id=an.id)
    await queue(db, an.id, "bad", "Một")
    await queue(db, an.id, "good", "Hai")
    await sender.run()
    assert an.private.texts() == ["Hai"]
    bad, good = await rows(db)
    assert bad.status is OutboxStatus.PARKED and "injected failure" in (bad.last_error or "")
    assert good.status is OutboxStatus.SENT
    clock.move(days=1)
    await sender.run()
    assert an.private.texts() == ["Hai"]  # a parked row is never retried on its own


async def test_after_the_maximum_attempts_a_row_is_parked(tg, db) -> None:
    clock = Clock()
    sender = await sender_of(tg, clock)
    an = tg.user("An", started=True)
    attempts = sender.policy.max_attempts
    tg.fail_next("sendMessage", "network", times=attempts + 5, chat_id=an.id)
    await queue(db, an.id, "k", "Một")
    for _ in range(attempts + 2):
        await sender.run()
        clock.move(hours=1)
    [row] = await rows(db)
    assert (row.status, row.attempts) == (OutboxStatus.PARKED, attempts)
    assert an.private.texts() == []
    async with db.session() as s:
        assert await store.count_parked(s, cluster_id=0) == 0  # counted per cluster


async def test_the_same_idempotency_key_queued_twice_sends_one_message(tg, db) -> None:
    sender = await sender_of(tg, Clock())
    an = tg.user("An", started=True)
    assert await queue(db, an.id, "reminder:scoring:3d", "Còn 3 ngày")
    assert not await queue(db, an.id, "reminder:scoring:3d", "Còn 3 ngày")
    async with db.session() as s:  # twice in one transaction too
        assert await store.enqueue(s, chat_id=an.id, key="k2", payload={"text": "Hai"},
                                   recipient=RecipientKind.PERSON, not_before=T0)  # fmt: skip
        assert not await store.enqueue(s, chat_id=an.id, key="k2", payload={"text": "Hai"},
                                       recipient=RecipientKind.PERSON, not_before=T0)  # fmt: skip
        await s.commit()
    await sender.run()
    assert an.private.texts() == ["Còn 3 ngày", "Hai"]
    assert len(await rows(db)) == 2


async def test_a_live_message_sends_only_its_latest_content_then_edits_it(tg, db) -> None:
    sender = await sender_of(tg, Clock())
    group = tg.group("Cụm", admins=[tg.user("Quản trị")])
    group.bot_status = "member"

    async def live(text: str) -> None:
        async with db.session() as s:
            await store.enqueue_live(s, chat_id=group.id, live_key="board:1", payload={"text": text},
                                     recipient=RecipientKind.GROUP, now=T0)  # fmt: skip
            await s.commit()

    await live("Bảng ký: 0/3")
    await live("Bảng ký: 1/3")
    await sender.run()
    assert group.texts() == ["Bảng ký: 1/3"]
    await live("Bảng ký: 2/3")
    await sender.run()
    assert group.texts() == ["Bảng ký: 2/3"] and group.last.edits == ["Bảng ký: 1/3"]
    [row] = await rows(db)
    assert row.status is OutboxStatus.SENT and row.telegram_message_id == group.last.message_id
    # A group administrator deletes it: the next content is posted afresh, then edited there.
    group.last.deleted = True
    await live("Bảng ký: 3/3")
    await sender.run()
    assert group.last.text == "Bảng ký: 3/3" and group.last.message_id != row.telegram_message_id
    [row] = await rows(db)
    assert row.status is OutboxStatus.SENT and row.telegram_message_id == group.last.message_id
    tg.rejections.clear()  # the refused edit of the deleted message was the point


async def test_a_restart_with_pending_and_claimed_rows_delivers_each_once(settings, db) -> None:
    clock = Clock()
    tg = OfflineTelegram(bot_username=BOT_USERNAME)
    an = tg.user("An", started=True)
    app1 = make_app(settings, db, tg)
    async with tg.running(app1):
        sender = await sender_of(tg, clock)
        await queue(db, an.id, "a", "A")
        await sender.run()
        await queue(db, an.id, "b", "B")
        await queue(db, an.id, "c", "C")
        async with db.session() as s:  # a sender claimed b and c, then the process died
            claimed = (await store.claim_due(s, clock.now)).rows
        assert [r.dedupe_key for r in claimed] == ["b", "c"]
        await sender.run()  # the lease keeps even this instance off them
        assert an.private.texts() == ["A"]
    db2 = Database(settings.database_url)
    app2 = build_application(settings, db2, token=tg.token, request=tg.make_request(),
                             get_updates_request=tg.make_request())  # fmt: skip
    async with tg.running(app2):
        sender2 = await sender_of(tg, clock)
        clock.move(seconds=store.LEASE.total_seconds() + 1)
        await sender2.run()
        await sender2.run()
    assert an.private.texts() == ["A", "B", "C"]
    assert tg.errors == [] and tg.rejections == []


async def test_two_senders_on_one_database_never_send_twice(settings, db) -> None:
    clock = Clock()
    tg = OfflineTelegram(bot_username=BOT_USERNAME)
    people = [tg.user(f"Người {n}", started=True) for n in range(4)]
    db2 = Database(settings.database_url)
    app1 = make_app(settings, db, tg)
    app2 = build_application(settings, db2, token=tg.token, request=tg.make_request(),
                             get_updates_request=tg.make_request(), rate_limit=False)  # fmt: skip
    async with tg.running(app1):
        s1 = await sender_of(tg, clock)
        async with tg.running(app2):
            s2 = await sender_of(tg, clock)
            for n in range(40):
                await queue(db, people[n % 4].id, f"k{n}", f"Tin {n}")
            await asyncio.gather(s1.run(), s2.run(), s1.run(), s2.run())
    for n, person in enumerate(people):  # each once (the order across two instances may vary)
        assert sorted(person.private.texts()) == sorted(f"Tin {i}" for i in range(n, 40, 4))
    assert all(r.status is OutboxStatus.SENT for r in await rows(db))
    assert tg.errors == [] and tg.rejections == []


async def test_wake_sends_soon_without_waiting_for_the_repeating_job(tg, db) -> None:
    await sender_of(tg, Clock())
    an = tg.user("An", started=True)
    await queue(db, an.id, "k", "Ngay")
    tg.app.bot_data["outbox"].wake()  # what handlers/base.py does after a commit that queued rows
    for _ in range(200):
        if an.private.texts():
            break
        await asyncio.sleep(0.01)
    assert an.private.texts() == ["Ngay"]


async def test_a_slow_batch_renews_its_lease_so_a_second_instance_sends_nothing_twice(tg, db, settings) -> None:
    """One chat's rows go one after another; while the first waits (a group's 20/min limit, a
    slow network) past the lease, the rows behind it are still this sender's: each row's lease
    is renewed just before its send. (The row in flight itself is the documented window.)"""
    clock = Clock(T0)
    first = await sender_of(tg, clock)
    an = tg.user("An", started=True)
    other = OfflineTelegram(bot_username=BOT_USERNAME)
    other.chats[an.id] = an.private
    second_app = build_application(settings, db, token=other.token, request=other.make_request(),
                                   get_updates_request=other.make_request())  # fmt: skip
    async with other.running(second_app):
        second = await sender_of(other, clock)
        for i in range(3):
            await queue(db, an.id, f"k{i}", f"Tin {i}", at=clock.now)
        with tg.hold(an) as hold:
            task = asyncio.create_task(first.run())  # row 0 is in flight, and stuck
            await asyncio.wait_for(hold.reached.wait(), 5)
            clock.move(minutes=3)  # every lease of the first sender's batch ran out
            await asyncio.wait_for(second.run(), 5)  # the second instance takes the rows over
        await asyncio.wait_for(task, 5)
    texts = an.private.texts()
    # Row 0 was in Telegram's hands when its lease ran out: sent twice (the documented window).
    # Rows 1 and 2 were not yet sent: the first sender finds its lease gone and leaves them.
    assert texts.count("Tin 1") == 1 and texts.count("Tin 2") == 1, texts
    assert texts.count("Tin 0") == 2, texts


async def test_a_row_sent_right_after_its_claim_needs_no_transaction_of_its_own(tg, db) -> None:
    """A fresh lease cannot have run out: the send is not preceded by a renewal (one UPDATE and
    a COMMIT less per message), and the sent row is recorded in one statement."""
    from tests.test_session_memory import counting

    clock = Clock()
    sender = await sender_of(tg, clock)
    an = tg.user("An", started=True)
    await queue(db, an.id, "k", "Một lần")
    with counting(db) as statements:
        await sender.run()
    assert an.private.texts() == ["Một lần"]
    renewals = [s for s in statements if re.match(r"UPDATE outbox_messages SET claimed_until=[^,]* WHERE", s)]
    sent = [s for s in statements if s.startswith("UPDATE outbox_messages SET") and "status=CASE" in s]
    assert renewals == [] and len(sent) == 1, statements
    [row] = await rows(db)
    assert row.status is OutboxStatus.SENT and row.claim_token is None and row.attempts == 1


async def test_a_sent_row_clears_its_chats_unreachable_record_and_looks_for_none_when_the_claim_saw_none(tg, db) -> None:
    """The claim says which chats are recorded as unreachable: a row sent to one clears the
    record (Telegram took it), a row to any other chat runs no DELETE for it."""
    from tests.test_session_memory import counting

    clock = Clock()
    sender = await sender_of(tg, clock)
    an, binh = tg.user("An", started=True), tg.user("Bình", started=True)
    async with db.session() as s:
        s.add(UnreachableChat(chat_id=an.id, recipient=RecipientKind.PERSON, reason="blocked", since=T0))
        await s.commit()
    await queue(db, an.id, "a1", "Một")
    await queue(db, an.id, "a2", "Hai")
    await queue(db, binh.id, "b", "Ba")
    with counting(db) as statements:
        await sender.run()
    assert an.private.texts() == ["Một", "Hai"] and binh.private.texts() == ["Ba"]
    async with db.session() as s:
        assert (await s.scalars(select(UnreachableChat))).all() == []
    deletes = [q for q in statements if q.startswith("DELETE FROM unreachable_chats")]
    assert len(deletes) == 1, [q[:60] for q in statements]  # An's first row only: not An's second, not Bình's


async def test_a_secret_row_erased_while_leased_is_never_sent_even_right_after_its_claim(tg, db) -> None:
    """Closing a ballot erases its receipts still waiting, also one a sender has just claimed
    (it waits behind another message to the same person): the sender checks before sending it."""
    clock = Clock(T0)
    sender = await sender_of(tg, clock)
    an = tg.user("An", started=True)
    await queue(db, an.id, "k0", "Tin trước", at=clock.now)
    await queue(db, an.id, store.SECRET + "ballot:1:receipt", "Mã phiếu bí mật", at=clock.now)
    with tg.hold(an) as hold:
        task = asyncio.create_task(sender.run())
        await asyncio.wait_for(hold.reached.wait(), 5)  # both claimed; the first is in flight
        async with db.session() as s:
            assert await store.erase_pending_secrets(s, "ballot:1") == 1
            await s.commit()
    await asyncio.wait_for(task, 5)
    assert an.private.texts() == ["Tin trước"]
    secret = (await rows(db))[1]
    assert secret.status is OutboxStatus.PARKED and "Mã phiếu" not in str(secret.payload)


# ------------------------------------------------------------------------------ enqueue_many


def _messages(chat_ids, **extra) -> list[dict]:
    return [{"chat_id": c, "key": f"many:{c}", "payload": {"text": f"Tin {c}"}, "recipient": RecipientKind.PERSON,
             **extra} for c in chat_ids]  # fmt: skip


async def test_enqueue_many_adds_each_key_once_and_says_how_many_it_added(db, monkeypatch) -> None:
    from tests.test_session_memory import counting

    monkeypatch.setattr(store, "CHUNK", 3)  # seven rows: three statements
    batch = _messages(range(1, 8))
    async with db.session() as s:
        with counting(db) as statements:
            assert await store.enqueue_many(s, batch + batch[:2]) == 7  # a key twice in one call: once
        assert len([q for q in statements if q.startswith("INSERT INTO outbox_messages")]) == 3, statements
        assert s.info.get(store.ENQUEUED) is True
        await s.commit()
    async with db.session() as s:
        assert await store.enqueue_many(s, batch) == 0  # all queued before
        assert await store.enqueue_many(s, []) == 0
        assert store.ENQUEUED not in s.info  # nothing added: the sender has nothing to wake for
        assert await store.enqueue_many(s, _messages(range(6, 10))) == 2  # 8 and 9 only
        assert s.info.get(store.ENQUEUED) is True
        await s.commit()
    queued = await rows(db)
    assert sorted(r.chat_id for r in queued) == list(range(1, 10))
    assert [r.payload for r in queued if r.chat_id == 6] == [{"text": "Tin 6"}]  # the first one stays


async def test_enqueue_many_writes_the_row_enqueue_writes(db, monkeypatch) -> None:
    from storage.models import Cluster, OutboxKind

    monkeypatch.setattr(store, "utcnow", lambda: T0)
    async with db.session() as s:
        cluster = Cluster(name="Cụm thi đua số 3")
        s.add(cluster)
        await s.flush()
        variants = [
            {"chat_id": 11, "payload": {"text": "Một"}, "recipient": RecipientKind.PERSON},
            {"chat_id": -12, "payload": {"document": "YQ==", "filename": "a.pdf"}, "recipient": RecipientKind.GROUP,
             "cluster_id": cluster.id, "kind": OutboxKind.DOCUMENT, "not_before": T0 + timedelta(minutes=5)},
        ]  # fmt: skip
        for n, args in enumerate(variants):
            assert await store.enqueue(s, key=f"one:{n}", **args)
        assert await store.enqueue_many(s, [{"key": f"many:{n}", **args} for n, args in enumerate(variants)]) == 2
        await s.commit()
    columns = [c.key for c in OutboxMessage.__mapper__.column_attrs if c.key not in ("id", "dedupe_key")]
    by_key = {r.dedupe_key: {c: getattr(r, c) for c in columns} for r in await rows(db)}
    for n in range(len(variants)):
        assert by_key[f"many:{n}"] == by_key[f"one:{n}"]
    assert by_key["many:0"]["not_before"] == T0 and by_key["many:0"]["status"] is OutboxStatus.PENDING


async def test_a_run_that_sent_its_whole_batch_alone_does_not_claim_again(tg, db) -> None:
    """Nothing can be due for it: the empty claim after every message is saved."""
    from tests.test_session_memory import counting

    sender = await sender_of(tg, Clock())
    an = tg.user("An", started=True)
    await queue(db, an.id, "k", "Một")
    with counting(db) as statements:
        await sender.run()
    assert an.private.texts() == ["Một"]
    assert len([s for s in statements if re.search(r"UPDATE outbox_messages SET claimed_until=[^,]*, claim_token=", s)]) == 1


async def test_a_row_queued_for_a_chat_being_served_goes_when_that_run_ends(tg, db) -> None:
    """Another run skipped the busy chat; the run serving it claims again before it stops."""
    clock = Clock(T0)
    sender = await sender_of(tg, clock)
    an = tg.user("An", started=True)
    await queue(db, an.id, "k0", "Tin đầu", at=clock.now)
    with tg.hold(an) as hold:
        first = asyncio.create_task(sender.run())
        await asyncio.wait_for(hold.reached.wait(), 5)  # "Tin đầu" in flight
        await queue(db, an.id, "k1", "Tin sau", at=clock.now)
        assert await asyncio.wait_for(sender.run(), 5) == 0  # An's chat is busy: skipped
    assert await asyncio.wait_for(first, 5) == 2
    assert an.private.texts() == ["Tin đầu", "Tin sau"]
