"""The TWAMM closed form (PROTOCOL §4.3): reference vectors, a brute-force fine-step simulation,
symmetry, conservation, k, and what stream swaps buy compared with instant swaps."""

from __future__ import annotations

import decimal
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dapp.amm.math import get_amount_out
from dapp.amm.twamm_math import (
    EARNINGS_SCALE,
    FEE_DENOMINATOR,
    FEE_NUMERATOR,
    curve_after,
    earnings_increment,
    execute,
    order_proceeds,
    precision_for,
)
from dapp.errors import InsufficientLiquidity
from tests.conftest import vector_params

VECTORS = json.loads((Path(__file__).parent / "vectors" / "twamm_stream_vectors.json").read_text())[
    "vectors"
]


def of_kind(*kinds: str) -> list[dict[str, Any]]:
    return [v for v in VECTORS if v["kind"] in kinds]


def close(actual: Decimal, expected: Decimal, rel_tol: Decimal) -> bool:
    return abs(actual - expected) <= rel_tol * max(abs(expected), Decimal(1))


@pytest.mark.parametrize("vector", vector_params(of_kind("twamm_exact"), {}))
def test_closed_form_matches_paradigms_vectors(vector: dict[str, Any]) -> None:
    """Paradigm's reference cases have no fee: the curve alone."""
    x0, y0, x_in, y_in = (Decimal(vector["inputs"][n]) for n in ("x0", "y0", "x_in", "y_in"))
    expected = {name: Decimal(value) for name, value in vector["expected"].items()}
    with decimal.localcontext(decimal.Context(prec=60)):
        if y_in == 0:  # one pool: the plain constant-product trade
            x1, y1 = x0 + x_in, x0 * y0 / (x0 + x_in)
        else:
            x1, y1 = curve_after(x0, y0, x_in, y_in)
        results = {"x_end": x1, "y_end": y1, "x_out": x0 + x_in - x1, "y_out": y0 + y_in - y1}
    for name in ("x_end", "y_end", "x_out", "y_out"):
        assert close(results[name], expected[name], expected["rel_tol"]), name


def simulate(x0: float, y0: float, in0: float, in1: float, steps: int) -> tuple[float, float]:
    """Brute force: `steps` small constant-product trades of each flow, interleaved
    symmetrically (half of flow 0, all of flow 1, half of flow 0) so the order costs nothing
    to second order. Returns what flowed out to pool 0 (token1) and to pool 1 (token0)."""
    x, y = x0, y0
    out0 = out1 = 0.0
    half0, step1 = in0 / steps / 2, in1 / steps
    for _ in range(steps):
        for amount, side in ((half0, 0), (step1, 1), (half0, 0)):
            if side == 0:
                bought = y * amount / (x + amount)
                x, y, out0 = x + amount, y - bought, out0 + bought
            else:
                bought = x * amount / (y + amount)
                x, y, out1 = x - bought, y + amount, out1 + bought
    return out0, out1


@pytest.mark.parametrize("vector", vector_params(of_kind("twamm_vs_discrete"), {}))
def test_closed_form_is_the_limit_of_the_vectors_discretisation(vector: dict[str, Any]) -> None:
    inputs = vector["inputs"]
    x0, y0, x_in, y_in = (inputs[n] for n in ("x0", "y0", "x_in", "y_in"))
    out0, out1 = simulate(x0, y0, x_in, y_in, inputs["steps"])
    with decimal.localcontext(decimal.Context(prec=60)):
        x1, y1 = curve_after(Decimal(x0), Decimal(y0), Decimal(x_in), Decimal(y_in))
    tolerance = float(vector["expected"]["rel_tol"])
    assert out0 == pytest.approx(float(y0 + y_in - y1), rel=tolerance)
    assert out1 == pytest.approx(float(x0 + x_in - x1), rel=tolerance)


BRUTE_FORCE_CASES = [
    (10**21, 2 * 10**21, 5 * 10**19, 3 * 10**20),  # heavy flow both ways
    (10**24, 10**24, 10**21, 10**21),  # balanced, light
    (10**18, 4 * 10**30, 10**17, 10**29),  # very different decimals
    (10**20, 10**20, 10**20, 10**16),  # one side dominates, flow as large as the reserves
]


