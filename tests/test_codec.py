"""The wire formats: strict decoding of metadata, deposits and actions; exact output encoding."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from dapp.addresses import to_checksum_address
from dapp.codec import (
    METHODS,
    TRANSFER_SELECTOR,
    WITHDRAW_ETHER_SELECTOR,
    call_data,
    decode_action,
    decode_erc20_deposit,
    decode_ether_deposit,
    decode_hex,
    decode_metadata,
    notice_payload,
)
from dapp.errors import (
    BadPayload,
    InvalidAddress,
    InvalidAmount,
    InvalidPath,
    InvalidTime,
    StreamdexError,
    UnknownMethod,
)
from dapp.events import Deposit
from dapp.keccak import keccak256
from dapp.ledger import UINT256_MAX
from tests.conftest import address
from tests.inputs import v1_metadata, v2_metadata

TOKEN = "0x" + "aa" * 20
ALICE = "0x" + "11" * 20


def transfer(**overrides: Any) -> bytes:
    args: dict[str, Any] = {"token": TOKEN, "to": ALICE, "amount": 5}
    args.update(overrides)
    return json.dumps({"method": "transfer", "args": args}).encode()


def test_metadata_dialect_is_recognised_by_its_time_field() -> None:
    v2 = decode_metadata(v2_metadata(address(7), 3, 1234))
    assert (v2.dialect, v2.msg_sender, v2.input_index, v2.timestamp) == ("v2", address(7), 3, 1234)
    assert v2.app_contract == bytes.fromhex("ab" * 20)
    v1 = decode_metadata(v1_metadata(address(7), 3, 1234))
    assert (v1.dialect, v1.timestamp, v1.app_contract) == ("v1", 1234, None)


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        [],
        {"msg_sender": ALICE},
        {**v2_metadata(address(1), 0, 1), "block_timestamp": -1},
        {**v2_metadata(address(1), 0, 1), "block_timestamp": True},
        {**v2_metadata(address(1), 0, 1), "block_timestamp": 1.5},
        {**v2_metadata(address(1), 0, 1), "input_index": "0"},
        {**v2_metadata(address(1), 0, 1), "msg_sender": 12},
        {key: value for key, value in v2_metadata(address(1), 0, 1).items() if key != "chain_id"},
        {
            key: value
            for key, value in v1_metadata(address(1), 0, 1).items()
            if key != "epoch_index"
        },
    ],
)
def test_malformed_metadata_is_a_bad_payload(metadata: Any) -> None:
    with pytest.raises(BadPayload):
        decode_metadata(metadata)


def test_metadata_sender_with_a_wrong_checksum_is_an_invalid_address() -> None:
    metadata = v2_metadata(address(1), 0, 1)
    metadata["msg_sender"] = "0xAAAAAAAAAAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    with pytest.raises(InvalidAddress):
        decode_metadata(metadata)


@pytest.mark.parametrize("text", ["", "0x0", "0xzz", "00", "0X00", None, 5])
def test_hex_needs_0x_and_whole_bytes(text: Any) -> None:
    with pytest.raises(BadPayload):
        decode_hex(text)


def test_hex_decodes_any_case() -> None:
    assert decode_hex("0x") == b""
    assert decode_hex("0xAbcd") == b"\xab\xcd"


def test_erc20_deposit_layouts() -> None:
    token, sender = address(0xAA), address(0x11)
    body = token + sender + (2**256 - 1).to_bytes(32, "big") + b"exec-layer data"
    v2 = decode_erc20_deposit(body, v1=False)
    assert (v2.token, v2.sender, v2.amount) == (token, sender, UINT256_MAX)
    v1 = decode_erc20_deposit(b"\x01" + body, v1=True)
    assert v1 == v2
    with pytest.raises(BadPayload, match="failed"):
        decode_erc20_deposit(b"\x00" + body, v1=True)
    with pytest.raises(BadPayload):
        decode_erc20_deposit(b"\x02" + body, v1=True)
    with pytest.raises(BadPayload, match="72 bytes"):
        decode_erc20_deposit(body[:71], v1=False)


def test_ether_deposit_layout() -> None:
    sender = address(0x11)
    deposit = decode_ether_deposit(sender + (10**18).to_bytes(32, "big"))
    assert (deposit.token, deposit.sender, deposit.amount) == (bytes(20), sender, 10**18)
    with pytest.raises(BadPayload, match="52 bytes"):
        decode_ether_deposit(sender + bytes(31))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        ("5", 5),
        (0, 0),
        ("0", 0),
        (UINT256_MAX, UINT256_MAX),
        (str(UINT256_MAX), UINT256_MAX),
    ],
)
def test_amounts_are_json_integers_or_decimal_strings(value: Any, expected: int) -> None:
    assert decode_action(transfer(amount=value)).args["amount"] == expected


@pytest.mark.parametrize(
    "value",
    [-1, "-1", 2**256, str(2**256), 1.0, 1.5, "1.0", "1e3", "0x10", " 5", "", True, None, [5]],
)
def test_anything_else_is_not_an_amount(value: Any) -> None:
    with pytest.raises(InvalidAmount):
        decode_action(transfer(amount=value))


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xfe",
        b"",
        b"[]",
        b'"transfer"',
        b'{"method": "transfer", "args": {}, "extra": 1}',
        b'{"args": {}}',
        b'{"method": 5}',
        b'{"method": "transfer", "args": []}',
        b'{"method": "transfer", "args": {"token": "%s", "token": "%s"}}'
        % (TOKEN.encode(), TOKEN.encode()),
        b'{"method": "transfer", "args": {"amount": NaN}}',
        b'{"method": "transfer", "args": {"amount": Infinity}}',
        b"[" * 100_000,
        b'{"method": "transfer", "args": {"amount": 1' + b"0" * 5000 + b"}}",
        transfer(colour="blue"),
        json.dumps({"method": "transfer", "args": {"token": TOKEN, "to": ALICE}}).encode(),
    ],
)
def test_malformed_actions_are_bad_payloads(payload: bytes) -> None:
    with pytest.raises(BadPayload):
        decode_action(payload)


def test_unknown_methods_are_named_in_the_refusal() -> None:
    with pytest.raises(UnknownMethod, match="transfer"):
        decode_action(b'{"method": "mint", "args": {}}')


def test_addresses_and_paths_are_checked() -> None:
    with pytest.raises(InvalidAddress):
        decode_action(transfer(to="0x" + "11" * 19))
    with pytest.raises(InvalidAddress):
        decode_action(transfer(to="0xAAAAAAAAAAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
    with pytest.raises(BadPayload):
        decode_action(transfer(to=5))
    swap = {"amount_in": 1, "amount_out_min": 0}
    for path in ([TOKEN], [TOKEN] * 17, TOKEN, None):
        with pytest.raises(InvalidPath):
            decode_action(json.dumps({"method": "swap", "args": {**swap, "path": path}}).encode())
    decoded = decode_action(
        json.dumps({"method": "swap", "args": {**swap, "path": [TOKEN, ALICE]}}).encode()
    )
    assert decoded.args["path"] == (
        address(0xAA) * 0 + bytes.fromhex("aa" * 20),
        bytes.fromhex("11" * 20),
    )


def test_times_are_whole_seconds() -> None:
    base = {"token": TOKEN, "receiver": ALICE, "amount": 1}
    for duration in (-1, 1.5, 2**63, "soon"):
        with pytest.raises(InvalidTime):
            decode_action(
                json.dumps({"method": "stream", "args": {**base, "duration": duration}}).encode()
            )


def test_optional_arguments_default_to_none_and_required_ones_are_required() -> None:
    decoded = decode_action(
        json.dumps(
            {
                "method": "stream",
                "args": {"token": TOKEN, "receiver": ALICE, "amount": 1, "duration": 0},
            }
        ).encode()
    )
    assert decoded.args["start"] is None
    for method, spec in METHODS.items():
        for name, argument in spec.items():
            if argument.required:
                with pytest.raises(StreamdexError, match=name):
                    decode_action(json.dumps({"method": method, "args": {}}).encode())
                break


def test_selectors_are_the_keccak_of_the_signatures() -> None:
    assert keccak256(b"transfer(address,uint256)")[:4] == TRANSFER_SELECTOR
    assert keccak256(b"withdrawEther(address,uint256)")[:4] == WITHDRAW_ETHER_SELECTOR


def test_call_data_is_the_abi_encoding() -> None:
    data = call_data(TRANSFER_SELECTOR, address(0x11), 5)
    assert data.hex() == "a9059cbb" + "00" * 12 + "11".rjust(40, "0") + "05".rjust(64, "0")


def test_notices_are_compact_deterministic_json() -> None:
    payload = notice_payload(7, [Deposit(address(0xAA), address(0x11), 2**255)])
    assert payload == (
        b'{"input_index":7,"events":[{"type":"Deposit","token":"'
        + to_checksum_address(address(0xAA)).encode()
        + b'","account":"0x0000000000000000000000000000000000000011","amount":"'
        + str(2**255).encode()
        + b'"}]}'
    )


def test_deep_nesting_is_refused_before_the_parser_whatever_the_recursion_limit() -> None:
    """Libraries raise the recursion limit; the C JSON parser would then overflow its stack."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000_000)
    try:
        for payload in (b"[" * 200_000, b'{"a":' * 200_000):
            with pytest.raises(BadPayload, match="nested"):
                decode_action(payload)
    finally:
        sys.setrecursionlimit(limit)
    brackets_in_a_string = json.dumps(
        {"method": "transfer", "args": {"token": TOKEN, "to": "[" * 100, "amount": 1}}
    )
    with pytest.raises(InvalidAddress):  # not refused for nesting: the brackets are text
        decode_action(brackets_in_a_string.encode())
