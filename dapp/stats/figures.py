"""The rows the statistics keep per period and per account, and how they are stored.

Each is a flat record of integers (None where there is no value, e.g. no USD price), stored as
one value in field order: one read and one write per bucket per input, with no arithmetic in
SQL (uint256 sums overflow SQLite's 64-bit integers). Changing a field's order is a schema change.

The stored form is the list of the fields in `marshal` format version 2: a fixed binary layout
(ints as 32-bit values or as 15-bit digits, None as one byte) that depends on neither the machine
nor object identity (version 2 has no back-references), read back by the same C code in every
Python 3. Against JSON text it is a quarter of the work either way (no decimal conversion of
uint256 values, the recorder's largest cost) and a third smaller.
"""

from __future__ import annotations

import marshal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from dapp.stats.values import SwapValues

T = TypeVar("T", bound="Figures")

HOUR = 3600
DAY = 86400
SPANS = {"1h": HOUR, "1d": DAY}
STORED_FORMAT = 2  # marshal's version: the newest without back-references


@dataclass
class Figures:
    def dump(self) -> bytes:
        """The fields in declaration order (a dataclass's __dict__ keeps it)."""
        return marshal.dumps(list(self.__dict__.values()), STORED_FORMAT)

    @classmethod
    def load(cls: type[T], stored: bytes) -> T:
        return cls(*marshal.loads(stored))


