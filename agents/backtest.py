"""Backtests against the real application handler, in process, with simulated block times.

`BacktestVenue` is an `agents.base.Venue` over `dapp.app.Application` on a temporary SQLite
file: every action is one advance input (v2 metadata, increasing input index, the step's time as
`block_timestamp`), and the market is read through `Application.inspect` — the JSON a live
client sees. Funds enter only through ERC20-portal deposits, as on chain. `run_backtest` seeds a
pool at the first external price, funds each agent, and runs the `Runner` over the series.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Context, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from agents.base import Action, Agent, Market, Outcome, Pool
from agents.prices import PriceSeries
from agents.risk import RiskConfig
from agents.runner import Runner, StepRecord, TradeRecord
from agents.strategies import (
    Arbitrageur,
    DcaBuyer,
    EwmaMomentum,
    LiquidityProvider,
    MispricingMonitor,
    PredictorTrader,
)
from dapp.app import Application, Config
from devnet.rollup_server import advance_data, v2_metadata

BASE = "0x" + "11" * 20  # an 18-decimal "ETH-like" test token (not the Ether token, 0x00…00)
QUOTE = "0x" + "22" * 20  # a 6-decimal "USDC" test token: the quote, valued at 1 USD
BASE_DECIMALS = 18
QUOTE_DECIMALS = 6
SEEDER = "0x" + "5e" * 20  # the account that seeds the pool's first liquidity
APP_CONTRACT = bytes.fromhex("ab" * 20)
AGENT_NAMES = ("arb", "dca", "lp", "monitor", "momentum")


def agent_account(index: int) -> str:
    """A deterministic account per agent slot: 0xa1a1…, 0xa2a2…, …"""
    return "0x" + f"{0xA1 + index:02x}" * 20


def _encode(value: Any) -> Any:
    if isinstance(value, Fraction):
        raise TypeError("a Fraction cannot be an input amount")
    return value


class BacktestVenue:
    """The application in process; one input per action, times from the caller."""

    def __init__(self, database: str | Path) -> None:
        self.config = Config()
        self.app = Application(database, self.config)
        self.decimals = {BASE: BASE_DECIMALS, QUOTE: QUOTE_DECIMALS}
        self.base, self.quote = BASE, QUOTE
        self.next_index = 0
        self.now = 0
        self.deposited: dict[str, int] = {BASE: 0, QUOTE: 0}
        self.withdrawn: dict[str, int] = {BASE: 0, QUOTE: 0}

    def close(self) -> None:
        self.app.close()

    # --- inputs ---------------------------------------------------------------------------------
    def _advance(self, sender: str, payload: bytes, time: int) -> Any:
        if time < self.now:
            raise ValueError(f"time went backwards: {time} < {self.now}")
        self.now = time
        metadata = v2_metadata(
            msg_sender=bytes.fromhex(sender[2:]),
            input_index=self.next_index,
            block_number=1 + self.next_index,
            timestamp=time,
            app_contract=APP_CONTRACT,
        )
        self.next_index += 1
        return self.app.advance(advance_data(metadata, payload))

    def deposit(self, token: str, account: str, amount: int, time: int) -> None:
        """An ERC20Portal deposit of `amount` base units of `token` to `account`."""
        payload = bytes.fromhex(token[2:]) + bytes.fromhex(account[2:]) + amount.to_bytes(32, "big")
        result = self._advance("0x" + self.config.v2.erc20.hex(), payload, time)
        if not result.accepted:
            raise RuntimeError(f"deposit refused: {result.reports}")
        self.deposited[token] += amount

    def submit(self, account: str, action: Action, time: int) -> Outcome:
        payload = json.dumps(
            {"method": action.method, "args": action.args}, default=_encode
        ).encode()
        result = self._advance(account, payload, time)
        if result.accepted:
            (notice,) = result.notices
            events: list[dict[str, Any]] = json.loads(notice)["events"]
            for event in events:
                if event.get("type") == "Withdrawal":
                    token = str(event.get("token", "")).lower()
                    if token in self.withdrawn:
                        self.withdrawn[token] += int(event["amount"])
            return Outcome(action, True, events)
        report: dict[str, Any] = json.loads(result.reports[0]) if result.reports else {}
        return Outcome(action, False, [], report.get("error"), report.get("message"))

    # --- reads (inspect, as a live client) ---------------------------------------------------
    def inspect(self, path: str) -> Any:
        answer = json.loads(self.app.inspect(path.encode()))
        if isinstance(answer, dict) and "error" in answer:
            raise RuntimeError(f"inspect {path}: {answer['error']}: {answer.get('message')}")
        return answer

    def pair_json(self, time: int) -> dict[str, Any] | None:
        for found in self.inspect(f"/pairs?at={time}")["pairs"]:
            tokens = {found["token0"]["id"].lower(), found["token1"]["id"].lower()}
            if tokens == {BASE, QUOTE}:
                result: dict[str, Any] = found
                return result
        return None

    def pools(self, time: int) -> dict[tuple[str, str], Pool]:
        pools: dict[tuple[str, str], Pool] = {}
        for found in self.inspect(f"/pairs?at={time}")["pairs"]:
            pool = Pool.from_json(found)
            pools[(pool.token0, pool.token1)] = pool
        return pools

    def holdings(self, account: str, time: int, field_name: str = "balance") -> dict[str, int]:
        """The account's `balance` (real time) or `available` per token at `time`."""
        answer = self.inspect(f"/balances/{account}?at={time}")
        return {row["token"].lower(): int(row[field_name]) for row in answer["balances"]}

    def market(self, account: str, time: int, external_price: Fraction) -> Market:
        return Market(
            time=time,
            base=BASE,
            quote=QUOTE,
            decimals=dict(self.decimals),
            external_price=external_price,
            pools=self.pools(time),
            balances=self.holdings(account, time, "available"),
            account=account,
        )

    def reserves(self, time: int) -> tuple[int, int, int] | None:
        """(base reserve, quote reserve, LP total supply) at `time`, None without the pair."""
        found = self.pair_json(time)
        if found is None:
            return None
        r0, r1 = int(found["reserve0_raw"]), int(found["reserve1_raw"])
        base_first = found["token0"]["id"].lower() == BASE
        return (
            (r0, r1, int(found["total_supply"]))
            if base_first
            else (
                r1,
                r0,
                int(found["total_supply"]),
            )
        )

    def account_value(self, account: str, time: int, external_price: Fraction) -> Fraction:
        """Everything `account` holds at `time` in quote (USD) units: real-time balances (so a
        stream swap's unsold escrow and its proceeds count), LP tokens at their share."""
        held = self.holdings(account, time)
        value = Fraction(held.get(QUOTE, 0), 10**QUOTE_DECIMALS)
        value += Fraction(held.get(BASE, 0), 10**BASE_DECIMALS) * external_price
        found = self.pair_json(time)
        if found is not None:
            liquidity = held.get(found["id"].lower(), 0)
            supply = int(found["total_supply"])
            if liquidity and supply:
                base_reserve, quote_reserve, _ = self.reserves(time) or (0, 0, 0)
                value += Fraction(liquidity, supply) * (
                    Fraction(quote_reserve, 10**QUOTE_DECIMALS)
                    + Fraction(base_reserve, 10**BASE_DECIMALS) * external_price
                )
        return value


