"""The streamable-token ledger follows PROTOCOL §4.1 to the wei."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dapp.errors import (
    InsufficientBalance,
    InvalidAmount,
    InvalidRecipient,
    InvalidTime,
    InvalidToken,
    NotStreamSender,
    StreamEnded,
    StreamNotFound,
)
from dapp.events import Deposit, StreamCancelled, StreamCreated, Transfer, Withdrawal
from dapp.ledger import UINT256_MAX, streamed_amount
from tests.conftest import World, address

TOKEN = address(0xA0)
OTHER_TOKEN = address(0xA1)
ALICE = address(1)
BOB = address(2)
CAROL = address(3)
T0 = 1_000_000

VECTORS = json.loads((Path(__file__).parent / "vectors" / "twamm_stream_vectors.json").read_text())
SABLIER = [v for v in VECTORS["vectors"] if v["kind"] == "sablier_linear"]


def funded(world: World, amount: int = 10**24, account: bytes = ALICE) -> World:
    world.ledger.deposit(TOKEN, account, amount, T0)
    return world


def rows(world: World, table: str) -> int:
    return int(world.store.connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# --- streamed(t) -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "vector",
    [v for v in SABLIER if not v["inputs"].get("cliff")],
    ids=lambda v: str(v["id"]),
)
def test_streamed_amount_matches_sablier_linear_without_cliff(vector: dict[str, Any]) -> None:
    i = vector["inputs"]
    streamed = streamed_amount(i["deposited"], i["start"], i["end"] - i["start"], i["now"])
    assert streamed == vector["expected"]["streamed"]


def test_sablier_vectors_with_a_cliff_are_out_of_scope() -> None:
    """streamdex streams are linear from start (PROTOCOL §4.1): cliffs are not a feature."""
    with_cliff = {v["id"] for v in SABLIER if v["inputs"].get("cliff")}
    assert with_cliff == {f"sablier_linear:{n}" for n in (0, 1, 2, 3, 5, 6, 7)}


def test_streamed_amount_pays_rate_per_second_and_remainder_at_the_end() -> None:
    # 1000 over 3 s: rate 333, remainder 1 at the end
    assert [streamed_amount(1000, 10, 3, t) for t in range(9, 15)] == [0, 0, 333, 666, 1000, 1000]


def test_zero_duration_streams_everything_at_start() -> None:
    assert [streamed_amount(5, 10, 0, t) for t in (9, 10, 11)] == [0, 5, 5]


def test_duration_longer_than_amount_pays_everything_at_the_end() -> None:
    assert [streamed_amount(2, 0, 5, t) for t in (1, 4, 5)] == [0, 0, 2]


# --- deposits, withdrawals, transfers --------------------------------------------------------
def test_deposit_credits_available_and_supply(world: World) -> None:
    world.ledger.deposit(TOKEN, ALICE, 500, T0)
    assert world.available(ALICE, TOKEN, T0) == 500
    assert world.ledger.supply(TOKEN) == 500
    assert world.events == [Deposit(TOKEN, ALICE, 500)]


def test_deposit_beyond_uint256_supply_is_rejected(world: World) -> None:
    world.ledger.deposit(TOKEN, ALICE, UINT256_MAX, T0)
    with pytest.raises(InvalidAmount, match="2\\*\\*256"):
        world.ledger.deposit(TOKEN, BOB, 1, T0)


def test_withdraw_burns_available_and_supply(world: World) -> None:
    funded(world, 500)
    world.ledger.withdraw(TOKEN, ALICE, 200, T0 + 1)
    assert world.available(ALICE, TOKEN, T0 + 1) == 300
    assert world.ledger.supply(TOKEN) == 300
    assert world.events[-1] == Withdrawal(TOKEN, ALICE, 200)


def test_withdraw_more_than_available_is_rejected(world: World) -> None:
    funded(world, 500)
    with pytest.raises(InsufficientBalance, match=r"has 500 .* needs 501"):
        world.ledger.withdraw(TOKEN, ALICE, 501, T0)


def test_emptied_positions_leave_no_row(world: World) -> None:
    funded(world, 500)
    world.ledger.withdraw(TOKEN, ALICE, 500, T0)
    assert rows(world, "balances") == 0
    assert world.available(ALICE, TOKEN, T0 + 10) == 0


def test_lp_tokens_cannot_be_withdrawn(world: World) -> None:
    world.ledger.deposit(TOKEN, ALICE, 10**6, T0)
    world.ledger.deposit(OTHER_TOKEN, ALICE, 10**6, T0)
    world.router.add_liquidity(ALICE, TOKEN, OTHER_TOKEN, 10**6, 10**6, 0, 0, ALICE, None, T0)
    pair = world.pairs.get(TOKEN, OTHER_TOKEN)
    with pytest.raises(InvalidToken, match="LP token"):
        world.ledger.withdraw(pair.address, ALICE, 1, T0)


def test_transfer_moves_available(world: World) -> None:
    funded(world, 500)
    world.ledger.transfer(TOKEN, ALICE, BOB, 120, T0)
    assert (world.available(ALICE, TOKEN, T0), world.available(BOB, TOKEN, T0)) == (380, 120)
    assert world.events[-1] == Transfer(TOKEN, ALICE, BOB, 120)


@pytest.mark.parametrize("amount", [0, -1, UINT256_MAX + 1, True, 1.0, "5"])
def test_amounts_outside_uint256_positive_are_rejected(world: World, amount: Any) -> None:
    funded(world, 500)
    with pytest.raises(InvalidAmount):
        world.ledger.transfer(TOKEN, ALICE, BOB, amount, T0)


def test_transfers_to_zero_self_or_a_pair_are_rejected(world: World) -> None:
    funded(world)
    world.ledger.deposit(OTHER_TOKEN, ALICE, 10**6, T0)
    world.router.add_liquidity(ALICE, TOKEN, OTHER_TOKEN, 10**6, 10**6, 0, 0, ALICE, None, T0)
    pair = world.pairs.get(TOKEN, OTHER_TOKEN).address
    for receiver, message in ((address(0), "zero address"), (ALICE, "itself"), (pair, "pair")):
        with pytest.raises(InvalidRecipient, match=message):
            world.ledger.transfer(TOKEN, ALICE, receiver, 1, T0)
        with pytest.raises(InvalidRecipient, match=message):
            world.ledger.create_stream(TOKEN, ALICE, receiver, 1, T0, 10, T0)


def test_an_unknown_account_reads_as_zero_without_writing(world: World) -> None:
    before = world.store.dump()
    assert world.ledger.position(CAROL, TOKEN, T0).balance == 0
    assert world.store.dump() == before


# --- streams ---------------------------------------------------------------------------------
def test_stream_escrows_at_creation_and_streams_per_second(world: World) -> None:
    funded(world, 1000)
    world.ledger.create_stream(TOKEN, ALICE, BOB, 1000, T0, 3, T0)
    expected = {  # t: (alice balance, alice available, bob balance)
        T0: (1000, 0, 0),
        T0 + 1: (667, 0, 333),
        T0 + 2: (334, 0, 666),
        T0 + 3: (0, 0, 1000),
        T0 + 9: (0, 0, 1000),
    }
    for t, values in expected.items():
        alice = world.ledger.position(ALICE, TOKEN, t)
        assert (alice.balance, alice.available, world.balance(BOB, TOKEN, t)) == values


def test_stream_with_future_start_escrows_now_and_streams_later(world: World) -> None:
    funded(world, 1000)
    world.ledger.create_stream(TOKEN, ALICE, BOB, 100, T0 + 10, 10, T0)
    assert world.available(ALICE, TOKEN, T0) == 900
    assert world.balance(ALICE, TOKEN, T0 + 10) == 1000
    assert world.balance(BOB, TOKEN, T0 + 10) == 0
    assert world.balance(BOB, TOKEN, T0 + 15) == 50
    assert world.balance(BOB, TOKEN, T0 + 20) == 100
    assert world.balance(ALICE, TOKEN, T0 + 20) == 900


def test_zero_duration_stream_now_is_an_instant_transfer(world: World) -> None:
    funded(world, 1000)
    world.ledger.create_stream(TOKEN, ALICE, BOB, 100, T0, 0, T0)
    assert world.available(BOB, TOKEN, T0) == 100
    assert world.available(ALICE, TOKEN, T0) == 900
    assert rows(world, "rate_changes") == 0


def test_zero_duration_stream_later_pays_everything_at_start(world: World) -> None:
    funded(world, 1000)
    world.ledger.create_stream(TOKEN, ALICE, BOB, 100, T0 + 5, 0, T0)
    assert world.available(ALICE, TOKEN, T0) == 900
    assert world.balance(ALICE, TOKEN, T0 + 4) == 1000
    assert world.balance(BOB, TOKEN, T0 + 4) == 0
    assert world.balance(BOB, TOKEN, T0 + 5) == 100
    assert world.balance(ALICE, TOKEN, T0 + 5) == 900


def test_stream_spends_available_not_balance(world: World) -> None:
    funded(world, 1000)
    world.ledger.create_stream(TOKEN, ALICE, BOB, 1000, T0 + 100, 10, T0)
    with pytest.raises(InsufficientBalance):
        world.ledger.create_stream(TOKEN, ALICE, CAROL, 1, T0, 10, T0)
    with pytest.raises(InsufficientBalance):
        world.ledger.transfer(TOKEN, ALICE, CAROL, 1, T0 + 50)


def test_incoming_stream_is_spendable_as_it_arrives(world: World) -> None:
    funded(world, 1000)
    world.ledger.create_stream(TOKEN, ALICE, BOB, 1000, T0, 10, T0)
    world.ledger.transfer(TOKEN, BOB, CAROL, 400, T0 + 4)
    with pytest.raises(InsufficientBalance):
        world.ledger.transfer(TOKEN, BOB, CAROL, 1, T0 + 4)
    assert world.balance(BOB, TOKEN, T0 + 10) == 600


def test_stream_created_event_and_record(world: World) -> None:
    funded(world, 1000)
    stream_id = world.ledger.create_stream(TOKEN, ALICE, BOB, 1000, T0 + 1, 3, T0)
    assert world.events[-1] == StreamCreated(stream_id, TOKEN, ALICE, BOB, T0 + 1, 3, 1000, 333)
    stream = world.ledger.stream(stream_id)
    assert (stream.rate, stream.remainder, stream.end) == (333, 1, T0 + 4)
    statuses = [stream.status_at(t) for t in (T0, T0 + 1, T0 + 3, T0 + 4)]
    assert statuses == ["pending", "active", "active", "ended"]


@pytest.mark.parametrize("start, duration", [(T0 - 1, 10), (T0, -1), (T0, 2**63)])
def test_stream_times_are_validated(world: World, start: int, duration: int) -> None:
    funded(world, 1000)
    with pytest.raises(InvalidTime):
        world.ledger.create_stream(TOKEN, ALICE, BOB, 10, start, duration, T0)


def test_streams_ending_together_share_one_schedule_row(world: World) -> None:
    funded(world, 1000)
    world.ledger.create_stream(TOKEN, ALICE, BOB, 100, T0, 10, T0)
    world.ledger.create_stream(TOKEN, ALICE, BOB, 300, T0, 10, T0)
    assert rows(world, "rate_changes") == 2  # (alice, end) and (bob, end)
    assert world.balance(BOB, TOKEN, T0 + 5) == 200


def test_reading_before_the_last_change_is_refused(world: World) -> None:
    funded(world, 1000)
    world.ledger.transfer(TOKEN, ALICE, BOB, 1, T0 + 10)
    with pytest.raises(InvalidTime):
        world.ledger.position(ALICE, TOKEN, T0 + 9)


# --- cancel ----------------------------------------------------------------------------------
def test_cancel_mid_stream_splits_streamed_and_refund(world: World) -> None:
    funded(world, 1000)
    stream_id = world.ledger.create_stream(TOKEN, ALICE, BOB, 1000, T0, 3, T0)
    world.ledger.cancel_stream(stream_id, ALICE, T0 + 2)
    assert world.events[-1] == StreamCancelled(stream_id, TOKEN, ALICE, BOB, T0 + 2, 666, 334)
    for t in (T0 + 2, T0 + 100):
        assert world.available(ALICE, TOKEN, t) == 334
        assert world.balance(BOB, TOKEN, t) == 666
    assert rows(world, "rate_changes") == 0
    assert world.ledger.stream(stream_id).status_at(T0 + 2) == "cancelled"


def test_cancel_before_start_refunds_everything_and_clears_the_schedule(world: World) -> None:
    funded(world, 1000)
    keep = world.ledger.create_stream(TOKEN, ALICE, BOB, 100, T0 + 10, 10, T0)
    drop = world.ledger.create_stream(TOKEN, ALICE, BOB, 300, T0 + 10, 10, T0)
    world.ledger.cancel_stream(drop, ALICE, T0 + 5)
    assert world.available(ALICE, TOKEN, T0 + 5) == 900
    assert world.balance(BOB, TOKEN, T0 + 15) == 50  # the other stream is untouched
    assert world.balance(BOB, TOKEN, T0 + 20) == 100
    world.ledger.cancel_stream(keep, ALICE, T0 + 6)
    assert rows(world, "rate_changes") == 0
    assert world.available(ALICE, TOKEN, T0 + 30) == 1000


def test_cancel_a_delayed_instant_transfer(world: World) -> None:
    funded(world, 1000)
    stream_id = world.ledger.create_stream(TOKEN, ALICE, BOB, 100, T0 + 5, 0, T0)
    world.ledger.cancel_stream(stream_id, ALICE, T0 + 4)
    assert world.available(ALICE, TOKEN, T0 + 10) == 1000
    assert world.balance(BOB, TOKEN, T0 + 10) == 0


def test_cancel_at_start_refunds_everything(world: World) -> None:
    funded(world, 1000)
    stream_id = world.ledger.create_stream(TOKEN, ALICE, BOB, 1000, T0 + 5, 10, T0)
    world.ledger.cancel_stream(stream_id, ALICE, T0 + 5)
    assert world.available(ALICE, TOKEN, T0 + 20) == 1000
    assert world.balance(BOB, TOKEN, T0 + 20) == 0


def test_only_the_sender_cancels_and_only_once_and_only_before_the_end(world: World) -> None:
    funded(world, 1000)
    stream_id = world.ledger.create_stream(TOKEN, ALICE, BOB, 100, T0, 10, T0)
    with pytest.raises(NotStreamSender):
        world.ledger.cancel_stream(stream_id, BOB, T0 + 1)
    with pytest.raises(StreamNotFound):
        world.ledger.cancel_stream(stream_id + 1, ALICE, T0 + 1)
    with pytest.raises(StreamEnded, match="already streamed"):
        world.ledger.cancel_stream(stream_id, ALICE, T0 + 10)
    other = world.ledger.create_stream(TOKEN, ALICE, BOB, 100, T0 + 10, 10, T0 + 10)
    world.ledger.cancel_stream(other, ALICE, T0 + 11)
    with pytest.raises(StreamEnded, match="already cancelled"):
        world.ledger.cancel_stream(other, ALICE, T0 + 12)


# --- a reference model -----------------------------------------------------------------------
@given(
    st.lists(
        st.tuples(
            st.integers(1, 10**30),  # amount
            st.integers(0, 50),  # start offset
            st.integers(0, 50),  # duration
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(0, 120),
)
def test_balances_equal_the_sum_over_streams_of_streamed(
    streams: list[tuple[int, int, int]], read_offset: int
) -> None:
    """The O(1) bookkeeping agrees with the definition: a sum over every stream (§4.1)."""
    from dapp.store import Store

    world = World(Store())
    total = sum(amount for amount, _, _ in streams)
    world.ledger.deposit(TOKEN, ALICE, total, T0)
    for amount, start, duration in streams:
        world.ledger.create_stream(TOKEN, ALICE, BOB, amount, T0 + start, duration, T0)
    at = T0 + read_offset
    streamed = sum(streamed_amount(a, T0 + s, d, at) for a, s, d in streams)
    assert world.balance(BOB, TOKEN, at) == streamed
    assert world.balance(ALICE, TOKEN, at) == total - streamed
    assert world.available(ALICE, TOKEN, at) == 0
