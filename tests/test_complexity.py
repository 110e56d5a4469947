"""A balance read and a new stream cost the same whatever the number of open streams.

PROTOCOL §4.1 promises the same cost at 25 thousand or 10 million streams. Timings are noisy, so
we count what SQLite does instead — a deterministic "gas": the statements executed and the virtual
machine instructions they ran (sqlite3's progress handler called on every instruction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from dapp.store import Store
from tests.conftest import World, address

TOKEN = address(0xA0)
SENDER = address(1)
RECEIVER = address(2)
NEWCOMER = address(3)
T0 = 1_000_000


@dataclass(frozen=True)
class Cost:
    statements: int
    instructions: int


def measure(world: World, operation: Callable[[], object]) -> Cost:
    connection = world.store.connection
    statements = 0
    instructions = 0

    def on_statement(_: str) -> None:
        nonlocal statements
        statements += 1

    def on_instruction() -> int:
        nonlocal instructions
        instructions += 1
        return 0

    connection.set_trace_callback(on_statement)
    connection.set_progress_handler(on_instruction, 1)
    try:
        operation()
    finally:
        connection.set_trace_callback(None)
        connection.set_progress_handler(None, 1)
    return Cost(statements, instructions)


def world_with_open_streams(count: int) -> World:
    """`count` open streams out of SENDER and into RECEIVER, each ending at a different time."""
    world = World(Store())
    world.ledger.deposit(TOKEN, SENDER, 10**30, T0)
    for n in range(count):
        world.ledger.create_stream(TOKEN, SENDER, RECEIVER, 10**9, T0 + n % 7, 10**6 + n, T0)
    return world


def costs(count: int) -> dict[str, Cost]:
    world = world_with_open_streams(count)
    at = T0 + 100
    return {
        "sender balance": measure(world, lambda: world.ledger.position(SENDER, TOKEN, at)),
        "receiver balance": measure(world, lambda: world.ledger.position(RECEIVER, TOKEN, at)),
        "new stream": measure(
            world,
            lambda: world.ledger.create_stream(TOKEN, SENDER, NEWCOMER, 10**6, at, 3600, at),
        ),
        "new stream to a busy receiver": measure(
            world,
            lambda: world.ledger.create_stream(
                TOKEN, SENDER, RECEIVER, 10**6, at + 1, 7200, at + 1
            ),
        ),
    }


@pytest.fixture(scope="module")
def small_and_large() -> tuple[dict[str, Cost], dict[str, Cost]]:
    return costs(20), costs(3000)


@pytest.mark.parametrize(
    "operation",
    ["sender balance", "receiver balance", "new stream", "new stream to a busy receiver"],
)
def test_cost_does_not_grow_with_open_streams(
    small_and_large: tuple[dict[str, Cost], dict[str, Cost]], operation: str
) -> None:
    small, large = small_and_large
    assert large[operation].statements == small[operation].statements
    # B-tree seeks are single instructions; only the rows visited could add any
    assert large[operation].instructions == small[operation].instructions


def test_the_counter_sees_a_scan_when_there_is_one() -> None:
    """Guard for the measure itself: a query over all streams does grow with their number."""

    def scan(world: World) -> Cost:
        return measure(
            world,
            lambda: world.store.connection.execute("SELECT sum(duration) FROM streams").fetchall(),
        )

    assert (
        scan(world_with_open_streams(3000)).instructions
        > 10 * scan(world_with_open_streams(20)).instructions
    )
