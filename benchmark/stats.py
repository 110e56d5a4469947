"""The market-statistics benchmark (issue #7): N swaps over 40 pairs, then every stats route timed.

`python -m benchmark stats --swaps N` builds a market and measures three things against the
issue's targets (every route ≤ 10 ms at a million swaps, flat from ten thousand; keeping the
statistics ≤ 0.2 ms per swap):

* **routes**: each stats route through `Application.inspect`, in process, `repeat` times after
  one untimed call (which must answer without an error): median and 95th percentile. Routes of
  modules that are not there yet answer UNKNOWN_ROUTE and are skipped with a note, so the list
  follows the application as modules land.
* **upkeep**: the time of `Application.advance` for a swap input minus the same input through an
  application whose recorder does nothing, on two copies of the seeded database, inputs
  interleaved (medians per swap); and `Recorder.record` alone, timed inside the first.
* **bytes per swap**: the database's growth (page_count · page_size) over the trading, / N.

The market (`MARKET`): 16 tokens (USDC with 6 decimals and DAI with 18 as the stablecoins, WETH
as the reference token, a token with 8 decimals, one token the configuration does not list, so it
stays unpriced), 40 pairs of very different depths and popularity, `accounts(N)` = N/100 traders
(at least 10) and one liquidity provider, 90 days of trading: N swaps, and one add or remove of
liquidity by a trader every LIQUIDITY_EVERY swaps.

Seeding. Sending a million inputs through the application takes far too long, so only the setup
(the provider's deposits and the first liquidity of each pair: ~60 inputs) goes through a real
`Application`; the traders' deposits, swaps, mints and burns are applied by `_Exchange`, an
in-memory model of exactly what the ledger, the pairs and `dapp.stats.record.Recorder` do for
these inputs, and written with `executemany` in one transaction per phase. It shares the
recorder's code rather than copying it, so the two cannot drift: amounts from `dapp.amm.math`,
prices from `dapp.stats.pricing.Pricing` over the model's reserves, a pair's state as
`dapp.stats.record.PairState`, a swap's figures from `dapp.stats.values` (`swap_values`,
`tracked_value`, `impact_bps`) folded in by the methods of `dapp.stats.figures`, and its
swap_log row from `dapp.stats.record.swap_row`. tests/test_benchmark_stats.py checks that the
database it writes is byte-identical (`Store.dump()`, statistics tables and all) to sending the
same inputs one by one through a real application.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from bisect import bisect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic

from benchmark.run import APP_CONTRACT, set_page_cache
from benchmark.swaps import ERC20_PORTAL, accepted, action
from dapp.addresses import to_checksum_address
from dapp.amm.math import get_amount_out, liquidity_minted, quote
from dapp.amm.pair import pair_address
from dapp.app import Application, Config, Outcome
from dapp.events import Event
from dapp.ledger import Ledger
from dapp.stats.buckets import PAIR_CANDLES, TOKEN_CANDLES, C, CandleTable, later_hour
from dapp.stats.config import MarketConfig, TokenInfo
from dapp.stats.figures import (
    DAY,
    HOUR,
    AccountFigures,
    TokenCandle,
    period_start,
)
from dapp.stats.pricing import Pricing, forget_moved
from dapp.stats.record import (
    PairState,
    Recorder,
    load_pair_states,
    save_accounts,
    swap_row,
    token_liquidity,
)
from dapp.stats.values import impact_bps, swap_values, tracked_value
from dapp.store import Store, decode_amount, encode_amount
from devnet.rollup_server import advance_data, v2_metadata

START = 1_699_920_000  # a UTC midnight: the setup's day is its own, no later input shares it
TRADING_FROM = START + DAY + HOUR  # the traders deposit in the hour before
TRADING_DAYS = 90
LIQUIDITY_EVERY = 40  # one liquidity input (add or remove) per this many swaps
SWAP_USD = (20, 20_000)  # a swap's size in dollars at the seeded prices: log-uniform
LIQUIDITY_USD = (1_000, 100_000)  # an add's size per side, likewise
TRADER_USD = 5_000_000  # what each trader deposits of every token, in dollars
SEED = 7
CHUNK = 20_000  # activity inputs between progress reports and log writes
DEFAULT_REPEAT = 30
MIN_REPEAT = 10
DEFAULT_UPKEEP_INPUTS = 300
ROUTE_TARGET_MS = 10.0
UPKEEP_TARGET_MS = 0.2
MICRO = 10**6  # prices and sizes in micro-dollars


# --- the market ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    symbol: str
    decimals: int
    price: int  # micro-dollars per whole token at the start
    listed: bool = True  # named in the statistics configuration

    @property
    def address(self) -> bytes:
        """Hashed, so the byte order of the tokens (hence token0 and token1) is mixed."""
        return hashlib.sha256(b"streamdex-bench-token-" + self.symbol.encode()).digest()[:20]

    def units(self, micro_usd: int) -> int:
        """Base units worth `micro_usd` at the start price."""
        units: int = micro_usd * 10**self.decimals // self.price
        return units


@dataclass(frozen=True)
class PairSpec:
    a: Token
    b: Token
    depth_usd: int  # dollars of each token in the first liquidity
    weight: int  # share of the swaps and liquidity inputs


@dataclass(frozen=True)
class MarketSpec:
    tokens: tuple[Token, ...]
    pairs: tuple[PairSpec, ...]
    config: MarketConfig


def _market() -> MarketSpec:
    """16 tokens, 40 pairs: three anchor pairs, every listed token against WETH and against a
    stablecoin, a ring of pairs between them, and one pair with the unlisted token."""
    usdc, dai = Token("USDC", 6, MICRO), Token("DAI", 18, MICRO)
    weth = Token("WETH", 18, 2_000 * MICRO)
    others = [
        Token("WBTC", 8, 40_000 * MICRO),
        Token("CTSI", 18, 150_000),
        Token("UNI", 18, 6 * MICRO),
        Token("LINK", 18, 14 * MICRO),
        Token("AAVE", 18, 90 * MICRO),
        Token("MKR", 18, 1_500 * MICRO),
        Token("SNX", 18, 2_500_000),
        Token("CRV", 18, 500_000),
        Token("LDO", 18, 2 * MICRO),
        Token("GRT", 18, 120_000),
        Token("COMP", 18, 50 * MICRO),
        Token("PEPE", 18, 1),
    ]
    unlisted = Token("XYZ", 18, 10_000, listed=False)
    pairs = [
        PairSpec(weth, usdc, 50_000_000, 50),
        PairSpec(weth, dai, 30_000_000, 30),
        PairSpec(usdc, dai, 20_000_000, 20),
    ]
    for i, token in enumerate(others):
        pairs.append(PairSpec(token, weth, 8_000_000, 8))
        pairs.append(PairSpec(token, usdc if i % 2 == 0 else dai, 4_000_000, 4))
    for i, token in enumerate(others):
        pairs.append(PairSpec(token, others[(i + 1) % len(others)], 1_000_000, 1))
    pairs.append(PairSpec(unlisted, others[-1], 500_000, 1))
    tokens = (usdc, dai, weth, *others, unlisted)
    config = MarketConfig.checked(
        {t.address: TokenInfo(t.symbol, t.symbol, t.decimals) for t in tokens if t.listed},
        (usdc.address, dai.address),
        weth.address,
    )
    return MarketSpec(tokens, tuple(pairs), config)


MARKET = _market()
PROVIDER = (0x1F << 152 | 1).to_bytes(20, "big")


def accounts(swaps: int) -> int:
    """Traders: one per hundred swaps, at least ten."""
    return max(10, swaps // 100)


def trader(n: int) -> bytes:
    return (0x5A << 152 | n + 1).to_bytes(20, "big")


# --- inputs ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Input:
    """An advance input as a node would hand it over (the input index is its position)."""

    sender: bytes
    payload: bytes
    timestamp: int


def request(index: int, sent: Input) -> dict[str, Any]:
    metadata = v2_metadata(
        msg_sender=sent.sender,
        input_index=index,
        block_number=1 + index,
        timestamp=sent.timestamp,
        app_contract=APP_CONTRACT,
    )
    return advance_data(metadata, sent.payload)


def deposit_input(token: bytes, account: bytes, amount: int, at: int) -> Input:
    return Input(ERC20_PORTAL, token + account + amount.to_bytes(32, "big"), at)


def swap_input(account: bytes, sold: bytes, bought: bytes, amount_in: int, at: int) -> Input:
    return Input(
        account, action("swap", amount_in=amount_in, amount_out_min=0, path=[sold, bought]), at
    )


def setup_inputs(spec: MarketSpec = MARKET) -> list[Input]:
    """The provider deposits what the pairs need, then creates every pair with its liquidity."""
    needed: dict[Token, int] = {}
    for pair in spec.pairs:
        for token in (pair.a, pair.b):
            needed[token] = needed.get(token, 0) + token.units(pair.depth_usd * MICRO)
    inputs = [
        deposit_input(token.address, PROVIDER, needed[token], START + i)
        for i, token in enumerate(spec.tokens)
    ]
    for i, pair in enumerate(spec.pairs):
        payload = action(
            "add_liquidity",
            token_a=pair.a.address,
            token_b=pair.b.address,
            token_a_desired=pair.a.units(pair.depth_usd * MICRO),
            token_b_desired=pair.b.units(pair.depth_usd * MICRO),
            token_a_min=0,
            token_b_min=0,
        )
        inputs.append(Input(PROVIDER, payload, START + len(spec.tokens) + i))
    return inputs


# --- what the traders do ---------------------------------------------------------------------
@dataclass(frozen=True)
class Swap:
    account: int
    pair: int
    sells_a: bool
    amount_in: int


@dataclass(frozen=True)
class Liquidity:
    account: int
    pair: int
    micro_usd: int  # the size of an add, per side
    remove: bool  # remove half of its position in one of its pairs (add when it has none)


class Activity:
    """The traders' inputs, from a seeded generator: the same N gives the same market, and the
    inputs after the N-th (the upkeep measure's) continue it."""

    def __init__(self, swaps: int, spec: MarketSpec = MARKET) -> None:
        self.swaps = swaps
        self.spec = spec
        self.accounts = accounts(swaps)
        self.rng = random.Random(SEED)
        self.cumulative: list[int] = []
        total = 0
        for pair in spec.pairs:
            total += pair.weight
            self.cumulative.append(total)
        self.inputs = swaps + swaps // LIQUIDITY_EVERY
        self.spacing = TRADING_DAYS * DAY / self.inputs  # seconds between trading inputs

    def at(self, k: int) -> int:
        """The time of the k-th trading input (k may run past the seeded ones)."""
        return TRADING_FROM + int(k * self.spacing)

    def plan(self, count: int) -> Iterator[Swap | Liquidity]:
        """The next `count` swaps, each LIQUIDITY_EVERY-th preceded by a liquidity input."""
        rng = self.rng
        for j in range(count):
            if j % LIQUIDITY_EVERY == LIQUIDITY_EVERY - 1:
                yield Liquidity(
                    rng.randrange(self.accounts),
                    self._pair(),
                    _log_uniform(rng, LIQUIDITY_USD),
                    rng.random() < 0.5,
                )
            pair = self._pair()
            sells_a = rng.random() < 0.5
            spec = self.spec.pairs[pair]
            sold = spec.a if sells_a else spec.b
            yield Swap(
                rng.randrange(self.accounts), pair, sells_a, sold.units(_log_uniform(rng, SWAP_USD))
            )

    def _pair(self) -> int:
        return bisect(self.cumulative, self.rng.randrange(self.cumulative[-1]))


def _log_uniform(rng: random.Random, bounds: tuple[int, int]) -> int:
    low, high = bounds
    return int(low * MICRO * (high / low) ** rng.random())


# --- the in-memory exchange ------------------------------------------------------------------
class _Prices(Pricing):
    """`Pricing` over the model's reserves instead of the pairs table: the same arithmetic.

    One instance serves every input (the recorder makes one per input): after a pair's reserves
    change, `changed` forgets the quotes they can move. A token's quote reads only its pairs
    with the whitelisted tokens and their quotes, and the reference token's quote its pairs with
    the stablecoins, which every other quote may read; a stablecoin's never changes."""

    def __init__(
        self, store: Store, config: MarketConfig, pairs: Mapping[tuple[bytes, bytes], PairState]
    ) -> None:
        super().__init__(store, config)
        self._pairs = pairs

    def changed(self, state: PairState) -> None:
        forget_moved(self._quotes, self.config, (state.token0, state.token1))

    def reserves(self, token: bytes, other: bytes) -> tuple[bytes, int, int] | None:
        first, second = sorted((token, other))
        state = self._pairs.get((first, second))
        if state is None:
            return None
        if token == first:
            return state.address, state.reserve0, state.reserve1
        return state.address, state.reserve1, state.reserve0


class _Candles(Generic[C]):
    """The open hour of every pair (or token) with the earlier hours of its day, and the closed
    buckets awaiting their write.

    Times never go back, so a bucket is never touched again once a later one has opened. As the
    recorder leaves them (dapp.stats.buckets), an hour opens from the one before it in the same
    day (`next_hour`), and a day is written from its hours (`day_of`) once a later day opens: an
    owner's open day, that of its latest hour, is not."""

    def __init__(self, sql: sqlite3.Connection, where: CandleTable[C]) -> None:
        """The hours of each owner's open day, the day of its latest hour."""
        self.kind: type[C] = where.kind
        self.days: dict[int, list[tuple[int, C]]] = {}  # owner → its open day's hours, in order
        self.closed: list[tuple[int, int, int, bytes]] = []
        for (owner,) in sql.execute(f"SELECT DISTINCT {where.column} FROM {where.table}"):
            latest = where.latest_hour(sql, owner)
            assert latest is not None  # every owner has an hour
            self.days[owner] = where.hours_of_day(sql, owner, period_start(latest[0], DAY))

    def hour(self, owner: int, ts: int) -> C:
        """The owner's hour bucket holding `ts`, opened if it is new."""
        start = period_start(ts, HOUR)
        hours = self.days.setdefault(owner, [])
        latest = hours[-1] if hours else None
        if latest is not None:
            if latest[0] == start:
                return latest[1]
            self.closed.append((owner, HOUR, latest[0], latest[1].dump()))
        candle, closed_day = later_hour(self.kind, latest, start)
        if closed_day is not None:
            self.closed.append((owner, DAY, closed_day, self.kind.day_of(hours).dump()))
            hours.clear()
        hours.append((start, candle))
        return candle

    def rows(self) -> Iterator[tuple[int, int, int, bytes]]:
        yield from self.closed
        for owner, hours in self.days.items():
            start, candle = hours[-1]
            yield owner, HOUR, start, candle.dump()


class _Exchange:
    """Every row the seeded inputs change, in memory, as the application would leave them.

    Only what these inputs can do is modelled: deposits, single-hop swaps, adds and removes on
    existing pairs, with no streams or stream swaps anywhere, so every balance has zero rates and
    escrow. It starts from the database as the setup left it and writes everything back."""

    def __init__(self, store: Store, config: MarketConfig) -> None:
        self.store = store
        self.sql = store.connection
        self.config = config
        self.ids = {bytes(a): i for i, a in self.sql.execute("SELECT id, address FROM addresses")}
        self.new_addresses: list[tuple[int, bytes]] = []
        self.balances: dict[tuple[int, int], list[int]] = {}
        self.changed_balances: set[tuple[int, int]] = set()  # since the last write
        for account_id, token_id, available, escrow, inflow, outflow, updated in self.sql.execute(
            "SELECT * FROM balances"
        ):
            if escrow != 0 or inflow != 0 or outflow != 0:
                raise RuntimeError("the bulk seeder models no streams: a balance has rates")
            self.balances[(account_id, token_id)] = [decode_amount(available), updated]
        self.tokens = {
            token_id: [decode_amount(supply), holders, decode_amount(volume)]
            for token_id, supply, holders, volume in self.sql.execute("SELECT * FROM tokens")
        }
        self.pairs: dict[bytes, PairState] = {}
        self.by_tokens: dict[tuple[bytes, bytes], PairState] = {}
        self._load_pairs()
        self.prices = _Prices(store, config, self.by_tokens)
        self.liquidity = {
            token_id: token_liquidity(self.sql, token_id)
            for (token_id,) in self.sql.execute("SELECT token_id FROM tokens")
        }
        latest = self.sql.execute(
            "SELECT tvl_usd FROM tvl_hours ORDER BY start DESC LIMIT 1"
        ).fetchone()
        self.tvl = 0 if latest is None else decode_amount(latest[0])
        self.tvl_hours: dict[int, int] = {}
        self.figures: dict[int, AccountFigures] = {}
        self.last_swap_ts: dict[int, int | None] = {}
        self.last_liquidity_ts: dict[int, int | None] = {}
        for account_id, last_swap_ts, last_liquidity_ts, data in self.sql.execute(
            "SELECT account_id, last_swap_ts, last_liquidity_ts, data FROM stat_accounts"
        ):
            self.figures[account_id] = AccountFigures.load(data)
            self.last_swap_ts[account_id] = last_swap_ts
            self.last_liquidity_ts[account_id] = last_liquidity_ts
        self.account_pairs: dict[tuple[int, int], list[int | None]] = {
            (account_id, pair_id): [last_swap_ts, provided]
            for account_id, pair_id, last_swap_ts, provided in self.sql.execute(
                "SELECT * FROM stat_account_pairs"
            )
        }
        self.account_tokens: set[tuple[int, int]] = set()
        self.pair_candles = _Candles(self.sql, PAIR_CANDLES)
        self.token_candles = _Candles(self.sql, TOKEN_CANDLES)
        self.swap_rows: list[tuple[Any, ...]] = []
        self.liquidity_rows: list[tuple[Any, ...]] = []
        self.next_swap_id = self._next_id("swap_log")
        self.next_liquidity_id = self._next_id("liquidity_log")
        progress = store.progress()
        self.last_index = -1 if progress.last_input_index is None else progress.last_input_index
        self.last_ts = progress.last_timestamp

    def _load_pairs(self) -> None:
        """Each pair as `Recorder` would load it (`PairState`), from the setup's rows."""
        for state in load_pair_states(self.sql, "1", ()):
            state.start_input()
            self.pairs[state.address] = state
            self.by_tokens[(state.token0, state.token1)] = state

    def _next_id(self, table: str) -> int:
        (last,) = self.sql.execute(f"SELECT max(id) FROM {table}").fetchone()
        return 1 if last is None else last + 1

    # --- the domain ------------------------------------------------------------------------------
    def intern(self, address: bytes) -> int:
        known = self.ids.get(address)
        if known is None:
            known = self.ids[address] = len(self.ids) + 1
            self.new_addresses.append((known, address))
        return known

    def credit(self, account_id: int, token_id: int, amount: int, now: int) -> None:
        """Add to (or, negative, take from) an available balance settled at `now`; a new row
        counts a holder and an emptied row goes, as Ledger._save does."""
        self.changed_balances.add((account_id, token_id))
        row = self.balances.get((account_id, token_id))
        if row is None:
            if amount == 0:
                return
            row = self.balances[(account_id, token_id)] = [0, now]
            self.tokens[token_id][1] += 1
        row[0] += amount
        row[1] = now
        if row[0] < 0:
            raise RuntimeError(f"account {account_id} overdrew token {token_id}")
        if row[0] == 0:
            del self.balances[(account_id, token_id)]
            self.tokens[token_id][1] -= 1

    def begin(self, index: int, now: int) -> None:
        if index != self.last_index + 1 or now < self.last_ts:
            raise RuntimeError(f"input {index} at {now} does not follow {self.last_index}")
        self.last_index, self.last_ts = index, now

    def deposit(self, index: int, now: int, token: bytes, account: bytes, amount: int) -> None:
        self.begin(index, now)
        token_id = self.intern(token)
        self.tokens[token_id][0] += amount
        account_id = self.intern(account)
        self.credit(account_id, token_id, amount, now)
        self._account(account_id).acted(index, now)

    def swap(
        self, index: int, now: int, account: bytes, state: PairState, sold: bytes, amount_in: int
    ) -> None:
        """Router02.swapExactTokensForTokens over one pair, with amount_out_min 0, then what the
        recorder writes for it."""
        self.begin(index, now)
        sells0 = sold == state.token0
        reserve_in, reserve_out = (
            (state.reserve0, state.reserve1) if sells0 else (state.reserve1, state.reserve0)
        )
        out = get_amount_out(amount_in, reserve_in, reserve_out)
        if out <= 0:
            raise RuntimeError(f"a seeded swap of {amount_in} buys nothing")
        account_id = self.ids[account]
        token0_id, token1_id = state.token_ids
        in0, in1, out0, out1 = (amount_in, 0, 0, out) if sells0 else (0, amount_in, out, 0)
        self.credit(account_id, token0_id if sells0 else token1_id, -amount_in, now)
        self.credit(state.pair_id, token0_id if sells0 else token1_id, amount_in, now)
        self.credit(state.pair_id, token1_id if sells0 else token0_id, -out, now)
        self.credit(account_id, token1_id if sells0 else token0_id, out, now)
        self._sync(state, state.reserve0 + in0 - out0, state.reserve1 + in1 - out1)
        self.tokens[token0_id][2] += in0 + out0
        self.tokens[token1_id][2] += in1 + out1
        record = _Record(self, state, account_id, index, now)
        record.swap(in0, in1, out0, out1)
        record.flush()

    def add(
        self,
        index: int,
        now: int,
        account: bytes,
        state: PairState,
        micro_usd: int,
        token_a: Token,
    ) -> tuple[int, int]:
        """Router02.addLiquidity of `micro_usd` of token_a with twice the matching token_b
        offered (so token_a's amount binds); returns (desired a, desired b) for the input."""
        self.begin(index, now)
        a_is0 = token_a.address == state.token0
        reserve_a, reserve_b = (
            (state.reserve0, state.reserve1) if a_is0 else (state.reserve1, state.reserve0)
        )
        desired_a = token_a.units(micro_usd)
        desired_b = 2 * quote(desired_a, reserve_a, reserve_b)
        amount_b = quote(desired_a, reserve_a, reserve_b)
        amount0, amount1 = (desired_a, amount_b) if a_is0 else (amount_b, desired_a)
        if amount0 <= 0 or amount1 <= 0:
            raise RuntimeError("a seeded add of liquidity pays nothing of one token")
        account_id = self.ids[account]
        token0_id, token1_id = state.token_ids
        supply = self.tokens[state.pair_id][0]
        liquidity = liquidity_minted(supply, state.reserve0, state.reserve1, amount0, amount1)
        for token_id, amount in ((token0_id, amount0), (token1_id, amount1)):
            self.credit(account_id, token_id, -amount, now)
            self.credit(state.pair_id, token_id, amount, now)
        self.tokens[state.pair_id][0] += liquidity
        self.credit(account_id, state.pair_id, liquidity, now)
        self._sync(state, state.reserve0 + amount0, state.reserve1 + amount1)
        record = _Record(self, state, account_id, index, now)
        record.liquidity(4, amount0, amount1, liquidity, burn=False)
        record.flush()
        return desired_a, desired_b

    def remove(
        self, index: int, now: int, account: bytes, state: PairState, liquidity: int
    ) -> None:
        """Router02.removeLiquidity to the sender, minimums 0."""
        self.begin(index, now)
        account_id = self.ids[account]
        token0_id, token1_id = state.token_ids
        supply = self.tokens[state.pair_id][0]
        amount0 = liquidity * state.reserve0 // supply
        amount1 = liquidity * state.reserve1 // supply
        if amount0 <= 0 or amount1 <= 0:
            raise RuntimeError("a seeded removal of liquidity returns nothing of one token")
        # paid into the pair and burned there in the same input: the pair's row comes and goes
        self.credit(account_id, state.pair_id, -liquidity, now)
        self.tokens[state.pair_id][0] -= liquidity
        for token_id, amount in ((token0_id, amount0), (token1_id, amount1)):
            self.credit(state.pair_id, token_id, -amount, now)
            self.credit(account_id, token_id, amount, now)
        self._sync(state, state.reserve0 - amount0, state.reserve1 - amount1)
        record = _Record(self, state, account_id, index, now)
        record.liquidity(5, amount0, amount1, liquidity, burn=True)
        record.flush()

    def lp_balance(self, account: bytes, state: PairState) -> int:
        row = self.balances.get((self.ids[account], state.pair_id))
        return 0 if row is None else row[0]

    def _sync(self, state: PairState, reserve0: int, reserve1: int) -> None:
        """The input's one Sync: the pair's new reserves (Pairs._update), as the recorder follows
        them (`PairState`), and the prices they move."""
        state.start_input()
        state.sync(reserve0, reserve1)
        self.prices.changed(state)

    def _account(self, account_id: int) -> AccountFigures:
        figures = self.figures.get(account_id)
        if figures is None:
            figures = self.figures[account_id] = AccountFigures()
        return figures

    # --- writing ---------------------------------------------------------------------------------
    def write_logs(self) -> None:
        """The swaps and liquidity events so far (called every chunk: memory stays flat)."""
        self.sql.executemany(
            "INSERT INTO swap_log VALUES (" + ", ".join("?" * 27) + ")", self.swap_rows
        )
        self.sql.executemany(
            "INSERT INTO liquidity_log VALUES (" + ", ".join("?" * 17) + ")", self.liquidity_rows
        )
        self.swap_rows.clear()
        self.liquidity_rows.clear()

    def write(self) -> None:
        """Every row the inputs changed, once (inside the caller's transaction)."""
        sql = self.sql
        self.write_logs()
        sql.executemany("INSERT INTO addresses (id, address) VALUES (?, ?)", self.new_addresses)
        self.new_addresses.clear()
        changed = sorted(self.changed_balances)
        self.changed_balances.clear()
        sql.executemany(
            "DELETE FROM balances WHERE account_id = ? AND token_id = ?",
            (key for key in changed if key not in self.balances),
        )
        sql.executemany(
            "INSERT OR REPLACE INTO balances VALUES (?, ?, ?, 0, 0, 0, ?)",
            (
                (*key, encode_amount(self.balances[key][0]), self.balances[key][1])
                for key in changed
                if key in self.balances
            ),
        )
        sql.executemany(
            "INSERT OR REPLACE INTO tokens VALUES (?, ?, ?, ?)",
            (
                (token_id, encode_amount(supply), holders, encode_amount(volume))
                for token_id, (supply, holders, volume) in self.tokens.items()
            ),
        )
        for state in self.pairs.values():
            sql.execute(
                "UPDATE pairs SET reserve0 = ?, reserve1 = ? WHERE pair_id = ?",
                (encode_amount(state.reserve0), encode_amount(state.reserve1), state.pair_id),
            )
        sql.execute(
            "UPDATE progress SET last_input_index = ?, last_timestamp = ?",
            (self.last_index, self.last_ts),
        )
        self._write_statistics()

    def _write_statistics(self) -> None:
        sql = self.sql
        for table, candles in (
            ("pair_candles", self.pair_candles),
            ("token_candles", self.token_candles),
        ):
            sql.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?)", candles.rows())
            candles.closed.clear()
        sql.executemany(
            "INSERT OR REPLACE INTO tvl_hours VALUES (?, ?)",
            ((start, encode_amount(tvl)) for start, tvl in self.tvl_hours.items()),
        )
        save_accounts(
            sql,
            (
                (
                    account_id,
                    self.last_swap_ts.get(account_id),
                    self.last_liquidity_ts.get(account_id),
                    figures,
                )
                for account_id, figures in self.figures.items()
            ),
        )
        sql.executemany(
            "INSERT OR REPLACE INTO stat_account_pairs VALUES (?, ?, ?, ?)",
            ((*key, *entry) for key, entry in self.account_pairs.items()),
        )
        sql.executemany(
            "INSERT OR IGNORE INTO stat_account_tokens VALUES (?, ?)", sorted(self.account_tokens)
        )


