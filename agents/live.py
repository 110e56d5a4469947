"""Agents against a running devnet: `LiveVenue` and `run_live` (issue #8).

`LiveVenue` implements `agents.base.Venue` with `client.api.Client`: `market()` reads the pairs
(`/pairs`) and the agent's balances (`/balances/{account}`) through inspect, at the chain's
latest block time, and adds the external price it is given (addresses in lowercase, as the
strategies expect); `submit()` sends the action through
the InputBox (`Client.send`) and waits for the application's verdict (`Client.result`).

Talking to the devnet can fail (anvil restarting, the node busy): every call is retried on
connection errors with exponential backoff (`retries`, `backoff` doubling up to
`max_backoff`). A call that still fails raises `VenueUnavailable`, which the loop survives (the
agent skips that step); after `max_failures` failed calls in a row the circuit breaker opens
and `CircuitBreakerOpen` stops the run with the last error. One caveat: an `addInput` whose
transaction was broadcast but whose receipt was lost is sent again on retry (anvil mines at
once, so the window is the receipt request only).

`run_live(config)` reads a JSON file and runs agents in real time::

    {
      "devnet": ".devnet/devnet.json",
      "base": "CTSI", "quote": "USDC",
      "steps": 60, "interval": 5,
      "price": {"kind": "constant", "price": "0.5"},
      "agents": [
        {"agent": "Arbitrageur", "account": 1, "params": {}},
        {"agent": "my_module:MyAgent", "account": 2, "params": {"amount": 1000}}
      ],
      "retries": 3, "backoff": 0.5, "max_failures": 5,
      "risk": {"default": {...}, "agents": {...}}
    }

`price` is `{"kind": "constant", "price": "0.5"}`, `{"kind": "gbm", "start": "0.5",
"drift": 0.0, "volatility": 0.8, "seed": 1}` (annualised, one step per `interval` seconds), or
`{"kind": "csv", "path": "prices.csv", "column": "price"}` (one row per step). An `agent` is a
class of `agents.strategies` by name, or `module:Class`; `params` are its keyword arguments.
`risk` (optional) is an `agents.risk` configuration, inline or the path of its JSON file: the
agents run under `agents.runner.Runner`, which checks every action against it before it is sent.
Relative paths are relative to the configuration file. Ctrl-C stops the run after the current
action (a second Ctrl-C stops at once). `python -m agents.live config.json` does the same.
"""

from __future__ import annotations

import csv
import importlib
import json
import math
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from agents.base import Action, Agent, Market, Outcome, Pool, Venue
from agents.risk import RiskConfig, load_risk_config, parse_risk_config
from agents.runner import Runner, TradeRecord
from client.api import Client, ClientError

T = TypeVar("T")
SECONDS_PER_YEAR = 365 * 24 * 3600
EXIT_OK, EXIT_CIRCUIT_OPEN, EXIT_INTERRUPTED = 0, 2, 130


class VenueUnavailable(RuntimeError):
    """One call to the devnet failed after all its retries."""


