"""The CoinGecko and CoinMarketCap routes (stats-routes §4.1–§4.9) against the 40-day market.

Every expectation is recomputed here from the raw events of the scenario's notices by a small
model of its own (Fractions and Decimal square roots, not the statistics code): which swaps a
window holds, volumes, buy or sell, last price, high and low, the execution price of each trade
and the order book's levels. USD figures are only checked for being there (or null without a
stablecoin). The routes are reached through the real JSON path, `Application.inspect`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import dapp.inspect as inspect_module
from dapp.addresses import parse_address, to_checksum_address
from dapp.amm.twamm import order_pool_address
from dapp.app import Application, Config
from dapp.stats import exchanges
from dapp.store import decode_amount, encode_amount
from tests import market_scenario as ms
from tests.inputs import Driver, notice_events

DAY = 86400
DECIMALS = {ms.USDC: 6, ms.DAI: 18, ms.WETH: 18, ms.CTSI: 18}  # others: base units
# the quote (CoinGecko's target) is a stablecoin (USDC before DAI), else the reference token
# (WETH), else token1: stats-routes §0, written out per pair
BASE_TARGET = {
    frozenset((ms.USDC, ms.WETH)): (ms.WETH, ms.USDC),
    frozenset((ms.DAI, ms.WETH)): (ms.WETH, ms.DAI),
    frozenset((ms.CTSI, ms.WETH)): (ms.CTSI, ms.WETH),
    frozenset((ms.JUNK, ms.GUNK)): (ms.JUNK, ms.GUNK),
}


@pytest.fixture(autouse=True)
def exchange_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve the routes through the real router until inspect.py lists them itself."""
    missing = [route for route in exchanges.ROUTES if route not in inspect_module.ROUTES]
    monkeypatch.setattr(inspect_module, "ROUTES", [*inspect_module.ROUTES, *missing])


# --- an independent model of the market, from the notices ---------------------------------------
@dataclass(frozen=True)
class Trade:
    trade_id: int
    pair: bytes
    ts: int
    input_index: int
    taker: bytes
    base_in: int
    base_out: int
    target_in: int
    target_out: int
    after: tuple[int, int]  # the reserves (base, target) it left

    @property
    def base_volume(self) -> int:
        return abs(self.base_in - self.base_out)

    @property
    def target_volume(self) -> int:
        return abs(self.target_in - self.target_out)

    @property
    def buy(self) -> bool:
        return self.base_out > self.base_in


@dataclass(frozen=True)
class Point:
    """The reserves (base, target) a pair was left with by a swap, mint or burn."""

    pair: bytes
    ts: int
    reserve_base: int
    reserve_target: int


@dataclass
class Model:
    pairs: dict[bytes, tuple[bytes, bytes]] = field(default_factory=dict)  # → (base, target)
    tokens0: dict[bytes, bytes] = field(default_factory=dict)
    reserves: dict[bytes, tuple[int, int]] = field(default_factory=dict)  # token0, token1
    trades: list[Trade] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    deposited: list[bytes] = field(default_factory=list)

    def oriented(self, pair: bytes, amount0: int, amount1: int) -> tuple[int, int]:
        base_is_token0 = self.pairs[pair][0] == self.tokens0[pair]
        return (amount0, amount1) if base_is_token0 else (amount1, amount0)

    def ticker(self, pair: bytes) -> str:
        base, target = self.pairs[pair]
        return f"{to_checksum_address(base)}_{to_checksum_address(target)}"

    def pair_trades(self, pair: bytes, start: int, end: int) -> list[Trade]:
        """Newest first, as the routes list them."""
        inside = [t for t in self.trades if t.pair == pair and start <= t.ts <= end]
        return sorted(inside, key=lambda t: (t.ts, t.trade_id), reverse=True)


def replay(notices: list[dict[str, Any]]) -> Model:
    model = Model()
    order_end: dict[bytes, int] = {}
    for notice in notices:
        for event in notice["events"]:
            kind = event["type"]
            pair = parse_address(event["pair"]) if "pair" in event else b""
            if kind == "Deposit" and parse_address(event["token"]) not in model.deposited:
                model.deposited.append(parse_address(event["token"]))
            elif kind == "PairCreated":
                token0, token1 = parse_address(event["token0"]), parse_address(event["token1"])
                model.pairs[pair] = BASE_TARGET[frozenset((token0, token1))]
                model.tokens0[pair] = token0
            elif kind == "SwapOrderPlaced":
                order_end[pair] = event["start"] + event["duration"]
            elif kind == "Sync":
                model.reserves[pair] = (int(event["reserve0"]), int(event["reserve1"]))
            elif kind in ("Swap", "Mint", "Burn"):
                ts = notice["timestamp"]
                if kind == "Swap":
                    ts = _record_swap(model, notice, event, order_end)
                model.points.append(Point(pair, ts, *model.oriented(pair, *model.reserves[pair])))
    return model