# --- the backtest --------------------------------------------------------------------------------
@dataclass
class Funded:
    """An agent and what it is funded with (base units of each token)."""

    agent: Agent
    base: int = 0
    quote: int = 0


def whole(amount: Fraction, decimals: int) -> int:
    """Whole tokens (exact) to base units, rounded down."""
    return int(amount * 10**decimals)


def default_agents(names: list[str], start_price: Fraction, duration: int) -> list[Funded]:
    """The CLI's agents, funded in proportion to the default pool (1,000 base tokens): each
    trading agent holds `tokens` base tokens and their worth in quote at the start price."""
    dca_amount = whole(Fraction(10_000), QUOTE_DECIMALS)
    trading: dict[str, tuple[Callable[[], Agent], int]] = {
        "arb": (Arbitrageur, 500),
        "lp": (LiquidityProvider, 100),
        "monitor": (MispricingMonitor, 100),
        "momentum": (lambda: PredictorTrader(EwmaMomentum()), 50),
    }
    built: list[Funded] = []
    for name in names:
        if name == "dca":
            built.append(Funded(DcaBuyer(amount=dca_amount, duration=duration), 0, dca_amount))
        elif name in trading:
            make, tokens = trading[name]
            built.append(
                Funded(
                    make(),
                    whole(Fraction(tokens), BASE_DECIMALS),
                    whole(tokens * start_price, QUOTE_DECIMALS),
                )
            )
        else:
            raise ValueError(f"unknown agent {name!r} (known: {', '.join(AGENT_NAMES)})")
    return built


