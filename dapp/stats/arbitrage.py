"""`/arbitrage`: cycles of pairs that one `swap` input sent now would close at a profit.

A cycle is a path start token → … → start token through distinct pairs. Its fee-adjusted marginal
gain is the product over hops of 997·r_out / (1000·r_in): the rate at which the first wei is
converted back into the start token. The route lists cycles whose gain exceeds
1 + min_profit_bps/10000, each with the input that maximises the exact integer profit
`amount_out(x) − x`, where `amount_out` is the router's own chain of `get_amount_out`
(dapp.amm.math), so a swap input with that path and amount gets exactly the amount shown.

Reserves are those such a swap would meet: each pair with its stream swaps executed up to the
last input's time (`Twamm.view`), as `Router.get_amounts_out(amount, path, as_of)` reads them.

Sizing. Without the floors, the chain is a Möbius map `f(x) = A·x / (B + C·x)` (composition of
the hops), so the real-valued profit `u(x) = f(x) − x` is concave with its maximum at
`x* = (√(A·B) − B) / C`, and `f(x*)/x* = √(A/B)`: at the optimum the return in bps depends only
on the gain, not on depth or on the start token. The integer profit `p(x)` is *not* concave:
each hop floors, so `p(x+1) − p(x)` wobbles in sign around the top and a binary search on that
sign can stop on a local step (the tests show one). What is exact is the bound `p(x) ≤ u(x)`:
once some input reaches profit `t`, every better input lies in the interval where `u ≥ t`, found
by two binary searches on the concave `u` in integer arithmetic. The output depends on the input
only through the amount after each hop, so it is enough to try, for each amount of the token on
the path that takes the fewest distinct amounts over that interval, the least input reaching it.
When that is at most `EXACT_WINDOW` amounts (always for shallow pools) the scan is exhaustive
and the answer is the exact maximiser (the smallest input among equals). For deep pools the
interval can be ~√reserve wide while `u` varies there by less than one wei; the answer is then
the best integer neighbour of `x*`, each reduced to the least input that buys the same output.
Its profit is below the maximum by less than what the floors can lose: under one base unit of
each hop's output, valued at the floor-free marginal rate of the hops after it (a few wei when
prices are near 1:1).

Rotations. A→B→C→A and B→C→A→B are one trade seen from two start tokens; the reverse direction
is a different trade. Each directed cycle is listed once. The route trades it from the token the
market ranks first as a quote (a stablecoin, then the reference token; else the smallest
address), so the profit is in the most useful currency and each cycle is sized once; the
real-valued optimum is the same in every rotation (√gain − 1), only the floors differ.
`best_rotation` without a ranking sizes every rotation and keeps the best return.

Two-hop cycles need two different pairs over the same two tokens; this application, like the
Uniswap factory, has one pair per token pair, and a path may use a pair once, so none exist.
`max_hops=2` is accepted (the search is general) and finds nothing.

Work is bounded: the `MAX_PAIRS` deepest pairs (by stored k = reserve0·reserve1: stream swaps
change k only by the fees they add), `MAX_CYCLES` cycles and `MAX_STEPS` search steps, at most
`MAX_SIZED` cycles sized and `MAX_OPPORTUNITIES` listed; `truncated` says when a cap cut the
answer. No floats anywhere.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import isqrt
from typing import TYPE_CHECKING, Any

from dapp.addresses import to_checksum_address
from dapp.amm.math import FEE_DENOMINATOR, FEE_NUMERATOR, get_amount_out, get_amounts_out
from dapp.amm.pair import Pair
from dapp.errors import BadParameter
from dapp.stats.numbers import fixed
from dapp.store import decode_amount

if TYPE_CHECKING:  # dapp.inspect registers this route: importing it here would be a cycle
    from dapp.inspect import Inspector, Query

UsdValue = Callable[[bytes, int], int | None]
"""USD worth of `amount` base units of `token`, fixed point 10**18; None when unpriced."""

Hop = tuple[int, int]  # (reserve_in, reserve_out) of one pair, in the direction traded

MIN_HOPS, MAX_HOPS, DEFAULT_MAX_HOPS = 2, 4, 3
MAX_PROFIT_BPS = 10_000
MAX_OPPORTUNITIES = 50
MAX_PAIRS = 200
MAX_CYCLES = 20_000
MAX_STEPS = 200_000  # edges followed by the cycle search
MAX_SIZED = 500  # cycles whose best input is computed
EXACT_WINDOW = 256  # most amounts of the coarsest token scanned to prove the maximiser
BPS = 10_000
BPS_HUNDREDTHS = BPS * 100  # profit_bps is shown with two decimals


@dataclass(frozen=True)
class Optimum:
    """The chosen input of a cycle and what it buys; `exact`: proven the integer maximiser."""

    amount_in: int
    amount_out: int
    exact: bool

    @property
    def profit(self) -> int:
        return self.amount_out - self.amount_in


@dataclass(frozen=True)
class Cycle:
    """A directed cycle: `pairs[i]` joins `tokens[i]` to `tokens[(i + 1) % len]`."""

    tokens: tuple[bytes, ...]
    pairs: tuple[Pair, ...]
    gain: Fraction  # product of fee-adjusted marginal prices; the same in every rotation

    def rotated(self, k: int) -> Cycle:
        return Cycle(self.tokens[k:] + self.tokens[:k], self.pairs[k:] + self.pairs[:k], self.gain)

    def hops(self) -> list[Hop]:
        return _hops(self.pairs, self.tokens)


@dataclass(frozen=True)
class Opportunity:
    cycle: Cycle  # in the rotation traded
    optimum: Optimum

    @property
    def bps_hundredths(self) -> int:
        """profit_bps × 100, rounded down: what is shown, and what orders the answer."""
        return self.optimum.profit * BPS_HUNDREDTHS // self.optimum.amount_in


# --- the route ---------------------------------------------------------------------------------
def arbitrage(
    inspector: Inspector,
    params: list[str],
    query: Query,
    *,
    usd_value: UsdValue | None = None,
) -> dict[str, Any]:
    """`/arbitrage?min_profit_bps=&max_hops=`: profitable cycles at the last input's time.
    Profits are valued in USD at the market's prices unless `usd_value` says otherwise."""
    if usd_value is None:
        market = inspector.market()
        usd_value = market.pricing.value if market.priced else None
    min_profit_bps = query.integer("min_profit_bps", 0, MAX_PROFIT_BPS)
    max_hops = _max_hops(query)
    as_of = inspector.store.progress().last_timestamp
    pairs, pairs_cut = load_pairs(inspector, as_of)
    cycles, search_cut = find_cycles(pairs, max_hops, min_profit_bps)
    # each cycle traded from its token the market ranks first as a quote (a stablecoin, then
    # the reference token), so profits are in the most useful currency; else its smallest token
    opportunities, sizing_cut = best_opportunities(cycles, inspector.market_config.quote_rank)
    return {
        "as_of": as_of,
        "opportunities": [_opportunity_json(found, usd_value) for found in opportunities],
        "truncated": pairs_cut or search_cut or sizing_cut,
    }


