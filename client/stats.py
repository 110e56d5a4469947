"""`python -m client stats …`: the market statistics (stats-routes §4) as plain-text tables.

    python -m client stats tickers                     # every pair's last 24 hours
    python -m client stats pair USDC/CTSI --window 7d  # the pair and its window figures
    python -m client stats candles USDC/CTSI --interval 1d --limit 30
    python -m client stats account [0x…]               # LP positions and wallet features
    python -m client stats pair USDC/CTSI --json       # the exact answers instead

A pair is its address, its ticker_id (`0xbase_0xtarget`) or two token symbols `A/B` (resolved
like every other client command, then through `/pair/{a}/{b}`). The API's numbers are exact
decimal strings; the tables cut their decimals to at most 6 significant digits (rounded toward
zero, as the API rounds), `--json` prints them whole. Prices are target per base (CoinGecko's
orientation), times are UTC.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from client.api import ETHER, ClientError

SHOWN_DECIMALS = 6
WINDOWS = ("1h", "24h", "7d", "30d", "all")
INTERVALS = ("1h", "1d")
ALL_PAIRS = "/pairs?limit=1000"  # every pair's view (tokens with their symbols) in one inspect
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_TIME_KEYS = {"as_of", "from", "at", "period_start"}


class Source(Protocol):
    """What the stats commands need of a `Client` (tests give a fake one)."""

    @property
    def account(self) -> str: ...

    @property
    def devnet(self) -> dict[str, Any]: ...

    def inspect(self, path: str) -> Any: ...

    def token_address(self, token: str) -> str: ...


# --- cells ---------------------------------------------------------------------------------------
def short(text: str, decimals: int = SHOWN_DECIMALS) -> str:
    """A decimal string with at most `decimals` significant fraction digits (the zeros that lead
    a fraction below 1 do not count), cut toward zero; anything else unchanged."""
    if _NUMBER.fullmatch(text) is None or "." not in text:
        return text
    whole, fraction = text.split(".")
    leading = len(fraction) - len(fraction.lstrip("0")) if whole.lstrip("-") == "0" else 0
    kept = fraction[: leading + decimals].rstrip("0")
    if kept:
        return f"{whole}.{kept}"
    return "0" if whole == "-0" else whole


def utc(seconds: int) -> str:
    """Seconds since the epoch as ISO 8601 UTC, e.g. 2024-05-29T16:00:00Z."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def cell(value: Any) -> str:
    """One value as shown: null as "-", numbers shortened, nested values as compact JSON."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return short(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def is_time_key(key: str) -> bool:
    return key in _TIME_KEYS or key.endswith("_timestamp")


def keyed_cell(key: str, value: Any) -> str:
    """A value shown by what its key says it is: seconds since the epoch become UTC times."""
    if is_time_key(key) and isinstance(value, int) and not isinstance(value, bool):
        return utc(value)
    return cell(value)


def is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None


# --- layout --------------------------------------------------------------------------------------
def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned columns two spaces apart under a ruled header; a column of numbers (and "-")
    aligns right, any other left."""
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(text)) for width, text in zip(widths, row, strict=True)]
    numeric = [
        bool(rows) and all(is_number(row[i]) or row[i] == "-" for row in rows)
        for i in range(len(headers))
    ]

    def line(texts: Sequence[str]) -> str:
        cells = [
            text.rjust(width) if right else text.ljust(width)
            for text, width, right in zip(texts, widths, numeric, strict=True)
        ]
        return "  ".join(cells).rstrip()

    lines = [line(headers), line(["-" * width for width in widths])]
    lines += [line(row) for row in rows] or ["(none)"]
    return "\n".join(lines)


def key_values(items: Iterable[tuple[str, str]]) -> str:
    """One `key  value` line each, the values in one column."""
    listed = list(items)
    width = max((len(key) for key, _ in listed), default=0)
    return "\n".join(f"{key.ljust(width)}  {value}".rstrip() for key, value in listed)


