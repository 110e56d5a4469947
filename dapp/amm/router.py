"""The Uniswap V2 periphery: liquidity with optimal amounts, multi-hop swaps, the user's limits.

As UniswapV2Router02, the router computes amounts with the pure library functions (the same ones
inspect quotes call), checks the user's minimums, maximums and deadline, moves the user's tokens
into the pairs and lets each pair check its own solvency.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Protocol

from dapp.amm import math
from dapp.amm.pair import Pair, Pairs
from dapp.errors import (
    ExcessiveInputAmount,
    Expired,
    InsufficientAAmount,
    InsufficientBAmount,
    InsufficientOutputAmount,
    InvalidAmount,
    InvalidPath,
)
from dapp.ledger import UINT256_MAX, Ledger, check_amount


def ensure_deadline(deadline: int | None, now: int) -> None:
    """Reject an input whose block is later than the user's deadline (None: no deadline)."""
    if deadline is not None and now > deadline:
        raise Expired(f"the deadline {deadline} has passed (the input's time is {now})")


def check_bound(value: int, what: str) -> None:
    """A user's minimum or maximum: any uint256, zero included."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= UINT256_MAX:
        raise InvalidAmount(f"{what} must be an integer from 0 to 2**256 - 1, got {value!r}")


class PairClock(Protocol):
    """Brings a pair to a time: between inputs, stream swaps (dapp.amm.twamm) move its reserves."""

    def advance(self, pair: Pair, now: int) -> Pair:
        """Execute what happened to the pair up to `now` (writes)."""
        ...

    def peek(self, pair: Pair, at: int) -> Pair:
        """The pair as it would be at `at` (writes nothing)."""
        ...


class Router:
    def __init__(self, pairs: Pairs, ledger: Ledger, clock: PairClock | None = None) -> None:
        self.pairs = pairs
        self.ledger = ledger
        self.clock = clock

    # --- quotes (read-only) ---------------------------------------------------------------------
    def path_pairs(self, path: Sequence[bytes]) -> list[Pair]:
        """The pairs a path goes through, each at most once."""
        if len(path) < 2:
            raise InvalidPath("a path needs at least two tokens")
        hops = [self.pairs.get(token_in, token_out) for token_in, token_out in pairwise(path)]
        if len({pair.address for pair in hops}) != len(hops):
            raise InvalidPath("a path may go through each pair only once")
        return hops

    def get_amounts_out(
        self, amount_in: int, path: Sequence[bytes], at: int | None = None
    ) -> list[int]:
        hops = self._peeked(self.path_pairs(path), at)
        return math.get_amounts_out(amount_in, _reserves(hops, path))

    def get_amounts_in(
        self, amount_out: int, path: Sequence[bytes], at: int | None = None
    ) -> list[int]:
        hops = self._peeked(self.path_pairs(path), at)
        return math.get_amounts_in(amount_out, _reserves(hops, path))

    def _peeked(self, hops: list[Pair], at: int | None) -> list[Pair]:
        if self.clock is None or at is None:
            return hops
        clock = self.clock
        return [clock.peek(pair, at) for pair in hops]

    def _advanced(self, pair: Pair, now: int) -> Pair:
        return pair if self.clock is None else self.clock.advance(pair, now)

    # --- liquidity ------------------------------------------------------------------------------
    def add_liquidity(
        self,
        sender: bytes,
        token_a: bytes,
        token_b: bytes,
        amount_a_desired: int,
        amount_b_desired: int,
        amount_a_min: int,
        amount_b_min: int,
        to: bytes,
        deadline: int | None,
        now: int,
    ) -> tuple[int, int, int]:
        """Router02.addLiquidity; creates the pair on first liquidity. Returns (a, b, liquidity)."""
        ensure_deadline(deadline, now)
        check_amount(amount_a_desired, "token_a_desired")
        check_amount(amount_b_desired, "token_b_desired")
        check_bound(amount_a_min, "token_a_min")
        check_bound(amount_b_min, "token_b_min")
        pair = self._advanced(
            self.pairs.find(token_a, token_b) or self.pairs.create(token_a, token_b, now), now
        )
        self.ledger.check_recipient(to)  # after creation: the new pair cannot receive either
        reserve_a, reserve_b = pair.reserves_from(token_a)
        if reserve_a == 0 and reserve_b == 0:
            amount_a, amount_b = amount_a_desired, amount_b_desired
        else:
            amount_b_optimal = math.quote(amount_a_desired, reserve_a, reserve_b)
            if amount_b_optimal <= amount_b_desired:
                if amount_b_optimal < amount_b_min:
                    raise InsufficientBAmount(
                        f"at the pair's price {amount_a_desired} of token A matches "
                        f"{amount_b_optimal} of token B, below token_b_min {amount_b_min}"
                    )
                amount_a, amount_b = amount_a_desired, amount_b_optimal
            else:
                amount_a_optimal = math.quote(amount_b_desired, reserve_b, reserve_a)
                assert amount_a_optimal <= amount_a_desired
                if amount_a_optimal < amount_a_min:
                    raise InsufficientAAmount(
                        f"at the pair's price {amount_b_desired} of token B matches "
                        f"{amount_a_optimal} of token A, below token_a_min {amount_a_min}"
                    )
                amount_a, amount_b = amount_a_optimal, amount_b_desired
        self._pay(token_a, sender, pair.address, amount_a, now)
        self._pay(token_b, sender, pair.address, amount_b, now)
        liquidity = self.pairs.mint(pair, sender, to, now)
        return amount_a, amount_b, liquidity

    def remove_liquidity(
        self,
        sender: bytes,
        token_a: bytes,
        token_b: bytes,
        liquidity: int,
        amount_a_min: int,
        amount_b_min: int,
        to: bytes,
        deadline: int | None,
        now: int,
    ) -> tuple[int, int]:
        """Router02.removeLiquidity. Returns (amount_a, amount_b)."""
        ensure_deadline(deadline, now)
        check_amount(liquidity, "liquidity")
        check_bound(amount_a_min, "amount_a_min")
        check_bound(amount_b_min, "amount_b_min")
        self.ledger.check_recipient(to)
        pair = self._advanced(self.pairs.get(token_a, token_b), now)
        self.ledger.move(pair.address, sender, pair.address, liquidity, now)
        amount0, amount1 = self.pairs.burn(pair, sender, to, now)
        amount_a, amount_b = (amount0, amount1) if token_a == pair.token0 else (amount1, amount0)
        if amount_a < amount_a_min:
            raise InsufficientAAmount(
                f"{liquidity} LP tokens give {amount_a} of token A, "
                f"below amount_a_min {amount_a_min}"
            )
        if amount_b < amount_b_min:
            raise InsufficientBAmount(
                f"{liquidity} LP tokens give {amount_b} of token B, "
                f"below amount_b_min {amount_b_min}"
            )
        return amount_a, amount_b

    # --- swaps ----------------------------------------------------------------------------------
    def swap_exact_tokens_for_tokens(
        self,
        sender: bytes,
        amount_in: int,
        amount_out_min: int,
        path: Sequence[bytes],
        to: bytes,
        deadline: int | None,
        now: int,
    ) -> list[int]:
        """Router02.swapExactTokensForTokens: sell exactly `amount_in` of path[0]."""
        ensure_deadline(deadline, now)
        check_amount(amount_in, "amount_in")
        check_bound(amount_out_min, "amount_out_min")
        self.ledger.check_recipient(to)
        hops = [self._advanced(pair, now) for pair in self.path_pairs(path)]
        amounts = math.get_amounts_out(amount_in, _reserves(hops, path))
        if amounts[-1] < amount_out_min:
            raise InsufficientOutputAmount(
                f"selling {amount_in} gives {amounts[-1]}, below amount_out_min {amount_out_min}"
            )
        self._swap(sender, amounts, path, hops, to, now)
        return amounts

    def swap_tokens_for_exact_tokens(
        self,
        sender: bytes,
        amount_out: int,
        amount_in_max: int,
        path: Sequence[bytes],
        to: bytes,
        deadline: int | None,
        now: int,
    ) -> list[int]:
        """Router02.swapTokensForExactTokens: buy exactly `amount_out` of path[-1]."""
        ensure_deadline(deadline, now)
        check_amount(amount_out, "amount_out")
        check_bound(amount_in_max, "amount_in_max")
        self.ledger.check_recipient(to)
        hops = [self._advanced(pair, now) for pair in self.path_pairs(path)]
        amounts = math.get_amounts_in(amount_out, _reserves(hops, path))
        if amounts[0] > amount_in_max:
            raise ExcessiveInputAmount(
                f"buying {amount_out} costs {amounts[0]}, above amount_in_max {amount_in_max}"
            )
        self._swap(sender, amounts, path, hops, to, now)
        return amounts

    def _swap(
        self,
        sender: bytes,
        amounts: list[int],
        path: Sequence[bytes],
        hops: list[Pair],
        to: bytes,
        now: int,
    ) -> None:
        """Pay amounts[0] into the first pair; each pair pays its output into the next one."""
        if amounts[-1] <= 0:
            raise InsufficientOutputAmount(
                f"selling {amounts[0]} would buy nothing; sell more than that"
            )
        self.ledger.move(path[0], sender, hops[0].address, amounts[0], now)
        for i, pair in enumerate(hops):
            amount_out = amounts[i + 1]
            amount0_out, amount1_out = (
                (0, amount_out) if path[i] == pair.token0 else (amount_out, 0)
            )
            recipient = hops[i + 1].address if i + 1 < len(hops) else to
            self.pairs.swap(pair, amount0_out, amount1_out, sender, recipient, now)

    def _pay(self, token: bytes, sender: bytes, pair_address: bytes, amount: int, now: int) -> None:
        # a zero amount moves nothing; the pair's mint then refuses to mint zero liquidity
        if amount:
            self.ledger.move(token, sender, pair_address, amount, now)


def _reserves(hops: list[Pair], path: Sequence[bytes]) -> list[tuple[int, int]]:
    return [pair.reserves_from(token_in) for pair, token_in in zip(hops, path[:-1], strict=True)]
