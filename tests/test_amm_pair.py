"""dapp.amm.pair: the Uniswap V2 core over the ledger, on v2-core's own scenarios and properties.

The pair_scenario vectors of tests/vectors/univ2_vectors.json (copied from v2-core's
UniswapV2Pair.spec.ts and v2-periphery's Router01 spec) are replayed through the real router and
pairs and checked to the wei; every one is either run here or listed in SKIPPED with its reason.
The rest pins what the core protects: the pair address of PROTOCOL §4.2, MINIMUM_LIQUIDITY locked
at the zero address, k never decreasing, the exact rejections of UniswapV2Pair, reserves that
always equal the pair's ledger balances, and the order of the events.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from Crypto.Hash import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from dapp.addresses import ZERO_ADDRESS, to_checksum_address
from dapp.amm.math import MINIMUM_LIQUIDITY, get_amount_in, get_amount_out
from dapp.amm.pair import Pair, pair_address
from dapp.errors import (
    InsufficientInputAmount,
    InsufficientLiquidity,
    InsufficientLiquidityBurned,
    InsufficientOutputAmount,
    KInvariant,
)
from dapp.events import Burn, Mint, PairCreated, StreamCancelled, Swap, Sync, Transfer
from dapp.store import Store
from tests.conftest import World, address, rejected_atomically, vector_params

VECTORS_PATH = Path(__file__).parent / "vectors" / "univ2_vectors.json"
PAIR_SCENARIOS: list[dict[str, Any]] = [
    vector
    for vector in json.loads(VECTORS_PATH.read_text())["vectors"]
    if vector["kind"] == "pair_scenario"
]

# Every pair_scenario not replayed here, by id, with the reason; test_every_pair_scenario_is_run_
# or_listed fails when a new scenario appears in the file without being added to one of the two.
SKIPPED: dict[str, str] = {
    "pair_scenario:3": "feeTo on: streamdex has no protocol fee (PROTOCOL §4.2)",
    "pair_scenario:4": "sync_at/swap_at: the price accumulators (TWAP oracle) are not in streamdex",
}
RUN = ("pair_scenario:0", "pair_scenario:1", "pair_scenario:2", "pair_scenario:5")

E18 = 10**18
TOKEN0 = address(0x10)
TOKEN1 = address(0x20)
MINTER = address(0x100)
TRADER = address(0x200)
OTHER = address(0x300)
FUNDING = 10**30  # far more than any scenario moves
T_DEPOSIT = 1
T0 = 10


def _keccak256(data: bytes) -> bytes:
    """pycryptodome's C Keccak-256: an oracle independent of dapp.keccak."""
    digest = keccak.new(digest_bits=256)
    digest.update(data)
    return digest.digest()


def _fund(world: World, *accounts: bytes, tokens: tuple[bytes, ...] = (TOKEN0, TOKEN1)) -> None:
    for account in accounts:
        for token in tokens:
            world.ledger.deposit(token, account, FUNDING, T_DEPOSIT)


def _pair(world: World) -> Pair:
    """A fresh read of the TOKEN0/TOKEN1 pair (reserves as stored now)."""
    return world.pairs.get(TOKEN0, TOKEN1)


def _add(world: World, amount0: int, amount1: int, now: int, who: bytes = MINTER) -> int:
    _, _, liquidity = world.router.add_liquidity(
        who, TOKEN0, TOKEN1, amount0, amount1, 0, 0, who, None, now
    )
    return liquidity


def _pay_and_swap(
    world: World, amount0_in: int, amount1_in: int, amount0_out: int, amount1_out: int, now: int
) -> None:
    """v2-core's spec: transfer the input to the pair, then call pair.swap."""
    pair = _pair(world)
    if amount0_in:
        world.ledger.move(TOKEN0, TRADER, pair.address, amount0_in, now)
    if amount1_in:
        world.ledger.move(TOKEN1, TRADER, pair.address, amount1_in, now)
    world.pairs.swap(pair, amount0_out, amount1_out, TRADER, TRADER, now)


