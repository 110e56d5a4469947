"""The Uniswap V2 core: pairs, their reserves, LP mint and burn, swaps and the k check.

As in UniswapV2Pair, a pair checks only its own solvency: the caller (the router) first moves
tokens into the pair's ledger account, and the pair measures what arrived as balance − reserve.
Every reserve change goes through `_update`, which writes the row and emits `Sync`. Slippage,
deadlines and paths are the router's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from dapp.addresses import ZERO_ADDRESS, to_checksum_address
from dapp.amm.math import (
    MINIMUM_LIQUIDITY,
    keeps_k_after_fee,
    liquidity_minted,
    sort_tokens,
    swap_satisfies_k,
)
from dapp.errors import (
    InsufficientInputAmount,
    InsufficientLiquidity,
    InsufficientLiquidityBurned,
    InsufficientOutputAmount,
    KInvariant,
    PairNotFound,
)
from dapp.events import Burn, Event, Mint, PairCreated, Swap, Sync
from dapp.keccak import keccak256
from dapp.ledger import Ledger
from dapp.store import Store, decode_amount, encode_amount

PAIR_ADDRESS_SEED = b"streamdex-pair"


def pair_address(token0: bytes, token1: bytes) -> bytes:
    """The pair's address and LP token (PROTOCOL §4.2); token0 < token1 by byte value."""
    return keccak256(PAIR_ADDRESS_SEED + token0 + token1)[12:]


@dataclass
class Pair:
    address: bytes
    token0: bytes
    token1: bytes
    reserve0: int
    reserve1: int

    def reserves_from(self, token_in: bytes) -> tuple[int, int]:
        """(reserve_in, reserve_out) for a trade that pays `token_in` into the pair."""
        if token_in == self.token0:
            return self.reserve0, self.reserve1
        return self.reserve1, self.reserve0