def _max_hops(query: Query) -> int:
    message = f"max_hops must be an integer from {MIN_HOPS} to {MAX_HOPS}"
    try:
        value = query.integer("max_hops", DEFAULT_MAX_HOPS, MAX_HOPS)
    except BadParameter:
        raise BadParameter(f"{message}, got {query.text('max_hops')!r}") from None
    if value < MIN_HOPS:
        raise BadParameter(f"{message}, got {value}")
    return value


# --- the market --------------------------------------------------------------------------------
def load_pairs(inspector: Inspector, as_of: int) -> tuple[list[Pair], bool]:
    """The deepest pairs with liquidity, as a swap at `as_of` meets them; True if some were left.

    Depth is the stored k: ranking needs no replay, and stream swaps move k only by their fees.
    Raw k favours tokens with more decimals; without prices there is no fairer common unit.
    """
    rows = inspector.sql.execute(
        "SELECT p.address, t0.address, t1.address, reserve0, reserve1 FROM pairs"
        " JOIN addresses p ON p.id = pair_id"
        " JOIN addresses t0 ON t0.id = token0_id"
        " JOIN addresses t1 ON t1.id = token1_id"
    ).fetchall()
    stored = [
        Pair(bytes(a), bytes(t0), bytes(t1), decode_amount(r0), decode_amount(r1))
        for a, t0, t1, r0, r1 in rows
    ]
    liquid = [pair for pair in stored if pair.reserve0 > 0 and pair.reserve1 > 0]
    deepest = heapq.nlargest(
        MAX_PAIRS, liquid, key=lambda pair: (pair.reserve0 * pair.reserve1, pair.address)
    )
    executed = [inspector.twamm.view(pair, as_of).pair for pair in deepest]
    executed.sort(key=lambda pair: pair.address)
    return [p for p in executed if p.reserve0 > 0 and p.reserve1 > 0], len(liquid) > MAX_PAIRS


