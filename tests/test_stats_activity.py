"""Event lists and wallet views (dapp/stats/activity.py, stats-routes §4.18–§4.21 and §5).

The expected lists, counts, times and positions are recomputed here from the notices of the
40-day scenario (tests/market_scenario.py), with a small model of what each event means, never
from the statistics tables; USD figures are checked for agreement between routes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import dapp.inspect
from dapp.addresses import parse_address, to_checksum_address
from dapp.amm.twamm import order_pool_address
from dapp.stats import activity
from tests import market_scenario
from tests.market_scenario import ALICE, BOB, CAROL, DAI, DAY, LP, USDC, WETH, Scenario

ACCOUNTS = {"lp": LP, "alice": ALICE, "bob": BOB, "carol": CAROL}
QUOTE_RANK = {USDC: 0, DAI: 1, WETH: 2}  # stablecoins in order, then the reference token
NOBODY = bytes.fromhex("ee" * 20)
SENTINEL = 999999999


def cs(address: bytes) -> str:
    return to_checksum_address(address)


# --- the model: what the scenario's notices say happened ----------------------------------------
@dataclass
class Logged:
    """One Swap, Mint, Burn, StreamCreated or StreamCancelled, as the notices tell it."""

    input_index: int
    event_index: int
    ts: int
    kind: str
    account: str  # the taker or provider; a stream's sender
    event: dict[str, Any]
    receiver: str | None = None
    stream: bool = False
    impact_bps: int = 0

    @property
    def event_id(self) -> str:
        return f"{self.input_index}-{self.event_index}"

    @property
    def key(self) -> tuple[int, int, int]:
        return self.ts, self.input_index, self.event_index


@dataclass
class Model:
    swaps: list[Logged] = field(default_factory=list)
    liquidity: list[Logged] = field(default_factory=list)
    streams: list[Logged] = field(default_factory=list)
    actions: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    order_pools: dict[str, str] = field(default_factory=dict)  # pair → its order pools
    stream_swaps: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    reserves: dict[str, tuple[int, int]] = field(default_factory=dict)  # now, per pair
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # pair → token0, token1


def _model(scenario: Scenario) -> Model:
    model = Model()
    order_end: dict[str, int] = {}
    syncs: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {}
    for notice in scenario.notices:
        ts, sender = notice["timestamp"], cs(notice["sender"])
        model.actions[sender].append(ts)
        for index, event in enumerate(notice["events"]):
            kind = event["type"]
            pair = event.get("pair", "")
            if kind == "PairCreated":
                model.order_pools[pair] = cs(order_pool_address(parse_address(pair)))
                model.tokens[pair] = (event["token0"], event["token1"])
            elif kind == "SwapOrderPlaced":
                order_end[pair] = event["start"] + event["duration"]
                model.stream_swaps[event["trader"]] += 1
            elif kind == "Sync":
                after = (int(event["reserve0"]), int(event["reserve1"]))
                syncs[pair] = (model.reserves.get(pair, (0, 0)), after)
                model.reserves[pair] = after
            elif kind == "Swap":
                stream = event["sender"] == model.order_pools[pair]
                model.swaps.append(
                    Logged(
                        notice["input_index"],
                        index,
                        # a stream swap's flow is logged at the end of the executed interval
                        min(ts, order_end[pair]) if stream else ts,
                        "swap",
                        event["sender"] if stream else sender,
                        event,
                        stream=stream,
                        impact_bps=_impact(*syncs[pair]),
                    )
                )
            elif kind in ("Mint", "Burn"):
                model.liquidity.append(
                    Logged(notice["input_index"], index, ts, kind.lower(), sender, event)
                )
            elif kind in ("StreamCreated", "StreamCancelled"):
                if event["receiver"] in model.order_pools.values():
                    continue  # a stream swap's escrow, not a stream between wallets
                model.streams.append(
                    Logged(
                        notice["input_index"],
                        index,
                        ts,
                        "stream_created" if kind == "StreamCreated" else "stream_cancelled",
                        event["sender"],
                        event,
                        receiver=event["receiver"],
                    )
                )
    return model


def _impact(before: tuple[int, int], after: tuple[int, int]) -> int:
    """How far the mid price (reserve1/reserve0) moved, in basis points of where it was."""
    was = before[1] * after[0]
    return 0 if was == 0 else abs(after[1] * before[0] - was) * 10000 // was


def _base_is_token0(token0: str, token1: str) -> bool:
    rank0 = QUOTE_RANK.get(parse_address(token0), len(QUOTE_RANK))
    rank1 = QUOTE_RANK.get(parse_address(token1), len(QUOTE_RANK))
    return rank1 <= rank0


def _is_buy(model: Model, swap: Logged) -> bool:
    event = swap.event
    token0, token1 = model.tokens[event["pair"]]
    if _base_is_token0(token0, token1):
        return int(event["amount0_out"]) > int(event["amount0_in"])
    return int(event["amount1_out"]) > int(event["amount1_in"])


def _fixed(text: str) -> int:
    """A decimal string as fixed point 10**18, exactly."""
    sign = -1 if text.startswith("-") else 1
    whole, _, fraction = text.lstrip("-").partition(".")
    return sign * (int(whole) * 10**18 + int(fraction.ljust(18, "0") or "0"))


def _newest_first(rows: list[Logged]) -> list[str]:
    return [row.event_id for row in sorted(rows, key=lambda row: row.key, reverse=True)]


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    built = market_scenario.build(Path(tmp_path_factory.mktemp("activity")))
    yield built
    built.app.close()


@pytest.fixture(scope="module")
def model(scenario: Scenario) -> Model:
    return _model(scenario)


@pytest.fixture(autouse=True)
def routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The routes registered as dapp/inspect.py will list them, through the real JSON path."""
    monkeypatch.setattr(dapp.inspect, "ROUTES", [*dapp.inspect.ROUTES, *activity.ROUTES])


