"""Keep the market statistics, per accepted input, from the events it produced.

The domain (ledger, pairs, stream swaps) knows nothing of statistics: after an input is applied,
and inside its transaction, `Recorder.record` reads the input's event list and appends to the
logs, the running totals, the hour and day buckets and the account figures of dapp/schema.sql.
A rejected input records nothing, because its transaction is rolled back with everything else.

USD values use the prices of the state after the input (dapp.stats.pricing): one consistent set
of prices per input, whatever order its events came in. A pair's own price after each event is
exact: it is read from the Sync that comes before every Mint, Burn and Swap.

The recorder remembers what it last wrote (pairs, current buckets, wallets, prices) so that an
input mostly writes: the memory is write-through, bounded, and forgotten whenever an input is
rolled back (`forget`), so it never holds anything the database does not.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
from dapp.stats.buckets import PAIR_CANDLES, TOKEN_CANDLES, InputBuckets, Periods
from dapp.stats.config import MarketConfig
from dapp.stats.figures import (
    HOUR,
    AccountFigures,
    PairCandle,
    TokenCandle,
)
from dapp.stats.pricing import Pricing, Quote, forget_moved
from dapp.stats.values import SwapValues, impact_bps, swap_values, tracked_value
from dapp.store import Store, decode_amount, encode_amount

MEMORY_LIMIT = 4096  # entries per kind of remembered row: memory stays bounded


@dataclass(slots=True)
class PairState:
    """A pair as the recorder follows it: its reserves and running totals after the last
    recorded event, and, within an input, where it started and its reserves before the last
    Sync (for the price impact)."""

    pair_id: int
    address: bytes
    token0: bytes
    token1: bytes
    token_ids: tuple[int, int]
    reserve0: int
    reserve1: int
    tracked_usd: int
    cumulative: list[int]  # the c_ columns of its last swap_log row
    mints: int
    burns: int
    before0: int = 0
    before1: int = 0
    stored0: int = 0  # at the start of the input
    stored1: int = 0

    def start_input(self) -> None:
        self.before0 = self.stored0 = self.reserve0
        self.before1 = self.stored1 = self.reserve1

    def sync(self, reserve0: int, reserve1: int) -> None:
        self.before0, self.before1 = self.reserve0, self.reserve1
        self.reserve0, self.reserve1 = reserve0, reserve1


@dataclass
class _Memory:
    """What the recorder wrote last, by kind; every entry equals its row in the database."""

    pairs: dict[bytes, PairState] = field(default_factory=dict)
    pair_periods: Periods[PairCandle] = field(default_factory=Periods)
    token_periods: Periods[TokenCandle] = field(default_factory=Periods)
    accounts: dict[int, AccountFigures] = field(default_factory=dict)
    account_pairs: dict[tuple[int, int], list[int | None]] = field(default_factory=dict)
    liquidity: dict[int, int] = field(default_factory=dict)  # token id → Σ reserves
    quotes: dict[bytes, Quote] = field(default_factory=dict)
    reserves: dict[tuple[bytes, bytes], tuple[bytes, int, int] | None] = field(
        default_factory=dict
    )  # (token0, token1) → (pair, reserve0, reserve1) after the last input, or no pair
    supplies: dict[int, int] = field(default_factory=dict)  # pair id → LP tokens
    tvl: int | None = None

    def trim(self) -> None:
        for remembered in (
            self.pairs,
            self.accounts,
            self.account_pairs,
            self.liquidity,
            self.quotes,
            self.reserves,
            self.supplies,
        ):
            if len(remembered) > MEMORY_LIMIT:
                remembered.clear()
        self.pair_periods.trim(MEMORY_LIMIT)
        self.token_periods.trim(MEMORY_LIMIT)


# a pair's running totals in swap_log, in SwapValues.accumulate's order
CUMULATIVE_COLUMNS = (
    "c_volume0, c_volume1, c_in0, c_in1, c_usd, c_usd_untracked, c_fee_usd, c_count, c_buys"
)


class Recorder:
    """Writes the statistics of one input at a time through the application's store."""

    def __init__(self, store: Store, ledger: Ledger, config: MarketConfig) -> None:
        self.store = store
        self.ledger = ledger
        self.config = config
        self.memory = _Memory()

    def record(
        self, input_index: int, timestamp: int, actor: bytes | None, events: list[Event]
    ) -> None:
        """Record an accepted input; `actor` is the wallet that sent it (None: a relay input)."""
        try:
            _InputRecord(self, input_index, timestamp, actor).run(events)
        except BaseException:
            self.forget()
            raise

    def forget(self) -> None:
        """Drop everything remembered: the transaction that wrote it is being rolled back."""
        self.memory = _Memory()