@pytest.mark.parametrize(("reserve0", "reserve1", "sold0", "sold1"), BRUTE_FORCE_CASES)
def test_execution_agrees_with_a_100000_step_simulation(
    reserve0: int, reserve1: int, sold0: int, sold1: int
) -> None:
    gamma = FEE_NUMERATOR / FEE_DENOMINATOR
    out0, out1 = simulate(reserve0, reserve1, sold0 * gamma, sold1 * gamma, 100_000)
    execution = execute(reserve0, reserve1, sold0, sold1)
    assert execution.proceeds0 == pytest.approx(out0, rel=1e-6)
    assert execution.proceeds1 == pytest.approx(out1, rel=1e-6)


def test_a_hand_checked_case() -> None:
    """x0 = y0 = 1000, each pool sells 1000/γ so that 1000 of each reaches the curve: c = 0,
    e = exp(2), x1 = 1000 (the price holds): each pool gets what the other put in, minus the
    withheld unit."""
    sold = 1000 * FEE_DENOMINATOR // FEE_NUMERATOR + 1  # 1004: 1000.988 reaches the curve
    execution = execute(1000, 1000, sold, sold)
    in_after_fee = Decimal(sold) * FEE_NUMERATOR / FEE_DENOMINATOR
    assert execution.proceeds0 == execution.proceeds1 == int(in_after_fee) - 1 == 999
    assert execution.reserve0 == execution.reserve1 == 1000 + sold - 999


def test_one_pool_alone_is_exactly_the_uniswap_swap() -> None:
    execution = execute(1000, 4000, 100, 0)
    assert execution.proceeds0 == get_amount_out(100, 1000, 4000) == 362
    assert (execution.reserve0, execution.reserve1, execution.proceeds1) == (1100, 3638, 0)
    assert execute(1000, 4000, 0, 0) == execute(1000, 4000, 0, 0)
    with pytest.raises(InsufficientLiquidity):
        execute(0, 4000, 10, 10)


amounts = st.integers(min_value=0, max_value=2**128)
reserves = st.integers(min_value=1000, max_value=2**128)


@given(reserves, reserves, amounts, amounts)
def test_swapping_the_tokens_mirrors_the_result(r0: int, r1: int, s0: int, s1: int) -> None:
    forward = execute(r0, r1, s0, s1)
    mirrored = execute(r1, r0, s1, s0)
    assert (forward.reserve0, forward.reserve1) == (mirrored.reserve1, mirrored.reserve0)
    assert (forward.proceeds0, forward.proceeds1) == (mirrored.proceeds1, mirrored.proceeds0)


@given(reserves, reserves, amounts, amounts)
def test_tokens_are_conserved_and_k_never_decreases(r0: int, r1: int, s0: int, s1: int) -> None:
    execution = execute(r0, r1, s0, s1)
    assert execution.reserve0 + execution.proceeds1 == r0 + s0
    assert execution.reserve1 + execution.proceeds0 == r1 + s1
    assert execution.reserve0 > 0 and execution.reserve1 > 0
    assert execution.proceeds0 >= 0 and execution.proceeds1 >= 0
    assert execution.reserve0 * execution.reserve1 >= r0 * r1


@given(
    st.integers(min_value=1, max_value=2**255),
    st.integers(min_value=1, max_value=2**255),
    st.integers(min_value=1, max_value=2**255),
    st.integers(min_value=1, max_value=2**255),
)
def test_proceeds_never_exceed_what_the_curve_gives(r0: int, r1: int, s0: int, s1: int) -> None:
    """Against an evaluation at 400 digits, the paid proceeds are never above the exact value."""
    execution = execute(r0, r1, s0, s1)
    with decimal.localcontext(decimal.Context(prec=400, Emax=decimal.MAX_EMAX)):
        in0 = Decimal(s0) * FEE_NUMERATOR / FEE_DENOMINATOR
        in1 = Decimal(s1) * FEE_NUMERATOR / FEE_DENOMINATOR
        x1, y1 = curve_after(Decimal(r0), Decimal(r1), in0, in1)
        assert execution.proceeds0 <= r1 + in1 - y1
        assert execution.proceeds1 <= r0 + in0 - x1
        assert execution.proceeds0 >= r1 + in1 - y1 - 2  # and withholds at most two units
        assert execution.proceeds1 >= r0 + in0 - x1 - 2


