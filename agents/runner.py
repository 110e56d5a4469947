"""The runner: drives agents against a venue step by step, enforcing their risk limits.

At each step (a time and an external price) every agent, in order, sees the market as its own
account does, answers with actions, and each action is checked by the agent's `RiskGuard`
before the venue gets it. Refused actions are recorded, never sent. The same runner drives a
backtest (`agents.backtest.BacktestVenue`) and the live devnet (`agents.live`): it only needs a
`Venue`. A venue may also offer `account_value(account, time, external_price) -> Fraction`
(the account's whole holdings, LP tokens and stream-swap escrow included, in quote units); when
it does not, values come from the market's `available` base and quote balances.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from agents.base import Action, Agent, Market, Outcome, Venue
from agents.risk import RiskConfig, RiskGuard, expected_out, token_value_usd
from agents.strategies import Arbitrageur, pool_price


@dataclass(frozen=True)
class TradeRecord:
    """One action an agent asked for: sent (with its outcome) or refused by a risk rule."""

    time: int
    agent: str
    action: Action
    outcome: Outcome | None
    refused: str | None = None
    external_price: Fraction = Fraction(0)

    @property
    def accepted(self) -> bool:
        return self.outcome is not None and self.outcome.accepted


@dataclass(frozen=True)
class StepRecord:
    time: int
    external_price: Fraction
    pool_price: Fraction | None  # at the end of the step
    pool_price_after_arbitrage: Fraction | None  # right after the arbitrageur's turn
    values: dict[str, Fraction]  # each agent's value at the start of the step (quote units)


@dataclass
class Participant:
    """An agent, the account it trades from, and the guard of its limits."""

    agent: Agent
    account: str
    guard: RiskGuard


@dataclass
class Runner:
    venue: Venue
    participants: list[Participant]
    trades: list[TradeRecord] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)

    @classmethod
    def create(
        cls, venue: Venue, agents: list[tuple[Agent, str]], risk: RiskConfig | None = None
    ) -> Runner:
        config = risk or RiskConfig()
        return cls(
            venue,
            [
                Participant(agent, account, RiskGuard(config.for_agent(agent.name)))
                for agent, account in agents
            ],
        )

    def value(self, account: str, market: Market) -> Fraction:
        valuer: Callable[[str, int, Fraction], Fraction] | None = getattr(
            self.venue, "account_value", None
        )
        if valuer is not None:
            return valuer(account, market.time, market.external_price)
        return sum(
            (
                token_value_usd(market, token, market.balances.get(token, 0))
                for token in (market.base, market.quote)
            ),
            Fraction(0),
        )

    def step(self, time: int, external_price: Fraction) -> StepRecord:
        """Every agent observes and acts once at `time`."""
        values: dict[str, Fraction] = {}
        after_arbitrage: Fraction | None = None
        market: Market | None = None
        for participant in self.participants:
            agent, account, guard = participant.agent, participant.account, participant.guard
            market = self.venue.market(account, time, external_price)
            value = self.value(account, market)
            values[agent.name] = value
            guard.start_step(time, value)
            bought = 0
            for action in agent.observe(market):
                refused = guard.check(market, action, bought)
                if refused is not None:
                    self.trades.append(
                        TradeRecord(time, agent.name, action, None, refused, external_price)
                    )
                    continue
                outcome = self.venue.submit(account, action, time)
                guard.record_sent(time, value)
                self.trades.append(
                    TradeRecord(time, agent.name, action, outcome, None, external_price)
                )
                bought += _base_bought(market, action, outcome)
            if isinstance(agent, Arbitrageur):
                market = self.venue.market(account, time, external_price)
                after_arbitrage = pool_price(market)
        if self.participants:
            market = self.venue.market(self.participants[0].account, time, external_price)
        record = StepRecord(
            time,
            external_price,
            None if market is None else pool_price(market),
            after_arbitrage,
            values,
        )
        self.steps.append(record)
        return record


def _base_bought(market: Market, action: Action, outcome: Outcome) -> int:
    """Base an accepted instant swap bought (for the position limit within one step)."""
    if not outcome.accepted or action.method != "swap":
        return 0
    path = [str(token).lower() for token in action.args.get("path", [])]
    if len(path) != 2 or path[-1] != market.base or action.args.get("duration"):
        return 0
    return expected_out(market, path[0], path[1], int(action.args["amount_in"])) or 0
