"""An independent, brute-force model of the market statistics (issue #7), for the tests.

It replays the notices of the accepted inputs — each `{input_index, timestamp, sender, events}`,
the events as JSON dicts (amounts decimal strings, EIP-55 addresses) — and imports nothing from
`dapp`. From the events alone it follows:

* every pair's reserves (its Sync events), LP supply and LP balances (its LP token's Transfers);
* USD prices after each input (stats-routes §1, as dapp/stats/pricing.py documents it): a
  stablecoin is worth 1; the reference token Σ stable-side dollars / Σ reference reserves over its
  pairs with the stablecoins; any other token is priced in its pair with a whitelisted token (the
  stablecoins, then the reference) that holds the most USD on the whitelisted side; no such pair:
  unpriced (None). Fixed point 10**18, rounded down;
* one record per swap and per mint/burn, valued at the prices after its input. A swap's time is its
  input's, except the order pools' executed flow (a Swap whose sender is the pair's order-pool
  account, the receiver of the order's escrow stream): its time is the end of the interval it
  executed. The pools run from the pair's last input to this one, cut at every order end
  scheduled in between (a cancelled order's end too: PROTOCOL §4.3 advances "from event to
  event"), and an interval trades when an order sells in it (every order sells ≥ 1 unit per
  second). With one order: min(the input's time, the order's end).

Everything else (windows, candles, rankings) is a plain loop over those records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from typing import Any

SCALE = 10**18
HOUR = 3600
DAY = 86400
ZERO = bytes(20)
WINDOWS: dict[str, int | None] = {
    "1h": HOUR,
    "24h": DAY,
    "7d": 7 * DAY,
    "30d": 30 * DAY,
    "all": None,
}


# --- numbers -------------------------------------------------------------------------------------
def address(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def shown(raw: int | None, decimals: int = 18) -> str | None:
    """`raw / 10**decimals` as an exact decimal string, trailing zeros trimmed (None stays)."""
    if raw is None:
        return None
    sign = "-" if raw < 0 else ""
    digits = str(abs(raw)).rjust(decimals + 1, "0")
    whole, fraction = digits[: len(digits) - decimals], digits[len(digits) - decimals :]
    fraction = fraction.rstrip("0")
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def to_fixed(value: Fraction) -> int:
    """An exact value in fixed point 10**18, rounded toward zero."""
    return int(value * SCALE)


def change_pct(now: int | None, before: int | None) -> int | None:
    if now is None or not before:
        return None
    return to_fixed(Fraction(now - before, before) * 100)


def period_start(ts: int, span: int = HOUR) -> int:
    return ts - ts % span


# --- configuration -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tokens:
    """What the model is told: decimals and symbols of known tokens, the USD anchors in order."""

    decimals: Mapping[bytes, int]
    symbols: Mapping[bytes, str]
    stablecoins: tuple[bytes, ...]
    reference: bytes | None

    def dec(self, token: bytes) -> int:
        return self.decimals.get(token, 0)

    @property
    def whitelist(self) -> tuple[bytes, ...]:
        if self.reference is None or self.reference in self.stablecoins:
            return self.stablecoins
        return (*self.stablecoins, self.reference)

    def base_target(self, token0: bytes, token1: bytes) -> tuple[bytes, bytes]:
        """The quote is the token ranked higher in the whitelist; no difference: token1."""
        white = self.whitelist

        def rank(token: bytes) -> int:
            return white.index(token) if token in white else len(white)

        return (token1, token0) if rank(token0) < rank(token1) else (token0, token1)


# --- state ---------------------------------------------------------------------------------------
@dataclass
class PairState:
    address: bytes
    token0: bytes
    token1: bytes
    created_at: int
    created_input: int
    reserve0: int = 0
    reserve1: int = 0
    supply: int = 0
    lp: dict[bytes, int] = field(default_factory=dict)

    def reserve_of(self, token: bytes) -> int:
        return self.reserve0 if token == self.token0 else self.reserve1

    def providers(self) -> int:
        """LP holders but the zero address (never credited here) and the pair itself."""
        return sum(1 for who, amount in self.lp.items() if amount > 0 and who != self.address)


@dataclass(frozen=True)
class Quote:
    usd: int | None
    via: str  # "stable", "reference", "pair" or "unpriced"
    via_pair: bytes | None = None


@dataclass(frozen=True)
class SwapRecord:
    pair: bytes
    ts: int
    input_index: int
    seq: int  # the event's place in the whole history
    taker: bytes
    stream: bool
    in0: int
    in1: int
    out0: int
    out1: int
    reserve0: int  # after the swap
    reserve1: int
    usd0: int | None  # the value of each side's volume (None: unpriced)
    usd1: int | None
    tracked: int
    untracked: int
    fee: int
    fee0: int  # the fee on each side paid in, in USD
    fee1: int

    @property
    def volume0(self) -> int:
        return abs(self.in0 - self.out0)

    @property
    def volume1(self) -> int:
        return abs(self.in1 - self.out1)


@dataclass(frozen=True)
class LiquidityRecord:
    pair: bytes
    ts: int
    input_index: int
    seq: int
    account: bytes
    burn: bool
    amount0: int
    amount1: int
    liquidity: int
    usd: int
    reserve0: int
    reserve1: int


@dataclass(frozen=True)
class AfterInput:
    """What an input left behind: prices, each pair's reserve USD and supply, pairs it touched."""

    input_index: int
    ts: int
    quotes: dict[bytes, Quote]
    tracked: dict[bytes, int]
    untracked: dict[bytes, int]
    supply: dict[bytes, int]
    reserves: dict[bytes, tuple[int, int]]
    touched: frozenset[bytes]


