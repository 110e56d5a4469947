"""Issue #7 "Must show" (2) and (3), as properties over random markets.

Random sequences of add_liquidity, swaps (one hop and multi-hop), stream swaps (some cancelled)
and remove_liquidity over four tokens (a 6-decimal stablecoin, the reference token, a token with
metadata, one without), at random time steps, are fed to the application. Then:

* every window (1h/24h/7d/30d/all) of every pair, read through /pairs/{pair}/stats (the prefix
  sums), equals the brute-force sum over the swap_log rows and the independent model
  (tests/stats_reference.py), whose per-swap records also match the log row by row;
* hour candles over a window's full hours plus the swaps of its partial first hour add up to the
  window; day candles add up to the whole history;
* replaying the same inputs into a second application gives a byte-identical database, and
  inspecting every native route changes no byte of the database files.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from dapp.addresses import to_checksum_address
from dapp.app import Application, Config
from dapp.stats.config import MarketConfig, TokenInfo
from dapp.store import decode_amount
from tests.conftest import address
from tests.inputs import Driver, action, erc20_deposit
from tests.stats_reference import HOUR, WINDOWS, Model, SwapRecord, Tokens, shown

STABLE, REFERENCE, TOKEN_X, TOKEN_Y = (address(n) for n in (0x5001, 0x5002, 0x5003, 0x5004))
TOKENS = (STABLE, REFERENCE, TOKEN_X, TOKEN_Y)
DECIMALS = {STABLE: 6, REFERENCE: 18, TOKEN_X: 18}  # TOKEN_Y has no metadata
MARKET = MarketConfig.checked(
    {
        STABLE: TokenInfo("USD", "Dollar", 6),
        REFERENCE: TokenInfo("REF", "Reference", 18),
        TOKEN_X: TokenInfo("X", "Ex", 18),
    },
    (STABLE,),
    REFERENCE,
)
MODEL_TOKENS = Tokens(
    decimals=DECIMALS,
    symbols={STABLE: "USD", REFERENCE: "REF", TOKEN_X: "X"},
    stablecoins=(STABLE,),
    reference=REFERENCE,
)
USERS = (address(0xA1), address(0xA2), address(0xA3))
START = 1_700_006_400 + 600  # early in a UTC day
STEPS = (0, 1, 59, 1800, 3599, 3600, 3601, 7200, 86399, 86400, 3 * 86400, 8 * 86400)

Action = tuple[Any, ...]
pairs_of_tokens = st.lists(st.sampled_from(TOKENS), min_size=2, max_size=2, unique=True)
paths = st.lists(st.sampled_from(TOKENS), min_size=2, max_size=3, unique=True)
milli_units = st.integers(1, 2_000_000)  # thousandths of a whole token
users = st.sampled_from(range(len(USERS)))
actions: st.SearchStrategy[Action] = st.one_of(
    st.tuples(st.just("add"), users, pairs_of_tokens, milli_units, milli_units),
    st.tuples(st.just("swap"), users, paths, milli_units),  # listed twice: swaps come more often
    st.tuples(st.just("swap"), users, paths, milli_units),
    st.tuples(
        st.just("stream"),
        users,
        pairs_of_tokens,
        milli_units,
        st.sampled_from([60, 3600, 5000, 86400, 3 * 86400]),
    ),
    st.tuples(st.just("remove"), users, pairs_of_tokens, st.integers(1, 10_000)),
    st.tuples(st.just("cancel"), users),
)
timed_actions = st.lists(st.tuples(st.sampled_from(STEPS), actions), min_size=5, max_size=30)


def units(token: bytes, milli: int) -> int:
    scale: int = 10 ** DECIMALS.get(token, 18)
    return max(1, milli * scale // 1000)


def cs(token: bytes) -> str:
    return to_checksum_address(token)


# --- running a market ----------------------------------------------------------------------------
@dataclass
class Run:
    """One application fed the inputs of a sequence; the raw inputs and the notices are kept."""

    app: Application
    driver: Driver
    inputs: list[tuple[bytes, bytes, int]] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    orders: list[tuple[int, bytes]] = field(default_factory=list)  # (swap_id, trader)

    def send(self, sender: bytes, payload: bytes, actor: bytes | None = None) -> None:
        self.inputs.append((sender, payload, self.driver.now))
        outcome = self.driver.send(sender, payload)
        if not outcome.accepted:
            return
        (notice,) = outcome.notices
        events = json.loads(notice)["events"]
        self.notices.append(
            {
                "input_index": self.driver.next_index - 1,
                "timestamp": self.driver.now,
                "sender": actor or sender,
                "events": events,
            }
        )
        self.orders += [
            (e["swap_id"], actor or sender) for e in events if e["type"] == "SwapOrderPlaced"
        ]

    def act(self, sender: bytes, method: str, **args: Any) -> None:
        self.send(sender, action(method, **args))

    def deposit(self, token: bytes, account: bytes, amount: int) -> None:
        self.send(Config().v2.erc20, erc20_deposit(token, account, amount), actor=account)

    def inspect(self, path: str) -> Any:
        return json.loads(self.app.inspect(path.encode()))

    def lp_balance(self, user: bytes, token_a: bytes, token_b: bytes) -> int:
        found = self.inspect(f"pair/{cs(token_a)}/{cs(token_b)}")
        if "error" in found:
            return 0
        held = self.inspect(f"balance/{cs(user)}?token={found['id']}")
        return int(held["available"])


@contextmanager
def application() -> Iterator[Application]:
    with tempfile.TemporaryDirectory() as folder:
        app = Application(Path(folder) / "stats.sqlite", Config(market=MARKET))
        try:
            yield app
        finally:
            app.close()


SEED_PAIRS = (  # (token a, token b, whole a, whole b): USD/REF at 2000, REF/X at 100, X/Y at 10
    (STABLE, REFERENCE, 200_000, 100),
    (REFERENCE, TOKEN_X, 100, 10_000),
    (TOKEN_X, TOKEN_Y, 1_000, 10_000),
)


def seed(run: Run) -> None:
    for user in USERS:
        for token in TOKENS:
            run.deposit(token, user, 10**9 * 10 ** DECIMALS.get(token, 18))
    for token_a, token_b, whole_a, whole_b in SEED_PAIRS:
        run.act(
            USERS[0],
            "add_liquidity",
            token_a=token_a,
            token_b=token_b,
            token_a_desired=units(token_a, whole_a * 1000),
            token_b_desired=units(token_b, whole_b * 1000),
            token_a_min=0,
            token_b_min=0,
        )


def play(run: Run, step: int, act: Action) -> None:
    run.driver.now += step
    kind, user = act[0], USERS[act[1]]
    if kind == "add":
        (a, b), amount_a, amount_b = act[2], act[3], act[4]
        run.act(
            user,
            "add_liquidity",
            token_a=a,
            token_b=b,
            token_a_desired=units(a, amount_a),
            token_b_desired=units(b, amount_b),
            token_a_min=0,
            token_b_min=0,
        )
    elif kind == "swap":
        path, amount = act[2], act[3]
        run.act(user, "swap", amount_in=units(path[0], amount), amount_out_min=0, path=path)
    elif kind == "stream":
        path, amount, duration = act[2], act[3], act[4]
        run.act(
            user,
            "swap",
            amount_in=units(path[0], amount),
            amount_out_min=0,
            path=path,
            duration=duration,
        )
    elif kind == "remove":
        (a, b), share = act[2], act[3]
        liquidity = run.lp_balance(user, a, b) * share // 10_000
        if liquidity:
            run.act(
                user,
                "remove_liquidity",
                token_a=a,
                token_b=b,
                liquidity=liquidity,
                amount_a_min=0,
                amount_b_min=0,
            )
    else:
        mine = [swap_id for swap_id, trader in run.orders if trader == user]
        if mine:
            run.act(user, "cancel_swap", swap_id=mine[-1])


def market(app: Application, sequence: list[tuple[int, Action]]) -> Run:
    run = Run(app, Driver(app, now=START))
    seed(run)
    for step, act in sequence:
        play(run, step, act)
    return run


# --- reading back --------------------------------------------------------------------------------
SWAP_COLUMNS = (
    "ts, amount0_in, amount1_in, amount0_out, amount1_out, reserve0, reserve1,"
    " amount_usd, amount_usd_untracked, fee_usd, stream"
)


@dataclass(frozen=True)
class LogRow:
    ts: int
    in0: int
    in1: int
    out0: int
    out1: int
    reserve0: int
    reserve1: int
    usd: int
    untracked: int
    fee: int
    stream: bool


def log_rows(app: Application, pair: bytes) -> list[LogRow]:
    """The pair's swap_log, in trade_id order (direct SQL: the log itself)."""
    pair_id = app.store.address_id(pair)
    rows = app.store.connection.execute(
        f"SELECT {SWAP_COLUMNS} FROM swap_log WHERE pair_id = ? ORDER BY id", (pair_id,)
    )
    out = []
    for ts, *amounts, stream in rows:
        in0, in1, out0, out1, reserve0, reserve1, usd, untracked, fee = map(decode_amount, amounts)
        out.append(
            LogRow(ts, in0, in1, out0, out1, reserve0, reserve1, usd, untracked, fee, bool(stream))
        )
    return out


