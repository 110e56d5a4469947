"""Fuzzing the input path: random bytes, random JSON and near-valid actions, from any sender.

Whatever arrives, the application answers it: accepted with exactly one notice, or rejected with
exactly one report whose code is a user's mistake (never INTERNAL_ERROR) and with the database
byte-for-byte as before.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from dapp.addresses import to_checksum_address
from dapp.app import Application, Config
from dapp.codec import METHODS
from tests.inputs import CONFIG, Driver
from tests.test_app import ALICE, BOB, TOKEN_A, TOKEN_B, with_pair

SENDERS = [ALICE, BOB, CONFIG.v2.erc20, CONFIG.v2.ether, CONFIG.v1.erc20, bytes(20)]
ADDRESSES = [ALICE, BOB, TOKEN_A, TOKEN_B, bytes(20)]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**260), max_value=2**260)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from([to_checksum_address(a) for a in ADDRESSES] + ["0x" + "ab" * 20, "0xAB"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@contextmanager
def funded_application() -> Iterator[Driver]:
    with tempfile.TemporaryDirectory() as directory:
        app = Application(Path(directory) / "state.sqlite", Config())
        try:
            yield with_pair(Driver(app))
        finally:
            app.close()


def answered_atomically(driver: Driver, sender: bytes, payload: bytes) -> None:
    before = driver.app.store.dump()
    outcome = driver.send(sender, payload)
    if outcome.accepted:
        event("accepted")
        assert len(outcome.notices) == 1 and not outcome.reports
        return
    assert not outcome.notices and not outcome.vouchers and len(outcome.reports) == 1
    answer = json.loads(outcome.reports[0])
    event(answer["error"])
    assert answer["error"] != "INTERNAL_ERROR", answer
    assert driver.app.store.dump() == before


@settings(max_examples=150)
@given(st.lists(st.tuples(st.sampled_from(SENDERS), st.binary(max_size=120)), max_size=5))
def test_random_bytes_from_any_sender(inputs: list[tuple[bytes, bytes]]) -> None:
    with funded_application() as driver:
        for sender, payload in inputs:
            answered_atomically(driver, sender, payload)


@settings(max_examples=150)
@given(st.sampled_from(sorted(METHODS)), json_values)
def test_random_json_arguments(method: str, args: Any) -> None:
    with funded_application() as driver:
        for document in ({"method": method, "args": args}, args):
            answered_atomically(driver, ALICE, json.dumps(document).encode())


VALID: dict[str, dict[str, Any]] = {
    "transfer": {"token": TOKEN_A, "to": BOB, "amount": 5},
    "stream": {"token": TOKEN_A, "receiver": BOB, "amount": 1000, "duration": 100, "start": 0},
    "cancel_stream": {"stream_id": 1, "token": TOKEN_A},
    "withdraw": {"token": TOKEN_B, "amount": 7},
    "add_liquidity": {
        "token_a": TOKEN_B,
        "token_b": TOKEN_A,
        "token_a_desired": 10**18,
        "token_b_desired": 10**18,
        "token_a_min": 0,
        "token_b_min": 0,
        "deadline": 2**40,
    },
    "remove_liquidity": {
        "token_a": TOKEN_A,
        "token_b": TOKEN_B,
        "liquidity": 10**18,
        "amount_a_min": 0,
        "amount_b_min": 0,
        "to": BOB,
    },
    "swap": {"amount_in": 10**18, "amount_out_min": 0, "path": [TOKEN_A, TOKEN_B], "duration": 0},
    "swap_exact_out": {"amount_out": 10**15, "amount_in_max": 10**30, "path": [TOKEN_B, TOKEN_A]},
    "cancel_swap": {"swap_id": 1},
}
mutations = (
    json_scalars
    | st.integers(min_value=0, max_value=2**256 + 5)
    | st.integers(min_value=0, max_value=2**64).map(str)
    | st.lists(st.sampled_from(ADDRESSES).map(to_checksum_address), max_size=4)
)


@settings(max_examples=300)
@given(
    st.sampled_from(sorted(VALID)),
    st.lists(st.tuples(st.sampled_from(["", "", "", "x", "_extra"]), mutations), max_size=3),
    st.data(),
)
def test_near_valid_actions(
    method: str, changes: list[tuple[str, Any]], data: st.DataObject
) -> None:
    args = {
        name: to_checksum_address(value) if isinstance(value, bytes) else value
        for name, value in VALID[method].items()
    }
    args = {
        name: [to_checksum_address(t) for t in value] if isinstance(value, list) else value
        for name, value in args.items()
    }
    for suffix, value in changes:
        if not args:
            break
        name = data.draw(st.sampled_from(sorted(args)))
        if suffix == "":
            args[name] = value  # a wrong value for a right name
        elif suffix == "x":
            del args[name]  # a missing argument
        else:
            args[name + suffix] = value  # an unknown name
    with funded_application() as driver:
        driver.act(ALICE, "stream", token=TOKEN_A, receiver=BOB, amount=10, duration=10)
        answered_atomically(driver, ALICE, json.dumps({"method": method, "args": args}).encode())
