"""The wire formats of PROTOCOL §1–§3: rollup metadata, portal deposits, JSON actions, outputs.

Decoding is strict: every field is checked for type and range here, so the actions receive
addresses as 20 bytes and amounts and times as ints, and anything else is rejected with a report
naming the field. JSON is parsed without floats, NaN, duplicate keys or unknown names, because a
value that a frontend meant differently must never move funds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dapp.addresses import parse_address
from dapp.errors import (
    BadPayload,
    InvalidAmount,
    InvalidPath,
    InvalidTime,
    UnknownMethod,
)
from dapp.events import Event
from dapp.ledger import MAX_TIMESTAMP, UINT256_MAX

ADDRESS_BYTES = 20
UINT256_BYTES = 32
MAX_PATH_TOKENS = 16  # bounds the work of one swap; real routes use two to four
MAX_ID = 2**63 - 1
MAX_JSON_NESTING = 32

_DECIMAL = re.compile(r"[0-9]{1,78}")  # 2**256 has 78 digits
_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})*")


# --- rollup metadata ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Metadata:
    """An advance's metadata in either dialect (PROTOCOL §1); `timestamp` is the input's time."""

    dialect: str  # "v2" (Cartesi Rollups 2.x) or "v1" (released Cartesi CLI 1.x)
    msg_sender: bytes
    input_index: int
    block_number: int
    timestamp: int
    app_contract: bytes | None  # v2 only: v1 learns it from the DAppAddressRelay


V2_FIELDS = frozenset(
    {
        "chain_id",
        "app_contract",
        "msg_sender",
        "input_index",
        "block_number",
        "block_timestamp",
        "prev_randao",
    }
)
V1_FIELDS = frozenset({"msg_sender", "epoch_index", "input_index", "block_number", "timestamp"})


def decode_metadata(raw: object) -> Metadata:
    """Recognise the dialect by its fields: v2 has `block_timestamp`, v1 has `timestamp`."""
    if not isinstance(raw, dict):
        raise BadPayload("the advance request has no metadata object")
    if "block_timestamp" in raw:
        dialect, time_field, expected = "v2", "block_timestamp", V2_FIELDS
    elif "timestamp" in raw:
        dialect, time_field, expected = "v1", "timestamp", V1_FIELDS
    else:
        raise BadPayload("the advance metadata has neither block_timestamp (v2) nor timestamp (v1)")
    missing = expected - raw.keys()
    if missing:
        raise BadPayload(f"the {dialect} advance metadata lacks {', '.join(sorted(missing))}")
    timestamp = _metadata_int(raw, time_field, MAX_TIMESTAMP)
    return Metadata(
        dialect=dialect,
        msg_sender=_metadata_address(raw, "msg_sender"),
        input_index=_metadata_int(raw, "input_index", MAX_ID),
        block_number=_metadata_int(raw, "block_number", MAX_ID),
        timestamp=timestamp,
        app_contract=_metadata_address(raw, "app_contract") if dialect == "v2" else None,
    )


def _metadata_int(raw: dict[str, Any], name: str, maximum: int) -> int:
    value = raw[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise BadPayload(f"metadata {name} must be an integer from 0 to {maximum}, got {value!r}")
    return value


def _metadata_address(raw: dict[str, Any], name: str) -> bytes:
    value = raw[name]
    if not isinstance(value, str):
        raise BadPayload(f"metadata {name} must be an address string, got {value!r}")
    return parse_address(value)


def decode_hex(text: object, what: str = "payload") -> bytes:
    """`0x` + an even number of hex digits, as the rollup HTTP API writes byte strings."""
    if not isinstance(text, str) or _HEX.fullmatch(text) is None:
        raise BadPayload(f"the {what} must be 0x followed by hex digits in pairs")
    return bytes.fromhex(text[2:])


# --- portal deposits ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Deposit:
    token: bytes
    sender: bytes
    amount: int


def decode_erc20_deposit(payload: bytes, *, v1: bool) -> Deposit:
    """ERC20Portal: [v1: success (1 B)] | token (20 B) | sender (20 B) | value (32 B) | data."""
    if v1:
        if len(payload) < 1 or payload[0] not in (0, 1):
            raise BadPayload("a v1 ERC-20 deposit starts with the transfer's success flag")
        if payload[0] == 0:
            raise BadPayload("the v1 portal reports that the ERC-20 transfer failed; no deposit")
        payload = payload[1:]
    if len(payload) < 2 * ADDRESS_BYTES + UINT256_BYTES:
        raise BadPayload(
            f"an ERC-20 deposit needs at least 72 bytes (token, sender, value), got {len(payload)}"
        )
    return Deposit(
        token=payload[:20],
        sender=payload[20:40],
        amount=int.from_bytes(payload[40:72], "big"),
    )


def decode_ether_deposit(payload: bytes) -> Deposit:
    """EtherPortal: sender (20 B) | value (32 B) | data; Ether is the zero-address token."""
    if len(payload) < ADDRESS_BYTES + UINT256_BYTES:
        raise BadPayload(
            f"an Ether deposit needs at least 52 bytes (sender, value), got {len(payload)}"
        )
    return Deposit(
        token=bytes(ADDRESS_BYTES),
        sender=payload[:20],
        amount=int.from_bytes(payload[20:52], "big"),
    )


def decode_relayed_address(payload: bytes) -> bytes:
    """The v1 DAppAddressRelay's input: the application contract's address (20 bytes)."""
    if len(payload) != ADDRESS_BYTES:
        raise BadPayload(f"the address relay's input must be 20 bytes, got {len(payload)}")
    return payload


# --- JSON actions ------------------------------------------------------------------------------
def amount(value: object, name: str) -> int:
    """A uint256: a JSON integer or a decimal string (uint256 does not fit a JS number)."""
    number = _integer(value, name, UINT256_MAX)
    if number is None:
        raise InvalidAmount(
            f"{name} must be an integer from 0 to 2**256 - 1 (a JSON number or a decimal "
            f"string), got {_shown(value)}"
        )
    return number


def seconds(value: object, name: str) -> int:
    """A time or a duration in seconds, 0 to 2**63 - 1."""
    number = _integer(value, name, MAX_TIMESTAMP)
    if number is None:
        raise InvalidTime(f"{name} must be a whole number of seconds, got {_shown(value)}")
    return number


def identifier(value: object, name: str) -> int:
    number = _integer(value, name, MAX_ID)
    if number is None:
        raise BadPayload(f"{name} must be a stream or swap id (an integer), got {_shown(value)}")
    return number


def address(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise BadPayload(f"{name} must be an address string 0x…, got {_shown(value)}")
    return parse_address(value)


def path(value: object, name: str) -> tuple[bytes, ...]:
    if not isinstance(value, list) or not 2 <= len(value) <= MAX_PATH_TOKENS:
        raise InvalidPath(
            f"{name} must be a list of 2 to {MAX_PATH_TOKENS} token addresses, got {_shown(value)}"
        )
    return tuple(address(token, f"{name}[{i}]") for i, token in enumerate(value))


def _integer(value: object, name: str, maximum: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DECIMAL.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 0 <= number <= maximum else None


def _shown(value: object) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, Decimal) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


Parser = Callable[[object, str], Any]


@dataclass(frozen=True)
class Argument:
    parse: Parser
    required: bool = True


_REQUIRED_AMOUNT = Argument(amount)
_OPTIONAL_TIME = Argument(seconds, required=False)
_OPTIONAL_ADDRESS = Argument(address, required=False)

# PROTOCOL §2.2, method by method: argument name → how it is parsed, and whether it must be given
METHODS: dict[str, dict[str, Argument]] = {
    "transfer": {"token": Argument(address), "to": Argument(address), "amount": _REQUIRED_AMOUNT},
    "stream": {
        "token": Argument(address),
        "receiver": Argument(address),
        "amount": _REQUIRED_AMOUNT,
        "duration": Argument(seconds),
        "start": _OPTIONAL_TIME,
    },
    "cancel_stream": {"stream_id": Argument(identifier), "token": _OPTIONAL_ADDRESS},
    "withdraw": {"token": Argument(address), "amount": _REQUIRED_AMOUNT},
    "add_liquidity": {
        "token_a": Argument(address),
        "token_b": Argument(address),
        "token_a_desired": _REQUIRED_AMOUNT,
        "token_b_desired": _REQUIRED_AMOUNT,
        "token_a_min": _REQUIRED_AMOUNT,
        "token_b_min": _REQUIRED_AMOUNT,
        "to": _OPTIONAL_ADDRESS,
        "deadline": _OPTIONAL_TIME,
    },
    "remove_liquidity": {
        "token_a": Argument(address),
        "token_b": Argument(address),
        "liquidity": _REQUIRED_AMOUNT,
        "amount_a_min": _REQUIRED_AMOUNT,
        "amount_b_min": _REQUIRED_AMOUNT,
        "to": _OPTIONAL_ADDRESS,
        "deadline": _OPTIONAL_TIME,
    },
    "swap": {
        "amount_in": _REQUIRED_AMOUNT,
        "amount_out_min": _REQUIRED_AMOUNT,
        "path": Argument(path),
        "start": _OPTIONAL_TIME,
        "duration": _OPTIONAL_TIME,
        "to": _OPTIONAL_ADDRESS,
        "deadline": _OPTIONAL_TIME,
    },
    "swap_exact_out": {
        "amount_out": _REQUIRED_AMOUNT,
        "amount_in_max": _REQUIRED_AMOUNT,
        "path": Argument(path),
        "to": _OPTIONAL_ADDRESS,
        "deadline": _OPTIONAL_TIME,
    },
    "cancel_swap": {"swap_id": Argument(identifier)},
}


@dataclass(frozen=True)
class Action:
    """A decoded action: its method and its arguments, parsed; an absent optional one is None."""

    method: str
    args: dict[str, Any]


def decode_action(payload: bytes) -> Action:
    document = _parse_json(payload)
    if not isinstance(document, dict):
        raise BadPayload('an action is a JSON object {"method": …, "args": {…}}')
    unknown = document.keys() - {"method", "args"}
    if unknown:
        raise BadPayload(f"an action has only method and args, not {', '.join(sorted(unknown))}")
    method = document.get("method")
    if not isinstance(method, str):
        raise BadPayload('an action needs a "method" string')
    spec = METHODS.get(method)
    if spec is None:
        raise UnknownMethod(
            f"{_shown(method)} is not a method; the methods are {', '.join(sorted(METHODS))}"
        )
    raw_args = document.get("args", {})
    if not isinstance(raw_args, dict):
        raise BadPayload(f'the "args" of {method} must be a JSON object')
    unknown = raw_args.keys() - spec.keys()
    if unknown:
        raise BadPayload(
            f"{method} takes no argument {', '.join(sorted(unknown))}; "
            f"its arguments are {', '.join(spec)}"
        )
    args: dict[str, Any] = {}
    for name, argument in spec.items():
        if name in raw_args:
            args[name] = argument.parse(raw_args[name], name)
        elif argument.required:
            raise BadPayload(f"{method} needs the argument {name}")
        else:
            args[name] = None
    return Action(method, args)


def _parse_json(payload: bytes) -> Any:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadPayload(
            "the input is neither a portal deposit nor UTF-8 JSON (an action); "
            f"invalid UTF-8 at byte {err.start}"
        ) from None
    _check_nesting(text)
    try:
        return json.loads(
            text,
            parse_float=Decimal,  # kept exact so the refusal can show it; never a float
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except BadPayload:
        raise
    except (ValueError, RecursionError) as err:
        raise BadPayload(f"the input is not valid JSON: {err}") from None


def _check_nesting(text: str) -> None:
    """Refuse JSON nested deeper than any action is (3 levels) by a wide margin, before the
    parser sees it: a deep enough nesting overflows the C parser's stack when the recursion
    limit is raised, a crash no input may cause."""
    if text.count("[") + text.count("{") <= MAX_JSON_NESTING:
        return  # cannot be nested deeper than that: the common case costs two counts
    depth = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            if depth > MAX_JSON_NESTING:
                raise BadPayload(f"the JSON is nested more than {MAX_JSON_NESTING} levels deep")
        elif character in "]}":
            depth -= 1


def _refuse_constant(name: str) -> Any:
    raise BadPayload(f"{name} is not a JSON value")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        names = [name for name, _ in pairs]
        twice = sorted({name for name in names if names.count(name) > 1})
        raise BadPayload(f"the JSON names {', '.join(twice)} more than once")
    return document


# --- outputs -----------------------------------------------------------------------------------
def encode_json(document: object) -> bytes:
    """Compact, ASCII, in insertion order: the same document always gives the same bytes."""
    return json.dumps(document, separators=(",", ":")).encode()


def notice_payload(input_index: int, events: list[Event]) -> bytes:
    return encode_json({"input_index": input_index, "events": [e.to_json() for e in events]})


def error_payload(code: str, message: str) -> bytes:
    return encode_json({"error": code, "message": message})


# keccak256("transfer(address,uint256)")[:4] and keccak256("withdrawEther(address,uint256)")[:4]
TRANSFER_SELECTOR = bytes.fromhex("a9059cbb")
WITHDRAW_ETHER_SELECTOR = bytes.fromhex("522f6815")


def call_data(selector: bytes, account: bytes, value: int) -> bytes:
    """ABI encoding of a call `f(address, uint256)`."""
    return selector + account.rjust(32, b"\0") + value.to_bytes(32, "big")


@dataclass(frozen=True)
class Voucher:
    """A call the application asks the chain to execute (PROTOCOL §3)."""

    destination: bytes
    value: int | None  # wei sent with the call; None in the v1 shape, which has no value
    payload: bytes