class CircuitBreakerOpen(RuntimeError):
    """Too many calls to the devnet failed in a row: the run stops."""


Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class LiveVenue:
    """`agents.base.Venue` on a running devnet, one `Client` per anvil account used."""

    def __init__(
        self,
        devnet: dict[str, Any],
        accounts: list[int],
        *,
        base: str = "CTSI",
        quote: str = "USDC",
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_failures: int = 5,
        result_timeout: float = 30.0,
        client_factory: Callable[[dict[str, Any], int], Client] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        log: Log = _stderr,
    ) -> None:
        if retries < 0 or max_failures < 1:
            raise ValueError("retries must be ≥ 0 and max_failures ≥ 1")
        self.devnet = devnet
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_failures = max_failures
        self.result_timeout = result_timeout
        self.sleep = sleep
        self.log = log
        self.failures = 0  # failed calls in a row
        self.clients: dict[str, Client] = {}
        client_factory = client_factory or Client
        for index in accounts:
            made = client_factory(devnet, index)
            self.clients[made.account.lower()] = made
        self.reader = next(iter(self.clients.values()), None) or client_factory(devnet, 0)
        self.base = self.reader.token_address(base).lower()
        self.quote = self.reader.token_address(quote).lower()
        self.decimals = {self.reader.token_address("ETH").lower(): 18}
        for symbol, digits in devnet.get("token_decimals", {}).items():
            self.decimals[self.reader.token_address(symbol).lower()] = int(digits)

    @classmethod
    def from_file(cls, path: Path, accounts: list[int], **options: Any) -> LiveVenue:
        if not path.exists():
            raise ClientError(f"{path} does not exist: start the devnet with `make run` first")
        return cls(json.loads(path.read_text()), accounts, **options)

    def account(self, index: int) -> str:
        """The address of anvil account `index` (lowercase, as everything in a `Market`)."""
        return str(self.devnet["accounts"][index]).lower()

    # --- agents.base.Venue --------------------------------------------------------------------
    def now(self) -> int:
        """The time the application will see next: the latest block's, or the last input's."""

        def read() -> int:
            block = int(self.reader.web3.eth.get_block("latest")["timestamp"])
            last = int(self.reader.inspect("/health")["last_timestamp"] or 0)
            return max(block, last)

        return self.call("read the chain's time", read)

    def market(self, account: str, time: int, external_price: Fraction) -> Market:
        """The pairs and `account`'s balances now (live: `time` is only the runner's clock)."""
        now = self.now()

        def read() -> tuple[dict[tuple[str, str], Pool], dict[str, int]]:
            pools: dict[tuple[str, str], Pool] = {}
            cursor: int | None = 0
            while cursor is not None:
                page = self.reader.inspect(f"/pairs?limit=1000&cursor={cursor}&at={now}")
                for found in page["pairs"]:
                    pool = Pool.from_json(found)
                    pools[(pool.token0, pool.token1)] = pool
                cursor = page["next_cursor"]
            held = self.reader.inspect(f"/balances/{account}?at={now}")
            balances = {
                entry["token"].lower(): int(entry["available"]) for entry in held["balances"]
            }
            return pools, balances

        pools, balances = self.call(f"read the market for {account}", read)
        return Market(
            time=now,
            base=self.base,
            quote=self.quote,
            decimals=dict(self.decimals),
            external_price=external_price,
            pools=pools,
            balances=balances,
            account=account,
        )

    def submit(self, account: str, action: Action, time: int) -> Outcome:
        """Send `action` as `account` through the InputBox; its outcome once processed."""
        client = self.clients.get(account.lower())
        if client is None:
            known = ", ".join(c.account for c in self.clients.values())
            raise ValueError(f"account {account} is not one of this venue's ({known})")
        args = {name: _wire(value) for name, value in action.args.items()}
        index = self.call(f"send {action.method}", lambda: client.send(action.method, **args))
        result = self.call(
            f"wait for input {index}", lambda: client.result(index, self.result_timeout)
        )
        return Outcome(action, result.accepted, result.events, result.error, result.message)

    # --- retries and the circuit breaker ------------------------------------------------------
    def call(self, what: str, operation: Callable[[], T]) -> T:
        """`operation()`, retried with exponential backoff on connection errors."""
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                value = operation()
            except (OSError, ClientError) as err:
                last: Exception = err
                if attempt < self.retries:
                    self.log(f"{what}: {err}; retrying in {delay:g} s")
                    self.sleep(delay)
                    delay = min(2 * delay, self.max_backoff)
            else:
                self.failures = 0
                return value
        self.failures += 1
        if self.failures >= self.max_failures:
            raise CircuitBreakerOpen(
                f"circuit breaker open: {self.failures} calls to the devnet failed in a row "
                f"(each tried {self.retries + 1} times); last: {what}: {last}. "
                f"Is `make run` up at {self.devnet.get('rpc_url')}?"
            ) from last
        raise VenueUnavailable(f"{what} failed after {self.retries + 1} attempts: {last}") from last