def as_log_row(record: SwapRecord) -> LogRow:
    return LogRow(
        record.ts,
        record.in0,
        record.in1,
        record.out0,
        record.out1,
        record.reserve0,
        record.reserve1,
        record.tracked,
        record.untracked,
        record.fee,
        record.stream,
    )


def window_figures(rows: list[LogRow], decimals: tuple[int, int]) -> dict[str, Any]:
    """What /pairs/{pair}/stats shows of a set of swaps, summed the slow way."""
    return {
        "volume_token0": shown(sum(abs(r.in0 - r.out0) for r in rows), decimals[0]),
        "volume_token1": shown(sum(abs(r.in1 - r.out1) for r in rows), decimals[1]),
        "volume_usd": shown(sum(r.usd for r in rows)),
        "volume_usd_untracked": shown(sum(r.untracked for r in rows)),
        "fees_usd": shown(sum(r.fee for r in rows)),
        "fees_token0": shown(sum(r.in0 for r in rows) * 3, decimals[0] + 3),
        "fees_token1": shown(sum(r.in1 for r in rows) * 3, decimals[1] + 3),
        "swap_count": len(rows),
    }


def in_window(ts: int, start: int | None, as_of: int) -> bool:
    return (start is None or ts >= start) and ts <= as_of


def candles(run: Run, pair: bytes, interval: str) -> list[dict[str, Any]]:
    """Every candle of the pair, page by page."""
    rows: list[dict[str, Any]] = []
    cursor = 0
    while True:
        page = run.inspect(
            f"pairs/{cs(pair)}/candles?interval={interval}&limit=500&cursor={cursor}"
        )
        rows += page["rows"]
        if page["next_cursor"] is None:
            return rows
        cursor = page["next_cursor"]


