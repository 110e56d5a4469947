"""USD prices from the pairs themselves, with no outside feed (stats-routes §1).

A stablecoin is worth one dollar. The reference token is worth the reserve-weighted price of
its pairs with the stablecoins (Uniswap's `getEthPriceInUSD`). Any other token takes its price
from its deepest pair with a whitelisted token (the stablecoins, then the reference token),
measured by the dollars on the whitelisted side; a token with no such pair is unpriced (None),
never guessed. Prices are USD per whole token, fixed point 10**18, rounded toward zero.

Tiering by kind instead of chaining through stored prices (Uniswap's `findEthPerToken`) makes a
price a pure function of the current reserves: no recursion, no staleness, and inspect computes
exactly what an advance would.
"""

from __future__ import annotations

from dataclasses import dataclass

from dapp.stats.config import MarketConfig
from dapp.stats.numbers import SCALE
from dapp.store import Store, decode_amount


@dataclass(frozen=True)
class Quote:
    """A token's price and where it came from: stable, reference, or the pair it was read in."""

    usd: int | None
    via: str  # "stable", "reference", "pair" or "unpriced"
    via_pair: bytes | None = None


UNPRICED = Quote(None, "unpriced")


def forget_moved(
    quotes: dict[bytes, Quote], config: MarketConfig, tokens: tuple[bytes, bytes]
) -> None:
    """Forget the remembered quotes a move of the pair of `tokens` can change. A token's quote
    reads its pairs with the whitelisted tokens and their quotes; the reference token's reads
    its pairs with the stablecoins, and every other quote may read it; a stablecoin's is fixed."""
    reference = config.reference_token
    if reference in tokens and any(token in config.stablecoins for token in tokens):
        quotes.clear()
        return
    for token, other in (tokens, tokens[::-1]):
        if other in config.whitelist:
            quotes.pop(token, None)


class Pricing:
    """Prices at the store's current reserves, each computed once per instance."""

    def __init__(
        self,
        store: Store,
        config: MarketConfig,
        quotes: dict[bytes, Quote] | None = None,
        reserves: dict[tuple[bytes, bytes], tuple[bytes, int, int] | None] | None = None,
    ) -> None:
        """`quotes` and `reserves` (by sorted token pair: the pair and its reserves, or None
        without one) may be shared by a caller that knows when reserves move (the recorder)."""
        self.store = store
        self.config = config
        self._quotes: dict[bytes, Quote] = {} if quotes is None else quotes
        self._reserves: dict[tuple[bytes, bytes], tuple[bytes, int, int] | None] = (
            {} if reserves is None else reserves
        )

    def usd(self, token: bytes) -> int | None:
        return self.quote(token).usd

    def value(self, token: bytes, amount: int) -> int | None:
        """What `amount` base units of `token` are worth in USD (fixed point), or None."""
        price = self.usd(token)
        if price is None:
            return None
        value: int = amount * price // self.config.unit(token)
        return value

    def quote(self, token: bytes) -> Quote:
        known = self._quotes.get(token)
        if known is None:
            known = self._quotes[token] = self._compute(token)
        return known

    @property
    def priced(self) -> bool:
        """Whether any USD figure can exist: at least one stablecoin is configured."""
        return bool(self.config.stablecoins)

    def reference_breakdown(self) -> list[tuple[bytes, bytes, int, int]]:
        """(pair, stablecoin, reference reserve, stablecoin reserve) of every stable pair."""
        reference = self.config.reference_token
        rows: list[tuple[bytes, bytes, int, int]] = []
        if reference is None or reference in self.config.stablecoins:
            return rows
        for stablecoin in self.config.stablecoins:
            found = self.reserves(reference, stablecoin)
            if found is not None and found[1] > 0 and found[2] > 0:
                rows.append((found[0], stablecoin, found[1], found[2]))
        return rows

    def _compute(self, token: bytes) -> Quote:
        config = self.config
        if token in config.stablecoins:
            return Quote(SCALE, "stable")
        if token == config.reference_token:
            return self._reference()
        best: tuple[int, int, bytes] | None = None  # (USD on the whitelisted side, price, pair)
        for anchor in config.whitelist:
            anchor_price = self.quote(anchor).usd
            found = self.reserves(token, anchor)
            if not anchor_price or found is None:
                continue
            pair, reserve_token, reserve_anchor = found
            if reserve_token == 0 or reserve_anchor == 0:
                continue
            anchor_unit = config.unit(anchor)
            depth = reserve_anchor * anchor_price // anchor_unit
            if best is None or depth > best[0]:
                price = (
                    reserve_anchor
                    * anchor_price
                    * config.unit(token)
                    // (reserve_token * anchor_unit)
                )
                best = (depth, price, pair)
        if best is None:
            return UNPRICED
        return Quote(best[1], "pair", best[2])

    def _reference(self) -> Quote:
        """Σ dollars on the stable sides / Σ reference tokens on the other sides."""
        reference = self.config.reference_token
        assert reference is not None
        breakdown = self.reference_breakdown()
        held = sum(row[2] for row in breakdown)
        if held == 0:
            return UNPRICED
        # dollars = Σ reserve_stable / 10**decimals, over the common denominator 10**most
        most = max(self.config.decimals(row[1]) for row in breakdown)
        dollars = sum(row[3] * 10 ** (most - self.config.decimals(row[1])) for row in breakdown)
        price = dollars * SCALE * 10 ** self.config.decimals(reference) // (10**most * held)
        return Quote(price, "reference")

    def reserves(self, token: bytes, other: bytes) -> tuple[bytes, int, int] | None:
        """The pair of two tokens and its reserves as (pair, reserve of token, reserve of other)."""
        key = (token, other) if token < other else (other, token)
        if key in self._reserves:
            found = self._reserves[key]
        else:
            found = self._reserves[key] = self._read_reserves(*key)
        if found is None:
            return None
        pair, reserve0, reserve1 = found
        return (pair, reserve0, reserve1) if token < other else (pair, reserve1, reserve0)

    def _read_reserves(self, token0: bytes, token1: bytes) -> tuple[bytes, int, int] | None:
        token0_id, token1_id = self.store.address_id(token0), self.store.address_id(token1)
        if token0_id is None or token1_id is None:
            return None
        row = self.store.connection.execute(
            "SELECT address, reserve0, reserve1 FROM pairs JOIN addresses ON id = pair_id"
            " WHERE token0_id = ? AND token1_id = ?",
            (token0_id, token1_id),
        ).fetchone()
        if row is None:
            return None
        return bytes(row[0]), decode_amount(row[1]), decode_amount(row[2])
