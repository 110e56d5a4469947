"""Event lists and wallet views (stats-routes §4.18–§4.21, §5): /swaps, /mints, /burns,
/accounts/{address}, /accounts/{address}/features and /accounts/{address}/activity.

Every answer is read from the logs the recorder appends (dapp/stats/record.py) and the account
figures it sums, through their indexes, so a page costs the same whatever the history.

Paging. A list is ordered by (ts, id): `ts` alone repeats, and ids alone are not time order (a
stream swap's flow is logged with the time its executed interval ended, which can be earlier
than a row logged before it). The cursor is the event id (`<input_index>-<event_index>`) of the
last row returned. The next page starts strictly
after that row with a row-value comparison on the index, so no row is lost or repeated however
many rows share a second. A cursor is found again by a binary search over the log's ids: within
one log, ids grow with (input_index, event_index), because the logs are append-only and written
in processing order. A cursor that names no logged event is refused.

Activity. An account's rows in every log carry their input's timestamp, so its merged history is
ordered by (ts, input_index, event_index) newest first, which is (input_index, event_index) —
and stays a total order for the order pools' account, whose flow rows carry the end of the
executed interval. A stream swap's own flow is logged against the order pools (kind "stream" in
/swaps); the trader's history shows the swap orders only through the wallet figures.

LP amounts (`liquidity`, `lp_balance`) are base units of the LP token, as the pair view's
`total_supply`.
"""

from __future__ import annotations

import heapq
import re
import sqlite3
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any, NamedTuple

from dapp.addresses import parse_address, to_checksum_address
from dapp.amm.pair import Pair
from dapp.errors import BadParameter
from dapp.stats.figures import DAY, AccountFigures
from dapp.stats.market import Market, MarketPair, address_parameter
from dapp.stats.numbers import fixed, ratio
from dapp.stats.routes import limit_parameter, time_parameter
from dapp.store import decode_amount

if TYPE_CHECKING:
    from dapp.inspect import Inspector, Query

DEFAULT_ROWS = 100
MAX_POSITIONS = 500
MAX_TOKENS = 500  # tokens read for a wallet's incoming stream rate
MAX_TIME = 2**63 - 1
ORDERS = ("asc", "desc")
ACTIVITY_TYPES = ("swap", "mint", "burn", "stream", "all")
_EVENT_ID = re.compile(r"([0-9]{1,19})-([0-9]{1,19})")


# --- one request's lookups -----------------------------------------------------------------------
@dataclass
class _Reader:
    """The market of one request plus caches of what its rows name (addresses, pairs)."""

    inspector: Inspector
    market: Market
    _names: dict[int, str] = field(default_factory=dict)
    _pairs: dict[int, MarketPair] = field(default_factory=dict)

    @classmethod
    def of(cls, inspector: Inspector) -> _Reader:
        return cls(inspector, inspector.market())

    @property
    def sql(self) -> sqlite3.Connection:
        return self.market.sql

    def name(self, address_id: int) -> str:
        known = self._names.get(address_id)
        if known is None:
            known = to_checksum_address(self.market.store.address_of(address_id))
            self._names[address_id] = known
        return known

    def pair(self, pair_id: int) -> MarketPair:
        known = self._pairs.get(pair_id)
        if known is None:
            known = self.market.pair_by_address(self.market.store.address_of(pair_id))
            self._pairs[pair_id] = known
        return known

    def usd(self, stored: int | str) -> str | None:
        return self.market.usd(decode_amount(stored))


# --- log rows ------------------------------------------------------------------------------------
class SwapRow(NamedTuple):
    id: int
    pair_id: int
    ts: int
    input_index: int
    event_index: int
    stream: int
    account_id: int
    sender_id: int
    to_id: int
    amount0_in: int | str
    amount1_in: int | str
    amount0_out: int | str
    amount1_out: int | str
    reserve0: int | str
    reserve1: int | str
    amount_usd: int | str
    amount_usd_untracked: int | str
    fee_usd: int | str


