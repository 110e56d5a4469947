"""dapp.amm.router: Router02's liquidity and swaps over the ledger, to the wei and atomically.

The router owns the user's limits (minimums, maximums, deadline, recipient, path); these tests
pin each limit at its exact boundary (the bound itself accepted, one wei beyond refused), check
that a swap moves exactly the amounts the library quotes on the reserves it started from, that
every refusal leaves the database exactly as it was, and that multi-hop trades conserve tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dapp.addresses import ZERO_ADDRESS, to_checksum_address
from dapp.amm import math
from dapp.amm.math import MINIMUM_LIQUIDITY
from dapp.amm.pair import pair_address
from dapp.errors import (
    ExcessiveInputAmount,
    Expired,
    IdenticalAddresses,
    InsufficientAAmount,
    InsufficientBalance,
    InsufficientBAmount,
    InsufficientInputAmount,
    InsufficientLiquidity,
    InsufficientLiquidityBurned,
    InsufficientLiquidityMinted,
    InsufficientOutputAmount,
    InvalidAmount,
    InvalidPath,
    InvalidRecipient,
    PairNotFound,
    StreamdexError,
)
from dapp.events import PairCreated
from dapp.store import Store
from tests.conftest import World, address, rejected_atomically

E18 = 10**18
# byte order: TOKEN_A < TOKEN_B < TOKEN_C < TOKEN_D, so A is token0 of A/B and B of B/C
TOKEN_A = address(0xA)
TOKEN_B = address(0xB)
TOKEN_C = address(0xC)
TOKEN_D = address(0xD)  # funded, but in no pair
TOKENS = (TOKEN_A, TOKEN_B, TOKEN_C, TOKEN_D)
PROVIDER = address(0x100)
TRADER = address(0x200)
RECIPIENT = address(0x300)
POOR = address(0x400)  # holds 1000 of each token
FUNDING = 10**30
T_DEPOSIT = 1
T0 = 10
NOW = T0 + 1  # the time of the operation under test, once the market is set up

# reserves of the market fixture, in path order (A→B, B→C): deliberately unequal and not round
RESERVES_AB = (10 * E18 + 7, 30 * E18 + 11)
RESERVES_BC = (5 * E18 + 3, 2 * E18 + 1)


def _deposit_all(world: World) -> dict[bytes, int]:
    """Fund the accounts; returns the total deposited of each token."""
    deposited = dict.fromkeys(TOKENS, 0)
    for account, amount in [(PROVIDER, FUNDING), (TRADER, FUNDING), (POOR, 1000)]:
        for token in TOKENS:
            world.ledger.deposit(token, account, amount, T_DEPOSIT)
            deposited[token] += amount
    return deposited


@pytest.fixture
def funded(world: World) -> World:
    _deposit_all(world)
    return world


def _make_market(world: World) -> None:
    world.router.add_liquidity(PROVIDER, TOKEN_A, TOKEN_B, *RESERVES_AB, 0, 0, PROVIDER, None, T0)
    world.router.add_liquidity(PROVIDER, TOKEN_B, TOKEN_C, *RESERVES_BC, 0, 0, PROVIDER, None, T0)


@pytest.fixture
def market(funded: World) -> World:
    """Pairs A/B and B/C with RESERVES_AB and RESERVES_BC; D has no pair."""
    _make_market(funded)
    return funded


def _reserves(world: World, token_a: bytes, token_b: bytes) -> tuple[int, int]:
    """The pair's reserves in caller order (token_a's first)."""
    return world.pairs.get(token_a, token_b).reserves_from(token_a)


def _path_reserves(world: World, path: list[bytes]) -> list[tuple[int, int]]:
    return [_reserves(world, a, b) for a, b in pairwise(path)]


def _lp(world: World, account: bytes, token_a: bytes, token_b: bytes, now: int = NOW) -> int:
    return world.available(account, pair_address(*sorted((token_a, token_b))), now)


# --- add_liquidity ------------------------------------------------------------------------------
def test_first_liquidity_creates_the_pair_at_the_desired_amounts(funded: World) -> None:
    assert funded.pairs.find(TOKEN_A, TOKEN_B) is None
    result = funded.router.add_liquidity(
        PROVIDER, TOKEN_B, TOKEN_A, 4 * E18, 1 * E18, 4 * E18, 1 * E18, PROVIDER, None, T0
    )
    assert result == (4 * E18, 1 * E18, 2 * E18 - MINIMUM_LIQUIDITY)
    pair = funded.pairs.get(TOKEN_A, TOKEN_B)
    assert (pair.token0, pair.reserve0, pair.reserve1) == (TOKEN_A, 1 * E18, 4 * E18)
    assert _lp(funded, PROVIDER, TOKEN_A, TOKEN_B, T0) == 2 * E18 - MINIMUM_LIQUIDITY
    # a second add uses the pair that exists: no second PairCreated
    funded.router.add_liquidity(PROVIDER, TOKEN_A, TOKEN_B, E18, 4 * E18, 0, 0, PROVIDER, None, T0)
    assert [e for e in funded.events if isinstance(e, PairCreated)] == [
        PairCreated(TOKEN_A, TOKEN_B, pair.address)
    ]


def test_first_liquidity_below_minimum_liquidity_is_refused(funded: World) -> None:
    # isqrt(1000 * 1000) - 1000 == 0: the pair (and its creation) is rolled back with it
    rejected_atomically(
        funded,
        InsufficientLiquidityMinted,
        lambda: funded.router.add_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, 1000, 1000, 0, 0, PROVIDER, None, T0
        ),
    )
    assert funded.router.add_liquidity(
        PROVIDER, TOKEN_A, TOKEN_B, 1001, 1001, 0, 0, PROVIDER, None, T0
    ) == (1001, 1001, 1)


def _expected_add(
    desired: tuple[int, int], reserves: tuple[int, int], supply: int
) -> tuple[int, int, int]:
    """Router02._addLiquidity and UniswapV2Pair.mint, written out independently of dapp.amm.math."""
    (desired_a, desired_b), (reserve_a, reserve_b) = desired, reserves
    optimal_b = desired_a * reserve_b // reserve_a
    if optimal_b <= desired_b:
        amount_a, amount_b = desired_a, optimal_b
    else:
        amount_a, amount_b = desired_b * reserve_a // reserve_b, desired_b
    liquidity = min(amount_a * supply // reserve_a, amount_b * supply // reserve_b)
    return amount_a, amount_b, liquidity


# desired amounts against RESERVES_AB (about 1 A : 3 B)
_B_LIMITS = (2 * E18 + 1, 7 * E18)  # optimal B (about 6e18) <= desired B: all of A is used
_A_LIMITS = (2 * E18 + 1, 5 * E18)  # optimal B > desired B: all of B, optimal A
# optimal B == desired B exactly: Router02 takes the first branch (all of A), although quoting
# desired B back would ask one wei less of A; a `<` in place of `<=` would take that wei less
_EXACT = (2 * E18 + 1, 6 * E18 + 1)


@pytest.mark.parametrize(
    ("desired", "all_of"),
    [(_B_LIMITS, "a"), (_A_LIMITS, "b"), (_EXACT, "both")],
    ids=["b_optimal_fits", "a_optimal", "exact_price"],
)
def test_later_liquidity_takes_the_optimal_amounts(
    market: World, desired: tuple[int, int], all_of: str
) -> None:
    supply = market.pairs.total_supply(market.pairs.get(TOKEN_A, TOKEN_B))
    expected = _expected_add(desired, RESERVES_AB, supply)
    if all_of == "both":  # the case is on the boundary, and it discriminates
        assert desired[0] * RESERVES_AB[1] // RESERVES_AB[0] == desired[1]
        assert desired[1] * RESERVES_AB[0] // RESERVES_AB[1] == desired[0] - 1
    before = [market.available(PROVIDER, t, NOW) for t in (TOKEN_A, TOKEN_B)]
    lp_before = _lp(market, PROVIDER, TOKEN_A, TOKEN_B)
    result = market.router.add_liquidity(
        PROVIDER, TOKEN_A, TOKEN_B, *desired, 0, 0, PROVIDER, None, NOW
    )
    assert result == expected
    assert (result[0] == desired[0], result[1] == desired[1]) == {
        "a": (True, False),
        "b": (False, True),
        "both": (True, True),
    }[all_of]
    assert market.available(PROVIDER, TOKEN_A, NOW) == before[0] - expected[0]
    assert market.available(PROVIDER, TOKEN_B, NOW) == before[1] - expected[1]
    assert _lp(market, PROVIDER, TOKEN_A, TOKEN_B) == lp_before + expected[2]
    assert _reserves(market, TOKEN_A, TOKEN_B) == (
        RESERVES_AB[0] + expected[0],
        RESERVES_AB[1] + expected[1],
    )


def test_later_liquidity_in_reversed_caller_order_takes_the_same_optimal_amounts(
    market: World,
) -> None:
    # token_a is token1 here: the quote must read the reserves in caller order
    supply = market.pairs.total_supply(market.pairs.get(TOKEN_A, TOKEN_B))
    expected = _expected_add((7 * E18, 2 * E18 + 1), RESERVES_AB[::-1], supply)
    result = market.router.add_liquidity(
        PROVIDER, TOKEN_B, TOKEN_A, 7 * E18, 2 * E18 + 1, 0, 0, PROVIDER, None, NOW
    )
    assert result == expected


def test_amount_b_min_is_inclusive(market: World) -> None:
    optimal_b = _expected_add(_B_LIMITS, RESERVES_AB, 1)[1]

    def add(amount_b_min: int) -> tuple[int, int, int]:
        return market.router.add_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, *_B_LIMITS, 0, amount_b_min, PROVIDER, None, NOW
        )

    rejected_atomically(market, InsufficientBAmount, lambda: add(optimal_b + 1))
    assert add(optimal_b)[:2] == (_B_LIMITS[0], optimal_b)


def test_amount_a_min_is_inclusive(market: World) -> None:
    optimal_a = _expected_add(_A_LIMITS, RESERVES_AB, 1)[0]

    def add(amount_a_min: int) -> tuple[int, int, int]:
        return market.router.add_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, *_A_LIMITS, amount_a_min, 0, PROVIDER, None, NOW
        )

    rejected_atomically(market, InsufficientAAmount, lambda: add(optimal_a + 1))
    assert add(optimal_a)[:2] == (optimal_a, _A_LIMITS[1])


@pytest.mark.parametrize("short_of", ["a", "b"])
@pytest.mark.parametrize("pair_exists", [False, True], ids=["new_pair", "existing_pair"])
def test_add_liquidity_beyond_available_balance_is_refused(
    funded: World, short_of: str, pair_exists: bool
) -> None:
    if pair_exists:
        _make_market(funded)
    # POOR holds 1000 of each. At the market's price (about 1 A : 3 B) these desired amounts
    # are also the optimal ones, give or take one wei of B, so exactly one side is short.
    amount_a, amount_b = (1001, 3003) if short_of == "a" else (400, 1200)
    short_token = TOKEN_A if short_of == "a" else TOKEN_B
    if short_of == "a":
        funded.ledger.deposit(TOKEN_B, POOR, 10**6, T_DEPOSIT)  # B alone would be short too
    error = rejected_atomically(
        funded,
        InsufficientBalance,
        lambda: funded.router.add_liquidity(
            POOR, TOKEN_A, TOKEN_B, amount_a, amount_b, 0, 0, POOR, None, NOW
        ),
    )
    assert to_checksum_address(short_token) in str(error)


@pytest.mark.parametrize("recipient", ["zero", "this_pair", "other_pair"])
def test_add_liquidity_to_zero_address_or_a_pair_is_refused(market: World, recipient: str) -> None:
    to = {
        "zero": ZERO_ADDRESS,
        "this_pair": pair_address(TOKEN_A, TOKEN_B),
        "other_pair": pair_address(TOKEN_B, TOKEN_C),
    }[recipient]
    rejected_atomically(
        market,
        InvalidRecipient,
        lambda: market.router.add_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, E18, 3 * E18, 0, 0, to, None, NOW
        ),
    )


@pytest.mark.parametrize(
    "to", [ZERO_ADDRESS, pair_address(TOKEN_A, TOKEN_B)], ids=["zero-address", "the-new-pair"]
)
def test_first_liquidity_to_zero_or_to_the_pair_it_creates_is_refused(
    funded: World, to: bytes
) -> None:
    rejected_atomically(
        funded,
        InvalidRecipient,
        lambda: funded.router.add_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, E18, E18, 0, 0, to, None, T0
        ),
    )


def test_add_liquidity_deadline_is_inclusive(market: World) -> None:
    def add(deadline: int | None) -> object:
        return market.router.add_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, E18, 3 * E18, 0, 0, PROVIDER, deadline, NOW
        )

    rejected_atomically(market, Expired, lambda: add(NOW - 1))
    add(NOW)
    add(None)


# --- remove_liquidity ---------------------------------------------------------------------------
@pytest.mark.parametrize("caller_order", [(TOKEN_A, TOKEN_B), (TOKEN_B, TOKEN_A)], ids=["01", "10"])
def test_remove_liquidity_returns_amounts_in_caller_order(
    market: World, caller_order: tuple[bytes, bytes]
) -> None:
    token_a, token_b = caller_order
    liquidity = 10**18 + 12345
    supply = market.pairs.total_supply(market.pairs.get(token_a, token_b))
    reserve_a, reserve_b = _reserves(market, token_a, token_b)
    expected = (liquidity * reserve_a // supply, liquidity * reserve_b // supply)
    assert expected[0] != expected[1]  # so a swapped order cannot pass
    held = [market.available(RECIPIENT, t, NOW) for t in (token_a, token_b)]
    result = market.router.remove_liquidity(
        PROVIDER, token_a, token_b, liquidity, *expected, RECIPIENT, None, NOW
    )
    assert result == expected
    assert market.available(RECIPIENT, token_a, NOW) == held[0] + expected[0]
    assert market.available(RECIPIENT, token_b, NOW) == held[1] + expected[1]
    assert market.pairs.total_supply(market.pairs.get(token_a, token_b)) == supply - liquidity


@pytest.mark.parametrize("caller_order", [(TOKEN_A, TOKEN_B), (TOKEN_B, TOKEN_A)], ids=["01", "10"])
def test_remove_liquidity_minimums_are_inclusive(
    market: World, caller_order: tuple[bytes, bytes]
) -> None:
    token_a, token_b = caller_order
    liquidity = 3 * 10**17 + 1
    supply = market.pairs.total_supply(market.pairs.get(token_a, token_b))
    reserve_a, reserve_b = _reserves(market, token_a, token_b)
    out_a, out_b = liquidity * reserve_a // supply, liquidity * reserve_b // supply

    def remove(amount_a_min: int, amount_b_min: int) -> tuple[int, int]:
        return market.router.remove_liquidity(
            PROVIDER, token_a, token_b, liquidity, amount_a_min, amount_b_min, PROVIDER, None, NOW
        )

    rejected_atomically(market, InsufficientAAmount, lambda: remove(out_a + 1, 0))
    rejected_atomically(market, InsufficientBAmount, lambda: remove(0, out_b + 1))
    assert remove(out_a, out_b) == (out_a, out_b)


def test_remove_more_liquidity_than_held_is_refused(market: World) -> None:
    held = _lp(market, PROVIDER, TOKEN_A, TOKEN_B)
    rejected_atomically(
        market,
        InsufficientBalance,
        lambda: market.router.remove_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, held + 1, 0, 0, PROVIDER, None, NOW
        ),
    )
    # someone with no LP at all
    rejected_atomically(
        market,
        InsufficientBalance,
        lambda: market.router.remove_liquidity(
            TRADER, TOKEN_A, TOKEN_B, 1, 0, 0, TRADER, None, NOW
        ),
    )
    market.router.remove_liquidity(PROVIDER, TOKEN_A, TOKEN_B, held, 0, 0, PROVIDER, None, NOW)
    assert _lp(market, PROVIDER, TOKEN_A, TOKEN_B) == 0


def test_remove_liquidity_of_a_missing_pair_is_refused(market: World) -> None:
    rejected_atomically(
        market,
        PairNotFound,
        lambda: market.router.remove_liquidity(
            PROVIDER, TOKEN_A, TOKEN_C, 1, 0, 0, PROVIDER, None, NOW
        ),
    )


# --- swaps --------------------------------------------------------------------------------------
PATHS = {
    "2_token0_in": [TOKEN_A, TOKEN_B],
    "2_token1_in": [TOKEN_B, TOKEN_A],
    "3_forward": [TOKEN_A, TOKEN_B, TOKEN_C],
    "3_backward": [TOKEN_C, TOKEN_B, TOKEN_A],
}


def _balances(world: World, account: bytes) -> dict[bytes, int]:
    return {token: world.available(account, token, NOW) for token in TOKENS}


def _uniswap_amounts_out(amount_in: int, reserves: list[tuple[int, int]]) -> list[int]:
    """UniswapV2Library.getAmountsOut, written out independently of dapp.amm.math."""
    amounts = [amount_in]
    for reserve_in, reserve_out in reserves:
        with_fee = amounts[-1] * 997
        amounts.append(with_fee * reserve_out // (reserve_in * 1000 + with_fee))
    return amounts


def _uniswap_amounts_in(amount_out: int, reserves: list[tuple[int, int]]) -> list[int]:
    """UniswapV2Library.getAmountsIn (the + 1 even when exact), independently of dapp.amm.math."""
    amounts = [amount_out]
    for reserve_in, reserve_out in reversed(reserves):
        amounts.insert(0, reserve_in * amounts[0] * 1000 // ((reserve_out - amounts[0]) * 997) + 1)
    return amounts


def _check_swap_moved_exactly(
    world: World,
    path: list[bytes],
    amounts: list[int],
    reserves_before: list[tuple[int, int]],
    trader_before: dict[bytes, int],
    recipient_before: dict[bytes, int],
) -> None:
    trader, recipient = _balances(world, TRADER), _balances(world, RECIPIENT)
    for token in TOKENS:
        paid = amounts[0] if token == path[0] else 0
        received = amounts[-1] if token == path[-1] else 0
        assert trader[token] == trader_before[token] - paid, "the sender pays exactly amounts[0]"
        assert recipient[token] == recipient_before[token] + received, "receives amounts[-1]"
    for i, (reserve_in, reserve_out) in enumerate(reserves_before):
        assert _reserves(world, path[i], path[i + 1]) == (
            reserve_in + amounts[i],
            reserve_out - amounts[i + 1],
        )


@pytest.mark.parametrize("path_id", PATHS)
@pytest.mark.parametrize("amount_in", [1 * E18 + 3, 12345678], ids=["1e18", "small"])
def test_swap_exact_in_moves_the_library_amounts(
    market: World, path_id: str, amount_in: int
) -> None:
    path = PATHS[path_id]
    reserves = _path_reserves(market, path)
    expected = math.get_amounts_out(amount_in, reserves)
    assert expected == _uniswap_amounts_out(amount_in, reserves)
    trader, recipient = _balances(market, TRADER), _balances(market, RECIPIENT)
    amounts = market.router.swap_exact_tokens_for_tokens(
        TRADER, amount_in, expected[-1], path, RECIPIENT, None, NOW
    )
    assert amounts == expected
    assert len(amounts) == len(path) and amounts[0] == amount_in and amounts[-1] > 0
    _check_swap_moved_exactly(market, path, amounts, reserves, trader, recipient)


@pytest.mark.parametrize("path_id", PATHS)
@pytest.mark.parametrize("amount_out", [10**17 + 9, 12345678], ids=["1e17", "small"])
def test_swap_exact_out_moves_the_library_amounts(
    market: World, path_id: str, amount_out: int
) -> None:
    path = PATHS[path_id]
    reserves = _path_reserves(market, path)
    expected = math.get_amounts_in(amount_out, reserves)
    assert expected == _uniswap_amounts_in(amount_out, reserves)
    trader, recipient = _balances(market, TRADER), _balances(market, RECIPIENT)
    amounts = market.router.swap_tokens_for_exact_tokens(
        TRADER, amount_out, expected[0], path, RECIPIENT, None, NOW
    )
    assert amounts == expected
    assert len(amounts) == len(path) and amounts[-1] == amount_out
    _check_swap_moved_exactly(market, path, amounts, reserves, trader, recipient)


@pytest.mark.parametrize("path_id", PATHS)
def test_amount_out_min_is_inclusive(market: World, path_id: str) -> None:
    path = PATHS[path_id]
    amount_in = 3 * 10**17 + 1
    out = math.get_amounts_out(amount_in, _path_reserves(market, path))[-1]

    def swap(amount_out_min: int) -> list[int]:
        return market.router.swap_exact_tokens_for_tokens(
            TRADER, amount_in, amount_out_min, path, TRADER, None, NOW
        )

    rejected_atomically(market, InsufficientOutputAmount, lambda: swap(out + 1))
    assert swap(out)[-1] == out


@pytest.mark.parametrize("path_id", PATHS)
def test_amount_in_max_is_inclusive(market: World, path_id: str) -> None:
    path = PATHS[path_id]
    amount_out = 10**17 + 1
    cost = math.get_amounts_in(amount_out, _path_reserves(market, path))[0]

    def swap(amount_in_max: int) -> list[int]:
        return market.router.swap_tokens_for_exact_tokens(
            TRADER, amount_out, amount_in_max, path, TRADER, None, NOW
        )

    rejected_atomically(market, ExcessiveInputAmount, lambda: swap(cost - 1))
    assert swap(cost)[0] == cost


_BAD_PATHS: list[tuple[str, list[bytes], type[StreamdexError]]] = [
    ("empty", [], InvalidPath),
    ("one_token", [TOKEN_A], InvalidPath),
    ("identical_consecutive", [TOKEN_A, TOKEN_A], IdenticalAddresses),
    ("identical_consecutive_later", [TOKEN_A, TOKEN_B, TOKEN_B], IdenticalAddresses),
    ("same_pair_twice", [TOKEN_A, TOKEN_B, TOKEN_A], InvalidPath),
    ("same_pair_twice_later", [TOKEN_A, TOKEN_B, TOKEN_C, TOKEN_B], InvalidPath),
    ("missing_pair", [TOKEN_A, TOKEN_C], PairNotFound),
    ("missing_pair_later", [TOKEN_A, TOKEN_B, TOKEN_D], PairNotFound),
]


@pytest.mark.parametrize(
    ("path", "error"), [pytest.param(p, e, id=name) for name, p, e in _BAD_PATHS]
)
@pytest.mark.parametrize("kind", ["exact_in", "exact_out", "quote_out", "quote_in"])
def test_invalid_path_is_refused(
    market: World, path: list[bytes], error: type[StreamdexError], kind: str
) -> None:
    calls: dict[str, Callable[[], object]] = {
        "exact_in": lambda: market.router.swap_exact_tokens_for_tokens(
            TRADER, E18, 0, path, TRADER, None, NOW
        ),
        "exact_out": lambda: market.router.swap_tokens_for_exact_tokens(
            TRADER, 10**15, FUNDING, path, TRADER, None, NOW
        ),
        "quote_out": lambda: market.router.get_amounts_out(E18, path),
        "quote_in": lambda: market.router.get_amounts_in(10**15, path),
    }
    rejected_atomically(market, error, calls[kind])


def test_swap_that_buys_nothing_is_refused(market: World) -> None:
    # 1 wei of B buys 997 * (10e18 + 7) // ((30e18 + 11) * 1000 + 997) == 0 of A
    assert math.get_amount_out(1, *_reserves(market, TOKEN_B, TOKEN_A)) == 0
    rejected_atomically(
        market,
        InsufficientOutputAmount,
        lambda: market.router.swap_exact_tokens_for_tokens(
            TRADER, 1, 0, [TOKEN_B, TOKEN_A], TRADER, None, NOW
        ),
    )
    # through a second hop: 1 wei of A buys 2 of B, and 2 of B buy 0 of C
    assert market.router.get_amounts_out(1, [TOKEN_A, TOKEN_B, TOKEN_C]) == [1, 2, 0]
    rejected_atomically(
        market,
        InsufficientOutputAmount,
        lambda: market.router.swap_exact_tokens_for_tokens(
            TRADER, 1, 0, [TOKEN_A, TOKEN_B, TOKEN_C], TRADER, None, NOW
        ),
    )
    # buying exactly nothing is not an amount
    rejected_atomically(
        market,
        InvalidAmount,
        lambda: market.router.swap_tokens_for_exact_tokens(
            TRADER, 0, FUNDING, [TOKEN_A, TOKEN_B], TRADER, None, NOW
        ),
    )


def test_buying_a_whole_reserve_is_refused(market: World) -> None:
    reserve_b = _reserves(market, TOKEN_A, TOKEN_B)[1]
    rejected_atomically(
        market,
        InsufficientLiquidity,
        lambda: market.router.swap_tokens_for_exact_tokens(
            TRADER, reserve_b, FUNDING, [TOKEN_A, TOKEN_B], TRADER, None, NOW
        ),
    )


def test_swap_beyond_available_balance_is_refused(market: World) -> None:
    rejected_atomically(
        market,
        InsufficientBalance,
        lambda: market.router.swap_exact_tokens_for_tokens(
            POOR, 1001, 0, [TOKEN_A, TOKEN_B], POOR, None, NOW
        ),
    )
    cost = math.get_amounts_in(2000, _path_reserves(market, [TOKEN_B, TOKEN_A]))[0]
    assert cost > 1000
    rejected_atomically(
        market,
        InsufficientBalance,
        lambda: market.router.swap_tokens_for_exact_tokens(
            POOR, 2000, cost, [TOKEN_B, TOKEN_A], POOR, None, NOW
        ),
    )
    market.router.swap_exact_tokens_for_tokens(POOR, 1000, 0, [TOKEN_A, TOKEN_B], POOR, None, NOW)


@pytest.mark.parametrize("kind", ["exact_in", "exact_out"])
@pytest.mark.parametrize("recipient", ["zero", "pair_on_path", "other_pair"])
def test_swap_to_zero_address_or_a_pair_is_refused(
    market: World, kind: str, recipient: str
) -> None:
    to = {
        "zero": ZERO_ADDRESS,
        "pair_on_path": pair_address(TOKEN_A, TOKEN_B),
        "other_pair": pair_address(TOKEN_B, TOKEN_C),
    }[recipient]
    path = [TOKEN_A, TOKEN_B]
    calls: dict[str, Callable[[], object]] = {
        "exact_in": lambda: market.router.swap_exact_tokens_for_tokens(
            TRADER, E18, 0, path, to, None, NOW
        ),
        "exact_out": lambda: market.router.swap_tokens_for_exact_tokens(
            TRADER, 10**15, FUNDING, path, to, None, NOW
        ),
    }
    rejected_atomically(market, InvalidRecipient, calls[kind])


@pytest.mark.parametrize("kind", ["exact_in", "exact_out"])
def test_swap_deadline_is_inclusive(market: World, kind: str) -> None:
    def swap(deadline: int | None) -> object:
        if kind == "exact_in":
            return market.router.swap_exact_tokens_for_tokens(
                TRADER, E18, 0, [TOKEN_A, TOKEN_B], TRADER, deadline, NOW
            )
        return market.router.swap_tokens_for_exact_tokens(
            TRADER, 10**15, FUNDING, [TOKEN_A, TOKEN_B], TRADER, deadline, NOW
        )

    rejected_atomically(market, Expired, lambda: swap(NOW - 1))
    swap(NOW)
    swap(None)


# --- quotes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("path_id", PATHS)
def test_quote_out_equals_what_the_swap_then_does(market: World, path_id: str) -> None:
    path = PATHS[path_id]
    for amount_in in (7 * 10**17 + 5, 10**9, 3 * E18):
        quoted = market.router.get_amounts_out(amount_in, path)
        received_before = market.available(RECIPIENT, path[-1], NOW)
        swapped = market.router.swap_exact_tokens_for_tokens(
            TRADER, amount_in, 0, path, RECIPIENT, None, NOW
        )
        assert swapped == quoted
        assert market.available(RECIPIENT, path[-1], NOW) == received_before + quoted[-1]


@pytest.mark.parametrize("path_id", PATHS)
def test_quote_in_equals_what_the_swap_then_does(market: World, path_id: str) -> None:
    path = PATHS[path_id]
    for amount_out in (10**17 + 5, 10**9, 3 * 10**17):
        quoted = market.router.get_amounts_in(amount_out, path)
        paid_before = market.available(TRADER, path[0], NOW)
        swapped = market.router.swap_tokens_for_exact_tokens(
            TRADER, amount_out, quoted[0], path, RECIPIENT, None, NOW
        )
        assert swapped == quoted
        assert market.available(TRADER, path[0], NOW) == paid_before - quoted[0]


def test_quotes_never_write(market: World) -> None:
    before = market.store.dump()
    events = len(market.events)
    market.router.get_amounts_out(E18, [TOKEN_A, TOKEN_B, TOKEN_C])
    market.router.get_amounts_in(10**15, [TOKEN_C, TOKEN_B, TOKEN_A])
    assert market.store.dump() == before
    assert len(market.events) == events


# --- atomicity ----------------------------------------------------------------------------------
# Each kind of refusal, where possible after the router has already moved something (the second
# token of an add, the burn before the minimum check, the first pair's creation), so a refusal
# that only stopped early could not pass.
_FAILING_CALLS: list[tuple[str, type[StreamdexError], Callable[[World], object]]] = [
    (
        "add_expired",
        Expired,
        lambda w: w.router.add_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, E18, 3 * E18, 0, 0, PROVIDER, NOW - 1, NOW
        ),
    ),
    (
        "add_new_pair_short_of_b",
        InsufficientBalance,
        lambda w: w.router.add_liquidity(POOR, TOKEN_A, TOKEN_C, 1000, 1001, 0, 0, POOR, None, NOW),
    ),
    (
        "add_short_of_b_after_paying_a",
        InsufficientBalance,
        lambda w: w.router.add_liquidity(POOR, TOKEN_A, TOKEN_B, 400, 1200, 0, 0, POOR, None, NOW),
    ),
    (
        "add_min_b",
        InsufficientBAmount,
        lambda w: w.router.add_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, E18, 4 * E18, 0, 4 * E18, PROVIDER, None, NOW
        ),
    ),
    (
        "add_min_a",
        InsufficientAAmount,
        lambda w: w.router.add_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, E18, E18, E18, 0, PROVIDER, None, NOW
        ),
    ),
    (
        "add_recipient",
        InvalidRecipient,
        lambda w: w.router.add_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, E18, 3 * E18, 0, 0, ZERO_ADDRESS, None, NOW
        ),
    ),
    (
        "add_mints_nothing",
        InsufficientLiquidityMinted,
        lambda w: w.router.add_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, 1, 1, 0, 0, PROVIDER, None, NOW
        ),
    ),
    (
        "remove_min_a_after_burn",
        InsufficientAAmount,
        lambda w: w.router.remove_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, E18, FUNDING, 0, PROVIDER, None, NOW
        ),
    ),
    (
        "remove_min_b_after_burn",
        InsufficientBAmount,
        lambda w: w.router.remove_liquidity(
            PROVIDER, TOKEN_B, TOKEN_A, E18, 0, FUNDING, PROVIDER, None, NOW
        ),
    ),
    (
        "remove_recipient",
        InvalidRecipient,
        lambda w: w.router.remove_liquidity(
            PROVIDER, TOKEN_A, TOKEN_B, E18, 0, 0, pair_address(TOKEN_B, TOKEN_C), None, NOW
        ),
    ),
    (
        "remove_too_much",
        InsufficientBalance,
        lambda w: w.router.remove_liquidity(TRADER, TOKEN_A, TOKEN_B, 1, 0, 0, TRADER, None, NOW),
    ),
    (
        "remove_burns_nothing",
        InsufficientLiquidityBurned,
        lambda w: w.router.remove_liquidity(
            PROVIDER, TOKEN_B, TOKEN_C, 1, 0, 0, PROVIDER, None, NOW
        ),
    ),
    (
        "remove_missing_pair",
        PairNotFound,
        lambda w: w.router.remove_liquidity(
            PROVIDER, TOKEN_A, TOKEN_D, 1, 0, 0, PROVIDER, None, NOW
        ),
    ),
    (
        "swap_in_min_out",
        InsufficientOutputAmount,
        lambda w: w.router.swap_exact_tokens_for_tokens(
            TRADER, E18, FUNDING, [TOKEN_A, TOKEN_B, TOKEN_C], TRADER, None, NOW
        ),
    ),
    (
        "swap_in_balance",
        InsufficientBalance,
        lambda w: w.router.swap_exact_tokens_for_tokens(
            POOR, 1001, 0, [TOKEN_A, TOKEN_B, TOKEN_C], POOR, None, NOW
        ),
    ),
    (
        "swap_in_buys_nothing",
        InsufficientOutputAmount,
        lambda w: w.router.swap_exact_tokens_for_tokens(
            TRADER, 1, 0, [TOKEN_B, TOKEN_A], TRADER, None, NOW
        ),
    ),
    (
        "swap_in_path",
        InvalidPath,
        lambda w: w.router.swap_exact_tokens_for_tokens(
            TRADER, E18, 0, [TOKEN_A, TOKEN_B, TOKEN_A], TRADER, None, NOW
        ),
    ),
    (
        "swap_in_identical",
        IdenticalAddresses,
        lambda w: w.router.swap_exact_tokens_for_tokens(
            TRADER, E18, 0, [TOKEN_B, TOKEN_B], TRADER, None, NOW
        ),
    ),
    (
        "swap_in_missing_pair",
        PairNotFound,
        lambda w: w.router.swap_exact_tokens_for_tokens(
            TRADER, E18, 0, [TOKEN_C, TOKEN_D], TRADER, None, NOW
        ),
    ),
    (
        "swap_in_expired",
        Expired,
        lambda w: w.router.swap_exact_tokens_for_tokens(
            TRADER, E18, 0, [TOKEN_A, TOKEN_B], TRADER, NOW - 1, NOW
        ),
    ),
    (
        "swap_in_recipient",
        InvalidRecipient,
        lambda w: w.router.swap_exact_tokens_for_tokens(
            TRADER, E18, 0, [TOKEN_A, TOKEN_B], pair_address(TOKEN_A, TOKEN_B), None, NOW
        ),
    ),
    (
        "swap_out_max_in",
        ExcessiveInputAmount,
        lambda w: w.router.swap_tokens_for_exact_tokens(
            TRADER, E18, 1, [TOKEN_C, TOKEN_B, TOKEN_A], TRADER, None, NOW
        ),
    ),
    (
        "swap_out_balance",
        InsufficientBalance,
        lambda w: w.router.swap_tokens_for_exact_tokens(
            POOR, E18, FUNDING, [TOKEN_C, TOKEN_B, TOKEN_A], POOR, None, NOW
        ),
    ),
    (
        "swap_out_whole_reserve",
        InsufficientLiquidity,
        lambda w: w.router.swap_tokens_for_exact_tokens(
            TRADER, RESERVES_BC[1], FUNDING, [TOKEN_B, TOKEN_C], TRADER, None, NOW
        ),
    ),
]


@pytest.mark.parametrize(
    ("error", "call"), [pytest.param(e, c, id=name) for name, e, c in _FAILING_CALLS]
)
def test_refused_router_call_leaves_the_database_unchanged(
    market: World, error: type[StreamdexError], call: Callable[[World], object]
) -> None:
    rejected_atomically(market, error, lambda: call(market))
    # and the state still works: the same store accepts a valid swap afterwards
    market.router.swap_exact_tokens_for_tokens(
        TRADER, E18, 0, [TOKEN_A, TOKEN_B, TOKEN_C], TRADER, None, NOW
    )


# --- conservation -------------------------------------------------------------------------------
def _total_held(world: World, token: bytes, now: int) -> int:
    """Σ over every account the store knows (pairs and the zero address included)."""
    rows = world.store.connection.execute("SELECT address FROM addresses").fetchall()
    return sum(world.balance(bytes(row[0]), token, now) for row in rows)


def _assert_conserved(world: World, deposited: dict[bytes, int], now: int) -> None:
    for token, amount in deposited.items():
        assert _total_held(world, token, now) == amount
        assert world.ledger.supply(token) == amount


def test_multi_hop_swaps_conserve_every_token(funded: World) -> None:
    deposited = {token: 2 * FUNDING + 1000 for token in TOKENS}
    _make_market(funded)
    funded.router.add_liquidity(PROVIDER, TOKEN_C, TOKEN_D, E18, 9 * E18, 0, 0, PROVIDER, None, T0)
    _assert_conserved(funded, deposited, T0)
    trades = [
        ("in", [TOKEN_A, TOKEN_B, TOKEN_C, TOKEN_D], 3 * E18 + 1),
        ("out", [TOKEN_D, TOKEN_C, TOKEN_B, TOKEN_A], 10**17 + 3),
        ("in", [TOKEN_C, TOKEN_B, TOKEN_A], 12345678901),
        ("out", [TOKEN_A, TOKEN_B, TOKEN_C], 7 * 10**16),
        ("in", [TOKEN_B, TOKEN_C, TOKEN_D], 2 * E18),
    ]
    for i, (kind, path, amount) in enumerate(trades, start=1):
        now = T0 + i
        if kind == "in":
            funded.router.swap_exact_tokens_for_tokens(
                TRADER, amount, 0, path, RECIPIENT, None, now
            )
        else:
            funded.router.swap_tokens_for_exact_tokens(
                TRADER, amount, FUNDING, path, RECIPIENT, None, now
            )
        _assert_conserved(funded, deposited, now)
    for token_a, token_b in [(TOKEN_A, TOKEN_B), (TOKEN_B, TOKEN_C), (TOKEN_C, TOKEN_D)]:
        held = _lp(funded, PROVIDER, token_a, token_b, T0 + 10)
        funded.router.remove_liquidity(
            PROVIDER, token_a, token_b, held, 0, 0, PROVIDER, None, T0 + 10
        )
    _assert_conserved(funded, deposited, T0 + 10)


@settings(max_examples=40)
@given(
    trades=st.lists(
        st.tuples(
            st.sampled_from([*PATHS.values(), [TOKEN_C, TOKEN_B], [TOKEN_B, TOKEN_C]]),
            st.booleans(),
            st.integers(1, 10**19),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_swap_sequence_conserves_every_token(
    trades: list[tuple[list[bytes], bool, int]],
) -> None:
    world = World(Store(":memory:"))
    deposited = _deposit_all(world)
    _make_market(world)
    for i, (path, exact_in, amount) in enumerate(trades, start=1):
        try:
            with world.store.transaction():
                if exact_in:
                    world.router.swap_exact_tokens_for_tokens(
                        TRADER, amount, 0, path, RECIPIENT, None, T0 + i
                    )
                else:
                    world.router.swap_tokens_for_exact_tokens(
                        TRADER, amount, FUNDING, path, RECIPIENT, None, T0 + i
                    )
        except (
            InsufficientOutputAmount,
            InsufficientInputAmount,
            InsufficientLiquidity,
            ExcessiveInputAmount,
        ):
            pass  # buys nothing, or (nearly) a whole reserve: refused as a whole
        _assert_conserved(world, deposited, T0 + i)