class _Record:
    """What `Recorder.record` does for one input touching one pair, against the model: the
    same calls on the same figures, in the same order, read from memory instead of the
    statistics tables (a swap's values from dapp.stats.values, folded in by the figures' own
    methods, its row from dapp.stats.record.swap_row)."""

    def __init__(
        self, exchange: _Exchange, state: PairState, account_id: int, index: int, now: int
    ) -> None:
        self.exchange = exchange
        self.state = state
        self.account_id = account_id
        self.index = index
        self.now = now
        self.pricing = exchange.prices
        self.figures = exchange._account(account_id)
        self.figures.acted(index, now)
        self.pair_candle = exchange.pair_candles.hour(state.pair_id, now)
        self.token_candles = [  # by side: the recorder's token_hour(state, side, ts)
            self._token_candle(token, token_id) for token, token_id in self._tokens()
        ]

    def _tokens(self) -> zip[tuple[bytes, int]]:
        state = self.state
        return zip((state.token0, state.token1), state.token_ids, strict=True)

    def _token_candle(self, token: bytes, token_id: int) -> TokenCandle:
        candle = self.exchange.token_candles.hour(token_id, self.now)
        candle.price_event(self.pricing.usd(token))  # the price after this input, once per input
        return candle

    def usd(self, token: bytes, amount: int) -> int:
        return self.pricing.value(token, amount) or 0

    def swap(self, in0: int, in1: int, out0: int, out1: int) -> None:
        """_InputRecord.swap for a swap by the input's sender to itself (event index 3)."""
        state, exchange, now = self.state, self.exchange, self.now
        amounts = (in0, in1, out0, out1)
        values = swap_values(self.pricing, state.token0, state.token1, *amounts)
        base_is_token0 = exchange.config.base_is_token0(state.token0, state.token1)
        state.cumulative = values.accumulate(state.cumulative, base_is_token0)
        account_id = self.account_id
        exchange.swap_rows.append(
            (
                exchange.next_swap_id,
                *swap_row(
                    state,
                    now,
                    self.index,
                    3,
                    False,
                    (account_id, account_id, account_id),
                    amounts,
                    values,
                ),
            )
        )
        exchange.next_swap_id += 1
        self.pair_candle.add_swap(values, state.reserve0, state.reserve1)
        for side, token_candle in enumerate(self.token_candles):
            token_candle.add_swap(values, side)
        self.figures.add_swap(
            self.index,
            values,
            values.bought(base_is_token0),
            impact_bps(state.before0, state.before1, state.reserve0, state.reserve1),
        )
        exchange.last_swap_ts[account_id] = now
        self._account_pair()[0] = now

    def liquidity(
        self, index: int, amount0: int, amount1: int, liquidity: int, *, burn: bool
    ) -> None:
        """_InputRecord.liquidity for a Mint or Burn by the input's sender to itself."""
        state, exchange, now = self.state, self.exchange, self.now
        value = self.usd(state.token0, amount0) + self.usd(state.token1, amount1)
        state.burns += burn
        state.mints += not burn
        account_id = self.account_id
        exchange.liquidity_rows.append(
            (
                exchange.next_liquidity_id,
                state.pair_id,
                now,
                self.index,
                index,
                int(burn),
                account_id,
                account_id,
                account_id,
                *map(
                    encode_amount,
                    (amount0, amount1, liquidity, value, state.reserve0, state.reserve1),
                ),
                state.mints,
                state.burns,
            )
        )
        exchange.next_liquidity_id += 1
        self.pair_candle.add_event(state.reserve0, state.reserve1)
        for token_candle in self.token_candles:
            token_candle.tx_count += 1
        self.figures.add_liquidity(burn, value, now)
        exchange.last_liquidity_ts[account_id] = now
        provided = self._account_pair()
        if not burn:
            provided[1] = 1

    def _account_pair(self) -> list[int | None]:
        """The wallet's row for the pair; its first one also lists the pair's tokens as its."""
        key = (self.account_id, self.state.pair_id)
        entry = self.exchange.account_pairs.get(key)
        if entry is None:
            entry = self.exchange.account_pairs[key] = [None, 0]
            for token_id in self.state.token_ids:
                self.exchange.account_tokens.add((self.account_id, token_id))
        return entry

    def flush(self) -> None:
        """_InputRecord.flush for the one pair the input touched."""
        state, exchange, pricing = self.state, self.exchange, self.pricing
        tracked = tracked_value(
            exchange.config.whitelist,
            state.token0,
            state.token1,
            pricing.value(state.token0, state.reserve0),
            pricing.value(state.token1, state.reserve1),
            average=False,
        )
        exchange.tvl += tracked - state.tracked_usd
        state.tracked_usd = tracked
        supply = exchange.tokens[state.pair_id][0]
        self.pair_candle.reserve_usd, self.pair_candle.supply = tracked, supply
        for side, ((token, token_id), now, before) in enumerate(
            zip(
                self._tokens(),
                (state.reserve0, state.reserve1),
                (state.stored0, state.stored1),
                strict=True,
            )
        ):
            amount = exchange.liquidity[token_id] = (
                exchange.liquidity.get(token_id, 0) + now - before
            )
            amount_usd = pricing.value(token, amount)
            token_candle = self.token_candles[side]
            token_candle.liquidity, token_candle.liquidity_usd = amount, amount_usd
        exchange.tvl_hours[period_start(self.now, HOUR)] = exchange.tvl


