"""The benchmark measures the real thing: its bulk seeding writes what the ledger writes."""

from __future__ import annotations

import json

import pytest

from benchmark.__main__ import main
from benchmark.seed import (
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


def test_bulk_seeding_equals_streams_created_one_by_one() -> None:
    count = 2_345  # three senders, 235 receivers, a partial last group of each
    seeded = Store()
    seed_streams(seeded, count)

    world = World(Store())
    senders = sorted({s for s, _, _, _ in stream_plan(count)})
    for s in senders:
        world.ledger.deposit(TOKEN, sender(s), SENDER_DEPOSIT, SEED_TIME)
    for s, r, amount, duration in stream_plan(count):
        world.ledger.create_stream(
            TOKEN, sender(s), receiver(r), amount, SEED_TIME, duration, SEED_TIME
        )
    assert seeded.dump() == world.store.dump()


def test_streams_benchmark_reports_its_measures(capsys: pytest.CaptureFixture[str]) -> None:
    main(["streams", "--streams", "1500", "--repeat", "3", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert result["streams"] == 1500 and result["repeat"] == 3
    assert result["new_stream_median_us"] > 0 and result["balance_read_median_us"] > 0
    assert 50 < result["db_bytes_per_stream"] < 1000
