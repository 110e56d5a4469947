"""The Uniswap V2 formulas, exactly, on Python integers.

This module's one job is the arithmetic of PROTOCOL §4.2: the functions of ``UniswapV2Library``,
the pair's mint / burn / k rules and ``UniswapV2LiquidityMathLibrary``, each a pure function of
ints (no store, no clock, no floats), so quotes, swaps and arbitrage agents share one code path
and agree with Uniswap to the wei. Solidity's floor division ``/`` is ``//`` here and ``mulDiv``
is ``a * b // c``: Python ints never overflow, so results are the exact ones Uniswap computes
where it does not revert. Checks whose Uniswap revert is an overflow or underflow raise the
nearest Uniswap error instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dapp.errors import (
    IdenticalAddresses,
    InsufficientAmount,
    InsufficientInputAmount,
    InsufficientLiquidity,
    InsufficientLiquidityMinted,
    InsufficientOutputAmount,
    InvalidAddress,
    InvalidAmount,
    InvalidPath,
)

MINIMUM_LIQUIDITY = 1000
FEE_NUMERATOR = 997
FEE_DENOMINATOR = 1000

ADDRESS_LENGTH = 20


def isqrt(y: int) -> int:
    """Floor square root, equal to Uniswap's Babylonian ``Math.sqrt`` for every uint."""
    return math.isqrt(y)


def sort_tokens(token_a: bytes, token_b: bytes) -> tuple[bytes, bytes]:
    """Order two tokens as (token0, token1) by byte value, the pair's canonical side order.

    Unlike Uniswap the zero address is a valid token: it is Ether here.
    """
    for token in (token_a, token_b):
        if len(token) != ADDRESS_LENGTH:
            raise InvalidAddress(f"a token address has 20 bytes, got {len(token)}: 0x{token.hex()}")
    if token_a == token_b:
        raise IdenticalAddresses(f"a pair needs two different tokens, got 0x{token_a.hex()} twice")
    return (token_a, token_b) if token_a < token_b else (token_b, token_a)


def quote(amount_a: int, reserve_a: int, reserve_b: int) -> int:
    """Amount of B worth ``amount_a`` at the pool's current price, with no fee: sizes deposits."""
    if amount_a <= 0:
        raise InsufficientAmount(f"amount must be positive, got {amount_a}")
    if reserve_a <= 0 or reserve_b <= 0:
        raise InsufficientLiquidity(
            f"the pair has no liquidity (reserves {reserve_a}, {reserve_b})"
        )
    return amount_a * reserve_b // reserve_a


def get_amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """Largest output the pair's k check accepts for ``amount_in``, after the 0.3% fee."""
    if amount_in <= 0:
        raise InsufficientInputAmount(f"amount in must be positive, got {amount_in}")
    if reserve_in <= 0 or reserve_out <= 0:
        raise InsufficientLiquidity(
            f"the pair has no liquidity (reserves {reserve_in}, {reserve_out})"
        )
    amount_in_with_fee = amount_in * FEE_NUMERATOR
    numerator = amount_in_with_fee * reserve_out
    denominator = reserve_in * FEE_DENOMINATOR + amount_in_with_fee
    # Rounding down keeps the pool's side of the trade: k can only grow.
    return numerator // denominator


def get_amount_in(amount_out: int, reserve_in: int, reserve_out: int) -> int:
    """Input that buys ``amount_out``, after the 0.3% fee.

    Uniswap adds 1 to the floored quotient even when it divides exactly, so the result can be one
    wei above the smallest sufficient input; kept bit-exact on purpose.
    """
    if amount_out <= 0:
        raise InsufficientOutputAmount(f"amount out must be positive, got {amount_out}")
    if reserve_in <= 0 or reserve_out <= 0:
        raise InsufficientLiquidity(
            f"the pair has no liquidity (reserves {reserve_in}, {reserve_out})"
        )
    if amount_out >= reserve_out:
        # Solidity underflows on (reserveOut - amountOut) here; no input can buy the whole reserve.
        raise InsufficientLiquidity(
            f"cannot buy {amount_out}: the pair holds only {reserve_out} of the output token"
        )
    numerator = reserve_in * amount_out * FEE_DENOMINATOR
    denominator = (reserve_out - amount_out) * FEE_NUMERATOR
    return numerator // denominator + 1


