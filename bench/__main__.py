"""`python -m bench`: the benchmark suite (issue 13 item 4). See bench/__init__.py."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import subprocess
import sys
from pathlib import Path

from bench import Config, render, run, write_results

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m bench", description=(
        "Measure the real bot through the offline harness: a full cycle against a bare echo bot, "
        "/tally at scale, a digest round, peak RSS and SQL statements per update."))  # fmt: skip
    parser.add_argument("--units", type=int, help="units in the full cycle (default 30)")
    parser.add_argument("--tally-units", help="comma-separated sizes for /tally (default 30,300,3000)")
    parser.add_argument("--clusters", type=int, help="clusters in the digest round (default 1000)")
    parser.add_argument("--limited-units", type=int,
                        help="units in the cycle run with the rate limiter (default: as --units)")
    parser.add_argument("--sections", default="abc", help="which of a, b, c to run (default abc)")
    parser.add_argument("--quick", action="store_true", help="a 1-2 minute smoke run (smaller sizes)")
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="run on PostgreSQL (postgresql+asyncpg://...; also BENCH_DATABASE_URL). "
                             "Its public schema is DROPPED before each measurement: a scratch database "
                             "only (its name must contain 'bench' or 'test')")  # fmt: skip
    parser.add_argument("--postgres-throwaway", action="store_true",
                        help="start a throwaway PostgreSQL server for the run (.ci/with-postgres)")
    parser.add_argument("--write", action="store_true", help="refresh this backend's section of bench/RESULTS.md")
    args = parser.parse_args(argv)

    if args.postgres_throwaway:
        rest = [a for a in argv if a != "--postgres-throwaway"]
        inner = 'BENCH_DATABASE_URL="$THIDUA_TEST_DATABASE_URL" exec "$@"'
        command = [str(ROOT / ".ci" / "with-postgres"), "sh", "-c", inner, "sh", sys.executable, "-m", "bench", *rest]
        env = {**os.environ, "BENCH_COMMAND": os.environ.get("BENCH_COMMAND", "python -m bench " + shlex.join(argv))}
        return subprocess.run(command, cwd=ROOT, env=env).returncode

    config = Config.quick() if args.quick else Config()
    if args.units:
        config.units = args.units
        config.limited_units = args.units
    if args.limited_units:
        config.limited_units = args.limited_units
    if args.tally_units:
        config.tally_units = tuple(int(n) for n in args.tally_units.split(","))
    if args.clusters:
        config.clusters = args.clusters
    config.postgres = args.postgres or None
    config.sections = args.sections
    report = asyncio.run(run(config, progress=lambda line: print(line, file=sys.stderr, flush=True)))
    report.command = os.environ.get("BENCH_COMMAND") or "python -m bench " + shlex.join(argv)
    table = render(report)
    print(table)
    if args.write:
        path = write_results(ROOT / "bench" / "RESULTS.md", report, table)
        print(f"written: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