def _assert_pair_holds_its_reserves(world: World, now: int) -> None:
    pair = _pair(world)
    assert world.available(pair.address, TOKEN0, now) == pair.reserve0
    assert world.available(pair.address, TOKEN1, now) == pair.reserve1
    assert world.balance(pair.address, TOKEN0, now) == pair.reserve0
    assert world.balance(pair.address, TOKEN1, now) == pair.reserve1


@pytest.fixture
def funded(world: World) -> World:
    _fund(world, MINTER, TRADER, OTHER)
    return world


@pytest.fixture
def pool(funded: World) -> World:
    """A pair at 1e18 TOKEN0 : 4e18 TOKEN1 (v2-core's mint test), LP total supply 2e18."""
    _add(funded, 1 * E18, 4 * E18, T0)
    return funded


# --- the v2-core scenarios, bit-exact ----------------------------------------------------------
def _replay(world: World, steps: list[list[Any]]) -> dict[str, Any]:
    """Run mint / burn / swap steps at T0, T0+1, …; returns every quantity a scenario may assert."""
    _fund(world, MINTER, TRADER)
    computed: dict[str, Any] = {}
    for i, (op, *args) in enumerate(steps):
        now = T0 + i
        if op == "mint":
            amount0, amount1 = args
            _add(world, amount0, amount1, now)
        elif op == "burn":
            (liquidity,) = args
            burned = world.router.remove_liquidity(
                MINTER, TOKEN0, TOKEN1, liquidity, 0, 0, MINTER, None, now
            )
            computed["burn_out"] = list(burned)
        elif op == "swap":
            amount0_in, amount1_in, amount0_out, amount1_out = args
            _pay_and_swap(world, amount0_in, amount1_in, amount0_out, amount1_out, now)
        else:
            raise AssertionError(f"step {op!r} has no replay here; list the scenario in SKIPPED")
        _assert_pair_holds_its_reserves(world, now)
    now = T0 + len(steps) - 1
    pair = _pair(world)
    computed["totalSupply"] = world.pairs.total_supply(pair)
    computed["lp_balance_minter"] = world.available(MINTER, pair.address, now)
    computed["lp_balance_zero"] = world.available(ZERO_ADDRESS, pair.address, now)
    computed["reserves"] = [pair.reserve0, pair.reserve1]
    return computed


@pytest.mark.parametrize("vector", vector_params(PAIR_SCENARIOS, SKIPPED))
def test_pair_scenario_matches_uniswap_bit_exact(world: World, vector: dict[str, Any]) -> None:
    assert not vector["inputs"]["feeTo"]
    computed = _replay(world, vector["inputs"]["steps"])
    expected = vector["expected"]
    missing = set(expected) - set(computed)
    assert not missing, f"the replay does not compute expected fields {sorted(missing)}"
    for name, value in expected.items():
        assert computed[name] == value, f"{name}: {computed[name]} != {value}"


def test_every_pair_scenario_is_run_or_listed() -> None:
    ids = [v["id"] for v in PAIR_SCENARIOS]
    assert len(ids) == len(set(ids)), "vector ids must be unique"
    assert set(RUN).isdisjoint(SKIPPED)
    assert set(RUN) | set(SKIPPED) == set(ids), "a pair_scenario is neither run nor listed"
    assert all(reason.strip() for reason in SKIPPED.values())
    for vector in PAIR_SCENARIOS:
        ops = {step[0] for step in vector["inputs"]["steps"]}
        replayable = not vector["inputs"]["feeTo"] and ops <= {"mint", "burn", "swap"}
        # a skip must be for the reason it gives, and a run vector must be one we can replay
        assert replayable == (vector["id"] in RUN), vector["id"]


# --- the pair's address and LP token (PROTOCOL §4.2) -------------------------------------------
def test_pair_address_is_last_20_bytes_of_keccak_of_seed_and_sorted_tokens() -> None:
    expected = _keccak256(b"streamdex-pair" + TOKEN0 + TOKEN1)[12:]
    assert pair_address(TOKEN0, TOKEN1) == expected
    # pinned, so a change of seed or of hash is a visible, reviewed change
    low, high = address(1), b"\xff" + bytes(19)
    assert pair_address(low, high).hex() == "7864a8cd7db37157b83254329f7c4a5f1e5172f7"
    assert pair_address(low, high) == _keccak256(b"streamdex-pair" + low + high)[12:]


