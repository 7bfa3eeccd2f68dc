"""How /status grows with the cluster: a representative's and the chair's, in private, at
several cluster sizes (`bench/scale_scene.py`: every step has units in every state, the voting
phase open, one ballot half cast; `--phase scoring`: open up to scoring, where the chair's
/status also asks whether "remind now" is to be shown). Per update: the median and p95 time from the send until the
bot's last Bot API call returned, the median CPU time the process spent on it (steadier than
the wall clock on a shared machine), the SQL statements, and the messages sent.

    .venv/bin/python bench/scale_status.py --units 30 3000 --rounds 30 [--phase scoring]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_scene import backend_url, cluster_scene  # noqa: E402

from storage.models import EmulationYear, PhaseKind  # noqa: E402


async def measure(units: int, rounds: int, until: PhaseKind = PhaseKind.VOTING,
                  ) -> dict[str, tuple[list[float], list[float], int, int]]:  # fmt: skip
    results = {}
    async with cluster_scene(units, reps=2, until=until) as scene:
        async with scene.db.session() as s:
            year = await s.get(EmulationYear, scene.year_id)
            year.chair_unit_id = scene.unit_ids[0]  # the first representative is the chair's
            await s.commit()
        chair, rep = scene.reps
        for who, user in (("representative", rep), ("chair", chair)):
            times, cpu = [], []
            for _round in range(rounds + 2):
                sent = len(user.private.bot_messages())
                before = scene.statements[0]
                started, started_cpu = time.perf_counter(), time.process_time()
                await user.send("/status")
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
                statements = scene.statements[0] - before
                messages = len(user.private.bot_messages()) - sent
            results[who] = (times[2:], cpu[2:], statements, messages)  # the first two warm the caches
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[30, 3000])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--phase", choices=["voting", "scoring"], default="voting", help="the phase open")
    args = parser.parse_args()
    until = PhaseKind(args.phase)
    print(f"backend={backend_url('').split(':', 1)[0]} rounds={args.rounds} phase={args.phase}")
    for units in args.units:
        for who, (times, cpu, statements, messages) in asyncio.run(measure(units, args.rounds, until)).items():
            q = statistics.quantiles(times, n=20)
            print(f"  units={units:5}  {who:14}  median {statistics.median(times) * 1000:7.1f} ms"
                  f"  p95 {q[18] * 1000:7.1f} ms  cpu {statistics.median(cpu) * 1000:7.1f} ms"
                  f"  {statements:3} SQL  {messages} message(s)")


if __name__ == "__main__":
    main()
