"""What one swap is worth: its volumes, USD values and fee (stats-routes §0, §1.4).

Pure arithmetic over a `Pricing` (USD per whole token, fixed point 10**18): the recorder and the
benchmark's bulk seeder both value swaps here, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from dapp.stats.pricing import Pricing

FEE_NUMERATOR, FEE_DENOMINATOR = 3, 1000  # Uniswap V2's 0.3%, charged on what is paid in


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ is several times slower
class SwapValues:
    """A swap's figures. Volumes are single-sided, |in − out| per token (PowerLoom); `tracked`
    counts whitelisted sides only and `untracked` every priced side (Uniswap's subgraph)."""

    amount0_in: int
    amount1_in: int
    amount0_out: int
    amount1_out: int
    volume0: int
    volume1: int
    usd0: int | None  # the volumes' USD values (None: the token has no price)
    usd1: int | None
    whitelisted0: bool
    whitelisted1: bool
    tracked: int
    untracked: int
    fee: int  # USD, 0.3% of what was paid in
    fee0: int  # the same, per token
    fee1: int
    received: int  # USD of what left the pair
    paid: int  # USD of what came in

    def accumulate(self, cumulative: list[int], base_is_token0: bool) -> list[int]:
        """A pair's running totals (swap_log's c_ columns) with this swap added."""
        return [
            cumulative[0] + self.volume0,
            cumulative[1] + self.volume1,
            cumulative[2] + self.amount0_in,
            cumulative[3] + self.amount1_in,
            cumulative[4] + self.tracked,
            cumulative[5] + self.untracked,
            cumulative[6] + self.fee,
            cumulative[7] + 1,
            cumulative[8] + self.bought(base_is_token0),
        ]

    def bought(self, base_is_token0: bool) -> bool:
        """A buy took the pair's base token out of it (CoinGecko's "an ask was removed")."""
        if base_is_token0:
            return self.amount0_out > self.amount0_in
        return self.amount1_out > self.amount1_in


def swap_values(
    pricing: Pricing,
    token0: bytes,
    token1: bytes,
    amount0_in: int,
    amount1_in: int,
    amount0_out: int,
    amount1_out: int,
) -> SwapValues:
    """Each side valued as `Pricing.value` would (amount · price // unit), each price read once."""
    config = pricing.config
    whitelist = config.whitelist
    price0, price1 = pricing.usd(token0), pricing.usd(token1)
    unit0, unit1 = config.unit(token0), config.unit(token1)
    volume0 = abs(amount0_in - amount0_out)
    volume1 = abs(amount1_in - amount1_out)
    usd0, paid0, received0 = _side(price0, unit0, volume0, amount0_in, amount0_out)
    usd1, paid1, received1 = _side(price1, unit1, volume1, amount1_in, amount1_out)
    return SwapValues(
        amount0_in,
        amount1_in,
        amount0_out,
        amount1_out,
        volume0,
        volume1,
        usd0,
        usd1,
        token0 in whitelist,
        token1 in whitelist,
        tracked=tracked_value(whitelist, token0, token1, usd0, usd1, average=True),
        untracked=average_value(usd0, usd1),
        fee=(paid0 + paid1) * FEE_NUMERATOR // FEE_DENOMINATOR,
        fee0=paid0 * FEE_NUMERATOR // FEE_DENOMINATOR,
        fee1=paid1 * FEE_NUMERATOR // FEE_DENOMINATOR,
        received=received0 + received1,
        paid=paid0 + paid1,
    )


def _side(
    price: int | None, unit: int, volume: int, paid: int, received: int
) -> tuple[int | None, int, int]:
    """One token's (volume USD or None, USD paid in, USD taken out) at `price` per `unit`."""
    if price is None:
        return None, 0, 0
    return volume * price // unit, paid * price // unit, received * price // unit


def tracked_value(
    whitelist: tuple[bytes, ...],
    token0: bytes,
    token1: bytes,
    usd0: int | None,
    usd1: int | None,
    *,
    average: bool,
) -> int:
    """Uniswap's tracked amount: only whitelisted sides count; a swap averages two such sides,
    a reserve adds them (and one whitelisted side alone counts twice for a reserve)."""
    white0, white1 = token0 in whitelist, token1 in whitelist
    value0, value1 = usd0 or 0, usd1 or 0
    if white0 and white1:
        return (value0 + value1) // 2 if average else value0 + value1
    if white0:
        return value0 if average else 2 * value0
    if white1:
        return value1 if average else 2 * value1
    return 0


def average_value(usd0: int | None, usd1: int | None) -> int:
    """Both sides priced: their mean; one: that one; none: 0 (Uniswap's untracked volume)."""
    if usd0 is not None and usd1 is not None:
        return (usd0 + usd1) // 2
    return usd0 if usd0 is not None else usd1 or 0


def impact_bps(before0: int, before1: int, after0: int, after1: int) -> int:
    """How far a trade moved the mid price (reserve1/reserve0), in basis points of before."""
    before = before1 * after0
    if before == 0:
        return 0
    return abs(after1 * before0 - before) * 10000 // before