def test_pair_created_event_carries_the_pair_address(funded: World) -> None:
    # the caller names the tokens in reverse order: the event and the pair use the sorted order
    funded.router.add_liquidity(MINTER, TOKEN1, TOKEN0, 4 * E18, 1 * E18, 0, 0, MINTER, None, T0)
    expected = _keccak256(b"streamdex-pair" + TOKEN0 + TOKEN1)[12:]
    created = [e for e in funded.events if isinstance(e, PairCreated)]
    assert created == [PairCreated(TOKEN0, TOKEN1, expected)]
    assert funded.pairs.get(TOKEN1, TOKEN0).address == expected
    assert funded.ledger.is_pair(expected)


# (byte-smaller, byte-larger): the first pair sorts the other way as EIP-55 text ("0xa0…" >
# "0xA1…"), the second the other way as little-endian integers.
_ORDER_CASES = [
    (bytes([0xA0]) + bytes(19), bytes([0xA1]) + bytes(19)),
    (address(1), b"\xff" + bytes(19)),
]


@pytest.mark.parametrize("low_high", _ORDER_CASES, ids=["eip55_text", "little_endian"])
@pytest.mark.parametrize("reverse", [False, True], ids=["low_first", "high_first"])
def test_token0_is_the_byte_smaller_token(
    world: World, low_high: tuple[bytes, bytes], reverse: bool
) -> None:
    low, high = low_high
    assert low < high
    # the cases discriminate: a sort on text or on little-endian ints would get them wrong
    assert to_checksum_address(low) > to_checksum_address(high) or int.from_bytes(
        low, "little"
    ) > int.from_bytes(high, "little")
    _fund(world, MINTER, tokens=(low, high))
    token_a, token_b = (high, low) if reverse else (low, high)
    amount_a, amount_b = (3000, 5000) if token_a == low else (5000, 3000)
    world.router.add_liquidity(MINTER, token_a, token_b, amount_a, amount_b, 0, 0, MINTER, None, T0)
    pair = world.pairs.get(token_a, token_b)
    assert (pair.token0, pair.token1) == (low, high)
    assert (pair.reserve0, pair.reserve1) == (3000, 5000)
    assert pair.address == pair_address(low, high)


def test_lp_token_is_a_ledger_token_at_the_pair_address(pool: World) -> None:
    pair = _pair(pool)
    liquidity = 2 * E18 - MINIMUM_LIQUIDITY
    assert pool.available(MINTER, pair.address, T0) == liquidity
    assert pool.ledger.supply(pair.address) == pool.pairs.total_supply(pair) == 2 * E18
    # an ordinary streamable token: it moves between users like any other
    pool.ledger.transfer(pair.address, MINTER, OTHER, 123, T0 + 1)
    assert pool.available(OTHER, pair.address, T0 + 1) == 123
    assert pool.available(MINTER, pair.address, T0 + 1) == liquidity - 123
    assert pool.ledger.supply(pair.address) == 2 * E18


def test_minimum_liquidity_is_held_by_the_zero_address_forever(pool: World) -> None:
    pair = _pair(pool)
    assert pool.available(ZERO_ADDRESS, pair.address, T0) == MINIMUM_LIQUIDITY
    _add(pool, 3 * E18, 12 * E18, T0 + 1, who=OTHER)
    _pay_and_swap(pool, 10**17, 0, 0, get_amount_out(10**17, 4 * E18, 16 * E18), T0 + 2)
    for who in (MINTER, OTHER):
        held = pool.available(who, pair.address, T0 + 3)
        pool.router.remove_liquidity(who, TOKEN0, TOKEN1, held, 0, 0, who, None, T0 + 3)
    pair = _pair(pool)
    # only the locked liquidity is left, and it still backs nonzero reserves
    assert pool.pairs.total_supply(pair) == MINIMUM_LIQUIDITY
    assert pool.available(ZERO_ADDRESS, pair.address, T0 + 3) == MINIMUM_LIQUIDITY
    assert pair.reserve0 > 0 and pair.reserve1 > 0


