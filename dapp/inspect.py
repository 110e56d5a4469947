"""Inspect: a small URL router over a read-only connection (PROTOCOL §5 core routes).

The inspector owns its own `Store` opened with `mode=ro`, so a route that tried to write would
fail inside SQLite. Every answer is one JSON document; amounts are decimal strings. Balances and
streams are read at `at=` (seconds), by default the time of the last accepted input; lists are
paged with `limit=` and `cursor=` (the last id of the previous page) so no answer grows with the
size of the state.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from dapp.addresses import ZERO_ADDRESS, parse_address, to_checksum_address
from dapp.amm.pair import Pairs
from dapp.amm.router import Router
from dapp.amm.twamm import Order, Twamm
from dapp.codec import encode_json, error_payload
from dapp.errors import (
    BadParameter,
    BadPayload,
    InternalError,
    StreamdexError,
    UnknownRoute,
)
from dapp.events import Event
from dapp.ledger import MAX_TIMESTAMP, UINT256_MAX, Ledger, Position, Stream
from dapp.stats import activity, arbitrage, exchanges, openapi
from dapp.stats import routes as stats_routes
from dapp.stats.config import MarketConfig
from dapp.stats.market import Market
from dapp.store import SCHEMA_VERSION, Store, decode_amount

DEFAULT_PAGE = 100
MAX_PAGE = 1000
STREAM_STATUSES = ("pending", "active", "ended", "cancelled")

_STATUS_SQL = {
    "cancelled": "cancelled_at IS NOT NULL AND cancelled_at <= :at",
    "ended": "(cancelled_at IS NULL OR cancelled_at > :at) AND start + duration <= :at",
    "active": "(cancelled_at IS NULL OR cancelled_at > :at) AND start <= :at"
    " AND start + duration > :at",
    "pending": "(cancelled_at IS NULL OR cancelled_at > :at) AND start > :at",
}


class Query:
    """The query string of one request; names a route does not read are refused."""

    def __init__(self, text: str) -> None:
        try:
            pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
        except ValueError:
            raise BadParameter(f"the query string {text!r} is malformed") from None
        self._values: dict[str, str] = {}
        for name, value in pairs:
            if name in self._values:
                raise BadParameter(f"the parameter {name} is given twice")
            self._values[name] = value
        self._read: set[str] = set()

    def text(self, name: str) -> str | None:
        self._read.add(name)
        return self._values.get(name)

    def integer(self, name: str, default: int, maximum: int) -> int:
        value = self.text(name)
        if value is None:
            return default
        if not value.isascii() or not value.isdigit() or len(value) > 80 or int(value) > maximum:
            raise BadParameter(f"{name} must be an integer from 0 to {maximum}, got {value!r}")
        return int(value)

    def address(self, name: str) -> bytes | None:
        value = self.text(name)
        return None if value is None else parse_address(value)

    def check_all_read(self) -> None:
        unknown = sorted(self._values.keys() - self._read)
        if unknown:
            raise BadParameter(f"this route takes no parameter {', '.join(unknown)}")


Route = Callable[["Inspector", list[str], Query], dict[str, Any]]


class Inspector:
    """Answers inspect paths from a read-only store."""

    def __init__(self, store: Store, market: MarketConfig | None = None) -> None:
        if not store.read_only:
            raise ValueError("the inspector must read through a read-only store")
        self.store = store
        self.market_config = market or MarketConfig()
        self.sql = store.connection
        nothing: list[Event] = []  # reads append no events; a write would fail in SQLite anyway
        self.ledger = Ledger(store, nothing)
        self.pairs = Pairs(store, self.ledger, nothing)
        self.twamm = Twamm(store, self.ledger, self.pairs, nothing)
        self.router = Router(self.pairs, self.ledger, self.twamm)

    def close(self) -> None:
        self.store.close()

    def answer(self, payload: bytes) -> bytes:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            return error_payload(BadPayload.code, "an inspect payload is a UTF-8 URL path")
        try:
            with self.store.transaction():  # one snapshot for the whole answer
                return encode_json(self._route(text))
        except StreamdexError as err:
            return error_payload(err.code, str(err))
        except Exception as err:  # a bug must not take the loop down
            return error_payload(
                InternalError.code, f"streamdex failed on this request ({type(err).__name__})"
            )

    def _route(self, text: str) -> dict[str, Any]:
        split = urllib.parse.urlsplit(text)
        segments = [urllib.parse.unquote(part) for part in split.path.strip("/").split("/")]
        query = Query(split.query)
        for pattern, route in ROUTES:
            if len(pattern) == len(segments) and all(
                p.startswith("{") or p == s for p, s in zip(pattern, segments, strict=True)
            ):
                params = [s for p, s in zip(pattern, segments, strict=True) if p.startswith("{")]
                answer = route(self, params, query)
                query.check_all_read()
                return answer
        raise UnknownRoute(
            f"no route {split.path!r}; the routes are "
            + ", ".join("/" + "/".join(pattern) for pattern, _ in ROUTES)
        )

    # --- shared reads ---------------------------------------------------------------------------
    def at(self, query: Query) -> int:
        last = self.store.progress().last_timestamp
        return query.integer("at", last, MAX_TIMESTAMP)

    def page(self, query: Query) -> tuple[int, int]:
        """(limit, cursor): up to `limit` items with ids above `cursor`."""
        return (
            max(1, query.integer("limit", DEFAULT_PAGE, MAX_PAGE)),
            query.integer("cursor", 0, 2**63 - 1),
        )

    def address_id(self, address: bytes) -> int | None:
        return self.store.address_id(address)

    def market(self) -> Market:
        """The market statistics of this request's snapshot (prices computed once per request)."""
        return Market(self.store, self.market_config)