def marginal_gain(hops: Sequence[Hop]) -> Fraction:
    """Π 997·r_out / (1000·r_in): what the first wei earns going round the cycle."""
    numerator = denominator = 1
    for reserve_in, reserve_out in hops:
        numerator *= FEE_NUMERATOR * reserve_out
        denominator *= FEE_DENOMINATOR * reserve_in
    return Fraction(numerator, denominator)


def find_cycles(
    pairs: Sequence[Pair], max_hops: int, min_profit_bps: int
) -> tuple[list[Cycle], bool]:
    """Directed cycles of 2..`max_hops` distinct pairs whose gain exceeds 1 + bps/10000.

    Each cycle is found once, from its smallest token (the search only visits larger tokens), so
    rotations are not repeated; both directions are found. True if a work cap was hit.
    """
    search = _CycleSearch(pairs, max_hops, Fraction(BPS + min_profit_bps, BPS))
    for start in sorted(search.edges):
        if search.exhausted:
            break
        search.extend([start], [])
    return search.found, search.exhausted


class _CycleSearch:
    """Depth-first search of simple cycles with a step budget."""

    def __init__(self, pairs: Sequence[Pair], max_hops: int, threshold: Fraction) -> None:
        self.max_hops = max_hops
        self.threshold = threshold
        self.edges: dict[bytes, list[tuple[bytes, Pair]]] = {}
        for pair in pairs:
            self.edges.setdefault(pair.token0, []).append((pair.token1, pair))
            self.edges.setdefault(pair.token1, []).append((pair.token0, pair))
        for neighbours in self.edges.values():
            neighbours.sort(key=lambda edge: (edge[0], edge[1].address))
        self.found: list[Cycle] = []
        self.cycles = 0
        self.steps = 0
        self.exhausted = False

    def extend(self, tokens: list[bytes], used: list[Pair]) -> None:
        start, here = tokens[0], tokens[-1]
        for token, pair in self.edges[here]:
            if self.steps >= MAX_STEPS or self.cycles >= MAX_CYCLES:
                self.exhausted = True
                return
            self.steps += 1
            if any(pair is other for other in used):
                continue
            if token == start:
                self.close(tokens, [*used, pair])
            elif token > start and token not in tokens and len(tokens) < self.max_hops:
                self.extend([*tokens, token], [*used, pair])

    def close(self, tokens: list[bytes], pairs: list[Pair]) -> None:
        if len(pairs) < MIN_HOPS:
            return
        self.cycles += 1
        gain = marginal_gain(_hops(pairs, tokens))
        if gain > self.threshold:
            self.found.append(Cycle(tuple(tokens), tuple(pairs), gain))


def _hops(pairs: Sequence[Pair], tokens: Sequence[bytes]) -> list[Hop]:
    """(reserve_in, reserve_out) of each pair, entered with the matching token."""
    return [pair.reserves_from(token) for pair, token in zip(pairs, tokens, strict=True)]


# --- sizing ------------------------------------------------------------------------------------
def best_opportunities(
    cycles: Sequence[Cycle], start_rank: Callable[[bytes], int] | None = None
) -> tuple[list[Opportunity], bool]:
    """The `MAX_OPPORTUNITIES` best cycles by profit_bps; True if some may be missing.

    Cycles are sized in decreasing gain. No input earns more bps than the gain minus one, so once
    a full list is held and the next gain cannot beat its last entry, no later cycle can either.
    """
    ranked = sorted(cycles, key=lambda cycle: (-cycle.gain, cycle.tokens))
    found: list[Opportunity] = []  # best first, at most MAX_OPPORTUNITIES
    dropped = False
    for sized, cycle in enumerate(ranked):
        if len(found) == MAX_OPPORTUNITIES:
            ceiling = (cycle.gain - 1) * BPS_HUNDREDTHS
            if ceiling < found[-1].bps_hundredths:
                return found, True
        if sized >= MAX_SIZED:
            return found, True
        best = best_rotation(cycle, start_rank)
        if best is not None:
            bisect.insort(found, best, key=_rank)
            if len(found) > MAX_OPPORTUNITIES:
                found.pop()
                dropped = True
    return found, dropped


