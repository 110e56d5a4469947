"""Events serialise as PROTOCOL §3 says: EIP-55 addresses, amounts as decimal strings."""

from __future__ import annotations

import json

from dapp.events import StreamCreated, Swap, Sync

A = bytes.fromhex("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
B = bytes.fromhex("fb6916095ca1df60bb79ce92ce3ea74c37c5d359")


def test_amounts_are_decimal_strings_and_ids_and_times_numbers() -> None:
    event = StreamCreated(7, A, A, B, 1_700_000_000, 3, 2**256 - 1, (2**256 - 1) // 3)
    assert event.to_json() == {
        "type": "StreamCreated",
        "stream_id": 7,
        "token": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "sender": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "receiver": "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "start": 1_700_000_000,
        "duration": 3,
        "amount": str(2**256 - 1),
        "rate": str((2**256 - 1) // 3),
    }


def test_every_amount_survives_a_json_round_trip_exactly() -> None:
    event = Swap(A, B, B, 2**200 + 1, 0, 0, 10**30 + 7)
    decoded = json.loads(json.dumps(event.to_json()))
    assert [
        int(decoded[k]) for k in ("amount0_in", "amount1_in", "amount0_out", "amount1_out")
    ] == [
        2**200 + 1,
        0,
        0,
        10**30 + 7,
    ]
    assert Sync(A, 1, 2).to_json()["type"] == "Sync"
