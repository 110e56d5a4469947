"""Issue #7 "Must show" (1) and (3): every native statistics route on the checked-in market.

The scenario (tests/market_scenario.py) is fed to the application; each route's answer is then
checked field by field against tests/stats_reference.py, a separate brute-force replay of the
scenario's notices that shares no code with dapp/stats. USD figures are compared exactly, as
decimal strings: the model reproduces the documented fixed-point arithmetic (10**18, rounded
down). Replaying the inputs gives byte-identical statistics, and no route writes anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from dapp.addresses import to_checksum_address
from dapp.amm.twamm import order_pool_address
from dapp.stats.buckets import PAIR_CANDLES, TOKEN_CANDLES, CandleTable
from dapp.stats.figures import PairCandle
from dapp.stats.record import Recorder
from tests import market_scenario as ms
from tests.stats_reference import (
    DAY,
    HOUR,
    WINDOWS,
    Model,
    PairBucket,
    SwapRecord,
    TokenBucket,
    Tokens,
    change_pct,
    period_start,
    shown,
    to_fixed,
    worth,
)

YEAR = 365 * DAY
PAIR_NAMES = ("WETH/USDC", "WETH/DAI", "CTSI/WETH", "JUNK/GUNK")
TOKEN_PAIRS = {
    "WETH/USDC": (ms.WETH, ms.USDC),
    "WETH/DAI": (ms.WETH, ms.DAI),
    "CTSI/WETH": (ms.CTSI, ms.WETH),
    "JUNK/GUNK": (ms.JUNK, ms.GUNK),
}
ALL_TOKENS = (ms.USDC, ms.DAI, ms.WETH, ms.CTSI, ms.JUNK, ms.GUNK)
TOKEN_IDS = dict(zip(ALL_TOKENS, ("USDC", "DAI", "WETH", "CTSI", "JUNK", "GUNK"), strict=True))
SPANS = {"1h": HOUR, "1d": DAY}


def cs(address: bytes) -> str:
    return to_checksum_address(address)


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ms.Scenario]:
    built = ms.build(tmp_path_factory.mktemp("market"))
    yield built
    built.app.close()


@pytest.fixture(scope="module")
def model(scenario: ms.Scenario) -> Model:
    tokens = Tokens(
        decimals={a: i.decimals for a, i in ms.TOKENS.items() if i.decimals is not None},
        symbols={a: i.symbol for a, i in ms.TOKENS.items() if i.symbol is not None},
        stablecoins=(ms.USDC, ms.DAI),
        reference=ms.WETH,
    )
    return Model(tokens, scenario.notices)


def pair_of(model: Model, name: str) -> bytes:
    a, b = TOKEN_PAIRS[name]
    (found,) = (p.address for p in model.pairs.values() if {p.token0, p.token1} == {a, b})
    return found


def get(scenario: ms.Scenario, path: str) -> Any:
    return ms.inspect(scenario, path)


def assert_fields(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """Same keys in the same order, and every field equal (all mismatches listed at once)."""
    assert list(actual) == list(expected)
    wrong = {k: (actual[k], expected[k]) for k in expected if actual[k] != expected[k]}
    assert wrong == {}, "fields differ (actual, expected)"


# --- expected answers, from the model ---------------------------------------------------------
def usd(value: int | None) -> str | None:
    return shown(value)


def amount(model: Model, token: bytes, raw: int) -> str:
    text = shown(raw, model.tokens.dec(token))
    assert text is not None
    return text


def token_json(token: bytes) -> dict[str, Any]:
    info = ms.TOKENS.get(token)
    return {
        "id": cs(token),
        "symbol": None if info is None else info.symbol,
        "name": None if info is None else info.name,
        "decimals": None if info is None else info.decimals,
    }


def totals(swaps: list[SwapRecord]) -> dict[str, int]:
    return {
        "volume0": sum(s.volume0 for s in swaps),
        "volume1": sum(s.volume1 for s in swaps),
        "in0": sum(s.in0 for s in swaps),
        "in1": sum(s.in1 for s in swaps),
        "usd": sum(s.tracked for s in swaps),
        "untracked": sum(s.untracked for s in swaps),
        "fees": sum(s.fee for s in swaps),
    }


def window_swaps(model: Model, start: int | None, end: int | None = None) -> list[SwapRecord]:
    last = model.as_of if end is None else end
    return [s for s in model.swaps if (start is None or s.ts >= start) and s.ts <= last]


def expected_overview(model: Model, window: str) -> dict[str, Any]:
    start, length = model.start(window), WINDOWS[window]
    now = totals(window_swaps(model, start))
    swaps = window_swaps(model, start)
    before = (
        None
        if start is None or length is None
        else totals(window_swaps(model, start - length, start - 1))
    )
    liquidity = model.pair_liquidity(None, start)
    reserves = [model.reserve_usd(p, model.quotes) for p in model.pairs.values()]
    tvl = sum(tracked for tracked, _ in reserves)
    lifetime = totals(model.swaps)
    reference = model.quotes[ms.WETH].usd

    def change(now_value: int, before_value: int | None) -> str | None:
        return None if start is None else shown(change_pct(now_value, before_value))

    return {
        "as_of": model.as_of,
        "window": window,
        "from": start,
        "pair_count": len(model.pairs),
        "token_count": len({t for p in model.pairs.values() for t in (p.token0, p.token1)}),
        "tx_count": str(len(swaps) + len(liquidity)),
        "swap_count": str(len(swaps)),
        "mint_count": str(sum(not r.burn for r in liquidity)),
        "burn_count": str(sum(r.burn for r in liquidity)),
        "volume_usd": usd(now["usd"]),
        "volume_usd_untracked": usd(now["untracked"]),
        "fees_usd": usd(now["fees"]),
        "tvl_usd": usd(tvl),
        "reserve_usd_untracked": usd(sum(untracked for _, untracked in reserves)),
        "volume_change_pct": change(now["usd"], None if before is None else before["usd"]),
        "tvl_change_pct": change(tvl, None if start is None else model.tvl_before(start)),
        "fees_change_pct": change(now["fees"], None if before is None else before["fees"]),
        "unique_traders": len({s.taker for s in swaps if not s.stream}),
        "unique_lps": len({r.account for r in liquidity}),
        "lifetime": {
            "volume_usd": usd(lifetime["usd"]),
            "volume_usd_untracked": usd(lifetime["untracked"]),
            "fees_usd": usd(lifetime["fees"]),
            "tx_count": str(len(model.swaps) + len(model.liquidity)),
        },
        "reference_price_usd": usd(reference),
    }


def expected_pair_view(model: Model, pair: bytes) -> dict[str, Any]:
    state = model.pairs[pair]
    token0, token1 = state.token0, state.token1
    dec0, dec1 = model.tokens.dec(token0), model.tokens.dec(token1)
    base, target = model.tokens.base_target(token0, token1)
    tracked, untracked = model.reserve_usd(state, model.quotes)
    reference = model.quotes[ms.WETH].usd
    assert reference
    lifetime = totals(model.pair_swaps(pair, None))
    swaps, liquidity = model.pair_swaps(pair, None), model.pair_liquidity(pair, None)
    live = [o for o in model.orders.values() if o.pair == pair and o.live(model.as_of)]
    return {
        "id": cs(pair),
        "token0": token_json(token0),
        "token1": token_json(token1),
        "reserve0": amount(model, token0, state.reserve0),
        "reserve1": amount(model, token1, state.reserve1),
        "reserve0_raw": str(state.reserve0),
        "reserve1_raw": str(state.reserve1),
        "total_supply": str(state.supply),
        "token0_price": shown(
            to_fixed(Fraction(state.reserve0 * 10**dec1, state.reserve1 * 10**dec0))
        ),
        "token1_price": shown(
            to_fixed(Fraction(state.reserve1 * 10**dec0, state.reserve0 * 10**dec1))
        ),
        "reserve_ref": shown(to_fixed(Fraction(untracked, reference))),
        "reserve_usd": usd(untracked),
        "tracked_reserve_ref": shown(to_fixed(Fraction(tracked, reference))),
        "tracked_reserve_usd": usd(tracked),
        "volume_token0": amount(model, token0, lifetime["volume0"]),
        "volume_token1": amount(model, token1, lifetime["volume1"]),
        "volume_usd": usd(lifetime["usd"]),
        "untracked_volume_usd": usd(lifetime["untracked"]),
        "fees_usd": usd(lifetime["fees"]),
        "tx_count": str(len(swaps) + len(liquidity)),
        "swap_count": str(len(swaps)),
        "liquidity_provider_count": state.providers(),
        "created_at_timestamp": state.created_at,
        "created_at_input_index": state.created_input,
        "ticker_id": f"{cs(base)}_{cs(target)}",
        "base": cs(base),
        "target": cs(target),
        "order_pools": {
            "account": cs(model.pools.get(pair) or order_pool_address(pair)),
            "sale_rate0": str(sum(o.sale_rate for o in live if o.token_in == token0)),
            "sale_rate1": str(sum(o.sale_rate for o in live if o.token_in == token1)),
        },
        "at": model.as_of,
    }


def opening_price(model: Model, pair: bytes, start: int | None) -> int | None:
    """After the last swap before the window, else after its first swap."""
    swaps = sorted(model.pair_swaps(pair, None), key=lambda s: (s.ts, s.seq))
    earlier = [s for s in swaps if start is not None and s.ts < start]
    inside = [s for s in swaps if start is None or s.ts >= start]
    chosen = earlier[-1] if earlier else inside[0] if inside else None
    return None if chosen is None else model.mid(pair, chosen.reserve0, chosen.reserve1)


def closing_price(model: Model, pair: bytes) -> int | None:
    swaps = sorted(model.pair_swaps(pair, None), key=lambda s: (s.ts, s.seq))
    state = model.pairs[pair]
    if not swaps:
        return model.mid(pair, state.reserve0, state.reserve1)
    return model.mid(pair, swaps[-1].reserve0, swaps[-1].reserve1)


def expected_pair_stats(model: Model, pair: bytes, window: str) -> dict[str, Any]:
    state = model.pairs[pair]
    token0, token1 = state.token0, state.token1
    base, target = model.tokens.base_target(token0, token1)
    start = model.start(window)
    swaps = model.pair_swaps(pair, start)
    liquidity = model.pair_liquidity(pair, start)
    sums = totals(swaps)
    volume_base, volume_target = (
        (sums["volume0"], sums["volume1"]) if base == token0 else (sums["volume1"], sums["volume0"])
    )
    buys = sum(model.is_buy(s) for s in swaps)
    opened, close = opening_price(model, pair, start), closing_price(model, pair)
    high, low = model.high_low(pair, start)
    tracked, untracked = model.reserve_usd(state, model.quotes)
    before = None
    if start is not None:
        hours = [b for b in model.pair_candles(pair, HOUR) if b.start < period_start(start)]
        before = hours[-1].reserve_usd if hours else None
    length = WINDOWS[window] or max(1, model.as_of - state.created_at)
    fees = sums["fees"]
    return {
        "pair": cs(pair),
        "as_of": model.as_of,
        "window": window,
        "from": start,
        "volume_token0": amount(model, token0, sums["volume0"]),
        "volume_token1": amount(model, token1, sums["volume1"]),
        "volume_base": amount(model, base, volume_base),
        "volume_target": amount(model, target, volume_target),
        "volume_usd": usd(sums["usd"]),
        "volume_usd_untracked": usd(sums["untracked"]),
        "fees_usd": usd(fees),
        "fees_token0": shown(sums["in0"] * 3, model.tokens.dec(token0) + 3),
        "fees_token1": shown(sums["in1"] * 3, model.tokens.dec(token1) + 3),
        "swap_count": len(swaps),
        "buy_count": buys,
        "sell_count": len(swaps) - buys,
        "mint_count": sum(not r.burn for r in liquidity),
        "burn_count": sum(r.burn for r in liquidity),
        "unique_traders": len({s.taker for s in swaps if not s.stream}),
        "price_open": shown(opened),
        "price_high": shown(high),
        "price_low": shown(low),
        "price_close": shown(close),
        "price_change": shown(None if close is None or opened is None else close - opened),
        "price_change_pct": shown(change_pct(close, opened)),
        "reserve_usd": usd(untracked),
        "tracked_reserve_usd": usd(tracked),
        "tracked_reserve_usd_change_pct": shown(change_pct(tracked, before)),
        "fee_apr_pct": (
            shown(to_fixed(Fraction(fees * YEAR * 100, tracked * length))) if tracked else None
        ),
    }


def pair_candle_row(model: Model, pair: bytes, bucket: PairBucket) -> dict[str, Any]:
    state = model.pairs[pair]
    sums = totals(bucket.swaps)
    prices = [p for p in bucket.prices if p is not None]
    return {
        "period_start": bucket.start,
        "reserve0": amount(model, state.token0, bucket.close[0]),
        "reserve1": amount(model, state.token1, bucket.close[1]),
        "total_supply": str(bucket.supply),
        "reserve_usd": usd(bucket.reserve_usd),
        "volume_token0": amount(model, state.token0, sums["volume0"]),
        "volume_token1": amount(model, state.token1, sums["volume1"]),
        "volume_usd": usd(sums["usd"]),
        "volume_usd_untracked": usd(sums["untracked"]),
        "fees_usd": usd(sums["fees"]),
        "swap_count": len(bucket.swaps),
        "tx_count": bucket.tx_count,
        "open": shown(bucket.prices[0] if bucket.prices else None),
        "high": shown(max(prices, default=None)),
        "low": shown(min(prices, default=None)),
        "close": shown(bucket.prices[-1] if bucket.prices else None),
    }


def token_candle_row(model: Model, token: bytes, bucket: TokenBucket) -> dict[str, Any]:
    prices = bucket.prices
    return {
        "period_start": bucket.start,
        "price_usd_open": usd(prices[0] if prices else None),
        "price_usd_high": usd(max(prices, default=None)),
        "price_usd_low": usd(min(prices, default=None)),
        "price_usd_close": usd(prices[-1] if prices else None),
        "volume": amount(model, token, bucket.volume),
        "volume_usd": usd(bucket.volume_usd),
        "untracked_volume_usd": usd(bucket.untracked_usd),
        "fees_usd": usd(bucket.fees_usd),
        "total_liquidity": amount(model, token, bucket.liquidity),
        "total_liquidity_usd": usd(bucket.liquidity_usd),
        "tx_count": bucket.tx_count,
    }


def expected_prices(model: Model) -> dict[str, Any]:
    reference = model.quotes[ms.WETH].usd
    assert reference
    rows = []
    for stable in (ms.USDC, ms.DAI):
        state = model.pairs[pair_of(model, "WETH/USDC" if stable == ms.USDC else "WETH/DAI")]
        rows.append((state.address, stable, state.reserve_of(ms.WETH), state.reserve_of(stable)))
    held = sum(row[2] for row in rows)
    tokens = {}
    for token in sorted(ALL_TOKENS):
        quote = model.quotes[token]
        tokens[cs(token)] = {
            "symbol": model.tokens.symbols.get(token),
            "derived_ref": (
                None if quote.usd is None else shown(to_fixed(Fraction(quote.usd, reference)))
            ),
            "price_usd": usd(quote.usd),
            "priced_via": quote.via,
            "via_pair": None if quote.via_pair is None else cs(quote.via_pair),
        }
    return {
        "as_of": model.as_of,
        "stablecoins": [cs(ms.USDC), cs(ms.DAI)],
        "reference_token": cs(ms.WETH),
        "reference_price_usd": usd(reference),
        "stable_pairs": [
            {
                "pair": cs(pair),
                "stable": cs(stable),
                "price": shown(
                    to_fixed(Fraction(r_stable * 10**18, r_ref * 10 ** model.tokens.dec(stable)))
                ),
                "weight": shown(to_fixed(Fraction(r_ref, held))),
            }
            for pair, stable, r_ref, r_stable in rows
        ],
        "tokens": tokens,
    }


def pair_name(model: Model, pair: bytes) -> str:
    state = model.pairs[pair]
    base, target = model.tokens.base_target(state.token0, state.token1)
    return "-".join(model.tokens.symbols.get(t) or cs(t) for t in (base, target))


def expected_top_pairs(model: Model, window: str, by: str, limit: int) -> dict[str, Any]:
    start = model.start(window)
    entries = []
    for pair, state in model.pairs.items():
        sums, count = totals(model.pair_swaps(pair, start)), len(model.pair_swaps(pair, start))
        tracked, _ = model.reserve_usd(state, model.quotes)
        key = {"liquidity": tracked, "volume": sums["usd"], "fees": sums["fees"], "swaps": count}
        entries.append((-key[by], pair, tracked, sums, count))
    entries.sort(key=lambda e: (e[0], e[1]))
    rows = []
    for rank, (_, pair, tracked, sums, count) in enumerate(entries[:limit], start=1):
        state = model.pairs[pair]
        base, target = model.tokens.base_target(state.token0, state.token1)
        rows.append(
            {
                "rank": rank,
                "address": cs(pair),
                "name": pair_name(model, pair),
                "ticker_id": f"{cs(base)}_{cs(target)}",
                "liquidity_usd": usd(tracked),
                "volume_usd": usd(sums["usd"]),
                "fees_usd": usd(sums["fees"]),
                "swap_count": count,
            }
        )
    return {"as_of": model.as_of, "window": window, "by": by, "rows": rows}


def expected_top_tokens(model: Model, window: str, by: str, limit: int) -> dict[str, Any]:
    start = model.start(window)
    entries = []
    tokens = {t: None for p in model.pairs.values() for t in (p.token0, p.token1)}
    for token in tokens:
        held = volume = 0
        for pair, state in model.pairs.items():
            if token in (state.token0, state.token1):
                held += state.reserve_of(token)
                first = token == state.token0
                volume += sum(
                    s.volume0 if first else s.volume1 for s in model.pair_swaps(pair, start)
                )
        held_usd = worth(model.tokens, model.quotes, token, held) or 0
        volume_usd = worth(model.tokens, model.quotes, token, volume) or 0
        key = held_usd if by == "liquidity" else volume_usd
        entries.append((-key, token, held, held_usd, volume, volume_usd))
    entries.sort(key=lambda e: (e[0], e[1]))
    return {
        "as_of": model.as_of,
        "window": window,
        "by": by,
        "rows": [
            {
                "rank": rank,
                "address": cs(token),
                "symbol": model.tokens.symbols.get(token),
                "price_usd": usd(model.quotes[token].usd),
                "liquidity": amount(model, token, held),
                "liquidity_usd": usd(held_usd),
                "volume": amount(model, token, volume),
                "volume_usd": usd(volume_usd),
            }
            for rank, (_, token, held, held_usd, volume, volume_usd) in enumerate(
                entries[:limit], start=1
            )
        ],
    }


def all_pages(scenario: ms.Scenario, path: str, limit: int) -> list[dict[str, Any]]:
    """Every row of a candle route, page by page; each page is at most `limit` rows."""
    rows: list[dict[str, Any]] = []
    cursor = None
    separator = "&" if "?" in path else "?"
    while True:
        query = f"{path}{separator}limit={limit}" + ("" if cursor is None else f"&cursor={cursor}")
        page = get(scenario, query)
        assert len(page["rows"]) <= limit
        rows.extend(page["rows"])
        cursor = page["next_cursor"]
        if cursor is None:
            return rows
        assert page["rows"] and cursor > page["rows"][-1]["period_start"]


# --- the scenario itself -----------------------------------------------------------------------
def test_the_model_sees_what_the_issue_asks_for(scenario: ms.Scenario, model: Model) -> None:
    """The scenario has the cases the issue names; the model replays them as described."""
    as_of = scenario.as_of
    assert model.as_of == as_of
    assert {s.ts for s in model.swaps} >= {as_of - DAY - 1, as_of - DAY, as_of}
    assert as_of - model.pairs[pair_of(model, "WETH/USDC")].created_at > 30 * DAY
    # the reversed pair: USDC is token0, yet the quote
    usdc_weth = model.pairs[pair_of(model, "WETH/USDC")]
    assert usdc_weth.token0 == ms.USDC
    assert model.tokens.base_target(usdc_weth.token0, usdc_weth.token1) == (ms.WETH, ms.USDC)
    # the multi-hop swaps: two Swap records in one input
    inputs = [s.input_index for s in model.swaps if not s.stream]
    assert any(inputs.count(index) == 2 for index in inputs)
    # the stream swaps' flow: taken by the order pools, the last of USDC/WETH's filed at the
    # order's end, in an input that filed CTSI/WETH's flow (sharing WETH) at a later time first
    flow = [s for s in model.swaps if s.stream and s.pair == usdc_weth.address]
    assert len(flow) > 5 and {s.taker for s in flow} == {model.pools[usdc_weth.address]}
    end = 1_701_754_000 + 15 * DAY
    last_flow = flow[-1]
    assert last_flow.ts == end and model.after_input(last_flow.input_index).ts > end
    ctsi_weth = pair_of(model, "CTSI/WETH")
    assert any(
        s.stream
        and s.pair == ctsi_weth
        and s.input_index == last_flow.input_index
        and s.ts > last_flow.ts
        and model.swaps.index(s) < model.swaps.index(last_flow)
        for s in model.swaps
    )
    # JUNK and GUNK stay unpriced; CTSI is priced through its WETH pair
    assert model.quotes[ms.JUNK].usd is None and model.quotes[ms.GUNK].usd is None
    assert model.quotes[ms.CTSI].via == "pair"


# --- /stats --------------------------------------------------------------------------------------
@pytest.mark.parametrize("window", list(WINDOWS))
def test_overview(scenario: ms.Scenario, model: Model, window: str) -> None:
    assert_fields(get(scenario, f"stats?window={window}"), expected_overview(model, window))


def test_overview_defaults_to_24h(scenario: ms.Scenario) -> None:
    assert get(scenario, "stats") == get(scenario, "stats?window=24h")


# --- /pairs/{pair} and /pair/{a}/{b} -------------------------------------------------------------
@pytest.mark.parametrize("name", PAIR_NAMES)
def test_pair_view(scenario: ms.Scenario, model: Model, name: str) -> None:
    pair = pair_of(model, name)
    answer = get(scenario, f"pairs/{cs(pair)}")
    assert_fields(answer, expected_pair_view(model, pair))
    a, b = TOKEN_PAIRS[name]
    assert get(scenario, f"pair/{cs(a)}/{cs(b)}") == answer
    assert get(scenario, f"pair/{cs(b).lower()}/{cs(a)}") == answer
    assert get(scenario, f"pairs/{cs(pair).lower()}") == answer
    assert get(scenario, f"pairs/{answer['ticker_id']}") == answer


def test_pair_view_names_the_reversed_pair(scenario: ms.Scenario, model: Model) -> None:
    answer = get(scenario, f"pairs/{cs(pair_of(model, 'WETH/USDC'))}")
    assert answer["token0"]["symbol"] == "USDC" and answer["token1"]["symbol"] == "WETH"
    assert (answer["base"], answer["target"]) == (cs(ms.WETH), cs(ms.USDC))
    # Uniswap's naming: token0_price is token0 per token1 (USDC per WETH, in the thousands)
    assert 1000 < Fraction(answer["token0_price"]) < 5000


# --- /pairs/{pair}/stats -------------------------------------------------------------------------
@pytest.mark.parametrize("window", list(WINDOWS))
@pytest.mark.parametrize("name", PAIR_NAMES)
def test_pair_stats(scenario: ms.Scenario, model: Model, name: str, window: str) -> None:
    pair = pair_of(model, name)
    answer = get(scenario, f"pairs/{cs(pair)}/stats?window={window}")
    assert_fields(answer, expected_pair_stats(model, pair, window))


def test_window_edges(scenario: ms.Scenario, model: Model) -> None:
    """[as_of − 86400, as_of], both ends in: the swap at as_of − 86400 counts, one second
    earlier does not."""
    as_of = scenario.as_of
    usdc = pair_of(model, "WETH/USDC")
    in_window = model.pair_swaps(usdc, as_of - DAY)
    assert sorted(s.ts for s in in_window) == [as_of - DAY, as_of]
    answer = get(scenario, f"pairs/{cs(usdc)}/stats?window=24h")
    assert answer["from"] == as_of - DAY
    assert answer["swap_count"] == 2
    assert answer["volume_token0"] == "1332"  # 777 + 555 USDC in, nothing of 0.25 WETH's sale
    assert answer["buy_count"] == 2 and answer["sell_count"] == 0  # both took WETH (the base) out
    edge = next(s for s in model.swaps if s.ts == as_of - DAY - 1)
    assert not model.is_buy(edge)  # the sale one second before: WETH in
    week = get(scenario, f"pairs/{cs(usdc)}/stats?window=7d")
    assert week["sell_count"] >= 1


def test_pair_stats_defaults_and_ticker_ids(scenario: ms.Scenario, model: Model) -> None:
    pair = pair_of(model, "WETH/USDC")
    answer = get(scenario, f"pairs/{cs(pair)}/stats")
    assert answer == get(scenario, f"pairs/{cs(pair)}/stats?window=24h")
    ticker = f"{cs(ms.WETH)}_{cs(ms.USDC)}"
    assert get(scenario, f"pairs/{ticker}/stats") == answer
    reversed_ticker = f"{cs(ms.USDC)}_{cs(ms.WETH)}"
    assert "error" in get(scenario, f"pairs/{reversed_ticker}/stats")


# --- candles -------------------------------------------------------------------------------------
@pytest.mark.parametrize("interval", list(SPANS))
@pytest.mark.parametrize("name", PAIR_NAMES)
def test_pair_candles(scenario: ms.Scenario, model: Model, name: str, interval: str) -> None:
    pair = pair_of(model, name)
    expected = [pair_candle_row(model, pair, b) for b in model.pair_candles(pair, SPANS[interval])]
    path = f"pairs/{cs(pair)}/candles?interval={interval}"
    whole = get(scenario, f"{path}&limit=500")
    assert list(whole) == ["pair", "interval", "base", "target", "rows", "next_cursor"]
    base, target = model.tokens.base_target(model.pairs[pair].token0, model.pairs[pair].token1)
    assert (whole["pair"], whole["interval"]) == (cs(pair), interval)
    assert (whole["base"], whole["target"]) == (cs(base), cs(target))
    assert len(expected) <= 500 and whole["next_cursor"] is None
    assert len(whole["rows"]) == len(expected)
    for actual, wanted in zip(whole["rows"], expected, strict=True):
        assert_fields(actual, wanted)
    # page by page: no row lost or repeated, whatever the page size
    for limit in (1, 7, 100):
        assert all_pages(scenario, path, limit) == whole["rows"]


def test_pair_candles_default_page_and_range(scenario: ms.Scenario, model: Model) -> None:
    pair = pair_of(model, "WETH/USDC")
    path = f"pairs/{cs(pair)}/candles"
    rows = get(scenario, f"{path}?interval=1h&limit=500")["rows"]
    assert len(rows) > 50
    first = get(scenario, path)  # 1h, the first 100 rows
    assert first["interval"] == "1h" and first["rows"] == rows[:100]
    assert first["next_cursor"] == (rows[100]["period_start"] if len(rows) > 100 else None)
    half = get(scenario, f"{path}?limit=50")
    assert half["rows"] == rows[:50] and half["next_cursor"] == rows[50]["period_start"]
    # a range: the bucket holding start_time, up to end_time; milliseconds read as such
    start, end = scenario.as_of - 7 * DAY, scenario.as_of - DAY
    ranged = get(scenario, f"{path}?interval=1h&limit=500&start_time={start}&end_time={end}")
    wanted = [r for r in rows if period_start(start) <= r["period_start"] <= end]
    assert wanted and ranged["rows"] == wanted
    in_ms = f"{path}?interval=1h&limit=500&start_time={start * 1000}&end_time={end * 1000}"
    assert get(scenario, in_ms)["rows"] == wanted


def test_stream_flow_is_filed_at_the_interval_end(scenario: ms.Scenario, model: Model) -> None:
    """The order ended between two inputs: its last flow sits in the hour of its end, where no
    input happened, and in that day's candles next to the swap the same input made later that
    day (a regression: the day bucket was once reloaded and the flow lost)."""
    pair = pair_of(model, "WETH/USDC")
    end = 1_701_754_000 + 15 * DAY
    path = f"pairs/{cs(pair)}/candles?limit=1"
    (hour,) = get(scenario, f"{path}&interval=1h&cursor={period_start(end)}")["rows"]
    assert hour["period_start"] == period_start(end) and hour["swap_count"] == 1
    assert not any(period_start(n["timestamp"]) == period_start(end) for n in scenario.notices)
    day_start = period_start(end, DAY)
    same_day = model.pair_swaps(pair, day_start, day_start + DAY - 1)
    flow = next(s for s in same_day if s.stream)
    assert any(s.input_index == flow.input_index and s.ts > flow.ts for s in same_day)
    (day,) = get(scenario, f"{path}&interval=1d&cursor={day_start}")["rows"]
    assert day["period_start"] == day_start and day["swap_count"] == len(same_day) == 4
    assert day["volume_token0"] == amount(model, ms.USDC, sum(s.volume0 for s in same_day))


@pytest.mark.parametrize("interval", list(SPANS))
@pytest.mark.parametrize("token", ALL_TOKENS, ids=TOKEN_IDS.get)
def test_token_candles(scenario: ms.Scenario, model: Model, token: bytes, interval: str) -> None:
    expected = [
        token_candle_row(model, token, b) for b in model.token_candles(token, SPANS[interval])
    ]
    path = f"tokens/{cs(token)}/candles?interval={interval}"
    whole = get(scenario, f"{path}&limit=500")
    assert list(whole) == ["token", "interval", "rows", "next_cursor"]
    assert (whole["token"], whole["interval"], whole["next_cursor"]) == (cs(token), interval, None)
    assert len(whole["rows"]) == len(expected)
    for actual, wanted in zip(whole["rows"], expected, strict=True):
        assert_fields(actual, wanted)
    for limit in (3, 100):
        assert all_pages(scenario, path, limit) == whole["rows"]


# --- prices and rankings -------------------------------------------------------------------------
def test_prices(scenario: ms.Scenario, model: Model) -> None:
    assert_fields(get(scenario, "prices"), expected_prices(model))


@pytest.mark.parametrize("window", ["24h", "7d", "30d", "all"])
@pytest.mark.parametrize("by", ["liquidity", "volume", "fees", "swaps"])
def test_top_pairs(scenario: ms.Scenario, model: Model, by: str, window: str) -> None:
    answer = get(scenario, f"top/pairs?window={window}&by={by}")
    assert answer == expected_top_pairs(model, window, by, 10)
    assert get(scenario, f"top/pairs?window={window}&by={by}&limit=2") == expected_top_pairs(
        model, window, by, 2
    )


@pytest.mark.parametrize("window", ["24h", "7d", "all"])
@pytest.mark.parametrize("by", ["liquidity", "volume"])
def test_top_tokens(scenario: ms.Scenario, model: Model, by: str, window: str) -> None:
    answer = get(scenario, f"top/tokens?window={window}&by={by}")
    assert answer == expected_top_tokens(model, window, by, 10)
    assert get(scenario, f"top/tokens?window={window}&by={by}&limit=3") == expected_top_tokens(
        model, window, by, 3
    )


def test_top_defaults(scenario: ms.Scenario, model: Model) -> None:
    assert get(scenario, "top/pairs") == expected_top_pairs(model, "24h", "volume", 10)
    assert get(scenario, "top/tokens") == expected_top_tokens(model, "24h", "liquidity", 10)


# --- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "stats?window=2h",
        "pairs/{usdc}/stats?window=1d",
        "pairs/{usdc}/candles?interval=1w",
        "pairs/{usdc}/candles?limit=0",
        "pairs/{usdc}/candles?limit=501",
        "tokens/{weth}/candles?interval=5m",
        "top/pairs?by=price",
        "top/tokens?by=fees",
        "pairs/0x00000000000000000000000000000000000000ff/stats",
        "pairs/not-an-address",
    ],
)
def test_bad_requests_answer_an_error(scenario: ms.Scenario, model: Model, path: str) -> None:
    usdc = cs(pair_of(model, "WETH/USDC"))
    answer = get(scenario, path.format(usdc=usdc, weth=cs(ms.WETH)))
    assert set(answer) == {"error", "message"} and answer["message"]


# --- (3) replay and read-only ------------------------------------------------------------------
def native_routes(model: Model) -> list[str]:
    paths = [f"stats?window={w}" for w in WINDOWS] + ["prices", "top/pairs", "top/tokens"]
    paths += [f"top/pairs?window={w}&by={b}" for w in ("7d", "all") for b in ("fees", "swaps")]
    for pair in model.pairs:
        paths.append(f"pairs/{cs(pair)}")
        paths += [f"pairs/{cs(pair)}/stats?window={w}" for w in WINDOWS]
        paths += [f"pairs/{cs(pair)}/candles?interval={i}&limit=500" for i in SPANS]
    paths += [f"tokens/{cs(t)}/candles?interval={i}&limit=500" for t in ALL_TOKENS for i in SPANS]
    a, b = TOKEN_PAIRS["WETH/USDC"]
    return [*paths, f"pair/{cs(a)}/{cs(b)}"]


def stats_tables(dump: str) -> list[str]:
    """The statistics' rows of a Store.dump() (dapp/schema.sql's market statistics section)."""
    prefixes = (
        "stat_",
        "swap_log",
        "liquidity_log",
        "stream_log",
        "pair_candles",
        "token_candles",
        "tvl_hours",
    )
    return [
        line
        for line in dump.splitlines()
        if line.startswith("INSERT INTO") and line.split('"')[1].startswith(prefixes)
    ]


def test_replaying_the_inputs_gives_identical_statistics(
    scenario: ms.Scenario, model: Model, tmp_path: Path
) -> None:
    again = ms.build(tmp_path)
    try:
        first, second = scenario.app.store.dump(), again.app.store.dump()
        assert stats_tables(first) and stats_tables(first) == stats_tables(second)
        assert first == second
        for path in native_routes(model):
            assert scenario.app.inspect(path.encode()) == again.app.inspect(path.encode()), path
    finally:
        again.app.close()


@pytest.mark.parametrize("where", [PAIR_CANDLES, TOKEN_CANDLES], ids=["pairs", "tokens"])
def test_a_stored_day_is_its_hours_merged_and_the_open_day_is_not_stored(
    scenario: ms.Scenario, where: CandleTable[Any]
) -> None:
    sql = scenario.app.store.connection
    column, table = where.column, where.table
    for (subject,) in sql.execute(f"SELECT DISTINCT {column} FROM {table}").fetchall():
        latest = where.latest_hour(sql, subject)
        assert latest is not None
        open_day = period_start(latest[0], DAY)
        days = sql.execute(
            f"SELECT start, data FROM {table} WHERE {column} = ? AND span = ?", (subject, DAY)
        ).fetchall()
        hours = sql.execute(
            f"SELECT start FROM {table} WHERE {column} = ? AND span = ?", (subject, HOUR)
        ).fetchall()
        assert {period_start(start, DAY) for (start,) in hours} == {start for start, _ in days} | {
            open_day
        }
        for start, data in days:
            assert start < open_day
            assert where.kind.load(data) == where.day_from_hours(sql, subject, start)


def test_a_pairs_buckets_give_the_extremes_of_the_day_so_far_and_of_the_rest_of_each_day(
    scenario: ms.Scenario, model: Model
) -> None:
    """Each hour bucket's day_* are the extremes of its day before it, and each stored day's
    tails give the extremes from any hour to the day's end: checked against the model's swaps."""
    sql = scenario.app.store.connection

    def extremes(pair: bytes, start: int, end: int) -> list[int | None]:
        prices = [
            model.mid(pair, e.reserve0, e.reserve1)
            for e in model.pair_events(pair)
            if isinstance(e, SwapRecord) and start <= e.ts < end
        ]
        known = [p for p in prices if p is not None]
        return [min(known), max(known)] if known else [None, None]

    def priced(pair: bytes, found: tuple[int, int, int, int] | None) -> list[int | None]:
        if found is None or not found[0]:
            return [None, None]
        high0, high1, low0, low1 = found
        prices = [model.mid(pair, high0, high1), model.mid(pair, low0, low1)]
        return sorted(p for p in prices if p is not None) or [None, None]

    checked = 0
    for pair in model.pairs:
        pair_id = scenario.app.store.address_id(pair)
        for span, start, data in sql.execute(
            "SELECT span, start, data FROM pair_candles WHERE pair_id = ?", (pair_id,)
        ).fetchall():
            bucket = PairCandle.load(data)
            day = period_start(start, DAY)
            if span == HOUR:
                earlier = (bucket.day_high0, bucket.day_high1, bucket.day_low0, bucket.day_low1)
                assert priced(pair, earlier) == extremes(pair, day, start)
                continue
            for hour in range(start, start + DAY, HOUR):
                found = bucket.tail_from((hour - start) // HOUR)
                assert priced(pair, found) == extremes(pair, hour, start + DAY)
                checked += 1
    assert checked > 24 * 10


def test_a_recorder_that_remembers_nothing_writes_the_same_statistics(
    scenario: ms.Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the recorder remembers between inputs (pairs, latest buckets, wallets, prices) only
    saves reads: reading everything back from the database before each input gives the same
    rows (the pairs' state from their latest hour bucket, buckets from their latest row)."""
    remembering = Recorder.record

    def forgetful(self: Recorder, *args: Any) -> None:
        self.forget()
        remembering(self, *args)

    monkeypatch.setattr(Recorder, "record", forgetful)
    again = ms.build(tmp_path)
    try:
        assert again.app.store.dump() == scenario.app.store.dump()
    finally:
        again.app.close()


def database_files(scenario: ms.Scenario) -> dict[str, str]:
    folder = Path(scenario.app.store.path).parent
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(folder.iterdir())
        if f.is_file()
    }


def test_every_route_is_read_only(scenario: ms.Scenario, model: Model) -> None:
    before, dump = database_files(scenario), scenario.app.store.dump()
    for path in native_routes(model):
        assert "error" not in get(scenario, path), path
    assert database_files(scenario) == before
    assert scenario.app.store.dump() == dump