class LiquidityRow(NamedTuple):
    id: int
    pair_id: int
    ts: int
    input_index: int
    event_index: int
    burn: int
    account_id: int
    sender_id: int
    to_id: int
    amount0: int | str
    amount1: int | str
    liquidity: int | str
    amount_usd: int | str


class StreamRow(NamedTuple):
    id: int
    ts: int
    input_index: int
    event_index: int
    cancelled: int
    stream_id: int
    token_id: int
    sender_id: int
    receiver_id: int
    amount: int | str
    amount_usd: int | str


_COLUMNS = {
    "swap_log": ", ".join(SwapRow._fields),
    "liquidity_log": ", ".join(LiquidityRow._fields),
    "stream_log": ", ".join(StreamRow._fields),
}


def _event_id(row: SwapRow | LiquidityRow | StreamRow) -> str:
    return f"{row.input_index}-{row.event_index}"


# --- query parameters ----------------------------------------------------------------------------
def _account_parameter(query: Query) -> bytes | None:
    text = query.text("account")
    return None if text is None else address_parameter(text, "account")


def _parse_event_id(text: str) -> tuple[int, int]:
    match = _EVENT_ID.fullmatch(text)
    if match is None:
        raise BadParameter(
            f"cursor must be the next_cursor of the previous page (<input>-<event>), got {text!r}"
        )
    return int(match[1]), int(match[2])


def _find_event(sql: sqlite3.Connection, table: str, event: tuple[int, int]) -> tuple[int, int]:
    """(ts, id) of a log's row for an event, by binary search over the ids (they grow with
    (input_index, event_index) within a log); (-1, -1) when the log has no such row."""
    low, high = sql.execute(f"SELECT min(id), max(id) FROM {table}").fetchone()
    if low is None:
        return -1, -1
    while low <= high:
        middle = (low + high) // 2
        row_id, input_index, event_index, ts = sql.execute(
            f"SELECT id, input_index, event_index, ts FROM {table} WHERE id >= ?"
            " ORDER BY id LIMIT 1",
            (middle,),
        ).fetchone()
        if (input_index, event_index) == event:
            return ts, row_id
        if (input_index, event_index) < event:
            low = row_id + 1
        else:
            high = middle - 1
    return -1, -1


def _cursor_in(sql: sqlite3.Connection, tables: tuple[str, ...], text: str) -> tuple[int, int, int]:
    """(ts, input_index, event_index) of the event a cursor names, found in one of `tables`."""
    event = _parse_event_id(text)
    for table in tables:
        ts, _ = _find_event(sql, table, event)
        if ts >= 0:
            return ts, event[0], event[1]
    raise BadParameter(
        f"cursor {text!r} names no event of this list; pass the next_cursor of the previous page"
    )


# --- the event lists (§4.18) ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Listing:
    """What one /swaps, /mints or /burns request asks for."""

    pair: MarketPair | None
    account_id: int | None
    unknown_account: bool  # an account= nobody has used: an empty list
    start: int
    end: int
    limit: int
    descending: bool
    cursor: str | None


def _listing(reader: _Reader, query: Query) -> _Listing:
    pair_text = query.text("pair")
    pair = None if pair_text is None else reader.market.pair(pair_text)
    account = _account_parameter(query)
    account_id = None if account is None else reader.market.store.address_id(account)
    start = time_parameter(query, "start_time", 0)
    end = time_parameter(query, "end_time", MAX_TIME)
    if start > end:
        raise BadParameter(f"start_time ({start}) is after end_time ({end})")
    order = query.text("order") or "desc"
    if order not in ORDERS:
        raise BadParameter(f"order must be asc or desc, got {order!r}")
    return _Listing(
        pair=pair,
        account_id=account_id,
        unknown_account=account is not None and account_id is None,
        start=start,
        end=end,
        limit=limit_parameter(query, DEFAULT_ROWS),
        descending=order == "desc",
        cursor=query.text("cursor"),
    )