@dataclass
class Order:
    pair: bytes
    token_in: bytes
    sale_rate: int
    placed: int  # its start: orders here start when placed
    end: int
    cancelled: int | None = None

    @property
    def stopped(self) -> int:
        return self.end if self.cancelled is None else min(self.end, self.cancelled)

    def sells(self, start: int, end: int) -> bool:
        """Whether the order sells in the interval (start, end]."""
        return self.placed <= start and end <= self.stopped

    def live(self, at: int) -> bool:
        """Whether its sale rate is in its pool at `at`."""
        return self.placed <= at < self.stopped


# --- pricing -------------------------------------------------------------------------------------
class _Book:
    """The pairs by their two tokens, for pricing; a pair with an empty side does not count."""

    def __init__(self, tokens: Tokens, pairs: Mapping[bytes, PairState]) -> None:
        self.tokens = tokens
        self.by_tokens = {frozenset((p.token0, p.token1)): p for p in pairs.values()}

    def live(self, a: bytes, b: bytes) -> PairState | None:
        found = self.by_tokens.get(frozenset((a, b)))
        return found if found is not None and found.reserve0 and found.reserve1 else None

    def whole(self, token: bytes, raw: int) -> Fraction:
        return Fraction(raw, 10 ** self.tokens.dec(token))

    def reference(self, reference: bytes) -> Quote:
        """Σ dollars on the stable sides / Σ whole reference tokens on the other sides."""
        dollars, held = Fraction(0), Fraction(0)
        for stable in self.tokens.stablecoins:
            found = self.live(reference, stable)
            if found is not None:
                dollars += self.whole(stable, found.reserve_of(stable))
                held += self.whole(reference, found.reserve_of(reference))
        return Quote(to_fixed(dollars / held), "reference") if held else Quote(None, "unpriced")

    def via_anchor(self, token: bytes, quotes: Mapping[bytes, Quote]) -> Quote:
        """In the pair with a priced whitelisted token holding the most USD on that side."""
        best: tuple[Fraction, Quote] | None = None
        for anchor in self.tokens.whitelist:
            anchor_usd = quotes[anchor].usd
            found = self.live(token, anchor)
            if not anchor_usd or found is None:
                continue
            depth = self.whole(anchor, found.reserve_of(anchor)) * anchor_usd  # USD, fixed point
            if best is None or depth > best[0]:
                usd = int(depth / self.whole(token, found.reserve_of(token)))
                best = (depth, Quote(usd, "pair", found.address))
        return Quote(None, "unpriced") if best is None else best[1]


