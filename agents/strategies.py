"""The agents: arbitrageur, DCA buyer, liquidity provider, mispricing monitor, momentum trader.

Each is an `agents.base.Agent`: `observe(market)` returns JSON actions of PROTOCOL §2.2 and
nothing else, so the same object runs live and in a backtest. Amounts are integers computed
with `dapp.amm.math` (the application's own formulas); prices are `Fraction`s. Addresses in a
`Market` are compared as given: the venues hand out lowercase `0x` strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol

from agents.base import Action, Market, Pool
from dapp.amm.math import (
    FEE_DENOMINATOR,
    FEE_NUMERATOR,
    compute_profit_maximizing_trade,
    get_amount_out,
)

BPS = 10_000


# --- shared pool arithmetic ---------------------------------------------------------------------
def reserves(pool: Pool, token_in: str) -> tuple[int, int]:
    """(reserve of token_in, reserve of the other token)."""
    if pool.token0 == token_in:
        return pool.reserve0, pool.reserve1
    return pool.reserve1, pool.reserve0


def pool_price(market: Market) -> Fraction | None:
    """The pool's spot price of the base token in quote, whole tokens (like external_price)."""
    pool = market.pool(market.base, market.quote)
    if pool is None:
        return None
    base_reserve, quote_reserve = reserves(pool, market.base)
    if base_reserve == 0 or quote_reserve == 0:
        return None
    return Fraction(
        quote_reserve * _pow10(market.decimals[market.base]),
        base_reserve * _pow10(market.decimals[market.quote]),
    )


def _pow10(exponent: int) -> int:
    return int(10**exponent)


def gap_bps(market: Market) -> Fraction | None:
    """(pool price / external price − 1) in basis points; None without a pool."""
    price = pool_price(market)
    if price is None:
        return None
    return (price / market.external_price - 1) * BPS


def integer_prices(market: Market) -> tuple[int, int]:
    """The external price as the integers (true_price_base, true_price_quote) that
    `compute_profit_maximizing_trade` wants: their ratio is base units per quote unit."""
    price = market.external_price
    return (
        price.denominator * 10 ** market.decimals[market.base],
        price.numerator * 10 ** market.decimals[market.quote],
    )


@dataclass(frozen=True)
class Opportunity:
    """The profit-maximizing trade toward the external price, and its value at that price."""

    token_in: str
    token_out: str
    amount_in: int
    amount_out: int
    profit_usd: Fraction  # value out − value in, at the external price


def value_usd(market: Market, token: str, amount: int) -> Fraction:
    whole = Fraction(amount, 10 ** market.decimals[token])
    return whole if token == market.quote else whole * market.external_price


def arbitrage(market: Market, budget: dict[str, int] | None = None) -> Opportunity | None:
    """The trade that moves the pool to the external price (within the fee), capped by `budget`
    (the agent's balances by default); None when the pool is already within the fee band."""
    pool = market.pool(market.base, market.quote)
    if pool is None or pool.reserve0 == 0 or pool.reserve1 == 0:
        return None
    base_reserve, quote_reserve = reserves(pool, market.base)
    price_base, price_quote = integer_prices(market)
    base_to_quote, amount_in = compute_profit_maximizing_trade(
        price_base, price_quote, base_reserve, quote_reserve
    )
    if amount_in == 0:
        return None
    token_in, token_out = (
        (market.base, market.quote) if base_to_quote else (market.quote, market.base)
    )
    available = (market.balances if budget is None else budget).get(token_in, 0)
    amount_in = min(amount_in, available)
    if amount_in <= 0:
        return None
    r_in, r_out = reserves(pool, token_in)
    amount_out = get_amount_out(amount_in, r_in, r_out)
    if amount_out == 0:
        return None
    profit = value_usd(market, token_out, amount_out) - value_usd(market, token_in, amount_in)
    return Opportunity(token_in, token_out, amount_in, amount_out, profit)


def swap_action(
    token_in: str, token_out: str, amount_in: int, amount_out_min: int, duration: int = 0
) -> Action:
    args: dict[str, object] = {
        "amount_in": amount_in,
        "amount_out_min": amount_out_min,
        "path": [token_in, token_out],
    }
    if duration:
        args["duration"] = duration
    return Action("swap", args)


# --- arbitrageur ---------------------------------------------------------------------------------
@dataclass
class Arbitrageur:
    """Moves the pool toward the external price whenever the gap beats the fee.

    Trades `compute_profit_maximizing_trade`'s amount (capped by its balance) when its value at
    the external price beats `min_profit_usd`; `amount_out_min` is the exact quote, so the
    trade executes as computed or not at all.
    """

    name: str = "arb"
    min_profit_usd: Fraction = Fraction(0)

    def observe(self, market: Market) -> list[Action]:
        found = arbitrage(market)
        if found is None or found.profit_usd <= self.min_profit_usd:
            return []
        return [swap_action(found.token_in, found.token_out, found.amount_in, found.amount_out)]


# --- DCA buyer -----------------------------------------------------------------------------------
@dataclass
class DcaBuyer:
    """Buys the base token with `amount` of quote as one stream swap over `duration` seconds,
    placed at its first step (`amount_out_min` 0, as a stream swap requires)."""

    amount: int
    duration: int
    name: str = "dca"
    placed: bool = False

    def observe(self, market: Market) -> list[Action]:
        if self.placed or market.pool(market.base, market.quote) is None:
            return []
        self.placed = True
        amount = min(self.amount, market.balances.get(market.quote, 0))
        if amount < self.duration or self.duration <= 0:
            return []
        return [swap_action(market.quote, market.base, amount, 0, duration=self.duration)]


