"""`python -m client stats …`: the tables on fixed answers (pure), the command's inspects against
a fake client, the command line's errors, and the whole command against a real devnet (one start
for the file) after one add_liquidity and one swap."""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from client import stats
from client.__main__ import main
from client.api import Client, ClientError
from tests.test_devnet import ROOT, Devnet, start_devnet

CTSI = "0x2b711122C87E858bCF016852e4D094147406Bc9e"
USDC = "0x72fE73c1e4170E5047b60c09b36e0DC0dc2410F7"
PAIR = "0x5859ab8608Af7BA2838BfF6B374Ee6bDAac8bB25"
TICKER_ID = f"{CTSI}_{USDC}"
ME = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
DEVNET_TOKENS = {"USDC": USDC, "CTSI": CTSI}

# --- fixed answers, as the devnet gave them after one add_liquidity and one swap --------------
VIEW: dict[str, Any] = {
    "id": PAIR,
    "token0": {"id": CTSI, "symbol": "CTSI", "name": "Cartesi Token", "decimals": 18},
    "token1": {"id": USDC, "symbol": "USDC", "name": "USD Coin", "decimals": 6},
    "reserve0": "399.80069935137334039",
    "reserve1": "2001",
    "reserve0_raw": "399800699351373340390",
    "reserve1_raw": "2001000000",
    "total_supply": "894427190999915",
    "token0_price": "0.199800449450961189",
    "token1_price": "5.004993746249999999",
    "reserve_usd": "4001.999999999999999601",
    "tracked_reserve_usd": "4002",
    "volume_usd": "1",
    "swap_count": "1",
    "liquidity_provider_count": 1,
    "created_at_timestamp": 1795461161,
    "created_at_input_index": 2,
    "ticker_id": TICKER_ID,
    "base": CTSI,
    "target": USDC,
    "order_pools": {"account": "0xb6e194DcbAd5BfE940ed9e9108843d50B7a838dF", "sale_rate0": "0"},
    "at": 1795461161,
}
PAIR_STATS: dict[str, Any] = {
    "pair": PAIR,
    "as_of": 1795461161,
    "window": "24h",
    "from": 1795374761,
    "volume_token0": "0.19930064862665961",
    "volume_base": "0.19930064862665961",
    "volume_target": "1",
    "fees_token1": "0.003",
    "swap_count": 1,
    "price_low": "5",
    "price_close": "5.004993746249999999",
    "price_change_pct": "0",
    "tracked_reserve_usd_change_pct": None,
    "fee_apr_pct": "0.027361319340329835",
}
TICKERS: list[dict[str, Any]] = [
    {
        "ticker_id": TICKER_ID,
        "base_currency": CTSI,
        "target_currency": USDC,
        "pool_id": PAIR,
        "last_price": "5.004993746249999999",
        "base_volume": "0.19930064862665961",
        "target_volume": "1",
        "liquidity_in_usd": "4002",
        "bid": "4.989978765011249999",
        "ask": "5.020053907973921764",
        "high": "5.004993746249999999",
        "low": "5",
    }
]
CANDLE = {
    "period_start": 1795460400,
    "volume_usd": "1",
    "swap_count": 1,
    "tx_count": 2,
    "open": "5",
    "high": "5.004993746249999999",
    "low": "5",
    "close": "5.004993746249999999",
}
CANDLES: dict[str, Any] = {
    "pair": PAIR,
    "interval": "1h",
    "base": CTSI,
    "target": USDC,
    "rows": [CANDLE, {**CANDLE, "period_start": 1795464000, "volume_usd": None}],
    "next_cursor": None,
}
ACCOUNT: dict[str, Any] = {
    "address": ME,
    "as_of": 1795461161,
    "positions": [
        {
            "pair": PAIR,
            "lp_balance": "894427190998915",
            "pool_share": "0.999999999998881966",
            "underlying0": "399.800699350926349619",
            "underlying1": "2000.999999",
            "value_usd": "4001.999998997762813587",
        }
    ],
    "positions_truncated": False,
    "lp_value_usd": "4001.999998997762813587",
    "usd_swapped": "1",
}
FEATURES: dict[str, Any] = {
    "address": ME,
    "as_of": 1795461161,
    "unit": "usd",
    "features": {
        "swap_count": 1,
        "swap_net_flow_usd": "-0.002501500000000002",
        "first_action_timestamp": 1795461160,
        "stream_in_deposit_usd_avg": None,
    },
}


