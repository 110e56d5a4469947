"""Risk limits from a JSON file, enforced by the runner on every action before it is sent.

```json
{"default": {"max_position_usd": "50000", "max_slippage_bps": 100, "stop_loss_usd": "5000",
             "max_trades_per_day": 24, "cooldown_seconds": 3600},
 "agents": {"arb": {"max_trades_per_day": null}}}
```

Every limit is optional (absent or null: no limit); `agents` overrides `default` per agent name,
key by key. Numbers may be JSON numbers or decimal strings; they are read exactly (no floats).

- `max_position_usd`: the value, at the external price, of the base token the agent holds
  (its `available` balance) plus what the action would buy (quoted on the pool as it is now)
  must not exceed this. Only actions that buy the base token are checked.
- `max_slippage_bps`: an instant swap's price impact beyond the 0.3% fee — 1 − quote /
  (amount_in · 0.997 · spot price) on the pool as it is now — must not exceed this, and its
  `amount_out_min` must not be 0 (an unprotected swap). Stream swaps are not checked (their
  price is only known as they sell).
- `stop_loss_usd`: once the agent's PnL (value now − value at its first step, at the external
  price) is at or below −stop_loss_usd, every further action is refused.
- `max_trades_per_day`: actions sent per UTC day (time // 86400).
- `cooldown_seconds`: when the value of the agent at a step is below its value right before its
  last traded step (that trade lost money), no action for this many seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from agents.base import Action, Market
from dapp.amm.math import FEE_DENOMINATOR, FEE_NUMERATOR, get_amount_out


@dataclass(frozen=True)
class RiskLimits:
    max_position_usd: Fraction | None = None
    max_slippage_bps: Fraction | None = None
    stop_loss_usd: Fraction | None = None
    max_trades_per_day: int | None = None
    cooldown_seconds: int | None = None


@dataclass(frozen=True)
class RiskConfig:
    default: RiskLimits = RiskLimits()
    agents: dict[str, RiskLimits] = field(default_factory=dict)

    def for_agent(self, name: str) -> RiskLimits:
        return self.agents.get(name, self.default)


_INTEGER_LIMITS = {"max_trades_per_day", "cooldown_seconds"}


def _limits(raw: object, base: RiskLimits, where: str) -> RiskLimits:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected an object of limits")
    known = {f.name for f in fields(RiskLimits)}
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ValueError(f"{where}: unknown limit {key!r} (known: {', '.join(sorted(known))})")
        if value is None:
            changes[key] = None
            continue
        if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
            raise ValueError(f"{where}.{key}: expected a number, got {value!r}")
        try:
            exact = Fraction(value)
        except ValueError as err:
            raise ValueError(f"{where}.{key}: expected a number, got {value!r}") from err
        if exact < 0:
            raise ValueError(f"{where}.{key}: must not be negative")
        if key in _INTEGER_LIMITS:
            if exact.denominator != 1:
                raise ValueError(f"{where}.{key}: must be an integer")
            changes[key] = int(exact)
        else:
            changes[key] = exact
    return replace(base, **changes)


def parse_risk_config(document: object) -> RiskConfig:
    if not isinstance(document, dict):
        raise ValueError("risk config: expected a JSON object")
    unknown = set(document) - {"default", "agents"}
    if unknown:
        raise ValueError(f"risk config: unknown keys {sorted(unknown)}")
    default = _limits(document.get("default", {}), RiskLimits(), "default")
    agents_raw = document.get("agents", {})
    if not isinstance(agents_raw, dict):
        raise ValueError("risk config: `agents` must be an object")
    agents = {
        name: _limits(raw, default, f"agents.{name}") for name, raw in sorted(agents_raw.items())
    }
    return RiskConfig(default, agents)


def load_risk_config(path: str | Path) -> RiskConfig:
    with open(path, encoding="utf-8") as handle:
        return parse_risk_config(json.load(handle, parse_float=Decimal))


def token_value_usd(market: Market, token: str, amount: int) -> Fraction:
    """The value of `amount` base units of the base or quote token, in quote (USD) units."""
    whole = Fraction(amount, 10 ** market.decimals[token])
    if token == market.quote:
        return whole
    if token == market.base:
        return whole * market.external_price
    raise ValueError(f"no price for token {token}")


def _expected_out(market: Market, token_in: str, token_out: str, amount_in: int) -> int | None:
    pool = market.pool(token_in, token_out)
    if pool is None or pool.reserve0 <= 0 or pool.reserve1 <= 0 or amount_in <= 0:
        return None
    r_in, r_out = (
        (pool.reserve0, pool.reserve1)
        if pool.token0 == token_in
        else (pool.reserve1, pool.reserve0)
    )
    return get_amount_out(amount_in, r_in, r_out)


@dataclass
class RiskState:
    """What the runner remembers about one agent between steps."""

    initial_value: Fraction | None = None
    halted: bool = False
    trades_by_day: dict[int, int] = field(default_factory=dict)
    cooldown_until: int = -1
    value_before_last_trade: Fraction | None = None


class RiskGuard:
    """Checks one agent's actions against its limits; the runner calls it, agents cannot."""

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self.state = RiskState()

    def start_step(self, time: int, value: Fraction) -> None:
        """Before the agent observes: update the stop loss and the cooldown from its value."""
        state, limits = self.state, self.limits
        if state.initial_value is None:
            state.initial_value = value
        if (
            limits.stop_loss_usd is not None
            and value - state.initial_value <= -limits.stop_loss_usd
        ):
            state.halted = True
        if state.value_before_last_trade is not None:
            if value < state.value_before_last_trade and limits.cooldown_seconds:
                state.cooldown_until = time + limits.cooldown_seconds
            state.value_before_last_trade = None

    def check(self, market: Market, action: Action, position_added: int = 0) -> str | None:
        """None when `action` may go; otherwise the rule it breaks and why.

        `position_added` is base already bought earlier in this step (not yet in `market`).
        """
        state, limits = self.state, self.limits
        if state.halted:
            return "stop_loss: the agent's loss reached its stop loss; it trades no more"
        if market.time < state.cooldown_until:
            return f"cooldown: after a losing trade, no trade before {state.cooldown_until}"
        day = market.time // 86_400
        if (
            limits.max_trades_per_day is not None
            and state.trades_by_day.get(day, 0) >= limits.max_trades_per_day
        ):
            return f"max_trades_per_day: {limits.max_trades_per_day} already sent today"
        if action.method != "swap":
            return None
        path = [str(token).lower() for token in action.args.get("path", [])]
        if len(path) < 2:
            return None
        amount_in = int(action.args.get("amount_in", 0))
        expected = _expected_out(market, path[0], path[1], amount_in)
        stream = int(action.args.get("duration", 0) or 0) > 0
        if limits.max_slippage_bps is not None and not stream and len(path) == 2:
            if int(action.args.get("amount_out_min", 0)) <= 0:
                return "max_slippage: an instant swap with amount_out_min 0 is unprotected"
            pool = market.pool(path[0], path[1])
            if expected is not None and pool is not None:
                r_in, r_out = (
                    (pool.reserve0, pool.reserve1)
                    if pool.token0 == path[0]
                    else (pool.reserve1, pool.reserve0)
                )
                ideal = Fraction(amount_in * FEE_NUMERATOR * r_out, FEE_DENOMINATOR * r_in)
                impact_bps = (1 - expected / ideal) * 10_000
                if impact_bps > limits.max_slippage_bps:
                    return (
                        f"max_slippage: price impact {float(impact_bps):.1f} bps over the limit "
                        f"of {limits.max_slippage_bps} bps"
                    )
        if limits.max_position_usd is not None and path[-1] == market.base and len(path) == 2:
            held = market.balances.get(market.base, 0) + position_added + (expected or 0)
            value = token_value_usd(market, market.base, held)
            if value > limits.max_position_usd:
                return (
                    f"max_position: {float(value):.2f} USD of base after the trade, over the "
                    f"limit of {limits.max_position_usd} USD"
                )
        return None

    def record_sent(self, time: int, value_before: Fraction) -> None:
        """An action was sent at `time` (accepted or not, it counts as a trade)."""
        day = time // 86_400
        self.state.trades_by_day[day] = self.state.trades_by_day.get(day, 0) + 1
        if self.state.value_before_last_trade is None:
            self.state.value_before_last_trade = value_before


def expected_out(market: Market, token_in: str, token_out: str, amount_in: int) -> int | None:
    """The pool's exact quote for an instant swap of `amount_in`, None without a pool."""
    return _expected_out(market, token_in, token_out, amount_in)