# --- names ---------------------------------------------------------------------------------------
def short_address(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if len(address) == 42 else address


@dataclass
class Names:
    """Token symbols and pairs' tokens by lowercase address, from the devnet's token list and
    the pair views (`/pairs`, `/pair/{a}/{b}`, `/pairs/{pair}`)."""

    symbols: dict[str, str] = field(default_factory=dict)
    pair_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, devnet_tokens: dict[str, str], views: Iterable[dict[str, Any]] = ()) -> Names:
        names = cls({ETHER: "ETH"} | {a.lower(): s for s, a in devnet_tokens.items()})
        for view in views:
            names.add_view(view)
        return names

    def add_view(self, view: dict[str, Any]) -> None:
        tokens = []
        for side in ("token0", "token1"):
            token = view.get(side)
            if not isinstance(token, dict):
                return
            tokens.append(str(token["id"]).lower())
            if token.get("symbol"):
                self.symbols[tokens[-1]] = str(token["symbol"])
        self.pair_tokens[str(view["id"]).lower()] = (tokens[0], tokens[1])

    def token(self, address: str) -> str:
        return self.symbols.get(address.lower()) or short_address(address)

    def pair(self, first: str, second: str) -> str:
        return f"{self.token(first)}/{self.token(second)}"

    def pool(self, address: str) -> str:
        """A pair by its tokens in the pair's order (token0/token1), else its short address."""
        tokens = self.pair_tokens.get(address.lower())
        return short_address(address) if tokens is None else self.pair(*tokens)


def orientation(view: dict[str, Any], names: Names) -> tuple[str, str, str, str]:
    """(token0, token1, base, target) symbols of a pair view."""
    return (
        names.token(view["token0"]["id"]),
        names.token(view["token1"]["id"]),
        names.token(view.get("base") or view["token0"]["id"]),
        names.token(view.get("target") or view["token1"]["id"]),
    )


# --- tables of answers (pure) --------------------------------------------------------------------
TICKER_COLUMNS = (
    "last_price",
    "bid",
    "ask",
    "high",
    "low",
    "base_volume",
    "target_volume",
    "liquidity_in_usd",
)


def tickers_table(tickers: list[dict[str, Any]], names: Names) -> str:
    """/coingecko/tickers: one row per pair, named BASE/TARGET; prices are target per base."""
    rows = [
        [
            names.pair(ticker["base_currency"], ticker["target_currency"]),
            *(cell(ticker.get(column)) for column in TICKER_COLUMNS),
            ticker["pool_id"],
        ]
        for ticker in tickers
    ]
    title = "24h tickers (prices: target per base; base/target volume in each token)"
    return f"{title}\n{table(['pair', *TICKER_COLUMNS, 'pool_id'], rows)}"


def _labelled(key: str, symbols: tuple[str, str, str, str]) -> str:
    """A key with the unit its name implies: token0/1, base/target, or a price's orientation."""
    token0, token1, base, target = symbols
    if key.startswith("price_") and not key.endswith("_pct"):
        return f"{key} ({target} per {base})"
    units = (("token0", token0), ("token1", token1), ("base", base), ("target", target))
    for part, symbol in units:
        if key.endswith(part) or f"_{part}_" in key:
            return f"{key} ({symbol})"
    return key


def _token_line(token: dict[str, Any]) -> str:
    described = ", ".join(
        str(part)
        for part in (token.get("name"), token.get("decimals") and f"{token['decimals']} decimals")
        if part
    )
    symbol = token.get("symbol") or "?"
    return f"{symbol} {token['id']}" + (f" ({described})" if described else "")


