"""Shared fixtures: fresh application states and deterministic hypothesis runs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from dapp.amm.pair import Pairs
from dapp.amm.router import Router
from dapp.amm.twamm import Twamm
from dapp.app import Application, Config
from dapp.errors import StreamdexError
from dapp.events import Event
from dapp.ledger import Ledger
from dapp.store import Store
from tests.inputs import Driver

settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def address(n: int) -> bytes:
    """A readable test address: address(1) == 0x00..01."""
    return n.to_bytes(20, "big")


@dataclass
class World:
    """The application's domain objects over one store, as an input handler composes them."""

    store: Store
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.store, self.events)
        self.pairs = Pairs(self.store, self.ledger, self.events)
        self.twamm = Twamm(self.store, self.ledger, self.pairs, self.events)
        self.router = Router(self.pairs, self.ledger, self.twamm)

    def balance(self, account: bytes, token: bytes, at: int) -> int:
        return self.ledger.position(account, token, at).balance

    def available(self, account: bytes, token: bytes, at: int) -> int:
        return self.ledger.position(account, token, at).available


def rejected_atomically(
    world: World, error: type[StreamdexError], call: Callable[[], object]
) -> StreamdexError:
    """Run `call` as an input; it must raise exactly `error` and leave every row as it was."""
    before = world.store.dump()
    with pytest.raises(StreamdexError) as raised, world.store.transaction():
        call()
    assert type(raised.value) is error, repr(raised.value)
    assert world.store.dump() == before
    return raised.value


def vector_params(vectors: list[dict[str, Any]], skipped: dict[str, str]) -> list[Any]:
    """One pytest param per reference vector, named by its id; listed ones skipped with reason."""
    return [
        pytest.param(v, id=v["id"], marks=pytest.mark.skip(reason=skipped[v["id"]]))
        if v["id"] in skipped
        else pytest.param(v, id=v["id"])
        for v in vectors
    ]


@pytest.fixture
def world() -> World:
    return World(Store(":memory:"))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Application]:
    application = Application(tmp_path / "state.sqlite", Config())
    yield application
    application.close()


@pytest.fixture
def driver(app: Application) -> Driver:
    return Driver(app)