def get_amounts_out(amount_in: int, reserves: Sequence[tuple[int, int]]) -> list[int]:
    """Chain ``get_amount_out`` along a path; ``reserves``: (reserve_in, reserve_out) per hop."""
    if not reserves:
        raise InvalidPath("a path needs at least two tokens (one pair)")
    amounts = [amount_in]
    for reserve_in, reserve_out in reserves:
        amounts.append(get_amount_out(amounts[-1], reserve_in, reserve_out))
    return amounts


def get_amounts_in(amount_out: int, reserves: Sequence[tuple[int, int]]) -> list[int]:
    """Chain ``get_amount_in`` backwards along a path; ``reserves`` is in path order."""
    if not reserves:
        raise InvalidPath("a path needs at least two tokens (one pair)")
    amounts = [amount_out]
    for reserve_in, reserve_out in reversed(reserves):
        amounts.append(get_amount_in(amounts[-1], reserve_in, reserve_out))
    amounts.reverse()
    return amounts


def swap_satisfies_k(
    reserve0: int,
    reserve1: int,
    amount0_in: int,
    amount1_in: int,
    amount0_out: int,
    amount1_out: int,
) -> bool:
    """Whether ``UniswapV2Pair.swap`` accepts the trade: the fee-adjusted k must not decrease.

    A predicate, not a rule: the pair raises its own errors for no output, too large an output or
    no input before asking for k, so those cases are simply False here.
    """
    if min(amount0_in, amount1_in, amount0_out, amount1_out) < 0:
        return False
    if amount0_out == 0 and amount1_out == 0:
        return False
    if amount0_out >= reserve0 or amount1_out >= reserve1:
        return False
    if amount0_in == 0 and amount1_in == 0:
        return False
    return keeps_k_after_fee(
        reserve0,
        reserve1,
        amount0_in,
        amount1_in,
        reserve0 + amount0_in - amount0_out,
        reserve1 + amount1_in - amount1_out,
    )


def keeps_k_after_fee(
    reserve0: int, reserve1: int, amount0_in: int, amount1_in: int, balance0: int, balance1: int
) -> bool:
    """The k check of UniswapV2Pair.swap on the balances after a trade."""
    # The fee is charged on input only: 3/1000 of each input is left out of the adjusted balance.
    balance0_adjusted = balance0 * FEE_DENOMINATOR - amount0_in * (FEE_DENOMINATOR - FEE_NUMERATOR)
    balance1_adjusted = balance1 * FEE_DENOMINATOR - amount1_in * (FEE_DENOMINATOR - FEE_NUMERATOR)
    if balance0_adjusted < 0 or balance1_adjusted < 0:
        return False
    return balance0_adjusted * balance1_adjusted >= reserve0 * reserve1 * FEE_DENOMINATOR**2