def _wire(value: Any) -> Any:
    """Amounts above 2**53 as decimal strings (JSON numbers beyond that lose digits elsewhere)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


# --- the loop ---------------------------------------------------------------------------------
@dataclass
class LiveRun:
    trades: list[TradeRecord] = field(default_factory=list)
    skipped: int = 0  # steps cut short by an unavailable venue
    interrupted: bool = False

    @property
    def sent(self) -> list[TradeRecord]:
        """Actions that reached the devnet (not refused by risk, not held back by Ctrl-C)."""
        return [
            trade
            for trade in self.trades
            if trade.outcome is not None and trade.outcome.error != INTERRUPTED
        ]


class StopFlag:
    """Set by the first Ctrl-C: nothing is sent after the current action."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __bool__(self) -> bool:
        return self.event.is_set()

    def set(self) -> None:
        self.event.set()

    def wait(self, seconds: float) -> bool:
        return self.event.wait(seconds)


class _Stoppable:
    """A venue that sends nothing more once the stop flag is set (the runner finishes its step
    without sending, then the loop ends)."""

    def __init__(self, venue: Venue, stop: StopFlag) -> None:
        self.venue = venue
        self.stop = stop

    def market(self, account: str, time: int, external_price: Fraction) -> Market:
        return self.venue.market(account, time, external_price)

    def submit(self, account: str, action: Action, time: int) -> Outcome:
        if self.stop:
            return Outcome(action, False, [], INTERRUPTED, "not sent: stopped by Ctrl-C")
        return self.venue.submit(account, action, time)


INTERRUPTED = "INTERRUPTED"


def run_agents(
    venue: Venue,
    agents: list[tuple[Agent, str]],
    prices: Iterator[Fraction],
    steps: int,
    interval: float,
    stop: StopFlag | None = None,
    log: Log = _stderr,
    risk: RiskConfig | None = None,
) -> LiveRun:
    """`steps` steps of `agents.runner.Runner` (risk limits included), `interval` s apart.

    Each step takes the next external price; every agent observes the market as its account
    does and its actions, once the risk guard lets them through, are sent. A step that meets an
    unavailable venue is cut short and counted in `skipped`; `CircuitBreakerOpen` propagates.
    """
    stop = StopFlag() if stop is None else stop
    runner = Runner.create(_Stoppable(venue, stop), agents, risk)
    run = LiveRun(runner.trades)
    started = time.monotonic()
    for step in range(steps):
        if stop:
            break
        price = next(prices)
        logged = len(runner.trades)
        try:
            runner.step(int(time.time()), price)
        except VenueUnavailable as err:
            run.skipped += 1
            log(f"step {step}: cut short ({err})")
        for trade in runner.trades[logged:]:
            log(f"step {step} price {float(price):.6g} {trade.agent}: {_verdict(trade)}")
        if step + 1 < steps and not stop:
            stop.wait(max(0.0, started + (step + 1) * interval - time.monotonic()))
    if stop:
        run.interrupted = True
        log("stopped by Ctrl-C after the current action")
    return run


def _verdict(trade: TradeRecord) -> str:
    method = trade.action.method
    if trade.outcome is None:
        return f"{method} refused by the risk guard: {trade.refused}"
    if trade.outcome.accepted:
        return f"{method} accepted"
    return f"{method} rejected: {trade.outcome.error}"