# --- seeding ---------------------------------------------------------------------------------
@dataclass
class Seeded:
    """A seeded database and where its inputs stand, for the measures that follow."""

    swaps: int
    activity: Activity
    next_index: int  # the input index after the last seeded input
    trading_inputs: int  # trading inputs so far (they set the next input's time)
    busiest_pair: PairSpec
    busiest_account: bytes
    trading_bytes: int  # the database's growth over the trading phase
    seconds: float

    def upkeep_inputs(self, count: int) -> list[Input]:
        """The next `count` swaps of the same traders, at the same pace (liquidity inputs
        of the plan are passed over: the measure is per swap)."""
        inputs: list[Input] = []
        for item in self.activity.plan(count):
            now = self.activity.at(self.trading_inputs)
            self.trading_inputs += 1
            if isinstance(item, Swap):
                spec = self.activity.spec.pairs[item.pair]
                sold, bought = (spec.a, spec.b) if item.sells_a else (spec.b, spec.a)
                inputs.append(
                    swap_input(
                        trader(item.account), sold.address, bought.address, item.amount_in, now
                    )
                )
        return inputs


def seed_market(
    database: Path,
    swaps: int,
    progress: Callable[[int], None] | None = None,
    sent: list[Input] | None = None,
) -> Seeded:
    """Seed `database` (a new file) with the market and N swaps; `sent`, if given, receives
    every input the seeded state stands for, in order (the test replays them).

    `progress(done)` is called every CHUNK trading inputs with the number of swaps so far."""
    started = time.perf_counter()
    setup = setup_inputs()
    app = Application(database, Config(market=MARKET.config))
    try:
        for index, sent_input in enumerate(setup):
            accepted(app.advance(request(index, sent_input)))
    finally:
        app.close()
    if sent is not None:
        sent.extend(setup)
    activity = Activity(swaps)
    store = Store(database)
    try:
        exchange = _Exchange(store, MARKET.config)
        with store.transaction():
            _deposits(exchange, activity, sent)
            exchange.write()
        before = _size(store)
        with store.transaction():
            counts = _trade(exchange, activity, sent, progress)
            exchange.write()
        growth = _size(store) - before
        next_index = exchange.last_index + 1
    finally:
        store.close()
    busiest_account = max(range(activity.accounts), key=lambda n: (counts[n], -n))
    return Seeded(
        swaps=swaps,
        activity=activity,
        next_index=next_index,
        trading_inputs=activity.inputs,
        busiest_pair=max(MARKET.pairs, key=lambda pair: pair.weight),
        busiest_account=trader(busiest_account),
        trading_bytes=growth,
        seconds=time.perf_counter() - started,
    )


