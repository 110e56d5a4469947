"""dapp.amm.math agrees with Uniswap V2 to the wei, on Uniswap's own test vectors and properties.

The vectors (tests/vectors/univ2_vectors.json, a copy of the shared reference) are copied from
Uniswap's v2-core, v2-periphery and v2-sdk tests; every one is either run bit-exact here or
listed in SKIPPED with the reason it belongs elsewhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dapp.amm.math import (
    FEE_DENOMINATOR,
    FEE_NUMERATOR,
    MINIMUM_LIQUIDITY,
    compute_profit_maximizing_trade,
    get_amount_in,
    get_amount_out,
    get_amounts_in,
    get_amounts_out,
    isqrt,
    liquidity_minted,
    liquidity_value,
    quote,
    reserves_after_arbitrage,
    sort_tokens,
    swap_satisfies_k,
)
from dapp.errors import (
    IdenticalAddresses,
    InsufficientAmount,
    InsufficientInputAmount,
    InsufficientLiquidity,
    InsufficientLiquidityMinted,
    InsufficientOutputAmount,
    InvalidAddress,
    InvalidPath,
    StreamdexError,
)
from tests.conftest import vector_params

VECTORS_PATH = Path(__file__).parent / "vectors" / "univ2_vectors.json"
VECTORS: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text())["vectors"]

E18 = 10**18
UINT112_MAX = 2**112 - 1

# Uniswap revert reason -> the streamdex error that must be raised for it.
REVERT_CLASSES: dict[str, type[StreamdexError]] = {
    "UniswapV2Library: INSUFFICIENT_AMOUNT": InsufficientAmount,
    "UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT": InsufficientInputAmount,
    "UniswapV2Library: INSUFFICIENT_OUTPUT_AMOUNT": InsufficientOutputAmount,
    "UniswapV2Library: INSUFFICIENT_LIQUIDITY": InsufficientLiquidity,
    "UniswapV2Library: INVALID_PATH": InvalidPath,
    # v2-sdk's Pair.getLiquidityMinted throws this where the pair reverts
    # 'UniswapV2: INSUFFICIENT_LIQUIDITY_MINTED' (or underflows below MINIMUM_LIQUIDITY).
    "InsufficientInputAmountError": InsufficientLiquidityMinted,
}

# Every vector not run here, by id, with the reason. A new vector in the file must be added to
# either this table or a RUNNERS kind, or test_every_vector_is_run_or_skipped_with_reason fails.
_NO_PROTOCOL_FEE = "feeOn: streamdex has no protocol fee (PROTOCOL §4.2)"
_PAIR_STATE = "pair_scenario: stateful mint/burn/swap sequence, belongs to the pair's tests"
_NO_ORACLE = "oracle_average: streamdex has no price accumulators / TWAP oracle"
_SDK_SLIPPAGE = "slippage_*: v2-sdk client-side bound helper; the router takes explicit bounds"
SKIPPED: dict[str, str] = {
    "liquidityValue:2": _NO_PROTOCOL_FEE,
    "clv_scenario:1": _NO_PROTOCOL_FEE,
    "liquidityValueAfterArbitrage:5": _NO_PROTOCOL_FEE,
    "liquidityValueAfterArbitrage:6": _NO_PROTOCOL_FEE,
    "liquidityValueAfterArbitrage:7": _NO_PROTOCOL_FEE,
    "liquidityValueAfterArbitrage:8": _NO_PROTOCOL_FEE,
    "liquidityValueAfterArbitrage:9": _NO_PROTOCOL_FEE,
    "pair_scenario:0": _PAIR_STATE,
    "pair_scenario:1": _PAIR_STATE,
    "pair_scenario:2": _PAIR_STATE,
    "pair_scenario:3": _PAIR_STATE,
    "pair_scenario:4": _PAIR_STATE,
    "pair_scenario:5": _PAIR_STATE,
    "oracle_average:0": _NO_ORACLE,
    "slippage_minimumAmountOut:0": _SDK_SLIPPAGE,
    "slippage_minimumAmountOut:1": _SDK_SLIPPAGE,
    "slippage_minimumAmountOut:2": _SDK_SLIPPAGE,
    "slippage_maximumAmountIn:0": _SDK_SLIPPAGE,
    "slippage_maximumAmountIn:1": _SDK_SLIPPAGE,
    "slippage_maximumAmountIn:2": _SDK_SLIPPAGE,
}


# --- one runner per vector kind: inputs -> every quantity the vector may assert ----------------
def _no_fee(inputs: dict[str, Any]) -> None:
    # A feeOn vector reaching a runner was not listed in SKIPPED: fail loudly, never pass.
    assert not inputs.get("feeOn", False), "feeOn vectors must be listed in SKIPPED"


def _run_get_amount_out(inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "amountOut": get_amount_out(inputs["amountIn"], inputs["reserveIn"], inputs["reserveOut"])
    }


def _run_get_amount_in(inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "amountIn": get_amount_in(inputs["amountOut"], inputs["reserveIn"], inputs["reserveOut"])
    }


def _run_quote(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"amountB": quote(inputs["amountA"], inputs["reserveA"], inputs["reserveB"])}


def _hops(inputs: dict[str, Any]) -> list[tuple[int, int]]:
    return [(reserve_in, reserve_out) for reserve_in, reserve_out in inputs["path_reserves"]]


def _run_get_amounts_out(inputs: dict[str, Any]) -> dict[str, Any]:
    amounts = get_amounts_out(inputs["amountIn"], _hops(inputs))
    return {"amounts": amounts, "first": amounts[0], "last": amounts[-1]}


def _run_get_amounts_in(inputs: dict[str, Any]) -> dict[str, Any]:
    amounts = get_amounts_in(inputs["amountOut"], _hops(inputs))
    return {"amounts": amounts, "first": amounts[0], "last": amounts[-1]}


def _run_pair_swap(inputs: dict[str, Any]) -> dict[str, Any]:
    r0, r1 = inputs["reserve0"], inputs["reserve1"]
    in0, in1 = inputs["amount0In"], inputs["amount1In"]
    out0, out1 = inputs["amount0Out"], inputs["amount1Out"]
    # One more wei on whichever output the trade takes.
    bumped = (out0 + 1, out1) if out0 else (out0, out1 + 1)
    result: dict[str, Any] = {
        "k_ok": swap_satisfies_k(r0, r1, in0, in1, out0, out1),
        "k_ok_if_amountOut_plus_1": swap_satisfies_k(r0, r1, in0, in1, *bumped),
        "reserves_after": [r0 + in0 - out0, r1 + in1 - out1],
    }
    if in0 and not in1:
        result["getAmountOut"] = get_amount_out(in0, r0, r1)
    elif in1 and not in0:
        result["getAmountOut"] = get_amount_out(in1, r1, r0)
    return result


def _run_sdk_liquidity_minted(inputs: dict[str, Any]) -> dict[str, Any]:
    reserve0, reserve1 = inputs["reserves"]
    amount0, amount1 = inputs["amounts"]
    liquidity = liquidity_minted(inputs["totalSupply"], reserve0, reserve1, amount0, amount1)
    return {"liquidity": liquidity}


def _run_liquidity_value(inputs: dict[str, Any]) -> dict[str, Any]:
    _no_fee(inputs)
    reserve0, reserve1 = inputs["reserves"]
    amounts = liquidity_value(inputs["totalSupply"], reserve0, reserve1, inputs["liquidity"])
    return {"amounts": list(amounts), "amountA": amounts[0], "amountB": amounts[1]}


# v2-periphery test/ExampleComputeLiquidityValue.spec.ts, beforeEach: the wallet mints with
# 10e18 token0 and 1000e18 token1 ("1:100, 100 shares minted").
CLV_DEPOSIT = (10 * E18, 1000 * E18)


def _clv_pair(swap_token0_in: int) -> tuple[int, int, int]:
    """(total_supply, reserve0, reserve1) of the spec's pair after its optional token0 swap."""
    liquidity = liquidity_minted(0, 0, 0, *CLV_DEPOSIT)
    total_supply = liquidity + MINIMUM_LIQUIDITY
    assert total_supply == 100 * E18  # the spec's own expectation
    reserve0, reserve1 = CLV_DEPOSIT
    if swap_token0_in:
        # router.swapExactTokensForTokens(swap_token0_in, 0, [token0, token1], ...)
        amount_out = get_amounts_out(swap_token0_in, [(reserve0, reserve1)])[-1]
        reserve0, reserve1 = reserve0 + swap_token0_in, reserve1 - amount_out
    return total_supply, reserve0, reserve1