def _view_items(view: dict[str, Any], symbols: tuple[str, str, str, str]) -> list[tuple[str, str]]:
    token0, token1, base, target = symbols
    items = []
    for key, value in view.items():
        if key in ("token0", "token1") and isinstance(value, dict):
            items.append((key, _token_line(value)))
        elif key == "token0_price":  # Uniswap's naming: reserve0/reserve1
            items.append((f"{key} ({token0} per {token1})", cell(value)))
        elif key == "token1_price":
            items.append((f"{key} ({token1} per {token0})", cell(value)))
        elif key in ("reserve0", "reserve0_raw"):
            items.append((f"{key} ({token0})", cell(value)))
        elif key in ("reserve1", "reserve1_raw"):
            items.append((f"{key} ({token1})", cell(value)))
        elif key in ("base", "target"):
            items.append((key, f"{base if key == 'base' else target} {value}"))
        elif isinstance(value, dict):
            items += [(f"{key}.{inner}", cell(item)) for inner, item in value.items()]
        else:
            items.append((_labelled(key, symbols), keyed_cell(key, value)))
    return items


def pair_table(view: dict[str, Any], stats: dict[str, Any], names: Names) -> str:
    """The pair view (reserves, prices, lifetime figures) and its window's statistics."""
    names.add_view(view)
    symbols = orientation(view, names)
    window = [
        (_labelled(key, symbols), keyed_cell(key, value))
        for key, value in stats.items()
        if key not in ("pair", "window")
    ]
    return "\n\n".join(
        [
            f"{symbols[2]}/{symbols[3]} pair {view['id']}",
            key_values(_view_items(view, symbols)),
            f"window {stats.get('window', '?')}",
            key_values(window),
        ]
    )


CANDLE_COLUMNS = ("open", "high", "low", "close", "volume_usd", "swap_count")


def candles_table(candles: dict[str, Any], view: dict[str, Any], names: Names) -> str:
    """/pairs/{pair}/candles: one row per period with activity, oldest first."""
    names.add_view(view)
    _, _, base, target = orientation(view, names)
    rows = [
        [utc(int(row["period_start"])), *(cell(row.get(column)) for column in CANDLE_COLUMNS)]
        for row in candles["rows"]
    ]
    title = (
        f"{base}/{target} {candles.get('interval', '')} candles"
        f" (prices: {target} per {base}; periods start at UTC)"
    )
    text = f"{title}\n{table(['period_start', *CANDLE_COLUMNS], rows)}"
    if candles.get("next_cursor") is not None:
        text += f"\nmore periods follow: --cursor {candles['next_cursor']}"
    return text


POSITION_COLUMNS = ("lp_balance", "pool_share", "underlying0", "underlying1", "value_usd")


def account_tables(account: dict[str, Any], features: dict[str, Any], names: Names) -> str:
    """/accounts/{a}: LP positions (a pair as token0/token1, its underlying amounts in that
    order) and totals; /accounts/{a}/features: the wallet features."""
    rows = [
        [
            names.pool(position["pair"]),
            *(cell(position.get(column)) for column in POSITION_COLUMNS),
            position["pair"],
        ]
        for position in account.get("positions", [])
    ]
    totals = [
        (key, keyed_cell(key, value))
        for key, value in account.items()
        if key not in ("address", "positions")
    ]
    shown = features.get("features", {})
    listed = [(key, keyed_cell(key, value)) for key, value in shown.items()]
    return "\n\n".join(
        [
            f"account {account.get('address', features.get('address', '?'))}",
            "liquidity positions\n" + table(["pair", *POSITION_COLUMNS, "pair_address"], rows),
            key_values(totals),
            f"features (unit: {features.get('unit', 'usd')})\n" + key_values(listed),
        ]
    )


# --- reading the answers -------------------------------------------------------------------------
def answer(source: Source, path: str) -> Any:
    """The route's answer; an error answer {"error", "message"} becomes a ClientError."""
    found = source.inspect(path)
    if isinstance(found, dict) and "error" in found:
        raise ClientError(f"{found['error']}: {found.get('message', '')}")
    return found


