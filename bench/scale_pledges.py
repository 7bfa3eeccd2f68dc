"""How the conclusion of signing grows with the cluster (`bench/scale_scene.py`): every unit's
pledge accepted with three commitments, the signing phase open, all units but the last two
signed and a tenth of them since withdrawn from the cluster (inactive: the document still
lists them). Then, in a transaction of its own each, timed:

- `sign`: one more signature (not the last), as the group's button makes it: the pledge
  signed, the group's signing message queued again;

- `document_of`: what the pledge document is built from (read at the conclusion and again
  for /pledges' "the document");
- `finalize_signing`: the conclusion itself — the audit entry with who signed and who did
  not, the final signing message, the document queued for the group and the secretariat.
  The .docx build is left out here (replaced by a stub: `bench/papers.py` measures it, in
  its worker thread), so what is timed is the service's own work. Rolled back after each run.

Each is reported as wall time and as the CPU time the process spent (steadier on a shared
machine).

    .venv/bin/python bench/scale_pledges.py --units 300 3000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_scene import analyze, backend_url, cluster_scene  # noqa: E402
from sqlalchemy import update  # noqa: E402

from bot import pledge_document  # noqa: E402
from bot.services import phases as phase_service  # noqa: E402
from bot.services import pledges as service  # noqa: E402
from bot.services.actors import Actor  # noqa: E402
from storage.models import Cluster, EmulationYear, PhaseKind, Pledge, PledgeItem, PledgeStatus, Unit  # noqa: E402


async def measure(units: int, rounds: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    async with cluster_scene(units, reps=1, until=None, states=False) as scene:
        now = dt.datetime.now(dt.UTC)
        async with scene.db.session() as s:
            for i, unit_id in enumerate(scene.unit_ids):
                last = i >= len(scene.unit_ids) - 2
                s.add(Pledge(
                    year_id=scene.year_id, unit_id=unit_id,
                    status=PledgeStatus.ACCEPTED if last else PledgeStatus.SIGNED,
                    signed_at=None if last else now,
                    items=[PledgeItem(position=n, text=f"Cam kết {n} của đơn vị {i + 1}") for n in (1, 2, 3)],
                ))  # fmt: skip
            await s.execute(update(Unit).where(Unit.id.in_(scene.unit_ids[1::10])).values(active=False))
            await s.commit()
        await analyze(scene.db)
        pledge_document.render = lambda _doc: b"docx"  # measured in bench/papers.py
        signer = Actor(person_id=None, cluster_id=scene.cluster_id, roles=frozenset({"representative"}),
                       unit_ids=frozenset({scene.unit_ids[-2]}))  # fmt: skip
        async with scene.db.session() as s:
            admin = Actor(person_id=None, cluster_id=scene.cluster_id, roles=frozenset({"admin"}),
                          unit_ids=frozenset())  # fmt: skip
            for kind in (PhaseKind.REGISTRATION, PhaseKind.SIGNING):
                await phase_service.open_phase(s, admin, scene.year_id, kind)
            await s.commit()
        for _round in range(rounds):
            async with scene.db.session() as s:
                started, cpu = time.perf_counter(), time.process_time()
                result = await service.sign(s, signer)
                results.setdefault("sign", []).append(time.perf_counter() - started)
                results.setdefault("sign cpu", []).append(time.process_time() - cpu)
                assert result.outcome is None and result.pledge.status == PledgeStatus.SIGNED
                await s.rollback()
            async with scene.db.session() as s:
                cluster = await s.get(Cluster, scene.cluster_id)
                year = await s.get(EmulationYear, scene.year_id)
                started, cpu = time.perf_counter(), time.process_time()
                outcome = await service.finalize_signing(s, scene.year_id, now)
                results.setdefault("finalize_signing", []).append(time.perf_counter() - started)
                results.setdefault("finalize_signing cpu", []).append(time.process_time() - cpu)
                assert outcome is not None and outcome.signed == outcome.total - 2, outcome
                started, cpu = time.perf_counter(), time.process_time()
                doc = await service.document_of(s, cluster, year)
                results.setdefault("document_of", []).append(time.perf_counter() - started)
                results.setdefault("document_of cpu", []).append(time.process_time() - cpu)
                assert doc is not None and len(doc.units) == units, len(doc.units)
                await s.rollback()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[300, 3000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"backend={backend_url('').split(':', 1)[0]} rounds={args.rounds}")
    for units in args.units:
        for what, times in asyncio.run(measure(units, args.rounds)).items():
            print(f"  units={units:5}  {what:21}  median {statistics.median(times) * 1000:8.1f} ms"
                  f"  max {max(times) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
