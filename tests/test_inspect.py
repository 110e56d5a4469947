"""Inspect routes (PROTOCOL §5 core): answers, paging, errors, and no way to write."""

from __future__ import annotations

import sqlite3

import pytest

from dapp.addresses import to_checksum_address
from dapp.inspect import ROUTES
from dapp.store import SCHEMA_VERSION
from tests.conftest import address
from tests.inputs import START, Driver
from tests.test_app import ALICE, BOB, CAROL, TOKEN_A, TOKEN_B, with_pair

A, B = to_checksum_address(TOKEN_A), to_checksum_address(TOKEN_B)
ALICE_HEX, BOB_HEX = to_checksum_address(ALICE), to_checksum_address(BOB)


def test_health_names_the_last_accepted_input(driver: Driver) -> None:
    assert driver.inspect("/health") == {
        "status": "ok",
        "last_input_index": None,
        "last_timestamp": 0,
        "schema_version": SCHEMA_VERSION,
    }
    driver.deposit(TOKEN_A, ALICE, 5)
    driver.act(ALICE, "transfer", at=START + 9, token=TOKEN_A, to=BOB, amount=6)  # rejected
    assert driver.inspect("/health")["last_input_index"] == 0
    assert driver.inspect("/health")["last_timestamp"] == START


def test_balance_is_real_time_and_at_reads_any_later_time(driver: Driver) -> None:
    driver.deposit(TOKEN_A, ALICE, 1000)
    driver.act(ALICE, "stream", token=TOKEN_A, receiver=BOB, amount=1000, duration=100)
    path = f"/balance/{BOB_HEX}?token={A}"
    assert driver.inspect(path)["balance"] == "0"
    later = driver.inspect(f"{path}&at={START + 40}")
    assert later == {
        "account": BOB_HEX,
        "token": A,
        "balance": "400",
        "available": "400",
        "escrow": "0",
        "inflow_rate": "10",
        "outflow_rate": "0",
        "stream_swap_proceeds": "0",
        "at": START + 40,
    }
    sender = driver.inspect(f"/balance/{ALICE_HEX}?token={A}&at={START + 40}")
    assert (sender["balance"], sender["available"], sender["escrow"]) == ("600", "0", "600")


def test_balances_lists_every_token_including_streams_not_started(driver: Driver) -> None:
    with_pair(driver)
    driver.act(
        ALICE, "stream", token=TOKEN_B, receiver=CAROL, amount=50, duration=10, start=START + 100
    )
    carol = driver.inspect(f"/balances/{to_checksum_address(CAROL)}?at={START + 200}")
    assert carol["balances"] == [
        {
            "token": B,
            "balance": "50",
            "available": "50",
            "escrow": "0",
            "inflow_rate": "0",
            "outflow_rate": "0",
            "stream_swap_proceeds": "0",
        }
    ]
    alice_tokens = [row["token"] for row in driver.inspect(f"/balances/{ALICE_HEX}")["balances"]]
    assert len(alice_tokens) == 4  # A, B, C and the pair's LP token
    assert alice_tokens == sorted(alice_tokens, key=lambda t: bytes.fromhex(t[2:]))


def test_streams_filter_by_status_and_page_by_id(driver: Driver) -> None:
    driver.deposit(TOKEN_A, ALICE, 10**6)
    for n in range(5):  # ids 1..5: starts now, now+100, …
        driver.act(
            ALICE,
            "stream",
            token=TOKEN_A,
            receiver=BOB,
            amount=100,
            duration=50,
            start=START + 100 * n,
        )
    driver.act(ALICE, "cancel_stream", stream_id=2)
    at = START + 120
    statuses = {
        status: [
            s["stream_id"]
            for s in driver.inspect(f"/streams/{ALICE_HEX}?status={status}&at={at}")["streams"]
        ]
        for status in ("pending", "active", "ended", "cancelled")
    }
    assert statuses == {"pending": [3, 4, 5], "active": [], "ended": [1], "cancelled": [2]}
    first = driver.inspect(f"/streams/{BOB_HEX}?limit=2")
    assert [s["stream_id"] for s in first["streams"]] == [1, 2]
    assert {s["direction"] for s in first["streams"]} == {"in"}
    rest = driver.inspect(f"/streams/{BOB_HEX}?limit=2&cursor={first['next_cursor']}")
    assert [s["stream_id"] for s in rest["streams"]] == [3, 4]
    last = driver.inspect(f"/streams/{BOB_HEX}?limit=2&cursor={rest['next_cursor']}")
    assert [s["stream_id"] for s in last["streams"]] == [5] and last["next_cursor"] is None