class _InputRecord:
    """The work of recording one input: events are folded in memory, then written once."""

    def __init__(
        self, recorder: Recorder, input_index: int, timestamp: int, actor: bytes | None
    ) -> None:
        self.recorder = recorder
        self.memory = recorder.memory
        self.store = recorder.store
        self.sql = recorder.store.connection
        self.config = recorder.config
        self.input_index = input_index
        self.timestamp = timestamp
        self.actor = actor
        self.pricing = Pricing(self.store, self.config, self.memory.quotes, self.memory.reserves)
        self.pairs: dict[bytes, PairState] = {}  # touched by this input
        self.pair_hours = InputBuckets(PAIR_CANDLES, self.memory.pair_periods, self.sql)
        self.token_hours = InputBuckets(TOKEN_CANDLES, self.memory.token_periods, self.sql)
        self.accounts: dict[int, AccountFigures] = {}
        self.account_swap_ts: dict[int, int] = {}
        self.account_liquidity_ts: dict[int, int] = {}
        self.account_pairs: dict[tuple[int, int], list[int | None]] = {}
        self.account_tokens: set[tuple[int, int]] = set()
        self.minted_or_burned: set[int] = set()  # pair ids

    # --- the walk over the events ----------------------------------------------------------------
    def run(self, events: list[Event]) -> None:
        self.prepare(events)
        if self.actor is not None:
            self.account(self.actor).acted(self.input_index, self.timestamp)
        for index, event in enumerate(events):
            on = _ON_EVENT.get(type(event))
            if on is not None:
                on(self, index, event)
        self.flush()
        self.memory.trim()

    def prepare(self, events: Iterable[Event]) -> None:
        """Before the walk: register the new pairs, and make the prices those after the input.
        The remembered reserves of every pair the input moved become its last Sync's, and the
        remembered prices those reserves can move are forgotten."""
        memory = self.memory
        for event in events:
            if isinstance(event, PairCreated):
                pair_id = self.store.address_id(event.pair)
                self.sql.execute(
                    "INSERT INTO stat_pairs VALUES (?, ?, ?)",
                    (pair_id, self.timestamp, self.input_index),
                )
                tokens = (event.token0, event.token1)
                memory.reserves[tokens] = (event.pair, 0, 0)
            elif isinstance(event, Sync):
                state = self.pair(event.pair)
                tokens = (state.token0, state.token1)
                memory.reserves[tokens] = (event.pair, event.reserve0, event.reserve1)
            else:
                continue
            forget_moved(memory.quotes, self.config, tokens)

    def sync(self, index: int, event: Sync) -> None:
        self.pair(event.pair).sync(event.reserve0, event.reserve1)

    def swap(self, index: int, event: Swap) -> None:
        state = self.pair(event.pair)
        store = self.store
        stream = event.sender == order_pool_address(event.pair)
        taker = event.sender if stream or self.actor is None else self.actor
        account_id = store.intern_address(taker)
        ts = event.at
        amounts = (event.amount0_in, event.amount1_in, event.amount0_out, event.amount1_out)
        values = swap_values(self.pricing, state.token0, state.token1, *amounts)
        base_is_token0 = self.config.base_is_token0(state.token0, state.token1)
        state.cumulative = values.accumulate(state.cumulative, base_is_token0)
        self.sql.execute(
            "INSERT INTO swap_log VALUES (NULL" + ", ?" * 26 + ")",
            swap_row(
                state,
                ts,
                self.input_index,
                index,
                stream,
                (account_id, store.intern_address(event.sender), store.intern_address(event.to)),
                amounts,
                values,
            ),
        )
        self.pair_hours.hour(state.pair_id, ts)[0].add_swap(values, state.reserve0, state.reserve1)
        for side in (0, 1):
            self.token_hour(state, side, ts).add_swap(values, side)
        if stream:
            return
        self.account(taker).add_swap(
            self.input_index,
            values,
            values.bought(base_is_token0),
            impact_bps(state.before0, state.before1, state.reserve0, state.reserve1),
        )
        self.account_swap_ts[account_id] = ts
        self.account_pair(account_id, state)[0] = ts

    def liquidity(self, index: int, event: Mint | Burn) -> None:
        state = self.pair(event.pair)
        burn = isinstance(event, Burn)
        self.minted_or_burned.add(state.pair_id)
        actor = self.actor if self.actor is not None else event.sender
        account_id = self.store.intern_address(actor)
        value = self.usd(state.token0, event.amount0) + self.usd(state.token1, event.amount1)
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
        self.pair_hours.hour(state.pair_id, self.timestamp)[0].add_event(
            state.reserve0, state.reserve1
        )
        for side in (0, 1):
            self.token_hour(state, side, self.timestamp).tx_count += 1
        self.account(actor).add_liquidity(burn, value, self.timestamp)
        self.account_liquidity_ts[account_id] = self.timestamp
        provided = self.account_pair(account_id, state)
        if not burn:
            provided[1] = 1

    def stream(self, index: int, event: StreamCreated | StreamCancelled) -> None:
        if self.recorder.ledger.is_order_pool(event.receiver):
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

    def order_placed(self, index: int, event: SwapOrderPlaced) -> None:
        figures = self.account(event.trader)
        figures.stream_swap_count += 1
        figures.stream_swap_usd += self.usd(event.token_in, event.amount_in)

    def usd(self, token: bytes, amount: int) -> int:
        """USD value of an amount, 0 when the token has no price."""
        return self.pricing.value(token, amount) or 0

    # --- rows: remembered, or read once ----------------------------------------------------------
    def pair(self, address: bytes) -> PairState:
        state = self.pairs.get(address)
        if state is not None:
            return state
        state = self.memory.pairs.get(address)
        if state is None:
            state = self.memory.pairs[address] = self._load_pair(address)
        state.start_input()
        self.pairs[address] = state
        return state

    def _load_pair(self, address: bytes) -> PairState:
        pair_id = self.store.address_id(address)
        assert pair_id is not None
        (state,) = load_pair_states(self.sql, "p.pair_id = ?", (pair_id,))
        return state

    def token_hour(self, state: PairState, side: int, ts: int) -> TokenCandle:
        """The hour bucket around `ts` of the pair's token0 (side 0) or token1; the first
        touch in an input folds in the token's price after the input."""
        bucket, first = self.token_hours.hour(state.token_ids[side], ts)
        if first:
            bucket.price_event(self.pricing.usd(state.token1 if side else state.token0))
        return bucket

    def account(self, address: bytes) -> AccountFigures:
        account_id = self.store.intern_address(address)
        figures = self.accounts.get(account_id)
        if figures is None:
            figures = self.memory.accounts.get(account_id)
            if figures is None:
                row = self.sql.execute(
                    "SELECT data FROM stat_accounts WHERE account_id = ?", (account_id,)
                ).fetchone()
                figures = AccountFigures() if row is None else AccountFigures.load(row[0])
                self.memory.accounts[account_id] = figures
            self.accounts[account_id] = figures
        return figures

    def account_pair(self, account_id: int, state: PairState) -> list[int | None]:
        """The wallet's row for the pair; its first one also lists the pair's tokens as its."""
        key = (account_id, state.pair_id)
        entry = self.account_pairs.get(key) or self.memory.account_pairs.get(key)
        if entry is None:
            row = self.sql.execute(
                "SELECT last_swap_ts, provided FROM stat_account_pairs"
                " WHERE account_id = ? AND pair_id = ?",
                key,
            ).fetchone()
            entry = [None, 0] if row is None else list(row)
            if row is None:
                self.account_tokens.update((account_id, token) for token in state.token_ids)
        self.account_pairs[key] = self.memory.account_pairs[key] = entry
        return entry

    # --- writing ---------------------------------------------------------------------------------
    def flush(self) -> None:
        memory = self.memory
        liquidity_change: dict[int, int] = {}
        closes: dict[int, tuple[int, int]] = {}
        tvl_change = 0
        for state in self.pairs.values():
            tracked = tracked_value(
                self.config.whitelist,
                state.token0,
                state.token1,
                self.pricing.value(state.token0, state.reserve0),
                self.pricing.value(state.token1, state.reserve1),
                average=False,
            )
            tvl_change += tracked - state.tracked_usd
            state.tracked_usd = tracked
            for token_id, now, before in zip(
                state.token_ids,
                (state.reserve0, state.reserve1),
                (state.stored0, state.stored1),
                strict=True,
            ):
                liquidity_change[token_id] = liquidity_change.get(token_id, 0) + now - before
            closes[state.pair_id] = (tracked, self.supply(state))
        for (pair_id, _), pair_hour in self.pair_hours.touched.items():
            pair_hour.reserve_usd, pair_hour.supply = closes[pair_id]
        liquidity = self._token_liquidity(liquidity_change)
        for (token_id, _), token_hour in self.token_hours.touched.items():
            token_hour.liquidity, token_hour.liquidity_usd = liquidity[token_id]
        self.pair_hours.write()
        self.token_hours.write()
        if self.pairs:
            if memory.tvl is None:
                latest = self.sql.execute(
                    "SELECT tvl_usd FROM tvl_hours ORDER BY start DESC LIMIT 1"
                ).fetchone()
                memory.tvl = 0 if latest is None else decode_amount(latest[0])
            memory.tvl += tvl_change
            self.sql.execute(
                "INSERT OR REPLACE INTO tvl_hours VALUES (?, ?)",
                (self.timestamp - self.timestamp % HOUR, encode_amount(memory.tvl)),
            )
        save_accounts(
            self.sql,
            (
                (
                    account_id,
                    self.account_swap_ts.get(account_id),
                    self.account_liquidity_ts.get(account_id),
                    figures,
                )
                for account_id, figures in self.accounts.items()
            ),
        )
        if self.account_pairs:
            self.sql.executemany(
                "INSERT OR REPLACE INTO stat_account_pairs VALUES (?, ?, ?, ?)",
                [(*key, *entry) for key, entry in self.account_pairs.items()],
            )
        if self.account_tokens:
            self.sql.executemany(
                "INSERT OR IGNORE INTO stat_account_tokens VALUES (?, ?)",
                sorted(self.account_tokens),
            )

    def supply(self, state: PairState) -> int:
        """The pair's LP tokens after the input; only a Mint or a Burn changes them."""
        supply = self.memory.supplies.get(state.pair_id)
        if supply is None or state.pair_id in self.minted_or_burned:
            supply = self.memory.supplies[state.pair_id] = self.recorder.ledger.supply(
                state.address
            )
        return supply

    def _token_liquidity(self, changes: Mapping[int, int]) -> dict[int, tuple[int, int | None]]:
        """Each token of a touched pair: what all pairs hold of it after the input, and its
        USD value. A token not remembered is summed over its pairs (whose reserves are already
        those after the input); a remembered one moves by this input's changes."""
        memory = self.memory
        tokens: dict[int, bytes] = {}
        for state in self.pairs.values():
            tokens.update(zip(state.token_ids, (state.token0, state.token1), strict=True))
        out: dict[int, tuple[int, int | None]] = {}
        for token_id, token in tokens.items():
            if token_id in memory.liquidity:
                amount = memory.liquidity[token_id] + changes.get(token_id, 0)
            else:
                amount = token_liquidity(self.sql, token_id)
            memory.liquidity[token_id] = amount
            out[token_id] = (amount, self.pricing.value(token, amount))
        return out


