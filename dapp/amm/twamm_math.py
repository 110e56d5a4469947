"""Stream swaps between two events: Paradigm's TWAMM closed form, evaluated exactly (PROTOCOL §4.3).

Two order pools sell into a pair at constant rates over an interval: pool 0 sells `sold0` of
token0, pool 1 sells `sold1` of token1. The fee (0.3%) is set aside from the sold flow, the rest
trades continuously against the curve x·y = k, and the fee joins the reserves at the end of the
interval. With both pools live the trade has Paradigm's closed form; with one it is the Uniswap
V2 swap of the whole amount (exactly `get_amount_out`).

Exactness. The closed form needs √ and exp. It is evaluated with `decimal` at a precision chosen
from the inputs — twice the digits of the largest amount plus 30 guard digits, never below 60 —
so the absolute error of every intermediate is far below one unit even where the formula
subtracts nearly equal numbers (a pool selling 1 wei into reserves of 10^77). Each pool's
proceeds are then rounded down and one more unit is withheld, so the rounding can only leave
a unit in the pair, never pay one out that the curve did not give: k never decreases. The new
reserves are what is left, so both tokens are conserved to the unit. No binary float is used.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal

from dapp.amm.math import get_amount_out
from dapp.errors import InsufficientLiquidity

FEE_NUMERATOR = 997  # γ = 997/1000: the 0.3% fee of PROTOCOL §4.2, on the sold flow
FEE_DENOMINATOR = 1000
MIN_PRECISION = 60
GUARD_DIGITS = 30


@dataclass(frozen=True)
class Execution:
    """The pair after an interval of stream swaps, and what each pool bought."""

    reserve0: int
    reserve1: int
    proceeds0: int  # token1 paid to pool 0 (the sellers of token0)
    proceeds1: int  # token0 paid to pool 1 (the sellers of token1)


def precision_for(*amounts: int) -> int:
    """Significant digits that keep every intermediate of the closed form exact below a unit."""
    digits = len(str(max(*amounts, 1)))
    return max(MIN_PRECISION, 2 * digits + GUARD_DIGITS)


def execute(reserve0: int, reserve1: int, sold0: int, sold1: int) -> Execution:
    """Run both pools over one interval against reserves (reserve0, reserve1)."""
    if sold0 < 0 or sold1 < 0:
        raise ValueError("sold amounts are never negative")
    if sold0 == 0 and sold1 == 0:
        return Execution(reserve0, reserve1, 0, 0)
    if reserve0 <= 0 or reserve1 <= 0:
        raise InsufficientLiquidity("stream swaps need a pair with reserves of both tokens")
    if sold1 == 0:
        proceeds0 = get_amount_out(sold0, reserve0, reserve1)
        return Execution(reserve0 + sold0, reserve1 - proceeds0, proceeds0, 0)
    if sold0 == 0:
        proceeds1 = get_amount_out(sold1, reserve1, reserve0)
        return Execution(reserve0 - proceeds1, reserve1 + sold1, 0, proceeds1)
    context = decimal.Context(
        prec=precision_for(reserve0, reserve1, sold0, sold1),
        rounding=decimal.ROUND_HALF_EVEN,
        Emax=decimal.MAX_EMAX,
        Emin=decimal.MIN_EMIN,
    )
    with decimal.localcontext(context):
        in0 = Decimal(sold0) * FEE_NUMERATOR / FEE_DENOMINATOR
        in1 = Decimal(sold1) * FEE_NUMERATOR / FEE_DENOMINATOR
        x1, y1 = curve_after(Decimal(reserve0), Decimal(reserve1), in0, in1)
        exact_proceeds0 = reserve1 + in1 - y1  # token1 that left the curve
        exact_proceeds1 = reserve0 + in0 - x1
    proceeds0 = _withheld(exact_proceeds0)
    proceeds1 = _withheld(exact_proceeds1)
    return Execution(
        reserve0 + sold0 - proceeds1, reserve1 + sold1 - proceeds0, proceeds0, proceeds1
    )


def curve_after(x0: Decimal, y0: Decimal, in0: Decimal, in1: Decimal) -> tuple[Decimal, Decimal]:
    """Paradigm's TWAMM: the curve point after `in0` of x and `in1` of y (both > 0) flowed in
    continuously, in the current decimal context. x1·y1 = x0·y0."""
    k = x0 * y0
    root_x = (x0 * in1).sqrt()
    root_y = (y0 * in0).sqrt()
    c = (root_x - root_y) / (root_x + root_y)
    exponent = 2 * (in0 * in1 / k).sqrt()
    # beyond this, e = exp(exponent) dwarfs |c| < 1 and (e + c)/(e − c) is 1 to the last digit
    if exponent > decimal.getcontext().prec * Decimal("2.31") + 10:
        factor = Decimal(1)
    else:
        e = exponent.exp()
        factor = (e + c) / (e - c)
    x1 = (k * in0 / in1).sqrt() * factor
    return x1, k / x1


def _withheld(exact: Decimal) -> int:
    """A pool's proceeds as paid: rounded down, and one unit less for the evaluation's error."""
    return max(0, int(exact.to_integral_value(rounding=decimal.ROUND_FLOOR)) - 1)


# --- order pools: proceeds per unit of sale rate (TWAMM's "earnings factor") --------------------
EARNINGS_SCALE = 2**128  # fixed point of the accumulator: exact shares for any uint256 proceeds


def earnings_increment(proceeds: int, sale_rate: int) -> int:
    """What one unit of sale rate earned of a pool's `proceeds`, rounded down (scaled)."""
    return proceeds * EARNINGS_SCALE // sale_rate


def order_proceeds(sale_rate: int, earnings_at_start: int, earnings_now: int) -> int:
    """An order's share of its pool's proceeds between two readings of the accumulator.

    Both roundings are down, so the orders of a pool are never paid more than it bought.
    """
    return sale_rate * (earnings_now - earnings_at_start) // EARNINGS_SCALE