def _record_swap(
    model: Model, notice: dict[str, Any], event: dict[str, Any], order_end: dict[bytes, int]
) -> int:
    """A Swap of the order pools is their executed flow, dated when the order ended if it
    ended before the input that executed it."""
    pair = parse_address(event["pair"])
    pool = order_pool_address(pair)
    stream = parse_address(event["sender"]) == pool
    ts: int = min(notice["timestamp"], order_end[pair]) if stream else notice["timestamp"]
    base_in, target_in = model.oriented(pair, int(event["amount0_in"]), int(event["amount1_in"]))
    base_out, target_out = model.oriented(
        pair, int(event["amount0_out"]), int(event["amount1_out"])
    )
    model.trades.append(
        Trade(
            trade_id=len(model.trades) + 1,
            pair=pair,
            ts=ts,
            input_index=notice["input_index"],
            taker=pool if stream else notice["sender"],
            base_in=base_in,
            base_out=base_out,
            target_in=target_in,
            target_out=target_out,
            after=model.oriented(pair, *model.reserves[pair]),
        )
    )
    return ts


# --- rendering, the way stats-routes §0 says numbers are shown ----------------------------------
def text(value: Fraction, places: int = 18) -> str:
    """Truncated toward zero at `places` digits, trailing zeros trimmed."""
    scaled = abs(value.numerator) * 10**places // value.denominator
    whole, part = divmod(scaled, 10**places)
    sign = "-" if value < 0 and scaled else ""
    digits = str(part).rjust(places, "0").rstrip("0") if places else ""
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def amount(token: bytes, raw: int) -> str:
    decimals = DECIMALS.get(token, 0)
    return text(Fraction(raw, 10**decimals), decimals)


def price(model: Model, pair: bytes, volume_base: int, volume_target: int) -> Fraction:
    """Whole target per whole base."""
    base, target = model.pairs[pair]
    return Fraction(
        volume_target * 10 ** DECIMALS.get(base, 0), volume_base * 10 ** DECIMALS.get(target, 0)
    )


def fixed_point(value: Fraction) -> int:
    return value.numerator * 10**18 // value.denominator


def point_price(model: Model, point: Point) -> Fraction:
    return price(model, point.pair, point.reserve_base, point.reserve_target)


def current_price(model: Model, pair: bytes) -> Fraction:
    reserve_base, reserve_target = model.oriented(pair, *model.reserves[pair])
    return price(model, pair, reserve_base, reserve_target)


def last_price(model: Model, pair: bytes) -> Fraction:
    """After the latest swap; the model's points are in processing order."""
    swaps = [t for t in model.trades if t.pair == pair]
    if not swaps:
        return current_price(model, pair)
    latest = max(swaps, key=lambda t: (t.ts, t.trade_id))
    return price(model, pair, *latest.after)


def high_low(model: Model, pair: bytes, start: int, end: int) -> tuple[Fraction, Fraction]:
    prices = [
        point_price(model, p) for p in model.points if p.pair == pair and start <= p.ts <= end
    ]
    if not prices:
        last = last_price(model, pair)
        return last, last
    return max(prices), min(prices)