CANDLE_SUMS = ("volume_token0", "volume_token1", "volume_usd", "volume_usd_untracked", "fees_usd")


def summed(rows: list[dict[str, Any]]) -> dict[str, Fraction | int]:
    out: dict[str, Fraction | int] = {k: sum(Fraction(r[k]) for r in rows) for k in CANDLE_SUMS}
    out["swap_count"] = sum(r["swap_count"] for r in rows)
    return out


def stats_sums(answer: dict[str, Any]) -> dict[str, Fraction | int]:
    out: dict[str, Fraction | int] = {k: Fraction(answer[k]) for k in CANDLE_SUMS}
    out["swap_count"] = answer["swap_count"]
    return out


def native_routes(run: Run, pairs: list[bytes]) -> list[str]:
    paths = [f"stats?window={w}" for w in WINDOWS] + ["prices", "top/pairs", "top/tokens"]
    paths += ["top/pairs?window=all&by=fees", "top/tokens?window=all&by=volume"]
    for pair in pairs:
        paths.append(f"pairs/{cs(pair)}")
        paths += [f"pairs/{cs(pair)}/stats?window={w}" for w in WINDOWS]
        paths += [f"pairs/{cs(pair)}/candles?interval={i}&limit=500" for i in ("1h", "1d")]
    paths += [
        f"tokens/{cs(t)}/candles?interval={i}&limit=500" for t in TOKENS for i in ("1h", "1d")
    ]
    return paths


def database_files(app: Application) -> dict[str, str]:
    folder = Path(app.store.path).parent
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(folder.iterdir())}


# --- the properties ------------------------------------------------------------------------------
# An input that executes a stream swap's last interval in an earlier hour of the same day as its
# own swap on the pair (the order of 1 hour ends at +3600; the next input comes at +7200).
FLOW_IN_AN_EARLIER_HOUR: list[tuple[int, Action]] = [
    (0, ("stream", 1, [STABLE, REFERENCE], 1000, 3600)),
    (7200, ("swap", 2, [STABLE, REFERENCE], 1000)),
]


@settings(max_examples=150, deadline=None)
@given(timed_actions)
@example(FLOW_IN_AN_EARLIER_HOUR)
def test_window_figures_are_the_sums_over_the_log(sequence: list[tuple[int, Action]]) -> None:
    with application() as app:
        run = market(app, sequence)
        model = Model(MODEL_TOKENS, run.notices)
        as_of = model.as_of
        assert run.inspect("stats")["as_of"] == as_of
        overall: dict[str, list[LogRow]] = {w: [] for w in WINDOWS}
        for pair, state in model.pairs.items():
            decimals = (DECIMALS.get(state.token0, 0), DECIMALS.get(state.token1, 0))
            rows = log_rows(app, pair)
            # the log is the model's swaps, row by row, in processing order
            assert rows == [as_log_row(s) for s in model.swaps if s.pair == pair]
            for window in WINDOWS:
                start = model.start(window)
                answer = run.inspect(f"pairs/{cs(pair)}/stats?window={window}")
                brute = [r for r in rows if in_window(r.ts, start, as_of)]
                overall[window] += brute
                expected = window_figures(brute, decimals)
                assert {k: answer[k] for k in expected} == expected, (pair, window)
                swaps = model.pair_swaps(pair, start)
                assert window_figures([as_log_row(s) for s in swaps], decimals) == expected
                high, low = model.high_low(pair, start)
                assert (answer["price_high"], answer["price_low"]) == (shown(high), shown(low))
                liquidity = model.pair_liquidity(pair, start)
                assert answer["mint_count"] == sum(not r.burn for r in liquidity)
                assert answer["burn_count"] == sum(r.burn for r in liquidity)
        for window in WINDOWS:
            answer = run.inspect(f"stats?window={window}")
            assert answer["swap_count"] == str(len(overall[window]))
            assert answer["volume_usd"] == shown(sum(r.usd for r in overall[window]))
            assert answer["fees_usd"] == shown(sum(r.fee for r in overall[window]))


