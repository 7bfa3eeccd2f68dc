"""The benchmark suite, `python -m bench` (issue 13 item 4): the real `Application`, handlers
and database behind the offline harness (bot/offline.py), never a mock.

  (a) a full cycle of a cluster (bench/cycle.py) through the bot, and the same updates
      through a bare PTB echo bot: both rates and their ratio, without and with the rate
      limiter; latency median/p95 per update type;
  (b) /tally at 30, 300 and 3,000 units, seeded through storage (bench/tally.py), and
      `bot.tally`'s pure functions alone;
  (c) one digest round over 1,000 clusters (bench/digests.py);
  (d) the run's peak RSS;
  (e) all of it on PostgreSQL: `--postgres URL` (or BENCH_DATABASE_URL), or
      `--postgres-throwaway` for a server of its own (.ci/with-postgres);
  (f) SQL statements per update type, from the cycle of (a): a `before_cursor_execute`
      listener, the updates fed one at a time so each statement belongs to one update.

It prints one table; `--write` puts it into bench/RESULTS.md (one section per backend).
`bench/updates.py` and `bench/papers.py` are the older single measurements, still runnable.
"""

from __future__ import annotations

import datetime as dt
import platform
import re
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url


@dataclass
class Config:
    units: int = 30
    # With the limiter, the bot's ~40 announcements, boards and turnout edits into the group per
    # cycle wait for Telegram's 20 a minute (3 s each past the first 20), whatever the cluster's
    # size, plus one turnout edit per cast: a 30-unit cycle takes ~5 minutes. 5 units keeps the
    # default run short; `--limited-units 30` measures the full size (0 skips it).
    limited_units: int = 5
    tally_units: tuple[int, ...] = (30, 300, 3000)
    clusters: int = 1000
    postgres: str | None = None
    sections: str = "abc"  # which of (a), (b), (c) to run; (d), (e), (f) come with them

    @classmethod
    def quick(cls) -> Config:
        return cls(units=10, limited_units=2, tally_units=(30, 300), clusters=200)

    @classmethod
    def smallest(cls) -> Config:
        """What tests/test_bench.py runs: every section, in a few seconds."""
        return cls(units=2, limited_units=0, tally_units=(5,), clusters=5)


@dataclass
class Report:
    config: Config
    backend: str = ""
    cycles: list[dict] = field(default_factory=list)  # no limiter, then with it
    tallies: list[dict] = field(default_factory=list)
    digest: dict = field(default_factory=dict)
    rss_mib: dict[str, float] = field(default_factory=dict)  # peak so far, after each section
    seconds: float = 0.0
    command: str = "python -m bench"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def check_scratch(url: str) -> None:
    name = make_url(url).database or ""
    if "bench" not in name and "test" not in name:
        raise SystemExit(f"refusing to drop the schema of database {name!r}: its name must contain "
                         "'bench' or 'test' (the suite drops and recreates `public` before each measurement)")  # fmt: skip