class Pairs:
    """Every pair, with the core operations of UniswapV2Pair over the ledger."""

    def __init__(self, store: Store, ledger: Ledger, events: list[Event]) -> None:
        self.store = store
        self.ledger = ledger
        self.events = events
        self._sql = store.connection

    def find(self, token_a: bytes, token_b: bytes) -> Pair | None:
        token0, token1 = sort_tokens(token_a, token_b)
        token0_id = self.store.address_id(token0)
        token1_id = self.store.address_id(token1)
        if token0_id is None or token1_id is None:
            return None
        row = self._sql.execute(
            "SELECT address, reserve0, reserve1 FROM pairs JOIN addresses ON id = pair_id"
            " WHERE token0_id = ? AND token1_id = ?",
            (token0_id, token1_id),
        ).fetchone()
        if row is None:
            return None
        return Pair(bytes(row[0]), token0, token1, decode_amount(row[1]), decode_amount(row[2]))

    def get(self, token_a: bytes, token_b: bytes) -> Pair:
        pair = self.find(token_a, token_b)
        if pair is None:
            raise PairNotFound(
                f"there is no pair for {to_checksum_address(token_a)} and "
                f"{to_checksum_address(token_b)}; add liquidity to create it"
            )
        return pair

    def create(self, token_a: bytes, token_b: bytes, now: int) -> Pair:
        """A new, empty pair. Streams already sent to its (predictable) address are stopped and
        refunded; what reached the address before is a donation to the first liquidity, as
        tokens sent to a Uniswap pair are."""
        token0, token1 = sort_tokens(token_a, token_b)
        pair = Pair(pair_address(token0, token1), token0, token1, 0, 0)
        self.ledger.stop_streams_to(pair.address, now)
        self._sql.execute(
            "INSERT INTO pairs (pair_id, token0_id, token1_id, reserve0, reserve1)"
            " VALUES (?, ?, ?, 0, 0)",
            (
                self.store.intern_address(pair.address),
                self.store.intern_address(token0),
                self.store.intern_address(token1),
            ),
        )
        self.events.append(PairCreated(token0, token1, pair.address))
        return pair

    def total_supply(self, pair: Pair) -> int:
        return self.ledger.supply(pair.address)

    def mint(self, pair: Pair, sender: bytes, to: bytes, now: int) -> int:
        """LP tokens for what was paid into the pair since the last update; returns liquidity."""
        balance0, balance1 = self._balances(pair, now)
        amount0 = balance0 - pair.reserve0
        amount1 = balance1 - pair.reserve1
        total_supply = self.total_supply(pair)
        liquidity = liquidity_minted(total_supply, pair.reserve0, pair.reserve1, amount0, amount1)
        if total_supply == 0:
            # locked forever: the pair can never be drained back to an empty, re-priceable state
            self.ledger.mint(pair.address, ZERO_ADDRESS, MINIMUM_LIQUIDITY, now)
        self.ledger.mint(pair.address, to, liquidity, now)
        self._update(pair, balance0, balance1)
        self.events.append(Mint(pair.address, sender, to, amount0, amount1, liquidity))
        return liquidity

    def burn(self, pair: Pair, sender: bytes, to: bytes, now: int) -> tuple[int, int]:
        """Redeem the LP tokens paid into the pair for its tokens; returns (amount0, amount1)."""
        liquidity = self.ledger.position(pair.address, pair.address, now).available
        balance0, balance1 = self._balances(pair, now)
        total_supply = self.total_supply(pair)
        amount0 = liquidity * balance0 // total_supply
        amount1 = liquidity * balance1 // total_supply
        if amount0 <= 0 or amount1 <= 0:
            raise InsufficientLiquidityBurned(
                f"{liquidity} LP tokens are worth {amount0} and {amount1} of the pair's tokens; "
                "burn more to receive something of each"
            )
        self.ledger.burn(pair.address, pair.address, liquidity, now)
        self.ledger.move(pair.token0, pair.address, to, amount0, now)
        self.ledger.move(pair.token1, pair.address, to, amount1, now)
        self._update(pair, balance0 - amount0, balance1 - amount1)
        self.events.append(Burn(pair.address, sender, to, amount0, amount1, liquidity))
        return amount0, amount1

    def swap(
        self, pair: Pair, amount0_out: int, amount1_out: int, sender: bytes, to: bytes, now: int
    ) -> None:
        """Pay the outputs to `to`, then require that what came in keeps k (with the fee)."""
        if amount0_out <= 0 and amount1_out <= 0:
            raise InsufficientOutputAmount("a swap must take some of at least one token out")
        if amount0_out >= pair.reserve0 or amount1_out >= pair.reserve1:
            raise InsufficientLiquidity(
                f"the pair holds {pair.reserve0} and {pair.reserve1}; it cannot pay out "
                f"{amount0_out} and {amount1_out}"
            )
        if amount0_out:
            self.ledger.move(pair.token0, pair.address, to, amount0_out, now)
        if amount1_out:
            self.ledger.move(pair.token1, pair.address, to, amount1_out, now)
        balance0, balance1 = self._balances(pair, now)
        amount0_in = max(0, balance0 - (pair.reserve0 - amount0_out))
        amount1_in = max(0, balance1 - (pair.reserve1 - amount1_out))
        if amount0_in <= 0 and amount1_in <= 0:
            raise InsufficientInputAmount("nothing was paid into the pair for this swap")
        if not swap_satisfies_k(
            pair.reserve0, pair.reserve1, amount0_in, amount1_in, amount0_out, amount1_out
        ):
            raise KInvariant(
                f"paying in {amount0_in} and {amount1_in} for {amount0_out} and {amount1_out} "
                "would lower the pair's constant product"
            )
        self._update(pair, balance0, balance1)
        self.ledger.add_volume(pair.token0, amount0_in + amount0_out)
        self.ledger.add_volume(pair.token1, amount1_in + amount1_out)
        self.events.append(
            Swap(pair.address, sender, to, amount0_in, amount1_in, amount0_out, amount1_out, now)
        )

    def swap_with_order_pools(
        self, pair: Pair, amount0_out: int, amount1_out: int, pools: bytes, now: int
    ) -> None:
        """The order pools' trade over one interval (dapp.amm.twamm): they have paid in what
        they sold and take `amount0_out` and `amount1_out`.

        Unlike `swap`, an output may exceed the reserve it is paid from: with both pools
        selling, one pool's purchase comes partly from what the other pool just paid in. The
        k check with the fee is the same, on the balances after.
        """
        for token, amount in ((pair.token0, amount0_out), (pair.token1, amount1_out)):
            if amount:
                self.ledger.move(token, pair.address, pools, amount, now)
        balance0, balance1 = self._balances(pair, now)
        amount0_in = max(0, balance0 - (pair.reserve0 - amount0_out))
        amount1_in = max(0, balance1 - (pair.reserve1 - amount1_out))
        if (
            balance0 <= 0
            or balance1 <= 0
            or not keeps_k_after_fee(
                pair.reserve0, pair.reserve1, amount0_in, amount1_in, balance0, balance1
            )
        ):
            raise KInvariant(
                f"the order pools' trade of {amount0_in} and {amount1_in} for {amount0_out} "
                f"and {amount1_out} would lower the pair's constant product"
            )
        self._update(pair, balance0, balance1)
        self.ledger.add_volume(pair.token0, amount0_in + amount0_out)
        self.ledger.add_volume(pair.token1, amount1_in + amount1_out)
        self.events.append(
            Swap(pair.address, pools, pools, amount0_in, amount1_in, amount0_out, amount1_out, now)
        )

    def _balances(self, pair: Pair, now: int) -> tuple[int, int]:
        """What the pair's ledger account holds of its two tokens (reserves + anything paid in)."""
        return (
            self.ledger.position(pair.address, pair.token0, now).available,
            self.ledger.position(pair.address, pair.token1, now).available,
        )

    def _update(self, pair: Pair, reserve0: int, reserve1: int) -> None:
        """The only writer of reserves; always emits Sync."""
        self._sql.execute(
            "UPDATE pairs SET reserve0 = ?, reserve1 = ? WHERE pair_id = ?",
            (encode_amount(reserve0), encode_amount(reserve1), self.store.address_id(pair.address)),
        )
        pair.reserve0, pair.reserve1 = reserve0, reserve1
        self.events.append(Sync(pair.address, reserve0, reserve1))