def names(*views: dict[str, Any]) -> stats.Names:
    return stats.Names.of(DEVNET_TOKENS, views)


def body(text: str) -> list[str]:
    """The rows of the first table in `text`: the lines after its ruled header, up to a blank."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line) <= {"-", " "} and line) + 1
    rows = []
    for line in lines[start:]:
        if not line or line.startswith("more periods"):
            break
        rows.append(line)
    return rows


def value_of(text: str, key: str) -> str:
    """The value of the first key/value line with that key."""
    for line in text.splitlines():
        name, _, value = line.partition("  ")
        if name == key:
            return value.strip()
    raise AssertionError(f"no line {key!r} in\n{text}")


# --- cells and layout ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("exact", "shown"),
    [
        ("5.004993746249999999", "5.004993"),
        ("4002", "4002"),
        ("0.003", "0.003"),
        ("0.000000123456789", "0.000000123456"),
        ("-0.002501500000000002", "-0.0025015"),
        ("12.0000001", "12"),
        ("-0.0000000", "0"),
        ("894427190999915", "894427190999915"),
        (
            "0x5859ab8608Af7BA2838BfF6B374Ee6bDAac8bB25",
            "0x5859ab8608Af7BA2838BfF6B374Ee6bDAac8bB25",
        ),
        ("1.5e3", "1.5e3"),
    ],
)
def test_numbers_keep_six_significant_decimals_cut_toward_zero(exact: str, shown: str) -> None:
    assert stats.short(exact) == shown


def test_cells_show_null_booleans_and_times() -> None:
    assert stats.cell(None) == "-"
    assert stats.cell(True) == "yes"
    assert stats.cell(7) == "7"
    assert stats.keyed_cell("period_start", 1795460400) == "2026-11-23T19:00:00Z"
    assert stats.keyed_cell("first_action_timestamp", 0) == "1970-01-01T00:00:00Z"
    assert stats.keyed_cell("from", None) == "-"
    assert stats.keyed_cell("swap_count", 1795460400) == "1795460400"


def test_a_table_aligns_numbers_right_and_text_left() -> None:
    text = stats.table(["pair", "price"], [["CTSI/USDC", "5"], ["ETH/USDC", "1843.12"]])
    assert text.splitlines() == [
        "pair         price",
        "---------  -------",
        "CTSI/USDC        5",
        "ETH/USDC   1843.12",
    ]
    assert stats.table(["pair"], []).splitlines()[-1] == "(none)"


def test_key_values_line_up() -> None:
    assert stats.key_values([("a", "1"), ("longer", "-")]) == "a       1\nlonger  -"


# --- the tables of answers -----------------------------------------------------------------------
def test_tickers_show_symbols_shortened_prices_and_the_pool() -> None:
    text = stats.tickers_table(TICKERS, names(VIEW))
    header, rule, row = text.splitlines()[1:]
    assert header.split() == ["pair", *stats.TICKER_COLUMNS, "pool_id"]
    assert row.split() == [
        "CTSI/USDC",
        "5.004993",
        "4.989978",
        "5.020053",
        "5.004993",
        "5",
        "0.1993",
        "1",
        "4002",
        PAIR,
    ]
    assert len(header) <= len(rule) == len(row)
    # a right-aligned column ends where its rule ends
    assert row.index("4002") + 4 == rule.index("  ", row.index("4002"))


def test_tickers_without_a_symbol_name_the_token_by_a_short_address() -> None:
    unknown = "0x1111111111111111111111111111111111111111"
    ticker = {**TICKERS[0], "base_currency": unknown}
    assert "0x1111…1111/USDC" in stats.tickers_table([ticker], stats.Names.of({}, [VIEW]))


def test_the_pair_table_labels_units_and_orientation() -> None:
    text = stats.pair_table(VIEW, PAIR_STATS, names())
    assert text.startswith(f"CTSI/USDC pair {PAIR}")
    assert value_of(text, "token0") == f"CTSI {CTSI} (Cartesi Token, 18 decimals)"
    assert value_of(text, "reserve0 (CTSI)") == "399.800699"
    assert value_of(text, "reserve0_raw (CTSI)") == "399800699351373340390"
    assert value_of(text, "token0_price (CTSI per USDC)") == "0.1998"
    assert value_of(text, "token1_price (USDC per CTSI)") == "5.004993"
    assert value_of(text, "created_at_timestamp") == "2026-11-23T19:12:41Z"
    assert value_of(text, "order_pools.sale_rate0") == "0"
    assert value_of(text, "base") == f"CTSI {CTSI}"
    assert "window 24h" in text
    assert value_of(text, "from") == "2026-11-22T19:12:41Z"
    assert value_of(text, "volume_base (CTSI)") == "0.1993"
    assert value_of(text, "fees_token1 (USDC)") == "0.003"
    assert value_of(text, "price_close (USDC per CTSI)") == "5.004993"
    assert value_of(text, "price_change_pct") == "0"
    assert value_of(text, "tracked_reserve_usd_change_pct") == "-"
    assert value_of(text, "swap_count") == "1"


def test_candles_have_one_row_per_period_in_utc() -> None:
    text = stats.candles_table(CANDLES, VIEW, names())
    assert text.splitlines()[0].startswith("CTSI/USDC 1h candles (prices: USDC per CTSI")
    rows = body(text)
    assert [row.split() for row in rows] == [
        ["2026-11-23T19:00:00Z", "5", "5.004993", "5", "5.004993", "1", "1"],
        ["2026-11-23T20:00:00Z", "5", "5.004993", "5", "5.004993", "-", "1"],
    ]
    paged = stats.candles_table({**CANDLES, "next_cursor": 1795467600}, VIEW, names())
    assert paged.splitlines()[-1] == "more periods follow: --cursor 1795467600"


def test_the_account_tables_show_positions_totals_and_features() -> None:
    text = stats.account_tables(ACCOUNT, FEATURES, names(VIEW))
    assert text.startswith(f"account {ME}")
    (position,) = body(text)
    assert position.split() == [
        "CTSI/USDC",
        "894427190998915",
        "0.999999",
        "399.800699",
        "2000.999999",
        "4001.999998",
        PAIR,
    ]
    assert value_of(text, "positions_truncated") == "no"
    assert value_of(text, "usd_swapped") == "1"
    assert value_of(text, "swap_count") == "1"
    assert value_of(text, "swap_net_flow_usd") == "-0.0025015"
    assert value_of(text, "first_action_timestamp") == "2026-11-23T19:12:40Z"
    assert value_of(text, "stream_in_deposit_usd_avg") == "-"
    # a pair no view names: its short address
    assert "0x5859…bB25" in stats.account_tables(ACCOUNT, FEATURES, names())


def test_an_account_without_positions_says_so() -> None:
    text = stats.account_tables({**ACCOUNT, "positions": []}, FEATURES, names())
    assert "(none)" in text and value_of(text, "swap_count") == "1"


# --- the commands' inspects, on a fake client ----------------------------------------------------
class FakeClient:
    """Answers inspect paths from a dict; records them."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.paths: list[str] = []
        self.account = ME
        self.devnet: dict[str, Any] = {"tokens": DEVNET_TOKENS}

    def inspect(self, path: str) -> Any:
        self.paths.append(path)
        return copy.deepcopy(
            self.answers.get(path, {"error": "UNKNOWN_ROUTE", "message": f"no route {path!r}"})
        )

    def token_address(self, token: str) -> str:
        if token.upper() not in DEVNET_TOKENS:
            raise ClientError(f"unknown token {token!r}")
        return DEVNET_TOKENS[token.upper()]