def bid_ask(model: Model, pair: bytes) -> tuple[str, str]:
    """The fee on the 18-digit mid: selling gets mid·0.997, buying pays mid/0.997."""
    mid = fixed_point(current_price(model, pair))
    return text(Fraction(mid * 9970 // 10000, 10**18)), text(Fraction(mid * 10000 // 9970, 10**18))


def book(model: Model, pair: bytes, levels: int) -> tuple[list[list[str]], list[list[str]]]:
    """x·y = k levels 10 bps apart: the pool keeps x/√(1 ± i/1000) of its base x."""
    base = model.pairs[pair][0]
    x, _ = model.oriented(pair, *model.reserves[pair])
    mid = current_price(model, pair)
    bids, asks = [], []
    given = taken = 0
    with localcontext() as context:
        context.prec = 120
        for i in range(1, levels + 1):
            up, down = 1 + Decimal(i) / 1000, 1 - Decimal(i) / 1000
            kept_up = (Decimal(x) / up.sqrt()).to_integral_value(ROUND_CEILING)
            kept_down = (Decimal(x) / down.sqrt()).to_integral_value(ROUND_FLOOR)
            level_given, level_taken = x - int(kept_up), int(kept_down) - x
            ask_price = mid * Fraction(1000 + i, 1000) / Fraction(997, 1000)
            bid_price = mid * Fraction(1000 - i, 1000) * Fraction(997, 1000)
            asks.append([text(ask_price), amount(base, level_given - given)])
            bids.append([text(bid_price), amount(base, level_taken - taken)])
            given, taken = level_given, level_taken
    return bids, asks


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ms.Scenario]:
    built = ms.build(tmp_path_factory.mktemp("exchanges"))
    yield built
    built.app.close()


@pytest.fixture(scope="module")
def model(scenario: ms.Scenario) -> Model:
    return replay(scenario.notices)


def get(scenario: ms.Scenario, path: str) -> Any:
    return ms.inspect(scenario, path)


def pair_of(model: Model, a: bytes, b: bytes) -> bytes:
    (pair,) = [p for p, tokens in model.pairs.items() if set(tokens) == {a, b}]
    return pair


# --- CoinGecko -----------------------------------------------------------------------------------
def test_pairs_lists_every_pair_in_creation_order_with_the_quote_as_target(
    scenario: ms.Scenario, model: Model
) -> None:
    symbols = {ms.USDC: "USDC", ms.DAI: "DAI", ms.WETH: "WETH", ms.CTSI: "CTSI"}
    assert get(scenario, "/coingecko/pairs") == [
        {
            "ticker_id": model.ticker(pair),
            "base": to_checksum_address(base),
            "target": to_checksum_address(target),
            "pool_id": to_checksum_address(pair),
            "base_symbol": symbols.get(base),
            "target_symbol": symbols.get(target),
        }
        for pair, (base, target) in model.pairs.items()
    ]
    # the reversed pair: USDC is token0 of USDC/WETH but the quote
    first = get(scenario, "/coingecko/pairs")[0]
    assert (first["base"], first["target"]) == tuple(map(to_checksum_address, (ms.WETH, ms.USDC)))


def test_tickers_are_the_last_24_hours_of_the_raw_swaps(
    scenario: ms.Scenario, model: Model
) -> None:
    start = scenario.as_of - DAY
    tickers = get(scenario, "/coingecko/tickers")
    assert [t["ticker_id"] for t in tickers] == [model.ticker(p) for p in model.pairs]
    for ticker, pair in zip(tickers, model.pairs, strict=True):
        base, target = model.pairs[pair]
        day = model.pair_trades(pair, start, scenario.as_of)
        high, low = high_low(model, pair, start, scenario.as_of)
        bid, ask = bid_ask(model, pair)
        assert ticker == {
            "ticker_id": model.ticker(pair),
            "base_currency": to_checksum_address(base),
            "target_currency": to_checksum_address(target),
            "pool_id": to_checksum_address(pair),
            "last_price": text(last_price(model, pair)),
            "base_volume": amount(base, sum(t.base_volume for t in day)),
            "target_volume": amount(target, sum(t.target_volume for t in day)),
            "liquidity_in_usd": ticker["liquidity_in_usd"],
            "bid": bid,
            "ask": ask,
            "high": text(high),
            "low": text(low),
        }
        assert isinstance(ticker["liquidity_in_usd"], str)
    # the two swaps of USDC/WETH in the window are the one at exactly as_of − 86400 and the last
    usdc = tickers[0]
    assert usdc["target_volume"] == "1332"  # 777 + 555 USDC; the swap one second earlier is out
    assert tickers[3]["liquidity_in_usd"] == "0"  # JUNK/GUNK: no whitelisted side
    assert tickers[2]["base_volume"] == "0"  # CTSI/WETH: quiet day
    assert tickers[2]["high"] == tickers[2]["low"] == tickers[2]["last_price"]


def test_window_includes_a_swap_at_exactly_its_start_and_not_one_second_before(
    scenario: ms.Scenario, model: Model
) -> None:
    pair = pair_of(model, ms.USDC, ms.WETH)
    start = scenario.as_of - DAY
    (before,) = [t for t in model.trades if t.pair == pair and t.ts == start - 1]
    (at_start,) = [t for t in model.trades if t.pair == pair and t.ts == start]
    path = f"/coingecko/historical_trades?ticker_id={model.ticker(pair)}"
    trades = get(scenario, path)
    ids = [t["trade_id"] for t in trades["buy"] + trades["sell"]]
    assert at_start.trade_id in ids and before.trade_id not in ids
    cmc = get(scenario, f"/cmc/trades/{model.ticker(pair)}")
    assert at_start.trade_id in [t["trade_id"] for t in cmc]
    assert before.trade_id not in [t["trade_id"] for t in cmc]
    # an explicit window is inclusive at both ends too
    path += f"&start_time={start - 1}&end_time={start - 1}"
    assert get(scenario, path) == split(model, [before])


def expected_trade(model: Model, trade: Trade) -> dict[str, Any]:
    base, target = model.pairs[trade.pair]
    return {
        "trade_id": trade.trade_id,
        "price": text(price(model, trade.pair, trade.base_volume, trade.target_volume)),
        "base_volume": amount(base, trade.base_volume),
        "target_volume": amount(target, trade.target_volume),
        "trade_timestamp": str(trade.ts * 1000),
        "type": "buy" if trade.buy else "sell",
        "pool_id": to_checksum_address(trade.pair),
        "account": to_checksum_address(trade.taker),
        "input_index": trade.input_index,
    }


def split(model: Model, trades: list[Trade]) -> dict[str, list[dict[str, Any]]]:
    return {
        "buy": [expected_trade(model, t) for t in trades if t.buy],
        "sell": [expected_trade(model, t) for t in trades if not t.buy],
    }


@pytest.mark.parametrize("tokens", [(ms.USDC, ms.WETH), (ms.CTSI, ms.WETH), (ms.JUNK, ms.GUNK)])
def test_historical_trades_over_all_history_are_every_swap_newest_first(
    scenario: ms.Scenario, model: Model, tokens: tuple[bytes, bytes]
) -> None:
    pair = pair_of(model, *tokens)
    trades = model.pair_trades(pair, 0, scenario.as_of)
    assert 0 < len(trades) < 500
    path = f"/coingecko/historical_trades?ticker_id={model.ticker(pair)}&limit=0&start_time=0"
    assert get(scenario, path) == split(model, trades)


def test_stream_swap_flow_is_a_trade_of_the_order_pools_dated_when_it_executed(
    scenario: ms.Scenario, model: Model
) -> None:
    pair = pair_of(model, ms.USDC, ms.WETH)
    pool = to_checksum_address(order_pool_address(pair))
    path = f"/coingecko/historical_trades?ticker_id={model.ticker(pair)}&limit=0&start_time=0"
    answer = get(scenario, path)
    flow = [t for t in answer["buy"] + answer["sell"] if t["account"] == pool]
    assert len(flow) > 10 and all(t["type"] == "buy" for t in flow)  # USDC sold for WETH
    # the last executed slice ran up to the order's end, before the input that executed it
    placed = next(
        e for n in scenario.notices for e in n["events"] if e["type"] == "SwapOrderPlaced"
    )
    last = flow[0]
    assert last["trade_timestamp"] == str((placed["start"] + placed["duration"]) * 1000)
    executing = next(n for n in scenario.notices if n["input_index"] == last["input_index"])
    assert executing["timestamp"] > placed["start"] + placed["duration"]


def test_historical_trades_type_limit_and_times_in_milliseconds(
    scenario: ms.Scenario, model: Model
) -> None:
    pair = pair_of(model, ms.USDC, ms.WETH)
    ticker = model.ticker(pair)
    everything = model.pair_trades(pair, 0, scenario.as_of)
    sells = [t for t in everything if not t.buy][:3]
    path = f"/coingecko/historical_trades?ticker_id={ticker}&start_time=0&type=sell&limit=3"
    assert get(scenario, path) == {"buy": [], "sell": [expected_trade(model, t) for t in sells]}
    buys = [t for t in everything if t.buy][:4]
    path = f"/coingecko/historical_trades?ticker_id={ticker}&start_time=0&type=buy&limit=4"
    assert get(scenario, path) == {"buy": [expected_trade(model, t) for t in buys], "sell": []}
    newest = everything[:7]  # a limit counts both sides together
    path = f"/coingecko/historical_trades?ticker_id={ticker}&start_time=0&limit=7"
    assert get(scenario, path) == split(model, newest)
    start, end = scenario.as_of - 5 * DAY, scenario.as_of - 2 * DAY
    in_seconds = f"/coingecko/historical_trades?ticker_id={ticker}&start_time={start}"
    in_ms = f"/coingecko/historical_trades?ticker_id={ticker}&start_time={start * 1000}"
    expected = split(model, model.pair_trades(pair, start, end))
    assert get(scenario, f"{in_seconds}&end_time={end}") == expected
    assert get(scenario, f"{in_ms}&end_time={end * 1000}") == expected
    default = get(scenario, f"/coingecko/historical_trades?ticker_id={ticker}")
    assert default == split(model, model.pair_trades(pair, scenario.as_of - DAY, scenario.as_of))


@pytest.mark.parametrize("tokens", [(ms.CTSI, ms.WETH), (ms.JUNK, ms.GUNK)])
@pytest.mark.parametrize("kind", ["buy", "sell"])
def test_type_filter_holds_for_amounts_beyond_64_bits(
    scenario: ms.Scenario, model: Model, tokens: tuple[bytes, bytes], kind: str
) -> None:
    """CTSI and JUNK amounts exceed 2**63, which the store keeps as TEXT."""
    pair = pair_of(model, *tokens)
    everything = model.pair_trades(pair, 0, scenario.as_of)
    assert any(t.base_in >= 2**63 or t.base_out >= 2**63 for t in everything)
    chosen = [t for t in everything if t.buy == (kind == "buy")]
    path = f"/coingecko/historical_trades?ticker_id={model.ticker(pair)}&start_time=0&type={kind}"
    other = "sell" if kind == "buy" else "buy"
    assert get(scenario, path) == {kind: [expected_trade(model, t) for t in chosen], other: []}


def test_the_sql_comparison_of_stored_amounts_is_numeric() -> None:
    """INTEGER up to 2**63 − 1, TEXT beyond (dapp.store.encode_amount): compared as numbers."""
    values = [0, 1, 9, 2**63 - 1, 2**63, 2**64, 10**20, 2 * 10**20, 10**21, 9 * 10**21]
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (a, b)")
    rows = [(encode_amount(a), encode_amount(b)) for a in values for b in values]
    connection.executemany("INSERT INTO t VALUES (?, ?)", rows)
    found = connection.execute(f"SELECT a, b, {exchanges._greater('a', 'b')} FROM t")
    assert [(decode_amount(a), decode_amount(b), bool(g)) for a, b, g in found] == [
        (a, b, a > b) for a in values for b in values
    ]


@pytest.mark.parametrize("depth", [None, 0, 10, 7, 500])
def test_orderbook_levels_follow_the_constant_product_curve(
    scenario: ms.Scenario, model: Model, depth: int | None
) -> None:
    pair = pair_of(model, ms.USDC, ms.WETH)
    query = f"?ticker_id={model.ticker(pair)}" + ("" if depth is None else f"&depth={depth}")
    answer = get(scenario, f"/coingecko/orderbook{query}")
    per_side = {None: 50, 0: 50, 10: 5, 7: 3, 500: 250}[depth]
    bids, asks = book(model, pair, per_side)
    assert answer == {
        "ticker_id": model.ticker(pair),
        "timestamp": str(scenario.as_of * 1000),
        "bids": bids,
        "asks": asks,
    }
    # the book brackets the ticker: best bid below the fee-inclusive bid, best ask above the ask
    bid, ask = bid_ask(model, pair)
    assert Fraction(answer["bids"][0][0]) < Fraction(bid) < Fraction(ask)
    assert Fraction(ask) < Fraction(answer["asks"][0][0])


def test_orderbook_of_a_token_without_metadata_is_in_base_units(
    scenario: ms.Scenario, model: Model
) -> None:
    pair = pair_of(model, ms.JUNK, ms.GUNK)
    answer = get(scenario, f"/coingecko/orderbook?ticker_id={model.ticker(pair)}&depth=4")
    bids, asks = book(model, pair, 2)
    assert (answer["bids"], answer["asks"]) == (bids, asks)
    assert all("." not in quantity for _, quantity in bids + asks)


# --- CoinMarketCap -------------------------------------------------------------------------------
def test_cmc_summary_adds_the_price_change_since_the_window_opened(
    scenario: ms.Scenario, model: Model
) -> None:
    start = scenario.as_of - DAY
    summary = get(scenario, "/cmc/summary")
    tickers = get(scenario, "/coingecko/tickers")
    for row, ticker, pair in zip(summary, tickers, model.pairs, strict=True):
        swaps = [t for t in model.trades if t.pair == pair]
        before = [t for t in swaps if t.ts < start]
        opening = before[-1] if before else min(swaps, key=lambda t: (t.ts, t.trade_id))
        open_price = fixed_point(price(model, pair, *opening.after))
        last = fixed_point(last_price(model, pair))
        assert row == {
            "trading_pairs": ticker["ticker_id"],
            "base_currency": ticker["base_currency"],
            "quote_currency": ticker["target_currency"],
            "last_price": ticker["last_price"],
            "lowest_ask": ticker["ask"],
            "highest_bid": ticker["bid"],
            "base_volume": ticker["base_volume"],
            "quote_volume": ticker["target_volume"],
            "price_change_percent_24h": text(Fraction((last - open_price) * 100, open_price)),
            "highest_price_24h": ticker["high"],
            "lowest_price_24h": ticker["low"],
        }
    assert summary[0]["price_change_percent_24h"] != "0"  # USDC/WETH moved today
    assert summary[2]["price_change_percent_24h"] == "0"  # CTSI/WETH did not trade today


def test_cmc_assets_lists_every_token_and_lp_tokens_stay_inside(
    scenario: ms.Scenario, model: Model
) -> None:
    names = {ms.USDC: "USD Coin", ms.DAI: "Dai Stablecoin", ms.WETH: "Wrapped Ether"}
    names[ms.CTSI] = "Cartesi"
    symbols = {ms.USDC: "USDC", ms.DAI: "DAI", ms.WETH: "WETH", ms.CTSI: "CTSI"}

    def asset(token: bytes, lp: bool) -> dict[str, Any]:
        return {
            "name": names.get(token),
            "symbol": symbols.get(token),
            "unified_cryptoasset_id": None,
            "can_withdraw": not lp,
            "can_deposit": not lp,
            "min_withdraw": "0",
            "max_withdraw": "0",
            "maker_fee": "0.003",
            "taker_fee": "0.003",
            "contractAddress": to_checksum_address(token),
        }

    expected = {to_checksum_address(t): asset(t, False) for t in model.deposited}
    expected.update({to_checksum_address(p): asset(p, True) for p in model.pairs})
    assert get(scenario, "/cmc/assets") == expected


def test_cmc_ticker_is_keyed_by_ticker_id(scenario: ms.Scenario, model: Model) -> None:
    tickers = get(scenario, "/coingecko/tickers")
    answer = get(scenario, "/cmc/ticker")
    assert list(answer) == [t["ticker_id"] for t in tickers]
    weth_usdc = answer[model.ticker(pair_of(model, ms.USDC, ms.WETH))]
    assert weth_usdc == {
        "base_id": to_checksum_address(ms.WETH),
        "base_name": "Wrapped Ether",
        "base_symbol": "WETH",
        "quote_id": to_checksum_address(ms.USDC),
        "quote_name": "USD Coin",
        "quote_symbol": "USDC",
        "last_price": tickers[0]["last_price"],
        "base_volume": tickers[0]["base_volume"],
        "quote_volume": "1332",
        "isFrozen": 0,
    }
    for ticker in tickers:
        row = answer[ticker["ticker_id"]]
        assert (row["last_price"], row["base_volume"], row["quote_volume"]) == (
            ticker["last_price"],
            ticker["base_volume"],
            ticker["target_volume"],
        )


@pytest.mark.parametrize(
    ("query", "per_side"),
    [("", 50), ("?depth=0", 50), ("?depth=20&level=2", 10), ("?depth=5&level=3", 2)],
)
def test_cmc_orderbook_has_the_coingecko_levels(
    scenario: ms.Scenario, model: Model, query: str, per_side: int
) -> None:
    pair = pair_of(model, ms.DAI, ms.WETH)
    bids, asks = book(model, pair, per_side)
    assert get(scenario, f"/cmc/orderbook/{model.ticker(pair)}{query}") == {
        "timestamp": scenario.as_of * 1000,
        "bids": bids,
        "asks": asks,
    }


def test_cmc_orderbook_level_1_is_the_best_bid_and_ask(scenario: ms.Scenario, model: Model) -> None:
    pair = pair_of(model, ms.DAI, ms.WETH)
    bids, asks = book(model, pair, 1)
    answer = get(scenario, f"/cmc/orderbook/{model.ticker(pair)}?depth=100&level=1")
    assert (answer["bids"], answer["asks"]) == (bids, asks)


def test_cmc_trades_are_the_last_24_hours_newest_first(scenario: ms.Scenario, model: Model) -> None:
    for pair in model.pairs:
        base, target = model.pairs[pair]
        expected = [
            {
                "trade_id": t.trade_id,
                "price": text(price(model, pair, t.base_volume, t.target_volume)),
                "base_volume": amount(base, t.base_volume),
                "quote_volume": amount(target, t.target_volume),
                "timestamp": t.ts * 1000,
                "type": "buy" if t.buy else "sell",
            }
            for t in model.pair_trades(pair, scenario.as_of - DAY, scenario.as_of)
        ]
        assert get(scenario, f"/cmc/trades/{model.ticker(pair)}") == expected
    dai = get(scenario, f"/cmc/trades/{model.ticker(pair_of(model, ms.DAI, ms.WETH))}")
    assert [t["type"] for t in dai] == ["buy"]  # Bob paid DAI for WETH at as_of − 10


# --- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/cmc/orderbook/{weth_usdc}?depth=7", "BAD_PARAMETER"),
        ("/cmc/orderbook/{weth_usdc}?level=4", "BAD_PARAMETER"),
        ("/coingecko/orderbook?ticker_id={weth_usdc}&depth=501", "BAD_PARAMETER"),
        ("/coingecko/orderbook", "BAD_PARAMETER"),
        ("/coingecko/historical_trades?ticker_id={weth_usdc}&type=foo", "BAD_PARAMETER"),
        ("/coingecko/historical_trades?ticker_id={weth_usdc}&limit=501", "BAD_PARAMETER"),
        ("/coingecko/historical_trades?ticker_id={weth_usdc}&limit=-1", "BAD_PARAMETER"),
        (
            "/coingecko/historical_trades?ticker_id={weth_usdc}&start_time=20&end_time=10",
            "BAD_PARAMETER",
        ),
        ("/coingecko/historical_trades?ticker_id=foo", "BAD_PARAMETER"),
        ("/coingecko/historical_trades?ticker_id={usdc_weth}", "PAIR_NOT_FOUND"),
        ("/coingecko/orderbook?ticker_id={usdc_ctsi}", "PAIR_NOT_FOUND"),
        ("/cmc/trades/{usdc_weth}", "PAIR_NOT_FOUND"),
        ("/cmc/orderbook/{usdc_ctsi}", "PAIR_NOT_FOUND"),
        ("/coingecko/tickers?window=7d", "BAD_PARAMETER"),
    ],
)
def test_bad_parameters_and_unknown_tickers_are_error_codes(
    scenario: ms.Scenario, path: str, code: str
) -> None:
    def ticker(base: bytes, target: bytes) -> str:
        return f"{to_checksum_address(base)}_{to_checksum_address(target)}"

    filled = path.format(
        weth_usdc=ticker(ms.WETH, ms.USDC),
        usdc_weth=ticker(ms.USDC, ms.WETH),  # the pair exists, but not in this orientation
        usdc_ctsi=ticker(ms.USDC, ms.CTSI),
    )
    answer = get(scenario, filled)
    assert answer["error"] == code and answer["message"]


