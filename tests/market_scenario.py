"""A checked-in market over 40 days, for the statistics tests (issue #7's "Must show").

Fixed timestamps; two stablecoins of different decimals (USDC 6, DAI 18); a reference token
(WETH); a token priced through a pair (CTSI); a pair of two tokens without metadata or price
(JUNK/GUNK); the WETH/USDC pair is reversed (USDC is token0 but the quote); buys and sells; a
multi-hop swap; two stream swaps executed across many inputs (one ends between two touches of
its pair, so a later input files its last flow in an earlier hour than the flow it filed before,
in a token they share); streams created and cancelled; swaps exactly at as_of − 86400 and one
second before. `build` returns the application, the raw list of inputs it was fed and as_of, so
tests can recompute every figure from the inputs' notices.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dapp.app import Application, Config
from dapp.stats.config import MarketConfig, TokenInfo
from tests.inputs import Driver, notice_events

T0 = 1_700_000_000
DAY = 86400
HOUR = 3600


def _address(prefix: str) -> bytes:
    return bytes.fromhex(prefix.ljust(40, "0"))


USDC = _address("10")  # token0 of USDC/WETH: the reversed pair
DAI = _address("20")
WETH = _address("30")
CTSI = _address("40")
JUNK = _address("50")
GUNK = _address("60")
LP = _address("a1")
ALICE = _address("a2")
BOB = _address("a3")
CAROL = _address("a4")

TOKENS = {
    USDC: TokenInfo("USDC", "USD Coin", 6),
    DAI: TokenInfo("DAI", "Dai Stablecoin", 18),
    WETH: TokenInfo("WETH", "Wrapped Ether", 18),
    CTSI: TokenInfo("CTSI", "Cartesi", 18),
}
MARKET = MarketConfig.checked(TOKENS, (USDC, DAI), WETH)
E18 = 10**18
E6 = 10**6


@dataclass
class Scenario:
    app: Application
    driver: Driver
    as_of: int
    notices: list[dict[str, Any]] = field(default_factory=list)  # {input_index, timestamp,
    # sender, events} of every accepted input


def build(tmp_path: Path) -> Scenario:
    app = Application(tmp_path / "market.sqlite", Config(market=MARKET))
    driver = Driver(app, now=T0)
    scenario = Scenario(app, driver, as_of=0)

    def send(sender: bytes, method: str, at: int, **args: Any) -> None:
        outcome = driver.act(sender, method, at=at, **args)
        _keep(scenario, sender, driver.now, outcome)

    def deposit(token: bytes, account: bytes, amount: int, at: int) -> None:
        driver.now = at
        outcome = driver.deposit(token, account, amount)
        _keep(scenario, account, at, outcome)

    for account in (LP, ALICE, BOB, CAROL):
        for token, amount in (
            (USDC, 10_000_000 * E6),
            (DAI, 10_000_000 * E18),
            (WETH, 10_000 * E18),
            (CTSI, 10_000_000 * E18),
            (JUNK, 10**30),
            (GUNK, 10**30),
        ):
            deposit(token, account, amount, T0)
    t = T0 + 60

    def liquidity(a: bytes, b: bytes, amount_a: int, amount_b: int, at: int) -> None:
        send(
            LP,
            "add_liquidity",
            at,
            token_a=a,
            token_b=b,
            token_a_desired=amount_a,
            token_b_desired=amount_b,
            token_a_min=0,
            token_b_min=0,
        )

    liquidity(WETH, USDC, 500 * E18, 1_000_000 * E6, t)
    liquidity(WETH, DAI, 400 * E18, 804_000 * E18, t + 10)
    liquidity(CTSI, WETH, 4_000_000 * E18, 400 * E18, t + 20)
    liquidity(JUNK, GUNK, 10**24, 3 * 10**24, t + 30)

    def swap(who: bytes, path: list[bytes], amount: int, at: int) -> None:
        send(who, "swap", at, amount_in=amount, amount_out_min=0, path=path)

    # 40 days of trading: a few swaps a day in both directions
    for day in range(39):
        base = T0 + day * DAY + 1000
        if day == 36:
            # USDC/WETH's stream swap ended yesterday, untouched since: advancing this path
            # files CTSI/WETH's flow in WETH's newest hour first, then USDC/WETH's at its end
            swap(BOB, [CTSI, WETH, USDC], 5_000 * E18, base - 500)
        swap(ALICE, [USDC, WETH], (1000 + 37 * day) * E6, base)
        swap(BOB, [WETH, USDC], (3 + day % 5) * E18 // 10, base + 1800)
        swap(ALICE, [DAI, WETH], (2500 + 11 * day) * E18, base + 7200)
        swap(BOB, [WETH, DAI], E18, base + 9000 + 7 * day)
        if day % 3 == 0:
            swap(CAROL, [CTSI, WETH, USDC], (20_000 + day) * E18, base + 20_000)
        if day % 4 == 1:
            swap(CAROL, [GUNK, JUNK], 10**21 + day, base + 30_000)
        if day == 10:
            send(
                ALICE,
                "stream",
                base + 25_000,
                token=CTSI,
                receiver=BOB,
                amount=1_000 * E18,
                duration=20 * DAY,
            )
        if day == 12:
            send(ALICE, "cancel_stream", base + 25_000, stream_id=1)
        if day == 20:
            # a stream swap: 100k USDC into WETH over 15 days, executed whenever the pair is touched
            send(
                CAROL,
                "swap",
                base + 25_000,
                amount_in=100_000 * E6,
                amount_out_min=0,
                path=[USDC, WETH],
                duration=15 * DAY,
            )
        if day == 30:
            send(
                LP,
                "remove_liquidity",
                base + 25_000,
                token_a=WETH,
                token_b=DAI,
                liquidity=10 * E18,
                amount_a_min=0,
                amount_b_min=0,
            )
            # a second stream swap, 100k CTSI into WETH until day 36's second CTSI/WETH trade
            send(
                CAROL,
                "swap",
                base + 26_000,
                amount_in=100_000 * E18,
                amount_out_min=0,
                path=[CTSI, WETH],
                duration=6 * DAY - 16_000,
            )
    as_of = T0 + 40 * DAY + 5000
    # the 24h window's edges: exactly at as_of − 86400, and one second before
    swap(BOB, [WETH, USDC], E18 // 4, as_of - DAY - 1)
    swap(ALICE, [USDC, WETH], 777 * E6, as_of - DAY)
    swap(BOB, [DAI, WETH], 1234 * E18, as_of - 10)
    swap(ALICE, [USDC, WETH], 555 * E6, as_of)
    scenario.as_of = as_of
    return scenario


def _keep(scenario: Scenario, sender: bytes, at: int, outcome: Any) -> None:
    events = notice_events(outcome)
    scenario.notices.append(
        {
            "input_index": scenario.driver.next_index - 1,
            "timestamp": at,
            "sender": sender,
            "events": events,
        }
    )


def inspect(scenario: Scenario, path: str) -> Any:
    return json.loads(scenario.app.inspect(path.encode()))