def run(source: FakeClient, *argv: str) -> str:
    parser = argparse.ArgumentParser()
    stats.add_arguments(parser)
    return stats.run(source, parser.parse_args(list(argv)))


FAKE_ANSWERS: dict[str, Any] = {
    "/coingecko/tickers": TICKERS,
    stats.ALL_PAIRS: {"pairs": [VIEW], "next_cursor": None},
    f"/pair/{USDC}/{CTSI}": VIEW,
    f"/pairs/{PAIR}": VIEW,
    f"/pairs/{TICKER_ID}": VIEW,
    f"/pairs/{PAIR}/stats?window=7d": {**PAIR_STATS, "window": "7d"},
    f"/pairs/{PAIR}/candles?interval=1d&limit=2": {**CANDLES, "interval": "1d"},
    f"/accounts/{ME}": ACCOUNT,
    f"/accounts/{ME}/features": FEATURES,
}


def test_tickers_take_two_inspects_and_json_one() -> None:
    fake = FakeClient(FAKE_ANSWERS)
    assert "CTSI/USDC" in run(fake, "tickers")
    assert fake.paths == ["/coingecko/tickers", stats.ALL_PAIRS]
    fake.paths.clear()
    assert json.loads(run(fake, "tickers", "--json")) == TICKERS  # exact values
    assert fake.paths == ["/coingecko/tickers"]


