"""The market in the shapes CoinGecko and CoinMarketCap crawl (stats-routes §4.1–§4.9).

CoinGecko's DEX API (Integration Standards v8) and CoinMarketCap's DEX API (incl. its AMM
section) want pairs, 24h tickers, an order book and trades; these routes give them from the
market statistics, so an aggregator needs nothing but a gateway that unwraps the inspect report.
Addresses and ticker ids are EIP-55 like the rest of the API; amounts are whole tokens (base units
for a token without metadata); prices are target (CMC: quote) per base, 18 decimals, rounded
toward zero. Every window is the last 24 hours, `[as_of − 86400, as_of]`, both ends included.

An AMM has no orders, so the order book is the pool's own curve: the base the pool gives (asks)
or takes (bids) before its marginal price moves by each further 10 bps, computed from the
reserves with exact integer square roots, rounded so that it never shows more depth than the
curve has. Every list is bounded (at most 500 rows): inspect is synchronous.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import isqrt
from typing import TYPE_CHECKING, Any

from dapp.addresses import to_checksum_address
from dapp.errors import BadParameter
from dapp.stats.market import DAY_SECONDS, FEE_BPS, Market, MarketPair
from dapp.stats.numbers import fixed, percent_change, price
from dapp.stats.routes import MAX_ROWS, time_parameter
from dapp.store import decode_amount

if TYPE_CHECKING:
    from dapp.inspect import Inspector, Query

BPS = 10_000
ORDERBOOK_STEP_BPS = 10  # the marginal price moves this much from one level to the next
DEFAULT_DEPTH = 100  # levels on both sides together, as both standards count depth
TRADES_LIMIT = 200  # CoinGecko's historical_trades default
CMC_DEPTHS = (0, 5, 10, 20, 50, 100, 500)
CMC_LEVELS = (1, 2, 3)
TRADE_TYPES = ("buy", "sell")
FEE = "0.003"  # Uniswap V2's 0.3%, paid by the taker (an AMM has no maker)

Levels = list[list[str]]  # [[price, base quantity], …], best first


# --- shared figures ------------------------------------------------------------------------------
def _listed(market: Market) -> list[MarketPair]:
    """The pairs a crawler should see: those with both reserves, in order of creation."""
    return [p for p in market.pairs() if p.reserve0 and p.reserve1][:MAX_ROWS]


@dataclass(frozen=True)
class _Day:
    """One pair's last 24 hours, as both tickers and the CMC summary show them."""

    last: int | None
    bid: int | None
    ask: int | None
    volume_base: int
    volume_target: int
    high: int | None
    low: int | None
    open: int | None


def _day(market: Market, found: MarketPair) -> _Day:
    start = market.as_of - DAY_SECONDS
    window = market.window(found, start)
    volume_base, volume_target = found.oriented(window.volume0, window.volume1)
    last = market.last_price(found)
    bid, ask = market.bid_ask(market.mid_price(found, found.reserve0, found.reserve1))
    high, low = market.high_low(found, start)
    # a quiet day has traded at one price only: the last (stats-routes §4.2)
    return _Day(
        last=last,
        bid=bid,
        ask=ask,
        volume_base=volume_base,
        volume_target=volume_target,
        high=last if high is None else high,
        low=last if low is None else low,
        open=market.price_at_open(found, start),
    )


