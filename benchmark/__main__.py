"""`python -m benchmark streams --streams N [--repeat R] [--json]`.

Seeds N open streams into a fresh on-disk database (benchmark/seed.py), then times, R times each,
in process: a new stream (one committed transaction, as one input) and a balance read. Prints the
medians, the database size per stream and the peak memory of this process.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmark.seed import (
    SEED_TIME,
    STREAMS_PER_RECEIVER,
    STREAMS_PER_SENDER,
    TOKEN,
    receiver,
    seed_streams,
    sender,
)
from dapp.events import Event
from dapp.ledger import Ledger
from dapp.store import Store


def measure_streams(count: int, repeat: int) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite"
        store = Store(path)
        started = time.perf_counter()
        seed_streams(store, count)
        seed_seconds = time.perf_counter() - started
        events: list[Event] = []
        ledger = Ledger(store, events)
        now = SEED_TIME + 100
        senders = -(-count // STREAMS_PER_SENDER)
        receivers = -(-count // STREAMS_PER_RECEIVER)
        new_stream: list[float] = []
        balance_read: list[float] = []
        for n in range(repeat):
            events.clear()
            started = time.perf_counter()
            with store.transaction():
                ledger.create_stream(
                    TOKEN, sender(n % senders), receiver(n), 10**18, now, 3600, now
                )
            new_stream.append(time.perf_counter() - started)
            started = time.perf_counter()
            ledger.position(receiver((n * 7919) % receivers), TOKEN, now)
            balance_read.append(time.perf_counter() - started)
        store.close()
        size = path.stat().st_size
    return {
        "streams": count,
        "repeat": repeat,
        "seed_seconds": round(seed_seconds, 2),
        "new_stream_median_us": round(statistics.median(new_stream) * 1e6, 1),
        "balance_read_median_us": round(statistics.median(balance_read) * 1e6, 1),
        "db_bytes_per_stream": round(size / count, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmark")
    sub = parser.add_subparsers(dest="command", required=True)
    streams = sub.add_parser("streams", help="new stream and balance read at N open streams")
    streams.add_argument("--streams", type=int, default=25_000, help="open streams to seed")
    streams.add_argument("--repeat", type=int, default=50, help="repetitions per measure (≥ 50)")
    streams.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.streams < 1:
        parser.error("--repeat and --streams must be positive")
    print(f"seeding {args.streams} open streams…", file=sys.stderr)
    result = measure_streams(args.streams, args.repeat)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>24}  {value}")


if __name__ == "__main__":
    main()
