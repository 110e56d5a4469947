"""The streams benchmark: N seeded open streams, then the real handlers, timed (DESIGN "Targets").

Three measures, each over `repeat` inputs: a new `stream` input through `Application.advance`
(the whole handler: decoding, ledger, notice, one committed transaction), a `/balance` inspect
through `Application.inspect`, and the same new stream through the real loop: `python -m dapp`
as a child process polling a `RollupHttpServer` on loopback, timed from enqueueing the input to
its finish. The application's memory is the child's peak RSS (VmHWM), so the seeding done in
this process does not count. Every measured input must be accepted; anything else raises.

The operating system's page cache decides the result at 10 million streams (a 1.3 GB file), so
it is set on purpose before each phase rather than left to chance: the seeding is synced to disk
(a real application never has a gigabyte of writeback pending), then the file is either read
through ("warm": every page in the OS cache, as on a host with memory to spare) or dropped from
the cache ("cold": every page an input touches first comes from the disk, as in a machine with
less memory than the database). Virtual machines that reclaim idle page cache (DAMON) otherwise
turn the warm case into the cold one within a minute.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from benchmark.seed import (
    SEED_TIME,
    STREAMS_PER_RECEIVER,
    STREAMS_PER_SENDER,
    TOKEN,
    receiver,
    seed_streams,
    sender,
)
from dapp.app import Application, Config
from dapp.store import Store
from devnet.rollup_server import RollupHttpServer, advance_data, v2_metadata

REPOSITORY = Path(__file__).resolve().parent.parent
MIN_REPEAT = 50
STREAM_AMOUNT = 10**18
STREAM_SECONDS = 3600
# Accounts are visited with prime strides so that consecutive inputs land far apart in every
# index, as real traffic would, instead of on pages the previous input left in the cache.
SENDER_STRIDE = 7_919
RECEIVER_STRIDE = 104_729
CHILD_START_SECONDS = 60.0
APP_CONTRACT = bytes.fromhex("ab" * 20)

Summary = dict[str, float]


def summarize(seconds: list[float]) -> Summary:
    """Median, 95th percentile (nearest rank), min and max, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[math.ceil(0.95 * len(ms)) - 1]
    return {
        key: round(value, 4)
        for key, value in (
            ("median", statistics.median(ms)),
            ("p95", p95),
            ("min", ms[0]),
            ("max", ms[-1]),
        )
    }