# --- liquidity provider --------------------------------------------------------------------------
@dataclass
class LiquidityProvider:
    """Adds all of its base and quote (as much as the pool's ratio allows) at its first step."""

    name: str = "lp"
    added: bool = False

    def observe(self, market: Market) -> list[Action]:
        if self.added:
            return []
        self.added = True
        base = market.balances.get(market.base, 0)
        quote = market.balances.get(market.quote, 0)
        if base == 0 or quote == 0:
            return []
        return [
            Action(
                "add_liquidity",
                {
                    "token_a": market.base,
                    "token_b": market.quote,
                    "token_a_desired": base,
                    "token_b_desired": quote,
                    "token_a_min": 0,
                    "token_b_min": 0,
                },
            )
        ]


# --- mispricing monitor --------------------------------------------------------------------------
@dataclass(frozen=True)
class Alert:
    time: int
    gap_bps: Fraction
    pool_price: Fraction
    external_price: Fraction
    executed: bool


@dataclass
class MispricingMonitor:
    """Raises an alert whenever the pool is more than `alert_bps` from the external price, and
    executes the arbitrage when its value beats `min_profit_usd`."""

    name: str = "monitor"
    alert_bps: Fraction = Fraction(50)
    min_profit_usd: Fraction = Fraction(1)
    alerts: list[Alert] = field(default_factory=list)

    def observe(self, market: Market) -> list[Action]:
        gap = gap_bps(market)
        price = pool_price(market)
        if gap is None or price is None or abs(gap) <= self.alert_bps:
            return []
        found = arbitrage(market)
        execute = found is not None and found.profit_usd > self.min_profit_usd
        self.alerts.append(Alert(market.time, gap, price, market.external_price, execute))
        if not execute or found is None:
            return []
        return [swap_action(found.token_in, found.token_out, found.amount_in, found.amount_out)]


# --- predictors --------------------------------------------------------------------------------
class Predictor(Protocol):
    """A model of the next move: fed every external price, asked for an expected return."""

    def update(self, time: int, price: Fraction) -> None: ...

    def predict(self) -> Fraction | None:
        """The expected relative move of the price (0.01 = +1%), None until warmed up."""
        ...


@dataclass
class EwmaMomentum:
    """Momentum: the gap between a fast and a slow exponentially weighted moving average.

    EWMA(t) = α·price + (1 − α)·EWMA(t−1), exactly in Fractions rounded to 30 digits so they
    stay small; predict = fast / slow − 1 once `warmup` prices have been seen.
    """

    fast: Fraction = Fraction(1, 3)
    slow: Fraction = Fraction(1, 10)
    warmup: int = 5
    seen: int = 0
    fast_value: Fraction | None = None
    slow_value: Fraction | None = None

    def update(self, time: int, price: Fraction) -> None:
        self.seen += 1
        if self.fast_value is None or self.slow_value is None:
            self.fast_value = self.slow_value = price
            return
        self.fast_value = _tidy(self.fast * price + (1 - self.fast) * self.fast_value)
        self.slow_value = _tidy(self.slow * price + (1 - self.slow) * self.slow_value)

    def predict(self) -> Fraction | None:
        if self.seen < self.warmup or self.fast_value is None or self.slow_value is None:
            return None
        return self.fast_value / self.slow_value - 1


def _tidy(value: Fraction) -> Fraction:
    """Keep denominators bounded: round to 10**-30 (deterministic)."""
    scale = 10**30
    return Fraction(round(value * scale), scale)


@dataclass
class PredictorTrader:
    """Trades on a predictor: above `threshold` buys base with `fraction` of its quote, below
    −threshold sells `fraction` of its base; instant swaps with `slippage_bps` of tolerance."""

    predictor: Predictor = field(default_factory=EwmaMomentum)
    name: str = "momentum"
    threshold: Fraction = Fraction(1, 100)
    fraction: Fraction = Fraction(1, 4)
    slippage_bps: int = 50

    def observe(self, market: Market) -> list[Action]:
        self.predictor.update(market.time, market.external_price)
        signal = self.predictor.predict()
        pool = market.pool(market.base, market.quote)
        if signal is None or pool is None:
            return []
        if signal > self.threshold:
            token_in, token_out = market.quote, market.base
        elif signal < -self.threshold:
            token_in, token_out = market.base, market.quote
        else:
            return []
        amount_in = int(market.balances.get(token_in, 0) * self.fraction)
        if amount_in <= 0:
            return []
        r_in, r_out = reserves(pool, token_in)
        expected = get_amount_out(amount_in, r_in, r_out)
        minimum = expected * (BPS - self.slippage_bps) // BPS
        if minimum <= 0:
            return []
        return [swap_action(token_in, token_out, amount_in, minimum)]


def fee_of(amount_in: int) -> Fraction:
    """The 0.3% fee an input of `amount_in` pays, in the input token's units (exact)."""
    return Fraction(amount_in * (FEE_DENOMINATOR - FEE_NUMERATOR), FEE_DENOMINATOR)