def price_all(tokens: Tokens, pairs: Mapping[bytes, PairState]) -> dict[bytes, Quote]:
    """Every stablecoin's, the reference token's and every paired token's USD price."""
    book = _Book(tokens, pairs)
    quotes = {stable: Quote(SCALE, "stable") for stable in tokens.stablecoins}
    if tokens.reference is not None and tokens.reference not in quotes:
        quotes[tokens.reference] = book.reference(tokens.reference)
    for state in pairs.values():
        for token in (state.token0, state.token1):
            if token not in quotes:
                quotes[token] = book.via_anchor(token, quotes)
    return quotes


def worth(tokens: Tokens, quotes: Mapping[bytes, Quote], token: bytes, amount: int) -> int | None:
    usd = quotes.get(token, Quote(None, "unpriced")).usd
    return None if usd is None else amount * usd // 10 ** tokens.dec(token)


# --- replaying one input -------------------------------------------------------------------------
Event = Mapping[str, Any]
SWAP_AMOUNTS = ("amount0_in", "amount1_in", "amount0_out", "amount1_out")
RawLiquidity = tuple[int, bytes, bool, tuple[int, ...], tuple[int, int]]


@dataclass(frozen=True)
class RawSwap:
    seq: int
    pair: bytes
    ts: int
    taker: bytes
    stream: bool
    amounts: tuple[int, ...]  # amount0_in, amount1_in, amount0_out, amount1_out
    reserves: tuple[int, int]


@dataclass
class _Input:
    """One input while its events are replayed, before the prices after it are known."""

    ts: int
    index: int
    sender: bytes
    swaps: list[RawSwap] = field(default_factory=list)
    liquidity: list[RawLiquidity] = field(default_factory=list)
    touched: set[bytes] = field(default_factory=set)  # pairs whose reserves it moved
    mentioned: set[bytes] = field(default_factory=set)  # pairs its events name (advanced)
    flow_times: dict[bytes, list[int]] = field(default_factory=dict)
    escrow_receiver: bytes = ZERO