@dataclass
class PairCandle(Figures):
    """A pair's hour or day (Uniswap's PairHourData/PairDayData, plus OHLC).

    The open, high, low and close are those of the mid price after each swap in the period
    (mints and burns trade nothing), kept as the reserves after those swaps so the price can be
    shown exactly in either orientation (token1 per token0, or its inverse); zeros until the
    period's first swap. `reserve0`/`reserve1` are the reserves after its last event of any kind.

    Two more fields let a window's high and low be read from a few buckets, however dense the
    trading: an hour bucket keeps the extremes of its day's earlier hours (`day_*`, set when it
    opens), so the latest hour gives its whole day so far; a day bucket keeps its tails, the
    day's extremes from each hour on (`day_tails`), so a window starting mid-day reads one row
    for the rest of that day."""

    open0: int
    open1: int
    high0: int
    high1: int
    low0: int
    low1: int
    close0: int
    close1: int
    volume0: int = 0
    volume1: int = 0
    in0: int = 0
    in1: int = 0
    volume_usd: int = 0
    volume_usd_untracked: int = 0
    fees_usd: int = 0
    swap_count: int = 0
    tx_count: int = 0
    reserve_usd: int = 0  # tracked, at the close
    supply: int = 0  # LP tokens, at the close
    reserve0: int = 0
    reserve1: int = 0
    day_high0: int = 0  # hour buckets: the highest and lowest ratio of the day's earlier hours
    day_high1: int = 0
    day_low0: int = 0
    day_low1: int = 0
    tail_highs: list[int] = field(default_factory=list)  # day buckets: see day_tails
    tail_lows: list[int] = field(default_factory=list)

    @classmethod
    def opening(cls) -> PairCandle:
        return cls(0, 0, 0, 0, 0, 0, 0, 0)

    def next_hour(self) -> PairCandle:
        """The bucket of a later hour of the same day: it opens with the day's extremes so far."""
        later = PairCandle.opening()
        later.day_high0, later.day_high1, later.day_low0, later.day_low1 = self.day_so_far()
        return later

    def day_so_far(self) -> tuple[int, int, int, int]:
        """(high0, high1, low0, low1) of the day up to the end of this hour bucket."""
        extremes = Extremes()
        extremes.add_range(self.day_high0, self.day_high1, self.day_low0, self.day_low1)
        extremes.add_range(self.high0, self.high1, self.low0, self.low1)
        return extremes.stored()

    @classmethod
    def day_of(cls, hours: Sequence[tuple[int, PairCandle]]) -> PairCandle:
        """A day bucket from its hour buckets (start, bucket) in order."""
        day = cls.opening()
        for _, hour in hours:
            day.merge(hour)
        day.tail_highs, day.tail_lows = day_tails(hours)
        return day

    def tail_from(self, hour: int) -> tuple[int, int, int, int] | None:
        """(high0, high1, low0, low1) of this day bucket's hours from its `hour`-th (0–23) on;
        None if none of them has a swap."""
        high = _first_from(self.tail_highs, hour)
        low = _first_from(self.tail_lows, hour)
        if high is None or low is None:
            return None
        return (*high, *low)

    @staticmethod
    def extremes(stored: bytes) -> tuple[int, int, int, int]:
        """(high0, high1, low0, low1) of a stored candle, without building it: a window's high
        and low read many."""
        high0, high1, low0, low1 = marshal.loads(stored)[2:6]
        return high0, high1, low0, low1

    def add_swap(self, values: SwapValues, reserve0: int, reserve1: int) -> None:
        self.volume0 += values.volume0
        self.volume1 += values.volume1
        self.in0 += values.amount0_in
        self.in1 += values.amount1_in
        self.volume_usd += values.tracked
        self.volume_usd_untracked += values.untracked
        self.fees_usd += values.fee
        self.swap_count += 1
        self.add_event(reserve0, reserve1)
        self.price_event(reserve0, reserve1)

    def add_event(self, reserve0: int, reserve1: int) -> None:
        """A swap, mint or burn: one more transaction, and the reserves after it."""
        self.tx_count += 1
        self.reserve0, self.reserve1 = reserve0, reserve1

    def price_event(self, reserve0: int, reserve1: int) -> None:
        """Fold in the mid price after a swap (reserve1 / reserve0)."""
        if self.open0 == 0 and self.open1 == 0:
            self.open0 = self.high0 = self.low0 = reserve0
            self.open1 = self.high1 = self.low1 = reserve1
        self._widen(reserve0, reserve1, reserve0, reserve1)
        self.close0, self.close1 = reserve0, reserve1

    def _widen(self, high0: int, high1: int, low0: int, low1: int) -> None:
        """Take a higher high or a lower low (this bucket already has a price)."""
        if ratio_above(high0, high1, self.high0, self.high1):
            self.high0, self.high1 = high0, high1
        if ratio_above(self.low0, self.low1, low0, low1):
            self.low0, self.low1 = low0, low1

    def merge(self, later: PairCandle) -> None:
        """Fold in the next period of the same pair (a day is its hours merged in order; the
        `day_*` and `tails` fields belong to one bucket and are not merged)."""
        if later.open0 or later.open1:  # it has a swap: a price
            if self.open0 == 0 and self.open1 == 0:
                self.open0, self.open1 = later.open0, later.open1
                self.high0, self.high1 = later.high0, later.high1
                self.low0, self.low1 = later.low0, later.low1
            else:
                self._widen(later.high0, later.high1, later.low0, later.low1)
            self.close0, self.close1 = later.close0, later.close1
        self.volume0 += later.volume0
        self.volume1 += later.volume1
        self.in0 += later.in0
        self.in1 += later.in1
        self.volume_usd += later.volume_usd
        self.volume_usd_untracked += later.volume_usd_untracked
        self.fees_usd += later.fees_usd
        self.swap_count += later.swap_count
        self.tx_count += later.tx_count
        self.reserve_usd, self.supply = later.reserve_usd, later.supply
        self.reserve0, self.reserve1 = later.reserve0, later.reserve1


def ratio_above(a0: int, a1: int, b0: int, b1: int) -> bool:
    """Whether a1/a0 > b1/b0, with an empty side (0) reading as no price, below every price."""
    if a0 == 0 or a1 == 0:
        return False
    if b0 == 0 or b1 == 0:
        return True
    return a1 * b0 > b1 * a0


