"""Where the 30-unit cycle's time goes: inside SQLAlchemy's session calls, inside Bot API
calls (PTB building the request, the offline harness answering it), and the rest (our rules,
rendering, PTB's dispatch). A reading aid for the ratio in bench/RESULTS.md, not a
measurement of its own: the wrappers add a little time, and nested calls are counted once.

    .venv/bin/python -m bench.breakdown            # SQLite, 30 units (~40 s)
    .venv/bin/python -m bench.breakdown --units 10
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import telegram
from sqlalchemy.orm import Session

from bench import cycle
from bench.harness import database_url

_SESSION_CALLS = ("_execute_internal", "flush", "get", "commit", "rollback", "close")


class Stopwatch:
    """Seconds spent in wrapped calls, outermost call only (a `get` that executes is one)."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._depth = 0
        self._undo: list[Callable[[], None]] = []

    def wrap_sync(self, owner: type, name: str, label: str) -> None:
        original = getattr(owner, name)
        watch = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            watch._depth += 1
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                watch._depth -= 1
                if watch._depth == 0:
                    watch.seconds[label] += time.perf_counter() - started
                    watch.calls[label] += 1

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))

    def wrap_async(self, owner: type, name: str, label: str) -> None:
        original = getattr(owner, name)
        watch = self

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                watch.seconds[label] += time.perf_counter() - started
                watch.calls[label] += 1

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))

    def undo(self) -> None:
        while self._undo:
            self._undo.pop()()


async def breakdown(units: int) -> dict[str, float]:
    watch = Stopwatch()
    for name in _SESSION_CALLS:
        watch.wrap_sync(Session, name, "SQLAlchemy session calls")
    watch.wrap_async(telegram.Bot, "_post", "Bot API calls")
    try:
        with database_url(None) as url:
            feed, seconds, _group = await cycle.bot_cycle(url, units, rate_limit=False)
        bot = dict(watch.seconds)
        watch.seconds.clear()
        _echo_feed, echo_seconds, _ = await cycle.echo_cycle(feed.payloads, rate_limit=False)
        echo_api = watch.seconds["Bot API calls"]
    finally:
        watch.undo()
    return {"updates": feed.count, "bot": seconds, "echo": echo_seconds, "echo api": echo_api, **bot}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=30)
    args = parser.parse_args()
    r = asyncio.run(breakdown(args.units))
    bot, n = r["bot"], r["updates"]
    orm, api = r.get("SQLAlchemy session calls", 0.0), r.get("Bot API calls", 0.0)
    print(f"{n} updates. bot {bot:.2f} s ({1000 * bot / n:.1f} ms an update); echo {r['echo']:.2f} s "
          f"({1000 * r['echo'] / n:.2f} ms; its Bot API calls {r['echo api']:.2f} s); ratio {r['echo'] / bot:.3f}")  # fmt: skip
    for label, value in (("in SQLAlchemy session calls", orm), ("in Bot API calls", api),
                         ("the rest (rules, rendering, PTB)", bot - orm - api)):  # fmt: skip
        print(f"  {label:34} {value:6.2f} s  {100 * value / bot:4.0f}%  {1000 * value / n:5.2f} ms an update")
    print(f"  0.1x the echo bot would be {10 * r['echo']:.2f} s ({10000 * r['echo'] / n:.2f} ms an update)")


if __name__ == "__main__":
    main()