@dataclass
class BacktestResult:
    """Everything a report needs; `venue` is still open for reads until `close()`."""

    series: PriceSeries
    funded: list[Funded]
    accounts: dict[str, str]
    steps: list[StepRecord]
    trades: list[TradeRecord]
    pool_before: list[tuple[int, int, int]]  # (time, base reserve, quote reserve) before agents
    initial_values: dict[str, Fraction]
    final_values: dict[str, Fraction]
    venue: BacktestVenue
    start: int
    end: int
    pool_base: int
    pool_quote: int
    extra: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.venue.close()


@contextmanager
def backtest(
    series: PriceSeries,
    funded: list[Funded],
    *,
    risk: RiskConfig | None = None,
    pool_base_tokens: Fraction = Fraction(1000),
    progress: Callable[[int, int], None] | None = None,
    database: str | Path | None = None,
) -> Iterator[BacktestResult]:
    """Run the agents over `series` against a fresh application; the result stays readable
    (its venue open) inside the `with` block."""
    with tempfile.TemporaryDirectory(prefix="streamdex-backtest-") as folder:
        result = run_backtest(
            series,
            funded,
            risk=risk,
            pool_base_tokens=pool_base_tokens,
            progress=progress,
            database=database or Path(folder) / "state.sqlite",
        )
        try:
            yield result
        finally:
            result.close()


def run_backtest(
    series: PriceSeries,
    funded: list[Funded],
    *,
    database: str | Path,
    risk: RiskConfig | None = None,
    pool_base_tokens: Fraction = Fraction(1000),
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    if len(series.points) < 2:
        raise ValueError("a backtest needs at least two prices")
    names = [entry.agent.name for entry in funded]
    if len(set(names)) != len(names):
        raise ValueError(f"agent names must be unique, got {names}")
    venue = BacktestVenue(database)
    first = series.points[0]
    start, end = first.time, series.points[-1].time
    pool_base = whole(pool_base_tokens, BASE_DECIMALS)
    pool_quote = whole(pool_base_tokens * first.price, QUOTE_DECIMALS)
    venue.deposit(BASE, SEEDER, pool_base, start)
    venue.deposit(QUOTE, SEEDER, pool_quote, start)
    seeded = venue.submit(
        SEEDER,
        Action(
            "add_liquidity",
            {
                "token_a": BASE,
                "token_b": QUOTE,
                "token_a_desired": pool_base,
                "token_b_desired": pool_quote,
                "token_a_min": pool_base,
                "token_b_min": pool_quote,
            },
        ),
        start,
    )
    if not seeded.accepted:
        raise RuntimeError(f"seeding the pool failed: {seeded.error}: {seeded.message}")
    accounts: dict[str, str] = {}
    for index, entry in enumerate(funded):
        account = agent_account(index)
        accounts[entry.agent.name] = account
        if entry.base:
            venue.deposit(BASE, account, entry.base, start)
        if entry.quote:
            venue.deposit(QUOTE, account, entry.quote, start)
    runner = Runner.create(
        venue, [(entry.agent, accounts[entry.agent.name]) for entry in funded], risk
    )
    pool_before: list[tuple[int, int, int]] = []
    total = len(series.points)
    for done, point in enumerate(series.points, start=1):
        state = venue.reserves(point.time)
        if state is not None:
            pool_before.append((point.time, state[0], state[1]))
        runner.step(point.time, point.price)
        if progress is not None:
            progress(done, total)
    last_price = series.points[-1].price
    initial_values = {
        entry.agent.name: Fraction(entry.quote, 10**QUOTE_DECIMALS)
        + Fraction(entry.base, 10**BASE_DECIMALS) * first.price
        for entry in funded
    }
    final_values = {
        name: venue.account_value(account, end, last_price) for name, account in accounts.items()
    }
    return BacktestResult(
        series=series,
        funded=funded,
        accounts=accounts,
        steps=runner.steps,
        trades=runner.trades,
        pool_before=pool_before,
        initial_values=initial_values,
        final_values=final_values,
        venue=venue,
        start=start,
        end=end,
        pool_base=pool_base,
        pool_quote=pool_quote,
    )


_SQRT = Context(prec=60)


def sqrt_fraction(value: Fraction) -> Fraction:
    """√value to 60 significant digits (deterministic)."""
    if value <= 0:
        return Fraction(0)
    quotient = _SQRT.divide(Decimal(value.numerator), Decimal(value.denominator))
    return Fraction(_SQRT.sqrt(quotient))