def test_one_stream_with_progress(driver: Driver) -> None:
    assert driver.inspect("/stream/1")["error"] == "STREAM_NOT_FOUND"
    driver.deposit(TOKEN_A, ALICE, 1001)
    driver.act(ALICE, "stream", token=TOKEN_A, receiver=BOB, amount=1001, duration=100)
    answer = driver.inspect(f"/stream/1?at={START + 25}")
    assert answer == {
        "stream_id": 1,
        "token": A,
        "sender": ALICE_HEX,
        "receiver": BOB_HEX,
        "amount": "1001",
        "rate": "10",
        "start": START,
        "duration": 100,
        "end": START + 100,
        "cancelled_at": None,
        "status": "active",
        "streamed": "250",
        "remaining": "751",
        "at": START + 25,
    }
    assert driver.inspect(f"/stream/1?at={START + 100}")["streamed"] == "1001"


def test_pairs_quote_and_tokens(driver: Driver) -> None:
    with_pair(driver)
    (listed,) = driver.inspect("/pairs")["pairs"]
    one = driver.inspect(f"/pair/{B}/{A}")
    assert one == listed
    assert (listed["token0"]["id"], listed["token1"]["id"]) == (A, B)
    assert (listed["reserve0_raw"], listed["reserve1_raw"]) == (str(10**21), str(4 * 10**21))
    # no token metadata: amounts and prices in base units; token0_price = reserve0 / reserve1
    assert (listed["reserve0"], listed["reserve1"]) == (str(10**21), str(4 * 10**21))
    assert (listed["token0_price"], listed["token1_price"]) == ("0.25", "4")
    assert listed["total_supply"] == str(2 * 10**21)  # √(10²¹ · 4·10²¹)
    quote = driver.inspect(f"/quote?path={A},{B}&amount_in=1000")
    assert quote["amounts"] == ["1000", str(1000 * 997 * 4 * 10**21 // (10**24 + 1000 * 997))]
    exact = driver.inspect(f"/quote?path={A},{B}&amount_out={quote['amount_out']}")
    assert int(exact["amount_in"]) <= 1000
    tokens = driver.inspect("/tokens")["tokens"]
    assert [(t["token"], t["kind"]) for t in tokens] == [
        (A, "erc20"),
        (B, "erc20"),
        (to_checksum_address(address(0xC3)), "erc20"),
        (listed["id"], "lp"),
    ]
    assert driver.inspect(f"/token/{A}") == {
        "token": A,
        "kind": "erc20",
        "supply": str(10**24),
        "holders": 2,  # Alice and the pair
        "volume": "0",
    }
    driver.act(ALICE, "swap", amount_in=1000, amount_out_min=0, path=[TOKEN_A, TOKEN_B])
    assert driver.inspect(f"/token/{A}")["volume"] == "1000"
    assert driver.inspect(f"/token/{to_checksum_address(address(0xEE))}")["supply"] == "0"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/nowhere", "UNKNOWN_ROUTE"),
        ("/balance", "UNKNOWN_ROUTE"),
        ("/health?verbose=1", "BAD_PARAMETER"),
        (f"/balance/{ALICE_HEX}", "BAD_PARAMETER"),
        (f"/balance/0x1234?token={A}", "INVALID_ADDRESS"),
        (f"/balance/{ALICE_HEX}?token={A}&at=-1", "BAD_PARAMETER"),
        (f"/balance/{ALICE_HEX}?token={A}&at=soon", "BAD_PARAMETER"),
        (f"/balance/{ALICE_HEX}?token={A}&token={A}", "BAD_PARAMETER"),
        (f"/streams/{ALICE_HEX}?status=sleeping", "BAD_PARAMETER"),
        (f"/streams/{ALICE_HEX}?limit=1001", "BAD_PARAMETER"),
        ("/stream/x", "BAD_PARAMETER"),
        ("/stream/7", "STREAM_NOT_FOUND"),
        ("/swap/1", "SWAP_NOT_FOUND"),
        ("/swap/one", "BAD_PARAMETER"),
        (f"/pair/{A}/{A}", "IDENTICAL_ADDRESSES"),
        (f"/pair/{A}/{to_checksum_address(address(0xEE))}", "PAIR_NOT_FOUND"),
        ("/quote?amount_in=5", "BAD_PARAMETER"),
        (f"/quote?path={A},{B}", "BAD_PARAMETER"),
        (f"/quote?path={A},{B}&amount_in=1&amount_out=1", "BAD_PARAMETER"),
        (f"/quote?path={A},{B}&amount_in=1.5", "BAD_PARAMETER"),
        (f"/quote?path={A}&amount_in=1", "INVALID_PATH"),
    ],
)
def test_bad_requests_answer_an_error(driver: Driver, path: str, code: str) -> None:
    answer = driver.inspect(path)
    assert answer["error"] == code, answer
    assert answer["message"]


