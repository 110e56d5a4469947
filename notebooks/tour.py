"""Helpers for the notebooks: the real application in process, on a temporary database.

`Sim` feeds inputs to `dapp.app.Application` the way the rollup node would (increasing input
indexes, block timestamps we choose), so every number in the notebooks is the engine's own, to
the wei, with no chain. Amounts are base units; `whole()` turns them into tokens for plots.
`STREAMDEX_FAST=1` (the test suite) asks the notebooks for smaller runs through `FAST`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agents.base import Agent, Market, Pool  # noqa: E402
from agents.strategies import Arbitrageur  # noqa: E402
from dapp.addresses import to_checksum_address  # noqa: E402
from dapp.app import Application, Config  # noqa: E402
from devnet.rollup_server import advance_data, v2_metadata  # noqa: E402

FAST = os.environ.get("STREAMDEX_FAST") == "1"
START = 1_700_000_000
CONFIG = Config()
CTSI = to_checksum_address(bytes.fromhex("c7" * 20))
USDC = to_checksum_address(bytes.fromhex("a0" * 20))
DECIMALS = {CTSI: 18, USDC: 6}
SYMBOL = {CTSI: "CTSI", USDC: "USDC"}


def account(name: str) -> str:
    """A deterministic address per name (alice, bob, ...)."""
    digest = (name.encode() * 20)[:20]
    return to_checksum_address(digest)


def units(token: str, amount: float | Fraction | int) -> int:
    """Whole tokens to base units."""
    return int(Fraction(amount) * 10 ** DECIMALS[token])


def whole(token: str, amount: int | str) -> float:
    """Base units to whole tokens (for plots only)."""
    return int(amount) / 10 ** DECIMALS[token]


class Rejected(RuntimeError):
    pass


class Sim:
    """The application in process with a clock: `act(..., at=t)` sends an input at time t."""

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="streamdex-nb-")
        self.app = Application(Path(self.dir.name) / "state.sqlite", CONFIG)
        self.now = START
        self.index = 0

    def close(self) -> None:
        self.app.close()
        self.dir.cleanup()

    def _advance(self, sender: bytes, payload: bytes, at: int | None) -> list[dict[str, Any]]:
        if at is not None:
            self.now = max(self.now, at)
        metadata = v2_metadata(
            msg_sender=sender,
            input_index=self.index,
            block_number=100 + self.index,
            timestamp=self.now,
            app_contract=bytes.fromhex("ab" * 20),
        )
        self.index += 1
        outcome = self.app.advance(advance_data(metadata, payload))
        if not outcome.accepted:
            raise Rejected(json.loads(outcome.reports[0])["message"])
        events: list[dict[str, Any]] = json.loads(outcome.notices[0])["events"]
        return events

    def deposit(self, token: str, owner: str, amount: int, at: int | None = None) -> None:
        payload = bytes.fromhex(token[2:]) + bytes.fromhex(owner[2:]) + amount.to_bytes(32, "big")
        self._advance(CONFIG.v2.erc20, payload, at)

    def act(self, sender: str, method: str, at: int | None = None, **args: Any) -> list[Any]:
        """A JSON action of PROTOCOL §2.2 from `sender`; its events (raises `Rejected`)."""
        shown = {k: str(v) if isinstance(v, int) else v for k, v in args.items()}
        payload = json.dumps({"method": method, "args": shown}).encode()
        return self._advance(bytes.fromhex(sender[2:]), payload, at)

    def inspect(self, path: str) -> Any:
        return json.loads(self.app.inspect(path.encode()))

    # --- shortcuts ---------------------------------------------------------------------------
    def balance(self, owner: str, token: str, at: int | None = None) -> dict[str, Any]:
        when = f"&at={at}" if at is not None else ""
        answer: dict[str, Any] = self.inspect(f"/balance/{owner}?token={token}{when}")
        return answer

    def available(self, owner: str, token: str, at: int | None = None) -> int:
        return int(self.balance(owner, token, at)["available"])

    def reserves(self, at: int | None = None) -> tuple[int, int]:
        """(CTSI, USDC) reserves of the pair, stream swaps executed up to `at`."""
        when = f"?at={at}" if at is not None else ""
        pair = self.inspect(f"/pair/{CTSI}/{USDC}{when}")
        by_token = {
            pair["token0"]["id"]: int(pair["reserve0_raw"]),
            pair["token1"]["id"]: int(pair["reserve1_raw"]),
        }
        return by_token[CTSI], by_token[USDC]

    def price(self, at: int | None = None) -> float:
        """The pool's price of CTSI in USDC (whole tokens)."""
        ctsi, usdc = self.reserves(at)
        return whole(USDC, usdc) / whole(CTSI, ctsi)

    def seed_pool(self, lp: str, ctsi: float, usdc: float, at: int | None = None) -> None:
        """Deposit and add (ctsi, usdc) whole tokens of liquidity as `lp`."""
        a, b = units(CTSI, ctsi), units(USDC, usdc)
        self.deposit(CTSI, lp, a, at)
        self.deposit(USDC, lp, b, at)
        self.act(
            lp,
            "add_liquidity",
            at,
            token_a=CTSI,
            token_b=USDC,
            token_a_desired=a,
            token_b_desired=b,
            token_a_min=0,
            token_b_min=0,
        )

    def swap(
        self, trader: str, token_in: str, amount_in: int, at: int | None = None, duration: int = 0
    ) -> list[Any]:
        token_out = USDC if token_in == CTSI else CTSI
        args: dict[str, Any] = {"amount_in": amount_in, "path": [token_in, token_out]}
        args["amount_out_min"] = 0 if duration else 1
        if duration:
            args["duration"] = duration
        return self.act(trader, "swap", at, **args)

    def market(self, owner: str, market_price: Fraction, at: int | None = None) -> Market:
        """What an agent of `agents/` sees: the pair and `owner`'s balances (lowercase, exact)."""
        when = f"?at={at}" if at is not None else ""
        pair = self.inspect(f"/pair/{CTSI}/{USDC}{when}")
        pool = Pool.from_json(pair)
        held = self.inspect(f"/balances/{owner}{when}")["balances"]
        return Market(
            time=self.now if at is None else at,
            base=CTSI.lower(),
            quote=USDC.lower(),
            decimals={token.lower(): digits for token, digits in DECIMALS.items()},
            external_price=market_price,
            pools={(pool.token0, pool.token1): pool},
            balances={entry["token"].lower(): int(entry["available"]) for entry in held},
            account=owner.lower(),
        )

    def run_agent(self, agent: Agent, owner: str, market_price: Fraction, at: int) -> int:
        """One step of an agent of `agents/`: it observes, its actions are sent; how many."""
        actions = agent.observe(self.market(owner, market_price, at))
        for action in actions:
            self.act(owner, action.method, at, **action.args)
        return len(actions)

    def arbitrage(self, arb: str, market_price: float | Fraction, at: int) -> int:
        """`agents.strategies.Arbitrageur` trades the pool back to the market price."""
        price = Fraction(market_price).limit_denominator(10**12)
        return self.run_agent(ARBITRAGEUR, arb, price, at)


ARBITRAGEUR = Arbitrageur()
