"""Read the market statistics: pairs with their orientation, windows, prices (read-only).

Every figure is as of `as_of`, the time of the last processed input; a window W is
`[as_of − W, as_of]`, both ends included. A pair's window sums are the difference of two rows of
its swap log's running totals (two index lookups, whatever the history); its high and low come
from a few buckets (`Market.high_low`), and the log of the partial hour at its start only when that
hour's bucket reaches beyond them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import cached_property

from dapp.addresses import parse_address, to_checksum_address
from dapp.errors import BadParameter, PairNotFound, StreamdexError
from dapp.stats.buckets import PAIR_CANDLES
from dapp.stats.config import MarketConfig, TokenInfo
from dapp.stats.figures import HOUR, Extremes, PairCandle, period_start
from dapp.stats.numbers import fixed, price, units
from dapp.stats.pricing import Pricing
from dapp.stats.record import CUMULATIVE_COLUMNS
from dapp.stats.values import tracked_value
from dapp.store import Store, decode_amount

WINDOWS = {"1h": 3600, "24h": 86400, "7d": 604800, "30d": 2592000, "all": None}
DAY_SECONDS = 86400
FEE_BPS = 30


@dataclass(frozen=True)
class MarketPair:
    """A pair, oriented: `base` is priced in `target` (CoinGecko's names; CMC's quote)."""

    pair_id: int
    address: bytes
    token0: bytes
    token1: bytes
    reserve0: int
    reserve1: int
    base_is_token0: bool
    created_at: int
    created_input: int

    @property
    def base(self) -> bytes:
        return self.token0 if self.base_is_token0 else self.token1

    @property
    def target(self) -> bytes:
        return self.token1 if self.base_is_token0 else self.token0

    @property
    def reserve_base(self) -> int:
        return self.reserve0 if self.base_is_token0 else self.reserve1

    @property
    def reserve_target(self) -> int:
        return self.reserve1 if self.base_is_token0 else self.reserve0

    @property
    def ticker_id(self) -> str:
        return f"{to_checksum_address(self.base)}_{to_checksum_address(self.target)}"

    def oriented(self, amount0: int, amount1: int) -> tuple[int, int]:
        """(base, target) from (token0, token1)."""
        return (amount0, amount1) if self.base_is_token0 else (amount1, amount0)

    def trade(self, in0: int, in1: int, out0: int, out1: int) -> tuple[int, int, bool]:
        """(base volume, target volume, bought) of a swap: single-sided volumes, and a buy
        took the base token out (CoinGecko)."""
        base_in, target_in = self.oriented(in0, in1)
        base_out, target_out = self.oriented(out0, out1)
        return abs(base_in - base_out), abs(target_in - target_out), base_out > base_in


@dataclass(frozen=True)
class Window:
    """A pair's swaps in a window: the differences of the running totals."""

    volume0: int = 0
    volume1: int = 0
    in0: int = 0
    in1: int = 0
    volume_usd: int = 0
    volume_usd_untracked: int = 0
    fees_usd: int = 0
    swap_count: int = 0
    buy_count: int = 0  # swaps that took the base token out

    # (a dataclass's __dict__ holds its fields in order; dataclasses.astuple deep-copies)
    def __add__(self, other: Window) -> Window:
        pairs = zip(self.__dict__.values(), other.__dict__.values(), strict=True)
        return Window(*(a + b for a, b in pairs))

    def __sub__(self, other: Window) -> Window:
        pairs = zip(self.__dict__.values(), other.__dict__.values(), strict=True)
        return Window(*(a - b for a, b in pairs))


_PAIR_COLUMNS = (
    "SELECT p.pair_id, a.address, t0.address, t1.address, p.reserve0, p.reserve1,"
    " s.created_at, s.created_input FROM pairs p JOIN stat_pairs s USING (pair_id)"
    " JOIN addresses a ON a.id = p.pair_id JOIN addresses t0 ON t0.id = p.token0_id"
    " JOIN addresses t1 ON t1.id = p.token1_id"
)


