"""The benchmark suite (`python -m bench`) runs end to end at its smallest sizes: every
section is measured through the real bot and lands in the table, with numbers that make sense.
Speed itself is never asserted here (bench/RESULTS.md holds the numbers)."""

from __future__ import annotations

import re

from bench import Config, render, run, write_results


async def test_the_smallest_benchmark_measures_every_section_and_writes_the_table(tmp_path, database_url):
    config = Config.smallest()
    config.postgres = database_url if database_url.startswith("postgresql") else None
    report = await run(config)

    [cycle] = report.cycles  # the limiter's run is skipped at this size
    assert cycle["updates"] > 50 and cycle["echo"].count == cycle["updates"]
    assert cycle["bot_seconds"] > 0 and cycle["echo_seconds"] > 0
    feed = cycle["bot"]
    for kind in ("/start <arg>", "/pledge", "/score", "/verify", "/tally", "document", "typed text", "button tl"):
        assert feed.latency[kind] and min(feed.latency[kind]) > 0, kind
    assert all(n > 0 for n in feed.statements["/pledge"])  # the listener counted the update's statements
    [tally] = report.tallies
    assert tally["papers"] == 5 and tally["summary_sent"] and tally["count"] > 0 and tally["press"] >= tally["count"]
    digest = report.digest
    assert digest["first"][2] == 5 and digest["delivered"] == 5 and digest["second"][2] == 1

    table = render(report)
    ratio = re.search(r"rate limiter off: updates/s bot · echo · ratio \| \*\*([\d,]+) · ([\d,]+) · ([\d.]+)\*\*", table)
    assert ratio, table
    bot, echo, share = (float(g.replace(",", "")) for g in ratio.groups())
    assert bot > 0 and echo > 0 and 0 < share < 1  # the echo bot does nothing, so it is faster
    for section in ("| (a) |", "| (a) (f) | `/pledge` |", "| (b) | /tally, 5 units", "| (c) | digest round",
                    "| (d) | peak RSS", "rate limiter on | skipped"):
        assert section in table, section
    assert 50 < max(report.rss_mib.values()) < 4096

    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nReading written by hand.\n", encoding="utf-8")
    write_results(results, report, table)
    write_results(results, report, table)  # refreshed in place, not appended twice
    text = results.read_text(encoding="utf-8")
    assert text.count("<!-- bench:") == 2 and "Reading written by hand." in text and table in text


async def test_the_breakdown_splits_the_cycle_into_parts_that_fit_in_it():
    from bench.breakdown import breakdown

    r = await breakdown(2)
    orm, api = r["SQLAlchemy session calls"], r["Bot API calls"]
    assert r["updates"] > 50 and r["echo"] > 0
    assert 0 < orm < r["bot"] and 0 < api < r["bot"]
    assert orm + api < r["bot"]  # outermost calls only: nothing counted twice
    assert 0 < r["echo api"] < r["echo"]


async def test_the_sites_name_our_code_and_fit_in_the_cycle():
    from bench.sites import sites

    total, seconds, calls = await sites(2)
    assert total > 0 and seconds and set(seconds) == set(calls)
    assert any(key.startswith("commit handlers/base.py:") for key in seconds)  # every update's commit
    assert any(" storage/people.py:person_by_telegram_id:" in key for key in seconds)
    outermost = sum(v for k, v in seconds.items() if k.split()[0] in ("execute", "get", "flush", "commit"))
    assert 0 < outermost < 2 * total  # the nested ones at most twice