_ON_EVENT: dict[type[Event], Callable[[_InputRecord, int, Any], None]] = {
    Sync: _InputRecord.sync,
    Swap: _InputRecord.swap,
    Mint: _InputRecord.liquidity,
    Burn: _InputRecord.liquidity,
    StreamCreated: _InputRecord.stream,
    StreamCancelled: _InputRecord.stream,
    SwapOrderPlaced: _InputRecord.order_placed,
}


def token_liquidity(sql: sqlite3.Connection, token_id: int) -> int:
    """Σ of a token's reserves over every pair it is in (Uniswap's Token.totalLiquidity)."""
    total = 0
    for reserve0, reserve1, token0_id in sql.execute(
        "SELECT reserve0, reserve1, token0_id FROM pairs WHERE token0_id = ?"
        " UNION ALL SELECT reserve0, reserve1, token0_id FROM pairs WHERE token1_id = ?",
        (token_id, token_id),
    ):
        total += decode_amount(reserve0 if token0_id == token_id else reserve1)
    return total


def load_pair_states(sql: sqlite3.Connection, where: str, args: tuple[int, ...]) -> list[PairState]:
    """Pairs as the recorder follows them, as the last recorded input left them: reserves and
    tracked USD are those its latest hour bucket closed with (every Sync comes with a Swap, Mint
    or Burn, which touches the bucket), the running totals those of its latest log rows."""
    rows = sql.execute(
        "SELECT p.pair_id, a.address, t0.address, t1.address, p.token0_id, p.token1_id"
        " FROM pairs p JOIN addresses a ON a.id = p.pair_id"
        " JOIN addresses t0 ON t0.id = p.token0_id JOIN addresses t1 ON t1.id = p.token1_id"
        f" WHERE {where} ORDER BY p.pair_id",
        args,
    ).fetchall()
    states = []
    for pair_id, address, token0, token1, id0, id1 in rows:
        latest = PAIR_CANDLES.latest_hour(sql, pair_id)
        close = PairCandle.opening() if latest is None else latest[1]
        cumulative = sql.execute(
            f"SELECT {CUMULATIVE_COLUMNS} FROM swap_log WHERE pair_id = ?"
            " ORDER BY ts DESC, id DESC LIMIT 1",
            (pair_id,),
        ).fetchone()
        counts = sql.execute(
            "SELECT c_mints, c_burns FROM liquidity_log WHERE pair_id = ?"
            " ORDER BY ts DESC, id DESC LIMIT 1",
            (pair_id,),
        ).fetchone()
        states.append(
            PairState(
                pair_id=pair_id,
                address=bytes(address),
                token0=bytes(token0),
                token1=bytes(token1),
                token_ids=(id0, id1),
                reserve0=close.reserve0,
                reserve1=close.reserve1,
                tracked_usd=close.reserve_usd,
                cumulative=(
                    [0] * 9 if cumulative is None else [decode_amount(v) for v in cumulative]
                ),
                mints=0 if counts is None else counts[0],
                burns=0 if counts is None else counts[1],
            )
        )
    return states