def _deposits(exchange: _Exchange, activity: Activity, sent: list[Input] | None) -> None:
    """Every trader deposits TRADER_USD of every token, in the hour before trading opens."""
    tokens = activity.spec.tokens
    count = activity.accounts * len(tokens)
    for k in range(count):
        account, token = trader(k // len(tokens)), tokens[k % len(tokens)]
        now = TRADING_FROM - HOUR + k * HOUR // count
        amount = token.units(TRADER_USD * MICRO)
        exchange.deposit(exchange.last_index + 1, now, token.address, account, amount)
        if sent is not None:
            sent.append(deposit_input(token.address, account, amount, now))


def _trade(
    exchange: _Exchange,
    activity: Activity,
    sent: list[Input] | None,
    progress: Callable[[int], None] | None,
) -> list[int]:
    """The N swaps and their liquidity inputs; returns each trader's number of swaps."""
    states = [
        exchange.by_tokens[(min(p.a.address, p.b.address), max(p.a.address, p.b.address))]
        for p in activity.spec.pairs
    ]
    counts = [0] * activity.accounts
    swaps = 0
    for k, item in enumerate(activity.plan(activity.swaps)):
        now = activity.at(k)
        index = exchange.last_index + 1
        spec, state, account = (
            activity.spec.pairs[item.pair],
            states[item.pair],
            trader(item.account),
        )
        if isinstance(item, Swap):
            sold, bought = (spec.a, spec.b) if item.sells_a else (spec.b, spec.a)
            exchange.swap(index, now, account, state, sold.address, item.amount_in)
            if sent is not None:
                sent.append(swap_input(account, sold.address, bought.address, item.amount_in, now))
            counts[item.account] += 1
            swaps += 1
        else:
            provided = [n for n, s in enumerate(states) if exchange.lp_balance(account, s) >= 2]
            if item.remove and provided:  # half of its position in one of its pairs
                n = provided[item.pair % len(provided)]
                spec, state = activity.spec.pairs[n], states[n]
                held = exchange.lp_balance(account, state)
                exchange.remove(index, now, account, state, held // 2)
                payload = action(
                    "remove_liquidity",
                    token_a=spec.a.address,
                    token_b=spec.b.address,
                    liquidity=held // 2,
                    amount_a_min=0,
                    amount_b_min=0,
                )
            else:
                desired_a, desired_b = exchange.add(
                    index, now, account, state, item.micro_usd, spec.a
                )
                payload = action(
                    "add_liquidity",
                    token_a=spec.a.address,
                    token_b=spec.b.address,
                    token_a_desired=desired_a,
                    token_b_desired=desired_b,
                    token_a_min=0,
                    token_b_min=0,
                )
            if sent is not None:
                sent.append(Input(account, payload, now))
        if (k + 1) % CHUNK == 0:
            exchange.write_logs()
            if progress is not None:
                progress(swaps)
    if progress is not None:
        progress(swaps)
    return counts


def _size(store: Store) -> int:
    (pages,) = store.connection.execute("PRAGMA page_count").fetchone()
    (page_size,) = store.connection.execute("PRAGMA page_size").fetchone()
    return int(pages) * int(page_size)


# --- the routes ------------------------------------------------------------------------------
# (label, candidate paths, required): the first candidate that answers without an error is
# timed; a route that is not required may be missing (UNKNOWN_ROUTE) and is then skipped.
ROUTES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("/stats?window=24h", ("/stats?window=24h",), True),
    ("/stats?window=30d", ("/stats?window=30d",), True),
    ("/pairs/{pair}", ("/pairs/{pair}",), True),
    ("/pairs/{pair}/stats?window=24h", ("/pairs/{pair}/stats?window=24h",), True),
    ("/pairs/{pair}/stats?window=7d", ("/pairs/{pair}/stats?window=7d",), True),
    ("/pairs/{pair}/candles?interval=1h", ("/pairs/{pair}/candles?interval=1h",), True),
    ("/pairs/{pair}/candles?interval=1d", ("/pairs/{pair}/candles?interval=1d",), True),
    ("/tokens/{token}/candles?interval=1h", ("/tokens/{token}/candles?interval=1h",), True),
    ("/prices", ("/prices",), True),
    ("/top/pairs", ("/top/pairs",), True),
    ("/top/tokens", ("/top/tokens",), True),
    ("/coingecko/pairs", ("/coingecko/pairs",), False),
    ("/coingecko/tickers", ("/coingecko/tickers",), False),
    (
        "/coingecko/orderbook?ticker_id={ticker_id}",
        ("/coingecko/orderbook?ticker_id={ticker_id}",),
        False,
    ),
    (
        "/coingecko/historical_trades?ticker_id={ticker_id}",
        ("/coingecko/historical_trades?ticker_id={ticker_id}",),
        False,
    ),
    ("/cmc/summary", ("/cmc/summary",), False),
    ("/cmc/assets", ("/cmc/assets",), False),
    ("/cmc/ticker", ("/cmc/ticker",), False),
    (
        "/cmc/orderbook/{ticker}",
        ("/cmc/orderbook/{ticker_id}", "/cmc/orderbook/{symbols}"),
        False,
    ),
    ("/cmc/trades/{ticker}", ("/cmc/trades/{ticker_id}", "/cmc/trades/{symbols}"), False),
    ("/swaps", ("/swaps",), False),
    ("/swaps?pair={pair}", ("/swaps?pair={pair}",), False),
    ("/swaps?account={a}", ("/swaps?account={a}",), False),
    ("/mints", ("/mints",), False),
    ("/burns", ("/burns",), False),
    ("/accounts/{a}", ("/accounts/{a}",), False),
    ("/accounts/{a}/features", ("/accounts/{a}/features",), False),
    ("/accounts/{a}/activity", ("/accounts/{a}/activity",), False),
    ("/arbitrage", ("/arbitrage",), False),
    ("/openapi.json", ("/openapi.json",), False),
)


def route_parameters(seeded: Seeded, config: MarketConfig = MARKET.config) -> dict[str, str]:
    """The busiest pair (WETH/USDC), the reference token and the busiest trader, as the routes
    name them; `ticker_id` is CoinGecko's base_target, `symbols` the same in symbols."""
    spec = seeded.busiest_pair
    token0, token1 = sorted((spec.a.address, spec.b.address))
    base, target = (token0, token1) if config.base_is_token0(token0, token1) else (token1, token0)
    return {
        "pair": to_checksum_address(pair_address(token0, token1)),
        "token": to_checksum_address(config.reference_token or token0),
        "a": to_checksum_address(seeded.busiest_account),
        "ticker_id": f"{to_checksum_address(base)}_{to_checksum_address(target)}",
        "symbols": f"{config.info(base).symbol}_{config.info(target).symbol}",
    }


def _error(answer: bytes) -> str | None:
    """The code and message of an error answer, None for an answer."""
    found = json.loads(answer)
    if isinstance(found, dict) and set(found) == {"error", "message"}:
        return f"{found['error']}: {found['message'][:120]}"
    return None


def time_routes(
    app: Application, parameters: Mapping[str, str], repeat: int
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """(seconds of each timed route, the reason each skipped route was skipped)."""
    timed: dict[str, list[float]] = {}
    skipped: dict[str, str] = {}
    for label, candidates, required in ROUTES:
        reasons: list[str] = []
        for template in candidates:
            path = template.format(**parameters).encode()
            error = _error(app.inspect(path))  # untimed: the first call prepares the statements
            if error is not None:
                reasons.append(f"{path.decode()} answered {error}")
                continue
            seconds = []
            for _ in range(repeat):
                started = time.perf_counter()
                app.inspect(path)
                seconds.append(time.perf_counter() - started)
            timed[label] = seconds
            break
        else:
            if required:
                raise RuntimeError(f"{label}: {'; '.join(reasons)}")
            missing = all("UNKNOWN_ROUTE" in reason for reason in reasons)
            skipped[label] = "not there yet (UNKNOWN_ROUTE)" if missing else "; ".join(reasons)
    return timed, skipped


# --- upkeep ----------------------------------------------------------------------------------
class _TimedRecorder(Recorder):
    """The real recorder, timed."""

    def __init__(self, store: Store, ledger: Ledger, config: MarketConfig) -> None:
        super().__init__(store, ledger, config)
        self.seconds: list[float] = []

    def record(
        self, input_index: int, timestamp: int, actor: bytes | None, events: list[Event]
    ) -> None:
        started = time.perf_counter()
        super().record(input_index, timestamp, actor, events)
        self.seconds.append(time.perf_counter() - started)


class _NoRecorder(Recorder):
    """An application without statistics: the baseline of the upkeep."""

    def record(
        self, input_index: int, timestamp: int, actor: bytes | None, events: list[Event]
    ) -> None:
        return None


UPKEEP_WARMUP = 20


@dataclass(frozen=True)
class Upkeep:
    with_stats: list[float]  # seconds of Application.advance per swap input
    without_stats: list[float]
    recorder: list[float]  # of Recorder.record alone, inside the first

    @property
    def per_swap(self) -> float:
        """Median of the paired differences: each input is the same swap on the same state."""
        return statistics.median(
            a - b for a, b in zip(self.with_stats, self.without_stats, strict=True)
        )


def measure_upkeep(database: Path, seeded: Seeded, count: int) -> Upkeep:
    """`count` swaps through the seeded application and through a copy without statistics,
    interleaved (which one goes first alternates), after UPKEEP_WARMUP untimed ones."""
    copy = database.with_name(database.stem + "-without-stats" + database.suffix)
    shutil.copyfile(database, copy)
    set_page_cache(copy, cold=False)
    config = Config(market=MARKET.config)
    with_stats, without_stats = Application(database, config), Application(copy, config)
    timed = _TimedRecorder(with_stats.store, with_stats.ledger, config.market)
    with_stats.recorder = timed
    without_stats.recorder = _NoRecorder(without_stats.store, without_stats.ledger, config.market)
    inputs = seeded.upkeep_inputs(UPKEEP_WARMUP + count)
    for sent_input in inputs:  # the notices' EIP-55 forms: cached for both, not paid by one
        _checksums(sent_input)
    seconds: dict[int, list[float]] = {0: [], 1: []}
    try:
        for i, sent_input in enumerate(inputs):
            data = request(seeded.next_index + i, sent_input)
            for side in (i % 2, 1 - i % 2):
                app = (with_stats, without_stats)[side]
                started = time.perf_counter()
                outcome = app.advance(data)
                elapsed = time.perf_counter() - started
                _swapped(outcome)
                if i >= UPKEEP_WARMUP:
                    seconds[side].append(elapsed)
    finally:
        with_stats.close()
        without_stats.close()
        copy.unlink()
    return Upkeep(seconds[0], seconds[1], timed.seconds[UPKEEP_WARMUP:])


def _checksums(sent_input: Input) -> None:
    document = json.loads(sent_input.payload)
    path = [bytes.fromhex(token[2:]) for token in document["args"]["path"]]
    for address in (sent_input.sender, *path, pair_address(*sorted(path))):
        to_checksum_address(address)


def _swapped(outcome: Outcome) -> None:
    accepted(outcome)
    if outcome.kind != "swap":
        raise RuntimeError(f"an upkeep input was a {outcome.kind}, not a swap")


# --- the whole measure -----------------------------------------------------------------------
def _ms(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[max(0, -(-95 * len(ms) // 100) - 1)]
    return {"median_ms": round(statistics.median(ms), 4), "p95_ms": round(p95, 4)}


def measure_stats(
    swaps: int,
    repeat: int = DEFAULT_REPEAT,
    upkeep_inputs: int = DEFAULT_UPKEEP_INPUTS,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Seed N swaps in a fresh temporary database, time the routes, then the upkeep."""
    if swaps < 1 or repeat < MIN_REPEAT or upkeep_inputs < 1:
        raise ValueError(f"need at least one swap and upkeep input and {MIN_REPEAT} repetitions")
    with tempfile.TemporaryDirectory(prefix="streamdex-bench-stats-") as folder:
        database = Path(folder) / "stats.sqlite"
        seeded = seed_market(database, swaps, progress)
        # synced and in the page cache (benchmark/run.py says why): no writeback of the seeding
        # runs under the measures, and every route reads from memory as on a warm host
        set_page_cache(database, cold=False)
        app = Application(database, Config(market=MARKET.config))
        try:
            timed, skipped = time_routes(app, route_parameters(seeded), repeat)
        finally:
            app.close()
        upkeep = measure_upkeep(database, seeded, upkeep_inputs)
    return {
        "swaps": swaps,
        "routes": {label: _ms(seconds) for label, seconds in timed.items()},
        "upkeep_ms_per_swap": round(upkeep.per_swap * 1000, 4),
        "recorder_ms_per_swap": round(statistics.median(upkeep.recorder) * 1000, 4),
        "db_bytes_per_swap": round(seeded.trading_bytes / swaps, 1),
        # shown by the human output, not in --json
        "skipped": skipped,
        "advance_ms": {
            "with_stats": _ms(upkeep.with_stats),
            "without_stats": _ms(upkeep.without_stats),
        },
        "seed_seconds": round(seeded.seconds, 1),
    }


HUMAN_ONLY = ("skipped", "advance_ms", "seed_seconds")
