"""Bulk seeding: N open streams written straight into a store, exactly as the ledger would.

Creating ten million streams one input at a time would take hours; this writes the same rows the
ledger writes (tests/test_benchmark.py checks the two give byte-identical databases) with
`executemany`, a chunk of streams at a time, so memory stays flat and progress can be shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from itertools import chain
from sqlite3 import Connection

from dapp.store import Store, encode_amount

TOKEN = (0xB0).to_bytes(20, "big")
SEED_TIME = 1_700_000_000
STREAMS_PER_SENDER = 1000
STREAMS_PER_RECEIVER = 10
SENDER_DEPOSIT = 10**30
# A multiple of both group sizes: every sender's and receiver's streams fall in one chunk, so the
# chunk can write their balances and forget them.
SEED_CHUNK = 100 * STREAMS_PER_SENDER


def sender(n: int) -> bytes:
    return (0x10 << 152 | n).to_bytes(20, "big")


def receiver(n: int) -> bytes:
    return (0x20 << 152 | n).to_bytes(20, "big")


def stream_plan(count: int, first: int = 0) -> Iterator[tuple[int, int, int, int]]:
    """(sender index, receiver index, amount, duration) of streams first..count-1, in id order."""
    for i in range(first, count):
        yield i // STREAMS_PER_SENDER, i // STREAMS_PER_RECEIVER, 10**18 + i, 10**6 + i


def seed_streams(store: Store, count: int, progress: Callable[[int], None] | None = None) -> None:
    """`count` streams of TOKEN started at SEED_TIME, each sender funded with SENDER_DEPOSIT.

    `progress(done)` is called after each chunk with the number of streams written so far.
    """
    senders = -(-count // STREAMS_PER_SENDER)
    receivers = -(-count // STREAMS_PER_RECEIVER)
    sql = store.connection
    with store.transaction():
        # ids in the order the ledger interns them: token and senders at deposit, then receivers
        sql.executemany(
            "INSERT INTO addresses (id, address) VALUES (?, ?)",
            chain(
                [(1, TOKEN)],
                ((2 + n, sender(n)) for n in range(senders)),
                ((2 + senders + n, receiver(n)) for n in range(receivers)),
            ),
        )
        sql.execute(
            "INSERT INTO tokens (token_id, supply, holders) VALUES (1, ?, ?)",
            (encode_amount(senders * SENDER_DEPOSIT), senders + receivers),
        )
        for first in range(0, count, SEED_CHUNK):
            last = min(first + SEED_CHUNK, count)
            _seed_chunk(sql, first, last, senders)
            if progress is not None:
                progress(last)


def _seed_chunk(sql: Connection, first: int, last: int, senders: int) -> None:
    """Streams first..last-1, their scheduled rate changes, and their accounts' balances."""
    plan = list(stream_plan(last, first))
    sql.executemany(
        "INSERT INTO streams (id, token_id, sender_id, receiver_id, amount, start, duration)"
        " VALUES (?, 1, ?, ?, ?, ?, ?)",
        (
            (first + k + 1, 2 + s, 2 + senders + r, encode_amount(amount), SEED_TIME, duration)
            for k, (s, r, amount, duration) in enumerate(plan)
        ),
    )
    out_amount: dict[int, int] = defaultdict(int)
    out_rate: dict[int, int] = defaultdict(int)
    in_rate: dict[int, int] = defaultdict(int)
    for s, r, amount, duration in plan:
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
            for s in out_amount
        ),
    )
    sql.executemany(
        "INSERT INTO balances VALUES (?, 1, 0, 0, ?, 0, ?)",
        ((2 + senders + r, encode_amount(rate), SEED_TIME) for r, rate in in_rate.items()),
    )
    # every stream ends at its own second, so no two rows of an account need summing
    sql.executemany(
        "INSERT INTO rate_changes VALUES (?, 1, ?, ?, ?, ?, ?)",
        (
            row
            for s, r, amount, duration in plan
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