class Traffic:
    """The measured inputs: new streams from seeded senders to seeded receivers, in time order."""

    def __init__(self, streams: int) -> None:
        self.senders = -(-streams // STREAMS_PER_SENDER)
        self.receivers = -(-streams // STREAMS_PER_RECEIVER)
        self.inputs = 0

    def next_stream(self) -> tuple[bytes, bytes, int]:
        """(msg_sender, payload, block_timestamp) of the next new-stream input."""
        n = self.inputs
        self.inputs += 1
        payload = {
            "method": "stream",
            "args": {
                "token": _hex(TOKEN),
                "receiver": _hex(receiver(n * RECEIVER_STRIDE % self.receivers)),
                "amount": STREAM_AMOUNT,
                "duration": STREAM_SECONDS,
            },
        }
        # the seeded progress row is empty: any time ≥ SEED_TIME, increasing, is valid
        timestamp = SEED_TIME + 100 + n
        return sender(n * SENDER_STRIDE % self.senders), json.dumps(payload).encode(), timestamp

    def balance_path(self, n: int) -> bytes:
        """Alternately a sender (1,000 outgoing streams) and a receiver (10 incoming).

        Half the population away from the accounts of the new streams: the input just before a
        read must not have left the account's EIP-55 form in the checksum cache for it.
        """
        account = (
            sender((n * SENDER_STRIDE + self.senders // 2) % self.senders)
            if n % 2 == 0
            else receiver((n * RECEIVER_STRIDE + self.receivers // 2) % self.receivers)
        )
        return f"/balance/{_hex(account)}?token={_hex(TOKEN)}".encode()


def measure_streams(
    streams: int,
    repeat: int = MIN_REPEAT,
    database: Path | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    cold: bool = False,
) -> dict[str, Any]:
    """Seed `streams` open streams into `database` (a fresh temporary file if None), measure."""
    if streams < 1 or repeat < MIN_REPEAT:
        raise ValueError(f"need at least one stream and {MIN_REPEAT} repetitions")
    if database is not None:
        if database.exists():
            raise FileExistsError(f"{database} exists; the benchmark seeds a fresh database")
        return _measure(streams, repeat, database, progress, cold)
    with tempfile.TemporaryDirectory(prefix="streamdex-bench-") as folder:
        return _measure(streams, repeat, Path(folder) / "bench.sqlite", progress, cold)


def _measure(
    streams: int,
    repeat: int,
    database: Path,
    progress: Callable[[int], None] | None,
    cold: bool,
) -> dict[str, Any]:
    store = Store(database)
    started = time.perf_counter()
    seed_streams(store, streams, progress)
    seed_seconds = time.perf_counter() - started
    store.close()
    size = database.stat().st_size
    traffic = Traffic(streams)
    set_page_cache(database, cold)
    new_stream, balance = _in_process(database, traffic, repeat)
    set_page_cache(database, cold)
    http_new_stream, peak_rss_kib = _through_http(database, traffic, repeat)
    return {
        "streams": streams,
        "new_stream_ms": summarize(new_stream),
        "balance_ms": summarize(balance),
        "http_new_stream_ms": summarize(http_new_stream),
        "rss_mib": round(peak_rss_kib / 1024, 1),
        "db_bytes_per_stream": round(size / streams, 1),
        "seed_seconds": round(seed_seconds, 1),  # shown by the human output, not in --json
    }


def set_page_cache(database: Path, cold: bool) -> None:
    """Sync the file, then load all of it into the OS page cache, or (cold) drop it from there."""
    with database.open("rb") as file:
        os.fsync(file.fileno())
        if cold:
            os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            return
        chunk = bytearray(1 << 20)
        while file.readinto(chunk):
            pass


def _in_process(database: Path, traffic: Traffic, repeat: int) -> tuple[list[float], list[float]]:
    """Advance and inspect interleaved, as the loop serves them: each read follows a commit."""
    app = Application(database, Config())
    new_stream: list[float] = []
    balance: list[float] = []
    try:
        for n in range(repeat):
            msg_sender, payload, timestamp = traffic.next_stream()
            index = traffic.inputs - 1
            metadata = v2_metadata(
                msg_sender=msg_sender,
                input_index=index,
                block_number=1 + index,
                timestamp=timestamp,
                app_contract=APP_CONTRACT,
            )
            data = advance_data(metadata, payload)
            started = time.perf_counter()
            outcome = app.advance(data)
            new_stream.append(time.perf_counter() - started)
            if not outcome.accepted:
                raise RuntimeError(f"a measured input was rejected: {outcome.reports}")
            path = traffic.balance_path(n)
            started = time.perf_counter()
            answer = app.inspect(path)
            balance.append(time.perf_counter() - started)
            if "balance" not in json.loads(answer):
                raise RuntimeError(f"{path.decode()} answered {answer.decode()}")
    finally:
        app.close()  # the child started next must be the only writer
    return new_stream, balance


def _through_http(database: Path, traffic: Traffic, repeat: int) -> tuple[list[float], int]:
    """New streams through `python -m dapp` and a loopback rollup server; its peak RSS in KiB."""
    seconds: list[float] = []
    with (
        # input indexes go on from the in-process inputs: the application refuses a replay
        RollupHttpServer(finish_timeout_seconds=30, first_input_index=traffic.inputs) as server,
        tempfile.TemporaryFile() as log,
    ):
        child = subprocess.Popen(
            [sys.executable, "-m", "dapp"],
            cwd=REPOSITORY,
            env={**os.environ, "STREAMDEX_DB": str(database), "ROLLUP_HTTP_SERVER_URL": server.url},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        try:
            # not timed: waits for the child to start and take its first request
            server.inspect(traffic.balance_path(0), timeout_seconds=CHILD_START_SECONDS)
            for _ in range(repeat):
                msg_sender, payload, timestamp = traffic.next_stream()
                started = time.perf_counter()
                result = server.advance(payload, msg_sender=msg_sender, timestamp=timestamp)
                seconds.append(time.perf_counter() - started)
                if result.status != "accept" or len(result.notices) != 1:
                    raise RuntimeError(f"a measured input was not accepted: {result}")
            peak_rss_kib = _peak_rss_kib(child.pid)
        except Exception as err:
            raise RuntimeError(f"{err}\npython -m dapp said:\n{_tail(log)}") from err
        finally:
            _stop(child)
    return seconds, peak_rss_kib


def _peak_rss_kib(pid: int) -> int:
    """VmHWM, the peak resident set of a live process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def _stop(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _tail(log: IO[bytes], lines: int = 30) -> str:
    log.seek(0)
    return "\n".join(log.read().decode(errors="replace").splitlines()[-lines:])


def _hex(address: bytes) -> str:
    return "0x" + address.hex()
