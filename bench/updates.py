"""How fast the bot handles updates: the real Application and handlers, the offline harness,
a real database file (or PostgreSQL with BENCH_DATABASE_URL=postgresql+asyncpg://...).

A cluster of `--units` units is set up (a representative each), then every representative
sends `/start`, `/status` and `/units` `--rounds` times. It reports updates per second and
latency percentiles per command. `--rate-limit` keeps Telegram's flood limits in (then the
limiter's waiting dominates, as it would in production for bursts into one group).

    .venv/bin/python bench/updates.py --units 30 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bot.app import build_application  # noqa: E402
from bot.offline import OfflineTelegram  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade_async  # noqa: E402
from storage.models import Cluster, RoleAssignment, Unit  # noqa: E402
from storage.people import upsert_person  # noqa: E402


async def run(units: int, rounds: int, rate_limit: bool, url: str) -> dict[str, list[float]]:
    await upgrade_async(url)
    settings = Settings.from_env({"DATABASE_URL": url}, dotenv=None)
    db = Database(url)
    tg = OfflineTelegram(bot_username="ThiDuaBot")
    app = build_application(
        settings, db, token=tg.token, request=tg.make_request(),
        get_updates_request=tg.make_request(), rate_limit=rate_limit,
    )
    timings: dict[str, list[float]] = {}
    async with tg.running(app):
        admin = tg.user("Quản trị", language_code="vi")
        await admin.send("/start")
        group = tg.group(f"Cụm bench {time.time_ns()}", admins=[admin])
        await tg.add_bot_to_group(group, by=admin)
        await admin.send("/setup@ThiDuaBot", chat=group)
        reps = []
        async with db.session() as s:
            cluster = await s.scalar(select(Cluster).where(Cluster.telegram_chat_id == group.id))
            for i in range(units):
                unit = Unit(cluster_id=cluster.id, name=f"Đơn vị thành viên số {i + 1}", position=i)
                s.add(unit)
                await s.flush()
                user = tg.user(f"Đại diện {i + 1}", language_code="vi")
                person = await upsert_person(s, telegram_user_id=user.id, full_name=user.name,
                                             username=None, language_code="vi")
                s.add(RoleAssignment(cluster_id=cluster.id, person_id=person.id,
                                     role="representative", unit_id=unit.id))
                reps.append(user)
            await s.commit()
        for _round in range(rounds):
            for rep in reps:
                for command in ("/start", "/status", "/units"):
                    started = time.perf_counter()
                    await rep.send(command)
                    timings.setdefault(command, []).append(time.perf_counter() - started)
    assert not tg.errors and not tg.rejections, (tg.errors, tg.rejections)
    await db.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate-limit", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        started = time.perf_counter()
        timings = asyncio.run(run(args.units, args.rounds, args.rate_limit, url))
        elapsed = time.perf_counter() - started
    total = sum(len(v) for v in timings.values())
    backend = url.split(":", 1)[0]
    print(f"backend={backend} units={args.units} rounds={args.rounds} rate_limit={args.rate_limit}")
    print(f"{total} updates in {elapsed:.2f} s (set-up included): {total / elapsed:.0f} updates/s")
    for command, values in timings.items():
        q = statistics.quantiles(values, n=100)
        print(f"  {command:8} n={len(values):4}  median {statistics.median(values) * 1000:6.1f} ms"
              f"  p95 {q[94] * 1000:6.1f} ms  max {max(values) * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