def test_inspect_payload_must_be_utf8(driver: Driver) -> None:
    assert b"BAD_PAYLOAD" in driver.app.inspect(b"\xff")


def test_reading_before_the_last_change_is_refused(driver: Driver) -> None:
    driver.deposit(TOKEN_A, ALICE, 5)
    answer = driver.inspect(f"/balance/{ALICE_HEX}?token={A}&at={START - 1}")
    assert answer["error"] == "INVALID_TIME"


def test_every_route_is_in_the_protocol_or_announced_as_an_addition() -> None:
    from pathlib import Path

    root = Path(__file__).parent.parent
    protocol = (root.parent / "shared" / "PROTOCOL.md").read_text()
    changelog = (root / "CHANGELOG.md").read_text()
    for pattern, _ in ROUTES:
        route = "/" + pattern[0]
        assert route in protocol or f"`{route}`" in changelog, route


def test_the_inspector_cannot_write_even_if_it_tries(driver: Driver) -> None:
    driver.deposit(TOKEN_A, ALICE, 5)
    before = driver.app.store.dump()
    connection = driver.app.inspector.store.connection
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        connection.execute("UPDATE tokens SET supply = 0")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        connection.execute("CREATE TABLE stolen (x)")
    assert driver.app.store.dump() == before
    assert driver.inspect("/health")["status"] == "ok"  # and it still answers


def test_real_time_balances_add_up_to_the_supply_between_inputs(driver: Driver) -> None:
    """At a time no input has reached yet, the pair's and the order pools' balances move with
    the stream swaps the pair would execute, and the traders' with what they earned: every
    token is still counted exactly once."""
    with_pair(driver)
    driver.act(
        ALICE,
        "swap",
        amount_in=10**20,
        amount_out_min=0,
        path=[TOKEN_A, TOKEN_B],
        duration=1000,
        to=BOB,
    )
    driver.act(
        BOB,
        "swap",
        amount_in=10**20,
        amount_out_min=0,
        path=[TOKEN_B, TOKEN_A],
        duration=600,
        at=driver.now + 100,
    )
    accounts = [
        bytes(row[0])
        for row in driver.app.store.connection.execute("SELECT address FROM addresses")
    ]
    for at in (driver.now + 250, driver.now + 700, driver.now + 5000):
        for token in (TOKEN_A, TOKEN_B):
            total = sum(
                int(
                    driver.inspect(
                        f"/balance/{to_checksum_address(account)}"
                        f"?token={to_checksum_address(token)}&at={at}"
                    )["balance"]
                )
                for account in accounts
            )
            assert total == int(driver.inspect(f"/token/{to_checksum_address(token)}")["supply"])