def save_accounts(
    sql: sqlite3.Connection,
    rows: Iterable[tuple[int, int | None, int | None, AccountFigures]],
) -> None:
    """Write wallets' figures: (account id, last swap time, last liquidity time, figures); a
    time given as None keeps the stored one. Only the times given are set, so the index of the
    other is not rewritten (SQLite updates the indexes of the columns an UPDATE sets)."""
    groups: dict[tuple[bool, bool], list[tuple[int, int | None, int | None, bytes]]] = {}
    for account_id, swap_ts, liquidity_ts, figures in rows:
        groups.setdefault((swap_ts is not None, liquidity_ts is not None), []).append(
            (account_id, swap_ts, liquidity_ts, figures.dump())
        )
    for (swapped, provided), group in groups.items():
        columns = [
            f"{column} = excluded.{column}"
            for column, given in (("last_swap_ts", swapped), ("last_liquidity_ts", provided))
            if given
        ]
        sql.executemany(
            "INSERT INTO stat_accounts VALUES (?, ?, ?, ?) ON CONFLICT (account_id) DO UPDATE"
            f" SET {', '.join([*columns, 'data = excluded.data'])}",
            group,
        )


def swap_row(
    state: PairState,
    ts: int,
    input_index: int,
    event_index: int,
    stream: bool,
    accounts: tuple[int, int, int],
    amounts: tuple[int, int, int, int],
    values: SwapValues,
) -> tuple[int | str, ...]:
    """A swap_log row (without its id): the swap, the reserves after it and the pair's running
    totals (`state.cumulative`, already including it)."""
    cumulative = state.cumulative
    return (
        state.pair_id,
        ts,
        input_index,
        event_index,
        int(stream),
        *accounts,
        *map(
            encode_amount,
            (
                *amounts,
                state.reserve0,
                state.reserve1,
                values.tracked,
                values.untracked,
                values.fee,
                *cumulative[:7],
            ),
        ),
        cumulative[7],
        cumulative[8],
    )