# --- k ------------------------------------------------------------------------------------------
def _k(world: World) -> int:
    pair = _pair(world)
    return pair.reserve0 * pair.reserve1


@settings(max_examples=60)
@given(
    first=st.tuples(st.integers(10**4, 10**24), st.integers(10**4, 10**24)),
    trades=st.lists(st.tuples(st.booleans(), st.integers(1, 10**24)), min_size=1, max_size=8),
)
def test_k_never_decreases_across_swaps(
    first: tuple[int, int], trades: list[tuple[bool, int]]
) -> None:
    world = World(Store(":memory:"))
    _fund(world, MINTER, TRADER)
    _add(world, *first, T0)
    for i, (token0_in, amount_in) in enumerate(trades, start=1):
        pair = _pair(world)
        reserve_in, reserve_out = pair.reserves_from(TOKEN0 if token0_in else TOKEN1)
        amount_out = get_amount_out(amount_in, reserve_in, reserve_out)
        if amount_out == 0:
            continue  # no swap at all: the pair refuses it (tested below)
        k_before = _k(world)
        if token0_in:
            _pay_and_swap(world, amount_in, 0, 0, amount_out, T0 + i)
        else:
            _pay_and_swap(world, 0, amount_in, amount_out, 0, T0 + i)
        assert _k(world) >= k_before
        _assert_pair_holds_its_reserves(world, T0 + i)


# (amount_in, reserve0, reserve1): v2-core's swapTestCases and optimisticTestCases sizes, plus
# tiny reserves where a single wei of output is all the trade gets.
_K_CASES = [
    (1 * E18, 5 * E18, 10 * E18),
    (2 * E18, 5 * E18, 10 * E18),
    (1 * E18, 100 * E18, 100 * E18),
    (1 * E18, 1000 * E18, 1000 * E18),
    (10**6, 3 * E18, 7 * E18),
    (1003, 1001, 1002),
]


@pytest.mark.parametrize("token0_in", [True, False], ids=["token0_in", "token1_in"])
@pytest.mark.parametrize("case", _K_CASES, ids=str)
def test_one_wei_above_quote_breaks_k(
    funded: World, case: tuple[int, int, int], token0_in: bool
) -> None:
    amount_in, reserve0, reserve1 = case
    _add(funded, reserve0, reserve1, T0)
    now = T0 + 1
    pair = _pair(funded)
    token_in, token_out = (TOKEN0, TOKEN1) if token0_in else (TOKEN1, TOKEN0)
    quoted = get_amount_out(amount_in, *pair.reserves_from(token_in))
    assert quoted > 0

    def swap(amount_out: int) -> None:
        funded.ledger.move(token_in, TRADER, pair.address, amount_in, now)
        outs = (0, amount_out) if token0_in else (amount_out, 0)
        funded.pairs.swap(_pair(funded), *outs, TRADER, TRADER, now)

    rejected_atomically(funded, KInvariant, lambda: swap(quoted + 1))
    trader_out_before = funded.available(TRADER, token_out, now)
    swap(quoted)
    assert funded.available(TRADER, token_out, now) == trader_out_before + quoted
    _assert_pair_holds_its_reserves(funded, now)


def test_output_of_a_whole_reserve_is_refused_one_less_is_payable(funded: World) -> None:
    _add(funded, 10**4, 10**4, T0)
    now = T0 + 1
    pair = _pair(funded)
    huge = 10**15  # buys anything short of the whole reserve
    for outs in [(10**4, 0), (0, 10**4), (10**4, 10**4), (10**5, 0)]:

        def swap(outs: tuple[int, int] = outs) -> None:
            funded.ledger.move(TOKEN1, TRADER, pair.address, huge, now)
            funded.pairs.swap(_pair(funded), *outs, TRADER, TRADER, now)

        rejected_atomically(funded, InsufficientLiquidity, swap)
    cost = get_amount_in(10**4 - 1, 10**4, 10**4)
    funded.ledger.move(TOKEN1, TRADER, pair.address, cost, now)
    funded.pairs.swap(_pair(funded), 10**4 - 1, 0, TRADER, TRADER, now)
    assert (_pair(funded).reserve0, _pair(funded).reserve1) == (1, 10**4 + cost)


