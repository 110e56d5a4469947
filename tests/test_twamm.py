"""Stream swaps in the state (PROTOCOL §4.3): what they buy, how they settle, what they cost."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dapp.amm.math import get_amount_out
from dapp.amm.twamm import order_pool_address
from dapp.errors import InvalidTime, NotSwapTrader, SwapEnded, SwapNotFound, Unsupported
from dapp.store import Store
from tests.conftest import World, address, rejected_atomically

ALICE, BOB, CAROL = address(1), address(2), address(3)
TOKEN_A, TOKEN_B = address(0xA0), address(0xB0)
T0 = 1_700_000_000
RESERVE_A, RESERVE_B = 10**24, 3 * 10**24


def market(world: World) -> World:
    for user in (ALICE, BOB, CAROL):
        world.ledger.deposit(TOKEN_A, user, 10**27, T0)
        world.ledger.deposit(TOKEN_B, user, 10**27, T0)
    world.router.add_liquidity(CAROL, TOKEN_A, TOKEN_B, RESERVE_A, RESERVE_B, 0, 0, CAROL, None, T0)
    return world


def bought(world: World, swap_id: int, at: int) -> int:
    return world.twamm.progress(world.twamm.order(swap_id), at).bought


def test_a_stream_swap_against_an_idle_pair_is_within_half_a_percent_of_an_instant_swap(
    world: World,
) -> None:
    market(world)
    amount = 10**22
    swap_id = world.twamm.place(ALICE, TOKEN_A, TOKEN_B, amount, T0, 3600, ALICE, T0)
    # inputs on other pairs and reads in between change nothing; the pair is advanced at the end
    for at in range(T0 + 600, T0 + 3601, 600):
        world.twamm.advance(world.pairs.get(TOKEN_A, TOKEN_B), at)
    instant = get_amount_out(amount, RESERVE_A, RESERVE_B)
    order = world.twamm.order(swap_id)
    assert order.settled and order.bought == bought(world, swap_id, T0 + 3600)
    assert abs(order.bought - instant) * 1000 <= instant * 5
    # and the trader was paid: all of it is in her balance
    assert world.available(ALICE, TOKEN_B, T0 + 3600) == 10**27 + order.bought


def test_opposing_equal_streams_both_beat_their_instant_swaps(world: World) -> None:
    market(world)
    sold_a, sold_b = 10**22, 3 * 10**22  # equal value at the pair's price
    to_b = world.twamm.place(ALICE, TOKEN_A, TOKEN_B, sold_a, T0, 3600, ALICE, T0)
    to_a = world.twamm.place(BOB, TOKEN_B, TOKEN_A, sold_b, T0, 3600, BOB, T0)
    world.twamm.advance(world.pairs.get(TOKEN_A, TOKEN_B), T0 + 3600)
    assert world.twamm.order(to_b).bought > get_amount_out(sold_a, RESERVE_A, RESERVE_B)
    assert world.twamm.order(to_a).bought > get_amount_out(sold_b, RESERVE_B, RESERVE_A)


def test_real_time_proceeds_and_reads_at_any_later_time_write_nothing(world: World) -> None:
    market(world)
    swap_id = world.twamm.place(ALICE, TOKEN_A, TOKEN_B, 3600 * 10**18, T0, 3600, BOB, T0)
    before = world.store.dump()
    quarters = [world.twamm.unpaid_proceeds(BOB, TOKEN_B, T0 + 900 * n) for n in range(5)]
    assert quarters[0] == 0
    assert all(a < b for a, b in pairwise(quarters))
    assert quarters[4] == bought(world, swap_id, T0 + 3600)
    assert world.store.dump() == before


def test_an_order_starting_later_sells_nothing_before_its_start(world: World) -> None:
    market(world)
    swap_id = world.twamm.place(ALICE, TOKEN_A, TOKEN_B, 1000 * 10**18, T0 + 100, 1000, ALICE, T0)
    progress = world.twamm.progress(world.twamm.order(swap_id), T0 + 99)
    assert (progress.status, progress.sold, progress.bought) == ("pending", 0, 0)
    later = world.twamm.progress(world.twamm.order(swap_id), T0 + 600)
    assert later.status == "active" and later.sold == 500 * 10**18 and later.bought > 0
    pair = world.pairs.get(TOKEN_A, TOKEN_B)
    assert world.twamm.view(pair, T0 + 100).pair.reserve0 == RESERVE_A


def test_cancel_returns_the_unsold_input_and_pays_what_was_bought(world: World) -> None:
    market(world)
    swap_id = world.twamm.place(ALICE, TOKEN_A, TOKEN_B, 1000 * 10**18, T0, 1000, CAROL, T0)
    a_before = world.available(ALICE, TOKEN_A, T0)
    b_before = world.available(CAROL, TOKEN_B, T0)
    expected = bought(world, swap_id, T0 + 250)
    rejected_atomically(world, NotSwapTrader, lambda: world.twamm.cancel(swap_id, BOB, T0 + 250))
    world.twamm.cancel(swap_id, ALICE, T0 + 250)
    assert world.available(ALICE, TOKEN_A, T0 + 250) == a_before + 750 * 10**18
    assert world.available(CAROL, TOKEN_B, T0 + 250) == b_before + expected
    rejected_atomically(world, SwapEnded, lambda: world.twamm.cancel(swap_id, ALICE, T0 + 300))
    rejected_atomically(world, SwapNotFound, lambda: world.twamm.cancel(99, ALICE, T0 + 300))
    # the pool no longer sells: reserves move no more
    pair = world.pairs.get(TOKEN_A, TOKEN_B)
    assert world.twamm.view(pair, T0 + 900).pair.reserve0 == pair.reserve0


def test_a_settled_order_reads_its_final_state_after_settling_and_refuses_earlier_times(
    world: World,
) -> None:
    market(world)
    cancelled = world.twamm.place(ALICE, TOKEN_A, TOKEN_B, 1000 * 10**18, T0, 1000, ALICE, T0)
    ended = world.twamm.place(BOB, TOKEN_B, TOKEN_A, 1000 * 10**18, T0, 500, BOB, T0)
    world.twamm.cancel(cancelled, ALICE, T0 + 250)
    world.twamm.advance(world.pairs.get(TOKEN_A, TOKEN_B), T0 + 600)
    for swap_id, settled_at, sold in (
        (cancelled, T0 + 250, 250 * 10**18),
        (ended, T0 + 500, 10**21),
    ):
        order = world.twamm.order(swap_id)
        assert order.settled
        for at in (settled_at, T0 + 600, T0 + 10**6):
            progress = world.twamm.progress(order, at)
            assert (progress.sold, progress.bought, progress.unpaid) == (sold, order.bought, 0)
        assert progress.status == ("cancelled" if swap_id == cancelled else "ended")
        # before it settled, the order's state then is no longer kept: an error, not a wrong answer
        with pytest.raises(InvalidTime, match=f"settled at {settled_at}"):
            world.twamm.progress(order, settled_at - 1)


def test_the_escrow_stream_of_a_swap_cannot_be_cancelled_as_a_stream(world: World) -> None:
    market(world)
    swap_id = world.twamm.place(ALICE, TOKEN_A, TOKEN_B, 1000, T0, 10, ALICE, T0)
    stream_id = world.twamm.order(swap_id).stream_id
    rejected_atomically(
        world, Unsupported, lambda: world.ledger.cancel_stream(stream_id, ALICE, T0 + 1)
    )


def test_nobody_can_send_to_an_order_pool(world: World) -> None:
    market(world)
    world.twamm.place(ALICE, TOKEN_A, TOKEN_B, 1000, T0, 10, ALICE, T0)
    pool = order_pool_address(world.pairs.get(TOKEN_A, TOKEN_B).address)
    with pytest.raises(Exception, match="stream swaps"):
        world.ledger.transfer(TOKEN_A, BOB, pool, 1, T0)


def test_liquidity_changes_and_instant_swaps_meet_live_orders_at_the_price_of_the_moment(
    world: World,
) -> None:
    market(world)
    world.twamm.place(ALICE, TOKEN_A, TOKEN_B, 10**22, T0, 1000, ALICE, T0)
    pair = world.pairs.get(TOKEN_A, TOKEN_B)
    expected = world.twamm.view(pair, T0 + 500).pair
    amounts = world.router.swap_exact_tokens_for_tokens(
        BOB, 10**20, 0, [TOKEN_B, TOKEN_A], BOB, None, T0 + 500
    )
    assert amounts[1] == get_amount_out(10**20, expected.reserve1, expected.reserve0)
    world.router.add_liquidity(BOB, TOKEN_A, TOKEN_B, 10**22, 10**23, 0, 0, BOB, None, T0 + 700)
    world.router.remove_liquidity(CAROL, TOKEN_A, TOKEN_B, 10**23, 0, 0, CAROL, None, T0 + 800)
    world.twamm.advance(world.pairs.get(TOKEN_A, TOKEN_B), T0 + 1000)
    assert world.twamm.order(1).settled


def test_advancing_over_an_interval_without_starts_or_ends_reads_no_order(tmp_path: Path) -> None:
    """The cost of advancing a pair does not depend on its live orders: 100,000 of them, and
    not one row of swap_orders is read (counted in SQLite VM steps and statements)."""

    def cost(extra_orders: int) -> tuple[int, list[str]]:
        world = market(World(Store(tmp_path / f"{extra_orders}.sqlite")))
        for n in range(10):
            world.twamm.place(ALICE, TOKEN_A, TOKEN_B, 10**20 + n, T0, 10**6, ALICE, T0)
        pair_id = world.store.address_id(world.pairs.get(TOKEN_A, TOKEN_B).address)
        world.store.connection.executemany(  # more live orders, ending long after the interval
            "INSERT INTO swap_orders (pair_id, trader_id, recipient_id, sells_token0, amount_in,"
            " sale_rate, start, duration, end_at, stream_id, paid_to, bought)"
            " VALUES (?, 2, 2, 1, 1000000, 1, ?, 1000000, ?, 1, 0, 0)",
            ((pair_id, T0, T0 + 10**6) for _ in range(extra_orders)),
        )
        statements: list[str] = []
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        connection = world.store.connection
        connection.set_trace_callback(statements.append)
        connection.set_progress_handler(count, 1)
        world.twamm.advance(world.pairs.get(TOKEN_A, TOKEN_B), T0 + 3600)
        connection.set_progress_handler(None, 1)
        connection.set_trace_callback(None)
        return steps[0], statements

    few_steps, few_statements = cost(0)
    many_steps, many_statements = cost(100_000)
    assert not any("swap_orders" in statement for statement in many_statements)
    assert len(few_statements) == len(many_statements)
    assert many_steps == few_steps


@settings(max_examples=30)
@given(
    sold=st.integers(min_value=10**3, max_value=10**24),
    duration=st.integers(min_value=1, max_value=10**5),
    cancel_after=st.integers(min_value=0, max_value=10**5),
)
def test_cancelling_at_any_time_conserves_the_traders_value(
    sold: int, duration: int, cancel_after: int
) -> None:
    world = market(World(Store()))
    sold = max(sold, duration)
    swap_id = world.twamm.place(ALICE, TOKEN_A, TOKEN_B, sold, T0, duration, ALICE, T0)
    at = T0 + cancel_after
    owed = world.twamm.progress(world.twamm.order(swap_id), at)
    a_before, b_before = world.available(ALICE, TOKEN_A, T0), world.available(ALICE, TOKEN_B, T0)
    if cancel_after >= duration:
        world.twamm.settle_recipient(ALICE, at)
    else:
        world.twamm.cancel(swap_id, ALICE, at)
    # what was not sold comes back, what was bought is paid: exactly the progress read before
    assert world.available(ALICE, TOKEN_A, at) == a_before + sold - owed.sold
    assert world.available(ALICE, TOKEN_B, at) == b_before + owed.bought