def _rank(found: Opportunity) -> tuple[int, tuple[bytes, ...], bytes]:
    """Best first: profit_bps as shown, descending; ties by path, then first pair."""
    return -found.bps_hundredths, found.cycle.tokens, found.cycle.pairs[0].address


def best_rotation(
    cycle: Cycle, start_rank: Callable[[bytes], int] | None = None
) -> Opportunity | None:
    """The rotation whose best input earns the highest return (ties: smallest start token);
    with `start_rank`, only the rotation starting at the best-ranked token (ties: smallest),
    sized once instead of once per token."""
    if start_rank is not None:
        k = min(range(len(cycle.tokens)), key=lambda i: (start_rank(cycle.tokens[i]), i))
        rotation = cycle.rotated(k)
        optimum = optimal_input(rotation.hops())
        return None if optimum is None else Opportunity(rotation, optimum)
    best: Opportunity | None = None
    best_key: tuple[Fraction, bytes] | None = None
    for k in range(len(cycle.tokens)):
        rotation = cycle.rotated(k)
        optimum = optimal_input(rotation.hops())
        if optimum is None:
            continue
        key = (-Fraction(optimum.profit, optimum.amount_in), rotation.tokens[0])
        if best_key is None or key < best_key:
            best, best_key = Opportunity(rotation, optimum), key
    return best


def amount_out(amount_in: int, hops: Sequence[Hop]) -> int:
    """The router's chained `get_amount_out`; 0 when a hop would receive nothing (the router
    refuses that swap, so such an input is worth nothing)."""
    amount = amount_in
    for reserve_in, reserve_out in hops:
        if amount <= 0:
            return 0
        amount = get_amount_out(amount, reserve_in, reserve_out)
    return amount