def _page(
    reader: _Reader,
    table: str,
    listing: _Listing,
    indexes: tuple[str, str, str],
    extra: tuple[str, ...] = (),
) -> list[tuple[Any, ...]]:
    """Up to limit + 1 rows of a log in (ts, id) order after the cursor. `indexes` are the
    log's (by pair, by account, otherwise) indexes; an account's rows are usually the fewer,
    so with both filters the account's index is walked."""
    if listing.unknown_account:
        return []
    conditions = [*extra, "ts >= ?", "ts <= ?"]
    args: list[int] = [listing.start, listing.end]
    by_pair, by_account, otherwise = indexes
    index = otherwise
    if listing.pair is not None:
        conditions.append("pair_id = ?")
        args.append(listing.pair.pair_id)
        index = by_pair
    if listing.account_id is not None:
        conditions.append("account_id = ?")
        args.append(listing.account_id)
        index = by_account
    if listing.cursor is not None:
        ts, row_id = _find_event(reader.sql, table, _parse_event_id(listing.cursor))
        if row_id < 0:
            raise BadParameter(
                f"cursor {listing.cursor!r} names no row of this list; "
                "pass the next_cursor of the previous page"
            )
        conditions.append(f"(ts, id) {'<' if listing.descending else '>'} (?, ?)")
        args += [ts, row_id]
    direction = "DESC" if listing.descending else "ASC"
    return reader.sql.execute(
        f"SELECT {_COLUMNS[table]} FROM {table} INDEXED BY {index}"
        f" WHERE {' AND '.join(conditions)} ORDER BY ts {direction}, id {direction} LIMIT ?",
        (*args, listing.limit + 1),
    ).fetchall()


def _next_cursor(rows: list[Any], limit: int) -> str | None:
    return _event_id(rows[limit - 1]) if len(rows) > limit else None


def _swap_amounts(reader: _Reader, pair: MarketPair, row: SwapRow) -> dict[str, Any]:
    amounts = {
        "amount0_in": (pair.token0, decode_amount(row.amount0_in)),
        "amount1_in": (pair.token1, decode_amount(row.amount1_in)),
        "amount0_out": (pair.token0, decode_amount(row.amount0_out)),
        "amount1_out": (pair.token1, decode_amount(row.amount1_out)),
    }
    shown: dict[str, Any] = {
        name: reader.market.amount(token, raw) for name, (token, raw) in amounts.items()
    }
    shown.update({f"{name}_raw": str(raw) for name, (_, raw) in amounts.items()})
    return shown


def _swap_trade(pair: MarketPair, row: SwapRow) -> tuple[int, int, bool]:
    amounts = (row.amount0_in, row.amount1_in, row.amount0_out, row.amount1_out)
    return pair.trade(*(decode_amount(amount) for amount in amounts))


def swap_json(reader: _Reader, row: SwapRow) -> dict[str, Any]:
    """A swap as Uniswap's Swap entity; `price` is what the taker got (target per base, fee
    included), `price_after` the pair's mid price after it."""
    pair = reader.pair(row.pair_id)
    base_volume, target_volume, bought = _swap_trade(pair, row)
    execution = reader.market.trade_price(pair, base_volume, target_volume)
    after = reader.market.mid_price(pair, decode_amount(row.reserve0), decode_amount(row.reserve1))
    return {
        "id": _event_id(row),
        "trade_id": row.id,
        "input_index": row.input_index,
        "timestamp": row.ts,
        "pair": to_checksum_address(pair.address),
        "sender": reader.name(row.sender_id),
        "from": reader.name(row.account_id),
        "to": reader.name(row.to_id),
        **_swap_amounts(reader, pair, row),
        "amount_usd": reader.usd(row.amount_usd),
        "amount_usd_untracked": reader.usd(row.amount_usd_untracked),
        "fee_usd": reader.usd(row.fee_usd),
        "price": fixed(execution),
        "price_after": fixed(after),
        "type": "buy" if bought else "sell",
        "kind": "stream" if row.stream else "instant",
    }


