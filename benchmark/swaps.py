"""The stream-swaps benchmark: N live stream swaps on one pair, then the real handlers, timed.

DESIGN "Targets": an instant swap, a new stream and a balance read take a median ≤ 1 ms in process,
flat (within 2×) from 10 to 100 thousand live stream swaps on one pair.

Setup (not timed), every input through `Application.advance` as the rollup server hands it over:
a liquidity provider deposits both tokens and adds liquidity; `traders` accounts deposit the token
they sell (even-numbered ones token A, odd-numbered ones token B, so both order pools sell);
each places ORDERS_PER_TRADER stream swaps (`swap` with a duration), N in all, on the one pair;
then the accounts of the measured inputs deposit. Every order starts when placed and ends at its
own second: the ends are N slots `spacing(N)` = 30 days / N apart after the setup's last input,
shuffled among the orders, so every order is live when measuring, and the measured inputs,
MEASURE_STEP seconds apart, cross an order's end only every spacing(N) seconds (none at small N;
about one advance input in nine at N = 100,000: `order_ends_crossed` counts them).

Measured, each over `repeat` rounds, in this order within a round:
* an instant `swap` by an account without stream swaps (it advances the pair over the interval
  since the previous input);
* an instant `swap` by a trader with ORDERS_PER_TRADER live stream swaps (its proceeds are paid
  before it acts: O(its own orders));
* a plain `stream` input by an account without stream swaps (it does not touch the pair);
* a `/balance` inspect of a trader with live stream swaps, in the token it buys: its balance
  includes the proceeds earned since the pair was last advanced, a replay in memory;
* a `/pair` inspect, the same replay.

Every account a measured input names was active within the last few hundred inputs, so its
EIP-55 form (a pure-Python Keccak, 0.13 ms, cached for 4,096 addresses) is cached at every N:
the measures compare N, not the checksum cache, whose cold cost the streams benchmark shows.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.run import APP_CONTRACT, MIN_REPEAT, summarize
from dapp.app import Application, Config, Outcome
from devnet.rollup_server import advance_data, v2_metadata

TOKEN_A = (0xA0 << 152 | 0xA).to_bytes(20, "big")
TOKEN_B = (0xB0 << 152 | 0xB).to_bytes(20, "big")
PROVIDER = (0x50 << 152).to_bytes(20, "big")
ERC20_PORTAL = Config().v2.erc20
START = 1_700_000_000
SETUP_STEP = 2  # seconds between setup inputs
MEASURE_STEP = 3  # seconds between measured inputs
ORDERS_PER_TRADER = 4
ORDER_AMOUNT = 10**18  # plus the order's number, so that no two orders are alike
TRADER_DEPOSIT = 10**22
LIQUIDITY = 10**26  # of each token; N = 100,000 orders sell 0.05% of it per direction
SWAP_AMOUNT = 10**18
STREAM_AMOUNT = 10**18
STREAM_SECONDS = 3600
ENDS_WINDOW = 30 * 86_400
SHUFFLE_SEED = 2024


def trader(n: int) -> bytes:
    """The n-th account with stream swaps."""
    return (0x30 << 152 | n).to_bytes(20, "big")


def newcomer(n: int) -> bytes:
    """The n-th measured account without stream swaps."""
    return (0x40 << 152 | n).to_bytes(20, "big")


def sells(n: int) -> tuple[bytes, bytes]:
    """(token sold, token bought) by trader or newcomer n: both directions in turn."""
    return (TOKEN_A, TOKEN_B) if n % 2 == 0 else (TOKEN_B, TOKEN_A)


def traders_for(orders: int) -> int:
    return -(-orders // ORDERS_PER_TRADER)


def spacing(orders: int) -> int:
    """Seconds between consecutive order ends: 30 days over N, at least one (distinct ends)."""
    return max(1, ENDS_WINDOW // orders)


class Chain:
    """Inputs in order: input_index up by one and block_timestamp forward each time."""

    def __init__(self, app: Application) -> None:
        self.app = app
        self.now = START
        self.index = 0

    def data(self, sender: bytes, payload: bytes, step: int) -> dict[str, Any]:
        """The next advance request (what the timed call is handed)."""
        self.now += step
        metadata = v2_metadata(
            msg_sender=sender,
            input_index=self.index,
            block_number=1 + self.index,
            timestamp=self.now,
            app_contract=APP_CONTRACT,
        )
        self.index += 1
        return advance_data(metadata, payload)

    def send(self, sender: bytes, payload: bytes, step: int = SETUP_STEP) -> Outcome:
        return accepted(self.app.advance(self.data(sender, payload, step)))

    def deposit(self, token: bytes, account: bytes, amount: int) -> Outcome:
        payload = token + account + amount.to_bytes(32, "big")
        return self.send(ERC20_PORTAL, payload)


def accepted(outcome: Outcome) -> Outcome:
    if not outcome.accepted:
        raise RuntimeError(f"an input was rejected: {[r.decode() for r in outcome.reports]}")
    return outcome


def action(method: str, **args: Any) -> bytes:
    shown = {
        k: _hex(v) if isinstance(v, bytes) else [_hex(t) for t in v] if isinstance(v, list) else v
        for k, v in args.items()
    }
    return json.dumps({"method": method, "args": shown}).encode()


def swap(amount_in: int, sold: bytes, bought: bytes, duration: int | None = None) -> bytes:
    if duration is None:
        return action("swap", amount_in=amount_in, amount_out_min=0, path=[sold, bought])
    return action(
        "swap", amount_in=amount_in, amount_out_min=0, path=[sold, bought], duration=duration
    )


@dataclass(frozen=True)
class Setup:
    orders: int
    traders: int
    ends_from: int  # the setup's last time: order ends are ends_from + k × spacing, k = 1..N

    def with_orders(self, count: int) -> list[int]:
        """Up to `count` traders with ORDERS_PER_TRADER orders each, the last to place first:
        they were active within the last few hundred inputs. Trader 0 has fewer orders when
        ORDERS_PER_TRADER does not divide N; it is taken only if no trader has them all."""
        first = 1 if _padding(self.orders) and self.traders > 1 else 0
        return list(range(self.traders - 1, first - 1, -1))[:count]


def _padding(orders: int) -> int:
    """The orders trader 0 lacks: the partial group is the first, not the measured last."""
    return -orders % ORDERS_PER_TRADER


def setup(
    chain: Chain, orders: int, repeat: int, progress: Callable[[int], None] | None = None
) -> Setup:
    """Liquidity, N live stream swaps on the pair of TOKEN_A and TOKEN_B, the measured accounts.

    `progress(done)` is called every 1% of the orders with the number placed so far.
    """
    traders = traders_for(orders)
    # the time of the last setup input, known in advance: each order's end is fixed when placed
    ends_from = chain.now + SETUP_STEP * (3 + traders + orders + repeat)
    gap = spacing(orders)
    slots = list(range(1, orders + 1))
    random.Random(SHUFFLE_SEED).shuffle(slots)

    chain.deposit(TOKEN_A, PROVIDER, LIQUIDITY)
    chain.deposit(TOKEN_B, PROVIDER, LIQUIDITY)
    chain.send(
        PROVIDER,
        action(
            "add_liquidity",
            token_a=TOKEN_A,
            token_b=TOKEN_B,
            token_a_desired=LIQUIDITY,
            token_b_desired=LIQUIDITY,
            token_a_min=0,
            token_b_min=0,
        ),
    )
    for n in range(traders):
        chain.deposit(sells(n)[0], trader(n), TRADER_DEPOSIT)
    every = max(1, orders // 100)
    for i, slot in enumerate(slots):
        n = (i + _padding(orders)) // ORDERS_PER_TRADER
        end = ends_from + slot * gap
        duration = end - (chain.now + SETUP_STEP)
        chain.send(trader(n), swap(ORDER_AMOUNT + i, *sells(n), duration=duration))
        if progress is not None and ((i + 1) % every == 0 or i + 1 == orders):
            progress(i + 1)
    for n in range(repeat):
        chain.deposit(sells(n)[0], newcomer(n), TRADER_DEPOSIT)
    assert chain.now == ends_from
    return Setup(orders, traders, ends_from)


def measure_swaps(
    orders: int, repeat: int = MIN_REPEAT, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Place `orders` live stream swaps on one pair in a fresh temporary database, measure."""
    if orders < 1 or repeat < MIN_REPEAT:
        raise ValueError(f"need at least one order and {MIN_REPEAT} repetitions")
    with tempfile.TemporaryDirectory(prefix="streamdex-bench-swaps-") as folder:
        database = Path(folder) / "bench.sqlite"
        app = Application(database, Config())
        try:
            chain = Chain(app)
            started = time.perf_counter()
            placed = setup(chain, orders, repeat, progress)
            setup_seconds = time.perf_counter() - started
            size = database.stat().st_size
            timed = _measure(chain, placed, repeat)
        finally:
            app.close()
    ends_crossed = min(orders, (chain.now - placed.ends_from) // spacing(orders))
    return {
        "orders": orders,
        **{key: summarize(seconds) for key, seconds in timed.items()},
        "db_bytes_per_order": round(size / orders, 1),
        "order_ends_crossed": ends_crossed,
        "setup_seconds": round(setup_seconds, 1),  # shown by the human output, not in --json
    }


def _measure(chain: Chain, placed: Setup, repeat: int) -> dict[str, list[float]]:
    app = chain.app
    with_orders = placed.with_orders(repeat)
    timed: dict[str, list[float]] = {
        "instant_swap_ms": [],
        "instant_swap_trader_with_orders_ms": [],
        "new_stream_ms": [],
        "balance_ms": [],
        "pair_ms": [],
    }

    def advance(key: str, sender: bytes, payload: bytes) -> None:
        data = chain.data(sender, payload, MEASURE_STEP)
        started = time.perf_counter()
        outcome = app.advance(data)
        timed[key].append(time.perf_counter() - started)
        accepted(outcome)

    def inspect(key: str, path: str) -> dict[str, Any]:
        started = time.perf_counter()
        answer = app.inspect(path.encode())
        timed[key].append(time.perf_counter() - started)
        found: dict[str, Any] = json.loads(answer)
        if "error" in found:
            raise RuntimeError(f"{path} answered {answer.decode()}")
        return found

    for j in range(repeat):
        sold, bought = sells(j)
        advance("instant_swap_ms", newcomer(j), swap(SWAP_AMOUNT, sold, bought))
        n = with_orders[j % len(with_orders)]
        advance("instant_swap_trader_with_orders_ms", trader(n), swap(SWAP_AMOUNT, *sells(n)))
        advance(
            "new_stream_ms",
            newcomer(j),
            action(
                "stream",
                token=sold,
                receiver=newcomer((j + 1) % repeat),
                amount=STREAM_AMOUNT,
                duration=STREAM_SECONDS,
            ),
        )
        # not the trader that just swapped (its proceeds were paid then): one with a longer replay
        n = with_orders[(j + len(with_orders) // 2) % len(with_orders)]
        path = f"/balance/{_hex(trader(n))}?token={_hex(sells(n)[1])}"
        holding = inspect("balance_ms", path)
        if int(holding["stream_swap_proceeds"]) <= 0:
            raise RuntimeError(f"{path} shows no unpaid stream-swap proceeds: {holding}")
        pair = inspect("pair_ms", f"/pair/{_hex(TOKEN_A)}/{_hex(TOKEN_B)}")
        if (
            int(pair["order_pools"]["sale_rate0"]) <= 0
            or int(pair["order_pools"]["sale_rate1"]) <= 0
        ):
            raise RuntimeError(f"the pair has lost its live stream swaps: {pair}")
    return timed


def _hex(address: bytes) -> str:
    return "0x" + address.hex()