# --- the synthetic order book --------------------------------------------------------------------
def _ceil_sqrt(numerator: int, denominator: int) -> int:
    """⌈√(numerator / denominator)⌉, exactly."""
    square = -(-numerator // denominator)
    root = isqrt(square)
    return root if root * root == square else root + 1


def _book(market: Market, found: MarketPair, levels: int) -> tuple[Levels, Levels]:
    """(bids, asks): level i is the base traded while the pool's marginal price goes from
    P0·(1 ± (i−1)·s) to P0·(1 ± i·s), with x·y = k: the pool keeps x/√(1 ± i·s) of its x base.
    Quoted prices carry the fee, as a taker pays or gets them: P·(1+i·s)/(1−f), P·(1−i·s)·(1−f).
    The base given (asks) and taken (bids) up to each level are rounded down: the book never
    shows more depth than the curve has."""
    x, y = found.reserve_base, found.reserve_target
    decimals_base = market.config.decimals(found.base)
    decimals_target = market.config.decimals(found.target)
    bids: Levels = []
    asks: Levels = []
    if x == 0 or y == 0:
        return bids, asks
    given = taken = 0  # base the pool has given (asks) and taken (bids) up to the last level
    for i in range(1, levels + 1):
        up, down = BPS + i * ORDERBOOK_STEP_BPS, BPS - i * ORDERBOOK_STEP_BPS
        level_given = x - _ceil_sqrt(x * x * BPS, up)
        ask = price(y * up, decimals_target, x * (BPS - FEE_BPS), decimals_base)
        _add_level(market, found.base, asks, ask, level_given - given)
        given = level_given
        if down <= 0:
            continue  # no bid below a zero price
        level_taken = isqrt(x * x * BPS // down) - x
        bid = price(y * down * (BPS - FEE_BPS), decimals_target, x * BPS * BPS, decimals_base)
        _add_level(market, found.base, bids, bid, level_taken - taken)
        taken = level_taken
    return bids, asks


def _add_level(
    market: Market, base: bytes, side: Levels, quoted: int | None, quantity: int
) -> None:
    """Append a level unless it is empty (a pool too shallow to fill it)."""
    shown = fixed(quoted)
    if quantity > 0 and shown is not None:
        side.append([shown, market.amount(base, quantity)])


def _levels_per_side(depth: int) -> int:
    """Both standards count depth over both sides (100 → 50 bids and 50 asks); 0 is the
    default, and a side has at least one level."""
    return max(1, (depth or DEFAULT_DEPTH) // 2)


# --- trades --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Trade:
    trade_id: int
    ts: int
    input_index: int
    account: bytes
    volume_base: int
    volume_target: int
    buy: bool


def _greater(left: str, right: str) -> str:
    """SQL for `left > right` between two columns stored by dapp.store.encode_amount: INTEGER
    when it fits in 64 bits, else TEXT (digits, no leading zero), so a TEXT is the larger and two
    TEXTs compare by length, then by digits. Filtering in SQL keeps a typed page one index walk."""
    return (
        f"(CASE WHEN typeof({left}) = typeof({right}) THEN"
        f" CASE typeof({left}) WHEN 'integer' THEN {left} > {right}"
        f" ELSE length({left}) > length({right})"
        f" OR (length({left}) = length({right}) AND {left} > {right}) END"
        f" ELSE typeof({left}) = 'text' END)"
    )


def _trades(
    market: Market, found: MarketPair, start: int, end: int, limit: int, kind: str | None
) -> list[_Trade]:
    """The pair's swaps with start ≤ ts ≤ end, newest first; a buy took base out of the pool."""
    base = "0" if found.base_is_token0 else "1"
    bought = _greater(f"amount{base}_out", f"amount{base}_in")
    only = {None: "", "buy": f" AND {bought}", "sell": f" AND NOT {bought}"}[kind]
    rows = market.sql.execute(
        "SELECT s.id, s.ts, s.input_index, a.address, s.amount0_in, s.amount1_in,"
        " s.amount0_out, s.amount1_out FROM swap_log s JOIN addresses a ON a.id = s.account_id"
        f" WHERE s.pair_id = ? AND s.ts >= ? AND s.ts <= ?{only}"
        " ORDER BY s.ts DESC, s.id DESC LIMIT ?",
        (found.pair_id, start, end, limit),
    )
    trades = []
    for trade_id, ts, input_index, account, *stored in rows:
        volume_base, volume_target, buy = found.trade(*(decode_amount(value) for value in stored))
        trades.append(
            _Trade(trade_id, ts, input_index, bytes(account), volume_base, volume_target, buy)
        )
    return trades


def _trade_price(market: Market, found: MarketPair, trade: _Trade) -> str | None:
    """What the taker got: target per base of the trade itself, fee and slippage included."""
    return fixed(market.trade_price(found, trade.volume_base, trade.volume_target))


# --- CoinGecko -----------------------------------------------------------------------------------
def coingecko_pairs(inspector: Inspector, params: list[str], query: Query) -> list[dict[str, Any]]:
    """/coingecko/pairs (stats-routes §4.1): market discovery, with symbols as an extension."""
    market = inspector.market()
    return [
        {
            "ticker_id": found.ticker_id,
            "base": to_checksum_address(found.base),
            "target": to_checksum_address(found.target),
            "pool_id": to_checksum_address(found.address),
            "base_symbol": market.info(found.base).symbol,
            "target_symbol": market.info(found.target).symbol,
        }
        for found in _listed(market)
    ]


def coingecko_tickers(
    inspector: Inspector, params: list[str], query: Query
) -> list[dict[str, Any]]:
    """/coingecko/tickers (stats-routes §4.2): every pair's last 24 hours."""
    market = inspector.market()
    tickers = []
    for found in _listed(market):
        day = _day(market, found)
        tickers.append(
            {
                "ticker_id": found.ticker_id,
                "base_currency": to_checksum_address(found.base),
                "target_currency": to_checksum_address(found.target),
                "pool_id": to_checksum_address(found.address),
                "last_price": fixed(day.last),
                "base_volume": market.amount(found.base, day.volume_base),
                "target_volume": market.amount(found.target, day.volume_target),
                "liquidity_in_usd": market.usd(market.reserve_usd(found)[0]),
                "bid": fixed(day.bid),
                "ask": fixed(day.ask),
                "high": fixed(day.high),
                "low": fixed(day.low),
            }
        )
    return tickers


def coingecko_orderbook(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    """/coingecko/orderbook?ticker_id=&depth= (stats-routes §4.3)."""
    market = inspector.market()
    found = market.pair(_ticker_id(query))
    depth = query.integer("depth", 0, MAX_ROWS)
    bids, asks = _book(market, found, _levels_per_side(depth))
    return {
        "ticker_id": found.ticker_id,
        "timestamp": str(market.as_of * 1000),
        "bids": bids,
        "asks": asks,
    }


def coingecko_historical_trades(
    inspector: Inspector, params: list[str], query: Query
) -> dict[str, Any]:
    """/coingecko/historical_trades?ticker_id=&type=&limit=&start_time=&end_time= (§4.4)."""
    market = inspector.market()
    found = market.pair(_ticker_id(query))
    kind = query.text("type")
    if kind is not None and kind not in TRADE_TYPES:
        raise BadParameter(f"type must be buy or sell, got {kind!r}")
    limit = query.integer("limit", TRADES_LIMIT, MAX_ROWS) or MAX_ROWS  # 0: all there is, capped
    start = time_parameter(query, "start_time", market.as_of - DAY_SECONDS)
    end = time_parameter(query, "end_time", market.as_of)
    if start > end:
        raise BadParameter(f"start_time ({start}) is after end_time ({end})")
    pool = to_checksum_address(found.address)
    sides: dict[str, list[dict[str, Any]]] = {"buy": [], "sell": []}
    for trade in _trades(market, found, start, end, limit, kind):
        side = "buy" if trade.buy else "sell"
        sides[side].append(
            {
                "trade_id": trade.trade_id,
                "price": _trade_price(market, found, trade),
                "base_volume": market.amount(found.base, trade.volume_base),
                "target_volume": market.amount(found.target, trade.volume_target),
                "trade_timestamp": str(trade.ts * 1000),
                "type": side,
                "pool_id": pool,
                "account": to_checksum_address(trade.account),
                "input_index": trade.input_index,
            }
        )
    return sides


def _ticker_id(query: Query) -> str:
    ticker_id = query.text("ticker_id")
    if not ticker_id:
        raise BadParameter("ticker_id is required (base_target, as /coingecko/pairs lists them)")
    return ticker_id


# --- CoinMarketCap -------------------------------------------------------------------------------
def cmc_summary(inspector: Inspector, params: list[str], query: Query) -> list[dict[str, Any]]:
    """/cmc/summary (stats-routes §4.5): every pair's last 24 hours, with the price change
    since the window opened. Prices are strings, as everywhere in this API."""
    market = inspector.market()
    summary = []
    for found in _listed(market):
        day = _day(market, found)
        summary.append(
            {
                "trading_pairs": found.ticker_id,
                "base_currency": to_checksum_address(found.base),
                "quote_currency": to_checksum_address(found.target),
                "last_price": fixed(day.last),
                "lowest_ask": fixed(day.ask),
                "highest_bid": fixed(day.bid),
                "base_volume": market.amount(found.base, day.volume_base),
                "quote_volume": market.amount(found.target, day.volume_target),
                "price_change_percent_24h": fixed(percent_change(day.last, day.open)),
                "highest_price_24h": fixed(day.high),
                "lowest_price_24h": fixed(day.low),
            }
        )
    return summary


def cmc_assets(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    """/cmc/assets (stats-routes §4.6): every token the application holds, Ether and LP tokens
    included. An LP token exists only inside the application: no portal can deposit it and a
    withdrawal of it is refused (dapp.ledger), so both flags are false for it."""
    market = inspector.market()
    rows = market.sql.execute(
        "SELECT a.address, p.pair_id IS NOT NULL FROM tokens t"
        " JOIN addresses a ON a.id = t.token_id LEFT JOIN pairs p ON p.pair_id = t.token_id"
        " ORDER BY t.token_id LIMIT ?",
        (MAX_ROWS,),
    )
    assets: dict[str, Any] = {}
    for address, is_lp in rows:
        token = to_checksum_address(bytes(address))
        info = market.info(bytes(address))
        assets[token] = {
            "name": info.name,
            "symbol": info.symbol,
            "unified_cryptoasset_id": None,  # CMC's ids are not known inside the machine
            "can_withdraw": not is_lp,
            "can_deposit": not is_lp,
            "min_withdraw": "0",
            "max_withdraw": "0",
            "maker_fee": FEE,
            "taker_fee": FEE,
            "contractAddress": token,
        }
    return assets


def cmc_ticker(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    """/cmc/ticker (stats-routes §4.7, CMC's AMM sample): every pair, a pool without reserves
    listed as frozen (it cannot trade) rather than left out."""
    market = inspector.market()
    ticker: dict[str, Any] = {}
    for found in market.pairs()[:MAX_ROWS]:
        window = market.window(found, market.as_of - DAY_SECONDS)
        volume_base, volume_quote = found.oriented(window.volume0, window.volume1)
        base, quote = market.info(found.base), market.info(found.target)
        ticker[found.ticker_id] = {
            "base_id": to_checksum_address(found.base),
            "base_name": base.name,
            "base_symbol": base.symbol,
            "quote_id": to_checksum_address(found.target),
            "quote_name": quote.name,
            "quote_symbol": quote.symbol,
            "last_price": fixed(market.last_price(found)),
            "base_volume": market.amount(found.base, volume_base),
            "quote_volume": market.amount(found.target, volume_quote),
            "isFrozen": 0 if found.reserve0 and found.reserve1 else 1,
        }
    return ticker


def cmc_orderbook(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    """/cmc/orderbook/{base}_{quote}?depth=&level= (stats-routes §4.8): level 1 is the best bid
    and ask only; 2 and 3 are the same levels as CoinGecko's (an AMM has no single orders)."""
    market = inspector.market()
    found = market.pair(params[0])
    depth = _choice(query, "depth", 0, CMC_DEPTHS)
    level = _choice(query, "level", 2, CMC_LEVELS)
    bids, asks = _book(market, found, 1 if level == 1 else _levels_per_side(depth))
    return {"timestamp": market.as_of * 1000, "bids": bids, "asks": asks}


def cmc_trades(inspector: Inspector, params: list[str], query: Query) -> list[dict[str, Any]]:
    """/cmc/trades/{base}_{quote} (stats-routes §4.9): the last 24 hours, newest first."""
    market = inspector.market()
    found = market.pair(params[0])
    trades = _trades(market, found, market.as_of - DAY_SECONDS, market.as_of, MAX_ROWS, None)
    return [
        {
            "trade_id": trade.trade_id,
            "price": _trade_price(market, found, trade),
            "base_volume": market.amount(found.base, trade.volume_base),
            "quote_volume": market.amount(found.target, trade.volume_target),
            "timestamp": trade.ts * 1000,
            "type": "buy" if trade.buy else "sell",
        }
        for trade in trades
    ]


def _choice(query: Query, name: str, default: int, allowed: tuple[int, ...]) -> int:
    value = query.text(name)
    if value is None:
        return default
    if value not in {str(option) for option in allowed}:
        raise BadParameter(f"{name} must be one of {', '.join(map(str, allowed))}, got {value!r}")
    return int(value)


ROUTES: list[tuple[tuple[str, ...], Any]] = [
    (("coingecko", "pairs"), coingecko_pairs),
    (("coingecko", "tickers"), coingecko_tickers),
    (("coingecko", "orderbook"), coingecko_orderbook),
    (("coingecko", "historical_trades"), coingecko_historical_trades),
    (("cmc", "summary"), cmc_summary),
    (("cmc", "assets"), cmc_assets),
    (("cmc", "ticker"), cmc_ticker),
    (("cmc", "orderbook", "{market_pair}"), cmc_orderbook),
    (("cmc", "trades", "{market_pair}"), cmc_trades),
]