class Extremes:
    """The highest and lowest reserve ratio (reserve1 / reserve0) seen, as the reserves that
    give them; a period without a swap (zeros) is passed over."""

    __slots__ = ("bottom", "top")

    def __init__(self) -> None:
        self.top: tuple[int, int] | None = None
        self.bottom: tuple[int, int] = (0, 0)

    def add(self, reserve0: int, reserve1: int) -> None:
        self.add_range(reserve0, reserve1, reserve0, reserve1)

    def add_range(self, high0: int, high1: int, low0: int, low1: int) -> None:
        """Fold in a period's highest and lowest ratio."""
        if not (high0 and high1):
            return
        if self.top is None:
            self.top, self.bottom = (high0, high1), (low0, low1)
            return
        if ratio_above(high0, high1, *self.top):
            self.top = (high0, high1)
        if ratio_above(*self.bottom, low0, low1):
            self.bottom = (low0, low1)

    def widened_by(self, high0: int, high1: int, low0: int, low1: int) -> bool:
        """Whether a period with these extremes would move either one."""
        if not (high0 and high1):
            return False
        if self.top is None:
            return True
        return ratio_above(high0, high1, *self.top) or ratio_above(*self.bottom, low0, low1)

    def stored(self) -> tuple[int, int, int, int]:
        """(high0, high1, low0, low1); zeros when nothing was seen."""
        if self.top is None:
            return 0, 0, 0, 0
        return (*self.top, *self.bottom)


def day_tails(hours: Sequence[tuple[int, PairCandle]]) -> tuple[list[int], list[int]]:
    """For a day's hour buckets (start, bucket) in order, the highest and the lowest ratio of
    the day from each hour on, as two flat lists of `hour of the day, reserve0, reserve1`. An
    hour is listed on a side only where its own extreme beats every later hour's: an hour left
    out has the same extreme from it on as the next one listed, so the first listed at or after
    any hour answers for the rest of the day, and a day keeps a few entries, not 24."""
    highs: list[tuple[int, int, int]] = []
    lows: list[tuple[int, int, int]] = []
    for start, hour in reversed(hours):
        if not (hour.high0 and hour.high1):
            continue  # no swap, no price
        index = start % DAY // HOUR
        if not highs or ratio_above(hour.high0, hour.high1, *highs[-1][1:]):
            highs.append((index, hour.high0, hour.high1))
        if not lows or ratio_above(*lows[-1][1:], hour.low0, hour.low1):
            lows.append((index, hour.low0, hour.low1))
    return (
        [value for entry in reversed(highs) for value in entry],
        [value for entry in reversed(lows) for value in entry],
    )


def _first_from(tail: list[int], hour: int) -> tuple[int, int] | None:
    for i in range(0, len(tail), 3):
        if tail[i] >= hour:
            return tail[i + 1], tail[i + 2]
    return None


@dataclass
class TokenCandle(Figures):
    """A token's hour or day (Uniswap's TokenHourData/TokenDayData): its USD price OHLC (None
    while unpriced), what was traded of it and what all pairs held of it at the close."""

    price_open: int | None
    price_high: int | None
    price_low: int | None
    price_close: int | None
    volume: int = 0
    volume_usd: int = 0
    volume_usd_untracked: int = 0
    fees_usd: int = 0
    liquidity: int = 0
    liquidity_usd: int | None = None
    tx_count: int = 0

    @classmethod
    def opening(cls, price: int | None = None) -> TokenCandle:
        return cls(price, price, price, price)

    def next_hour(self) -> TokenCandle:
        """The bucket of a later hour of the same day (a token's hours carry nothing over)."""
        return TokenCandle.opening()

    @classmethod
    def day_of(cls, hours: Sequence[tuple[int, TokenCandle]]) -> TokenCandle:
        """A day bucket from its hour buckets (start, bucket) in order."""
        day = cls.opening()
        for _, hour in hours:
            day.merge(hour)
        return day

    def add_swap(self, values: SwapValues, side: int) -> None:
        """A swap of the pair this token is token`side` of."""
        usd = values.usd1 if side else values.usd0
        self.volume += values.volume1 if side else values.volume0
        if values.whitelisted1 if side else values.whitelisted0:
            self.volume_usd += usd or 0
        self.volume_usd_untracked += usd or 0
        self.fees_usd += values.fee1 if side else values.fee0
        self.tx_count += 1

    def price_event(self, price: int | None) -> None:
        if price is None:
            return
        if self.price_open is None:
            self.price_open = price
        self.price_high = price if self.price_high is None else max(self.price_high, price)
        self.price_low = price if self.price_low is None else min(self.price_low, price)
        self.price_close = price

    def merge(self, later: TokenCandle) -> None:
        """Fold in the next period of the same token (a day is its hours merged in order)."""
        if self.price_open is None:
            self.price_open = later.price_open
        if later.price_high is not None:
            self.price_high = (
                later.price_high
                if self.price_high is None
                else max(self.price_high, later.price_high)
            )
        if later.price_low is not None:
            self.price_low = (
                later.price_low if self.price_low is None else min(self.price_low, later.price_low)
            )
        if later.price_close is not None:
            self.price_close = later.price_close
        self.volume += later.volume
        self.volume_usd += later.volume_usd
        self.volume_usd_untracked += later.volume_usd_untracked
        self.fees_usd += later.fees_usd
        self.liquidity, self.liquidity_usd = later.liquidity, later.liquidity_usd
        self.tx_count += later.tx_count