def least_input(amount: int, hops: Sequence[Hop]) -> int | None:
    """The smallest input whose chained output is at least `amount`; None if none is.

    Backwards, hop by hop: `get_amount_out(w, r_in, r_out) ≥ v` ⇔ `997·w·(r_out − v) ≥
    1000·r_in·v`. Unlike `get_amount_in` (Uniswap adds 1 even when exact), this is the least.
    """
    for reserve_in, reserve_out in reversed(hops):
        if amount >= reserve_out:
            return None
        numerator = FEE_DENOMINATOR * reserve_in * amount
        amount = -(-numerator // (FEE_NUMERATOR * (reserve_out - amount)))
    return amount


def compose(hops: Sequence[Hop]) -> tuple[int, int, int]:
    """(A, B, C) with the floor-free chain equal to `A·x / (B + C·x)`.

    One hop is `997·r_out·x / (1000·r_in + 997·x)`; composing (A, B, C) with (a, b, c) gives
    (A·a, B·b, b·C + A·c).
    """
    a_total, b_total, c_total = 1, 1, 0
    for reserve_in, reserve_out in hops:
        a, b, c = FEE_NUMERATOR * reserve_out, FEE_DENOMINATOR * reserve_in, FEE_NUMERATOR
        a_total, b_total, c_total = a_total * a, b_total * b, b * c_total + a_total * c
    return a_total, b_total, c_total


def optimal_input(hops: Sequence[Hop]) -> Optimum | None:
    """The input with the largest integer profit round `hops`; None when no input profits."""
    a, b, c = compose(hops)
    if a <= b:
        return None
    peak = _real_peak(a, b, c)
    best = _best_of(
        [
            reduced
            for x in (peak - 1, peak, peak + 1)
            if x >= 1 and (reduced := _reduced(x, hops)) is not None
        ]
    )
    threshold = max(1, best.profit if best is not None else 1)
    if not _reaches(a, b, c, peak, threshold):
        return None  # even without the floors no input earns `threshold`
    low = _last_true(lambda x: not _reaches(a, b, c, x, threshold), 0, peak) + 1
    high = _last_true(lambda x: _reaches(a, b, c, x, threshold), peak, a // c + 1)
    exact = _scan(low, high, hops)
    if exact is not None:
        best = exact
    if best is None or best.profit < 1:
        return None
    return best


def _scan(low: int, high: int, hops: Sequence[Hop]) -> Optimum | None:
    """The exact maximiser over inputs in [low, high], or None when that is too much work.

    The output depends on the input only through the amount after each hop, so for each amount
    of one token on the path the best input is the least one reaching it. Any token will do;
    the one with the fewest amounts over the window (the coarsest, often not the start token)
    makes the shortest exhaustive scan.
    """
    at_low, at_high = _amounts(low, hops), _amounts(high, hops)
    hop = min(range(len(at_low)), key=lambda j: at_high[j] - at_low[j])
    first, last = max(1, at_low[hop]), at_high[hop]
    if last - first >= EXACT_WINDOW:
        return None
    candidates = []
    for amount in range(first, last + 1):
        least = least_input(amount, hops[:hop])
        if least is not None and (x := max(least, low)) <= high:
            candidates.append(Optimum(x, amount_out(x, hops), True))
    return _best_of(candidates)


def _amounts(amount_in: int, hops: Sequence[Hop]) -> list[int]:
    """The amount held before each hop and at the end (0 once a hop receives nothing)."""
    amounts = [amount_in]
    for j in range(len(hops)):
        amounts.append(amount_out(amounts[j], hops[j : j + 1]))
    return amounts


def _real_peak(a: int, b: int, c: int) -> int:
    """The integer maximiser of the floor-free profit `a·x/(b + c·x) − x` (concave), x ≥ 1."""
    root = isqrt(a * b)  # √(a·b) ∈ [root, root + 1), so x* lies within two integers of `base`
    base = max(1, (root - b) // c)
    candidates = range(base, base + 3)
    return max(candidates, key=lambda x: (Fraction(a * x, b + c * x) - x, -x))


def _reaches(a: int, b: int, c: int, x: int, target: int) -> bool:
    """Whether the floor-free profit at `x` is at least `target`: a·x/(b + c·x) − x ≥ target."""
    return a * x >= (target + x) * (b + c * x)


def _last_true(holds: Callable[[int], bool], low: int, high: int) -> int:
    """The largest x in [low, high] with `holds(x)`, given `holds(low)` and monotone decline."""
    while low < high:
        middle = (low + high + 1) // 2
        if holds(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _reduced(x: int, hops: Sequence[Hop]) -> Optimum | None:
    """Input `x` cut to the least input that buys the same output: never less profit."""
    out = amount_out(x, hops)
    if out <= 0:
        return None
    least = least_input(out, hops)
    assert least is not None and least <= x
    return Optimum(least, out, False)


def _best_of(candidates: Sequence[Optimum]) -> Optimum | None:
    """Largest profit, then smallest input (the same profit for less capital)."""
    return min(candidates, key=lambda o: (-o.profit, o.amount_in), default=None)


# --- JSON --------------------------------------------------------------------------------------
def _opportunity_json(found: Opportunity, usd_value: UsdValue | None) -> dict[str, Any]:
    cycle, optimum = found.cycle, found.optimum
    path = [*cycle.tokens, cycle.tokens[0]]
    amounts = get_amounts_out(optimum.amount_in, cycle.hops())  # the router's own arithmetic
    assert amounts[-1] == optimum.amount_out
    return {
        "path": [to_checksum_address(token) for token in path],
        "pairs": [to_checksum_address(pair.address) for pair in cycle.pairs],
        "amount_in": str(optimum.amount_in),
        "amount_out": str(optimum.amount_out),
        "profit": str(optimum.profit),
        "profit_bps": _hundredths(found.bps_hundredths),
        "profit_usd": None if usd_value is None else fixed(usd_value(path[0], optimum.profit)),
    }


def _hundredths(value: int) -> str:
    """An integer count of hundredths as a decimal, trailing zeros trimmed: 12340 → "123.4"."""
    whole, fraction = divmod(value, 100)
    return str(whole) if fraction == 0 else f"{whole}.{fraction:02d}".rstrip("0")


ROUTES: list[tuple[tuple[str, ...], Any]] = [(("arbitrage",), arbitrage)]
