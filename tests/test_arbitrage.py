"""/arbitrage: the best integer input of a cycle is the exact maximiser, and a swap input with the
route's path and amount, sent at the same time, receives exactly the amount the route showed."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dapp import inspect
from dapp.addresses import to_checksum_address
from dapp.amm import math
from dapp.errors import BadParameter
from dapp.inspect import Inspector, Query
from dapp.stats import arbitrage as arb
from dapp.stats.arbitrage import (
    Hop,
    amount_out,
    arbitrage,
    compose,
    least_input,
    marginal_gain,
    optimal_input,
)
from tests.conftest import address
from tests.inputs import START, Driver, notice_events
from tests.test_app import ALICE, BOB, CAROL, TOKEN_A, TOKEN_B, TOKEN_C, funded

TOKEN_D = address(0xD4)
TOKENS = {to_checksum_address(t): t for t in (TOKEN_A, TOKEN_B, TOKEN_C, TOKEN_D)}
DEEP = 10**21


# --- sizing, pure ------------------------------------------------------------------------------
def brute_force(hops: Sequence[Hop]) -> tuple[int, int]:
    """(max profit, smallest input reaching it) over every input that could profit."""
    a, _, c = compose(hops)
    best = (0, 0)
    for x in range(1, a // c + 2):  # beyond a/c the output is below a/c < x
        profit = amount_out(x, hops) - x
        if profit > best[0]:
            best = (profit, x)
    return best


_small_hop = st.tuples(st.integers(1, 2000), st.integers(1, 2000))


@given(hops=st.lists(_small_hop, min_size=2, max_size=4))
def test_the_input_found_is_the_brute_force_argmax(hops: list[Hop]) -> None:
    profit, x = brute_force(hops)
    optimum = optimal_input(hops)
    if profit == 0:
        assert optimum is None
        return
    assert optimum is not None and optimum.exact
    assert (optimum.profit, optimum.amount_in) == (profit, x)
    assert optimum.amount_out == math.get_amounts_out(x, hops)[-1]


def test_integer_profit_is_not_concave_so_a_sign_search_would_stop_early() -> None:
    hops = [(13, 18), (5, 8), (6, 28)]
    profits = [amount_out(x, hops) - x for x in range(7)]
    assert profits == [0, 2, 4, 3, 5, 4, 3]  # up, down, up: p(x+1) − p(x) changes sign twice
    optimum = optimal_input(hops)
    assert optimum is not None and (optimum.amount_in, optimum.profit, optimum.exact) == (
        4,
        5,
        True,
    )


_deep_hop = st.tuples(st.integers(10**15, 10**27), st.integers(10**15, 10**27))


@given(hops=st.lists(_deep_hop, min_size=2, max_size=4))
def test_deep_pools_lose_at_most_what_the_floors_can(hops: list[Hop]) -> None:
    """p(x) ≥ u(x) − Σ d_i, d_i the floor-free marginal rate of the hops after hop i: each floor
    drops less than one base unit of that hop's output, worth at most d_i of the start token."""
    while marginal_gain(hops) <= 1:  # make the cycle pay: more of the start token at the end
        hops[-1] = (hops[-1][0], hops[-1][1] * 2)
    a, b, c = compose(hops)
    peak = arb._real_peak(a, b, c)
    ceiling = Fraction(a * peak, b + c * peak) - peak  # max of u over the integers ≥ p(x)
    slack = sum(marginal_gain(hops[i + 1 :]) if i + 1 < len(hops) else 1 for i in range(len(hops)))
    optimum = optimal_input(hops)
    if optimum is None:
        assert ceiling < slack + 1
        return
    assert optimum.amount_out == math.get_amounts_out(optimum.amount_in, hops)[-1]
    assert ceiling - slack < optimum.profit <= ceiling


@given(hops=st.lists(_small_hop, min_size=1, max_size=4), wanted=st.integers(1, 3000))
def test_least_input_is_the_smallest_input_buying_the_amount(hops: list[Hop], wanted: int) -> None:
    least = least_input(wanted, hops)
    if least is None:
        assert wanted >= hops[-1][1] or amount_out(10**30, hops) < wanted
        return
    assert amount_out(least, hops) >= wanted
    assert least == 1 or amount_out(least - 1, hops) < wanted


def test_marginal_gain_is_the_same_in_every_rotation() -> None:
    hops = [(1000, 1300), (2000, 1900), (500, 450)]
    gains = {marginal_gain(hops[k:] + hops[:k]) for k in range(3)}
    assert gains == {Fraction(13 * 19 * 9, 10 * 20 * 10) * Fraction(997, 1000) ** 3}


@pytest.mark.parametrize(
    ("hundredths", "shown"), [(12345, "123.45"), (12340, "123.4"), (12300, "123"), (5, "0.05")]
)
def test_profit_bps_shows_two_decimals_trimmed(hundredths: int, shown: str) -> None:
    assert arb._hundredths(hundredths) == shown