def test_swap_with_nothing_paid_in_is_refused(pool: World) -> None:
    now = T0 + 1
    for amount0_out, amount1_out in [(1, 0), (0, 1), (1, 1)]:

        def swap(amount0_out: int = amount0_out, amount1_out: int = amount1_out) -> None:
            pool.pairs.swap(_pair(pool), amount0_out, amount1_out, TRADER, TRADER, now)

        rejected_atomically(pool, InsufficientInputAmount, swap)


def test_swap_with_no_output_is_refused(pool: World) -> None:
    now = T0 + 1
    pair = _pair(pool)

    def swap() -> None:
        pool.ledger.move(TOKEN0, TRADER, pair.address, E18, now)
        pool.pairs.swap(_pair(pool), 0, 0, TRADER, TRADER, now)

    rejected_atomically(pool, InsufficientOutputAmount, swap)


def test_burn_paying_zero_of_a_token_is_refused(pool: World) -> None:
    # supply 2e18 over reserves 1e18 : 4e18: one LP token is worth 0.5 of token0, floored to 0
    now = T0 + 1
    pair = _pair(pool)

    def burn(liquidity: int) -> tuple[int, int]:
        pool.ledger.move(pair.address, MINTER, pair.address, liquidity, now)
        return pool.pairs.burn(_pair(pool), MINTER, MINTER, now)

    rejected_atomically(pool, InsufficientLiquidityBurned, lambda: burn(1))
    rejected_atomically(
        pool,
        InsufficientLiquidityBurned,
        lambda: pool.router.remove_liquidity(MINTER, TOKEN0, TOKEN1, 1, 0, 0, MINTER, None, now),
    )
    # nothing paid in at all is the same refusal
    rejected_atomically(
        pool,
        InsufficientLiquidityBurned,
        lambda: pool.pairs.burn(_pair(pool), MINTER, MINTER, now),
    )
    assert burn(2) == (1, 4)  # the smallest burn that pays something of each
    _assert_pair_holds_its_reserves(pool, now)


