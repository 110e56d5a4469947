"""Keep the market statistics, per accepted input, from the events it produced.

The domain (ledger, pairs, stream swaps) knows nothing of statistics: after an input is applied,
and inside its transaction, `Recorder.record` reads the input's event list and appends to the
logs, the running totals, the hour and day buckets and the account figures of dapp/schema.sql.
A rejected input records nothing, because its transaction is rolled back with everything else.

USD values use the prices of the state after the input (dapp.stats.pricing): one consistent set
of prices per input, whatever order its events came in. A pair's own price after each event is
exact: it is read from the Sync that comes before every Mint, Burn and Swap.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from dapp.amm.twamm import order_pool_address
from dapp.events import (
    Burn,
    Event,
    Mint,
    PairCreated,
    StreamCancelled,
    StreamCreated,
    Swap,
    SwapOrderPlaced,
    Sync,
)
from dapp.ledger import Ledger
from dapp.stats.config import MarketConfig
from dapp.stats.figures import (
    DAY,
    HOUR,
    AccountFigures,
    Figures,
    PairCandle,
    TokenCandle,
    period_start,
)
from dapp.stats.pricing import Pricing
from dapp.store import Store, decode_amount, encode_amount

F = TypeVar("F", bound=Figures)
FEE_NUMERATOR, FEE_DENOMINATOR = 3, 1000  # Uniswap V2's 0.3%, charged on what is paid in


@dataclass
class _PairState:
    """A pair as the recorder follows it through one input."""

    pair_id: int
    address: bytes
    token0: bytes
    token1: bytes
    reserve0: int  # now (after the last Sync seen)
    reserve1: int
    before0: int  # before that Sync
    before1: int
    stored0: int  # as stat_pairs had it before the input
    stored1: int
    tracked_usd: int
    cumulative: list[int] | None = None  # the pair's last swap_log c_ columns, once read
    mints: int | None = None
    burns: int | None = None


_CUMULATIVE = (
    "c_volume0, c_volume1, c_in0, c_in1, c_usd, c_usd_untracked, c_fee_usd, c_count, c_out0"
)


class Recorder:
    """Writes the statistics of one input at a time through the application's store."""

    def __init__(self, store: Store, ledger: Ledger, config: MarketConfig) -> None:
        self.store = store
        self.ledger = ledger
        self.config = config
        self._sql = store.connection

    def record(
        self, input_index: int, timestamp: int, actor: bytes | None, events: list[Event]
    ) -> None:
        """Record an accepted input; `actor` is the wallet that sent it (None: a relay input)."""
        _InputRecord(self, input_index, timestamp, actor).run(events)


