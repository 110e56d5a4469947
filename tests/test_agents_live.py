"""agents/live.py: agents on a running devnet through the InputBox, with retries, a circuit
breaker and a graceful Ctrl-C (issue #8). The first test starts `python -m devnet`; the others
use a fake client."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from agents.base import Action, Market
from agents.live import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    CircuitBreakerOpen,
    LiveVenue,
    StopFlag,
    VenueUnavailable,
    price_source,
    run_agents,
    run_live,
)
from client.api import Client
from tests.test_devnet import Devnet, start_devnet

CTSI, USDC = 10**18, 10**6  # one whole token in base units


class Dca:
    """Buys base with a fixed amount of quote every step (for the fake-client tests)."""

    name = "dca"

    def __init__(self, amount: int) -> None:
        self.amount = amount

    def observe(self, market: Market) -> list[Action]:
        path = [market.quote, market.base]
        return [Action("swap", {"amount_in": self.amount, "amount_out_min": 1, "path": path})]


def pool_price(market: Market) -> Fraction:
    """The pool's price of base in quote, in whole tokens."""
    pool = market.pool(market.base, market.quote)
    assert pool is not None
    base, quote = (
        (pool.reserve0, pool.reserve1)
        if pool.token0 == market.base
        else (pool.reserve1, pool.reserve0)
    )
    scale = Fraction(10 ** market.decimals[market.base], 10 ** market.decimals[market.quote])
    return Fraction(quote, base) * scale


# --- on the devnet --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    running = start_devnet(tmp_path_factory.mktemp("devnet"))
    yield running
    running.stop()


def available(client: Client, token: str) -> int:
    return int(client.inspect(f"/balance/{client.account}?token={token}")["available"])