# --- reserves are the pair's ledger balances ---------------------------------------------------
def test_pair_balance_equals_reserves_after_every_operation(funded: World) -> None:
    def mint_unbalanced(now: int) -> None:
        # straight to the core: the excess token1 is donated to the pool, as in Uniswap
        pair = _pair(funded)
        funded.ledger.move(TOKEN0, OTHER, pair.address, 10**17, now)
        funded.ledger.move(TOKEN1, OTHER, pair.address, 10**18, now)
        funded.pairs.mint(pair, OTHER, OTHER, now)

    def remove_half(now: int) -> None:
        held = funded.available(MINTER, _pair(funded).address, now)
        funded.router.remove_liquidity(MINTER, TOKEN0, TOKEN1, held // 2, 0, 0, MINTER, None, now)

    operations: list[Callable[[int], object]] = [
        lambda now: _add(funded, 1 * E18, 4 * E18, now),
        lambda now: funded.router.swap_exact_tokens_for_tokens(
            TRADER, 3 * 10**17, 0, [TOKEN0, TOKEN1], TRADER, None, now
        ),
        lambda now: funded.router.swap_tokens_for_exact_tokens(
            TRADER, 10**17, E18, [TOKEN1, TOKEN0], TRADER, None, now
        ),
        lambda now: _add(funded, 7 * 10**17, 9 * E18, now, who=OTHER),
        mint_unbalanced,
        remove_half,
        lambda now: _pay_and_swap(funded, 0, 10**15, 10**14, 0, now),
    ]
    for i, operation in enumerate(operations):
        operation(T0 + i)
        _assert_pair_holds_its_reserves(funded, T0 + i)
        # and still later, with no operation in between: a pair's holdings do not drift
        _assert_pair_holds_its_reserves(funded, T0 + i + 1000)


def test_streams_to_a_future_pair_address_stop_when_the_pair_is_created(funded: World) -> None:
    """A pair's address is predictable; a stream sent there earlier is cancelled and refunded
    at creation (it must not keep paying the pair outside its reserves), and what had already
    arrived is a donation counted in the first liquidity, as in Uniswap."""
    future_pair = pair_address(TOKEN0, TOKEN1)
    stream_id = funded.ledger.create_stream(TOKEN0, OTHER, future_pair, 1000, T0, 100, T0)
    before = funded.available(OTHER, TOKEN0, T0)
    _add(funded, 10**6, 10**6, T0 + 10)
    assert StreamCancelled(stream_id, TOKEN0, OTHER, future_pair, T0 + 10, 100, 900) in (
        funded.events
    )
    assert funded.available(OTHER, TOKEN0, T0 + 10) == before + 900
    mint = [e for e in funded.events if isinstance(e, Mint)][-1]
    assert (mint.amount0, mint.amount1) == (10**6 + 100, 10**6)
    for t in (T0 + 10, T0 + 50, T0 + 500):
        _assert_pair_holds_its_reserves(funded, t)


# --- events -------------------------------------------------------------------------------------
def test_add_swap_remove_emit_uniswaps_event_sequence(funded: World) -> None:
    pair_addr = pair_address(TOKEN0, TOKEN1)
    liquidity = 2 * E18 - MINIMUM_LIQUIDITY
    start = len(funded.events)
    _add(funded, 1 * E18, 4 * E18, T0)
    after_add = len(funded.events)
    amount_out = get_amount_out(10**17, 1 * E18, 4 * E18)
    funded.router.swap_exact_tokens_for_tokens(
        TRADER, 10**17, 0, [TOKEN0, TOKEN1], TRADER, None, T0 + 1
    )
    after_swap = len(funded.events)
    funded.router.remove_liquidity(MINTER, TOKEN0, TOKEN1, liquidity, 0, 0, MINTER, None, T0 + 2)
    reserve0, reserve1 = 1 * E18 + 10**17, 4 * E18 - amount_out
    out0, out1 = liquidity * reserve0 // (2 * E18), liquidity * reserve1 // (2 * E18)

    add = funded.events[start:after_add]
    swap = funded.events[after_add:after_swap]
    remove = funded.events[after_swap:]
    # v2-core pins: mint emits Transfer, Transfer, Sync, Mint; swap emits Transfer, Sync, Swap;
    # burn emits Transfer, Transfer, Transfer, Sync, Burn. The router's own transfers come first.
    assert [e.type for e in add] == [
        "PairCreated", "Transfer", "Transfer", "Transfer", "Transfer", "Sync", "Mint"
    ]  # fmt: skip
    assert [e.type for e in swap] == ["Transfer", "Transfer", "Sync", "Swap"]
    assert [e.type for e in remove] == [
        "Transfer", "Transfer", "Transfer", "Transfer", "Sync", "Burn"
    ]  # fmt: skip
    assert add == [
        PairCreated(TOKEN0, TOKEN1, pair_addr),
        Transfer(TOKEN0, MINTER, pair_addr, 1 * E18),
        Transfer(TOKEN1, MINTER, pair_addr, 4 * E18),
        Transfer(pair_addr, ZERO_ADDRESS, ZERO_ADDRESS, MINIMUM_LIQUIDITY),
        Transfer(pair_addr, ZERO_ADDRESS, MINTER, liquidity),
        Sync(pair_addr, 1 * E18, 4 * E18),
        Mint(pair_addr, MINTER, MINTER, 1 * E18, 4 * E18, liquidity),
    ]
    assert swap == [
        Transfer(TOKEN0, TRADER, pair_addr, 10**17),
        Transfer(TOKEN1, pair_addr, TRADER, amount_out),
        Sync(pair_addr, reserve0, reserve1),
        Swap(pair_addr, TRADER, TRADER, 10**17, 0, 0, amount_out),
    ]
    assert remove == [
        Transfer(pair_addr, MINTER, pair_addr, liquidity),
        Transfer(pair_addr, pair_addr, ZERO_ADDRESS, liquidity),
        Transfer(TOKEN0, pair_addr, MINTER, out0),
        Transfer(TOKEN1, pair_addr, MINTER, out1),
        Sync(pair_addr, reserve0 - out0, reserve1 - out1),
        Burn(pair_addr, MINTER, MINTER, out0, out1, liquidity),
    ]