def _liquidity_amounts(reader: _Reader, pair: MarketPair, row: LiquidityRow) -> dict[str, Any]:
    amount0, amount1 = decode_amount(row.amount0), decode_amount(row.amount1)
    return {
        "liquidity": str(decode_amount(row.liquidity)),
        "amount0": reader.market.amount(pair.token0, amount0),
        "amount1": reader.market.amount(pair.token1, amount1),
        "amount0_raw": str(amount0),
        "amount1_raw": str(amount1),
        "amount_usd": reader.usd(row.amount_usd),
    }


def liquidity_json(reader: _Reader, row: LiquidityRow) -> dict[str, Any]:
    """A mint or burn as Uniswap's Mint/Burn entity (no protocol fee here: no fee_to)."""
    pair = reader.pair(row.pair_id)
    return {
        "id": _event_id(row),
        "input_index": row.input_index,
        "timestamp": row.ts,
        "pair": to_checksum_address(pair.address),
        "sender": reader.name(row.sender_id),
        "to": reader.name(row.to_id),
        "from": reader.name(row.account_id),
        **_liquidity_amounts(reader, pair, row),
    }


_SWAP_INDEXES = ("swap_log_by_pair", "swap_log_by_account", "swap_log_by_ts")
_LIQUIDITY_INDEXES = ("liquidity_log_by_pair", "liquidity_log_by_account", "liquidity_log_by_kind")