def test_a_ticker_id_is_case_insensitive_and_answers_in_eip55(
    scenario: ms.Scenario, model: Model
) -> None:
    pair = pair_of(model, ms.USDC, ms.WETH)
    lower = model.ticker(pair).lower()
    answer = get(scenario, f"/coingecko/orderbook?ticker_id={lower}&depth=2")
    assert answer["ticker_id"] == model.ticker(pair)


# --- a market without stablecoins, and the row cap -----------------------------------------------
TOKEN_X = bytes.fromhex("0a" * 20)
TOKEN_Y = bytes.fromhex("0b" * 20)
TRADER = bytes.fromhex("0c" * 20)


@dataclass
class Unpriced:
    driver: Driver
    swaps: list[dict[str, Any]]  # the Swap events, in order


@pytest.fixture(scope="module")
def unpriced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Unpriced]:
    """The default configuration (no token metadata, no stablecoin) and 510 swaps in one day."""
    app = Application(tmp_path_factory.mktemp("unpriced") / "app.sqlite", Config())
    market = Unpriced(Driver(app), [])
    for token in (TOKEN_X, TOKEN_Y):
        market.driver.deposit(token, TRADER, 10**30)
    market.driver.act(
        TRADER,
        "add_liquidity",
        token_a=TOKEN_X,
        token_b=TOKEN_Y,
        token_a_desired=10**24,
        token_b_desired=2 * 10**24,
        token_a_min=0,
        token_b_min=0,
    )
    for n in range(510):
        path = [TOKEN_X, TOKEN_Y] if n % 2 else [TOKEN_Y, TOKEN_X]
        outcome = market.driver.act(
            TRADER,
            "swap",
            at=market.driver.now + 60,
            amount_in=10**18 + n,
            amount_out_min=0,
            path=path,
        )
        market.swaps += [e for e in notice_events(outcome) if e["type"] == "Swap"]
    yield market
    app.close()


