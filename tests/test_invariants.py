"""Random sequences of every ledger and AMM operation at random times keep the invariants.

- conservation: for every token, Σ balances of all accounts (pairs included) == deposits −
  withdrawals (LP tokens: minted − burned), and Σ available + Σ escrowed-unstreamed is the same;
- no balance, available or escrow is ever negative, now or at any later time;
- each account's escrow is exactly what its outgoing streams have not streamed yet, and its rates
  are exactly the rates of its streams flowing at that time (the definition, summed over streams);
- a swap never decreases k; no operation decreases k per LP token squared (the value of a share);
- every pair's ledger balances equal its reserves;
- stream swaps: a cancel returns exactly what was not sold; each order pool can pay everything
  its orders are owed, and its orders are never paid more than it bought;
- a failed operation changes nothing: the database dump and the event list are as before.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from dapp.addresses import ZERO_ADDRESS
from dapp.amm.twamm import order_pool_address
from dapp.errors import StreamdexError
from dapp.events import Swap, SwapOrderCancelled
from dapp.ledger import Stream
from dapp.store import Store
from tests.conftest import World, address

USERS = [address(n) for n in (1, 2, 3, 4)]
TOKENS = [ZERO_ADDRESS, address(0xA0), address(0xB0)]  # Ether is token 0x00…00
AMOUNTS = st.one_of(st.integers(1, 10**6), st.integers(1, 10**24), st.sampled_from([1, 2, 999]))
# spending operations take a share of what the account can spend, in basis points; above 10_000
# they ask for more than it has and must fail cleanly
SHARES = st.one_of(st.integers(1, 10_000), st.integers(1, 100), st.integers(10_001, 20_000))

users = st.sampled_from(USERS)
tokens = st.sampled_from(TOKENS)
token_pairs = st.lists(tokens, min_size=2, max_size=2, unique=True)
paths = st.lists(tokens, min_size=2, max_size=3, unique=True)


class LedgerAndAmm(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.world = World(Store())
        self.now = 1_700_000_000
        self.net_deposits = dict.fromkeys(TOKENS, 0)
        self.stream_ids: list[int] = []
        self.swap_ids: list[int] = []
        self.k_per_share: dict[bytes, tuple[int, int]] = {}  # pair → (k, supply²) last seen
        for token in TOKENS:
            for user in USERS:
                self.world.ledger.deposit(token, user, 10**24, self.now)
                self.net_deposits[token] += 10**24
        for n, (token_a, token_b) in enumerate([(0, 1), (1, 2), (0, 2)]):
            self.world.router.add_liquidity(
                USERS[n],
                TOKENS[token_a],
                TOKENS[token_b],
                10**21,
                10**21 * (n + 2),
                0,
                0,
                USERS[n],
                None,
                self.now,
            )

    def share_of(self, user: bytes, token: bytes, share: int) -> int:
        return max(1, self.world.available(user, token, self.now) * share // 10_000)

    def attempt(self, operation: Callable[[], object]) -> bool:
        """Run one operation as an input: all of it, or nothing and an unchanged state."""
        dump = self.world.store.dump()
        events = len(self.world.events)
        try:
            with self.world.store.transaction():
                operation()
        except StreamdexError:
            assert self.world.store.dump() == dump
            del self.world.events[events:]
            return False
        return True

    # --- time --------------------------------------------------------------------------------
    @rule(seconds=st.integers(0, 200))
    def wait(self, seconds: int) -> None:
        self.now += seconds

    # --- ledger ------------------------------------------------------------------------------
    @rule(token=tokens, user=users, amount=AMOUNTS)
    def deposit(self, token: bytes, user: bytes, amount: int) -> None:
        if self.attempt(lambda: self.world.ledger.deposit(token, user, amount, self.now)):
            self.net_deposits[token] += amount

    @rule(token=tokens, user=users, share=SHARES)
    def withdraw(self, token: bytes, user: bytes, share: int) -> None:
        amount = self.share_of(user, token, share)
        if self.attempt(lambda: self.world.ledger.withdraw(token, user, amount, self.now)):
            self.net_deposits[token] -= amount

    @rule(token=tokens, sender=users, receiver=users, share=SHARES)
    def transfer(self, token: bytes, sender: bytes, receiver: bytes, share: int) -> None:
        amount = self.share_of(sender, token, share)
        self.attempt(lambda: self.world.ledger.transfer(token, sender, receiver, amount, self.now))

    @rule(
        token=tokens,
        sender=users,
        receiver=users,
        share=SHARES,
        delay=st.integers(0, 100),
        duration=st.one_of(st.just(0), st.integers(1, 1000)),
    )
    def stream(
        self, token: bytes, sender: bytes, receiver: bytes, share: int, delay: int, duration: int
    ) -> None:
        amount = self.share_of(sender, token, share)

        def create() -> None:
            self.stream_ids.append(
                self.world.ledger.create_stream(
                    token, sender, receiver, amount, self.now + delay, duration, self.now
                )
            )

        self.attempt(create)

    @rule(pick=st.integers(0, 10**6), by_sender=st.integers(0, 4), stranger=users)
    def cancel(self, pick: int, by_sender: int, stranger: bytes) -> None:
        """Mostly a live stream by its sender; sometimes a stranger, or one already over."""
        live = [
            stream_id
            for stream_id in self.stream_ids
            if self.world.ledger.stream(stream_id).status_at(self.now) in ("pending", "active")
        ]
        candidates = live if live and pick % 4 else self.stream_ids
        if candidates:
            stream_id = candidates[pick % len(candidates)]
            caller = self.world.ledger.stream(stream_id).sender if by_sender else stranger
            self.attempt(lambda: self.world.ledger.cancel_stream(stream_id, caller, self.now))

    # --- AMM ---------------------------------------------------------------------------------
    @rule(user=users, pair=token_pairs, share_a=SHARES, share_b=SHARES)
    def add_liquidity(self, user: bytes, pair: list[bytes], share_a: int, share_b: int) -> None:
        amount_a = self.share_of(user, pair[0], share_a)
        amount_b = self.share_of(user, pair[1], share_b)
        self.attempt(
            lambda: self.world.router.add_liquidity(
                user, pair[0], pair[1], amount_a, amount_b, 0, 0, user, None, self.now
            )
        )

    @rule(user=users, pair=token_pairs, share=SHARES)
    def remove_liquidity(self, user: bytes, pair: list[bytes], share: int) -> None:
        found = self.world.pairs.find(pair[0], pair[1])
        if found is None:
            return
        liquidity = self.share_of(user, found.address, share)
        self.attempt(
            lambda: self.world.router.remove_liquidity(
                user, pair[0], pair[1], liquidity, 0, 0, user, None, self.now
            )
        )

    def swap(self, path: list[bytes], operation: Callable[[], object]) -> None:
        """Run a swap and check that no pair on its path lost k."""
        hops = [self.world.pairs.find(a, b) for a, b in pairwise(path)]
        before = [p.reserve0 * p.reserve1 if p else 0 for p in hops]
        self.attempt(operation)
        after = [self.world.pairs.find(a, b) for a, b in pairwise(path)]
        for k_before, pair in zip(before, after, strict=True):
            assert pair is None or pair.reserve0 * pair.reserve1 >= k_before

    @rule(user=users, to=users, path=paths, share=SHARES)
    def swap_exact_in(self, user: bytes, to: bytes, path: list[bytes], share: int) -> None:
        amount = self.share_of(user, path[0], share)
        self.swap(
            path,
            lambda: self.world.router.swap_exact_tokens_for_tokens(
                user, amount, 0, path, to, None, self.now
            ),
        )

    @rule(user=users, to=users, path=paths, share=SHARES)
    def swap_exact_out(self, user: bytes, to: bytes, path: list[bytes], share: int) -> None:
        last = self.world.pairs.find(path[-2], path[-1])
        if last is None:
            return
        amount = max(1, last.reserves_from(path[-2])[1] * share // 10_000)
        self.swap(
            path,
            lambda: self.world.router.swap_tokens_for_exact_tokens(
                user, amount, 2**256 - 1, path, to, None, self.now
            ),
        )

    # --- stream swaps -------------------------------------------------------------------------
    @rule(
        user=users,
        to=users,
        pair=token_pairs,
        share=SHARES,
        delay=st.one_of(st.just(0), st.integers(1, 300)),
        duration=st.integers(1, 600),
    )
    def stream_swap(
        self, user: bytes, to: bytes, pair: list[bytes], share: int, delay: int, duration: int
    ) -> None:
        amount = self.share_of(user, pair[0], share)

        def place() -> None:
            swap_id = self.world.twamm.place(
                user, pair[0], pair[1], amount, self.now + delay, duration, to, self.now
            )
            self.swap_ids.append(swap_id)
            self.stream_ids.append(self.world.twamm.order(swap_id).stream_id)

        self.attempt(place)

    @rule(pick=st.integers(0, 10**6), by_trader=st.integers(0, 4), stranger=users)
    def cancel_swap(self, pick: int, by_trader: int, stranger: bytes) -> None:
        if not self.swap_ids:
            return
        order = self.world.twamm.order(self.swap_ids[pick % len(self.swap_ids)])
        caller = order.trader if by_trader else stranger
        if self.attempt(lambda: self.world.twamm.cancel(order.id, caller, self.now)):
            (cancelled,) = [e for e in self.world.events if isinstance(e, SwapOrderCancelled)][-1:]
            assert cancelled.sold + cancelled.refunded == order.amount_in

    @rule(user=users)
    def settle(self, user: bytes) -> None:
        self.attempt(lambda: self.world.twamm.settle_recipient(user, self.now))

    # --- invariants --------------------------------------------------------------------------
    def every(self, table_sql: str) -> list[bytes]:
        return [bytes(r[0]) for r in self.world.store.connection.execute(table_sql)]

    @invariant()
    def tokens_are_conserved_and_never_negative(self) -> None:
        if not hasattr(self, "world"):
            return
        accounts = self.every("SELECT address FROM addresses ORDER BY id")
        lp_tokens = self.every(
            "SELECT address FROM pairs JOIN addresses ON id = pair_id ORDER BY pair_id"
        )
        for at in (self.now, self.now + 37, self.now + 10_000):
            for token in TOKENS + lp_tokens:
                positions = [self.world.ledger.position(a, token, at) for a in accounts]
                for position in positions:
                    assert position.available >= 0 and position.escrow >= 0
                supply = self.world.ledger.supply(token)
                assert sum(p.balance for p in positions) == supply
                assert sum(p.available for p in positions) + sum(p.escrow for p in positions) == (
                    supply
                )
                if token in self.net_deposits:
                    assert supply == self.net_deposits[token]

    @invariant()
    def holders_and_volume_are_counted_with_the_rows(self) -> None:
        if not hasattr(self, "world"):
            return
        sql = self.world.store.connection
        counted = dict(sql.execute("SELECT token_id, holders FROM tokens").fetchall())
        rows = dict(
            sql.execute("SELECT token_id, COUNT(*) FROM balances GROUP BY token_id").fetchall()
        )
        assert counted == {token_id: rows.get(token_id, 0) for token_id in counted}
        assert rows.keys() <= counted.keys()

    @invariant()
    def escrow_and_rates_match_the_streams(self) -> None:
        if not hasattr(self, "world"):
            return
        streams = [self.world.ledger.stream(stream_id) for stream_id in self.stream_ids]
        for at in (self.now, self.now + 37, self.now + 10_000):
            for user in USERS:
                for token in TOKENS:
                    position = self.world.ledger.position(user, token, at)
                    outgoing = [s for s in streams if s.sender == user and s.token == token]
                    incoming = [s for s in streams if s.receiver == user and s.token == token]

                    def flowing(s: Stream, at: int = at) -> bool:
                        return s.cancelled_at is None and s.start <= at < s.end

                    assert position.escrow == sum(
                        0 if s.cancelled_at is not None else s.amount - s.streamed_at(at)
                        for s in outgoing
                    )
                    assert position.outflow_rate == sum(s.rate for s in outgoing if flowing(s))
                    assert position.inflow_rate == sum(s.rate for s in incoming if flowing(s))

    @invariant()
    def share_value_never_decreases_and_reserves_are_held(self) -> None:
        if not hasattr(self, "world"):
            return
        for token_a in TOKENS:
            for token_b in TOKENS:
                if token_a >= token_b:
                    continue
                pair = self.world.pairs.find(token_a, token_b)
                if pair is None:
                    continue
                k = pair.reserve0 * pair.reserve1
                supply_squared = self.world.pairs.total_supply(pair) ** 2
                k_before, supply_squared_before = self.k_per_share.get(pair.address, (0, 1))
                assert k * supply_squared_before >= k_before * supply_squared
                self.k_per_share[pair.address] = (k, supply_squared)
                assert self.world.available(pair.address, pair.token0, self.now) == pair.reserve0
                assert self.world.available(pair.address, pair.token1, self.now) == pair.reserve1

    @invariant()
    def order_pools_can_pay_what_their_orders_are_owed(self) -> None:
        """Advanced to now (then rolled back), each order-pool account holds at least what its
        unsettled orders are owed, and a pool's orders, paid and owed, never got more than the
        pool bought (the Swap events it made as the pair's trader)."""
        if not hasattr(self, "world") or not self.swap_ids:
            return
        twamm, ledger, events = self.world.twamm, self.world.ledger, self.world.events
        orders = [twamm.order(swap_id) for swap_id in self.swap_ids]
        tokens_of = {order.pair: (order.token0, order.token1) for order in orders}
        connection = self.world.store.connection
        seen = len(events)
        connection.execute("SAVEPOINT check_pools")
        try:
            for token0, token1 in tokens_of.values():
                twamm.advance(self.world.pairs.get(token0, token1), self.now)
            bought: dict[tuple[bytes, bytes], int] = {}
            for event in events:
                if isinstance(event, Swap) and event.sender == order_pool_address(event.pair):
                    token0, token1 = tokens_of[event.pair]
                    for token, amount in ((token0, event.amount0_out), (token1, event.amount1_out)):
                        bought[(event.pair, token)] = bought.get((event.pair, token), 0) + amount
            owed: dict[tuple[bytes, bytes], int] = {}
            earned: dict[tuple[bytes, bytes], int] = {}
            for order in (twamm.order(order.id) for order in orders):
                key = (order.pair, order.token_out)
                progress = twamm.progress(order, self.now)
                owed[key] = owed.get(key, 0) + progress.unpaid
                earned[key] = earned.get(key, 0) + progress.bought
            for (pair_address, token), amount in owed.items():
                held = ledger.position(order_pool_address(pair_address), token, self.now).available
                assert held >= amount
            for key, total in earned.items():
                assert total <= bought.get(key, 0)
        finally:
            connection.execute("ROLLBACK TO check_pools")
            connection.execute("RELEASE check_pools")
            del events[seen:]


LedgerAndAmm.TestCase.settings = settings(max_examples=150, stateful_step_count=40)
TestLedgerAndAmm = LedgerAndAmm.TestCase
