"""python -m agents backtest --prices FILE|gbm --agents arb,dca,lp --days N [--seed S] [--json]
[--plot PNG] [--risk FILE] [--steps-per-day K]; python -m agents live --config FILE."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from agents.backtest import AGENT_NAMES, backtest, default_agents
from agents.prices import DAY, PriceSeries, gbm, read_csv
from agents.report import build_report, plot, table, to_json
from agents.risk import load_risk_config


def progress_bar(done: int, total: int) -> None:
    """A progress bar on stderr, redrawn in place."""
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} steps")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def load_series(prices: str, days: int, seed: int, steps_per_day: int) -> PriceSeries:
    if prices == "gbm":
        return gbm(days, seed=seed, steps_per_day=steps_per_day)
    series = read_csv(prices)
    if not series.points:
        raise SystemExit(f"{prices}: no usable rows ({len(series.skipped)} skipped)")
    limit = series.points[0].time + days * DAY
    kept = [point for point in series.points if point.time <= limit]
    return PriceSeries(kept, series.skipped, series.source)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agents", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("backtest", help="run agents against the application in process")
    run.add_argument("--prices", required=True, help="a CSV file (date,close or Yahoo) or gbm")
    run.add_argument("--agents", default="arb,dca,lp", help=f"of {','.join(AGENT_NAMES)}")
    run.add_argument("--days", type=int, default=30)
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--steps-per-day", type=int, default=1, help="gbm only")
    run.add_argument("--pool", default="1000", help="base tokens seeded in the pool")
    run.add_argument("--risk", help="a JSON file of risk limits (agents/risk.py)")
    run.add_argument("--json", action="store_true", help="print the report as one JSON object")
    run.add_argument("--plot", help="save plots to this PNG")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    live = commands.add_parser("live", help="run agents against the devnet (agents/live.py)")
    live.add_argument("--config", required=True)
    args = parser.parse_args(argv)

    if args.command == "live":
        # agents/live.py is built separately, against client/: run_live(config_path) -> int
        live_module = importlib.import_module("agents.live")
        code: int = live_module.run_live(Path(args.config))
        return code

    if args.days < 1:
        parser.error("--days must be at least 1")
    series = load_series(args.prices, args.days, args.seed, args.steps_per_day)
    names = [name.strip() for name in args.agents.split(",") if name.strip()]
    try:
        funded = default_agents(
            names, series.points[0].price, series.points[-1].time - series.points[0].time
        )
    except ValueError as err:
        parser.error(str(err))
    risk = load_risk_config(args.risk) if args.risk else None
    with backtest(
        series,
        funded,
        risk=risk,
        pool_base_tokens=Fraction(args.pool),
        progress=None if args.quiet else progress_bar,
    ) as result:
        report = build_report(result)
        if args.plot:
            plot(result, args.plot)
    print(to_json(report) if args.json else table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