# --- prices ---------------------------------------------------------------------------------
def price_source(spec: dict[str, Any], interval: float, base_dir: Path) -> Iterator[Fraction]:
    """The external price, one value per step (see the module docstring)."""
    kind = spec.get("kind", "constant")
    if kind == "constant":
        price = Fraction(str(spec["price"]))
        while True:
            yield price
    elif kind == "gbm":
        rng = random.Random(spec.get("seed", 0))
        value = float(Fraction(str(spec["start"])))
        drift, volatility = float(spec.get("drift", 0.0)), float(spec.get("volatility", 0.5))
        dt = interval / SECONDS_PER_YEAR
        while True:
            yield Fraction(value).limit_denominator(10**18)
            shock = rng.gauss(0.0, 1.0)
            value *= math.exp((drift - volatility**2 / 2) * dt + volatility * math.sqrt(dt) * shock)
    elif kind == "csv":
        path = Path(spec["path"])
        path = path if path.is_absolute() else base_dir / path
        column = spec.get("column", "price")
        with path.open(newline="") as rows:
            for row in csv.DictReader(rows):
                yield Fraction(row[column])
    else:
        raise ValueError(f"unknown price kind {kind!r}: constant, gbm or csv")


# --- configuration ----------------------------------------------------------------------------
def load_agent(name: str, params: dict[str, Any]) -> Agent:
    """`Class` from agents.strategies, or `module:Class`, built with `params`."""
    module_name, _, class_name = name.rpartition(":")
    module = importlib.import_module(module_name or "agents.strategies")
    made: Agent = getattr(module, class_name)(**params)
    return made


def run_live(config_path: Path, *, log: Log = _stderr, stop: StopFlag | None = None) -> int:
    """Run the agents of a JSON configuration on the devnet; 0, 2 (circuit open) or 130 (Ctrl-C)."""
    config = json.loads(config_path.read_text())
    base_dir = config_path.parent
    devnet_path = Path(config.get("devnet", ".devnet/devnet.json"))
    devnet_path = devnet_path if devnet_path.is_absolute() else base_dir / devnet_path
    specs = config["agents"]
    venue = LiveVenue.from_file(
        devnet_path,
        sorted({int(spec["account"]) for spec in specs}),
        base=config.get("base", "CTSI"),
        quote=config.get("quote", "USDC"),
        retries=int(config.get("retries", 3)),
        backoff=float(config.get("backoff", 0.5)),
        max_failures=int(config.get("max_failures", 5)),
        log=log,
    )
    agents = [
        (load_agent(spec["agent"], spec.get("params", {})), venue.account(int(spec["account"])))
        for spec in specs
    ]
    interval = float(config.get("interval", 5))
    risk = _risk(config.get("risk"), base_dir)
    prices = price_source(
        config.get("price", {"kind": "constant", "price": "1"}), interval, base_dir
    )
    stop = StopFlag() if stop is None else stop
    previous = None
    if threading.current_thread() is threading.main_thread():

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            if stop:
                raise KeyboardInterrupt
            log("Ctrl-C: stopping after the current action (again to stop now)")
            stop.set()

        previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        steps = int(config.get("steps", 10))
        run = run_agents(venue, agents, prices, steps, interval, stop, log, risk)
    except CircuitBreakerOpen as err:
        log(str(err))
        return EXIT_CIRCUIT_OPEN
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    sent = run.sent
    accepted = sum(trade.accepted for trade in sent)
    refused = sum(trade.outcome is None for trade in run.trades)
    held = len(run.trades) - len(sent) - refused
    log(
        f"{len(sent)} actions sent, {accepted} accepted, {len(sent) - accepted} rejected, "
        f"{refused} refused by risk limits, {run.skipped} steps cut short"
        + (f", {held} not sent after Ctrl-C" if held else "")
    )
    return EXIT_INTERRUPTED if run.interrupted else EXIT_OK


def _risk(spec: Any, base_dir: Path) -> RiskConfig | None:
    """`risk`: a risk configuration object (agents/risk.py) or the path of its JSON file."""
    if spec is None:
        return None
    if isinstance(spec, str):
        path = Path(spec)
        return load_risk_config(path if path.is_absolute() else base_dir / path)
    return parse_risk_config(spec)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m agents.live CONFIG.json")
    sys.exit(run_live(Path(sys.argv[1])))
