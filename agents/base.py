"""The contract between agents, the runner and the two venues (live and backtest).

An agent looks at a `Market` and answers with `Action`s: JSON actions of PROTOCOL §2.2, exactly
what a user would send. The runner checks them against the risk limits and hands them to a
`Venue`, which either sends them through the InputBox of a running devnet (live) or feeds them
to the application's own handler in process with simulated block timestamps (backtest). The
same agent code runs in both, so a backtest is the real engine, to the wei.

Amounts are integers in the token's smallest unit. Prices from the outside world (a CSV, a
simulated path) are `Fraction`s: exact, and never part of the application's state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol


@dataclass(frozen=True)
class Action:
    """One input: `{"method": method, "args": args}` (addresses as 0x strings, amounts as int)."""

    method: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What the application did with an action."""

    action: Action
    accepted: bool
    events: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Pool:
    """A pair as the market shows it: reserves in base units, token addresses as 0x strings."""

    pair: str
    token0: str
    token1: str
    reserve0: int
    reserve1: int

    @classmethod
    def from_json(cls, found: dict[str, Any]) -> Pool:
        """A pair as the `/pair` and `/pairs` inspect routes answer it (addresses lowercased)."""
        return cls(
            found["id"].lower(),
            found["token0"]["id"].lower(),
            found["token1"]["id"].lower(),
            int(found["reserve0_raw"]),
            int(found["reserve1_raw"]),
        )


@dataclass(frozen=True)
class Market:
    """What an agent sees at one step.

    `external_price` is the price of `base` in `quote` (whole tokens, not base units) from the
    outside world; `decimals` gives each token's decimals to convert. `balances` are the agent's
    own `available` balances inside streamdex, by token address.
    """

    time: int
    base: str
    quote: str
    decimals: dict[str, int]
    external_price: Fraction
    pools: dict[tuple[str, str], Pool]
    balances: dict[str, int]
    account: str

    def pool(self, token_a: str, token_b: str) -> Pool | None:
        return self.pools.get((token_a, token_b)) or self.pools.get((token_b, token_a))


class Agent(Protocol):
    name: str

    def observe(self, market: Market) -> list[Action]:
        """The actions to take now (possibly none)."""
        ...


class Venue(Protocol):
    """Where actions go: the devnet (live) or the application in process (backtest)."""

    def market(self, account: str, time: int, external_price: Fraction) -> Market:
        """The market as `account` sees it at `time` (the backtest's clock; live: now)."""
        ...

    def submit(self, account: str, action: Action, time: int) -> Outcome:
        """Send one action as `account`; its outcome once the application processed it."""
        ...
