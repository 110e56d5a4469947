"""`python -m benchmark streams --streams N [--repeat R] [--json] [--db PATH] [--cold]`,
`python -m benchmark swaps --orders N [--repeat R] [--json]`
and `python -m benchmark stats --swaps N [--repeat R] [--upkeep K] [--json]`.

`streams` seeds N open streams (benchmark/seed.py), then times a new stream and a balance read in
process and a new stream through the rollup HTTP loop (benchmark/run.py), against the DESIGN.md
targets. `--cold` measures with the database dropped from the OS page cache (benchmark/run.py
says why the page cache is set on purpose). `swaps` places N live stream swaps on one pair
through the handler, then times an instant swap, a new stream, a balance and a pair read in
process (benchmark/swaps.py). `stats` seeds N swaps over 40 pairs, then times every market
statistics route and the cost per swap of keeping the statistics (benchmark/stats.py).
`--json` prints one line for scripts and the README; otherwise a table, with a progress bar on
stderr while seeding or placing (it takes minutes at the top sizes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmark import stats
from benchmark.run import MIN_REPEAT, measure_streams
from benchmark.swaps import ORDERS_PER_TRADER, measure_swaps

# (result key, label, target): DESIGN.md "Targets"
TIMED = (
    ("new_stream_ms", "new stream, in process", 1.0),
    ("balance_ms", "balance read, in process", 1.0),
    ("http_new_stream_ms", "new stream, HTTP loop", 5.0),
)
# (result key, label, target or None): DESIGN.md "Targets"; a pair read has none of its own
SWAPS_TIMED: tuple[tuple[str, str, float | None], ...] = (
    ("instant_swap_ms", "instant swap, no orders", 1.0),
    ("instant_swap_trader_with_orders_ms", f"instant swap, {ORDERS_PER_TRADER} own orders", 1.0),
    ("new_stream_ms", "new stream", 1.0),
    ("balance_ms", "balance read, live orders", 1.0),
    ("pair_ms", "pair read", None),
)
RSS_MIB = 64  # targets of the application's peak memory and disk per open stream
DISK_BYTES = 200


class ProgressBar:
    """A one-line bar on stderr, redrawn in place as chunks of streams (or orders) are written."""

    def __init__(
        self, total: int, width: int = 30, *, verb: str = "seeding", unit: str = "streams"
    ) -> None:
        self.total = total
        self.width = width
        self.verb = verb
        self.unit = unit
        self.started = time.perf_counter()

    def __call__(self, done: int) -> None:
        filled = self.width * done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.perf_counter() - self.started
        print(
            f"\r{self.verb} [{bar}] {100 * done // self.total:3d}%  {done:,} / {self.total:,}"
            f" {self.unit}"
            f"  {elapsed:.0f} s",
            end="\n" if done >= self.total else "",
            file=sys.stderr,
            flush=True,
        )


def table(result: dict[str, Any], repeat: int, cold: bool) -> str:
    """The human report: one row per timed measure, then memory and disk, each with its target."""
    lines = [
        f"{result['streams']:,} open streams (seeded in {result['seed_seconds']} s), "
        f"{repeat} repetitions each, database {'dropped from' if cold else 'in'} the page cache",
        f"{'measure (ms)':<28}{'median':>9}{'p95':>9}{'min':>9}{'max':>9}   target",
    ]
    for key, label, target in TIMED:
        ms = result[key]
        verdict = "ok" if ms["median"] <= target else "MISSED"
        lines.append(
            f"{label:<28}{ms['median']:>9.3f}{ms['p95']:>9.3f}{ms['min']:>9.3f}{ms['max']:>9.3f}"
            f"   median ≤ {target:g} ms: {verdict}"
        )
    rss, disk = result["rss_mib"], result["db_bytes_per_stream"]
    for label, value, bound, met in (
        ("peak RSS of python -m dapp", f"{rss:.1f} MiB", f"≤ {RSS_MIB} MiB", rss <= RSS_MIB),
        ("database per stream", f"{disk:.1f} B", f"≤ {DISK_BYTES} B", disk <= DISK_BYTES),
    ):
        lines.append(f"{label:<28}{value:>9}{'':>27}   {bound}: {'ok' if met else 'MISSED'}")
    return "\n".join(lines)


def swaps_table(result: dict[str, Any], repeat: int) -> str:
    """The human report of `swaps`: one row per timed measure with its target, then the disk."""
    lines = [
        f"{result['orders']:,} live stream swaps on one pair (placed in"
        f" {result['setup_seconds']} s), {repeat} repetitions each,"
        f" {result['order_ends_crossed']} order ends crossed",
        f"{'measure (ms)':<28}{'median':>9}{'p95':>9}{'min':>9}{'max':>9}   target",
    ]
    for key, label, target in SWAPS_TIMED:
        ms = result[key]
        verdict = (
            "none in DESIGN.md"
            if target is None
            else f"median ≤ {target:g} ms: {'ok' if ms['median'] <= target else 'MISSED'}"
        )
        lines.append(
            f"{label:<28}{ms['median']:>9.3f}{ms['p95']:>9.3f}{ms['min']:>9.3f}{ms['max']:>9.3f}"
            f"   {verdict}"
        )
    lines.append(f"{'database per order':<28}{result['db_bytes_per_order']:>7.1f} B")
    return "\n".join(lines)


def stats_table(result: dict[str, Any], repeat: int, upkeep_inputs: int) -> str:
    """The human report of `stats`: one row per route, then the upkeep and the disk."""
    lines = [
        f"{result['swaps']:,} swaps over {len(stats.MARKET.pairs)} pairs (seeded in"
        f" {result['seed_seconds']} s), {repeat} repetitions per route",
        f"{'route (ms)':<52}{'median':>9}{'p95':>9}   target",
    ]
    for label, ms in result["routes"].items():
        verdict = "ok" if ms["median_ms"] <= stats.ROUTE_TARGET_MS else "MISSED"
        lines.append(
            f"{label:<52}{ms['median_ms']:>9.3f}{ms['p95_ms']:>9.3f}"
            f"   median ≤ {stats.ROUTE_TARGET_MS:g} ms: {verdict}"
        )
    for label, reason in result["skipped"].items():
        lines.append(f"{label:<52}{'skipped':>18}   {reason}")
    advance = result["advance_ms"]
    upkeep = result["upkeep_ms_per_swap"]
    verdict = "ok" if upkeep <= stats.UPKEEP_TARGET_MS else "MISSED"
    lines += [
        f"swap input, {upkeep_inputs} each: advance {advance['with_stats']['median_ms']:.3f} ms"
        f" with statistics, {advance['without_stats']['median_ms']:.3f} ms without (medians)",
        f"{'upkeep per swap (paired median)':<52}{upkeep:>9.3f}"
        f"{'':>9}   ≤ {stats.UPKEEP_TARGET_MS:g} ms: {verdict}",
        f"{'Recorder.record alone (median)':<52}{result['recorder_ms_per_swap']:>9.3f}",
        f"{'database growth per swap':<52}{result['db_bytes_per_swap']:>7.1f} B",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmark")
    sub = parser.add_subparsers(dest="command", required=True)
    streams = sub.add_parser("streams", help="new stream and balance read at N open streams")
    streams.add_argument("--streams", type=int, default=25_000, help="open streams to seed")
    streams.add_argument(
        "--repeat", type=int, default=MIN_REPEAT, help=f"inputs per measure (≥ {MIN_REPEAT})"
    )
    streams.add_argument("--json", action="store_true", help="one JSON line on stdout")
    streams.add_argument(
        "--db", type=Path, help="seed this new file (kept afterwards) instead of a temporary one"
    )
    streams.add_argument(
        "--cold",
        action="store_true",
        help="drop the database from the OS page cache before each phase (default: load it)",
    )
    swaps = sub.add_parser(
        "swaps", help="instant swap, new stream and reads at N live stream swaps"
    )
    swaps.add_argument("--orders", type=int, required=True, help="live stream swaps to place")
    swaps.add_argument(
        "--repeat", type=int, default=MIN_REPEAT, help=f"inputs per measure (≥ {MIN_REPEAT})"
    )
    swaps.add_argument("--json", action="store_true", help="one JSON line on stdout")
    market = sub.add_parser(
        "stats", help="every market-statistics route and the upkeep per swap at N swaps"
    )
    market.add_argument("--swaps", type=int, required=True, help="swaps to seed")
    market.add_argument(
        "--repeat",
        type=int,
        default=stats.DEFAULT_REPEAT,
        help=f"calls per route (≥ {stats.MIN_REPEAT})",
    )
    market.add_argument(
        "--upkeep",
        type=int,
        default=stats.DEFAULT_UPKEEP_INPUTS,
        help="swap inputs timed with and without statistics",
    )
    market.add_argument("--json", action="store_true", help="one JSON line on stdout")
    args = parser.parse_args(argv)
    if args.command == "swaps":
        _swaps(parser, args)
        return
    if args.command == "stats":
        _stats(parser, args)
        return
    if args.streams < 1:
        parser.error("--streams must be positive")
    if args.repeat < MIN_REPEAT:
        parser.error(f"--repeat must be at least {MIN_REPEAT}")
    if args.db is not None and args.db.exists():
        parser.error(f"--db {args.db} exists; the benchmark seeds a fresh database")
    progress = None if args.json else ProgressBar(args.streams)
    result = measure_streams(args.streams, args.repeat, args.db, progress, cold=args.cold)
    if args.json:
        del result["seed_seconds"]
        print(json.dumps(result))
    else:
        print(table(result, args.repeat, args.cold))


def _swaps(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.orders < 1:
        parser.error("--orders must be positive")
    if args.repeat < MIN_REPEAT:
        parser.error(f"--repeat must be at least {MIN_REPEAT}")
    progress = None if args.json else ProgressBar(args.orders, verb="placing", unit="orders")
    result = measure_swaps(args.orders, args.repeat, progress)
    if args.json:
        del result["setup_seconds"]
        print(json.dumps(result))
    else:
        print(swaps_table(result, args.repeat))


def _stats(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.swaps < 1:
        parser.error("--swaps must be positive")
    if args.repeat < stats.MIN_REPEAT:
        parser.error(f"--repeat must be at least {stats.MIN_REPEAT}")
    if args.upkeep < 1:
        parser.error("--upkeep must be positive")
    progress = None if args.json else ProgressBar(args.swaps, unit="swaps")
    result = stats.measure_stats(args.swaps, args.repeat, args.upkeep, progress)
    for label, reason in result["skipped"].items():
        print(f"skipped {label}: {reason}", file=sys.stderr)
    if args.json:
        for key in stats.HUMAN_ONLY:
            del result[key]
        print(json.dumps(result))
    else:
        print(stats_table(result, args.repeat, args.upkeep))


if __name__ == "__main__":
    main()