def test_an_arbitrageur_and_a_dca_agent_trade_on_the_devnet(devnet: Devnet, tmp_path: Path) -> None:
    lp, arb, dca = devnet.client(1), devnet.client(2), devnet.client(3)
    ctsi, usdc = lp.token_address("CTSI"), lp.token_address("USDC")
    for client, token, amount in (
        (lp, "CTSI", 1000 * CTSI),
        (lp, "USDC", 1000 * USDC),
        (arb, "CTSI", 100 * CTSI),
        (arb, "USDC", 100 * USDC),
        (dca, "USDC", 10 * USDC),
    ):
        assert client.result(client.deposit(token, amount)).accepted
    seeded = lp.send(
        "add_liquidity",
        token_a=ctsi,
        token_b=usdc,
        token_a_desired=str(400 * CTSI),
        token_b_desired=str(200 * USDC),  # 0.5 USDC per CTSI
        token_a_min="0",
        token_b_min="0",
    )
    assert lp.result(seeded).accepted
    arb_before = (available(arb, ctsi), available(arb, usdc))

    config = tmp_path / "live.json"
    config.write_text(
        json.dumps(
            {
                "devnet": str(devnet.state / "devnet.json"),
                "base": "CTSI",
                "quote": "USDC",
                "steps": 3,
                "interval": 0,
                "price": {"kind": "constant", "price": "0.6"},
                "agents": [  # the real strategies of agents/strategies.py
                    {"agent": "Arbitrageur", "account": 2},
                    {
                        "agent": "DcaBuyer",
                        "account": 3,
                        "params": {"amount": 3 * USDC, "duration": 600},
                    },
                ],
            }
        )
    )
    lines: list[str] = []
    assert run_live(config, log=lines.append) == EXIT_OK
    sent = [line for line in lines if line.startswith("step ")]
    # step 0: the pool (0.5) is below the market (0.6): the arbitrageur buys CTSI, then the DCA
    # buyer places its stream swap (once); later steps find the pool at the market
    assert sent[:2] == [
        "step 0 price 0.6 arb: swap accepted",
        "step 0 price 0.6 dca: swap accepted",
    ], lines
    assert lines[-1].endswith(" accepted, 0 rejected, 0 refused by risk limits, 0 steps cut short")

    # the DCA buyer's 3 USDC are escrowed into the order pool, selling 5,000 units a second
    held = dca.inspect(f"/balance/{dca.account}?token={usdc}")
    assert (held["escrow"], held["outflow_rate"]) == (str(3 * USDC), str(3 * USDC // 600))
    assert available(dca, usdc) == 7 * USDC
    arb_after = (available(arb, ctsi), available(arb, usdc))
    assert arb_after[0] > arb_before[0] and arb_after[1] < arb_before[1]
    venue = LiveVenue.from_file(devnet.state / "devnet.json", [2])
    market = venue.market(venue.account(2), 0, Fraction(6, 10))
    assert market.balances[ctsi.lower()] == arb_after[0]
    assert Fraction(59, 100) < pool_price(market) < Fraction(61, 100)  # arbitraged to 0.6


# --- retries, the circuit breaker and Ctrl-C, with a fake client ---------------------------------
ACCOUNT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TOKEN_A, TOKEN_B = "0x" + "aa" * 20, "0x" + "bb" * 20  # lowercase, as a Market's


class FakeBlock:
    def get_block(self, which: str) -> dict[str, int]:
        return {"timestamp": 1000}


class FakeWeb3:
    eth = FakeBlock()


class FakeClient:
    """Fails `failures` times with a connection error, then answers."""

    failures = 0
    sent: list[tuple[str, dict[str, Any]]] = []  # noqa: RUF012

    def __init__(self, devnet: dict[str, Any], account: int) -> None:
        self.account = ACCOUNT
        self.web3 = FakeWeb3()

    def token_address(self, token: str) -> str:
        return {"CTSI": TOKEN_A, "USDC": TOKEN_B}.get(token.upper(), "0x" + "00" * 20)

    def _maybe_fail(self) -> None:
        if FakeClient.failures > 0:
            FakeClient.failures -= 1
            raise ConnectionRefusedError("connection refused")

    def inspect(self, path: str) -> Any:
        self._maybe_fail()
        if path.startswith("/health"):
            return {"last_timestamp": 900}
        if path.startswith("/pairs"):
            pair = {"id": "0x" + "cc" * 20, "token0": {"id": TOKEN_A}, "token1": {"id": TOKEN_B}}
            return {
                "pairs": [{**pair, "reserve0_raw": "10", "reserve1_raw": "20"}],
                "next_cursor": None,
            }
        return {"balances": [{"token": TOKEN_A, "available": "5"}]}

    def send(self, method: str, **args: Any) -> int:
        self._maybe_fail()
        FakeClient.sent.append((method, args))
        return len(FakeClient.sent) - 1

    def result(self, index: int, timeout: float) -> Any:
        from client.api import Result

        return Result(index, True, [{"type": "Transfer"}])


DEVNET = {"accounts": [ACCOUNT], "token_decimals": {"CTSI": 18, "USDC": 6}, "rpc_url": "x"}


@pytest.fixture
def fake() -> Iterator[type[FakeClient]]:
    FakeClient.failures, FakeClient.sent = 0, []
    yield FakeClient


def venue(sleeps: list[float], **options: Any) -> LiveVenue:
    return LiveVenue(
        DEVNET,
        [0],
        client_factory=FakeClient,  # type: ignore[arg-type]
        sleep=sleeps.append,
        log=lambda line: None,
        **options,
    )


def test_connection_errors_are_retried_with_exponential_backoff(fake: type[FakeClient]) -> None:
    sleeps: list[float] = []
    live = venue(sleeps, retries=4, backoff=0.5, max_backoff=1.5)
    fake.failures = 4
    market = live.market(ACCOUNT, 0, Fraction(2))
    assert sleeps == [0.5, 1.0, 1.5, 1.5]
    assert market.time == 1000 and market.balances == {TOKEN_A: 5}
    assert market.pool(TOKEN_B, TOKEN_A) is not None
    outcome = live.submit(ACCOUNT, Action("transfer", {"amount": 2**70, "to": TOKEN_B}), 0)
    assert outcome.accepted and fake.sent[-1] == ("transfer", {"amount": str(2**70), "to": TOKEN_B})


def test_the_circuit_breaker_opens_after_consecutive_failures(fake: type[FakeClient]) -> None:
    live = venue([], retries=1, max_failures=3)
    fake.failures = 10**6
    for _ in range(2):
        with pytest.raises(VenueUnavailable, match="after 2 attempts"):
            live.submit(ACCOUNT, Action("transfer", {}), 0)
    with pytest.raises(CircuitBreakerOpen, match="3 calls to the devnet failed in a row"):
        live.submit(ACCOUNT, Action("transfer", {}), 0)
    fake.failures = 0
    assert live.submit(ACCOUNT, Action("transfer", {}), 0).accepted
    assert live.failures == 0  # a success closes it again


class Chatty:
    """Two actions a step; raises SIGINT (as Ctrl-C would) while observing step 1."""

    name = "chatty"

    def __init__(self) -> None:
        self.steps = 0

    def observe(self, market: Market) -> list[Action]:
        self.steps += 1
        if self.steps == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return [Action("transfer", {"n": 1}), Action("transfer", {"n": 2})]


def test_ctrl_c_stops_after_the_current_action(
    fake: type[FakeClient], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("agents.live.Client", FakeClient)
    (tmp_path / "devnet.json").write_text(json.dumps(DEVNET))
    config = tmp_path / "live.json"
    config.write_text(
        json.dumps(
            {
                "devnet": "devnet.json",
                "steps": 5,
                "interval": 0,
                "agents": [{"agent": "tests.test_agents_live:Chatty", "account": 0}],
            }
        )
    )
    lines: list[str] = []
    assert run_live(config, log=lines.append) == EXIT_INTERRUPTED
    assert len(fake.sent) == 2  # step 0's two actions; step 1 stopped before sending
    assert lines[-2:] == [
        "stopped by Ctrl-C after the current action",
        "2 actions sent, 2 accepted, 0 rejected, 0 refused by risk limits, 0 steps cut short, "
        "2 not sent after Ctrl-C",
    ]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_unavailable_steps_are_skipped_not_fatal(fake: type[FakeClient]) -> None:
    live = venue([], retries=0, max_failures=5)
    fake.failures = 1  # the first market read of step 0
    run = run_agents(live, [(Dca(7), ACCOUNT)], price_source({"price": "1"}, 0, Path()), 2, 0)
    assert run.skipped == 1 and len(run.sent) == 1 and not run.interrupted
    stop = StopFlag()
    stop.set()
    assert run_agents(live, [(Dca(7), ACCOUNT)], iter([Fraction(1)]), 1, 0, stop).interrupted


def test_price_sources(tmp_path: Path) -> None:
    constant = price_source({"kind": "constant", "price": "0.25"}, 1, tmp_path)
    assert [next(constant) for _ in range(2)] == [Fraction(1, 4)] * 2
    gbm = price_source({"kind": "gbm", "start": "2", "volatility": 0.9, "seed": 3}, 3600, tmp_path)
    path = [next(gbm) for _ in range(50)]
    assert path[0] == 2 and all(p > 0 for p in path) and len(set(path)) == 50
    (tmp_path / "p.csv").write_text("time,price\n0,1.5\n1,1.25\n")
    assert list(price_source({"kind": "csv", "path": "p.csv"}, 1, tmp_path)) == [
        Fraction(3, 2),
        Fraction(5, 4),
    ]
    with pytest.raises(ValueError, match="unknown price kind"):
        next(price_source({"kind": "oracle"}, 1, tmp_path))