@pytest.mark.parametrize("pair", ["USDC/CTSI", "usdc/ctsi", PAIR, TICKER_ID])
def test_a_pair_by_symbols_address_or_ticker_id(pair: str) -> None:
    fake = FakeClient(FAKE_ANSWERS)
    text = run(fake, "pair", pair, "--window", "7d")
    assert "window 7d" in text and value_of(text, "swap_count") == "1"
    assert fake.paths[-1] == f"/pairs/{PAIR}/stats?window=7d"
    assert len(fake.paths) == 2
    both = json.loads(run(fake, "pair", pair, "--window", "7d", "--json"))
    assert both == {"pair": VIEW, "stats": {**PAIR_STATS, "window": "7d"}}


def test_candles_pass_interval_and_limit() -> None:
    fake = FakeClient(FAKE_ANSWERS)
    text = run(fake, "candles", "USDC/CTSI", "--interval", "1d", "--limit", "2")
    assert len(body(text)) == 2 and "1d candles" in text
    assert fake.paths == [f"/pair/{USDC}/{CTSI}", f"/pairs/{PAIR}/candles?interval=1d&limit=2"]


def test_the_account_is_the_clients_own_by_default() -> None:
    fake = FakeClient(FAKE_ANSWERS)
    assert value_of(run(fake, "account"), "swap_count") == "1"
    assert fake.paths == [f"/accounts/{ME}", f"/accounts/{ME}/features", stats.ALL_PAIRS]
    answer = json.loads(run(fake, "account", ME, "--json"))
    assert answer == {"account": ACCOUNT, "features": FEATURES}


def test_api_errors_and_bad_pairs_are_client_errors() -> None:
    fake = FakeClient(FAKE_ANSWERS)
    with pytest.raises(ClientError, match=r"^UNKNOWN_ROUTE: no route"):
        run(fake, "pair", "0x0000000000000000000000000000000000000001")
    with pytest.raises(ClientError, match="unknown token 'DOGE'"):
        run(fake, "pair", "USDC/DOGE")
    with pytest.raises(ClientError, match="a pair is A/B"):
        run(fake, "pair", "USDC/")


def test_the_command_line_prints_an_api_error_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    zero = "0x" + "00" * 20
    devnet = {
        "rpc_url": "http://127.0.0.1:1",
        "inspect_url": "http://127.0.0.1:1/inspect/",
        "outputs_url": "http://127.0.0.1:1/outputs",
        "accounts": [ME],
        "tokens": DEVNET_TOKENS,
        **dict.fromkeys(("application", "input_box", "erc20_portal", "ether_portal"), zero),
    }
    (tmp_path / "devnet.json").write_text(json.dumps(devnet))
    fake = FakeClient(FAKE_ANSWERS)
    monkeypatch.setattr(Client, "inspect", lambda self, path: fake.inspect(path))
    argv = ["--devnet", str(tmp_path / "devnet.json"), "stats"]
    assert main([*argv, "pair", PAIR, "--window", "24h"]) == 1
    assert capsys.readouterr().err.startswith("error: UNKNOWN_ROUTE: no route ")
    assert main([*argv, "pair", PAIR, "--window", "7d"]) == 0
    assert capsys.readouterr().out.startswith(f"CTSI/USDC pair {PAIR}")