def liquidity_minted(
    total_supply: int, reserve0: int, reserve1: int, amount0: int, amount1: int
) -> int:
    """LP tokens for a deposit of (amount0, amount1), as ``UniswapV2Pair.mint``.

    The first deposit gets the geometric mean less ``MINIMUM_LIQUIDITY``, which the caller must
    lock at the zero address forever so the share price can never be inflated from one wei. Later
    deposits get the smaller side's share, so an unbalanced deposit donates its excess.
    """
    if amount0 < 0 or amount1 < 0:
        raise InsufficientLiquidityMinted(f"deposit amounts must be >= 0, got {amount0}, {amount1}")
    if total_supply == 0:
        # Solidity underflows below MINIMUM_LIQUIDITY; both cases mint nothing.
        liquidity = isqrt(amount0 * amount1) - MINIMUM_LIQUIDITY
    else:
        if reserve0 <= 0 or reserve1 <= 0:
            raise InsufficientLiquidity(
                f"the pair has supply {total_supply} but reserves {reserve0}, {reserve1}"
            )
        liquidity = min(amount0 * total_supply // reserve0, amount1 * total_supply // reserve1)
    if liquidity <= 0:
        if total_supply == 0:
            raise InsufficientLiquidityMinted(
                f"the first deposit needs sqrt(amount0 * amount1) > {MINIMUM_LIQUIDITY}, "
                f"got {amount0} and {amount1}; deposit more"
            )
        raise InsufficientLiquidityMinted(
            f"depositing {amount0} and {amount1} would mint no liquidity; deposit more"
        )
    return liquidity


def liquidity_value(
    total_supply: int, reserve0: int, reserve1: int, liquidity: int
) -> tuple[int, int]:
    """Token amounts ``liquidity`` LP tokens redeem for, rounded down in the pool's favour.

    There is no protocol fee here, so Uniswap's feeOn branch does not exist. The pair's burn
    additionally refuses a burn that pays zero of either token; that rule lives in the pair.
    """
    if total_supply <= 0:
        raise InsufficientLiquidity("the pair has no liquidity tokens")
    if liquidity <= 0 or liquidity > total_supply:
        raise InvalidAmount(f"liquidity must be in 1..{total_supply}, got {liquidity}")
    return liquidity * reserve0 // total_supply, liquidity * reserve1 // total_supply


def compute_profit_maximizing_trade(
    true_price_a: int, true_price_b: int, reserve_a: int, reserve_b: int
) -> tuple[bool, int]:
    """Direction and size of the trade that moves the pool price to true_price_a / true_price_b.

    Returns (a_to_b, amount_in); (False, 0) when the pool is already within the fee of the price.
    """
    if true_price_a <= 0 or true_price_b <= 0:
        raise InvalidAmount(f"true prices must be positive, got {true_price_a}, {true_price_b}")
    if reserve_a <= 0 or reserve_b <= 0:
        raise InsufficientLiquidity(
            f"the pair has no liquidity (reserves {reserve_a}, {reserve_b})"
        )
    a_to_b = reserve_a * true_price_b // reserve_b < true_price_a
    invariant = reserve_a * reserve_b
    price_in, price_out = (true_price_a, true_price_b) if a_to_b else (true_price_b, true_price_a)
    left_side = isqrt(invariant * FEE_DENOMINATOR * price_in // (price_out * FEE_NUMERATOR))
    right_side = (reserve_a if a_to_b else reserve_b) * FEE_DENOMINATOR // FEE_NUMERATOR
    if left_side < right_side:
        return False, 0
    return a_to_b, left_side - right_side


def reserves_after_arbitrage(
    true_price_a: int, true_price_b: int, reserve_a: int, reserve_b: int
) -> tuple[int, int]:
    """Reserves once an arbitrageur has made the profit-maximizing trade toward the true price.

    Valuing liquidity at these reserves, not the spot ones, resists price manipulation.
    """
    if reserve_a <= 0 or reserve_b <= 0:
        raise InsufficientLiquidity(
            f"the pair has no liquidity (reserves {reserve_a}, {reserve_b})"
        )
    a_to_b, amount_in = compute_profit_maximizing_trade(
        true_price_a, true_price_b, reserve_a, reserve_b
    )
    if amount_in == 0:
        return reserve_a, reserve_b
    if a_to_b:
        amount_out = get_amount_out(amount_in, reserve_a, reserve_b)
        return reserve_a + amount_in, reserve_b - amount_out
    amount_out = get_amount_out(amount_in, reserve_b, reserve_a)
    return reserve_a - amount_out, reserve_b + amount_in