def _run_clv_scenario(inputs: dict[str, Any]) -> dict[str, Any]:
    _no_fee(inputs)
    total_supply, reserve0, reserve1 = _clv_pair(inputs["swap_token0_in"])
    amounts = liquidity_value(total_supply, reserve0, reserve1, inputs["liquidity"])
    return {"reserves_after_swap": [reserve0, reserve1], "amounts": list(amounts)}


def _run_liquidity_value_after_arbitrage(inputs: dict[str, Any]) -> dict[str, Any]:
    _no_fee(inputs)
    total_supply, reserve0, reserve1 = _clv_pair(inputs["swap_token0_in"])
    reserve0, reserve1 = reserves_after_arbitrage(
        inputs["truePriceA"], inputs["truePriceB"], reserve0, reserve1
    )
    amounts = liquidity_value(total_supply, reserve0, reserve1, inputs["liquidity"])
    return {"amounts": list(amounts)}


def _run_reserves_after_arbitrage(inputs: dict[str, Any]) -> dict[str, Any]:
    reserve_a, reserve_b = inputs["reserves"]
    reserves = reserves_after_arbitrage(
        inputs["truePriceA"], inputs["truePriceB"], reserve_a, reserve_b
    )
    return {"reserves": list(reserves)}


def _run_swap_to_price(inputs: dict[str, Any]) -> dict[str, Any]:
    reserve_a, reserve_b = inputs["reserves"]
    a_to_b, amount_in = compute_profit_maximizing_trade(
        inputs["truePriceA"], inputs["truePriceB"], reserve_a, reserve_b
    )
    # ExampleSwapToPrice then swaps amount_in through the router, token A first when a_to_b.
    reserve_in, reserve_out = (reserve_a, reserve_b) if a_to_b else (reserve_b, reserve_a)
    amount_out = get_amount_out(amount_in, reserve_in, reserve_out)
    return {"aToB": a_to_b, "amountIn": amount_in, "amountOut": amount_out}


RUNNERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "getAmountOut": _run_get_amount_out,
    "getAmountIn": _run_get_amount_in,
    "quote": _run_quote,
    "getAmountsOut": _run_get_amounts_out,
    "getAmountsIn": _run_get_amounts_in,
    "pair_swap_exact_in": _run_pair_swap,
    "pair_swap_optimistic": _run_pair_swap,
    "sdk_getLiquidityMinted": _run_sdk_liquidity_minted,
    "liquidityValue": _run_liquidity_value,
    "clv_scenario": _run_clv_scenario,
    "swapToPrice": _run_swap_to_price,
    "reservesAfterArbitrage": _run_reserves_after_arbitrage,
    "liquidityValueAfterArbitrage": _run_liquidity_value_after_arbitrage,
}


def _check_vector(vector: dict[str, Any]) -> None:
    """Run one vector: each expected field must match exactly, each revert must raise its class."""
    run = RUNNERS[vector["kind"]]
    expected = vector["expected"]
    if "revert" in expected:
        error_class = REVERT_CLASSES[expected["revert"]]
        with pytest.raises(StreamdexError) as raised:
            run(vector["inputs"])
        assert type(raised.value) is error_class, f"{expected['revert']!r} -> {raised.value!r}"
        return
    computed = run(vector["inputs"])
    missing = set(expected) - set(computed)
    assert not missing, f"runner does not compute expected fields {sorted(missing)}"
    for field, value in expected.items():
        assert computed[field] == value, f"{field}: {computed[field]} != {value}"


