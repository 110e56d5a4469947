"""The native market-statistics routes (stats-routes §4.10–§4.17): overview, pair view, pair
windows, candles, prices and rankings. Amounts are whole-token decimal strings (base units for a
token without metadata) with `_raw` base-unit twins where a client may compute with them; USD
figures are null unless a stablecoin is configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dapp.addresses import parse_address, to_checksum_address
from dapp.amm.pair import Pair
from dapp.amm.twamm import order_pool_address
from dapp.errors import BadParameter
from dapp.stats.buckets import PAIR_CANDLES, TOKEN_CANDLES, C, CandleTable, day_buckets
from dapp.stats.figures import DAY, HOUR, SPANS, PairCandle, TokenCandle
from dapp.stats.market import WINDOWS, Market, MarketPair, Window
from dapp.stats.numbers import fixed, percent_change, price, ratio, units

if TYPE_CHECKING:
    from dapp.inspect import Inspector, Query

MAX_ROWS = 500
DEFAULT_CANDLES = 100
YEAR = 365 * 86400


# --- the pair view (Uniswap's Pair) -------------------------------------------------------------
def pair_view(inspector: Inspector, market: Market, found: MarketPair, at: int) -> dict[str, Any]:
    """The full pair at `at` (its stream swaps executed up to then, in memory), with its
    lifetime statistics as of the last input. /pairs, /pair/{a}/{b} and /pairs/{pair} share it."""
    view = inspector.twamm.view(
        Pair(found.address, found.token0, found.token1, found.reserve0, found.reserve1), at
    )
    reserve0, reserve1 = view.pair.reserve0, view.pair.reserve1
    decimals0, decimals1 = (
        market.config.decimals(found.token0),
        market.config.decimals(found.token1),
    )
    lifetime = market.window(found, None)
    mints, burns = market.liquidity_counts(found, None)
    tracked, untracked = market.reserve_usd(found)
    reference_price = (
        None
        if market.config.reference_token is None
        else market.pricing.usd(market.config.reference_token)
    )
    return {
        "id": to_checksum_address(found.address),
        "token0": market.token_json(found.token0),
        "token1": market.token_json(found.token1),
        "reserve0": market.amount(found.token0, reserve0),
        "reserve1": market.amount(found.token1, reserve1),
        "reserve0_raw": str(reserve0),
        "reserve1_raw": str(reserve1),
        "total_supply": str(inspector.pairs.total_supply(view.pair)),
        # the subgraph's names: token0_price = reserve0/reserve1, what one token1 costs in token0
        "token0_price": fixed(price(reserve0, decimals0, reserve1, decimals1)),
        "token1_price": fixed(price(reserve1, decimals1, reserve0, decimals0)),
        "reserve_ref": _in_reference(market, untracked, reference_price),
        "reserve_usd": market.usd(untracked),
        "tracked_reserve_ref": _in_reference(market, tracked, reference_price),
        "tracked_reserve_usd": market.usd(tracked),
        "volume_token0": market.amount(found.token0, lifetime.volume0),
        "volume_token1": market.amount(found.token1, lifetime.volume1),
        "volume_usd": market.usd(lifetime.volume_usd),
        "untracked_volume_usd": market.usd(lifetime.volume_usd_untracked),
        "fees_usd": market.usd(lifetime.fees_usd),
        "tx_count": str(lifetime.swap_count + mints + burns),
        "swap_count": str(lifetime.swap_count),
        "liquidity_provider_count": market.liquidity_providers(found),
        "created_at_timestamp": found.created_at,
        "created_at_input_index": found.created_input,
        "ticker_id": found.ticker_id,
        "base": to_checksum_address(found.base),
        "target": to_checksum_address(found.target),
        "order_pools": {
            "account": to_checksum_address(order_pool_address(found.address)),
            "sale_rate0": str(view.pool.sale_rate0),
            "sale_rate1": str(view.pool.sale_rate1),
        },
        "at": at,
    }


def _in_reference(market: Market, usd: int, reference_price: int | None) -> str | None:
    if not market.priced or not reference_price:
        return None
    return fixed(ratio(usd, reference_price))


def pair_route(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    market = inspector.market()
    return pair_view(inspector, market, market.pair(params[0]), inspector.at(query))


# --- windows -------------------------------------------------------------------------------------
def overview(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    """/stats: the whole exchange over a window (Uniswap's factory and day data, PowerLoom)."""
    market = inspector.market()
    name, start = market.window_start(query.text("window"))
    length = WINDOWS[name]
    pairs = market.pairs()
    now, before, lifetime = Window(), Window(), Window()
    mints = burns = lifetime_liquidity = 0
    tvl = untracked_tvl = 0
    tokens: set[bytes] = set()
    for found in pairs:
        now += market.window(found, start)
        lifetime += market.window(found, None)
        if start is not None and length is not None:
            before += market.window(found, start - length, start - 1)
        pair_mints, pair_burns = market.liquidity_counts(found, start)
        mints, burns = mints + pair_mints, burns + pair_burns
        lifetime_liquidity += sum(market.liquidity_counts(found, None))
        tracked, untracked = market.reserve_usd(found)
        tvl, untracked_tvl = tvl + tracked, untracked_tvl + untracked
        tokens.update((found.token0, found.token1))
    previous_tvl = None if start is None else market.tvl_before(start)
    reference = market.config.reference_token
    return {
        "as_of": market.as_of,
        "window": name,
        "from": start,
        "pair_count": len(pairs),
        "token_count": len(tokens),
        "tx_count": str(now.swap_count + mints + burns),
        "swap_count": str(now.swap_count),
        "mint_count": str(mints),
        "burn_count": str(burns),
        "volume_usd": market.usd(now.volume_usd),
        "volume_usd_untracked": market.usd(now.volume_usd_untracked),
        "fees_usd": market.usd(now.fees_usd),
        "tvl_usd": market.usd(tvl),
        "reserve_usd_untracked": market.usd(untracked_tvl),
        "volume_change_pct": _change(market, now.volume_usd, before.volume_usd, start),
        "tvl_change_pct": _change(market, tvl, previous_tvl, start),
        "fees_change_pct": _change(market, now.fees_usd, before.fees_usd, start),
        "unique_traders": market.unique_traders(None, start),
        "unique_lps": market.unique_providers(None, start),
        "lifetime": {
            "volume_usd": market.usd(lifetime.volume_usd),
            "volume_usd_untracked": market.usd(lifetime.volume_usd_untracked),
            "fees_usd": market.usd(lifetime.fees_usd),
            "tx_count": str(lifetime.swap_count + lifetime_liquidity),
        },
        "reference_price_usd": market.usd(
            None if reference is None else market.pricing.usd(reference)
        ),
    }


def _change(market: Market, now: int, before: int | None, start: int | None) -> str | None:
    if not market.priced or start is None:
        return None
    return fixed(percent_change(now, before))


def pair_stats(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    """/pairs/{pair}/stats: one pair over a window (PowerLoom's trade aggregate, Komodo)."""
    market = inspector.market()
    found = market.pair(params[0])
    name, start = market.window_start(query.text("window"))
    window = market.window(found, start)
    mints, burns = market.liquidity_counts(found, start)
    buys = window.buy_count
    close = market.last_price(found)
    opened = market.price_at_open(found, start or 0)  # all history: after its first swap
    high, low = market.high_low(found, start if start is not None else found.created_at)
    tracked, untracked = market.reserve_usd(found)
    previous_tracked = None  # the pair's tracked reserve at the window's start
    if start is not None:
        previous_tracked = _pair_reserve_usd_before(market, found, start)
    length = WINDOWS[name] or max(1, market.as_of - found.created_at)
    fee_apr = None
    if market.priced and tracked:
        fee_apr = ratio(window.fees_usd * YEAR * 100, tracked * length)
    volume_base, volume_target = found.oriented(window.volume0, window.volume1)
    return {
        "pair": to_checksum_address(found.address),
        "as_of": market.as_of,
        "window": name,
        "from": start,
        "volume_token0": market.amount(found.token0, window.volume0),
        "volume_token1": market.amount(found.token1, window.volume1),
        "volume_base": market.amount(found.base, volume_base),
        "volume_target": market.amount(found.target, volume_target),
        "volume_usd": market.usd(window.volume_usd),
        "volume_usd_untracked": market.usd(window.volume_usd_untracked),
        "fees_usd": market.usd(window.fees_usd),
        "fees_token0": _fee(market, found.token0, window.in0),
        "fees_token1": _fee(market, found.token1, window.in1),
        "swap_count": window.swap_count,
        "buy_count": buys,
        "sell_count": window.swap_count - buys,
        "mint_count": mints,
        "burn_count": burns,
        "unique_traders": market.unique_traders(found, start),
        "price_open": fixed(opened),
        "price_high": fixed(high),
        "price_low": fixed(low),
        "price_close": fixed(close),
        "price_change": fixed(None if close is None or opened is None else close - opened),
        "price_change_pct": fixed(percent_change(close, opened)),
        "reserve_usd": market.usd(untracked),
        "tracked_reserve_usd": market.usd(tracked),
        "tracked_reserve_usd_change_pct": (
            fixed(percent_change(tracked, previous_tracked)) if market.priced else None
        ),
        "fee_apr_pct": fixed(fee_apr),
    }


def _fee(market: Market, token: bytes, paid_in: int) -> str:
    """0.3% of what was paid in, exactly: three thousandths more decimals than the token's."""
    return units(paid_in * 3, market.config.decimals(token) + 3)


def _pair_reserve_usd_before(market: Market, found: MarketPair, start: int) -> int | None:
    """The pair's tracked reserve USD at the close of its last hour before the window."""
    row = market.sql.execute(
        "SELECT data FROM pair_candles WHERE pair_id = ? AND span = ? AND start < ?"
        " ORDER BY start DESC LIMIT 1",
        (found.pair_id, HOUR, start - start % HOUR),
    ).fetchone()
    return None if row is None else PairCandle.load(row[0]).reserve_usd


# --- candles -------------------------------------------------------------------------------------
def _candle_range(market: Market, query: Query) -> tuple[int, int, int, int]:
    """(span, start_time, end_time, limit) of a candle request."""
    interval = query.text("interval") or "1h"
    if interval not in SPANS:
        raise BadParameter(f"interval must be 1h or 1d, got {interval!r}")
    span = SPANS[interval]
    end = time_parameter(query, "end_time", market.as_of)
    start = time_parameter(query, "start_time", 0)
    return span, start, end, limit_parameter(query, DEFAULT_CANDLES)


def time_parameter(query: Query, name: str, default: int) -> int:
    """Seconds; a value of 10**12 or more is read as milliseconds (stats-routes §0)."""
    value = query.integer(name, default, 2**63 - 1)
    return value // 1000 if value >= 10**12 else value


def _buckets(
    market: Market,
    where: CandleTable[C],
    subject_id: int,
    span: int,
    first: int,
    last: int,
    limit: int,
) -> list[tuple[int, C]]:
    """A page of a subject's buckets with first ≤ start ≤ last, and one more if there is one."""
    if span == DAY:
        return day_buckets(market.sql, where, subject_id, first, last, limit + 1)
    rows = market.sql.execute(
        f"SELECT start, data FROM {where.table} WHERE {where.column} = ? AND span = ?"
        " AND start >= ? AND start <= ? ORDER BY start LIMIT ?",
        (subject_id, span, first, last, limit + 1),
    ).fetchall()
    return [(start, where.kind.load(data)) for start, data in rows]


def pair_candles(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    market = inspector.market()
    found = market.pair(params[0])
    span, start, end, limit = _candle_range(market, query)
    cursor = query.integer("cursor", 0, 2**63 - 1)
    rows = _buckets(
        market, PAIR_CANDLES, found.pair_id, span, max(start - start % span, cursor), end, limit
    )
    out = []
    for period, candle in rows[:limit]:
        prices = [
            market.mid_price(found, r0, r1)
            for r0, r1 in (
                (candle.open0, candle.open1),
                (candle.high0, candle.high1),
                (candle.low0, candle.low1),
                (candle.close0, candle.close1),
            )
        ]
        high, low = (prices[1], prices[2]) if found.base_is_token0 else (prices[2], prices[1])
        out.append(
            {
                "period_start": period,
                "reserve0": market.amount(found.token0, candle.reserve0),
                "reserve1": market.amount(found.token1, candle.reserve1),
                "total_supply": str(candle.supply),
                "reserve_usd": market.usd(candle.reserve_usd),
                "volume_token0": market.amount(found.token0, candle.volume0),
                "volume_token1": market.amount(found.token1, candle.volume1),
                "volume_usd": market.usd(candle.volume_usd),
                "volume_usd_untracked": market.usd(candle.volume_usd_untracked),
                "fees_usd": market.usd(candle.fees_usd),
                "swap_count": candle.swap_count,
                "tx_count": candle.tx_count,
                "open": fixed(prices[0]),
                "high": fixed(high),
                "low": fixed(low),
                "close": fixed(prices[3]),
            }
        )
    return {
        "pair": to_checksum_address(found.address),
        "interval": "1h" if span == 3600 else "1d",
        "base": to_checksum_address(found.base),
        "target": to_checksum_address(found.target),
        "rows": out,
        "next_cursor": rows[limit][0] if len(rows) > limit else None,
    }


def token_candles(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    market = inspector.market()
    token = parse_address(params[0])
    span, start, end, limit = _candle_range(market, query)
    cursor = query.integer("cursor", 0, 2**63 - 1)
    token_id = market.store.address_id(token)
    rows: list[tuple[int, TokenCandle]] = []
    if token_id is not None:
        first = max(start - start % span, cursor)
        rows = _buckets(market, TOKEN_CANDLES, token_id, span, first, end, limit)
    out = []
    for period, candle in rows[:limit]:
        out.append(
            {
                "period_start": period,
                "price_usd_open": market.usd(candle.price_open),
                "price_usd_high": market.usd(candle.price_high),
                "price_usd_low": market.usd(candle.price_low),
                "price_usd_close": market.usd(candle.price_close),
                "volume": market.amount(token, candle.volume),
                "volume_usd": market.usd(candle.volume_usd),
                "untracked_volume_usd": market.usd(candle.volume_usd_untracked),
                "fees_usd": market.usd(candle.fees_usd),
                "total_liquidity": market.amount(token, candle.liquidity),
                "total_liquidity_usd": market.usd(candle.liquidity_usd),
                "tx_count": candle.tx_count,
            }
        )
    return {
        "token": to_checksum_address(token),
        "interval": "1h" if span == 3600 else "1d",
        "rows": out,
        "next_cursor": rows[limit][0] if len(rows) > limit else None,
    }


# --- prices and rankings -------------------------------------------------------------------------
def prices(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    """/prices: how every USD figure was priced (Uniswap's Bundle and derivedETH, shown)."""
    market = inspector.market()
    config = market.config
    reference = config.reference_token
    reference_price = None if reference is None else market.pricing.usd(reference)
    breakdown = market.pricing.reference_breakdown()
    held = sum(row[2] for row in breakdown)
    tokens: dict[str, Any] = {}
    seen: list[bytes] = []
    for found in market.pairs():
        for token in (found.token0, found.token1):
            if token not in seen:
                seen.append(token)
    for token in sorted(seen):
        quote = market.pricing.quote(token)
        tokens[to_checksum_address(token)] = {
            "symbol": config.info(token).symbol,
            "derived_ref": (
                fixed(ratio(quote.usd, reference_price))
                if quote.usd is not None and reference_price
                else None
            ),
            "price_usd": market.usd(quote.usd),
            "priced_via": quote.via,
            "via_pair": None if quote.via_pair is None else to_checksum_address(quote.via_pair),
        }
    return {
        "as_of": market.as_of,
        "stablecoins": [to_checksum_address(token) for token in config.stablecoins],
        "reference_token": None if reference is None else to_checksum_address(reference),
        "reference_price_usd": market.usd(reference_price),
        "stable_pairs": [
            {
                "pair": to_checksum_address(pair),
                "stable": to_checksum_address(stable),
                "price": fixed(
                    price(
                        reserve_stable,
                        config.decimals(stable),
                        reserve_reference,
                        config.decimals(reference) if reference else 0,
                    )
                ),
                "weight": fixed(ratio(reserve_reference, held)),
            }
            for pair, stable, reserve_reference, reserve_stable in breakdown
        ],
        "tokens": tokens,
    }


TOP_PAIRS_BY = ("liquidity", "volume", "fees", "swaps")
TOP_TOKENS_BY = ("liquidity", "volume")


def top_pairs(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    market = inspector.market()
    name, start = market.window_start(query.text("window"))
    by = query.text("by") or "volume"
    if by not in TOP_PAIRS_BY:
        raise BadParameter(f"by must be one of {', '.join(TOP_PAIRS_BY)}, got {by!r}")
    limit = limit_parameter(query, 10)
    ranked = []
    for found in market.pairs():
        window = market.window(found, start)
        tracked, _ = market.reserve_usd(found)
        key = {
            "liquidity": tracked,
            "volume": window.volume_usd,
            "fees": window.fees_usd,
            "swaps": window.swap_count,
        }[by]
        ranked.append((-key, found.address, found, window, tracked))
    ranked.sort(key=lambda entry: (entry[0], entry[1]))
    return {
        "as_of": market.as_of,
        "window": name,
        "by": by,
        "rows": [
            {
                "rank": rank,
                "address": to_checksum_address(found.address),
                "name": _pair_name(market, found),
                "ticker_id": found.ticker_id,
                "liquidity_usd": market.usd(tracked),
                "volume_usd": market.usd(window.volume_usd),
                "fees_usd": market.usd(window.fees_usd),
                "swap_count": window.swap_count,
            }
            for rank, (_, _, found, window, tracked) in enumerate(ranked[:limit], start=1)
        ],
    }


def top_tokens(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    market = inspector.market()
    name, start = market.window_start(query.text("window"))
    by = query.text("by") or "liquidity"
    if by not in TOP_TOKENS_BY:
        raise BadParameter(f"by must be one of {', '.join(TOP_TOKENS_BY)}, got {by!r}")
    limit = limit_parameter(query, 10)
    figures: dict[bytes, list[int]] = {}  # token → [liquidity, volume]
    for found in market.pairs():
        window = market.window(found, start)
        for token, reserve, volume in (
            (found.token0, found.reserve0, window.volume0),
            (found.token1, found.reserve1, window.volume1),
        ):
            entry = figures.setdefault(token, [0, 0])
            entry[0] += reserve
            entry[1] += volume
    ranked = []
    for token, (liquidity, volume) in figures.items():
        # both valued at the token's current price (PowerLoom's top tokens)
        liquidity_usd = market.pricing.value(token, liquidity) or 0
        volume_usd = market.pricing.value(token, volume) or 0
        key = liquidity_usd if by == "liquidity" else volume_usd
        ranked.append((-key, token, liquidity, liquidity_usd, volume, volume_usd))
    ranked.sort(key=lambda entry: (entry[0], entry[1]))
    return {
        "as_of": market.as_of,
        "window": name,
        "by": by,
        "rows": [
            {
                "rank": rank,
                "address": to_checksum_address(token),
                "symbol": market.info(token).symbol,
                "price_usd": market.usd(market.pricing.usd(token)),
                "liquidity": market.amount(token, liquidity),
                "liquidity_usd": market.usd(liquidity_usd),
                "volume": market.amount(token, volume),
                "volume_usd": market.usd(volume_usd),
            }
            for rank, (_, token, liquidity, liquidity_usd, volume, volume_usd) in enumerate(
                ranked[:limit], start=1
            )
        ],
    }


def _pair_name(market: Market, found: MarketPair) -> str:
    def symbol(token: bytes) -> str:
        return market.info(token).symbol or to_checksum_address(token)

    return f"{symbol(found.base)}-{symbol(found.target)}"


def limit_parameter(query: Query, default: int) -> int:
    """A page's `limit`: 1 to MAX_ROWS rows (every stats list is bounded)."""
    limit = query.integer("limit", default, 2**63 - 1)
    if not 1 <= limit <= MAX_ROWS:
        raise BadParameter(f"limit must be from 1 to {MAX_ROWS}, got {limit}")
    return limit


ROUTES: list[tuple[tuple[str, ...], Any]] = [
    (("stats",), overview),
    (("pairs", "{pair}"), pair_route),
    (("pairs", "{pair}", "stats"), pair_stats),
    (("pairs", "{pair}", "candles"), pair_candles),
    (("tokens", "{token}", "candles"), token_candles),
    (("prices",), prices),
    (("top", "pairs"), top_pairs),
    (("top", "tokens"), top_tokens),
]
