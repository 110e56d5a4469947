"""The application in process: every input accepted with one notice or rejected with one report
and not a byte of state changed; vouchers exact in both dialects."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from dapp import actions
from dapp.actions import ACTIONS
from dapp.addresses import ZERO_ADDRESS
from dapp.app import Application, Config
from dapp.codec import METHODS, TRANSFER_SELECTOR, WITHDRAW_ETHER_SELECTOR, Voucher
from tests.conftest import address
from tests.inputs import APP_CONTRACT, CONFIG, START, Driver, erc20_deposit, notice_events, report

ALICE, BOB, CAROL = address(0x11), address(0x22), address(0x33)
TOKEN_A, TOKEN_B, TOKEN_C = address(0xA1), address(0xB2), address(0xC3)
MILLION = 10**24


def funded(driver: Driver) -> Driver:
    for token in (TOKEN_A, TOKEN_B, TOKEN_C):
        assert driver.deposit(token, ALICE, MILLION).accepted
    return driver


def with_pair(driver: Driver) -> Driver:
    funded(driver)
    outcome = driver.act(
        ALICE,
        "add_liquidity",
        token_a=TOKEN_A,
        token_b=TOKEN_B,
        token_a_desired=10**21,
        token_b_desired=4 * 10**21,
        token_a_min=0,
        token_b_min=0,
    )
    assert outcome.accepted, outcome.reports
    return driver


def test_every_method_has_an_action_and_every_action_a_method() -> None:
    assert ACTIONS.keys() == METHODS.keys()


def test_an_erc20_deposit_credits_the_sender_in_one_notice(driver: Driver) -> None:
    outcome = driver.deposit(TOKEN_A, ALICE, 123)
    assert outcome.kind == "deposit" and outcome.vouchers == ()
    assert json.loads(outcome.notices[0]) == {
        "input_index": 0,
        "events": [
            {
                "type": "Deposit",
                "token": "0x00000000000000000000000000000000000000A1",
                "account": "0x0000000000000000000000000000000000000011",
                "amount": "123",
            }
        ],
    }
    assert driver.inspect(f"/balance/0x{ALICE.hex()}?token=0x{TOKEN_A.hex()}")["balance"] == "123"


def test_an_ether_deposit_credits_the_zero_address_token(driver: Driver) -> None:
    outcome = driver.send(CONFIG.v2.ether, ALICE + (10**18).to_bytes(32, "big") + b"data")
    assert notice_events(outcome)[0]["token"] == "0x" + "00" * 20
    assert driver.app.ledger.position(ALICE, ZERO_ADDRESS, START).available == 10**18


def test_only_the_portals_can_mint(driver: Driver) -> None:
    before = driver.app.store.dump()
    forged = driver.send(BOB, erc20_deposit(TOKEN_A, BOB, 10**30))
    assert report(forged)["error"] == "BAD_PAYLOAD"
    v1_portal_in_v2 = driver.send(CONFIG.v1.erc20, erc20_deposit(TOKEN_A, BOB, 5, v1=True))
    assert report(v1_portal_in_v2)["error"] == "BAD_PAYLOAD"
    assert driver.app.store.dump() == before


def test_a_v1_deposit_has_the_success_flag_first(app: Application) -> None:
    driver = Driver(app, dialect="v1")
    assert driver.deposit(TOKEN_A, ALICE, 77).accepted
    assert app.ledger.position(ALICE, TOKEN_A, START).available == 77
    failed = driver.send(CONFIG.v1.erc20, b"\x00" + erc20_deposit(TOKEN_A, ALICE, 5))
    assert report(failed)["error"] == "BAD_PAYLOAD"


def test_every_action_is_accepted_with_its_events_in_order(driver: Driver) -> None:
    with_pair(driver)
    a, b = TOKEN_A, TOKEN_B
    steps: list[tuple[str, dict[str, Any], list[str]]] = [
        ("transfer", {"token": a, "to": BOB, "amount": 5}, ["Transfer"]),
        (
            "stream",
            {"token": a, "receiver": BOB, "amount": 1000, "duration": 100},
            ["StreamCreated"],
        ),
        ("cancel_stream", {"stream_id": 1, "token": a}, ["StreamCancelled"]),
        ("withdraw", {"token": a, "amount": 7}, ["Withdrawal"]),
        (
            "swap",
            {"amount_in": 10**18, "amount_out_min": 1, "path": [a, b], "deadline": START + 60},
            ["Transfer", "Transfer", "Sync", "Swap"],
        ),
        (
            "swap_exact_out",
            {"amount_out": 10**18, "amount_in_max": 10**19, "path": [b, a], "to": CAROL},
            ["Transfer", "Transfer", "Sync", "Swap"],
        ),
        (
            "remove_liquidity",
            {"token_a": b, "token_b": a, "liquidity": 10**20, "amount_a_min": 1, "amount_b_min": 1},
            ["Transfer", "Transfer", "Transfer", "Transfer", "Sync", "Burn"],
        ),
    ]
    for method, args, types in steps:
        outcome = driver.act(ALICE, method, at=driver.now + 10, **args)
        assert outcome.kind == method
        assert [event["type"] for event in notice_events(outcome)] == types, method
    assert driver.inspect("/health")["last_input_index"] == driver.next_index - 1


def test_a_stream_swap_is_placed_and_cancelled_through_actions(driver: Driver) -> None:
    with_pair(driver)
    args = {"amount_in": 6000, "amount_out_min": 0, "path": [TOKEN_A, TOKEN_B], "duration": 60}
    placed = driver.act(ALICE, "swap", **args)
    assert [e["type"] for e in notice_events(placed)] == ["StreamCreated", "SwapOrderPlaced"]
    cancelled = driver.act(ALICE, "cancel_swap", at=driver.now + 30, swap_id=1)
    types = [e["type"] for e in notice_events(cancelled)]
    assert types[-2:] == ["StreamCancelled", "SwapOrderCancelled"]
    assert notice_events(cancelled)[-1]["sold"] == "3000"


WITHDRAWALS = [
    ("v2", TOKEN_A, Voucher(TOKEN_A, 0, TRANSFER_SELECTOR + bytes(12) + ALICE + (9).to_bytes(32))),
    ("v2", ZERO_ADDRESS, Voucher(ALICE, 9, b"")),
    (
        "v1",
        TOKEN_A,
        Voucher(TOKEN_A, None, TRANSFER_SELECTOR + bytes(12) + ALICE + (9).to_bytes(32)),
    ),
    (
        "v1",
        ZERO_ADDRESS,
        Voucher(APP_CONTRACT, None, WITHDRAW_ETHER_SELECTOR + bytes(12) + ALICE + (9).to_bytes(32)),
    ),
]


@pytest.mark.parametrize(("dialect", "token", "voucher"), WITHDRAWALS)
def test_a_withdrawal_burns_and_emits_the_voucher_of_its_dialect(
    app: Application, dialect: str, token: bytes, voucher: Voucher
) -> None:
    driver = Driver(app, dialect=dialect)
    portals = CONFIG.v1 if dialect == "v1" else CONFIG.v2
    if token == ZERO_ADDRESS:
        assert driver.send(portals.ether, ALICE + (10).to_bytes(32, "big")).accepted
    else:
        assert driver.deposit(token, ALICE, 10).accepted
    if dialect == "v1":
        assert driver.send(CONFIG.v1_dapp_address_relay, APP_CONTRACT).kind == "dapp_address"
    outcome = driver.act(ALICE, "withdraw", token=token, amount=9)
    assert outcome.vouchers == (voucher,)
    assert notice_events(outcome)[0]["type"] == "Withdrawal"
    assert app.ledger.supply(token) == 1


def test_a_v1_ether_withdrawal_needs_the_relayed_address(app: Application) -> None:
    driver = Driver(app, dialect="v1")
    assert driver.send(CONFIG.v1.ether, ALICE + (10).to_bytes(32, "big")).accepted
    refused = report(driver.act(ALICE, "withdraw", token=ZERO_ADDRESS, amount=9))
    assert refused["error"] == "UNSUPPORTED" and "DAppAddressRelay" in refused["message"]
    assert report(driver.send(CONFIG.v1_dapp_address_relay, APP_CONTRACT[:19]))["error"] == (
        "BAD_PAYLOAD"
    )


REJECTIONS: list[tuple[str, dict[str, Any], str]] = [
    ("transfer", {"token": TOKEN_A, "to": BOB, "amount": 10**30}, "INSUFFICIENT_BALANCE"),
    ("transfer", {"token": TOKEN_A, "to": ALICE, "amount": 1}, "INVALID_RECIPIENT"),
    ("transfer", {"token": TOKEN_A, "to": ZERO_ADDRESS, "amount": 1}, "INVALID_RECIPIENT"),
    ("transfer", {"token": TOKEN_A, "to": BOB, "amount": 0}, "INVALID_AMOUNT"),
    (
        "stream",
        {"token": TOKEN_A, "receiver": BOB, "amount": 1, "duration": 5, "start": START - 1},
        "INVALID_TIME",
    ),
    ("cancel_stream", {"stream_id": 99}, "STREAM_NOT_FOUND"),
    ("withdraw", {"token": TOKEN_A, "amount": MILLION + 1}, "INSUFFICIENT_BALANCE"),
    (
        "swap",
        {"amount_in": 10**18, "amount_out_min": 10**30, "path": [TOKEN_A, TOKEN_B]},
        "INSUFFICIENT_OUTPUT_AMOUNT",
    ),
    (
        "swap",
        {"amount_in": 1, "amount_out_min": 0, "path": [TOKEN_A, TOKEN_B], "deadline": START - 1},
        "EXPIRED",
    ),
    (
        "swap",
        {"amount_in": 10, "amount_out_min": 0, "path": [TOKEN_A, TOKEN_A]},
        "IDENTICAL_ADDRESSES",
    ),
    (
        "swap",
        {"amount_in": 10, "amount_out_min": 0, "path": [TOKEN_A, TOKEN_B, TOKEN_A]},
        "INVALID_PATH",
    ),
    (
        "swap",
        {"amount_in": 10, "amount_out_min": 0, "path": [TOKEN_A, TOKEN_C]},
        "PAIR_NOT_FOUND",
    ),
    (
        "swap_exact_out",
        {"amount_out": 10**18, "amount_in_max": 1, "path": [TOKEN_A, TOKEN_B]},
        "EXCESSIVE_INPUT_AMOUNT",
    ),
    (
        "remove_liquidity",
        {
            "token_a": TOKEN_A,
            "token_b": TOKEN_B,
            "liquidity": 10**30,
            "amount_a_min": 0,
            "amount_b_min": 0,
        },
        "INSUFFICIENT_BALANCE",
    ),
    (
        "swap",
        {"amount_in": 10**18, "amount_out_min": 1, "path": [TOKEN_A, TOKEN_B], "duration": 60},
        "INVALID_AMOUNT",
    ),
    (
        "swap",
        {"amount_in": 59, "amount_out_min": 0, "path": [TOKEN_A, TOKEN_B], "duration": 60},
        "INVALID_AMOUNT",
    ),
    (
        "swap",
        {
            "amount_in": 10**18,
            "amount_out_min": 0,
            "path": [TOKEN_A, TOKEN_B, TOKEN_C],
            "duration": 6,
        },
        "INVALID_PATH",
    ),
    (
        "swap",
        {"amount_in": 10**18, "amount_out_min": 0, "path": [TOKEN_A, TOKEN_C], "duration": 6},
        "PAIR_NOT_FOUND",
    ),
    (
        "swap",
        {"amount_in": 10**30, "amount_out_min": 0, "path": [TOKEN_A, TOKEN_B], "duration": 6},
        "INSUFFICIENT_BALANCE",
    ),
    (
        "swap",
        {
            "amount_in": 60,
            "amount_out_min": 0,
            "path": [TOKEN_A, TOKEN_B],
            "duration": 6,
            "to": ZERO_ADDRESS,
        },
        "INVALID_RECIPIENT",
    ),
    ("cancel_swap", {"swap_id": 9}, "SWAP_NOT_FOUND"),
]


@pytest.mark.parametrize(("method", "args", "code"), REJECTIONS, ids=[r[2] for r in REJECTIONS])
def test_a_rejected_action_changes_nothing_and_reports_why(
    driver: Driver, method: str, args: dict[str, Any], code: str
) -> None:
    with_pair(driver)
    before = driver.app.store.dump()
    answer = report(driver.act(ALICE, method, **args))
    assert answer["error"] == code
    assert len(answer["message"]) > 10
    assert driver.app.store.dump() == before


def test_an_input_is_never_applied_twice(driver: Driver) -> None:
    assert driver.deposit(TOKEN_A, ALICE, 5).accepted
    driver.next_index -= 1  # a node that restarted and sends input 0 again
    before = driver.app.store.dump()
    assert report(driver.deposit(TOKEN_A, ALICE, 5))["error"] == "ALREADY_PROCESSED"
    assert driver.app.store.dump() == before
    assert driver.deposit(TOKEN_A, ALICE, 5).accepted  # input 1 goes through


def test_time_never_goes_back(driver: Driver) -> None:
    funded(driver)
    outcome = driver.act(ALICE, "transfer", at=START - 1, token=TOKEN_A, to=BOB, amount=1)
    assert report(outcome)["error"] == "INVALID_TIME"


def test_a_bug_is_rolled_back_reported_and_the_loop_goes_on(
    driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    funded(driver)

    def transfer_then_crash(context: actions.Context, args: dict[str, Any]) -> None:
        actions.transfer(context, args)
        raise ZeroDivisionError

    monkeypatch.setitem(ACTIONS, "transfer", transfer_then_crash)
    before = driver.app.store.dump()
    crashed = report(driver.act(ALICE, "transfer", token=TOKEN_A, to=BOB, amount=1))
    assert crashed["error"] == "INTERNAL_ERROR" and "ZeroDivisionError" in crashed["message"]
    assert driver.app.store.dump() == before
    monkeypatch.setitem(ACTIONS, "transfer", actions.transfer)
    assert driver.act(ALICE, "transfer", token=TOKEN_A, to=BOB, amount=1).accepted


@pytest.mark.parametrize("data", [None, {}, {"metadata": {}}, {"metadata": 5, "payload": "0x"}])
def test_a_request_without_usable_metadata_is_reported(app: Application, data: Any) -> None:
    outcome = app.advance(data)
    assert report(outcome)["error"] == "BAD_PAYLOAD"


def test_one_structured_log_line_per_input(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="streamdex.input"):
        driver.deposit(TOKEN_A, ALICE, 5)
        driver.act(ALICE, "transfer", token=TOKEN_A, to=BOB, amount=6)
    lines = [json.loads(record.getMessage()) for record in caplog.records]
    assert [(line["input_index"], line["method"], line["status"]) for line in lines] == [
        (0, "deposit", "accept"),
        (1, "transfer", "reject"),
    ]
    assert lines[1]["error"] == "INSUFFICIENT_BALANCE"
    assert all(isinstance(line["us"], int) and line["us"] >= 0 for line in lines)


def test_the_application_needs_a_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="file"):
        Application(":memory:", Config())
    Application(tmp_path / "x.sqlite", Config()).close()


def test_portals_come_from_the_environment() -> None:
    config = Config.from_environment(
        {"STREAMDEX_ERC20_PORTAL": "0x" + "12" * 20, "STREAMDEX_ETHER_PORTAL": ""}
    )
    assert config.v2.erc20 == bytes.fromhex("12" * 20)
    assert config.v2.ether == Config().v2.ether