def swaps(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    reader = _Reader.of(inspector)
    listing = _listing(reader, query)
    rows = [SwapRow(*row) for row in _page(reader, "swap_log", listing, _SWAP_INDEXES)]
    return {
        "as_of": reader.market.as_of,
        "rows": [swap_json(reader, row) for row in rows[: listing.limit]],
        "next_cursor": _next_cursor(rows, listing.limit),
    }


def _liquidity_list(inspector: Inspector, query: Query, burn: int) -> dict[str, Any]:
    reader = _Reader.of(inspector)
    listing = _listing(reader, query)
    rows = [
        LiquidityRow(*row)
        for row in _page(reader, "liquidity_log", listing, _LIQUIDITY_INDEXES, (f"burn = {burn}",))
    ]
    return {
        "as_of": reader.market.as_of,
        "rows": [liquidity_json(reader, row) for row in rows[: listing.limit]],
        "next_cursor": _next_cursor(rows, listing.limit),
    }


def mints(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    return _liquidity_list(inspector, query, 0)


def burns(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    return _liquidity_list(inspector, query, 1)


# --- the account's LP positions (§4.19) ----------------------------------------------------------
@dataclass(frozen=True)
class _Position:
    pair: MarketPair
    balance: int
    supply: int
    underlying0: int
    underlying1: int
    value_usd: int | None


def _account_id(reader: _Reader, account: bytes) -> int | None:
    return reader.market.store.address_id(account)


def _positions(reader: _Reader, account: bytes) -> tuple[list[_Position], bool]:
    """The LP tokens the account holds at as_of, in the pairs it provided to or holds LP tokens
    of (a transfer or stream of LP tokens makes a position too, as in Uniswap's subgraph), and
    whether more than MAX_POSITIONS were left out."""
    account_id = _account_id(reader, account)
    if account_id is None:
        return [], False
    rows = reader.sql.execute(
        "SELECT pair_id FROM stat_account_pairs WHERE account_id = :account AND provided = 1"
        " UNION SELECT token_id FROM balances WHERE account_id = :account"
        " AND token_id IN (SELECT pair_id FROM pairs) ORDER BY 1 LIMIT :limit",
        {"account": account_id, "limit": MAX_POSITIONS + 1},
    ).fetchall()
    positions = []
    for (pair_id,) in rows[:MAX_POSITIONS]:
        position = _position(reader, account, reader.pair(pair_id))
        if position is not None:
            positions.append(position)
    return positions, len(rows) > MAX_POSITIONS


def _position(reader: _Reader, account: bytes, pair: MarketPair) -> _Position | None:
    """What a burn of the whole balance would pay at as_of (the pair's stream swaps executed
    up to then, in memory), valued at current prices; None without LP tokens."""
    inspector, market = reader.inspector, reader.market
    balance = inspector.ledger.position(account, pair.address, market.as_of).balance
    if balance <= 0:
        return None
    now = inspector.twamm.peek(
        Pair(pair.address, pair.token0, pair.token1, pair.reserve0, pair.reserve1), market.as_of
    )
    supply = inspector.pairs.total_supply(now)
    underlying0 = balance * now.reserve0 // supply if supply else 0
    underlying1 = balance * now.reserve1 // supply if supply else 0
    value0 = market.pricing.value(pair.token0, underlying0)
    value1 = market.pricing.value(pair.token1, underlying1)
    # an unpriced side counts 0, as in the pair's untracked reserve USD; both unpriced: no value
    value = None if value0 is None and value1 is None else (value0 or 0) + (value1 or 0)
    return _Position(pair, balance, supply, underlying0, underlying1, value)


def _position_json(reader: _Reader, position: _Position) -> dict[str, Any]:
    pair, market = position.pair, reader.market
    return {
        "pair": to_checksum_address(pair.address),
        "lp_balance": str(position.balance),
        "pool_share": fixed(ratio(position.balance, position.supply)),
        "underlying0": market.amount(pair.token0, position.underlying0),
        "underlying1": market.amount(pair.token1, position.underlying1),
        "underlying0_raw": str(position.underlying0),
        "underlying1_raw": str(position.underlying1),
        "value_usd": market.usd(position.value_usd),
    }


def _lp_value(positions: list[_Position]) -> int:
    return sum(position.value_usd or 0 for position in positions)


def _figures(reader: _Reader, account: bytes) -> AccountFigures:
    account_id = _account_id(reader, account)
    row = None
    if account_id is not None:
        row = reader.sql.execute(
            "SELECT data FROM stat_accounts WHERE account_id = ?", (account_id,)
        ).fetchone()
    return AccountFigures() if row is None else AccountFigures.load(row[0])


def account(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    """/accounts/{address}: Uniswap's User with its LiquidityPositions."""
    reader = _Reader.of(inspector)
    address = parse_address(params[0])
    positions, truncated = _positions(reader, address)
    return {
        "address": to_checksum_address(address),
        "as_of": reader.market.as_of,
        "positions": [_position_json(reader, position) for position in positions],
        "positions_truncated": truncated,
        "lp_value_usd": reader.market.usd(_lp_value(positions)),
        "usd_swapped": reader.market.usd(_figures(reader, address).swap_usd),
    }


# --- wallet features (§5) ------------------------------------------------------------------------
def _average(total: int, count: int) -> int | None:
    return total // count if count else None


def _since(as_of: int, ts: int | None) -> int | None:
    return None if ts is None else as_of - ts


def _distinct_counts(reader: _Reader, account: bytes) -> tuple[int, int, int]:
    """(pairs swapped on, pairs provided to, tokens touched): index ranges of one account."""
    account_id = _account_id(reader, account)
    if account_id is None:
        return 0, 0, 0
    swapped, provided = reader.sql.execute(
        "SELECT count(last_swap_ts), coalesce(sum(provided), 0) FROM stat_account_pairs"
        " WHERE account_id = ?",
        (account_id,),
    ).fetchone()
    (tokens,) = reader.sql.execute(
        "SELECT count(*) FROM stat_account_tokens WHERE account_id = ?", (account_id,)
    ).fetchone()
    return int(swapped), int(provided), int(tokens)


def _stream_inflow_per_day(reader: _Reader, account: bytes) -> int:
    """USD per day the account's running incoming streams pay it now, at current prices.

    It stands for Sablier's withdrawable amount (stats-routes §5 `stream_withdrawable_usd`),
    which has no analog here: a receiver's streamed value joins its available balance every
    second, so streamed − withdrawn is always 0. What streams still bring the wallet is told
    by their current rate: one ledger read per token it ever touched (stat_account_tokens)."""
    account_id = _account_id(reader, account)
    if account_id is None:
        return 0
    rows = reader.sql.execute(
        "SELECT address FROM stat_account_tokens JOIN addresses ON id = token_id"
        " WHERE account_id = ? LIMIT ?",
        (account_id, MAX_TOKENS),
    ).fetchall()
    total = 0
    for (address,) in rows:
        token = bytes(address)
        rate = reader.inspector.ledger.position(account, token, reader.market.as_of).inflow_rate
        if rate:
            total += reader.market.pricing.value(token, rate * DAY) or 0
    return total


def _feature_values(reader: _Reader, account: bytes) -> dict[str, tuple[str, int | None]]:
    """Every feature as (kind, value): kind "usd" (fixed point, shown as a string), "count"
    (always an integer) or "never" (an integer, None when the thing never happened)."""
    figures = _figures(reader, account)
    as_of = reader.market.as_of
    positions, _ = _positions(reader, account)
    pairs_swapped, pairs_provided, tokens_touched = _distinct_counts(reader, account)
    trades = figures.buy_count + figures.sell_count
    return {
        "swap_count": ("count", figures.swap_count),
        "swap_volume_usd_sum": ("usd", figures.swap_usd),
        "swap_volume_usd_avg": ("usd", _average(figures.swap_usd, figures.swap_count)),
        "swap_volume_usd_untracked_sum": ("usd", figures.swap_usd_untracked),
        "swap_volume_usd_untracked_avg": (
            "usd",
            _average(figures.swap_usd_untracked, figures.swap_count),
        ),
        "swap_buy_count": ("count", figures.buy_count),
        "swap_sell_count": ("count", figures.sell_count),
        "swap_buy_usd_sum": ("usd", figures.buy_usd),
        "swap_sell_usd_sum": ("usd", figures.sell_usd),
        "swap_net_flow_usd": ("usd", figures.received_usd - figures.paid_usd),
        "lp_fees_paid_usd_sum": ("usd", figures.fees_usd),
        "lp_fees_paid_usd_avg": ("usd", _average(figures.fees_usd, figures.swap_count)),
        "liquidity_add_count": ("count", figures.mint_count),
        "liquidity_added_usd_sum": ("usd", figures.mint_usd),
        "liquidity_remove_count": ("count", figures.burn_count),
        "liquidity_removed_usd_sum": ("usd", figures.burn_usd),
        "liquidity_removed_minus_added_if_positive_usd": (
            "usd",
            max(0, figures.burn_usd - figures.mint_usd),
        ),
        "time_since_first_liquidity_add_s": ("never", _since(as_of, figures.first_mint_ts)),
        "first_action_timestamp": ("never", figures.first_ts),
        "last_action_timestamp": ("never", figures.last_ts),
        "time_since_first_action_s": ("never", _since(as_of, figures.first_ts)),
        "time_since_last_action_s": ("never", _since(as_of, figures.last_ts)),
        "stream_in_count": ("count", figures.stream_in_count),
        "stream_out_count": ("count", figures.stream_out_count),
        "net_stream_count": ("count", figures.stream_in_count - figures.stream_out_count),
        "stream_in_deposit_usd_sum": ("usd", figures.stream_in_usd),
        "stream_in_deposit_usd_avg": (
            "usd",
            _average(figures.stream_in_usd, figures.stream_in_count),
        ),
        "stream_out_deposit_usd_sum": ("usd", figures.stream_out_usd),
        "stream_out_deposit_usd_avg": (
            "usd",
            _average(figures.stream_out_usd, figures.stream_out_count),
        ),
        "streams_cancelled_count": ("count", figures.cancel_count),
        "streams_cancelled_against_count": ("count", figures.cancelled_against_count),
        "time_since_last_stream_cancel_s": ("never", _since(as_of, figures.last_cancel_ts)),
        "stream_cancel_refund_usd_sum": ("usd", figures.cancel_refund_usd),
        "lp_value_usd": ("usd", _lp_value(positions)),
        "stream_inflow_usd_per_day": ("usd", _stream_inflow_per_day(reader, account)),
        "unique_pairs_swapped": ("count", pairs_swapped),
        "unique_pairs_lp": ("count", pairs_provided),
        "unique_tokens_touched": ("count", tokens_touched),
        "max_price_impact_bps": (
            "never",
            figures.max_impact_bps if figures.swap_count else None,
        ),
        "avg_trade_size_usd": ("usd", _average(figures.swap_usd, trades)),
        "active_days_count": ("count", figures.active_days),
        "stream_swap_count": ("count", figures.stream_swap_count),
        "stream_swap_usd_sum": ("usd", figures.stream_swap_usd),
    }


def features(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    """/accounts/{address}/features: Spectral's wallet features translated (stats-routes §5).

    Counts are of inputs for swap_count (a multi-hop swap is one) and of Swap events for the
    buy/sell split; `swap_volume_usd_avg` and `lp_fees_paid_usd_avg` are per swap input,
    `avg_trade_size_usd` per Swap event (per hop). A feature of something that never happened
    (a time, a timestamp, the largest price impact of no swap) is null, or the integer given as
    `sentinel=` (Spectral uses 999999999); an average of nothing is null."""
    reader = _Reader.of(inspector)
    address = parse_address(params[0])
    sentinel_text = query.text("sentinel")
    sentinel = None if sentinel_text is None else query.integer("sentinel", 0, MAX_TIME)
    shown: dict[str, Any] = {}
    for name, (kind, value) in _feature_values(reader, address).items():
        if kind == "usd":
            shown[name] = reader.market.usd(value)
        elif kind == "never" and value is None:
            shown[name] = sentinel
        else:
            shown[name] = value
    return {
        "address": to_checksum_address(address),
        "as_of": reader.market.as_of,
        "unit": "usd",
        "features": shown,
    }


# --- the account's history (§4.21) ---------------------------------------------------------------
_Row = SwapRow | LiquidityRow | StreamRow


@dataclass(frozen=True)
class _Source:
    """One log read for an account's history: which rows, through which index."""

    table: str
    index: str
    column: str
    extra: str = ""


def _sources(kind: str) -> list[_Source]:
    swap = _Source("swap_log", "swap_log_by_account", "account_id")
    mint = _Source("liquidity_log", "liquidity_log_by_account", "account_id", " AND burn = 0")
    burn = _Source("liquidity_log", "liquidity_log_by_account", "account_id", " AND burn = 1")
    liquidity = _Source("liquidity_log", "liquidity_log_by_account", "account_id")
    streams = [
        _Source("stream_log", "stream_log_by_sender", "sender_id"),
        _Source("stream_log", "stream_log_by_receiver", "receiver_id"),
    ]
    chosen = {
        "swap": [swap],
        "mint": [mint],
        "burn": [burn],
        "stream": streams,
        "all": [swap, liquidity, *streams],
    }
    return chosen[kind]


_ROW_TYPES: dict[str, type[_Row]] = {
    "swap_log": SwapRow,
    "liquidity_log": LiquidityRow,
    "stream_log": StreamRow,
}


def _key(row: _Row) -> tuple[int, int, int]:
    return row.ts, row.input_index, row.event_index


def _history(
    reader: _Reader,
    account_id: int,
    sources: list[_Source],
    before: tuple[int, int, int] | None,
    limit: int,
) -> list[_Row]:
    """The newest `limit` + 1 rows of the sources after the cursor, merged newest first: each
    source is read newest first through its index, so a merge of their heads is enough."""
    runs: list[list[_Row]] = []
    for source in sources:
        condition, args = "", [account_id]
        if before is not None:  # `ts <= ?` bounds the index range; the rest is a few rows
            condition = " AND ts <= ? AND (ts, input_index, event_index) < (?, ?, ?)"
            args += [before[0], *before]
        row_type = _ROW_TYPES[source.table]
        runs.append(
            [
                row_type(*row)
                for row in reader.sql.execute(
                    f"SELECT {_COLUMNS[source.table]} FROM {source.table}"
                    f" INDEXED BY {source.index} WHERE {source.column} = ?{source.extra}"
                    f"{condition} ORDER BY ts DESC, id DESC LIMIT ?",
                    (*args, limit + 1),
                )
            ]
        )
    # the sender and receiver reads never share a row: the ledger refuses a stream to oneself
    return list(islice(heapq.merge(*runs, key=_key, reverse=True), limit + 1))


def _activity_json(reader: _Reader, account_id: int | None, row: _Row) -> dict[str, Any]:
    head = {"event_id": _event_id(row)}
    if isinstance(row, SwapRow):
        pair = reader.pair(row.pair_id)
        return {
            **head,
            "kind": "swap",
            "timestamp": row.ts,
            "input_index": row.input_index,
            "pair": to_checksum_address(pair.address),
            "type": "buy" if _swap_trade(pair, row)[2] else "sell",
            **_swap_amounts(reader, pair, row),
            "amount_usd": reader.usd(row.amount_usd),
        }
    if isinstance(row, LiquidityRow):
        pair = reader.pair(row.pair_id)
        return {
            **head,
            "kind": "burn" if row.burn else "mint",
            "timestamp": row.ts,
            "input_index": row.input_index,
            "pair": to_checksum_address(pair.address),
            **_liquidity_amounts(reader, pair, row),
        }
    token = reader.market.store.address_of(row.token_id)
    amount = decode_amount(row.amount)
    label = "refunded" if row.cancelled else "amount"  # what went back, or the deposit
    return {
        **head,
        "kind": "stream_cancelled" if row.cancelled else "stream_created",
        "timestamp": row.ts,
        "input_index": row.input_index,
        "stream_id": row.stream_id,
        "direction": "out" if row.sender_id == account_id else "in",
        "token": to_checksum_address(token),
        "sender": reader.name(row.sender_id),
        "receiver": reader.name(row.receiver_id),
        label: reader.market.amount(token, amount),
        f"{label}_raw": str(amount),
        "amount_usd": reader.usd(row.amount_usd),
    }


def activity(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    """/accounts/{address}/activity: the account's swaps, mints, burns and streams (as sender
    or receiver), newest first; `cursor` is the event_id of the last row of the previous page."""
    reader = _Reader.of(inspector)
    address = parse_address(params[0])
    kind = query.text("type") or "all"
    if kind not in ACTIVITY_TYPES:
        raise BadParameter(f"type must be one of {', '.join(ACTIVITY_TYPES)}, got {kind!r}")
    limit = limit_parameter(query, DEFAULT_ROWS)
    cursor = query.text("cursor")
    sources = _sources(kind)
    before = None
    if cursor is not None:
        tables = tuple(dict.fromkeys(source.table for source in sources))
        before = _cursor_in(reader.sql, tables, cursor)
    account_id = _account_id(reader, address)
    rows = [] if account_id is None else _history(reader, account_id, sources, before, limit)
    return {
        "address": to_checksum_address(address),
        "as_of": reader.market.as_of,
        "rows": [_activity_json(reader, account_id, row) for row in rows[:limit]],
        "next_cursor": _next_cursor(rows, limit),
    }


ROUTES: list[tuple[tuple[str, ...], Any]] = [
    (("swaps",), swaps),
    (("mints",), mints),
    (("burns",), burns),
    (("accounts", "{address}"), account),
    (("accounts", "{address}", "features"), features),
    (("accounts", "{address}", "activity"), activity),
]