async def _backend(url: str) -> str:
    if not url.startswith("postgresql"):
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version} (file; sqlite3 on the loop's thread, storage/sqlite_inline.py)"
    from sqlalchemy import text

    from storage.db import Database

    db = Database(url)
    async with db.engine.connect() as conn:
        version = await conn.scalar(text("SHOW server_version"))
    await db.dispose()
    where = "unix socket" if "host=/" in url else "TCP"
    return f"PostgreSQL {version.split()[0]} ({where}, asyncpg)"


async def run(config: Config, progress: Callable[[str], None] = lambda _line: None) -> Report:
    from bench import cycle, digests, tally
    from bench.harness import database_url

    if config.postgres:
        check_scratch(config.postgres)
    report = Report(config)
    began = time.perf_counter()
    with database_url(config.postgres) as url:
        report.backend = await _backend(url)
        progress(f"bench: {report.backend}")
        for rate_limit, units in ((False, config.units), (True, config.limited_units)):
            if units <= 0 or "a" not in config.sections:
                continue
            progress(f"bench: (a) full cycle, {units} units, rate limiter {'on' if rate_limit else 'off'}")
            with database_url(config.postgres) as u:
                report.cycles.append(await cycle.both(u, units, rate_limit))
            report.rss_mib[f"(a) cycle, limiter {'on' if rate_limit else 'off'}"] = peak_rss_mib()
        for units in config.tally_units if "b" in config.sections else ():
            progress(f"bench: (b) /tally, {units} units")
            with database_url(config.postgres) as u:
                report.tallies.append(await tally.tally_at(u, units))
            report.rss_mib[f"(b) /tally {units:,}"] = peak_rss_mib()
        if "c" in config.sections:
            progress(f"bench: (c) digest round, {config.clusters} clusters")
            with database_url(config.postgres) as u:
                report.digest = await digests.digest_round(u, config.clusters)
            report.rss_mib["(c) digest round"] = peak_rss_mib()
    report.seconds = time.perf_counter() - began
    return report


# ------------------------------------------------------------------------------ the table


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    value = seconds * 1000
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def rates(c: dict) -> tuple[float, float, float]:
    bot, echo = c["updates"] / c["bot_seconds"], c["updates"] / c["echo_seconds"]
    return bot, echo, bot / echo


def render(report: Report) -> str:
    cfg = report.config
    rows: list[tuple[str, str, str, str]] = []
    for c in report.cycles:
        bot, echo, ratio = rates(c)
        limiter = "on" if c["rate_limit"] else "off"
        rows.append(("(a)", f"full cycle, {c['units']} units, rate limiter {limiter}: updates/s bot · echo · ratio",
                     f"**{bot:,.0f} · {echo:,.0f} · {ratio:.3f}** (1/{1 / ratio:,.0f})",
                     f"{c['updates']} updates; bot {c['bot_seconds']:.1f} s, echo {c['echo_seconds']:.2f} s; "
                     f"bot's calls into the group {c['group_calls']}, echo's {c['echo_group_calls']}"
                     + (f" (Telegram's 20/min makes those ≥ {max(0, c['group_calls'] - 20) * 3} s)"
                        if c["rate_limit"] else "")))  # fmt: skip
    if cfg.limited_units <= 0 and "a" in cfg.sections:
        rows.append(("(a)", "full cycle, rate limiter on", "skipped", "--limited-units 0"))
    if report.cycles:
        c = report.cycles[0]
        feed = c["bot"]
        every = [v for vs in feed.latency.values() for v in vs]
        sql = [v for vs in feed.statements.values() for v in vs]
        echo_all = [v for vs in c["echo"].latency.values() for v in vs]
        rows.append(("(a) (f)", "every update (limiter off): latency median · p95 — SQL statements median · max",
                     f"{ms(statistics.median(every))} · {ms(p95(every))} — SQL {statistics.median(sql):g} · {max(sql)}",
                     f"n={len(every)}; echo bot median {ms(statistics.median(echo_all))}; "
                     f"statements between updates {feed.between}"))  # fmt: skip
        for kind in sorted(feed.latency, key=lambda k: -len(feed.latency[k])):
            lat, st = feed.latency[kind], feed.statements[kind]
            rows.append(("(a) (f)", f"`{kind}`", f"{ms(statistics.median(lat))} · {ms(p95(lat))} — "
                         f"SQL {statistics.median(st):g} · {max(st)}", f"n={len(lat)}"))  # fmt: skip
    for t in report.tallies:
        pure = t["pure"]
        rows.append(("(b)", f"/tally, {t['units']:,} units ({t['papers']:,} papers): confirm · count press",
                     f"**{ms(t['confirm'])} · {ms(t['press'])}**",
                     f"in the press: count {ms(t['count'])}, papers built {ms(t['papers_build'])}; "
                     f"reading the inputs alone {ms(t['read_inputs'])}; pure: year_result {ms(pure['year_result'])}, "
                     f"result_record {ms(pure['result_record'])}, result_from_record {ms(pure['result_from_record'])}, "
                     f"changes {ms(pure['changes'])}"))  # fmt: skip
    if report.digest:
        d = report.digest
        (s1, q1, n1), (s2, q2, n2) = d["first"], d["second"]
        rows.append(("(c)", f"digest round, {d['clusters']:,} clusters, every digest new",
                     f"**{ms(s1)}**", f"{n1:,} outbox rows queued, {q1} SQL statements; then delivered "
                     f"{d['delivered']:,} messages through the app in {d['drain']:.1f} s (no limiter)"))  # fmt: skip
        rows.append(("(c)", f"digest round the next day, {d['changed']:,} clusters changed",
                     f"**{ms(s2)}**", f"{n2:,} outbox rows queued, {q2} SQL statements"))  # fmt: skip
    if report.rss_mib:
        rows.append(("(d)", "peak RSS of the run", f"**{max(report.rss_mib.values()):,.0f} MiB**",
                     "; ".join(f"after {k}: {v:,.0f}" for k, v in report.rss_mib.items())))  # fmt: skip
    head = (f"Backend: {report.backend}. Python {platform.python_version()}, {_cores()} cores. "
            f"Sections {cfg.sections}; sizes: cycle {cfg.units} units (limiter on: {cfg.limited_units}), /tally "
            f"{', '.join(f'{n:,}' for n in cfg.tally_units)}, digest {cfg.clusters:,} clusters. "
            f"Whole run {report.seconds:.0f} s.")  # fmt: skip
    lines = [head, "", "| § | measurement | result | detail |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def write_results(path: Path, report: Report, table: str) -> Path:
    """Replace (or add) this backend's section of RESULTS.md, between its two markers."""
    key = "postgresql" if report.backend.startswith("PostgreSQL") else "sqlite"
    start, end = f"<!-- bench:{key}:start -->", f"<!-- bench:{key}:end -->"
    body = (f"{start}\n### {report.backend.split(' (')[0]}\n\n`{report.command}` — "
            f"{dt.date.today().isoformat()}\n\n{table}\n{end}")  # fmt: skip
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if start in text and end in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _m: body, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    path.write_text(text, encoding="utf-8")
    return path
