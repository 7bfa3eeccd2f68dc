"""Concurrent update processing that keeps each chat's and each person's updates in order.

PTB processes updates one at a time by default, so a private `/start` waits behind whatever a
busy group's update is doing. `SimpleUpdateProcessor` (``concurrent_updates=True``) fixes that
but loses order: a person's two quick messages could be handled the wrong way round, and a
typed answer could overtake the button press that asked for it.

`KeyedUpdateProcessor` runs updates concurrently across chats, and in arrival order within a
chat and within a person (an update waits for every earlier update that shares its chat **or**
its sender). It takes its place in each key's line synchronously, when PTB hands the update
over, so arrival order is the order of the line; an update only ever waits for earlier ones,
so there is no deadlock. No Telegram API is called here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def keys_of(update: object) -> tuple[Hashable, ...]:
    """What an update must stay in order with: its chat and the person who sent it."""
    if not isinstance(update, Update):
        return ("other",)  # not from Telegram (custom updates): keep them in one line
    keys: list[Hashable] = []
    if update.effective_chat is not None:
        keys.append(("chat", update.effective_chat.id))
    if update.effective_user is not None:
        keys.append(("user", update.effective_user.id))
    return tuple(keys) or ("other",)


class KeyedUpdateProcessor(BaseUpdateProcessor):
    """Concurrency across chats and people, order within each (see the module docstring)."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._tails: dict[Hashable, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        keys = keys_of(update)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        # Synchronous until the first await: the line is joined in arrival order.
        before = {id(f): f for f in (self._tails.get(k) for k in keys) if f is not None}
        for key in keys:
            self._tails[key] = done
        started = False
        try:
            for earlier in before.values():
                await asyncio.shield(earlier)
            started = True
            await coroutine
        finally:
            if not started and asyncio.iscoroutine(coroutine):
                coroutine.close()  # cancelled while waiting its turn: never run, never warned
            done.set_result(None)
            for key in keys:
                if self._tails.get(key) is done:
                    del self._tails[key]  # the line is empty: forget the key

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pending = list({id(f): f for f in self._tails.values()}.values())
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    @property
    def waiting_keys(self) -> int:
        """How many chats/people have an update in progress (for tests and bench)."""
        return len(self._tails)