# --- (a) the vectors, bit-exact ----------------------------------------------------------------
@pytest.mark.parametrize("vector", vector_params(VECTORS, SKIPPED))
def test_uniswap_vector_matches_bit_exact(vector: dict[str, Any]) -> None:
    _check_vector(vector)


# --- (b) no vector is silently ignored ---------------------------------------------------------
def test_every_vector_is_run_or_skipped_with_reason() -> None:
    ids = [v["id"] for v in VECTORS]
    assert len(ids) == len(set(ids)), "vector ids must be unique"
    assert set(SKIPPED) <= set(ids), f"stale SKIPPED ids: {sorted(set(SKIPPED) - set(ids))}"
    assert all(reason.strip() for reason in SKIPPED.values())
    ran = []
    for vector in VECTORS:
        if vector["id"] in SKIPPED:
            continue
        assert vector["kind"] in RUNNERS, f"{vector['id']}: no runner and not in SKIPPED"
        _check_vector(vector)
        ran.append(vector["id"])
    assert len(ran) + len(SKIPPED) == len(VECTORS)
    # Pin the counts so a change to the file or the tables is a visible, reviewed change.
    assert (len(ran), len(SKIPPED)) == (61, 20)
    assert {v["kind"] for v in VECTORS if v["id"] in ran} == set(RUNNERS)