@settings(max_examples=100, deadline=None)
@given(timed_actions)
@example(FLOW_IN_AN_EARLIER_HOUR)
def test_hour_candles_add_up_to_every_window(sequence: list[tuple[int, Action]]) -> None:
    """Σ hour candles over the window's full hours + the swaps of its partial first hour."""
    with application() as app:
        run = market(app, sequence)
        as_of = run.inspect("stats")["as_of"]
        for pair in {bytes.fromhex(p["id"][2:]) for p in run.inspect("pairs")["pairs"]}:
            hours, rows, decimals = (
                candles(run, pair, "1h"),
                log_rows(app, pair),
                _decimals(run, pair),
            )
            for window, length in WINDOWS.items():
                answer = run.inspect(f"pairs/{cs(pair)}/stats?window={window}")
                start = None if length is None else as_of - length
                first_full = 0 if start is None else -(-start // HOUR) * HOUR
                edge = [r for r in rows if start is not None and start <= r.ts < first_full]
                full = summed([c for c in hours if c["period_start"] >= first_full])
                edge_sums = stats_sums(window_figures(edge, decimals))
                assert {k: full[k] + edge_sums[k] for k in full} == stats_sums(answer), window


def _decimals(run: Run, pair: bytes) -> tuple[int, int]:
    view = run.inspect(f"pairs/{cs(pair)}")
    return view["token0"]["decimals"] or 0, view["token1"]["decimals"] or 0


@settings(max_examples=60, deadline=None)
@given(timed_actions)
@example(FLOW_IN_AN_EARLIER_HOUR)
def test_day_candles_add_up_to_the_whole_history(sequence: list[tuple[int, Action]]) -> None:
    with application() as app:
        run = market(app, sequence)
        for pair in {bytes.fromhex(p["id"][2:]) for p in run.inspect("pairs")["pairs"]}:
            answer = stats_sums(run.inspect(f"pairs/{cs(pair)}/stats?window=all"))
            assert summed(candles(run, pair, "1h")) == answer
            assert summed(candles(run, pair, "1d")) == answer


@settings(max_examples=40, deadline=None)
@given(timed_actions)
@example(FLOW_IN_AN_EARLIER_HOUR)
def test_replay_is_byte_identical_and_routes_read_only(sequence: list[tuple[int, Action]]) -> None:
    with application() as app, application() as again:
        run = market(app, sequence)
        replay = Driver(again, now=START)
        for sender, payload, at in run.inputs:
            replay.send(sender, payload, at=at)
        assert app.store.dump() == again.store.dump()
        pairs = [bytes.fromhex(p["id"][2:]) for p in run.inspect("pairs")["pairs"]]
        before = database_files(app)
        answers = [app.inspect(path.encode()) for path in native_routes(run, pairs)]
        assert database_files(app) == before
        assert answers == [again.inspect(path.encode()) for path in native_routes(run, pairs)]


def test_a_swap_that_takes_no_base_out_is_a_sell() -> None:
    sequence: list[tuple[int, Action]] = [
        (0, ("add", 0, [STABLE, TOKEN_X], 1, 1)),  # 0.001 of each: a very thin pair
        (0, ("stream", 0, [TOKEN_X, STABLE], 1, 3600)),  # sells 0.001 X over an hour
        (1, ("add", 0, [STABLE, REFERENCE], 1, 1)),  # the trader acts: the pools run a second
    ]
    with application() as app:
        run = market(app, sequence)
        model = Model(MODEL_TOKENS, run.notices)
        (pair,) = (p for p, s in model.pairs.items() if {s.token0, s.token1} == {STABLE, TOKEN_X})
        (flow,) = model.pair_swaps(pair, None)
        assert flow.stream and flow.in1 > 0 and flow.out0 == flow.out1 == 0  # X in, nothing out
        assert model.tokens.base_target(STABLE, TOKEN_X) == (TOKEN_X, STABLE)  # X is token1
        assert not model.is_buy(flow)
        answer = run.inspect(f"pairs/{cs(pair)}/stats?window=all")
        assert (answer["buy_count"], answer["sell_count"]) == (0, 1)