# --- end to end on a real devnet -----------------------------------------------------------------
@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """One devnet (v2 only) where account 0 added liquidity to USDC/CTSI and swapped once."""
    running = start_devnet(tmp_path_factory.mktemp("devnet-stats"), None, "--no-v1")
    try:
        client = running.client(0)
        usdc, ctsi = client.token_address("USDC"), client.token_address("CTSI")
        assert client.result(client.deposit("CTSI", 10**21)).accepted
        assert client.result(client.deposit("USDC", 5 * 10**9)).accepted
        liquidity = client.send(
            "add_liquidity",
            token_a=ctsi,
            token_b=usdc,
            token_a_desired=str(4 * 10**20),
            token_b_desired=str(2 * 10**9),
            token_a_min="0",
            token_b_min="0",
        )
        assert client.result(liquidity).accepted
        swap = client.send("swap", amount_in=10**6, amount_out_min=1, path=[usdc, ctsi])
        assert client.result(swap).accepted
        yield running
    finally:
        running.stop()


def cli(devnet: Devnet, *args: str) -> str:
    """`python -m client --devnet … stats ARGS`'s output; skipped if a route is not there yet."""
    command = [sys.executable, "-m", "client", "--devnet", str(devnet.state / "devnet.json")]
    done = subprocess.run(
        [*command, "stats", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    if "UNKNOWN_ROUTE" in done.stderr:
        pytest.skip(f"the route is not there yet: {done.stderr.strip()[:120]}")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_stats_tickers_on_the_devnet(devnet: Devnet) -> None:
    pair = devnet.client().inspect(f"/pair/{USDC}/{CTSI}")["id"]
    text = cli(devnet, "tickers")
    (row,) = body(text)
    assert row.split()[0] == "CTSI/USDC" and row.split()[-1] == pair
    assert json.loads(cli(devnet, "tickers", "--json"))[0]["pool_id"] == pair


def test_stats_pair_on_the_devnet(devnet: Devnet) -> None:
    text = cli(devnet, "pair", "USDC/CTSI")
    pair = devnet.client().inspect(f"/pair/{USDC}/{CTSI}")["id"]
    assert text.startswith(f"CTSI/USDC pair {pair}")
    assert value_of(text, "token0").startswith(f"CTSI {CTSI}")
    assert value_of(text, "token1").startswith(f"USDC {USDC}")
    assert value_of(text, "swap_count") == "1"  # the pair's lifetime count, then the window's
    assert value_of(text, "mint_count") == "1"
    assert json.loads(cli(devnet, "pair", pair, "--json"))["stats"]["swap_count"] == 1


def test_stats_candles_on_the_devnet(devnet: Devnet) -> None:
    exact = json.loads(cli(devnet, "candles", "USDC/CTSI", "--json"))
    assert 1 <= len(exact["rows"]) <= 2  # the mint and the swap: one hour, or two across an hour
    rows = body(cli(devnet, "candles", "USDC/CTSI"))
    assert len(rows) == len(exact["rows"])
    assert sum(int(row.split()[-1]) for row in rows) == 1  # swap_count
    days = body(cli(devnet, "candles", "USDC/CTSI", "--interval", "1d", "--limit", "1"))
    assert len(days) == 1 and days[0].split()[0].endswith("T00:00:00Z")


def test_stats_account_on_the_devnet(devnet: Devnet) -> None:
    text = cli(devnet, "account")
    assert text.startswith(f"account {devnet.client().account}")
    (position,) = body(text)
    assert position.split()[0] == "CTSI/USDC"
    assert value_of(text, "swap_count") == "1"
    assert value_of(text, "liquidity_add_count") == "1"
    other = cli(devnet, "account", devnet.client(3).account)
    assert body(other) == ["(none)"] and value_of(other, "swap_count") == "0"