# --- (c) focused unit tests --------------------------------------------------------------------
def _uniswap_babylonian_sqrt(y: int) -> int:
    """v2-core Math.sqrt, transcribed: the reference isqrt must equal."""
    if y > 3:
        z, x = y, y // 2 + 1
        while x < z:
            z, x = x, (y // x + x) // 2
        return z
    return 1 if y != 0 else 0


_SQRT_EDGES = sorted(
    {0, 1, 2, 3, 4, 5, 8, 9, 10, 15, 16, 17, 999_999, 1_000_000, 1_000_001}
    | {n * n + d for n in (2**56, 2**112 - 1, 10**18, 2**128 - 1) for d in (-1, 0, 1)}
    | {2**k - 1 for k in (64, 128, 224, 256)}
    | {UINT112_MAX * UINT112_MAX, 2**256 - 1}
)


@pytest.mark.parametrize("y", _SQRT_EDGES)
def test_isqrt_is_floor_sqrt_like_uniswap_babylonian(y: int) -> None:
    root = isqrt(y)
    assert root == math.isqrt(y) == _uniswap_babylonian_sqrt(y)
    assert root * root <= y < (root + 1) * (root + 1)


# (amount_in, reserve_in, reserve_out): v2-core swapTestCases plus small-reserve edges.
_SWAP_CASES = [
    (1 * E18, 5 * E18, 10 * E18),
    (1 * E18, 10 * E18, 5 * E18),
    (2 * E18, 5 * E18, 10 * E18),
    (1 * E18, 100 * E18, 100 * E18),
    (1 * E18, 1000 * E18, 1000 * E18),
    (2, 100, 100),
    (1000, 1000, 1000),
    (UINT112_MAX, UINT112_MAX, UINT112_MAX),
    (1, UINT112_MAX, 2),
    (1000, 997, 2),  # k preserved exactly: the pair's >= must accept it
]


@pytest.mark.parametrize("token0_in", [True, False], ids=["token0_in", "token1_in"])
@pytest.mark.parametrize("case", _SWAP_CASES, ids=str)
def test_one_wei_above_quote_breaks_k(case: tuple[int, int, int], token0_in: bool) -> None:
    amount_in, reserve_in, reserve_out = case
    amount_out = get_amount_out(amount_in, reserve_in, reserve_out)

    def k_ok(out: int) -> bool:
        if token0_in:
            return swap_satisfies_k(reserve_in, reserve_out, amount_in, 0, 0, out)
        return swap_satisfies_k(reserve_out, reserve_in, 0, amount_in, out, 0)

    assert k_ok(amount_out) == (amount_out > 0)  # a zero output is no swap at all
    assert not k_ok(amount_out + 1)


def test_swap_that_keeps_k_exactly_is_accepted() -> None:
    # (997*1000 + 1000*997) * (1*1000) == 997 * 2 * 1000**2: the adjusted k is unchanged.
    assert get_amount_out(1000, 997, 2) == 1
    assert swap_satisfies_k(997, 2, 1000, 0, 0, 1)
    assert not swap_satisfies_k(997, 2, 999, 0, 0, 1)


def test_swap_satisfies_k_refuses_what_the_pair_refuses() -> None:
    assert not swap_satisfies_k(100, 100, 10, 0, 0, 0)  # no output
    assert not swap_satisfies_k(100, 100, 0, 0, 0, 1)  # no input
    assert not swap_satisfies_k(100, 100, 10**9, 0, 0, 100)  # output takes the whole reserve
    assert not swap_satisfies_k(100, 100, -5, 0, 0, 1)  # negative amounts are never a trade
    assert swap_satisfies_k(100, 100, 10**9, 0, 0, 99)


@pytest.mark.parametrize("case", _SWAP_CASES, ids=str)
def test_amount_in_out_round_trip_never_favours_the_trader(case: tuple[int, int, int]) -> None:
    amount_in, reserve_in, reserve_out = case
    amount_out = get_amount_out(amount_in, reserve_in, reserve_out)
    if amount_out > 0:
        # Buying back what amount_in bought costs at most amount_in plus Uniswap's one wei.
        assert get_amount_in(amount_out, reserve_in, reserve_out) <= amount_in + 1
    wanted = min(amount_in, reserve_out - 1)
    paid = get_amount_in(wanted, reserve_in, reserve_out)
    assert get_amount_out(paid, reserve_in, reserve_out) >= wanted


def test_get_amount_in_overpays_one_wei_when_exact_like_uniswap() -> None:
    # 1 * 997 * 1000 / ((2 - 1) * 997) is exactly 1000, and 1000 in already buys 1 out,
    # yet Uniswap's getAmountIn always adds 1: bit-exactness wins over minimality.
    assert get_amount_out(1000, 997, 2) == 1
    assert get_amount_in(1, 997, 2) == 1001


def test_get_amount_in_refuses_the_whole_reserve() -> None:
    # Solidity underflows on reserveOut - amountOut; we name it.
    with pytest.raises(InsufficientLiquidity):
        get_amount_in(100, 100, 100)
    with pytest.raises(InsufficientLiquidity):
        get_amount_in(101, 100, 100)


def test_first_mint_locks_minimum_liquidity() -> None:
    assert liquidity_minted(0, 0, 0, 1 * E18, 4 * E18) == 2 * E18 - MINIMUM_LIQUIDITY
    with pytest.raises(InsufficientLiquidityMinted):
        liquidity_minted(0, 0, 0, 999, 999)  # Solidity would underflow here


def test_later_mint_pays_the_smaller_side() -> None:
    assert liquidity_minted(2 * E18, 1 * E18, 4 * E18, 1 * E18, 1 * E18) == E18 // 2


TOKEN_ETHER = bytes(20)
TOKEN_LOW = bytes.fromhex("00" * 19 + "01")
TOKEN_HIGH = bytes.fromhex("ff" + "00" * 19)


def test_sort_tokens_orders_by_byte_value_in_either_argument_order() -> None:
    assert sort_tokens(TOKEN_LOW, TOKEN_HIGH) == (TOKEN_LOW, TOKEN_HIGH)
    assert sort_tokens(TOKEN_HIGH, TOKEN_LOW) == (TOKEN_LOW, TOKEN_HIGH)
    # Ether is the zero address and sorts first.
    assert sort_tokens(TOKEN_HIGH, TOKEN_ETHER) == (TOKEN_ETHER, TOKEN_HIGH)


def test_sort_tokens_refuses_identical_tokens() -> None:
    with pytest.raises(IdenticalAddresses):
        sort_tokens(TOKEN_HIGH, TOKEN_HIGH)
    with pytest.raises(IdenticalAddresses):
        sort_tokens(TOKEN_ETHER, bytes(20))


def test_sort_tokens_refuses_non_address_bytes() -> None:
    with pytest.raises(InvalidAddress):
        sort_tokens(b"\x01", TOKEN_HIGH)


# --- (d) properties ----------------------------------------------------------------------------
_amount = st.integers(min_value=1, max_value=2**112)


@given(amount_in=_amount, reserve_in=_amount, reserve_out=_amount, token0_in=st.booleans())
def test_get_amount_out_is_the_largest_output_k_accepts(
    amount_in: int, reserve_in: int, reserve_out: int, token0_in: bool
) -> None:
    amount_out = get_amount_out(amount_in, reserve_in, reserve_out)

    def k_ok(out: int) -> bool:
        if token0_in:
            return swap_satisfies_k(reserve_in, reserve_out, amount_in, 0, 0, out)
        return swap_satisfies_k(reserve_out, reserve_in, 0, amount_in, out, 0)

    assert k_ok(amount_out) == (amount_out > 0)
    assert not k_ok(amount_out + 1)


@given(reserve_in=_amount, reserve_out=st.integers(2, 2**112), data=st.data())
def test_get_amount_in_is_the_smallest_sufficient_input_up_to_uniswaps_one_wei(
    reserve_in: int, reserve_out: int, data: st.DataObject
) -> None:
    amount_out = data.draw(st.integers(1, reserve_out - 1), label="amount_out")
    amount_in = get_amount_in(amount_out, reserve_in, reserve_out)
    assert get_amount_out(amount_in, reserve_in, reserve_out) >= amount_out
    numerator = reserve_in * amount_out * FEE_DENOMINATOR
    denominator = (reserve_out - amount_out) * FEE_NUMERATOR
    exact = numerator % denominator == 0
    smallest = amount_in - 1 if exact else amount_in
    # Uniswap's always-+1 overpays by one wei only when the exact input is an integer.
    assert get_amount_out(smallest, reserve_in, reserve_out) >= amount_out
    if smallest > 1:
        assert get_amount_out(smallest - 1, reserve_in, reserve_out) < amount_out


@given(
    true_price_a=st.integers(1, 2**128),
    true_price_b=st.integers(1, 2**128),
    reserve_a=st.integers(1, 2**112),
    reserve_b=st.integers(1, 2**112),
)
def test_arbitrage_trade_is_a_valid_swap_that_never_lowers_k(
    true_price_a: int, true_price_b: int, reserve_a: int, reserve_b: int
) -> None:
    a_to_b, amount_in = compute_profit_maximizing_trade(
        true_price_a, true_price_b, reserve_a, reserve_b
    )
    # Uniswap returns (False, 0) below the fee band; never a negative trade in either direction.
    assert amount_in >= 0
    assert isinstance(a_to_b, bool)
    after_a, after_b = reserves_after_arbitrage(true_price_a, true_price_b, reserve_a, reserve_b)
    assert after_a > 0 and after_b > 0
    assert after_a * after_b >= reserve_a * reserve_b  # k never decreases (PROTOCOL §4.2)
    if (after_a, after_b) != (reserve_a, reserve_b):
        in_a, in_b = max(after_a - reserve_a, 0), max(after_b - reserve_b, 0)
        out_a, out_b = max(reserve_a - after_a, 0), max(reserve_b - after_b, 0)
        if out_a or out_b:
            assert swap_satisfies_k(reserve_a, reserve_b, in_a, in_b, out_a, out_b)