# --- routes ------------------------------------------------------------------------------------
def health(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    progress = inspector.store.progress()
    return {
        "status": "ok",
        "last_input_index": progress.last_input_index,
        "last_timestamp": progress.last_timestamp,
        "schema_version": SCHEMA_VERSION,
    }


def balance(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    account = parse_address(params[0])
    token = query.address("token")
    if token is None:
        raise BadParameter("/balance needs token=0x… (use /balances for every token)")
    at = inspector.at(query)
    return {
        "account": to_checksum_address(account),
        "token": to_checksum_address(token),
        **_holding_json(inspector, account, token, at),
        "at": at,
    }


def balances(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    account = parse_address(params[0])
    at = inspector.at(query)
    account_id = inspector.address_id(account)
    tokens: list[bytes] = []
    if account_id is not None:
        rows = inspector.sql.execute(
            "SELECT address FROM addresses WHERE id IN ("
            " SELECT token_id FROM balances WHERE account_id = :account"
            " UNION SELECT token_id FROM rate_changes WHERE account_id = :account"
            " UNION SELECT CASE sells_token0 WHEN 1 THEN token1_id ELSE token0_id END"
            " FROM swap_orders JOIN pairs USING (pair_id)"
            " WHERE recipient_id = :account AND settled = 0)"
            " ORDER BY address",
            {"account": account_id},
        )
        tokens = [bytes(row[0]) for row in rows]
    return {
        "account": to_checksum_address(account),
        "at": at,
        "balances": [
            {"token": to_checksum_address(token), **_holding_json(inspector, account, token, at)}
            for token in tokens
        ],
    }


def streams(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    account = parse_address(params[0])
    token = query.address("token")
    status = query.text("status")
    if status is not None and status not in STREAM_STATUSES:
        raise BadParameter(f"status must be one of {', '.join(STREAM_STATUSES)}, got {status!r}")
    at = inspector.at(query)
    limit, cursor = inspector.page(query)
    account_id = inspector.address_id(account)
    token_id = None if token is None else inspector.address_id(token)
    found: list[tuple[int, str]] = []
    if account_id is not None and (token is None or token_id is not None):
        conditions = ["id > :cursor"]
        if token_id is not None:
            conditions.append("token_id = :token")
        if status is not None:
            conditions.append(_STATUS_SQL[status])
        where = " AND ".join(conditions)
        values = {"account": account_id, "token": token_id, "cursor": cursor, "at": at}
        for side, direction in (("sender_id", "out"), ("receiver_id", "in")):
            rows = inspector.sql.execute(
                f"SELECT id FROM streams WHERE {side} = :account AND {where}"
                f" ORDER BY id LIMIT {limit + 1}",
                values,
            )
            found.extend((row[0], direction) for row in rows)
    found.sort()
    page = found[:limit]
    return {
        "account": to_checksum_address(account),
        "at": at,
        "streams": [
            {"direction": direction, **_stream_json(inspector.ledger.stream(stream_id), at)}
            for stream_id, direction in page
        ],
        "next_cursor": page[-1][0] if len(found) > limit else None,
    }


def stream(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    stream_id = _id(params[0], "stream id")
    at = inspector.at(query)
    return {**_stream_json(inspector.ledger.stream(stream_id), at), "at": at}


def swap(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    order = inspector.twamm.order(_id(params[0], "swap id"))
    at = inspector.at(query)
    return {**_order_json(inspector, order, at), "at": at}


def pairs(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    limit, cursor = inspector.page(query)
    at = inspector.at(query)
    market = inspector.market()
    rows = inspector.sql.execute(
        "SELECT pair_id FROM pairs WHERE pair_id > ? ORDER BY pair_id LIMIT ?",
        (cursor, limit + 1),
    ).fetchall()
    page = rows[:limit]
    return {
        "pairs": [
            stats_routes.pair_view(
                inspector,
                market,
                market.pair_by_address(inspector.store.address_of(row[0])),
                at,
            )
            for row in page
        ],
        "next_cursor": page[-1][0] if len(rows) > limit else None,
        "at": at,
    }


def pair(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    token_a, token_b = parse_address(params[0]), parse_address(params[1])
    at = inspector.at(query)
    stored = inspector.pairs.get(token_a, token_b)
    market = inspector.market()
    return stats_routes.pair_view(inspector, market, market.pair_by_address(stored.address), at)


def quote(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    path_text = query.text("path")
    if not path_text:
        raise BadParameter("/quote needs path=0x…,0x… (two or more tokens)")
    path = [parse_address(token) for token in path_text.split(",")]
    amount_in, amount_out = query.text("amount_in"), query.text("amount_out")
    if (amount_in is None) == (amount_out is None):
        raise BadParameter("/quote needs exactly one of amount_in and amount_out")
    at = inspector.at(query)
    if amount_in is not None:
        amounts = inspector.router.get_amounts_out(_amount(amount_in, "amount_in"), path, at)
    else:
        assert amount_out is not None
        amounts = inspector.router.get_amounts_in(_amount(amount_out, "amount_out"), path, at)
    return {
        "path": [to_checksum_address(token) for token in path],
        "amounts": [str(a) for a in amounts],
        "amount_in": str(amounts[0]),
        "amount_out": str(amounts[-1]),
        "at": at,
    }


def tokens(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    limit, cursor = inspector.page(query)
    rows = inspector.sql.execute(
        "SELECT token_id, address, supply, holders, volume FROM tokens"
        " JOIN addresses ON id = token_id WHERE token_id > ? ORDER BY token_id LIMIT ?",
        (cursor, limit + 1),
    ).fetchall()
    page = rows[:limit]
    return {
        "tokens": [_token_json(inspector, bytes(row[1]), row[2:]) for row in page],
        "next_cursor": page[-1][0] if len(rows) > limit else None,
    }


def token(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    address = parse_address(params[0])
    token_id = inspector.address_id(address)
    row = None
    if token_id is not None:
        row = inspector.sql.execute(
            "SELECT supply, holders, volume FROM tokens WHERE token_id = ?", (token_id,)
        ).fetchone()
    return _token_json(inspector, address, (0, 0, 0) if row is None else row)


ROUTES: list[tuple[tuple[str, ...], Route]] = [
    (("health",), health),
    (("balance", "{account}"), balance),
    (("balances", "{account}"), balances),
    (("streams", "{account}"), streams),
    (("stream", "{id}"), stream),
    (("swap", "{id}"), swap),
    (("pairs",), pairs),
    (("pair", "{token_a}", "{token_b}"), pair),
    (("quote",), quote),
    (("tokens",), tokens),
    (("token", "{address}"), token),
    *stats_routes.ROUTES,
    *arbitrage.ROUTES,
    *exchanges.ROUTES,
    *activity.ROUTES,
    *openapi.ROUTES,
]


# --- JSON shapes -------------------------------------------------------------------------------
def _holding_json(inspector: Inspector, account: bytes, token: bytes, at: int) -> dict[str, str]:
    """A holding at `at`: the ledger position plus what stream swaps earned and have not paid
    yet, which counts as streamed in (PROTOCOL §4.1)."""
    position: Position = inspector.ledger.position(account, token, at)
    unpaid = inspector.twamm.unpaid_proceeds(account, token, at)
    moved = inspector.twamm.unexecuted_change(account, token, at)  # pairs and order pools
    return {
        "balance": str(position.balance + unpaid + moved),
        "available": str(position.available + unpaid + moved),
        "escrow": str(position.escrow),
        "inflow_rate": str(position.inflow_rate),
        "outflow_rate": str(position.outflow_rate),
        "stream_swap_proceeds": str(unpaid),
    }


def _stream_json(found: Stream, at: int) -> dict[str, Any]:
    streamed = found.streamed_at(at)
    return {
        "stream_id": found.id,
        "token": to_checksum_address(found.token),
        "sender": to_checksum_address(found.sender),
        "receiver": to_checksum_address(found.receiver),
        "amount": str(found.amount),
        "rate": str(found.rate),
        "start": found.start,
        "duration": found.duration,
        "end": found.end,
        "cancelled_at": found.cancelled_at,
        "status": found.status_at(at),
        "streamed": str(streamed),
        # a cancelled stream has nothing left to stream from its cancellation on
        "remaining": str(
            0
            if found.cancelled_at is not None and at >= found.cancelled_at
            else found.amount - streamed
        ),
    }


def _order_json(inspector: Inspector, order: Order, at: int) -> dict[str, Any]:
    progress = inspector.twamm.progress(order, at)
    return {
        "swap_id": order.id,
        "pair": to_checksum_address(order.pair),
        "trader": to_checksum_address(order.trader),
        "to": to_checksum_address(order.recipient),
        "token_in": to_checksum_address(order.token_in),
        "token_out": to_checksum_address(order.token_out),
        "amount_in": str(order.amount_in),
        "sale_rate": str(order.sale_rate),
        "start": order.start,
        "duration": order.duration,
        "end": order.end,
        "cancelled_at": order.cancelled_at,
        "status": progress.status,
        "sold": str(progress.sold),
        "bought": str(progress.bought),
        "unpaid": str(progress.unpaid),
    }


def _token_json(inspector: Inspector, address: bytes, row: Any) -> dict[str, Any]:
    supply, holders, volume = row
    kind = (
        "ether"
        if address == ZERO_ADDRESS
        else "lp"
        if inspector.ledger.is_pair(address)
        else "erc20"
    )
    return {
        "token": to_checksum_address(address),
        "kind": kind,
        "supply": str(decode_amount(supply)),
        "holders": holders,
        "volume": str(decode_amount(volume)),
    }


_DIGITS = re.compile(r"[0-9]{1,78}")


def _amount(text: str, name: str) -> int:
    if _DIGITS.fullmatch(text) is None or int(text) > UINT256_MAX:
        raise BadParameter(f"{name} must be a decimal integer from 0 to 2**256 - 1, got {text!r}")
    return int(text)


def _id(text: str, name: str) -> int:
    if _DIGITS.fullmatch(text) is None or int(text) > 2**63 - 1:
        raise BadParameter(f"the {name} must be a decimal integer, got {text!r}")
    return int(text)
