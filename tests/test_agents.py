"""Agents, the runner, risk limits, price series and backtests against the real application."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest

from agents.__main__ import main
from agents.backtest import (
    BASE,
    BASE_DECIMALS,
    QUOTE,
    QUOTE_DECIMALS,
    SEEDER,
    Funded,
    backtest,
    default_agents,
    whole,
)
from agents.base import Action, Market
from agents.prices import DAY, PriceSeries, flat, gbm, read_csv
from agents.report import build_report, decimal_string, to_json
from agents.risk import RiskConfig, RiskLimits, load_risk_config, parse_risk_config
from agents.strategies import (
    Arbitrageur,
    DcaBuyer,
    EwmaMomentum,
    MispricingMonitor,
    swap_action,
)

ROOT = Path(__file__).resolve().parent.parent
FEE_LOW, FEE_HIGH = Fraction(997, 1000), Fraction(1000, 997)


def horizon(series: PriceSeries) -> int:
    return series.points[-1].time - series.points[0].time


def agents_for(names: list[str], series: PriceSeries) -> list[Funded]:
    return default_agents(names, series.points[0].price, horizon(series))


# --- price series ----------------------------------------------------------------------------
def test_csv_date_close_skips_and_counts_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(
        "date,close\n"
        "2024-01-01,2000.50\n"
        "2024-01-02,null\n"
        "2024-01-03,\n"
        "\n"
        "not-a-date,2001\n"
        "2024-01-04,2010.125\n"
        "2024-01-04,2011\n"  # not later than the row before
        "2024-01-05,0\n"
    )
    series = read_csv(path)
    assert [p.price for p in series.points] == [Fraction("2000.50"), Fraction("2010.125")]
    assert [p.time for p in series.points] == [1_704_067_200, 1_704_067_200 + 3 * DAY]
    assert [row.line for row in series.skipped] == [3, 4, 5, 6, 8, 9]
    assert all(isinstance(p.price, Fraction) for p in series.points)


def test_csv_yahoo_format_uses_close(tmp_path: Path) -> None:
    path = tmp_path / "yahoo.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2023-12-30,1.0,2.0,0.5,1.5,1.4,100\n"
        "2023-12-31,null,null,null,null,null,null\n"
        "2024-01-01,1.5,2.5,1.0,2.25,2.2,200\n"
        "2024-01-02,1.5,2.5,1.0\n"
    )
    series = read_csv(path)
    assert [p.price for p in series.points] == [Fraction(3, 2), Fraction(9, 4)]
    assert len(series.skipped) == 2
    with pytest.raises(ValueError):
        bad = tmp_path / "bad.csv"
        bad.write_text("when,price\n2024-01-01,1\n")
        read_csv(bad)


def test_gbm_is_deterministic_and_exact() -> None:
    first, again, other = gbm(60, seed=11), gbm(60, seed=11), gbm(60, seed=12)
    assert first.points == again.points
    assert first.points != other.points
    assert len(first.points) == 61 and first.points[0].price == 2000
    assert all(isinstance(p.price, Fraction) and p.price > 0 for p in first.points)
    times = [p.time for p in first.points]
    assert all(b - a == DAY for a, b in itertools.pairwise(times))
    hourly = gbm(2, seed=1, steps_per_day=24)
    assert len(hourly.points) == 49 and hourly.points[1].time - hourly.points[0].time == 3600


# --- backtests -------------------------------------------------------------------------------
def test_arbitrage_keeps_the_pool_within_the_fee_band_every_step() -> None:
    series = gbm(40, seed=7)
    with backtest(series, agents_for(["arb"], series)) as result:
        checked = 0
        for step in result.steps:
            pool = step.pool_price_after_arbitrage
            assert pool is not None
            # exact: P·997/1000 ≤ pool price ≤ P·1000/997 (no trade beats the 0.3% fee)
            assert step.external_price * FEE_LOW <= pool <= step.external_price * FEE_HIGH, step
            checked += 1
        assert checked == len(series.points)
        trades = [t for t in result.trades if t.accepted]
        assert len(trades) >= 30  # it did move the pool, most days
        report = build_report(result)
        assert Fraction(report["max_gap_bps_after_arbitrage"]) <= Fraction("30.0903")


def test_tokens_are_conserved_across_a_whole_run() -> None:
    series = gbm(20, seed=4)
    names = ["arb", "dca", "lp", "monitor", "momentum"]
    with backtest(series, agents_for(names, series)) as result:
        venue = result.venue
        pair = venue.pair_json(result.end)
        assert pair is not None
        accounts = [
            *result.accounts.values(),
            SEEDER,
            pair["id"].lower(),
            pair["order_pools"]["account"].lower(),
        ]
        for token in (BASE, QUOTE):
            held = sum(venue.holdings(account, result.end).get(token, 0) for account in accounts)
            assert held == venue.deposited[token] - venue.withdrawn[token], token
            supply = venue.inspect(f"/token/{token}")["supply"]
            assert int(supply) == held


def test_same_seed_same_report_byte_for_byte() -> None:
    def report(seed: int) -> str:
        series = gbm(12, seed=seed)
        with backtest(series, agents_for(["arb", "dca", "lp", "momentum"], series)) as result:
            return to_json(build_report(result))

    first, again, other = report(5), report(5), report(6)
    assert first == again
    assert first != other
    parsed = json.loads(first)
    assert set(parsed["agents"]) == {"arb", "dca", "lp", "momentum"}
    lp = parsed["agents"]["lp"]["lp"]
    # LP vs HODL = fees earned + impermanent loss (each rounded to 6 places)
    total = Fraction(lp["fees_earned_usd"]) + Fraction(lp["impermanent_loss_usd"])
    assert abs(total - Fraction(lp["lp_vs_hodl_usd"])) <= Fraction(3, 10**6)
    assert Fraction(lp["impermanent_loss_usd"]) <= 0


def test_dca_stream_swap_on_a_flat_price_pays_price_plus_fee() -> None:
    price = Fraction(2000)
    series = flat(10, price=price)
    pool_quote = whole(1000 * price, QUOTE_DECIMALS)
    amount = pool_quote * 5 // 10_000  # 0.05% of the pool's quote reserve (≤ 1%)
    dca = DcaBuyer(amount=amount, duration=horizon(series))
    with backtest(series, [Funded(dca, 0, amount)]) as result:
        entry = build_report(result)["agents"]["dca"]["dca"]
        assert int(entry["sold"]) == amount
        bought = int(entry["bought"])
        average = Fraction(amount * 10**BASE_DECIMALS, bought * 10**QUOTE_DECIMALS)
        # the price plus the fee: the output of 0.3% less input at the external price
        reference = price * Fraction(1000, 997)
        assert reference <= average <= reference * Fraction(1001, 1000)
        # the comparison: equal instant swaps each day on the same flat pool, and a lump sum
        assert Fraction(entry["lump_sum_average_price"]) >= reference
        assert Fraction(entry["periodic_average_price"]) >= reference


def test_mispricing_monitor_alerts_and_executes() -> None:
    series = gbm(15, seed=3)
    with backtest(series, [Funded(MispricingMonitor(), 100 * 10**18, 200_000 * 10**6)]) as result:
        monitor = result.funded[0].agent
        assert isinstance(monitor, MispricingMonitor)
        assert monitor.alerts and any(alert.executed for alert in monitor.alerts)
        assert all(abs(alert.gap_bps) > monitor.alert_bps for alert in monitor.alerts)
        report = build_report(result)["agents"]["monitor"]
        assert report["alerts"] == len(monitor.alerts)


def test_ewma_momentum_follows_the_trend() -> None:
    model = EwmaMomentum()
    for day in range(10):
        model.update(day, Fraction(100 + 10 * day))
    signal = model.predict()
    assert signal is not None and signal > 0
    for day in range(10, 30):
        model.update(day, Fraction(200 - 5 * day))
    later = model.predict()
    assert later is not None and later < 0


# --- risk ------------------------------------------------------------------------------------
@dataclass
class GreedyBuyer:
    """Buys base with `amount` quote at every step (a test agent)."""

    amount: int
    name: str = "greedy"

    def observe(self, market: Market) -> list[Action]:
        return [swap_action(market.quote, market.base, self.amount, 1)]


def test_runner_refuses_a_trade_over_the_max_position() -> None:
    series = flat(3, price=Fraction(2000))
    risk = RiskConfig(agents={"greedy": RiskLimits(max_position_usd=Fraction(25_000))})
    agent = GreedyBuyer(amount=20_000 * 10**6)
    with backtest(series, [Funded(agent, 0, 100_000 * 10**6)], risk=risk) as result:
        sent = [t for t in result.trades if t.outcome is not None]
        refused = [t for t in result.trades if t.refused]
        assert len(sent) == 1 and sent[0].accepted  # ~20,000 USD of base: under the limit
        assert len(refused) == 3 and all(t.refused.startswith("max_position") for t in refused)
        assert all(t.outcome is None for t in refused)
        assert build_report(result)["agents"]["greedy"]["refused_by_risk"] == 3


def test_runner_enforces_max_trades_per_day(tmp_path: Path) -> None:
    config = tmp_path / "risk.json"
    config.write_text(
        json.dumps(
            {
                "default": {"max_trades_per_day": 100, "max_slippage_bps": 50},
                "agents": {"greedy": {"max_trades_per_day": 3}},
            }
        )
    )
    risk = load_risk_config(config)
    assert risk.for_agent("greedy").max_trades_per_day == 3
    assert risk.for_agent("greedy").max_slippage_bps == 50  # inherited from default
    series = flat(2, price=Fraction(2000), steps_per_day=6)
    agent = GreedyBuyer(amount=100 * 10**6)
    with backtest(series, [Funded(agent, 0, 10_000 * 10**6)], risk=risk) as result:
        per_day: dict[int, int] = {}
        for trade in result.trades:
            if trade.outcome is not None:
                per_day[trade.time // DAY] = per_day.get(trade.time // DAY, 0) + 1
        assert max(per_day.values()) == 3
        refused = [t for t in result.trades if t.refused]
        assert len(refused) == len(series.points) - sum(per_day.values()) > 0
        assert all(t.refused.startswith("max_trades_per_day") for t in refused)


def test_slippage_stop_loss_and_config_errors() -> None:
    series = flat(1, price=Fraction(2000))
    risk = RiskConfig(default=RiskLimits(max_slippage_bps=Fraction(10)))
    huge = GreedyBuyer(amount=200_000 * 10**6)  # 10% of the pool: far over 10 bps of impact
    with backtest(series, [Funded(huge, 0, 400_000 * 10**6)], risk=risk) as result:
        assert result.trades and all(
            t.refused and t.refused.startswith("max_slippage") for t in result.trades
        )
    stop = RiskConfig(default=RiskLimits(stop_loss_usd=Fraction(0)))  # halts at once
    moving = gbm(5, seed=7)
    with backtest(moving, [Funded(Arbitrageur(), 10**20, 10**11)], risk=stop) as result:
        assert result.trades and all(
            t.outcome is None and t.refused and t.refused.startswith("stop_loss")
            for t in result.trades
        )
    with pytest.raises(ValueError):
        parse_risk_config({"default": {"max_posiiton_usd": 1}})
    with pytest.raises(ValueError):
        parse_risk_config({"default": {"max_trades_per_day": "1.5"}})
    limits = parse_risk_config({"default": {"stop_loss_usd": "0.1"}}).default
    assert limits.stop_loss_usd == Fraction(1, 10)


def test_decimal_string_rounds_half_even() -> None:
    assert decimal_string(Fraction(5, 2), 0) == "2"
    assert decimal_string(Fraction(-1, 8), 2) == "-0.12"
    assert decimal_string(Fraction(1, 3), 6) == "0.333333"
    assert decimal_string(7, 2) == "7.00"


# --- CLI -------------------------------------------------------------------------------------
def test_cli_backtest_json_subprocess() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "agents", "backtest", "--prices", "gbm"),
            *("--agents", "arb,dca,lp", "--days", "6", "--seed", "2", "--json"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["steps"] == 7 and report["skipped_rows"] == 0
    for name in ("arb", "dca", "lp"):
        assert {"pnl_usd", "trades", "fees_paid_usd"} <= set(report["agents"][name])
    assert report["max_gap_bps_after_arbitrage"] is not None
    assert {"pool_price", "external_price"} <= set(report["final"])
    assert "7/7 steps" in done.stderr


def test_cli_csv_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prices = tmp_path / "prices.csv"
    rows = [f"2024-01-{day:02d},{2000 + 15 * (day % 4)}" for day in range(1, 11)]
    prices.write_text("date,close\n" + "\n".join([*rows[:4], "2024-01-05,null", *rows[5:]]))
    png = tmp_path / "report.png"
    assert (
        main(
            [
                *("backtest", "--prices", str(prices), "--agents", "arb,lp", "--days", "5"),
                *("--plot", str(png), "--quiet"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "1 skipped rows" in out and "arb" in out and "lp lp:" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_live_calls_run_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import agents.live

    seen: list[Path] = []

    def fake_run_live(config_path: Path) -> int:
        seen.append(config_path)
        return 0

    monkeypatch.setattr(agents.live, "run_live", fake_run_live)
    assert main(["live", "--config", str(tmp_path / "live.json")]) == 0
    assert seen == [tmp_path / "live.json"]