# --- the model -----------------------------------------------------------------------------------
class Model:
    def __init__(self, tokens: Tokens, notices: Iterable[Mapping[str, Any]]) -> None:
        self.tokens = tokens
        self.pairs: dict[bytes, PairState] = {}  # in creation order
        self.swaps: list[SwapRecord] = []  # in processing order
        self.liquidity: list[LiquidityRecord] = []
        self.after: list[AfterInput] = []
        self.pools: dict[bytes, bytes] = {}  # pair → its order-pool account
        self.orders: dict[int, Order] = {}  # every stream swap by swap_id
        self.advanced: dict[bytes, int] = {}  # pair → the time of the last input touching it
        self.seq = 0
        for notice in notices:
            self._replay(notice)

    # --- replay ----------------------------------------------------------------------------------
    def _replay(self, notice: Mapping[str, Any]) -> None:
        now = _Input(notice["timestamp"], notice["input_index"], notice["sender"])
        handlers = {
            "PairCreated": self._pair_created,
            "Sync": self._sync,
            "Transfer": self._transfer,
            "StreamCreated": self._stream_created,
            "SwapOrderPlaced": self._order_placed,
            "SwapOrderCancelled": self._order_cancelled,
            "Swap": self._swap_event,
            "Mint": self._liquidity_event,
            "Burn": self._liquidity_event,
        }
        for event in notice["events"]:
            if event["type"] in handlers:
                handlers[event["type"]](now, event)
        quotes = price_all(self.tokens, self.pairs)  # the prices after the input value it all
        self.swaps += [self._swap(quotes, now, raw) for raw in now.swaps]
        self.liquidity += [self._liquidity(quotes, now, raw) for raw in now.liquidity]
        self.after.append(self._after(now.index, now.ts, quotes, frozenset(now.touched)))
        self.advanced.update(dict.fromkeys(now.mentioned, now.ts))

    def _pair_created(self, now: _Input, event: Event) -> None:
        pair = address(event["pair"])
        token0, token1 = address(event["token0"]), address(event["token1"])
        self.pairs[pair] = PairState(pair, token0, token1, now.ts, now.index)

    def _sync(self, now: _Input, event: Event) -> None:
        state = self._touch(now, event)
        state.reserve0, state.reserve1 = int(event["reserve0"]), int(event["reserve1"])

    def _transfer(self, now: _Input, event: Event) -> None:
        if address(event["token"]) in self.pairs:
            self._lp_transfer(event)

    def _stream_created(self, now: _Input, event: Event) -> None:
        now.escrow_receiver = address(event["receiver"])

    def _order_placed(self, now: _Input, event: Event) -> None:
        pair = address(event["pair"])
        now.mentioned.add(pair)
        self.pools[pair] = now.escrow_receiver  # the order's escrow streams to the pools
        start = event["start"]
        self.orders[event["swap_id"]] = Order(
            pair,
            address(event["token_in"]),
            int(event["sale_rate"]),
            start,
            start + event["duration"],
        )

    def _order_cancelled(self, now: _Input, event: Event) -> None:
        now.mentioned.add(address(event["pair"]))
        self.orders[event["swap_id"]].cancelled = event["at"]

    def _swap_event(self, now: _Input, event: Event) -> None:
        state = self._touch(now, event)
        stream = address(event["sender"]) == self.pools.get(state.address)
        when = self._flow_time(now, state.address) if stream else now.ts
        taker = address(event["sender"]) if stream else now.sender
        amounts = tuple(int(event[k]) for k in SWAP_AMOUNTS)
        self.seq += 1
        reserves = (state.reserve0, state.reserve1)
        now.swaps.append(RawSwap(self.seq, state.address, when, taker, stream, amounts, reserves))

    def _liquidity_event(self, now: _Input, event: Event) -> None:
        state = self._touch(now, event)
        amounts = tuple(int(event[k]) for k in ("amount0", "amount1", "liquidity"))
        self.seq += 1
        reserves = (state.reserve0, state.reserve1)
        now.liquidity.append((self.seq, state.address, event["type"] == "Burn", amounts, reserves))

    def _touch(self, now: _Input, event: Event) -> PairState:
        state = self.pairs[address(event["pair"])]
        now.touched.add(state.address)
        now.mentioned.add(state.address)
        return state

    def _lp_transfer(self, event: Mapping[str, Any]) -> None:
        state = self.pairs[address(event["token"])]
        source, target = address(event["sender"]), address(event["receiver"])
        amount = int(event["amount"])
        if source == ZERO:
            state.supply += amount  # minted (the locked minimum goes from zero to zero)
        else:
            state.lp[source] = state.lp.get(source, 0) - amount
            if target == ZERO:
                state.supply -= amount  # burned
        if target != ZERO:
            state.lp[target] = state.lp.get(target, 0) + amount

    def _flow_time(self, now: _Input, pair: bytes) -> int:
        """The end of the interval the order pools executed (its Swaps come in time order)."""
        if pair not in now.flow_times:
            orders = [o for o in self.orders.values() if o.pair == pair]
            last = self.advanced.get(pair, 0)
            cuts = [*sorted({o.end for o in orders if last < o.end < now.ts}), now.ts]
            now.flow_times[pair] = [
                end
                for start, end in pairwise([last, *cuts])
                if any(o.sells(start, end) for o in orders)
            ]
        return now.flow_times[pair].pop(0)

    def _swap(self, quotes: Mapping[bytes, Quote], now: _Input, raw: RawSwap) -> SwapRecord:
        state, tokens = self.pairs[raw.pair], self.tokens
        in0, in1, out0, out1 = raw.amounts
        usd0 = worth(tokens, quotes, state.token0, abs(in0 - out0))
        usd1 = worth(tokens, quotes, state.token1, abs(in1 - out1))
        white0, white1 = state.token0 in tokens.whitelist, state.token1 in tokens.whitelist
        sides = [usd or 0 for usd, white in ((usd0, white0), (usd1, white1)) if white]
        priced = [usd for usd in (usd0, usd1) if usd is not None]
        paid0 = worth(tokens, quotes, state.token0, in0) or 0
        paid1 = worth(tokens, quotes, state.token1, in1) or 0
        return SwapRecord(
            pair=raw.pair,
            ts=raw.ts,
            input_index=now.index,
            seq=raw.seq,
            taker=raw.taker,
            stream=raw.stream,
            in0=in0,
            in1=in1,
            out0=out0,
            out1=out1,
            reserve0=raw.reserves[0],
            reserve1=raw.reserves[1],
            usd0=usd0,
            usd1=usd1,
            tracked=sum(sides) // len(sides) if sides else 0,  # whitelisted sides, averaged
            untracked=sum(priced) // len(priced) if priced else 0,  # priced sides, averaged
            fee=(paid0 + paid1) * 3 // 1000,  # 0.3% of what was paid in
            fee0=paid0 * 3 // 1000,
            fee1=paid1 * 3 // 1000,
        )

    def _liquidity(
        self, quotes: Mapping[bytes, Quote], now: _Input, raw: RawLiquidity
    ) -> LiquidityRecord:
        seq, pair, burn, (amount0, amount1, liquidity), reserves = raw
        state = self.pairs[pair]
        usd = (worth(self.tokens, quotes, state.token0, amount0) or 0) + (
            worth(self.tokens, quotes, state.token1, amount1) or 0
        )
        return LiquidityRecord(
            pair,
            now.ts,
            now.index,
            seq,
            now.sender,
            burn,
            amount0,
            amount1,
            liquidity,
            usd,
            *reserves,
        )

    def _after(
        self, index: int, ts: int, quotes: dict[bytes, Quote], touched: frozenset[bytes]
    ) -> AfterInput:
        tracked, untracked = {}, {}
        for state in self.pairs.values():
            tracked[state.address], untracked[state.address] = self.reserve_usd(state, quotes)
        return AfterInput(
            index,
            ts,
            quotes,
            tracked,
            untracked,
            {p.address: p.supply for p in self.pairs.values()},
            {p.address: (p.reserve0, p.reserve1) for p in self.pairs.values()},
            touched,
        )

    def reserve_usd(self, state: PairState, quotes: Mapping[bytes, Quote]) -> tuple[int, int]:
        """(tracked, untracked): only whitelisted sides count, one alone counts twice."""
        value0 = worth(self.tokens, quotes, state.token0, state.reserve0) or 0
        value1 = worth(self.tokens, quotes, state.token1, state.reserve1) or 0
        white = [
            value
            for value, token in ((value0, state.token0), (value1, state.token1))
            if token in self.tokens.whitelist
        ]
        tracked = 2 * white[0] if len(white) == 1 else sum(white)
        return tracked, value0 + value1

    # --- reading ---------------------------------------------------------------------------------
    @property
    def as_of(self) -> int:
        return self.after[-1].ts

    @property
    def quotes(self) -> dict[bytes, Quote]:
        return self.after[-1].quotes

    def start(self, window: str) -> int | None:
        length = WINDOWS[window]
        return None if length is None else self.as_of - length

    def pair_swaps(
        self, pair: bytes, start: int | None, end: int | None = None
    ) -> list[SwapRecord]:
        last = self.as_of if end is None else end
        return [
            s
            for s in self.swaps
            if s.pair == pair and (start is None or s.ts >= start) and s.ts <= last
        ]

    def pair_liquidity(self, pair: bytes | None, start: int | None) -> list[LiquidityRecord]:
        return [
            r
            for r in self.liquidity
            if (pair is None or r.pair == pair) and (start is None or r.ts >= start)
        ]

    def mid(self, pair: bytes, reserve0: int, reserve1: int) -> int | None:
        """Whole target per whole base at these reserves."""
        state = self.pairs[pair]
        base, target = self.tokens.base_target(state.token0, state.token1)
        reserve_base = reserve0 if base == state.token0 else reserve1
        reserve_target = reserve1 if base == state.token0 else reserve0
        if reserve_base == 0:
            return None
        return to_fixed(
            Fraction(reserve_target * 10 ** self.tokens.dec(base))
            / (reserve_base * 10 ** self.tokens.dec(target))
        )

    def is_buy(self, swap: SwapRecord) -> bool:
        """CoinGecko: a buy took the base token out of the pool."""
        state = self.pairs[swap.pair]
        base, _ = self.tokens.base_target(state.token0, state.token1)
        if base == state.token0:
            return swap.out0 > swap.in0
        return swap.out1 > swap.in1

    def tvl_before(self, ts: int) -> int | None:
        """Σ over pairs of the tracked reserve USD each had after the last input that touched it,
        as it stood after the last input (touching a pair) of an hour before the one of `ts`."""
        latest: dict[bytes, int] = {}
        total = None
        for after in self.after:
            if period_start(after.ts) >= period_start(ts):
                break
            for pair in after.touched:
                latest[pair] = after.tracked[pair]
            if after.touched:
                total = sum(latest.values())
        return total

    def after_input(self, index: int) -> AfterInput:
        return next(a for a in self.after if a.input_index == index)

    def pair_events(self, pair: bytes) -> list[SwapRecord | LiquidityRecord]:
        """The pair's swaps, mints and burns in time order."""
        events: list[SwapRecord | LiquidityRecord] = [s for s in self.swaps if s.pair == pair]
        events += [r for r in self.liquidity if r.pair == pair]
        return sorted(events, key=lambda e: (e.ts, e.seq))

    def high_low(self, pair: bytes, start: int | None) -> tuple[int | None, int | None]:
        """Highest and lowest mid price after the pair's swaps in the window."""
        prices = [
            self.mid(pair, e.reserve0, e.reserve1)
            for e in self.pair_events(pair)
            if isinstance(e, SwapRecord) and (start is None or e.ts >= start)
        ]
        known = [p for p in prices if p is not None]
        return (max(known), min(known)) if known else (None, None)

    # --- candles ---------------------------------------------------------------------------------
    def pair_candles(self, pair: bytes, span: int) -> list[PairBucket]:
        buckets: dict[int, PairBucket] = {}
        for event in self.pair_events(pair):
            start = period_start(event.ts, span)
            bucket = buckets.setdefault(start, PairBucket(start))
            bucket.close = (event.reserve0, event.reserve1)
            bucket.last_input = max(bucket.last_input, event.input_index)
            bucket.tx_count += 1
            if isinstance(event, SwapRecord):
                bucket.swaps.append(event)
                bucket.prices.append(self.mid(pair, event.reserve0, event.reserve1))
        for bucket in buckets.values():
            after = self.after_input(bucket.last_input)
            bucket.reserve_usd, bucket.supply = after.tracked[pair], after.supply[pair]
        return [buckets[start] for start in sorted(buckets)]

    def token_candles(self, token: bytes, span: int) -> list[TokenBucket]:
        buckets: dict[int, TokenBucket] = {}

        def bucket(ts: int, index: int) -> TokenBucket:
            found = buckets.setdefault(period_start(ts, span), TokenBucket(period_start(ts, span)))
            if index not in found.inputs:
                found.inputs.append(index)
            found.tx_count += 1
            return found

        events: list[SwapRecord | LiquidityRecord] = [*self.swaps, *self.liquidity]
        for event in sorted(events, key=lambda e: e.seq):
            state = self.pairs[event.pair]
            if token not in (state.token0, state.token1):
                continue
            found = bucket(event.ts, event.input_index)
            if isinstance(event, SwapRecord):
                first = token == state.token0
                found.volume += event.volume0 if first else event.volume1
                usd = event.usd0 if first else event.usd1
                found.volume_usd += (usd or 0) if token in self.tokens.whitelist else 0
                found.untracked_usd += usd or 0
                found.fees_usd += event.fee0 if first else event.fee1
        for found in buckets.values():
            prices = [self.after_input(i).quotes[token].usd for i in sorted(found.inputs)]
            found.prices = [p for p in prices if p is not None]
            after = self.after_input(max(found.inputs))
            found.liquidity = sum(
                r0 if self.pairs[p].token0 == token else r1
                for p, (r0, r1) in after.reserves.items()
                if token in (self.pairs[p].token0, self.pairs[p].token1)
            )
            found.liquidity_usd = worth(self.tokens, after.quotes, token, found.liquidity)
        return [buckets[start] for start in sorted(buckets)]


@dataclass
class PairBucket:
    """A pair's hour or day with activity."""

    start: int
    prices: list[int | None] = field(default_factory=list)  # mid after each swap
    swaps: list[SwapRecord] = field(default_factory=list)
    close: tuple[int, int] = (0, 0)
    tx_count: int = 0
    last_input: int = -1
    reserve_usd: int = 0  # tracked, after the last input that touched the bucket
    supply: int = 0


@dataclass
class TokenBucket:
    """A token's hour or day with activity."""

    start: int
    inputs: list[int] = field(default_factory=list)
    prices: list[int] = field(default_factory=list)  # USD after each input, unpriced left out
    volume: int = 0
    volume_usd: int = 0
    untracked_usd: int = 0
    fees_usd: int = 0
    liquidity: int = 0
    liquidity_usd: int | None = None
    tx_count: int = 0