@dataclass
class AccountFigures(Figures):
    """What one wallet did, summed as it happened (the inputs of stats-routes §5's features).

    Counts of swaps are of inputs (a multi-hop swap is one), as Spectral counts transactions;
    USD sums are over the Swap events, as Uniswap's `User.usdSwapped`."""

    first_ts: int | None = None
    last_ts: int | None = None
    last_input: int | None = None
    action_count: int = 0
    active_days: int = 0
    swap_count: int = 0
    swap_usd: int = 0
    swap_usd_untracked: int = 0
    buy_count: int = 0
    sell_count: int = 0
    buy_usd: int = 0
    sell_usd: int = 0
    received_usd: int = 0
    paid_usd: int = 0
    fees_usd: int = 0
    max_impact_bps: int = 0
    last_swap_input: int | None = None
    mint_count: int = 0
    mint_usd: int = 0
    first_mint_ts: int | None = None
    burn_count: int = 0
    burn_usd: int = 0
    stream_out_count: int = 0
    stream_out_usd: int = 0
    stream_in_count: int = 0
    stream_in_usd: int = 0
    cancel_count: int = 0
    cancelled_against_count: int = 0
    last_cancel_ts: int | None = None
    cancel_refund_usd: int = 0
    stream_swap_count: int = 0
    stream_swap_usd: int = 0

    def add_swap(self, input_index: int, values: SwapValues, bought: bool, impact_bps: int) -> None:
        """A Swap event of the wallet's: one swap per input, USD sums per event."""
        if self.last_swap_input != input_index:
            self.swap_count += 1
            self.last_swap_input = input_index
        self.swap_usd += values.tracked
        self.swap_usd_untracked += values.untracked
        if bought:
            self.buy_count += 1
            self.buy_usd += values.tracked
        else:
            self.sell_count += 1
            self.sell_usd += values.tracked
        self.received_usd += values.received
        self.paid_usd += values.paid
        self.fees_usd += values.fee
        self.max_impact_bps = max(self.max_impact_bps, impact_bps)

    def add_liquidity(self, burn: bool, value: int, timestamp: int) -> None:
        if burn:
            self.burn_count += 1
            self.burn_usd += value
            return
        self.mint_count += 1
        self.mint_usd += value
        if self.first_mint_ts is None:
            self.first_mint_ts = timestamp

    def acted(self, input_index: int, timestamp: int) -> None:
        """Count an input the wallet sent (once per input)."""
        if self.last_input == input_index:
            return
        if self.first_ts is None:
            self.first_ts = timestamp
        if self.last_ts is None or timestamp // DAY != self.last_ts // DAY:
            self.active_days += 1
        self.last_ts = timestamp
        self.last_input = input_index
        self.action_count += 1


def period_start(timestamp: int, span: int) -> int:
    return timestamp - timestamp % span
