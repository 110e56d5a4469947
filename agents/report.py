"""The report of a backtest: a JSON object, a text table and a PNG of plots.

Every figure is computed from `Fraction`s and written as a decimal string rounded half-even to
a fixed number of places, so the same run gives the same JSON byte for byte. USD is the quote
token (a stablecoin). PnL is marked to the external price: value at the end − value of the
funding at the first price.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

from agents.backtest import (
    BASE,
    BASE_DECIMALS,
    QUOTE,
    QUOTE_DECIMALS,
    BacktestResult,
    sqrt_fraction,
)
from agents.strategies import DcaBuyer, LiquidityProvider, MispricingMonitor, fee_of
from dapp.amm.math import get_amount_out

QUOTE_UNIT = Fraction(10**QUOTE_DECIMALS)
BASE_UNIT = Fraction(10**BASE_DECIMALS)
USD_PLACES = 6
PRICE_PLACES = 6
BPS_PLACES = 4


def decimal_string(value: Fraction | int, places: int) -> str:
    """`value` rounded half-even to `places` decimals, as a plain decimal string."""
    scaled = round(Fraction(value) * 10**places)  # Fraction rounds half to even
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled)).rjust(places + 1, "0")
    if places == 0:
        return sign + digits
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def usd(value: Fraction | int) -> str:
    return decimal_string(value, USD_PLACES)


def _token_usd(token: str, amount: int | Fraction, price: Fraction) -> Fraction:
    if token == QUOTE:
        return Fraction(amount) / QUOTE_UNIT
    return Fraction(amount) / BASE_UNIT * price


def _gap_bps(pool: Fraction, external: Fraction) -> Fraction:
    return (pool / external - 1) * 10_000


def _max_drawdown(values: list[Fraction]) -> Fraction:
    peak: Fraction | None = None
    worst = Fraction(0)
    for value in values:
        peak = value if peak is None or value > peak else peak
        worst = max(worst, peak - value)
    return worst


def _events(result: BacktestResult, name: str, kind: str) -> list[dict[str, Any]]:
    return [
        event
        for trade in result.trades
        if trade.agent == name and trade.outcome is not None and trade.outcome.accepted
        for event in trade.outcome.events
        if event.get("type") == kind
    ]


def _stream_orders(result: BacktestResult, name: str) -> list[dict[str, Any]]:
    return [
        result.venue.inspect(f"/swap/{event['swap_id']}?at={result.end}")
        for event in _events(result, name, "SwapOrderPlaced")
    ]


def agent_report(result: BacktestResult, name: str) -> dict[str, Any]:
    last_price = result.series.points[-1].price
    fees = Fraction(0)
    volume = Fraction(0)
    sent = [t for t in result.trades if t.agent == name and t.outcome is not None]
    accepted = [t for t in sent if t.accepted]
    for trade in accepted:
        args = trade.action.args
        if trade.action.method == "swap" and not args.get("duration"):
            token_in = str(args["path"][0]).lower()
            amount_in = int(args["amount_in"])
            volume += _token_usd(token_in, amount_in, trade.external_price)
            fees += _token_usd(token_in, fee_of(amount_in), trade.external_price)
    for order in _stream_orders(result, name):
        token_in, sold = order["token_in"].lower(), int(order["sold"])
        volume += _token_usd(token_in, sold, last_price)
        fees += _token_usd(token_in, fee_of(sold), last_price)
    funded = next(f for f in result.funded if f.agent.name == name)
    values = [step.values[name] for step in result.steps if name in step.values]
    values.append(result.final_values[name])
    initial, final = result.initial_values[name], result.final_values[name]
    pnl = [value - initial for value in values]
    entry: dict[str, Any] = {
        "pnl_usd": usd(final - initial),
        "pnl_vs_hodl_usd": usd(
            final
            - _token_usd(BASE, funded.base, last_price)
            - _token_usd(QUOTE, funded.quote, last_price)
        ),
        "initial_value_usd": usd(initial),
        "final_value_usd": usd(final),
        "trades": len(accepted),
        "rejected": len(sent) - len(accepted),
        "refused_by_risk": sum(1 for t in result.trades if t.agent == name and t.refused),
        "fees_paid_usd": usd(fees),
        "volume_usd": usd(volume),
        "max_drawdown_usd": usd(_max_drawdown(pnl)),
    }
    agent = funded.agent
    if isinstance(agent, LiquidityProvider):
        entry["lp"] = lp_report(result, name, funded.base, funded.quote)
    if isinstance(agent, DcaBuyer):
        entry["dca"] = dca_report(result, name, agent.amount)
    if isinstance(agent, MispricingMonitor):
        entry["alerts"] = len(agent.alerts)
        entry["alerts_executed"] = sum(1 for alert in agent.alerts if alert.executed)
    return entry


def lp_report(result: BacktestResult, name: str, base: int, quote: int) -> dict[str, Any]:
    """LP value vs HODL, split into fees earned and impermanent loss (at the final prices)."""
    price = result.series.points[-1].price
    hodl = _token_usd(BASE, base, price) + _token_usd(QUOTE, quote, price)
    value = result.final_values[name]
    mints = _events(result, name, "Mint")
    if not mints:
        return {"lp_value_usd": usd(value), "hodl_value_usd": usd(hodl)}
    mint = mints[0]
    base_first = BASE < QUOTE
    b0 = int(mint["amount0"] if base_first else mint["amount1"])
    q0 = int(mint["amount1"] if base_first else mint["amount0"])
    state = result.venue.reserves(result.end)
    assert state is not None
    base_reserve, quote_reserve, supply = state
    liquidity = int(mint["liquidity"])
    position = Fraction(liquidity, supply) * (
        _token_usd(BASE, base_reserve, price) + _token_usd(QUOTE, quote_reserve, price)
    )
    pool_units_price = Fraction(quote_reserve, base_reserve)  # quote units per base unit
    # the same deposit in a pool without fees, moved to today's pool price
    feeless_base = sqrt_fraction(Fraction(b0 * q0) / pool_units_price)
    feeless_quote = sqrt_fraction(Fraction(b0 * q0) * pool_units_price)
    feeless = _token_usd(BASE, feeless_base, price) + _token_usd(QUOTE, feeless_quote, price)
    hodl_deposit = _token_usd(BASE, b0, price) + _token_usd(QUOTE, q0, price)
    return {
        "lp_value_usd": usd(value),
        "hodl_value_usd": usd(hodl),
        "lp_vs_hodl_usd": usd(value - hodl),
        "position_value_usd": usd(position),
        "fees_earned_usd": usd(position - feeless),
        "impermanent_loss_usd": usd(feeless - hodl_deposit),
        "pool_share": decimal_string(Fraction(liquidity, supply), 9),
    }


def _average_price(quote_in: int, base_out: int) -> Fraction | None:
    if base_out == 0:
        return None
    return Fraction(quote_in * 10**BASE_DECIMALS, base_out * 10**QUOTE_DECIMALS)


def _price_or_none(value: Fraction | None) -> str | None:
    return None if value is None else decimal_string(value, PRICE_PLACES)


def dca_report(result: BacktestResult, name: str, amount: int) -> dict[str, Any]:
    """The stream swap's average price, against instant swaps of equal parts at each step and
    one lump sum at the start (each on the pool as it was then, before the agents acted)."""
    orders = _stream_orders(result, name)
    sold = sum(int(order["sold"]) for order in orders)
    bought = sum(int(order["bought"]) for order in orders)
    steps = [entry for entry in result.pool_before if entry[0] < result.end] or result.pool_before
    part = amount // len(steps)
    periodic_out = sum(get_amount_out(part, quote_r, base_r) for _, base_r, quote_r in steps)
    _, base_0, quote_0 = result.pool_before[0]
    lump_out = get_amount_out(amount, quote_0, base_0)
    prices = [point.price for point in result.series.points if point.time < result.end]
    return {
        "stream_swaps": len(orders),
        "sold": str(sold),
        "bought": str(bought),
        "average_price": _price_or_none(_average_price(sold, bought)),
        "periodic_average_price": _price_or_none(_average_price(part * len(steps), periodic_out)),
        "lump_sum_average_price": _price_or_none(_average_price(amount, lump_out)),
        "external_average_price": _price_or_none(sum(prices, Fraction(0)) / len(prices)),
    }


def build_report(result: BacktestResult) -> dict[str, Any]:
    last = result.steps[-1]
    gaps = [
        abs(_gap_bps(step.pool_price_after_arbitrage, step.external_price))
        for step in result.steps
        if step.pool_price_after_arbitrage is not None
    ]
    final_pool = last.pool_price
    return {
        "prices": result.series.source,
        "steps": len(result.steps),
        "skipped_rows": len(result.series.skipped),
        "start": result.start,
        "end": result.end,
        "pool": {
            "base": BASE,
            "quote": QUOTE,
            "seed_base": str(result.pool_base),
            "seed_quote": str(result.pool_quote),
        },
        "agents": {
            entry.agent.name: agent_report(result, entry.agent.name) for entry in result.funded
        },
        "max_gap_bps_after_arbitrage": decimal_string(max(gaps), BPS_PLACES) if gaps else None,
        "final": {
            "pool_price": _price_or_none(final_pool),
            "external_price": decimal_string(last.external_price, PRICE_PLACES),
            "gap_bps": None
            if final_pool is None
            else decimal_string(_gap_bps(final_pool, last.external_price), BPS_PLACES),
        },
    }


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, sort_keys=True, separators=(",", ":"))


def table(report: dict[str, Any]) -> str:
    """The report as text: one row per agent, then the pool and the special blocks."""
    header = (
        f"{'agent':<10} {'pnl_usd':>16} {'trades':>7} {'refused':>8} {'fees_paid':>14} "
        f"{'volume':>16} {'max_dd':>14}"
    )
    lines = [
        f"{report['prices']}: {report['steps']} steps, {report['skipped_rows']} skipped rows",
        header,
        "-" * len(header),
    ]
    for name, entry in report["agents"].items():
        lines.append(
            f"{name:<10} {entry['pnl_usd']:>16} {entry['trades']:>7} "
            f"{entry['refused_by_risk']:>8} {entry['fees_paid_usd']:>14} "
            f"{entry['volume_usd']:>16} {entry['max_drawdown_usd']:>14}"
        )
    for name, entry in report["agents"].items():
        for block in ("lp", "dca"):
            if block in entry:
                details = ", ".join(f"{key} {value}" for key, value in entry[block].items())
                lines.append(f"{name} {block}: {details}")
        if "alerts" in entry:
            lines.append(f"{name}: {entry['alerts']} alerts, {entry['alerts_executed']} executed")
    final = report["final"]
    lines.append(
        f"final: pool {final['pool_price']} vs external {final['external_price']} "
        f"({final['gap_bps']} bps); max gap after arbitrage "
        f"{report['max_gap_bps_after_arbitrage']} bps"
    )
    return "\n".join(lines)


def plot(result: BacktestResult, path: str | Path) -> None:
    """Pool vs external price, PnL per agent and the pool's gap, as one PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    days = [(step.time - result.start) / 86_400 for step in result.steps]
    figure, (prices, pnl, gaps) = plt.subplots(3, 1, figsize=(10, 10), sharex=True)
    prices.plot(days, [float(step.external_price) for step in result.steps], label="external")
    prices.plot(
        days,
        [float(step.pool_price) if step.pool_price else float("nan") for step in result.steps],
        label="pool",
    )
    prices.set_ylabel("price (USD)")
    prices.legend()
    for entry in result.funded:
        name = entry.agent.name
        initial = result.initial_values[name]
        pnl.plot(days, [float(step.values[name] - initial) for step in result.steps], label=name)
    pnl.set_ylabel("PnL (USD)")
    pnl.legend()
    gaps.plot(
        days,
        [
            float(_gap_bps(step.pool_price, step.external_price))
            if step.pool_price
            else float("nan")
            for step in result.steps
        ],
    )
    gaps.axhline(30, color="grey", linewidth=0.5)
    gaps.axhline(-30, color="grey", linewidth=0.5)
    gaps.set_ylabel("pool vs external (bps)")
    gaps.set_xlabel("days")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