class Market:
    """The statistics of one read-only snapshot (an inspect request)."""

    def __init__(self, store: Store, config: MarketConfig) -> None:
        self.store = store
        self.sql: sqlite3.Connection = store.connection
        self.config = config
        self.pricing = Pricing(store, config)

    @cached_property
    def as_of(self) -> int:
        return self.store.progress().last_timestamp

    @property
    def priced(self) -> bool:
        return self.pricing.priced

    def usd(self, value: int | None) -> str | None:
        """A stored USD figure as shown: null everywhere when no stablecoin is configured."""
        return fixed(value) if self.priced else None

    # --- tokens ----------------------------------------------------------------------------------
    def info(self, token: bytes) -> TokenInfo:
        return self.config.info(token)

    def amount(self, token: bytes, raw: int) -> str:
        return units(raw, self.config.decimals(token))

    def token_json(self, token: bytes) -> dict[str, object]:
        info = self.info(token)
        return {
            "id": to_checksum_address(token),
            "symbol": info.symbol,
            "name": info.name,
            "decimals": info.decimals,
        }

    # --- pairs -----------------------------------------------------------------------------------
    def pairs(self) -> list[MarketPair]:
        """Every pair, in the order they were created."""
        rows = self.sql.execute(_PAIR_COLUMNS + " ORDER BY s.created_input, p.pair_id")
        return [self._pair(row) for row in rows]

    def pair(self, text: str) -> MarketPair:
        """A pair named by its address or its ticker_id (base_target)."""
        if "_" in text:
            base_text, _, target_text = text.partition("_")
            base = address_parameter(base_text, "ticker_id")
            target = address_parameter(target_text, "ticker_id")
            found = self.pair_of(base, target)
            if found is None or found.base != base:
                raise PairNotFound(f"no pair has the ticker_id {text}; /coingecko/pairs lists them")
            return found
        return self.pair_by_address(address_parameter(text, "the pair"))

    def pair_by_address(self, address: bytes) -> MarketPair:
        pair_id = self.store.address_id(address)
        row = None
        if pair_id is not None:
            row = self.sql.execute(_PAIR_COLUMNS + " WHERE p.pair_id = ?", (pair_id,)).fetchone()
        if row is None:
            raise PairNotFound(f"{to_checksum_address(address)} is not a pair; /pairs lists them")
        return self._pair(row)

    def pair_of(self, token_a: bytes, token_b: bytes) -> MarketPair | None:
        first, second = sorted((token_a, token_b))
        ids = self.store.address_id(first), self.store.address_id(second)
        if None in ids:
            return None
        row = self.sql.execute(
            _PAIR_COLUMNS + " WHERE p.token0_id = ? AND p.token1_id = ?", ids
        ).fetchone()
        return None if row is None else self._pair(row)

    def _pair(self, row: tuple) -> MarketPair:  # type: ignore[type-arg]
        token0, token1 = bytes(row[2]), bytes(row[3])
        return MarketPair(
            pair_id=row[0],
            address=bytes(row[1]),
            token0=token0,
            token1=token1,
            reserve0=decode_amount(row[4]),
            reserve1=decode_amount(row[5]),
            base_is_token0=self.config.base_is_token0(token0, token1),
            created_at=row[6],
            created_input=row[7],
        )

    # --- prices ----------------------------------------------------------------------------------
    def mid_price(self, pair: MarketPair, reserve0: int, reserve1: int) -> int | None:
        """Whole target per whole base at these reserves (fixed point)."""
        reserve_base, reserve_target = pair.oriented(reserve0, reserve1)
        return price(
            reserve_target,
            self.config.decimals(pair.target),
            reserve_base,
            self.config.decimals(pair.base),
        )

    def trade_price(self, pair: MarketPair, volume_base: int, volume_target: int) -> int | None:
        """What a taker got: target per base of the trade itself, fee and slippage included."""
        return price(
            volume_target,
            self.config.decimals(pair.target),
            volume_base,
            self.config.decimals(pair.base),
        )

    def last_price(self, pair: MarketPair) -> int | None:
        """The mid price after the most recent swap, or the current mid without swaps."""
        row = self.sql.execute(
            "SELECT reserve0, reserve1 FROM swap_log WHERE pair_id = ?"
            " ORDER BY ts DESC, id DESC LIMIT 1",
            (pair.pair_id,),
        ).fetchone()
        if row is None:
            return self.mid_price(pair, pair.reserve0, pair.reserve1)
        return self.mid_price(pair, decode_amount(row[0]), decode_amount(row[1]))

    def price_at_open(self, pair: MarketPair, start: int) -> int | None:
        """The price a window opened at: after the last swap before it, else after its first."""
        row = self.sql.execute(
            "SELECT reserve0, reserve1 FROM swap_log WHERE pair_id = ? AND ts < ?"
            " ORDER BY ts DESC, id DESC LIMIT 1",
            (pair.pair_id, start),
        ).fetchone()
        if row is None:
            row = self.sql.execute(
                "SELECT reserve0, reserve1 FROM swap_log WHERE pair_id = ? AND ts >= ?"
                " ORDER BY ts, id LIMIT 1",
                (pair.pair_id, start),
            ).fetchone()
        if row is None:
            return None
        return self.mid_price(pair, decode_amount(row[0]), decode_amount(row[1]))

    def bid_ask(self, mid: int | None) -> tuple[int | None, int | None]:
        """The marginal prices with the fee: selling base gets mid·(1−f), buying pays mid/(1−f)."""
        if mid is None:
            return None, None
        return mid * (10000 - FEE_BPS) // 10000, mid * 10000 // (10000 - FEE_BPS)

    def high_low(self, pair: MarketPair, start: int) -> tuple[int | None, int | None]:
        """Highest and lowest mid price after the pair's swaps in [start, as_of].

        A few buckets, however dense the trading: the window's first whole hour to the end of its
        day from that day bucket's tails, the whole days after it, and the open day (the day of
        the latest hour, never stored) from the latest hour's day so far. When the window starts
        inside the open day, its hours from there are read (up to 24). The partial hour at the
        start lies between its hour's own extremes, so its swaps are read from the log only when
        that hour's bucket reaches beyond the rest of the window: exact to the second for one
        more row in most windows. Extremes are compared on reserve ratios by cross-multiplication;
        only the two winners are priced."""
        latest = PAIR_CANDLES.latest_hour(self.sql, pair.pair_id)
        if latest is None:  # no event yet
            return None, None
        open_day = period_start(latest[0], DAY_SECONDS)
        first_hour = -(-start // HOUR) * HOUR
        first_day = period_start(first_hour, DAY_SECONDS)
        extremes = Extremes()
        if first_day < open_day or first_hour == open_day:
            for day_start, data in self.sql.execute(
                "SELECT start, data FROM pair_candles WHERE pair_id = ? AND span = ?"
                " AND start >= ? AND start < ?",
                (pair.pair_id, DAY_SECONDS, first_day, open_day),
            ):
                hour = (first_hour - day_start) // HOUR if day_start == first_day else 0
                tail = PairCandle.load(data).tail_from(hour)
                if tail is not None:
                    extremes.add_range(*tail)
            extremes.add_range(*latest[1].day_so_far())
        elif first_day == open_day:
            for (data,) in self.sql.execute(
                "SELECT data FROM pair_candles WHERE pair_id = ? AND span = ? AND start >= ?",
                (pair.pair_id, HOUR, first_hour),
            ):
                extremes.add_range(*PairCandle.extremes(data))
        if start < first_hour:
            row = self.sql.execute(
                "SELECT data FROM pair_candles WHERE pair_id = ? AND span = ? AND start = ?",
                (pair.pair_id, HOUR, first_hour - HOUR),
            ).fetchone()
            if row is not None and extremes.widened_by(*PairCandle.extremes(row[0])):
                for r0, r1 in self.sql.execute(
                    "SELECT reserve0, reserve1 FROM swap_log"
                    " WHERE pair_id = ? AND ts >= ? AND ts < ?",
                    (pair.pair_id, start, first_hour),
                ):
                    extremes.add(decode_amount(r0), decode_amount(r1))
        if extremes.top is None:
            return None, None
        top, bottom = extremes.top, extremes.bottom
        if not pair.base_is_token0:  # the price is reserve0/reserve1: the order flips
            top, bottom = bottom, top
        return self.mid_price(pair, *top), self.mid_price(pair, *bottom)

    # --- windows ---------------------------------------------------------------------------------
    def window_start(self, name: str | None, default: str = "24h") -> tuple[str, int | None]:
        """The window's name and first second (None: all history)."""
        chosen = default if name is None else name
        if chosen not in WINDOWS:
            raise BadParameter(f"window must be one of {', '.join(WINDOWS)}, got {chosen!r}")
        length = WINDOWS[chosen]
        return chosen, None if length is None else max(0, self.as_of - length)

    def window(self, pair: MarketPair, start: int | None, end: int | None = None) -> Window:
        """The pair's swaps with start ≤ ts ≤ end (end: as_of)."""
        upper = self._totals(pair.pair_id, "ts <= ?", self.as_of if end is None else end)
        if start is None:
            return upper
        lower = self._totals(pair.pair_id, "ts < ?", start)
        return upper - lower

    def _totals(self, pair_id: int, condition: str, ts: int) -> Window:
        row = self.sql.execute(
            f"SELECT {CUMULATIVE_COLUMNS} FROM swap_log WHERE pair_id = ? AND {condition}"
            " ORDER BY ts DESC, id DESC LIMIT 1",
            (pair_id, ts),
        ).fetchone()
        return Window() if row is None else Window(*(decode_amount(v) for v in row))

    def liquidity_counts(self, pair: MarketPair, start: int | None) -> tuple[int, int]:
        """(mints, burns) of the pair in [start, as_of]."""

        def totals(condition: str, ts: int) -> tuple[int, int]:
            row = self.sql.execute(
                "SELECT c_mints, c_burns FROM liquidity_log WHERE pair_id = ? AND "
                f"{condition} ORDER BY ts DESC, id DESC LIMIT 1",
                (pair.pair_id, ts),
            ).fetchone()
            return (0, 0) if row is None else (row[0], row[1])

        mints, burns = totals("ts <= ?", self.as_of)
        if start is None:
            return mints, burns
        before_mints, before_burns = totals("ts < ?", start)
        return mints - before_mints, burns - before_burns

    def unique_traders(self, pair: MarketPair | None, start: int | None) -> int:
        """Wallets whose last swap (on the pair, or anywhere) is in the window: exactly those
        that swapped in it, since every window ends at as_of."""
        if pair is None:
            sql = "SELECT count(*) FROM stat_accounts WHERE last_swap_ts >= ?"
            args: tuple[int, ...] = (start or 0,)
        else:
            sql = "SELECT count(*) FROM stat_account_pairs WHERE pair_id = ? AND last_swap_ts >= ?"
            args = (pair.pair_id, start or 0)
        return int(self.sql.execute(sql, args).fetchone()[0])

    def unique_providers(self, pair: MarketPair | None, start: int | None) -> int:
        """Wallets that added or removed liquidity (on the pair, or anywhere) in the window."""
        if pair is None:  # as unique_traders: an LP's last event is in the window
            row = self.sql.execute(
                "SELECT count(*) FROM stat_accounts WHERE last_liquidity_ts >= ?", (start or 0,)
            ).fetchone()
            return int(row[0])
        row = self.sql.execute(
            "SELECT count(DISTINCT account_id) FROM liquidity_log WHERE pair_id = ? AND ts >= ?",
            (pair.pair_id, start or 0),
        ).fetchone()
        return int(row[0])

    def liquidity_providers(self, pair: MarketPair) -> int:
        """Wallets holding the pair's LP token: its holders but the zero address (which holds
        the locked minimum) and the pair itself (LP tokens paid in to be burned)."""
        row = self.sql.execute(
            "SELECT holders FROM tokens WHERE token_id = ?", (pair.pair_id,)
        ).fetchone()
        holders = 0 if row is None else int(row[0])
        for holder in (bytes(20), pair.address):
            holder_id = self.store.address_id(holder)
            if (
                holder_id is not None
                and self.sql.execute(
                    "SELECT 1 FROM balances WHERE account_id = ? AND token_id = ?",
                    (holder_id, pair.pair_id),
                ).fetchone()
            ):
                holders -= 1
        return holders

    # --- USD -------------------------------------------------------------------------------------
    def reserve_usd(self, pair: MarketPair) -> tuple[int, int]:
        """(tracked, untracked) USD of the pair's reserves at current prices (stats-routes §1.5)."""
        usd0 = self.pricing.value(pair.token0, pair.reserve0)
        usd1 = self.pricing.value(pair.token1, pair.reserve1)
        tracked = tracked_value(
            self.config.whitelist, pair.token0, pair.token1, usd0, usd1, average=False
        )
        return tracked, (usd0 or 0) + (usd1 or 0)

    def tvl_before(self, ts: int) -> int | None:
        """Σ tracked reserve USD at the end of the last hour that changed it before `ts`."""
        row = self.sql.execute(
            "SELECT tvl_usd FROM tvl_hours WHERE start < ? ORDER BY start DESC LIMIT 1",
            (ts - ts % HOUR,),
        ).fetchone()
        return None if row is None else decode_amount(row[0])


def address_parameter(text: str, what: str) -> bytes:
    """An address given as a parameter; a bad one is a BAD_PARAMETER that names it."""
    try:
        return parse_address(text)
    except StreamdexError as err:  # InvalidAddress
        raise BadParameter(f"{what}: {err}") from None
