"""The benchmark measures the real thing: its bulk seeding writes what the ledger writes."""

from __future__ import annotations

import json

import pytest

import benchmark.seed
from benchmark.__main__ import main
from benchmark.seed import (
    SEED_CHUNK,
    SEED_TIME,
    SENDER_DEPOSIT,
    TOKEN,
    receiver,
    seed_streams,
    sender,
    stream_plan,
)
from dapp.store import Store
from tests.conftest import World


@pytest.mark.parametrize("chunk", [SEED_CHUNK, 1_000], ids=["one chunk", "three chunks"])
def test_bulk_seeding_equals_streams_created_one_by_one(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 2_345  # three senders, 235 receivers, a partial last group of each
    monkeypatch.setattr(benchmark.seed, "SEED_CHUNK", chunk)
    seeded = Store()
    done: list[int] = []
    seed_streams(seeded, count, done.append)
    assert done == sorted(done) and done[-1] == count

    world = World(Store())
    senders = sorted({s for s, _, _, _ in stream_plan(count)})
    for s in senders:
        world.ledger.deposit(TOKEN, sender(s), SENDER_DEPOSIT, SEED_TIME)
    for s, r, amount, duration in stream_plan(count):
        world.ledger.create_stream(
            TOKEN, sender(s), receiver(r), amount, SEED_TIME, duration, SEED_TIME
        )
    assert seeded.dump() == world.store.dump()


def test_streams_benchmark_reports_every_measure(capsys: pytest.CaptureFixture[str]) -> None:
    """End to end on a tiny N, HTTP loop and child process included; speed targets are checked
    by running the benchmark (README "Measured"), never here."""
    main(["streams", "--streams", "200", "--repeat", "50", "--json"])
    (line,) = capsys.readouterr().out.splitlines()
    result = json.loads(line)
    timed = ("new_stream_ms", "balance_ms", "http_new_stream_ms")
    assert set(result) == {"streams", *timed, "rss_mib", "db_bytes_per_stream"}
    assert result["streams"] == 200
    for key in timed:
        assert set(result[key]) == {"median", "p95", "min", "max"}
        assert 0 < result[key]["min"] <= result[key]["median"] <= result[key]["p95"]
        assert result[key]["p95"] <= result[key]["max"]
    assert result["rss_mib"] > 0 and result["db_bytes_per_stream"] > 0


def test_fewer_than_fifty_repetitions_are_refused() -> None:
    with pytest.raises(SystemExit):
        main(["streams", "--streams", "200", "--repeat", "49"])


def test_swaps_benchmark_reports_every_measure(capsys: pytest.CaptureFixture[str]) -> None:
    """`swaps` end to end on a tiny N: real inputs place the orders, every measured input is
    accepted (the benchmark raises otherwise); speed is the README's business, never here."""
    main(["swaps", "--orders", "20", "--repeat", "50", "--json"])
    (line,) = capsys.readouterr().out.splitlines()
    result = json.loads(line)
    timed = (
        "instant_swap_ms",
        "instant_swap_trader_with_orders_ms",
        "new_stream_ms",
        "balance_ms",
        "pair_ms",
    )
    assert set(result) == {"orders", *timed, "db_bytes_per_order", "order_ends_crossed"}
    assert result["orders"] == 20
    for key in timed:
        assert set(result[key]) == {"median", "p95", "min", "max"}
        assert 0 < result[key]["min"] <= result[key]["median"] <= result[key]["p95"]
        assert result[key]["p95"] <= result[key]["max"]
    assert result["db_bytes_per_order"] > 0
    assert result["order_ends_crossed"] == 0  # 30 days between ends at N = 20


def test_swaps_benchmark_refuses_fewer_than_fifty_repetitions() -> None:
    with pytest.raises(SystemExit):
        main(["swaps", "--orders", "20", "--repeat", "49"])
