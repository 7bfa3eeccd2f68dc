"""The update processor: concurrent across chats and people, in order within each."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Update

from bot.update_processor import KeyedUpdateProcessor, keys_of

GROUP = -1001


def update(update_id: int, chat: int, user: int) -> Update:
    chat_type = "private" if chat > 0 else "supergroup"
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": chat, "type": chat_type, "title": "g"},
                "from": {"id": user, "is_bot": False, "first_name": "u"},
                "text": "x",
            },
        },
        None,
    )


class Recorder:
    """Coroutines that log their start and end, and can be held until released."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    def job(self, name: str, hold: bool = False):
        gate = self.gates.setdefault(name, asyncio.Event())
        if not hold:
            gate.set()

        async def run() -> None:
            self.log.append(f"start {name}")
            await gate.wait()
            self.log.append(f"end {name}")

        return run()


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.mark.parametrize(
    ("first", "second", "ordered"),
    [
        ((GROUP, 1), (GROUP, 2), True),  # one group, two people: in order
        ((1, 1), (GROUP, 1), True),  # one person, private then group: in order
        ((1, 1), (2, 2), False),  # two people in private: concurrent
        ((GROUP, 1), (2, 2), False),  # a busy group does not hold a stranger's /start
    ],
)
async def test_order_within_a_chat_or_person_concurrency_across(first, second, ordered):
    processor = KeyedUpdateProcessor()
    rec = Recorder()
    a = asyncio.create_task(processor.process_update(update(1, *first), rec.job("a", hold=True)))
    b = asyncio.create_task(processor.process_update(update(2, *second), rec.job("b")))
    await settle()
    if ordered:
        assert rec.log == ["start a"]  # b waits for a
    else:
        assert rec.log == ["start a", "start b", "end b"]  # b done while a is held
    rec.gates["a"].set()
    await asyncio.gather(a, b)
    assert sorted(rec.log) == ["end a", "end b", "start a", "start b"]
    assert processor.waiting_keys == 0


async def test_an_update_waits_for_every_earlier_one_sharing_a_key():
    processor = KeyedUpdateProcessor()
    rec = Recorder()
    tasks = [
        asyncio.create_task(processor.process_update(update(1, GROUP, 1), rec.job("group", hold=True))),
        asyncio.create_task(processor.process_update(update(2, 2, 2), rec.job("other", hold=True))),
        # person 2 writes in the group: after both the group's update and their own
        asyncio.create_task(processor.process_update(update(3, GROUP, 2), rec.job("both"))),
    ]
    await settle()
    rec.gates["group"].set()
    await settle()
    assert "start both" not in rec.log
    rec.gates["other"].set()
    await asyncio.gather(*tasks)
    assert rec.log.index("start both") > max(rec.log.index("end group"), rec.log.index("end other"))


async def test_a_persons_quick_messages_keep_their_order_under_load():
    processor = KeyedUpdateProcessor()
    rec = Recorder()
    tasks = [
        asyncio.create_task(processor.process_update(update(i, 1 + i % 3, 1 + i % 3), rec.job(str(i))))
        for i in range(30)
    ]
    await asyncio.gather(*tasks)
    for person in range(3):
        mine = [int(e.split()[1]) for e in rec.log if e.startswith("start") and int(e.split()[1]) % 3 == person]
        assert mine == sorted(mine)


async def test_a_failing_update_does_not_block_the_next():
    processor = KeyedUpdateProcessor()

    async def boom() -> None:
        raise RuntimeError("handler bug")

    rec = Recorder()
    with pytest.raises(RuntimeError):
        await processor.process_update(update(1, 1, 1), boom())
    await processor.process_update(update(2, 1, 1), rec.job("next"))
    assert rec.log == ["start next", "end next"]


async def test_cancelled_while_waiting_never_runs_and_releases_its_place():
    processor = KeyedUpdateProcessor()
    rec = Recorder()
    first = asyncio.create_task(processor.process_update(update(1, 1, 1), rec.job("a", hold=True)))
    waiting = asyncio.create_task(processor.process_update(update(2, 1, 1), rec.job("b")))
    await settle()
    waiting.cancel()
    rec.gates["a"].set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert rec.log == ["start a", "end a"]
    assert processor.waiting_keys == 0


def test_keys_are_the_chat_and_the_sender():
    assert keys_of(update(1, GROUP, 7)) == (("chat", GROUP), ("user", 7))
    assert keys_of(object()) == ("other",)
