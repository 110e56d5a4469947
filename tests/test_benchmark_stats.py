"""The statistics benchmark measures the real thing: its bulk seeder writes what inputs would."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

import benchmark.stats
from benchmark.__main__ import main
from benchmark.stats import MARKET, ROUTES, Input, request, seed_market
from benchmark.swaps import accepted
from dapp.app import Application, Config
from dapp.store import SCHEMA_PATH, Store

SWAPS = 400  # ten traders; ten liquidity inputs, among them adds and removes by traders


def statistics_tables() -> list[str]:
    """Every table of the schema's market-statistics part, as the schema has it now."""
    part = SCHEMA_PATH.read_text().split("=== Market statistics", 1)[1]
    return re.findall(r"CREATE TABLE (\w+)", part)


def rows(database: Path, table: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(database)
    try:
        columns = len(connection.execute(f"SELECT * FROM {table} LIMIT 0").description)
        order = ", ".join(str(n) for n in range(1, columns + 1))
        return connection.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def seeded_and_sent(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The bulk seeder's database, and one made by sending the same inputs one by one through
    a real application with the same market configuration."""
    folder = tmp_path_factory.mktemp("stats-benchmark")
    bulk, one_by_one = folder / "bulk.sqlite", folder / "inputs.sqlite"
    sent: list[Input] = []
    patch = pytest.MonkeyPatch()
    patch.setattr(benchmark.stats, "CHUNK", 97)  # logs written in several chunks, not one
    try:
        seed_market(bulk, SWAPS, sent=sent)
    finally:
        patch.undo()
    app = Application(one_by_one, Config(market=MARKET.config))
    try:
        for index, sent_input in enumerate(sent):
            accepted(app.advance(request(index, sent_input)))
    finally:
        app.close()
    return bulk, one_by_one


@pytest.mark.parametrize("table", statistics_tables())
def test_bulk_seeding_writes_the_statistics_of_the_inputs(
    seeded_and_sent: tuple[Path, Path], table: str
) -> None:
    bulk, one_by_one = seeded_and_sent
    assert rows(bulk, table) == rows(one_by_one, table)


def test_bulk_seeding_equals_the_inputs_to_the_byte(seeded_and_sent: tuple[Path, Path]) -> None:
    """Domain tables too (balances, reserves, supplies, holders, volumes, progress): the routes
    and the upkeep measure run on a state the application itself could have reached."""
    bulk, one_by_one = seeded_and_sent
    assert Store(bulk).dump() == Store(one_by_one).dump()


def test_the_seeded_market_has_what_the_routes_need(seeded_and_sent: tuple[Path, Path]) -> None:
    bulk, _ = seeded_and_sent
    swaps = rows(bulk, "swap_log")
    assert len(swaps) == SWAPS
    assert [row[0] for row in swaps] == list(range(1, SWAPS + 1))
    times = [row[2] for row in sorted(swaps)]
    assert times == sorted(times) and times[-1] - times[0] > 80 * 86400
    assert len({row[1] for row in swaps}) > 20  # pairs
    assert len({row[6] for row in swaps}) == benchmark.stats.accounts(SWAPS)
    kinds = [(row[5], row[6]) for row in rows(bulk, "liquidity_log")]
    provider_id = kinds[0][1]
    assert {burn for burn, account in kinds if account != provider_id} == {0, 1}


def test_stats_benchmark_prints_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    """End to end on a small N; speed targets are the README's business, never checked here."""
    main(["stats", "--swaps", "2000", "--json"])
    captured = capsys.readouterr()
    (line,) = captured.out.splitlines()
    result = json.loads(line)
    assert set(result) == {
        "swaps",
        "routes",
        "upkeep_ms_per_swap",
        "recorder_ms_per_swap",
        "db_bytes_per_swap",
    }
    assert result["swaps"] == 2000
    required = {label for label, _, needed in ROUTES if needed}
    assert required <= set(result["routes"]) <= {label for label, _, _ in ROUTES}
    for label, timing in result["routes"].items():
        assert set(timing) == {"median_ms", "p95_ms"}, label
        assert 0 < timing["median_ms"] <= timing["p95_ms"], label
    for label, _, _ in ROUTES:  # every route is timed or skipped with a note
        assert label in result["routes"] or f"skipped {label}: " in captured.err
    assert result["recorder_ms_per_swap"] > 0 and result["db_bytes_per_swap"] > 0


@pytest.mark.parametrize(
    "arguments",
    [["--swaps", "0"], ["--swaps", "100", "--repeat", "9"], ["--swaps", "100", "--upkeep", "0"]],
)
def test_stats_benchmark_refuses_unusable_arguments(arguments: list[str]) -> None:
    with pytest.raises(SystemExit):
        main(["stats", *arguments])
