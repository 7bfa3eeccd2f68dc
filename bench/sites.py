"""Where the 30-unit cycle's database time goes, by our calling site: the seconds spent in
each `AsyncSession` call (execute, get, flush, commit...), grouped by the innermost frame of
our code (bot/, handlers/, storage/) that made it. A reading aid beside `bench.breakdown`,
not a measurement of its own: the wrapper adds a little time, and a call made inside another
wrapped call (`scalars` runs `execute`) is counted in both.

    .venv/bin/python -m bench.sites              # SQLite, 30 units (~30 s)
    .venv/bin/python -m bench.sites --top 20 --units 10
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bench import cycle
from bench.harness import database_url

_CALLS = ("execute", "scalar", "scalars", "get", "flush", "commit", "rollback", "close")
_OURS = ("bot", "handlers", "storage")


def _site(root: str) -> str:
    """The innermost frame of our code below the wrapper: `path:function:line`."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(root):
            relative = path[len(root):]
            if relative.split("/", 1)[0] in _OURS:
                return f"{relative}:{frame.f_code.co_name}:{frame.f_lineno}"
        frame = frame.f_back
    return "(elsewhere)"


async def sites(units: int) -> tuple[float, Counter[str], Counter[str]]:
    """(the cycle's seconds, seconds by "call site", calls by "call site")."""
    import bot

    root = bot.__file__.rsplit("/bot/", 1)[0] + "/"
    seconds: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    originals = {name: getattr(AsyncSession, name) for name in _CALLS}

    def wrapped(name: str, original: Any) -> Any:
        async def timed(self: AsyncSession, *args: Any, **kwargs: Any) -> Any:
            key = f"{name} {_site(root)}"
            started = time.perf_counter()
            try:
                return await original(self, *args, **kwargs)
            finally:
                seconds[key] += time.perf_counter() - started
                calls[key] += 1

        return timed

    for name, original in originals.items():
        setattr(AsyncSession, name, wrapped(name, original))
    try:
        with database_url(None) as url:
            _feed, cycle_seconds, _group = await cycle.bot_cycle(url, units, rate_limit=False)
    finally:
        for name, original in originals.items():
            setattr(AsyncSession, name, original)
    return cycle_seconds, seconds, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=30)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    total, seconds, calls = asyncio.run(sites(args.units))
    print(f"cycle {total:.2f} s; in session calls (nested ones counted twice) {sum(seconds.values()):.2f} s")
    print(f"{'seconds':>8} {'calls':>6} {'each':>8}  call and site")
    for key, value in seconds.most_common(args.top):
        print(f"{value:8.3f} {calls[key]:6d} {1000 * value / calls[key]:6.2f}ms  {key}")


if __name__ == "__main__":
    main()