def test_without_a_stablecoin_usd_is_null_and_amounts_are_base_units(unpriced: Unpriced) -> None:
    (ticker,) = unpriced.driver.inspect("/coingecko/tickers")
    assert ticker["liquidity_in_usd"] is None
    assert ticker["ticker_id"] == f"{to_checksum_address(TOKEN_X)}_{to_checksum_address(TOKEN_Y)}"
    # X is token0 and the base (no quote is preferred); no decimals are known: base units
    volume_x = sum(abs(int(e["amount0_in"]) - int(e["amount0_out"])) for e in unpriced.swaps)
    volume_y = sum(abs(int(e["amount1_in"]) - int(e["amount1_out"])) for e in unpriced.swaps)
    assert (ticker["base_volume"], ticker["target_volume"]) == (str(volume_x), str(volume_y))
    assets = unpriced.driver.inspect("/cmc/assets")
    assert [(a["name"], a["can_deposit"], a["can_withdraw"]) for a in assets.values()] == [
        (None, True, True),
        (None, True, True),
        (None, False, False),  # the LP token
    ]


def test_every_list_stops_at_500_rows_newest_first(unpriced: Unpriced) -> None:
    ticker = unpriced.driver.inspect("/coingecko/pairs")[0]["ticker_id"]
    full = unpriced.driver.inspect(f"/coingecko/historical_trades?ticker_id={ticker}&limit=0")
    trades = sorted(full["buy"] + full["sell"], key=lambda t: -t["trade_id"])
    assert len(trades) == 500 and trades[0]["trade_id"] == 510 and trades[-1]["trade_id"] == 11
    assert len(full["buy"]) == len(full["sell"]) == 250
    cmc = unpriced.driver.inspect(f"/cmc/trades/{ticker}")
    assert [t["trade_id"] for t in cmc] == list(range(510, 10, -1))
    # swap n (trade n + 1) pays Y for X when n is even: a buy of the base X
    assert all(t["type"] == ("buy" if t["trade_id"] % 2 else "sell") for t in cmc)