def pair_view(source: Source, text: str) -> dict[str, Any]:
    """The pair view of PAIR: `A/B` by token symbols or addresses, else an address or ticker_id."""
    first, slash, second = text.partition("/")
    if slash:
        if not first or not second or "/" in second:
            raise ClientError(f"a pair is A/B, an address or a ticker_id, not {text!r}")
        tokens = source.token_address(first), source.token_address(second)
        view: dict[str, Any] = answer(source, f"/pair/{tokens[0]}/{tokens[1]}")
        return view
    found: dict[str, Any] = answer(source, f"/pairs/{text}")
    return found


def names_of(source: Source, views: Iterable[dict[str, Any]] = ()) -> Names:
    return Names.of(source.devnet.get("tokens", {}), views)


def _query(**values: object) -> str:
    given = [f"{name}={value}" for name, value in values.items() if value is not None]
    return "?" + "&".join(given) if given else ""


def show_tickers(source: Source, as_json: bool) -> str:
    tickers = answer(source, "/coingecko/tickers")
    if as_json:
        return json.dumps(tickers, indent=2)
    every_pair = answer(source, ALL_PAIRS)["pairs"] if tickers else []
    return tickers_table(tickers, names_of(source, every_pair))


def show_pair(source: Source, pair: str, window: str, as_json: bool) -> str:
    view = pair_view(source, pair)
    stats = answer(source, f"/pairs/{view['id']}/stats{_query(window=window)}")
    if as_json:
        return json.dumps({"pair": view, "stats": stats}, indent=2)
    return pair_table(view, stats, names_of(source))


def show_candles(
    source: Source,
    pair: str,
    interval: str,
    limit: int | None,
    cursor: int | None,
    as_json: bool,
) -> str:
    view = pair_view(source, pair)
    query = _query(interval=interval, limit=limit, cursor=cursor)
    candles = answer(source, f"/pairs/{view['id']}/candles{query}")
    if as_json:
        return json.dumps(candles, indent=2)
    return candles_table(candles, view, names_of(source))


def show_account(source: Source, address: str | None, as_json: bool) -> str:
    owner = address or source.account
    account = answer(source, f"/accounts/{owner}")
    features = answer(source, f"/accounts/{owner}/features")
    if as_json:
        return json.dumps({"account": account, "features": features}, indent=2)
    views = answer(source, ALL_PAIRS)["pairs"] if account.get("positions") else []
    return account_tables(account, features, names_of(source, views))


# --- the command line ----------------------------------------------------------------------------
def add_arguments(stats: argparse.ArgumentParser) -> None:
    """`stats tickers|pair|candles|account`, each with `--json`."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", help="print the exact JSON answer instead of tables"
    )
    views = stats.add_subparsers(dest="view", required=True)
    views.add_parser("tickers", parents=[common], help="every pair's last 24 hours")
    pair = views.add_parser("pair", parents=[common], help="a pair and its window statistics")
    pair.add_argument("pair", help="A/B (symbols or addresses), a pair address or a ticker_id")
    pair.add_argument("--window", choices=WINDOWS, default="24h")
    candles = views.add_parser("candles", parents=[common], help="a pair's OHLC periods")
    candles.add_argument("pair", help="A/B (symbols or addresses), a pair address or a ticker_id")
    candles.add_argument("--interval", choices=INTERVALS, default="1h")
    candles.add_argument("--limit", type=int, help="periods (1-500, default 100), oldest first")
    candles.add_argument("--cursor", type=int, help="the period to go on from (next_cursor)")
    account = views.add_parser(
        "account", parents=[common], help="an account's LP positions and features"
    )
    account.add_argument("address", nargs="?", help="default: the client's own account")


def run(source: Source, options: argparse.Namespace) -> str:
    """What `stats …` prints."""
    if options.view == "tickers":
        return show_tickers(source, options.json)
    if options.view == "pair":
        return show_pair(source, options.pair, options.window, options.json)
    if options.view == "candles":
        return show_candles(
            source, options.pair, options.interval, options.limit, options.cursor, options.json
        )
    return show_account(source, options.address, options.json)
