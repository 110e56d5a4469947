"""Bulk seeding: N open streams written straight into a store, exactly as the ledger would.

Creating ten million streams one input at a time would take hours; this writes the same rows the
ledger writes (tests/test_benchmark.py checks the two give byte-identical databases) with
`executemany`, streaming rows so memory stays flat.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from dapp.store import Store, encode_amount

TOKEN = (0xB0).to_bytes(20, "big")
SEED_TIME = 1_700_000_000
STREAMS_PER_SENDER = 1000
STREAMS_PER_RECEIVER = 10
SENDER_DEPOSIT = 10**30


def sender(n: int) -> bytes:
    return (0x10 << 152 | n).to_bytes(20, "big")


def receiver(n: int) -> bytes:
    return (0x20 << 152 | n).to_bytes(20, "big")


def stream_plan(count: int) -> Iterator[tuple[int, int, int, int]]:
    """(sender index, receiver index, amount, duration) of each seeded stream, in id order."""
    for i in range(count):
        yield i // STREAMS_PER_SENDER, i // STREAMS_PER_RECEIVER, 10**18 + i, 10**6 + i


def seed_streams(store: Store, count: int) -> None:
    """`count` streams of TOKEN started at SEED_TIME, each sender funded with SENDER_DEPOSIT."""
    senders = -(-count // STREAMS_PER_SENDER)
    receivers = -(-count // STREAMS_PER_RECEIVER)
    sql = store.connection
    with store.transaction():
        # ids in the order the ledger interns them: token and senders at deposit, then receivers
        sql.executemany(
            "INSERT INTO addresses (id, address) VALUES (?, ?)",
            [(1, TOKEN)]
            + [(2 + n, sender(n)) for n in range(senders)]
            + [(2 + senders + n, receiver(n)) for n in range(receivers)],
        )
        sql.execute(
            "INSERT INTO tokens (token_id, supply) VALUES (1, ?)",
            (encode_amount(senders * SENDER_DEPOSIT),),
        )
        sql.executemany(
            "INSERT INTO streams (id, token_id, sender_id, receiver_id, amount, start, duration)"
            " VALUES (?, 1, ?, ?, ?, ?, ?)",
            (
                (i + 1, 2 + s, 2 + senders + r, encode_amount(amount), SEED_TIME, duration)
                for i, (s, r, amount, duration) in enumerate(stream_plan(count))
            ),
        )
        out_amount: dict[int, int] = defaultdict(int)
        out_rate: dict[int, int] = defaultdict(int)
        in_rate: dict[int, int] = defaultdict(int)
        for s, r, amount, duration in stream_plan(count):
            out_amount[s] += amount
            out_rate[s] += amount // duration
            in_rate[r] += amount // duration
        sql.executemany(
            "INSERT INTO balances VALUES (?, 1, ?, ?, 0, ?, ?)",
            (
                (
                    2 + s,
                    encode_amount(SENDER_DEPOSIT - out_amount[s]),
                    encode_amount(out_amount[s]),
                    encode_amount(out_rate[s]),
                    SEED_TIME,
                )
                for s in range(senders)
            ),
        )
        sql.executemany(
            "INSERT INTO balances VALUES (?, 1, 0, 0, ?, 0, ?)",
            ((2 + senders + r, encode_amount(in_rate[r]), SEED_TIME) for r in range(receivers)),
        )
        # every stream ends at its own second, so no two rows of an account need summing
        sql.executemany(
            "INSERT INTO rate_changes VALUES (?, 1, ?, ?, ?, ?, ?)",
            (
                row
                for s, r, amount, duration in stream_plan(count)
                for row in (
                    (
                        2 + s,
                        SEED_TIME + duration,
                        0,
                        encode_amount(-(amount // duration)),
                        0,
                        encode_amount(amount % duration),
                    ),
                    (
                        2 + senders + r,
                        SEED_TIME + duration,
                        encode_amount(-(amount // duration)),
                        0,
                        encode_amount(amount % duration),
                        0,
                    ),
                )
            ),
        )
