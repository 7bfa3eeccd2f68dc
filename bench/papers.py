"""How long the official files take to build, and how long they hold up every other chat.

For a cluster of `--units` units it builds the signed pledge (.docx), the score table (.xlsx)
and the result chart (.png), each twice: on the event loop (what the bot did before issue 11)
and in a worker thread with `asyncio.to_thread` (what it does now). Meanwhile a ticker on the
loop wakes every millisecond; the longest gap between two ticks is how long a chat's update
would have waited. Reported per file: build time, and the loop's longest stall each way.

    .venv/bin/python bench/papers.py --units 300
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import pledge_document  # noqa: E402
from bot.papers import chart  # noqa: E402
from bot.pledges import Item, Target  # noqa: E402
from bot.score_export import UnitRow, scores_xlsx  # noqa: E402
from bot.scoring import Line  # noqa: E402
from bot.scoring_table import DEFAULT_TABLE  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def pledge(units: int) -> bytes:
    items = tuple(Item(None, f"Hoàn thành chỉ tiêu số {i} của năm", Target(Decimal(50 + i), "hội viên"))
                  for i in range(5))  # fmt: skip
    at = dt.datetime(2026, 3, 2, 9, tzinfo=TZ)
    doc = pledge_document.PledgeDocument(
        cluster_name="Cụm thi đua số 3", year=2026, place="Hà Nội", date=at.date(),
        common_content="Thi đua hoàn thành xuất sắc nhiệm vụ chính trị được giao.\n" * 5, tz=TZ,
        units=tuple(pledge_document.UnitPledge(f"Sở Tư pháp tỉnh số {n}", items, f"Đại diện {n}", at)
                    for n in range(units)),
    )  # fmt: skip
    return pledge_document.render(doc)


def table(units: int) -> bytes:
    spec = DEFAULT_TABLE
    rows = [UnitRow(f"Sở Tư pháp tỉnh số {n}", "Đã thẩm định",
                    tuple(Line(c.group, c.code, c.kind, c.max_points, min(Decimal(5), c.max_points),
                               min(Decimal(5), c.max_points)) for c in spec.criteria))
            for n in range(units)]  # fmt: skip
    return scores_xlsx("BẢNG TỔNG HỢP ĐIỂM", spec.criteria, spec.bonus_cap, rows)


def picture(units: int) -> bytes:
    bars = tuple(chart.UnitBar(f"Sở Tư pháp tỉnh số {n}", Decimal(95) - Decimal(n) / 10, Fraction(n % 9, 9), n == 0)
                 for n in range(units))  # fmt: skip
    return chart.png(chart.ResultChart(2026, "Cụm thi đua số 3", bars, "Cờ thi đua", Fraction(1, 2)))


async def longest_stall(work) -> tuple[float, float]:
    """(seconds the work took, longest gap between the ticker's wake-ups, in seconds)."""
    done = asyncio.Event()
    gaps = [0.0]

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    start = time.perf_counter()
    await work()
    took = time.perf_counter() - start
    done.set()
    await tick
    return took, max(gaps)


async def main(units: int) -> None:
    print(f"{units} units; build time · longest stall of the event loop (ms)")
    print("| file | on the loop: build · stall | in a thread: build · stall |")
    print("|---|---|---|")
    for name, build in (("pledge .docx", pledge), ("score table .xlsx", table), ("chart .png", picture)):
        build(3)  # warm the imports

        async def inline(build=build) -> None:
            build(units)

        async def threaded(build=build) -> None:
            await asyncio.to_thread(build, units)

        a, b = await longest_stall(inline)
        c, d = await longest_stall(threaded)
        print(f"| {name} | {a * 1000:.0f} · {b * 1000:.0f} | {c * 1000:.0f} · {d * 1000:.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=300)
    asyncio.run(main(parser.parse_args().units))