# --- the route on a real application -----------------------------------------------------------
def add_pair(driver: Driver, token_a: bytes, token_b: bytes, amount_a: int, amount_b: int) -> None:
    outcome = driver.act(
        ALICE,
        "add_liquidity",
        token_a=token_a,
        token_b=token_b,
        token_a_desired=amount_a,
        token_b_desired=amount_b,
        token_a_min=0,
        token_b_min=0,
    )
    assert outcome.accepted, outcome.reports


def triangle(driver: Driver, a_per_c: int = 12 * DEEP // 10) -> Driver:
    """A/B and B/C at 1:1; C/A pays `a_per_c`/DEEP of A per C (1.2 by default: A→B→C→A pays)."""
    funded(driver)
    add_pair(driver, TOKEN_A, TOKEN_B, DEEP, DEEP)
    add_pair(driver, TOKEN_B, TOKEN_C, DEEP, DEEP)
    add_pair(driver, TOKEN_C, TOKEN_A, DEEP, a_per_c)
    return driver


def route(driver: Driver, query: str = "", **hooks: Any) -> dict[str, Any]:
    return arbitrage(driver.app.inspector, [], Query(query), **hooks)


def balance(driver: Driver, account: bytes, token: bytes) -> int:
    found = driver.inspect(
        f"/balance/{to_checksum_address(account)}?token={to_checksum_address(token)}"
    )
    return int(found["balance"])


def trade(driver: Driver, opportunity: dict[str, Any]) -> int:
    """BOB sends the opportunity as a swap input now; returns what BOB gained in the start token."""
    path = [TOKENS[token] for token in opportunity["path"]]
    before = balance(driver, BOB, path[0])
    outcome = driver.act(
        BOB,
        "swap",
        amount_in=opportunity["amount_in"],
        amount_out_min=opportunity["amount_out"],
        path=path,
    )
    swaps = [event for event in notice_events(outcome) if event["type"] == "Swap"]
    assert swaps[-1]["to"] == to_checksum_address(BOB)
    assert opportunity["amount_out"] in (swaps[-1]["amount0_out"], swaps[-1]["amount1_out"])
    return balance(driver, BOB, path[0]) - before


def fund_bob(driver: Driver) -> None:
    for token in (TOKEN_A, TOKEN_B, TOKEN_C):
        assert driver.deposit(token, BOB, 10**23).accepted


def assert_router_agrees(driver: Driver, answer: dict[str, Any]) -> None:
    for found in answer["opportunities"]:
        path = [TOKENS[token] for token in found["path"]]
        amounts = driver.app.inspector.router.get_amounts_out(
            int(found["amount_in"]), path, answer["as_of"]
        )
        assert str(amounts[-1]) == found["amount_out"]
        assert int(found["profit"]) == amounts[-1] - amounts[0] > 0


def test_a_mispriced_triangle_is_found_and_a_swap_input_gets_exactly_amount_out(
    driver: Driver,
) -> None:
    triangle(driver)
    fund_bob(driver)
    answer = route(driver)
    assert answer["as_of"] == START and answer["truncated"] is False
    (found,) = answer["opportunities"]  # the reverse direction loses
    assert found["path"][0] == found["path"][-1]
    assert {TOKENS[t] for t in found["path"]} == {TOKEN_A, TOKEN_B, TOKEN_C}
    forward = {
        (TOKEN_A, TOKEN_B, TOKEN_C),
        (TOKEN_B, TOKEN_C, TOKEN_A),
        (TOKEN_C, TOKEN_A, TOKEN_B),
    }
    assert tuple(TOKENS[t] for t in found["path"][:3]) in forward  # A→B→C→A or a rotation
    assert found["profit_usd"] is None
    assert int(found["profit_bps"].split(".")[0]) > 0
    assert_router_agrees(driver, answer)
    assert trade(driver, found) == int(found["profit"])
    assert route(driver)["opportunities"] == []  # the optimal trade closes the cycle


def test_a_balanced_market_has_no_opportunity(driver: Driver) -> None:
    triangle(driver, a_per_c=DEEP)
    assert route(driver) == {"as_of": START, "opportunities": [], "truncated": False}


def test_the_reserves_are_those_after_the_stream_swaps_run_until_the_last_input(
    driver: Driver,
) -> None:
    triangle(driver, a_per_c=DEEP)  # balanced as stored
    assert driver.deposit(TOKEN_A, CAROL, 10**20).accepted
    placed = driver.act(
        CAROL, "swap", amount_in=10**20, amount_out_min=0, path=[TOKEN_A, TOKEN_C], duration=1000
    )
    assert placed.accepted, placed.reports
    driver.now = START + 500
    fund_bob(driver)  # inputs that do not touch the pairs: stored reserves stay those at START
    inspector: Inspector = driver.app.inspector
    stored = inspector.pairs.get(TOKEN_C, TOKEN_A)
    executed = inspector.twamm.view(stored, START + 500).pair
    assert (stored.reserve0, stored.reserve1) != (executed.reserve0, executed.reserve1)
    stored_gain = marginal_gain(
        [
            inspector.pairs.get(TOKEN_A, TOKEN_B).reserves_from(TOKEN_A),
            inspector.pairs.get(TOKEN_B, TOKEN_C).reserves_from(TOKEN_B),
            stored.reserves_from(TOKEN_C),
        ]
    )
    assert stored_gain < 1  # from the stored reserves there is nothing to find

    answer = route(driver)
    assert answer["as_of"] == START + 500
    (found,) = answer["opportunities"]
    assert_router_agrees(driver, answer)
    assert trade(driver, found) == int(found["profit"])  # sent at START + 500, as the last input


def test_two_hops_need_two_pairs_over_one_token_pair_so_there_are_none(driver: Driver) -> None:
    triangle(driver)
    assert route(driver, "max_hops=2")["opportunities"] == []
    assert len(route(driver, "max_hops=3")["opportunities"]) == 1


def square(driver: Driver) -> Driver:
    """A→B→C→D→A gains 10% before fees; the diagonal A/C adds A→C→B→A and A→C→D→A."""
    funded(driver)
    assert driver.deposit(TOKEN_D, ALICE, 10**24).accepted
    add_pair(driver, TOKEN_A, TOKEN_B, DEEP, DEEP)
    add_pair(driver, TOKEN_B, TOKEN_C, DEEP, DEEP)
    add_pair(driver, TOKEN_C, TOKEN_D, DEEP, DEEP)
    add_pair(driver, TOKEN_D, TOKEN_A, DEEP, 11 * DEEP // 10)
    add_pair(driver, TOKEN_A, TOKEN_C, DEEP, 105 * DEEP // 100)
    return driver


def test_max_hops_four_finds_the_square_and_answers_best_first(driver: Driver) -> None:
    square(driver)
    assert len(route(driver, "max_hops=3")["opportunities"]) == 2
    answer = route(driver, "max_hops=4")
    found = answer["opportunities"]
    assert sorted(len(o["pairs"]) for o in found) == [3, 3, 4]  # A→C→B→A, A→C→D→A, the square
    bps = [Fraction(o["profit_bps"]) for o in found]
    assert bps == sorted(bps, reverse=True)
    assert_router_agrees(driver, answer)
    for o in found:  # a simple cycle: distinct tokens and pairs
        assert len(set(o["path"][:-1])) == len(set(o["pairs"])) == len(o["pairs"])


def test_min_profit_bps_filters_on_the_marginal_gain(driver: Driver) -> None:
    triangle(driver)
    hops = [(DEEP, DEEP), (DEEP, DEEP), (DEEP, 12 * DEEP // 10)]
    edge_bps = (marginal_gain(hops) - 1) * 10_000  # ≈ 1892.2
    assert len(route(driver, f"min_profit_bps={int(edge_bps)}")["opportunities"]) == 1
    assert route(driver, f"min_profit_bps={int(edge_bps) + 1}")["opportunities"] == []


def test_profit_usd_comes_from_the_callers_hook(driver: Driver) -> None:
    triangle(driver)
    seen: list[tuple[bytes, int]] = []

    def usd_value(token: bytes, amount: int) -> int:
        seen.append((token, amount))
        return amount * 10**18 * 3 // 2  # $1.5 per base unit

    (found,) = route(driver, usd_value=usd_value)["opportunities"]
    profit = int(found["profit"])
    assert seen == [(TOKENS[found["path"][0]], profit)]
    assert found["profit_usd"] == str(profit * 3 // 2) + (".5" if profit % 2 else "")


def test_the_count_cap_keeps_the_best(driver: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    square(driver)
    everything = route(driver, "max_hops=4")
    assert len(everything["opportunities"]) == 3 and everything["truncated"] is False
    for cap in (1, 2):
        monkeypatch.setattr(arb, "MAX_OPPORTUNITIES", cap)
        capped = route(driver, "max_hops=4")
        assert capped["opportunities"] == everything["opportunities"][:cap]
        assert capped["truncated"] is True


def test_caps_are_reported_as_truncated(driver: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    triangle(driver)
    monkeypatch.setattr(arb, "MAX_PAIRS", 2)
    assert route(driver) == {"as_of": START, "opportunities": [], "truncated": True}
    monkeypatch.setattr(arb, "MAX_PAIRS", 200)
    monkeypatch.setattr(arb, "MAX_CYCLES", 0)
    assert route(driver)["truncated"] is True


@pytest.mark.parametrize(
    "query",
    ["max_hops=5", "max_hops=1", "max_hops=x", "min_profit_bps=abc", "min_profit_bps=10001"],
)
def test_bad_parameters_are_refused(driver: Driver, query: str) -> None:
    with pytest.raises(BadParameter):
        route(driver, query)


def test_through_the_inspect_router_once_registered(
    driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inspect, "ROUTES", [*inspect.ROUTES, (("arbitrage",), arbitrage)])
    triangle(driver)
    assert driver.inspect("/arbitrage?max_hops=3&min_profit_bps=0") == route(driver)
    assert driver.inspect("/arbitrage?max_hops=5")["error"] == "BAD_PARAMETER"
    assert driver.inspect("/arbitrage?at=5")["error"] == "BAD_PARAMETER"  # reads as of now only