def get(scenario: Scenario, path: str) -> Any:
    answer = market_scenario.inspect(scenario, path)
    assert "error" not in answer, (path, answer)
    return answer


def walk(scenario: Scenario, path: str, limit: int) -> list[dict[str, Any]]:
    """Every row of a list, page by page."""
    rows: list[dict[str, Any]] = []
    joiner = "&" if "?" in path else "?"
    cursor = None
    for _ in range(1000):
        page = get(
            scenario,
            f"{path}{joiner}limit={limit}" + ("" if cursor is None else f"&cursor={cursor}"),
        )
        assert len(page["rows"]) <= limit
        rows += page["rows"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows
        assert len(page["rows"]) == limit
    raise AssertionError("the pages never ended")


def ids(rows: list[dict[str, Any]], key: str = "id") -> list[str]:
    return [row[key] for row in rows]


# --- /swaps, /mints, /burns ----------------------------------------------------------------------
def test_swaps_list_every_swap_event_newest_first(scenario: Scenario, model: Model) -> None:
    answer = get(scenario, "/swaps?limit=500")
    assert answer["as_of"] == scenario.as_of
    assert answer["next_cursor"] is None
    assert ids(answer["rows"]) == _newest_first(model.swaps)
    expected = {swap.event_id: swap for swap in model.swaps}
    for row in answer["rows"]:
        swap = expected[row["id"]]
        event = swap.event
        assert row["input_index"] == swap.input_index
        assert row["timestamp"] == swap.ts
        assert (row["pair"], row["sender"], row["to"]) == (
            event["pair"],
            event["sender"],
            event["to"],
        )
        assert row["from"] == swap.account
        for name in ("amount0_in", "amount1_in", "amount0_out", "amount1_out"):
            assert row[f"{name}_raw"] == event[name]
        assert row["type"] == ("buy" if _is_buy(model, swap) else "sell")
        assert row["kind"] == ("stream" if swap.stream else "instant")


def test_trade_ids_follow_processing_order(scenario: Scenario, model: Model) -> None:
    rows = get(scenario, "/swaps?limit=500")["rows"]
    by_trade = sorted(rows, key=lambda row: row["trade_id"])
    assert [row["trade_id"] for row in by_trade] == list(range(1, len(model.swaps) + 1))
    processed = sorted(model.swaps, key=lambda swap: (swap.input_index, swap.event_index))
    assert ids(by_trade) == [swap.event_id for swap in processed]


def test_a_stream_swap_flow_is_timed_at_the_end_of_its_interval(
    scenario: Scenario, model: Model
) -> None:
    """Each order's last flow is logged by the next input that touches the pair, with the time
    the order ended: a row's ts is not always its input's time (why lists page on (ts, id))."""
    times = {notice["input_index"]: notice["timestamp"] for notice in scenario.notices}
    late = [swap for swap in model.swaps if swap.stream and swap.ts < times[swap.input_index]]
    assert len(late) == 2  # the scenario's two stream swaps
    rows = {r["id"]: r for r in get(scenario, "/swaps?limit=500")["rows"]}
    for swap in late:
        assert rows[swap.event_id]["timestamp"] == swap.ts
        assert rows[swap.event_id]["kind"] == "stream"


def _filters(scenario: Scenario, model: Model) -> list[tuple[str, Callable[[Logged], bool]]]:
    weth_usdc = next(p for p, tokens in model.tokens.items() if set(tokens) == {cs(USDC), cs(WETH)})
    ticker = f"{cs(WETH)}_{cs(USDC)}"  # WETH is the base, USDC the quote (the reversed pair)
    day_ago = scenario.as_of - DAY
    return [
        (f"pair={weth_usdc}", lambda row: row.event["pair"] == weth_usdc),
        (f"pair={weth_usdc.lower()}", lambda row: row.event["pair"] == weth_usdc),
        (f"pair={ticker}", lambda row: row.event["pair"] == weth_usdc),
        (f"account={cs(CAROL)}", lambda row: row.account == cs(CAROL)),
        (f"account={cs(ALICE).lower()}", lambda row: row.account == cs(ALICE)),
        (
            f"pair={weth_usdc}&account={cs(BOB)}",
            lambda row: row.event["pair"] == weth_usdc and row.account == cs(BOB),
        ),
        (f"start_time={day_ago}", lambda row: row.ts >= day_ago),
        (f"end_time={day_ago - 1}", lambda row: row.ts <= day_ago - 1),
        (f"start_time={day_ago * 1000}", lambda row: row.ts >= day_ago),  # milliseconds
        (
            f"start_time={day_ago - 1}&end_time={day_ago}",
            lambda row: day_ago - 1 <= row.ts <= day_ago,
        ),
        (f"account={cs(NOBODY)}", lambda row: False),
    ]


def test_swap_filters(scenario: Scenario, model: Model) -> None:
    for query, keep in _filters(scenario, model):
        answer = get(scenario, f"/swaps?{query}&limit=500")
        expected = _newest_first([swap for swap in model.swaps if keep(swap)])
        assert ids(answer["rows"]) == expected, query


def test_window_edges(scenario: Scenario) -> None:
    """The 24h window's first second is in, the second before it out (both ends inclusive)."""
    day_ago = scenario.as_of - DAY
    inside = get(scenario, f"/swaps?start_time={day_ago}&order=asc")["rows"]
    assert inside[0]["timestamp"] == day_ago
    assert inside[0]["from"] == cs(ALICE)
    before = get(scenario, f"/swaps?end_time={day_ago - 1}&limit=1")["rows"]
    assert before[0]["timestamp"] == day_ago - 1
    assert before[0]["from"] == cs(BOB)
    newest = get(scenario, f"/swaps?end_time={scenario.as_of}&limit=1")["rows"]
    assert newest[0]["timestamp"] == scenario.as_of


def test_mints_and_burns_list_their_events(scenario: Scenario, model: Model) -> None:
    for kind in ("mint", "burn"):
        rows = get(scenario, f"/{kind}s?limit=500")["rows"]
        logged = [row for row in model.liquidity if row.kind == kind]
        assert ids(rows) == _newest_first(logged)
        assert logged, kind
        expected = {row.event_id: row for row in logged}
        for row in rows:
            entry = expected[row["id"]]
            assert row["timestamp"] == entry.ts
            assert row["from"] == entry.account
            assert (row["pair"], row["sender"], row["to"]) == (
                entry.event["pair"],
                entry.event["sender"],
                entry.event["to"],
            )
            assert row["liquidity"] == entry.event["liquidity"]
            assert (row["amount0_raw"], row["amount1_raw"]) == (
                entry.event["amount0"],
                entry.event["amount1"],
            )


def test_liquidity_filters(scenario: Scenario, model: Model) -> None:
    for query, keep in _filters(scenario, model):
        for kind in ("mint", "burn"):
            answer = get(scenario, f"/{kind}s?{query}&limit=500")
            expected = _newest_first(
                [row for row in model.liquidity if row.kind == kind and keep(row)]
            )
            assert ids(answer["rows"]) == expected, (kind, query)


@pytest.mark.parametrize(
    "path",
    [
        "/swaps",
        "/swaps?account={carol}",
        "/swaps?pair={ticker}",
        "/swaps?start_time={day_ago}",
        "/swaps?pair={ticker}&account={alice}&end_time={day_ago}",
        "/mints",
        "/burns?account={lp}",
    ],
)
def test_paging_yields_every_row_once(scenario: Scenario, path: str) -> None:
    """Seven rows a page, either order: the same rows as one page of 500, each exactly once,
    although many rows share a second (a multi-hop swap logs two rows with one ts)."""
    path = path.format(
        carol=cs(CAROL),
        alice=cs(ALICE),
        lp=cs(LP),
        ticker=f"{cs(WETH)}_{cs(USDC)}",
        day_ago=scenario.as_of - DAY,
    )
    joiner = "&" if "?" in path else "?"
    whole = {}
    for order in ("asc", "desc"):
        whole[order] = ids(get(scenario, f"{path}{joiner}order={order}&limit=500")["rows"])
        paged = ids(walk(scenario, f"{path}{joiner}order={order}", 7))
        assert paged == whole[order]
        assert len(set(paged)) == len(paged)
    assert whole["desc"] == whole["asc"][::-1]
    assert whole["asc"]
    assert ids(walk(scenario, path, 7)) == whole["desc"]  # desc is the default


def test_rows_sharing_a_second_are_paged_apart(scenario: Scenario, model: Model) -> None:
    """A multi-hop swap's two rows have one ts: a page boundary between them loses neither."""
    same_second = defaultdict(list)
    for swap in model.swaps:
        same_second[swap.ts].append(swap.event_id)
    ts, pair_ids = next((ts, found) for ts, found in same_second.items() if len(found) == 2)
    first = get(scenario, f"/swaps?start_time={ts}&end_time={ts}&limit=1&order=asc")
    second = get(
        scenario,
        f"/swaps?start_time={ts}&end_time={ts}&limit=1&order=asc&cursor={first['next_cursor']}",
    )
    assert ids(first["rows"]) + ids(second["rows"]) == pair_ids
    assert second["next_cursor"] is None


# --- /accounts/{address} -------------------------------------------------------------------------
def test_positions_are_what_a_burn_would_pay(scenario: Scenario, model: Model) -> None:
    held: dict[str, int] = defaultdict(int)
    supply: dict[str, int] = defaultdict(int)
    for row in model.liquidity:
        sign = 1 if row.kind == "mint" else -1
        if row.account == cs(LP):
            held[row.event["pair"]] += sign * int(row.event["liquidity"])
        supply[row.event["pair"]] += sign * int(row.event["liquidity"])
    answer = get(scenario, f"/accounts/{cs(LP)}")
    assert answer["as_of"] == scenario.as_of
    assert answer["positions_truncated"] is False
    positions = {position["pair"]: position for position in answer["positions"]}
    assert set(positions) == set(held)
    values = []
    for pair, balance in held.items():
        total = supply[pair] + 1000  # the minimum liquidity locked at the first mint
        reserve0, reserve1 = model.reserves[pair]  # no stream swap is live at as_of
        position = positions[pair]
        assert position["lp_balance"] == str(balance)
        assert _fixed(position["pool_share"]) == balance * 10**18 // total
        assert position["underlying0_raw"] == str(balance * reserve0 // total)
        assert position["underlying1_raw"] == str(balance * reserve1 // total)
        if position["value_usd"] is not None:
            values.append(_fixed(position["value_usd"]))
    junk_pair = next(  # JUNK/GUNK: no metadata, no pair with a priced token
        p
        for p, tokens in model.tokens.items()
        if all(parse_address(t) not in market_scenario.TOKENS for t in tokens)
    )
    assert positions[junk_pair]["value_usd"] is None  # neither token has a price
    assert _fixed(answer["lp_value_usd"]) == sum(values)
    features = get(scenario, f"/accounts/{cs(LP)}/features")["features"]
    assert features["lp_value_usd"] == answer["lp_value_usd"]


def test_traders_hold_no_positions(scenario: Scenario) -> None:
    for who in (ALICE, BOB, CAROL, NOBODY):
        answer = get(scenario, f"/accounts/{cs(who).lower()}")
        assert answer["address"] == cs(who)
        assert answer["positions"] == []
        assert answer["lp_value_usd"] == "0"
        features = get(scenario, f"/accounts/{cs(who)}/features")["features"]
        assert answer["usd_swapped"] == features["swap_volume_usd_sum"]


def test_lp_tokens_received_by_transfer_make_a_position(tmp_path: Path) -> None:
    """As in Uniswap's subgraph, a position is any LP balance, not only one the account minted."""
    fresh = market_scenario.build(tmp_path)
    try:
        pair = get(fresh, f"/accounts/{cs(LP)}")["positions"][0]["pair"]
        outcome = fresh.driver.act(
            LP, "transfer", at=fresh.as_of, token=parse_address(pair), to=CAROL, amount=10**9
        )
        assert outcome.accepted, outcome.reports
        (position,) = get(fresh, f"/accounts/{cs(CAROL)}")["positions"]
        assert (position["pair"], position["lp_balance"]) == (pair, str(10**9))
        features = get(fresh, f"/accounts/{cs(CAROL)}/features")["features"]
        assert features["unique_pairs_lp"] == 0  # she never provided liquidity
        assert _fixed(features["lp_value_usd"]) == _fixed(position["value_usd"]) > 0
    finally:
        fresh.app.close()


# --- /accounts/{address}/features ----------------------------------------------------------------
def _expected_features(scenario: Scenario, model: Model, account: str) -> dict[str, Any]:
    as_of = scenario.as_of
    swaps = [swap for swap in model.swaps if swap.account == account and not swap.stream]
    mints = [row for row in model.liquidity if row.account == account and row.kind == "mint"]
    burns = [row for row in model.liquidity if row.account == account and row.kind == "burn"]
    created = [row for row in model.streams if row.kind == "stream_created"]
    cancelled = [row for row in model.streams if row.kind == "stream_cancelled"]
    acted = model.actions.get(account, [])
    tokens = {
        token for row in swaps + mints + burns for token in model.tokens[row.event["pair"]]
    } | {row.event["token"] for row in model.streams if account in (row.account, row.receiver)}

    def since(ts: int | None) -> int | None:
        return None if ts is None else as_of - ts

    buys = [swap for swap in swaps if _is_buy(model, swap)]
    return {
        "swap_count": len({swap.input_index for swap in swaps}),
        "swap_buy_count": len(buys),
        "swap_sell_count": len(swaps) - len(buys),
        "liquidity_add_count": len(mints),
        "liquidity_remove_count": len(burns),
        "time_since_first_liquidity_add_s": since(min((r.ts for r in mints), default=None)),
        "first_action_timestamp": min(acted, default=None),
        "last_action_timestamp": max(acted, default=None),
        "time_since_first_action_s": since(min(acted, default=None)),
        "time_since_last_action_s": since(max(acted, default=None)),
        "stream_in_count": sum(row.receiver == account for row in created),
        "stream_out_count": sum(row.account == account for row in created),
        "net_stream_count": sum(row.receiver == account for row in created)
        - sum(row.account == account for row in created),
        "streams_cancelled_count": sum(row.account == account for row in cancelled),
        "streams_cancelled_against_count": sum(row.receiver == account for row in cancelled),
        "time_since_last_stream_cancel_s": since(
            max((row.ts for row in cancelled if row.account == account), default=None)
        ),
        "unique_pairs_swapped": len({swap.event["pair"] for swap in swaps}),
        "unique_pairs_lp": len({row.event["pair"] for row in mints}),
        "unique_tokens_touched": len(tokens),
        "max_price_impact_bps": max((swap.impact_bps for swap in swaps), default=None),
        "active_days_count": len({ts // DAY for ts in acted}),
        "stream_swap_count": model.stream_swaps.get(account, 0),
    }


@pytest.mark.parametrize("name", [*ACCOUNTS, "nobody"])
def test_feature_counts_and_times_match_the_events(
    scenario: Scenario, model: Model, name: str
) -> None:
    account = cs(ACCOUNTS.get(name, NOBODY))
    answer = get(scenario, f"/accounts/{account}/features")
    assert (answer["address"], answer["as_of"], answer["unit"]) == (
        account,
        scenario.as_of,
        "usd",
    )
    features = answer["features"]
    expected = _expected_features(scenario, model, account)
    assert {name: features[name] for name in expected} == expected


def test_the_scenario_exercises_every_count(scenario: Scenario, model: Model) -> None:
    """Guard against a vacuous comparison: somebody has a non-zero value of each count."""
    every = [_expected_features(scenario, model, cs(who)) for who in ACCOUNTS.values()]
    for name in every[0]:
        assert any(features[name] for features in every), name


@pytest.mark.parametrize("name", list(ACCOUNTS))
def test_feature_usd_agrees_with_the_lists(scenario: Scenario, name: str) -> None:
    account = cs(ACCOUNTS[name])
    features = get(scenario, f"/accounts/{account}/features")["features"]
    swaps = walk(scenario, f"/swaps?account={account}", 7)
    usd = {key: _fixed(value) for key, value in features.items() if isinstance(value, str)}
    assert usd["swap_volume_usd_sum"] == sum(_fixed(row["amount_usd"]) for row in swaps)
    assert usd["swap_volume_usd_untracked_sum"] == sum(
        _fixed(row["amount_usd_untracked"]) for row in swaps
    )
    assert usd["lp_fees_paid_usd_sum"] == sum(_fixed(row["fee_usd"]) for row in swaps)
    assert usd["swap_buy_usd_sum"] == sum(
        _fixed(row["amount_usd"]) for row in swaps if row["type"] == "buy"
    )
    assert usd["swap_buy_usd_sum"] + usd["swap_sell_usd_sum"] == usd["swap_volume_usd_sum"]
    if features["swap_count"]:
        assert usd["swap_volume_usd_avg"] == usd["swap_volume_usd_sum"] // features["swap_count"]
        trades = features["swap_buy_count"] + features["swap_sell_count"]
        assert usd["avg_trade_size_usd"] == usd["swap_volume_usd_sum"] // trades
    mints = walk(scenario, f"/mints?account={account}", 7)
    burns = walk(scenario, f"/burns?account={account}", 7)
    added = sum(_fixed(row["amount_usd"]) for row in mints)
    removed = sum(_fixed(row["amount_usd"]) for row in burns)
    assert (usd["liquidity_added_usd_sum"], usd["liquidity_removed_usd_sum"]) == (added, removed)
    assert usd["liquidity_removed_minus_added_if_positive_usd"] == max(0, removed - added)
    streams = walk(scenario, f"/accounts/{account}/activity?type=stream", 7)
    created = [row for row in streams if row["kind"] == "stream_created"]
    assert usd["stream_out_deposit_usd_sum"] == sum(
        _fixed(row["amount_usd"]) for row in created if row["direction"] == "out"
    )
    assert usd["stream_in_deposit_usd_sum"] == sum(
        _fixed(row["amount_usd"]) for row in created if row["direction"] == "in"
    )
    assert usd["stream_cancel_refund_usd_sum"] == sum(
        _fixed(row["amount_usd"])
        for row in streams
        if row["kind"] == "stream_cancelled" and row["direction"] == "out"
    )
    assert usd["stream_inflow_usd_per_day"] == 0  # the scenario's one stream was cancelled


def test_never_is_null_or_the_sentinel(scenario: Scenario) -> None:
    never = (
        "time_since_first_liquidity_add_s",
        "first_action_timestamp",
        "last_action_timestamp",
        "time_since_first_action_s",
        "time_since_last_action_s",
        "time_since_last_stream_cancel_s",
        "max_price_impact_bps",
    )
    plain = get(scenario, f"/accounts/{cs(NOBODY)}/features")["features"]
    marked = get(scenario, f"/accounts/{cs(NOBODY)}/features?sentinel={SENTINEL}")["features"]
    for name in never:
        assert (plain[name], marked[name]) == (None, SENTINEL), name
    assert plain["swap_volume_usd_avg"] is None  # an average of nothing stays null
    assert plain["swap_volume_usd_sum"] == "0"
    assert {name for name, value in plain.items() if value is None} == {
        *never,
        "swap_volume_usd_avg",
        "swap_volume_usd_untracked_avg",
        "lp_fees_paid_usd_avg",
        "stream_in_deposit_usd_avg",
        "stream_out_deposit_usd_avg",
        "avg_trade_size_usd",
    }
    bob = get(scenario, f"/accounts/{cs(BOB)}/features?sentinel={SENTINEL}")["features"]
    assert bob["time_since_first_liquidity_add_s"] == SENTINEL
    assert bob["time_since_last_action_s"] == 10


# --- /accounts/{address}/activity ----------------------------------------------------------------
def _expected_activity(model: Model, account: str, kind: str) -> list[str]:
    rows: list[Logged] = []
    if kind in ("swap", "all"):
        rows += [swap for swap in model.swaps if swap.account == account]
    if kind in ("mint", "burn", "all"):
        rows += [
            row for row in model.liquidity if row.account == account and kind in (row.kind, "all")
        ]
    if kind in ("stream", "all"):
        rows += [row for row in model.streams if account in (row.account, row.receiver)]
    # one account's rows carry their input's time: newest first is (input, event) descending
    return [
        row.event_id
        for row in sorted(rows, key=lambda row: (row.input_index, row.event_index), reverse=True)
    ]


@pytest.mark.parametrize("kind", ["all", "swap", "mint", "burn", "stream"])
@pytest.mark.parametrize("name", list(ACCOUNTS))
def test_activity_merges_the_logs_newest_first(
    scenario: Scenario, model: Model, name: str, kind: str
) -> None:
    account = cs(ACCOUNTS[name])
    path = f"/accounts/{account}/activity?type={kind}"
    whole = get(scenario, f"{path}&limit=500")
    assert ids(whole["rows"], "event_id") == _expected_activity(model, account, kind)
    assert ids(walk(scenario, path, 7), "event_id") == ids(whole["rows"], "event_id")
    for row in whole["rows"]:
        assert row["kind"] in ("swap", "mint", "burn", "stream_created", "stream_cancelled")
        assert row["kind"].startswith(kind) or kind == "all"


def test_activity_default_is_all_newest_first(scenario: Scenario, model: Model) -> None:
    rows = get(scenario, f"/accounts/{cs(LP)}/activity")["rows"]
    assert ids(rows, "event_id") == _expected_activity(model, cs(LP), "all")[:100]
    assert {row["kind"] for row in rows} == {"mint", "burn"}


def test_streams_show_for_sender_and_receiver(scenario: Scenario) -> None:
    sent = get(scenario, f"/accounts/{cs(ALICE)}/activity?type=stream")["rows"]
    received = get(scenario, f"/accounts/{cs(BOB)}/activity?type=stream")["rows"]
    assert ids(sent, "event_id") == ids(received, "event_id")
    assert [row["direction"] for row in sent] == ["out", "out"]
    assert [row["direction"] for row in received] == ["in", "in"]
    assert [row["kind"] for row in sent] == ["stream_cancelled", "stream_created"]
    assert "refunded" in sent[0] and "amount" in sent[1]


def test_order_pool_activity_is_its_swap_list(scenario: Scenario, model: Model) -> None:
    """The order pools' rows carry the end of each executed interval, not their input's time;
    their history is still the (ts, id) order of /swaps."""
    pools = {swap.account for swap in model.swaps if swap.stream}
    for pool in pools:
        listed = walk(scenario, f"/swaps?account={pool}", 500)
        history = walk(scenario, f"/accounts/{pool}/activity", 7)
        assert ids(history, "event_id") == ids(listed)


# --- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/swaps?limit=501", "BAD_PARAMETER"),
        ("/swaps?limit=0", "BAD_PARAMETER"),
        ("/swaps?limit=-1", "BAD_PARAMETER"),
        ("/swaps?order=up", "BAD_PARAMETER"),
        ("/mints?account=0xzz", "BAD_PARAMETER"),
        ("/swaps?cursor=garbage", "BAD_PARAMETER"),
        ("/swaps?cursor=1-99", "BAD_PARAMETER"),  # names no swap
        ("/burns?cursor=12-", "BAD_PARAMETER"),
        ("/swaps?start_time=10&end_time=9", "BAD_PARAMETER"),
        ("/swaps?pair=0x" + "ee" * 20, "PAIR_NOT_FOUND"),
        ("/swaps?window=24h", "BAD_PARAMETER"),  # not a parameter of the route
        ("/accounts/0xzz", "INVALID_ADDRESS"),
        ("/accounts/{alice}/features?sentinel=-1", "BAD_PARAMETER"),
        ("/accounts/{alice}/activity?type=x", "BAD_PARAMETER"),
        ("/accounts/{alice}/activity?limit=501", "BAD_PARAMETER"),
        ("/accounts/{alice}/activity?cursor=garbage", "BAD_PARAMETER"),
        ("/accounts/{alice}/activity?type=swap&cursor=79-0", "BAD_PARAMETER"),  # a stream's id
    ],
)
def test_bad_parameters_answer_an_error_code(scenario: Scenario, path: str, code: str) -> None:
    answer = market_scenario.inspect(scenario, path.format(alice=cs(ALICE)))
    assert answer["error"] == code
    assert answer["message"]
