"""How a representative's ballot screens grow with the cluster (`bench/scale_scene.py`: the
voting phase open, one ballot half cast; here its first 90 units made its candidates, a
paper's most). Per update, in private: `/ballot` (the open ballots with their turnout and
the representative's units still to vote) and the vote link `/start vote-<ballot>` (the
representative's units, whether each voted, then the paper). The median and p95 time from
the send until the bot's last Bot API call returned, the median CPU time the process spent on
it, the SQL statements and the messages sent. Nothing is cast: a cast rewrites every paper of
the ballot, the secrecy's price (storage/ballots.py), and would change the scene.

    .venv/bin/python bench/scale_ballots.py --units 30 3000 --rounds 30
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
from sqlalchemy import select  # noqa: E402

from bot.callbacks import PAPER_SIZE  # noqa: E402
from storage.models import Ballot, BallotCandidate  # noqa: E402


async def measure(units: int, rounds: int) -> dict[str, tuple[list[float], list[float], int, int]]:
    results = {}
    async with cluster_scene(units, reps=2) as scene:
        async with scene.db.session() as s:
            ballot_id = await s.scalar(select(Ballot.id).where(Ballot.year_id == scene.year_id))
            s.add_all(BallotCandidate(ballot_id=ballot_id, unit_id=u, position=i)
                      for i, u in enumerate(scene.unit_ids[:PAPER_SIZE]))  # fmt: skip
            await s.commit()
        rep = scene.reps[1]  # the second unit: issued a paper, not cast (the scene casts every other)
        for what, text in (("/ballot", "/ballot"), ("vote link", f"/start vote-{ballot_id}")):
            times, cpu = [], []
            for _round in range(rounds + 2):
                sent = len(rep.private.bot_messages())
                before = scene.statements[0]
                started, started_cpu = time.perf_counter(), time.process_time()
                await rep.send(text)
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
                statements = scene.statements[0] - before
                messages = len(rep.private.bot_messages()) - sent
            results[what] = (times[2:], cpu[2:], statements, messages)  # the first two warm the caches
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[30, 3000])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    print(f"backend={backend_url('').split(':', 1)[0]} rounds={args.rounds}")
    for units in args.units:
        for what, (times, cpu, statements, messages) in asyncio.run(measure(units, args.rounds)).items():
            q = statistics.quantiles(times, n=20)
            print(f"  units={units:5}  {what:10}  median {statistics.median(times) * 1000:7.1f} ms"
                  f"  p95 {q[18] * 1000:7.1f} ms  cpu {statistics.median(cpu) * 1000:7.1f} ms"
                  f"  {statements:3} SQL  {messages} message(s)")


if __name__ == "__main__":
    main()