def test_a_pool_without_reserves_is_frozen_and_left_out_of_the_markets(tmp_path: Path) -> None:
    """No action empties a pool (1000 LP tokens stay locked for ever), so the state is written
    by hand into a database of its own."""
    database = tmp_path / "frozen.sqlite"
    app = Application(database, Config())
    driver = Driver(app)
    for token in (TOKEN_X, TOKEN_Y):
        driver.deposit(token, TRADER, 10**30)
    driver.act(
        TRADER,
        "add_liquidity",
        token_a=TOKEN_X,
        token_b=TOKEN_Y,
        token_a_desired=10**24,
        token_b_desired=10**24,
        token_a_min=0,
        token_b_min=0,
    )
    writer = sqlite3.connect(database)
    with writer:
        writer.execute("UPDATE pairs SET reserve0 = 0")
    writer.close()
    ticker_id = f"{to_checksum_address(TOKEN_X)}_{to_checksum_address(TOKEN_Y)}"
    assert driver.inspect("/cmc/ticker")[ticker_id]["isFrozen"] == 1
    assert driver.inspect("/coingecko/pairs") == []
    assert driver.inspect("/coingecko/tickers") == []
    assert driver.inspect("/cmc/summary") == []
    book_answer = driver.inspect(f"/coingecko/orderbook?ticker_id={ticker_id}")
    assert (book_answer["bids"], book_answer["asks"]) == ([], [])
    app.close()
