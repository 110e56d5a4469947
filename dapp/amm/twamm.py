"""Stream swaps: two order pools per pair, executed against the reserves between events (§4.3).

A stream swap sells `amount_in` of one token at `amount_in // duration` per second (the remainder
at its end) into its pair's order pool for that direction. The input is escrowed as a ledger
stream from the trader to the pair's order-pool account, so the trader's balance falls in real
time like any sender's. The pair is advanced from event to event (order starts and ends, and
every input that touches the pair): over each interval both pools' sales are executed at once
with the closed form of `twamm_math`, as one Uniswap swap by the order-pool account (so the
pair's own k check still guards it), and each pool's proceeds raise its accumulator, the
proceeds per unit of sale rate. An order is owed `sale_rate × (E(later) − E(earlier))`.

Complexity, with n live orders on a pair and m changes (distinct start or end times) crossed:
* advancing a pair costs O(m) intervals (each a closed-form evaluation and a fixed number of
  rows) plus O(1) per order that ends in the interval (it is paid then, from the accumulator
  at its end: never a later one). Over an interval with no starts or ends, no order row is read.
* placing, cancelling or reading one order costs O(1) rows after the advance;
* paying a recipient's proceeds so it can spend them costs O(its own unsettled orders).
Reads at a time beyond the last advance run the same replay in memory and write nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache

from dapp.addresses import to_checksum_address
from dapp.amm.pair import Pair, Pairs
from dapp.amm.twamm_math import Execution, earnings_increment, execute, order_proceeds
from dapp.errors import (
    InsufficientLiquidity,
    InvalidAmount,
    InvalidTime,
    NotSwapTrader,
    SwapEnded,
    SwapNotFound,
)
from dapp.events import Event, SwapOrderCancelled, SwapOrderCompleted, SwapOrderPlaced
from dapp.keccak import keccak256
from dapp.ledger import Ledger, check_amount
from dapp.store import Store, decode_amount, encode_amount


@lru_cache(maxsize=4096)
def order_pool_address(pair_address: bytes) -> bytes:
    """The ledger account that holds a pair's order pools: what they have not sold yet and what
    they have bought and not paid out. Cached: a pure-Python keccak costs 0.15 ms, and every
    advance, placement and payout of a pair asks for it."""
    return keccak256(b"streamdex-order-pool" + pair_address)[12:]


@dataclass
class PoolState:
    """Both order pools of a pair as of `advanced_at`."""

    advanced_at: int
    sale_rate0: int = 0
    sale_rate1: int = 0
    earnings0: int = 0
    earnings1: int = 0

    def earnings(self, sells_token0: bool) -> int:
        return self.earnings0 if sells_token0 else self.earnings1


@dataclass(frozen=True)
class Change:
    """What happens to the pools at `at`: sale rates change, remainders are sold."""

    at: int
    sale_rate0_delta: int = 0
    sale_rate1_delta: int = 0
    lump0: int = 0
    lump1: int = 0

    def plus(self, other: Change) -> Change:
        return Change(
            self.at,
            self.sale_rate0_delta + other.sale_rate0_delta,
            self.sale_rate1_delta + other.sale_rate1_delta,
            self.lump0 + other.lump0,
            self.lump1 + other.lump1,
        )

    def negated(self) -> Change:
        return Change(
            self.at, -self.sale_rate0_delta, -self.sale_rate1_delta, -self.lump0, -self.lump1
        )


@dataclass(frozen=True)
class Order:
    id: int
    pair: bytes
    token0: bytes  # the pair's tokens
    token1: bytes
    trader: bytes
    recipient: bytes
    sells_token0: bool
    amount_in: int
    sale_rate: int
    start: int
    duration: int
    stream_id: int
    paid_to: int | None  # accumulator value paid up to; None: not started when last advanced
    bought: int  # proceeds paid so far
    cancelled_at: int | None
    settled: bool

    @property
    def end(self) -> int:
        return self.start + self.duration

    @property
    def token_in(self) -> bytes:
        return self.token0 if self.sells_token0 else self.token1

    @property
    def token_out(self) -> bytes:
        return self.token1 if self.sells_token0 else self.token0

    @property
    def remainder(self) -> int:
        return self.amount_in - self.sale_rate * self.duration

    def changes(self) -> tuple[Change, Change]:
        """The order's start and end in its pools' schedule."""
        rate = self.sale_rate
        if self.sells_token0:
            return Change(self.start, sale_rate0_delta=rate), Change(
                self.end, sale_rate0_delta=-rate, lump0=self.remainder
            )
        return Change(self.start, sale_rate1_delta=rate), Change(
            self.end, sale_rate1_delta=-rate, lump1=self.remainder
        )


@dataclass(frozen=True)
class Step:
    """One interval of a replay: what the pools sold until `change.at` and the pools after."""

    change: Change
    scheduled: bool  # a row of the schedule (False: the end of the replay only)
    sold0: int
    sold1: int
    execution: Execution
    pool: PoolState


@dataclass
class PairView:
    """A pair and its pools as they would be at `pool.advanced_at`, computed without writing."""

    pair: Pair
    pool: PoolState
    snapshots: dict[int, tuple[int, int]] = field(default_factory=dict)
    # what the pools sold into the pair and bought from it since the last advance
    sold0: int = 0
    sold1: int = 0
    bought0: int = 0  # token1, by pool 0
    bought1: int = 0  # token0, by pool 1


@dataclass(frozen=True)
class OrderProgress:
    status: str  # pending, active, ended or cancelled
    sold: int
    bought: int  # paid and owed
    unpaid: int


class Twamm:
    """The order pools of every pair, over the ledger and the pairs."""

    def __init__(self, store: Store, ledger: Ledger, pairs: Pairs, events: list[Event]) -> None:
        self.store = store
        self.ledger = ledger
        self.pairs = pairs
        self.events = events
        self._sql = store.connection

    # --- advancing ------------------------------------------------------------------------------
    def advance(self, pair: Pair, now: int) -> Pair:
        """Execute the pair's stream swaps up to `now`, paying the orders that ended."""
        pair_id = self._pair_id(pair)
        pool = self._pool(pair_id)
        if pool is None or pool.advanced_at >= now:
            return pair
        pool_account = order_pool_address(pair.address)
        ended: list[tuple[Order, int]] = []
        for step in self._replay(pair, pool, now):
            self._trade(pair, pool_account, step)
            if step.scheduled:
                at = step.change.at
                self._sql.execute(
                    "INSERT OR REPLACE INTO order_pool_snapshots VALUES (?, ?, ?, ?)",
                    (
                        pair_id,
                        at,
                        encode_amount(step.pool.earnings0),
                        encode_amount(step.pool.earnings1),
                    ),
                )
                ended.extend(
                    (order, step.pool.earnings(order.sells_token0))
                    for order in self._orders(
                        "pair_id = ? AND end_at = ? AND settled = 0", (pair_id, at)
                    )
                )
            pool = step.pool
        self._sql.execute(
            "DELETE FROM order_pool_changes WHERE pair_id = ? AND at <= ?", (pair_id, now)
        )
        self._save_pool(pair_id, pool)
        # paid at `now`, not at their ends: a recipient's balance may have moved on since then
        for order, earnings_at_end in ended:
            owed = order_proceeds(order.sale_rate, self._start_earnings(order), earnings_at_end)
            self._pay(order, pair, owed, now)
            self._finish(order, earnings_at_end, owed, cancelled_at=None)
            self.events.append(
                SwapOrderCompleted(
                    order.id,
                    pair.address,
                    order.recipient,
                    order.end,
                    order.amount_in,
                    order.bought + owed,
                )
            )
        return pair

    def view(self, pair: Pair, at: int) -> PairView:
        """The pair and its pools at `at`, by the same replay as `advance`, writing nothing."""
        pool = self._pool(self._pair_id(pair))
        if pool is None:
            return PairView(pair, PoolState(advanced_at=at))
        if at < pool.advanced_at:
            raise InvalidTime(
                f"the pair's stream swaps were last executed at {pool.advanced_at}; "
                f"{at} is before that"
            )
        view = PairView(replace(pair), pool)
        for step in self._replay(pair, pool, at):
            view.pool = step.pool
            view.pair.reserve0 = step.execution.reserve0
            view.pair.reserve1 = step.execution.reserve1
            view.sold0 += step.sold0
            view.sold1 += step.sold1
            view.bought0 += step.execution.proceeds0
            view.bought1 += step.execution.proceeds1
            if step.scheduled:
                view.snapshots[step.change.at] = (step.pool.earnings0, step.pool.earnings1)
        view.pool.advanced_at = at
        return view

    def peek(self, pair: Pair, at: int) -> Pair:
        return self.view(pair, at).pair

    def unexecuted_change(self, account: bytes, token: bytes, at: int) -> int:
        """How the ledger balance of a pair or an order-pool account at `at` differs from the
        real-time one: the stream swaps the pair would execute by then move tokens between the
        two, and what the orders have earned and not been paid counts in their recipients'
        balances (`unpaid_proceeds`), not in the pool's. Zero for any other account.

        Reading a pair costs one replay; reading an order-pool account also visits the pair's
        unsettled orders, the price of an exact answer for an account no user holds."""
        account_id = self.store.address_id(account)
        if account_id is None:
            return 0
        row = self._sql.execute(
            "SELECT pair_id, account_id FROM order_pools WHERE pair_id = ? OR account_id = ?",
            (account_id, account_id),
        ).fetchone()
        if row is None:
            return 0
        pair_id, pool_account_id = row
        pair = self.pairs.get(*self._tokens_of(pair_id))
        if token not in (pair.token0, pair.token1):
            return 0
        view = self.view(pair, at)
        to_pair = view.sold0 - view.bought1 if token == pair.token0 else view.sold1 - view.bought0
        if account_id != pool_account_id:
            return to_pair
        owed = sum(
            self.progress(order, at, view).unpaid
            for order in self._orders("pair_id = ? AND settled = 0", (pair_id,))
            if order.token_out == token
        )
        return -to_pair - owed

    def _replay(self, pair: Pair, pool: PoolState, until: int) -> Iterator[Step]:
        state = replace(pool)
        reserve0, reserve1 = pair.reserve0, pair.reserve1
        changes = [
            (Change(at, *(decode_amount(v) for v in values)), True)
            for at, *values in self._sql.execute(
                "SELECT at, sale_rate0_delta, sale_rate1_delta, lump0, lump1"
                " FROM order_pool_changes WHERE pair_id = ? AND at > ? AND at <= ? ORDER BY at",
                (self._pair_id(pair), state.advanced_at, until),
            )
        ]
        if not changes or changes[-1][0].at != until:
            changes.append((Change(until), False))
        for change, scheduled in changes:
            elapsed = change.at - state.advanced_at
            sold0 = state.sale_rate0 * elapsed + change.lump0
            sold1 = state.sale_rate1 * elapsed + change.lump1
            execution = execute(reserve0, reserve1, sold0, sold1)
            if sold0:
                state.earnings0 += earnings_increment(execution.proceeds0, state.sale_rate0)
            if sold1:
                state.earnings1 += earnings_increment(execution.proceeds1, state.sale_rate1)
            state.sale_rate0 += change.sale_rate0_delta
            state.sale_rate1 += change.sale_rate1_delta
            state.advanced_at = change.at
            reserve0, reserve1 = execution.reserve0, execution.reserve1
            yield Step(change, scheduled, sold0, sold1, execution, replace(state))

    def _trade(self, pair: Pair, pool_account: bytes, step: Step) -> None:
        """Carry out one interval: the pools pay in what they sold and take what they bought."""
        at, execution = step.change.at, step.execution
        if not (step.sold0 or step.sold1):
            return
        if step.sold0:
            self.ledger.move(pair.token0, pool_account, pair.address, step.sold0, at)
        if step.sold1:
            self.ledger.move(pair.token1, pool_account, pair.address, step.sold1, at)
        self.pairs.swap_with_order_pools(
            pair, execution.proceeds1, execution.proceeds0, pool_account, at
        )
        assert (pair.reserve0, pair.reserve1) == (execution.reserve0, execution.reserve1)

    # --- orders ---------------------------------------------------------------------------------
    def place(
        self,
        trader: bytes,
        token_in: bytes,
        token_out: bytes,
        amount_in: int,
        start: int,
        duration: int,
        to: bytes,
        now: int,
    ) -> int:
        """Sell `amount_in` of token_in for token_out over [start, start + duration)."""
        check_amount(amount_in, "amount_in")
        if duration <= 0:
            raise InvalidTime("a stream swap needs a duration of at least one second")
        if amount_in < duration:
            raise InvalidAmount(
                f"a stream swap sells at least one unit per second: {amount_in} over {duration} "
                "seconds is less; sell more or over fewer seconds"
            )
        self.ledger.check_recipient(to)
        pair = self.pairs.get(token_in, token_out)
        if pair.reserve0 == 0 or pair.reserve1 == 0:
            raise InsufficientLiquidity("the pair has no reserves to trade against yet")
        pair = self.advance(pair, now)
        pair_id = self._pair_id(pair)
        pool = self._pool(pair_id) or self._open_pools(pair, now)
        pool_account = order_pool_address(pair.address)
        stream_id = self.ledger.create_stream(
            token_in, trader, pool_account, amount_in, start, duration, now, to_order_pool=True
        )
        sells_token0 = token_in == pair.token0
        order = Order(
            id=0,
            pair=pair.address,
            token0=pair.token0,
            token1=pair.token1,
            trader=trader,
            recipient=to,
            sells_token0=sells_token0,
            amount_in=amount_in,
            sale_rate=amount_in // duration,
            start=start,
            duration=duration,
            stream_id=stream_id,
            paid_to=pool.earnings(sells_token0) if start == now else None,
            bought=0,
            cancelled_at=None,
            settled=False,
        )
        starts, ends = order.changes()
        if start == now:  # the pools are at `now`: the rate flows from here
            pool.sale_rate0 += starts.sale_rate0_delta
            pool.sale_rate1 += starts.sale_rate1_delta
        else:
            self._schedule(pair_id, starts)
        self._schedule(pair_id, ends)
        self._save_pool(pair_id, pool)
        cursor = self._sql.execute(
            "INSERT INTO swap_orders (pair_id, trader_id, recipient_id, sells_token0, amount_in,"
            " sale_rate, start, duration, end_at, stream_id, paid_to, bought)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            (
                pair_id,
                self.store.intern_address(trader),
                self.store.intern_address(to),
                int(sells_token0),
                encode_amount(amount_in),
                encode_amount(order.sale_rate),
                start,
                duration,
                order.end,
                stream_id,
                None if order.paid_to is None else encode_amount(order.paid_to),
            ),
        )
        swap_id = cursor.lastrowid
        assert swap_id is not None
        self.events.append(
            SwapOrderPlaced(
                swap_id,
                pair.address,
                trader,
                to,
                token_in,
                token_out,
                start,
                duration,
                amount_in,
                order.sale_rate,
            )
        )
        return swap_id

    def cancel(self, swap_id: int, caller: bytes, now: int) -> None:
        """Stop a stream swap: the unsold input returns to the trader, proceeds go to `to`."""
        order = self.order(swap_id)
        if caller != order.trader:
            raise NotSwapTrader(
                f"only the trader {to_checksum_address(order.trader)} can cancel stream swap "
                f"{swap_id}"
            )
        pair = self.advance(self._pair_of(order), now)
        order = self.order(swap_id)  # the advance pays an order that has ended
        if order.settled:
            raise SwapEnded(f"stream swap {swap_id} has already ended or been cancelled")
        pair_id = self._pair_id(pair)
        pool = self._pool(pair_id)
        assert pool is not None and pool.advanced_at == now
        starts, ends = order.changes()
        owed = 0
        earnings_now = pool.earnings(order.sells_token0)
        if order.start <= now:  # started: its rate flows now; stop it
            owed = order_proceeds(order.sale_rate, self._start_earnings(order), earnings_now)
            pool.sale_rate0 -= starts.sale_rate0_delta
            pool.sale_rate1 -= starts.sale_rate1_delta
        else:
            self._schedule(pair_id, starts.negated())
        self._schedule(pair_id, ends.negated())
        self._save_pool(pair_id, pool)
        stream = self.ledger.cancel_stream(order.stream_id, caller, now, of_stream_swap=True)
        sold = stream.streamed_at(now)
        self._pay(order, pair, owed, now)
        self._finish(order, earnings_now, owed, cancelled_at=now)
        self.events.append(
            SwapOrderCancelled(
                swap_id,
                pair.address,
                order.trader,
                now,
                sold,
                order.amount_in - sold,
                order.bought + owed,
            )
        )

    def settle_recipient(self, account: bytes, now: int) -> None:
        """Pay `account` everything its stream swaps have earned by `now`, so it can spend it."""
        account_id = self.store.address_id(account)
        if account_id is None:
            return
        for order in self._orders("recipient_id = ? AND settled = 0", (account_id,)):
            pair = self.advance(self._pair_of(order), now)
            current = self.order(order.id)
            if current.settled or current.start > now:
                continue
            pool = self._pool(self._pair_id(pair))
            assert pool is not None
            earnings_now = pool.earnings(current.sells_token0)
            owed = order_proceeds(current.sale_rate, self._start_earnings(current), earnings_now)
            self._pay(current, pair, owed, now)
            self._sql.execute(
                "UPDATE swap_orders SET paid_to = ?, bought = ? WHERE id = ?",
                (encode_amount(earnings_now), encode_amount(current.bought + owed), current.id),
            )

    # --- reads ----------------------------------------------------------------------------------
    def order(self, swap_id: int) -> Order:
        found = self._orders("swap_orders.id = ?", (swap_id,))
        if not found:
            raise SwapNotFound(f"there is no stream swap with id {swap_id}")
        return found[0]

    def progress(self, order: Order, at: int, view: PairView | None = None) -> OrderProgress:
        """What the order has sold and bought by `at` (≥ the pair's last advance; for a
        settled order, ≥ its end or its cancellation, after which nothing changes)."""
        stream = self.ledger.stream(order.stream_id)
        if order.settled:
            settled_at = order.end if order.cancelled_at is None else order.cancelled_at
            if at < settled_at:
                raise InvalidTime(
                    f"stream swap {order.id} was settled at {settled_at} and only its final "
                    f"state is kept; {at} is before that"
                )
            status = "cancelled" if order.cancelled_at is not None else "ended"
            return OrderProgress(status, stream.streamed_at(at), order.bought, 0)
        sold = stream.streamed_at(at)
        status = "pending" if at < order.start else "active"
        if at < order.start:
            return OrderProgress(status, sold, order.bought, 0)
        view = view or self.view(self._pair_of(order), at)
        until = min(at, order.end)
        if until >= order.end:
            status = "ended"
        earnings_then = self._earnings_at(order, until, view)
        start_earnings = (
            order.paid_to
            if order.paid_to is not None
            else self._earnings_at(order, order.start, view)
        )
        unpaid = order_proceeds(order.sale_rate, start_earnings, earnings_then)
        return OrderProgress(status, sold, order.bought + unpaid, unpaid)

    def unpaid_proceeds(self, account: bytes, token: bytes, at: int) -> int:
        """What `account` has earned of `token` by `at` from stream swaps and not been paid."""
        account_id = self.store.address_id(account)
        if account_id is None:
            return 0
        views: dict[bytes, PairView] = {}
        total = 0
        for order in self._orders("recipient_id = ? AND settled = 0", (account_id,)):
            if order.token_out != token:
                continue
            if order.pair not in views:
                views[order.pair] = self.view(self._pair_of(order), at)
            total += self.progress(order, at, views[order.pair]).unpaid
        return total

    # --- rows -----------------------------------------------------------------------------------
    def _earnings_at(self, order: Order, at: int, view: PairView) -> int:
        """The order's pool accumulator at `at`: a start or end the pair has passed (stored or in
        the view's replay), or the view's own time."""
        side = 0 if order.sells_token0 else 1
        if at == view.pool.advanced_at:
            return view.pool.earnings(order.sells_token0)
        if at in view.snapshots:
            return view.snapshots[at][side]
        row = self._sql.execute(
            "SELECT earnings0, earnings1 FROM order_pool_snapshots WHERE pair_id = ? AND at = ?",
            (self.store.address_id(order.pair), at),
        ).fetchone()
        assert row is not None, (order, at)
        return decode_amount(row[side])

    def _start_earnings(self, order: Order) -> int:
        if order.paid_to is not None:
            return order.paid_to
        row = self._sql.execute(
            "SELECT earnings0, earnings1 FROM order_pool_snapshots WHERE pair_id = ? AND at = ?",
            (self.store.address_id(order.pair), order.start),
        ).fetchone()
        assert row is not None, order
        return decode_amount(row[0 if order.sells_token0 else 1])

    def _pay(self, order: Order, pair: Pair, amount: int, now: int) -> None:
        if amount:
            pool_account = order_pool_address(pair.address)
            self.ledger.move(order.token_out, pool_account, order.recipient, amount, now)

    def _finish(self, order: Order, earnings: int, paid: int, *, cancelled_at: int | None) -> None:
        self._sql.execute(
            "UPDATE swap_orders SET paid_to = ?, bought = ?, cancelled_at = ?, settled = 1"
            " WHERE id = ?",
            (encode_amount(earnings), encode_amount(order.bought + paid), cancelled_at, order.id),
        )

    def _orders(self, where: str, values: tuple[int, ...]) -> list[Order]:
        rows = self._sql.execute(
            "SELECT swap_orders.id, p.address, t0.address, t1.address, t.address, r.address,"
            " sells_token0, amount_in, sale_rate, start, duration, stream_id, paid_to, bought,"
            " cancelled_at, settled"
            " FROM swap_orders"
            " JOIN pairs USING (pair_id)"
            " JOIN addresses p ON p.id = pair_id"
            " JOIN addresses t0 ON t0.id = token0_id"
            " JOIN addresses t1 ON t1.id = token1_id"
            " JOIN addresses t ON t.id = trader_id"
            " JOIN addresses r ON r.id = recipient_id"
            f" WHERE {where} ORDER BY swap_orders.id",
            values,
        )
        return [
            Order(
                id=row[0],
                pair=bytes(row[1]),
                token0=bytes(row[2]),
                token1=bytes(row[3]),
                trader=bytes(row[4]),
                recipient=bytes(row[5]),
                sells_token0=bool(row[6]),
                amount_in=decode_amount(row[7]),
                sale_rate=decode_amount(row[8]),
                start=row[9],
                duration=row[10],
                stream_id=row[11],
                paid_to=None if row[12] is None else decode_amount(row[12]),
                bought=decode_amount(row[13]),
                cancelled_at=row[14],
                settled=bool(row[15]),
            )
            for row in rows
        ]

    def _tokens_of(self, pair_id: int) -> tuple[bytes, bytes]:
        row = self._sql.execute(
            "SELECT t0.address, t1.address FROM pairs JOIN addresses t0 ON t0.id = token0_id"
            " JOIN addresses t1 ON t1.id = token1_id WHERE pair_id = ?",
            (pair_id,),
        ).fetchone()
        return bytes(row[0]), bytes(row[1])

    def _pair_of(self, order: Order) -> Pair:
        return self.pairs.get(order.token0, order.token1)

    def _pair_id(self, pair: Pair) -> int:
        pair_id = self.store.address_id(pair.address)
        assert pair_id is not None
        return pair_id

    def _pool(self, pair_id: int) -> PoolState | None:
        row = self._sql.execute(
            "SELECT advanced_at, sale_rate0, sale_rate1, earnings0, earnings1 FROM order_pools"
            " WHERE pair_id = ?",
            (pair_id,),
        ).fetchone()
        if row is None:
            return None
        return PoolState(row[0], *(decode_amount(v) for v in row[1:]))

    def _save_pool(self, pair_id: int, pool: PoolState) -> None:
        self._sql.execute(
            "UPDATE order_pools SET advanced_at = ?, sale_rate0 = ?, sale_rate1 = ?,"
            " earnings0 = ?, earnings1 = ? WHERE pair_id = ?",
            (
                pool.advanced_at,
                encode_amount(pool.sale_rate0),
                encode_amount(pool.sale_rate1),
                encode_amount(pool.earnings0),
                encode_amount(pool.earnings1),
                pair_id,
            ),
        )

    def _open_pools(self, pair: Pair, now: int) -> PoolState:
        """The pair's first order: its order-pool account starts here. Streams sent to that
        (predictable) address before are stopped and refunded, as for a new pair, so that only
        orders ever stream into it."""
        account = order_pool_address(pair.address)
        self.ledger.stop_streams_to(account, now)
        self._sql.execute(
            "INSERT INTO order_pools VALUES (?, ?, ?, 0, 0, 0, 0)",
            (self._pair_id(pair), self.store.intern_address(account), now),
        )
        return PoolState(advanced_at=now)

    def _schedule(self, pair_id: int, change: Change) -> None:
        """Add `change` to the pair's pending row at its time. A row that nets out to nothing is
        kept: an order that starts there reads the accumulator the pair stores when passing."""
        row = self._sql.execute(
            "SELECT sale_rate0_delta, sale_rate1_delta, lump0, lump1 FROM order_pool_changes"
            " WHERE pair_id = ? AND at = ?",
            (pair_id, change.at),
        ).fetchone()
        if row is not None:
            change = change.plus(Change(change.at, *(decode_amount(v) for v in row)))
        self._sql.execute(
            "INSERT OR REPLACE INTO order_pool_changes VALUES (?, ?, ?, ?, ?, ?)",
            (
                pair_id,
                change.at,
                encode_amount(change.sale_rate0_delta),
                encode_amount(change.sale_rate1_delta),
                encode_amount(change.lump0),
                encode_amount(change.lump1),
            ),
        )