class _InputRecord:
    """The work of recording one input: events are folded in memory, then written once."""

    def __init__(
        self, recorder: Recorder, input_index: int, timestamp: int, actor: bytes | None
    ) -> None:
        self.recorder = recorder
        self.store = recorder.store
        self.sql = recorder._sql
        self.config = recorder.config
        self.input_index = input_index
        self.timestamp = timestamp
        self.actor = actor
        self.pricing = Pricing(self.store, self.config)
        self.pairs: dict[bytes, _PairState] = {}
        self.pair_candles: dict[tuple[int, int, int], PairCandle] = {}
        self.token_candles: dict[tuple[int, int, int], TokenCandle] = {}
        self.accounts: dict[int, AccountFigures] = {}
        self.account_swap_ts: dict[int, int] = {}
        self.account_pairs: dict[tuple[int, int], list[int | None]] = {}
        self.account_tokens: set[tuple[int, int]] = set()
        self.touched_tokens: dict[bytes, int] = {}  # token → its id, in order of first touch
        self.pair_tokens: dict[int, tuple[int, int]] = {}  # pair id → its tokens' ids

    # --- the walk over the events ----------------------------------------------------------------
    def run(self, events: list[Event]) -> None:
        if self.actor is not None:
            self.account(self.actor).acted(self.input_index, self.timestamp)
        for index, event in enumerate(events):
            if isinstance(event, Sync):
                state = self.pair(event.pair)
                state.before0, state.before1 = state.reserve0, state.reserve1
                state.reserve0, state.reserve1 = event.reserve0, event.reserve1
            elif isinstance(event, Swap):
                self.swap(index, event)
            elif isinstance(event, (Mint, Burn)):
                self.liquidity(index, event)
            elif isinstance(event, PairCreated):
                self.pair_created(event)
            elif isinstance(event, (StreamCreated, StreamCancelled)):
                self.stream(index, event)
            elif isinstance(event, SwapOrderPlaced):
                figures = self.account(event.trader)
                figures.stream_swap_count += 1
                figures.stream_swap_usd += self.usd(event.token_in, event.amount_in)
        self.flush()

    def pair_created(self, event: PairCreated) -> None:
        pair_id = self.store.address_id(event.pair)
        self.sql.execute(
            "INSERT INTO stat_pairs VALUES (?, ?, ?, 0, 0, 0)",
            (pair_id, self.timestamp, self.input_index),
        )

    def swap(self, index: int, event: Swap) -> None:
        state = self.pair(event.pair)
        stream = event.sender == order_pool_address(event.pair)
        taker = event.sender if stream or self.actor is None else self.actor
        account_id = self.store.intern_address(taker)
        ts = event.at
        volume0 = abs(event.amount0_in - event.amount0_out)
        volume1 = abs(event.amount1_in - event.amount1_out)
        usd0 = self.pricing.value(state.token0, volume0)
        usd1 = self.pricing.value(state.token1, volume1)
        tracked = self.tracked(state, usd0, usd1, average=True)
        untracked = _average(usd0, usd1)
        fee = (
            (self.usd(state.token0, event.amount0_in) + self.usd(state.token1, event.amount1_in))
            * FEE_NUMERATOR
            // FEE_DENOMINATOR
        )
        out0 = event.amount0_out > event.amount0_in
        previous = self.cumulative(state)
        cumulative = [
            previous[0] + volume0,
            previous[1] + volume1,
            previous[2] + event.amount0_in,
            previous[3] + event.amount1_in,
            previous[4] + tracked,
            previous[5] + untracked,
            previous[6] + fee,
            previous[7] + 1,
            previous[8] + out0,
        ]
        state.cumulative = cumulative
        self.sql.execute(
            "INSERT INTO swap_log VALUES (NULL" + ", ?" * 26 + ")",
            (
                state.pair_id,
                ts,
                self.input_index,
                index,
                int(stream),
                account_id,
                self.store.intern_address(event.sender),
                self.store.intern_address(event.to),
                *map(
                    encode_amount,
                    (
                        event.amount0_in,
                        event.amount1_in,
                        event.amount0_out,
                        event.amount1_out,
                        state.reserve0,
                        state.reserve1,
                        tracked,
                        untracked,
                        fee,
                        *cumulative[:7],
                    ),
                ),
                cumulative[7],
                cumulative[8],
            ),
        )
        for span in (HOUR, DAY):
            candle = self.pair_candle(state, span, ts)
            candle.volume0 += volume0
            candle.volume1 += volume1
            candle.in0 += event.amount0_in
            candle.in1 += event.amount1_in
            candle.volume_usd += tracked
            candle.volume_usd_untracked += untracked
            candle.fees_usd += fee
            candle.swap_count += 1
            candle.tx_count += 1
            candle.price_event(state.reserve0, state.reserve1)
            for token, volume, usd, paid in (
                (state.token0, volume0, usd0, event.amount0_in),
                (state.token1, volume1, usd1, event.amount1_in),
            ):
                token_candle = self.token_candle(token, span, ts)
                token_candle.volume += volume
                token_candle.volume_usd += (usd or 0) if self.whitelisted(token) else 0
                token_candle.volume_usd_untracked += usd or 0
                token_candle.fees_usd += self.usd(token, paid) * FEE_NUMERATOR // FEE_DENOMINATOR
                token_candle.tx_count += 1
        if stream:
            return
        # the wallet's figures; a buy took the pair's base token out (CoinGecko)
        figures = self.account(taker)
        if figures.last_swap_input != self.input_index:
            figures.swap_count += 1
            figures.last_swap_input = self.input_index
        figures.swap_usd += tracked
        figures.swap_usd_untracked += untracked
        bought = (
            out0
            if self.config.base_is_token0(state.token0, state.token1)
            else event.amount1_out > event.amount1_in
        )
        if bought:
            figures.buy_count += 1
            figures.buy_usd += tracked
        else:
            figures.sell_count += 1
            figures.sell_usd += tracked
        figures.received_usd += self.usd(state.token0, event.amount0_out) + self.usd(
            state.token1, event.amount1_out
        )
        figures.paid_usd += self.usd(state.token0, event.amount0_in) + self.usd(
            state.token1, event.amount1_in
        )
        figures.fees_usd += fee
        figures.max_impact_bps = max(figures.max_impact_bps, _impact_bps(state))
        self.account_swap_ts[account_id] = ts
        self.account_pair(account_id, state.pair_id)[0] = ts

    def liquidity(self, index: int, event: Mint | Burn) -> None:
        state = self.pair(event.pair)
        burn = isinstance(event, Burn)
        actor = self.actor if self.actor is not None else event.sender
        account_id = self.store.intern_address(actor)
        value = self.usd(state.token0, event.amount0) + self.usd(state.token1, event.amount1)
        if state.mints is None or state.burns is None:
            row = self.sql.execute(
                "SELECT c_mints, c_burns FROM liquidity_log WHERE pair_id = ?"
                " ORDER BY ts DESC, id DESC LIMIT 1",
                (state.pair_id,),
            ).fetchone()
            state.mints, state.burns = row if row is not None else (0, 0)
        state.burns += burn
        state.mints += not burn
        self.sql.execute(
            "INSERT INTO liquidity_log VALUES (NULL" + ", ?" * 16 + ")",
            (
                state.pair_id,
                self.timestamp,
                self.input_index,
                index,
                int(burn),
                account_id,
                self.store.intern_address(event.sender),
                self.store.intern_address(event.to),
                encode_amount(event.amount0),
                encode_amount(event.amount1),
                encode_amount(event.liquidity),
                encode_amount(value),
                encode_amount(state.reserve0),
                encode_amount(state.reserve1),
                state.mints,
                state.burns,
            ),
        )
        for span in (HOUR, DAY):
            self.pair_candle(state, span, self.timestamp).tx_count += 1
            self.pair_candle(state, span, self.timestamp).price_event(
                state.reserve0, state.reserve1
            )
            for token in (state.token0, state.token1):
                self.token_candle(token, span, self.timestamp).tx_count += 1
        figures = self.account(actor)
        provided = self.account_pair(account_id, state.pair_id)
        if burn:
            figures.burn_count += 1
            figures.burn_usd += value
        else:
            figures.mint_count += 1
            figures.mint_usd += value
            if figures.first_mint_ts is None:
                figures.first_mint_ts = self.timestamp
            provided[1] = 1

    def stream(self, index: int, event: StreamCreated | StreamCancelled) -> None:
        ledger = self.recorder.ledger
        if ledger.is_order_pool(event.receiver):
            return  # a stream swap's escrow: counted as the swap order (SwapOrderPlaced)
        cancelled = isinstance(event, StreamCancelled)
        amount = event.refunded if isinstance(event, StreamCancelled) else event.amount
        value = self.usd(event.token, amount)
        sender_id = self.store.intern_address(event.sender)
        receiver_id = self.store.intern_address(event.receiver)
        token_id = self.store.intern_address(event.token)
        self.sql.execute(
            "INSERT INTO stream_log VALUES (NULL" + ", ?" * 10 + ")",
            (
                self.timestamp,
                self.input_index,
                index,
                int(cancelled),
                event.stream_id,
                token_id,
                sender_id,
                receiver_id,
                encode_amount(amount),
                encode_amount(value),
            ),
        )
        sender, receiver = self.account(event.sender), self.account(event.receiver)
        if isinstance(event, StreamCancelled):
            sender.cancel_count += 1
            sender.last_cancel_ts = self.timestamp
            sender.cancel_refund_usd += value
            receiver.cancelled_against_count += 1
        else:
            sender.stream_out_count += 1
            sender.stream_out_usd += value
            receiver.stream_in_count += 1
            receiver.stream_in_usd += value
        self.account_tokens.add((sender_id, token_id))
        self.account_tokens.add((receiver_id, token_id))

    # --- values ----------------------------------------------------------------------------------
    def usd(self, token: bytes, amount: int) -> int:
        """USD value of an amount, 0 when the token has no price."""
        return self.pricing.value(token, amount) or 0

    def whitelisted(self, token: bytes) -> bool:
        return token in self.config.whitelist

    def tracked(
        self, state: _PairState, usd0: int | None, usd1: int | None, *, average: bool
    ) -> int:
        """Uniswap's tracked amount: only whitelisted sides count; a swap averages two such
        sides, a reserve adds them (one side alone counts twice for a reserve)."""
        white0, white1 = self.whitelisted(state.token0), self.whitelisted(state.token1)
        value0, value1 = usd0 or 0, usd1 or 0
        if white0 and white1:
            return (value0 + value1) // 2 if average else value0 + value1
        if white0:
            return value0 if average else 2 * value0
        if white1:
            return value1 if average else 2 * value1
        return 0

    # --- rows read once per input ----------------------------------------------------------------
    def pair(self, address: bytes) -> _PairState:
        state = self.pairs.get(address)
        if state is None:
            pair_id = self.store.address_id(address)
            assert pair_id is not None
            row = self.sql.execute(
                "SELECT t0.address, t1.address, s.reserve0, s.reserve1, s.tracked_usd"
                " FROM pairs p JOIN stat_pairs s USING (pair_id)"
                " JOIN addresses t0 ON t0.id = p.token0_id"
                " JOIN addresses t1 ON t1.id = p.token1_id WHERE pair_id = ?",
                (pair_id,),
            ).fetchone()
            reserve0, reserve1 = decode_amount(row[2]), decode_amount(row[3])
            state = _PairState(
                pair_id,
                address,
                bytes(row[0]),
                bytes(row[1]),
                reserve0,
                reserve1,
                reserve0,
                reserve1,
                reserve0,
                reserve1,
                decode_amount(row[4]),
            )
            self.pairs[address] = state
            self.pair_tokens[pair_id] = (self.token_id(state.token0), self.token_id(state.token1))
        return state

    def token_id(self, token: bytes) -> int:
        known = self.touched_tokens.get(token)
        if known is None:
            known = self.touched_tokens[token] = self.store.intern_address(token)
        return known

    def cumulative(self, state: _PairState) -> list[int]:
        if state.cumulative is None:
            row = self.sql.execute(
                f"SELECT {_CUMULATIVE} FROM swap_log WHERE pair_id = ?"
                " ORDER BY ts DESC, id DESC LIMIT 1",
                (state.pair_id,),
            ).fetchone()
            state.cumulative = [0] * 9 if row is None else [decode_amount(v) for v in row]
        return state.cumulative

    def pair_candle(self, state: _PairState, span: int, ts: int) -> PairCandle:
        key = (state.pair_id, span, period_start(ts, span))
        candle = self.pair_candles.get(key)
        if candle is None:
            # the hour and the day of an event are always both needed: read them together
            for period, stored in _load_periods(self.sql, "pair_candles", state.pair_id, ts):
                self.pair_candles[period] = (
                    PairCandle.load(stored)
                    if stored is not None
                    else PairCandle.opening(state.reserve0, state.reserve1)
                )
            candle = self.pair_candles[key]
        return candle

    def token_candle(self, token: bytes, span: int, ts: int) -> TokenCandle:
        token_id = self.token_id(token)
        key = (token_id, span, period_start(ts, span))
        candle = self.token_candles.get(key)
        if candle is None:
            price = self.pricing.usd(token)
            for period, stored in _load_periods(self.sql, "token_candles", token_id, ts):
                loaded = (
                    TokenCandle.load(stored) if stored is not None else TokenCandle.opening(price)
                )
                loaded.price_event(price)
                self.token_candles[period] = loaded
            candle = self.token_candles[key]
        return candle

    def account(self, address: bytes) -> AccountFigures:
        account_id = self.store.intern_address(address)
        figures = self.accounts.get(account_id)
        if figures is None:
            row = self.sql.execute(
                "SELECT data FROM stat_accounts WHERE account_id = ?", (account_id,)
            ).fetchone()
            figures = AccountFigures() if row is None else AccountFigures.load(row[0])
            self.accounts[account_id] = figures
        return figures

    def account_pair(self, account_id: int, pair_id: int) -> list[int | None]:
        key = (account_id, pair_id)
        entry = self.account_pairs.get(key)
        if entry is None:
            row = self.sql.execute(
                "SELECT last_swap_ts, provided FROM stat_account_pairs"
                " WHERE account_id = ? AND pair_id = ?",
                key,
            ).fetchone()
            entry = self.account_pairs[key] = [None, 0] if row is None else list(row)
            if row is None:  # a wallet's first time on the pair: its tokens may be new to it
                pair_tokens = self.pair_tokens[pair_id]
                self.account_tokens.update((account_id, token) for token in pair_tokens)
        return entry

    # --- writing ---------------------------------------------------------------------------------
    def flush(self) -> None:
        tvl_change = 0
        liquidity_change: dict[bytes, int] = {}
        closes: dict[int, tuple[int, int]] = {}
        for state in self.pairs.values():
            usd0 = self.pricing.value(state.token0, state.reserve0)
            usd1 = self.pricing.value(state.token1, state.reserve1)
            tracked = self.tracked(state, usd0, usd1, average=False)
            tvl_change += tracked - state.tracked_usd
            for token, now, before in (
                (state.token0, state.reserve0, state.stored0),
                (state.token1, state.reserve1, state.stored1),
            ):
                liquidity_change[token] = liquidity_change.get(token, 0) + now - before
            self.sql.execute(
                "UPDATE stat_pairs SET reserve0 = ?, reserve1 = ?, tracked_usd = ?"
                " WHERE pair_id = ?",
                (
                    encode_amount(state.reserve0),
                    encode_amount(state.reserve1),
                    encode_amount(tracked),
                    state.pair_id,
                ),
            )
            closes[state.pair_id] = (tracked, self.recorder.ledger.supply(state.address))
        for (pair_id, _, _), candle in self.pair_candles.items():
            candle.reserve_usd, candle.supply = closes[pair_id]
        liquidity = self._token_liquidity(liquidity_change)
        for (token_id, _, _), token_candle in self.token_candles.items():
            token_candle.liquidity = liquidity[token_id][0]
            token_candle.liquidity_usd = liquidity[token_id][1]
        _save_all(self.sql, "pair_candles", self.pair_candles)
        _save_all(self.sql, "token_candles", self.token_candles)
        if self.pairs:
            latest = self.sql.execute(
                "SELECT tvl_usd FROM tvl_hours ORDER BY start DESC LIMIT 1"
            ).fetchone()
            tvl = encode_amount((0 if latest is None else decode_amount(latest[0])) + tvl_change)
            self.sql.execute(
                "INSERT OR REPLACE INTO tvl_hours VALUES (?, ?)",
                (period_start(self.timestamp, HOUR), tvl),
            )
        for account_id, figures in self.accounts.items():
            self.sql.execute(
                "INSERT INTO stat_accounts VALUES (?, ?, ?) ON CONFLICT (account_id) DO UPDATE"
                " SET last_swap_ts = coalesce(excluded.last_swap_ts, last_swap_ts),"
                " data = excluded.data",
                (account_id, self.account_swap_ts.get(account_id), figures.dump()),
            )
        self.sql.executemany(
            "INSERT OR REPLACE INTO stat_account_pairs VALUES (?, ?, ?, ?)",
            [(*key, *entry) for key, entry in self.account_pairs.items()],
        )
        self.sql.executemany(
            "INSERT OR IGNORE INTO stat_account_tokens VALUES (?, ?)", sorted(self.account_tokens)
        )

    def _token_liquidity(self, changes: dict[bytes, int]) -> dict[int, tuple[int, int | None]]:
        """Each touched token's liquidity after the input, and its USD value."""
        ids = list(self.touched_tokens.values())
        stored = dict(
            self.sql.execute(
                "SELECT token_id, liquidity FROM stat_tokens"
                f" WHERE token_id IN ({', '.join('?' * len(ids))})",
                ids,
            ).fetchall()
        )
        out: dict[int, tuple[int, int | None]] = {}
        for token, token_id in self.touched_tokens.items():
            amount = decode_amount(stored.get(token_id, 0)) + changes.get(token, 0)
            out[token_id] = (amount, self.pricing.value(token, amount))
        self.sql.executemany(
            "INSERT OR REPLACE INTO stat_tokens VALUES (?, ?)",
            [
                (token_id, encode_amount(out[token_id][0]))
                for token, token_id in self.touched_tokens.items()
                if token in changes
            ],
        )
        return out