@pytest.mark.parametrize("vector", vector_params(of_kind("twamm_sqrtprice_equivalence"), {}))
def test_the_price_agrees_with_uniswap_v4s_sqrt_price_form(vector: dict[str, Any]) -> None:
    """Uniswap v4's TWAMM hook writes the same solution as a new √price; computed here
    independently from its formula, it must agree with ours."""
    inputs = {name: Decimal(value) for name, value in vector["inputs"].items()}
    x0, y0, t = inputs["x0"], inputs["y0"], inputs["t"]
    in0, in1 = inputs["r0"] * t, inputs["r1"] * t
    with decimal.localcontext(decimal.Context(prec=80)):
        x1, y1 = curve_after(x0, y0, in0, in1)
        ours = (y1 / x1).sqrt()
        sell_ratio = (inputs["r1"] / inputs["r0"]).sqrt()
        sqrt_price = (y0 / x0).sqrt()
        c = (sell_ratio - sqrt_price) / (sell_ratio + sqrt_price)
        e = (2 * (inputs["r0"] * inputs["r1"]).sqrt() * t / (x0 * y0).sqrt()).exp()
        v4 = sell_ratio * (e - c) / (e + c)
        assert close(ours, v4, Decimal(vector["expected"]["rel_tol"]))


def test_precision_grows_with_the_amounts() -> None:
    assert precision_for(1, 2) == 60
    assert precision_for(10**77, 5) == 2 * 78 + 30


def test_a_stream_swap_against_an_idle_pool_is_within_half_a_percent_of_an_instant_swap() -> None:
    """X sold over D seconds, the pair advanced at every second (the worst case: the fee joins
    the reserves each time), against one instant swap of X."""
    reserve0, reserve1, amount, seconds = 10**22, 3 * 10**22, 10**21, 600
    instant = get_amount_out(amount, reserve0, reserve1)
    streamed = 0
    for _ in range(seconds):
        execution = execute(reserve0, reserve1, amount // seconds, 0)
        reserve0, reserve1 = execution.reserve0, execution.reserve1
        streamed += execution.proceeds0
    assert abs(streamed - instant) <= instant * 5 // 1000
    assert execute(10**22, 3 * 10**22, amount, 0).proceeds0 == instant  # one interval: exact


def test_opposing_equal_streams_both_beat_their_instant_swaps() -> None:
    """Equal value both ways: the pools trade with each other at the pair's price, paying only
    the fee on the sold flow and almost no price impact."""
    reserve0, reserve1 = 10**22, 3 * 10**22
    sold0, sold1 = 10**21, 3 * 10**21
    execution = execute(reserve0, reserve1, sold0, sold1)
    assert execution.proceeds0 > get_amount_out(sold0, reserve0, reserve1)
    assert execution.proceeds1 > get_amount_out(sold1, reserve1, reserve0)
    # each side gets the other's flow less the fee, within the withheld unit
    assert execution.proceeds0 == pytest.approx(sold1 * 0.997, rel=1e-9)


@pytest.mark.parametrize("vector", vector_params(of_kind("orderpool_reward_factor"), {}))
def test_order_proceeds_come_from_the_accumulator_at_expiry(vector: dict[str, Any]) -> None:
    """The accumulator is read at each order's expiry, not when the order is settled later
    (the bug of Uniswap v4-periphery #35)."""
    earnings = 0
    sale_rate = 0
    orders: dict[int, tuple[int, int, int]] = {}  # id → (rate, expiry, earnings at start)
    expired_at: dict[int, int] = {}  # expiry → earnings then
    for event in vector["inputs"]["events"]:
        if event[0] == "deposit":
            _, order_id, rate, expiry = event
            orders[order_id] = (rate, expiry, earnings)
            sale_rate += rate
        elif event[0] == "distribute":
            earnings += earnings_increment(event[1], sale_rate)
        else:
            expired_at[event[1]] = earnings
            sale_rate -= sum(rate for rate, expiry, _ in orders.values() if expiry == event[1])
    proceeds = {
        str(order_id): order_proceeds(rate, start, expired_at[expiry])
        for order_id, (rate, expiry, start) in orders.items()
    }
    assert proceeds == vector["expected"]["proceeds"]


@given(
    st.lists(st.integers(min_value=1, max_value=2**100), min_size=1, max_size=20),
    st.integers(min_value=0, max_value=2**256 - 1),
)
def test_orders_are_never_paid_more_than_their_pool_bought(rates: list[int], proceeds: int) -> None:
    increment = earnings_increment(proceeds, sum(rates))
    paid = [order_proceeds(rate, 0, increment) for rate in rates]
    assert sum(paid) <= proceeds
    # what stays behind is dust: under one unit per order, plus Σrates / EARNINGS_SCALE < 1
    assert sum(rates) < EARNINGS_SCALE
    assert proceeds - sum(paid) <= len(rates)