def _average(usd0: int | None, usd1: int | None) -> int:
    """Both sides priced: their mean; one: that one; none: 0 (Uniswap's untracked volume)."""
    if usd0 is not None and usd1 is not None:
        return (usd0 + usd1) // 2
    return usd0 if usd0 is not None else usd1 or 0


def _impact_bps(state: _PairState) -> int:
    """How far the swap moved the pair's mid price, in basis points of the price before."""
    before = state.before1 * state.reserve0
    if before == 0:
        return 0
    return abs(state.reserve1 * state.before0 - before) * 10000 // before


def _load_periods(
    sql: sqlite3.Connection, table: str, subject_id: int, ts: int
) -> list[tuple[tuple[int, int, int], str | None]]:
    """The stored hour and day buckets of a pair or token around `ts` (None: not yet)."""
    column = "pair_id" if table == "pair_candles" else "token_id"
    hour, day = period_start(ts, HOUR), period_start(ts, DAY)
    found = dict(
        sql.execute(
            f"SELECT span, data FROM {table} WHERE {column} = ?"
            " AND ((span = ? AND start = ?) OR (span = ? AND start = ?))",
            (subject_id, HOUR, hour, DAY, day),
        ).fetchall()
    )
    return [
        ((subject_id, HOUR, hour), found.get(HOUR)),
        ((subject_id, DAY, day), found.get(DAY)),
    ]


def _save_all(
    sql: sqlite3.Connection, table: str, rows: Mapping[tuple[int, int, int], Figures]
) -> None:
    sql.executemany(
        f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?)",
        [(*key, figures.dump()) for key, figures in rows.items()],
    )
