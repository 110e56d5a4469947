"""The market statistics' configuration: token metadata and USD anchors, refused when unusable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dapp.addresses import to_checksum_address
from dapp.stats.config import (
    ConfigError,
    MarketConfig,
    TokenInfo,
    load_token_file,
    write_token_file,
)
from dapp.stats.numbers import fixed, percent_change, price, ratio, units

USDC = bytes.fromhex("10" * 20)
DAI = bytes.fromhex("20" * 20)
WETH = bytes.fromhex("30" * 20)


def entry(token: bytes, symbol: str, decimals: object) -> dict[str, object]:
    return {
        "address": to_checksum_address(token),
        "symbol": symbol,
        "name": symbol,
        "decimals": decimals,
    }


def write(tmp_path: Path, entries: object) -> str:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(entries))
    return str(path)


def test_a_token_file_round_trips_and_orders_the_whitelist(tmp_path: Path) -> None:
    tokens = {USDC: TokenInfo("USDC", "USD Coin", 6), WETH: TokenInfo("WETH", "Wrapped", 18)}
    write_token_file(tmp_path / "t.json", tokens)
    assert load_token_file(tmp_path / "t.json") == tokens
    config = MarketConfig.from_environment(
        {
            "STREAMDEX_TOKENS": str(tmp_path / "t.json"),
            "STREAMDEX_STABLECOINS": f" {to_checksum_address(USDC)} ,",
            "STREAMDEX_REFERENCE_TOKEN": to_checksum_address(WETH).lower(),
        }
    )
    assert config.stablecoins == (USDC,) and config.reference_token == WETH
    assert config.whitelist == (USDC, WETH)
    # the quote (target) of a pair is the stronger of its tokens; a tie keeps token0 the base
    assert config.base_is_token0(USDC, WETH) is False
    assert config.base_is_token0(WETH, USDC) is True
    assert config.base_is_token0(DAI, bytes.fromhex("40" * 20)) is True
    assert config.decimals(DAI) == 0 and config.info(DAI) == TokenInfo(None, None, None)


def test_no_configuration_means_no_metadata_and_no_usd() -> None:
    config = MarketConfig.from_environment({})
    assert config.tokens == {} and config.stablecoins == () and config.reference_token is None


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"not": "a list"}, "must hold a JSON list"),
        ([entry(USDC, "USDC", 6), entry(USDC, "USDC", 6)], "listed twice"),
        ([entry(USDC, "USDC", 6.0)], "decimals must be an integer"),
        ([entry(USDC, "USDC", True)], "decimals must be an integer"),
        ([entry(USDC, "USDC", 78)], "decimals must be an integer"),
        ([entry(USDC, "", 6)], "non-empty strings"),
        ([{**entry(USDC, "USDC", 6), "extra": 1}], "exactly address, symbol, name and decimals"),
        ([{**entry(USDC, "USDC", 6), "address": "0x12"}], "entry 1: Address"),
    ],
)
def test_a_bad_token_file_is_refused_with_its_reason(
    tmp_path: Path, entries: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        MarketConfig.from_environment({"STREAMDEX_TOKENS": write(tmp_path, entries)})


def test_unreadable_files_and_bad_anchors_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        MarketConfig.from_environment({"STREAMDEX_TOKENS": str(tmp_path / "missing.json")})
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        MarketConfig.from_environment({"STREAMDEX_TOKENS": str(tmp_path / "broken.json")})
    usdc = to_checksum_address(USDC)
    with pytest.raises(ConfigError, match="needs its decimals"):
        MarketConfig.from_environment({"STREAMDEX_STABLECOINS": usdc})
    with pytest.raises(ConfigError, match="twice"):
        MarketConfig.from_environment(
            {
                "STREAMDEX_TOKENS": write(tmp_path, [entry(USDC, "USDC", 6)]),
                "STREAMDEX_STABLECOINS": f"{usdc},{usdc.lower()}",
            }
        )
    with pytest.raises(ConfigError, match="STREAMDEX_REFERENCE_TOKEN"):
        MarketConfig.from_environment({"STREAMDEX_REFERENCE_TOKEN": "weth"})


def test_the_application_stops_at_start_with_one_message(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "dapp"],
        env={
            "STREAMDEX_DB": str(tmp_path / "state.sqlite"),
            "STREAMDEX_STABLECOINS": to_checksum_address(USDC),
            "ROLLUP_HTTP_SERVER_URL": "http://127.0.0.1:9",
        },
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parent.parent,
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"streamdex cannot start: the stablecoin {to_checksum_address(USDC)} needs its decimals "
        "in the STREAMDEX_TOKENS file: one dollar is 10**decimals of its base units"
    ]
    assert not (tmp_path / "state.sqlite").exists()


def test_numbers_are_exact_decimal_strings() -> None:
    assert units(1_500_000, 6) == "1.5" and units(10**18, 18) == "1" and units(0, 6) == "0"
    assert units(-5, 2) == "-0.05" and units(123, 0) == "123"
    assert fixed(None) is None and fixed(2 * 10**18 // 3) == "0.666666666666666666"
    assert ratio(1, 0) is None and ratio(-1, 3) == -(10**18 // 3)
    assert percent_change(110, 100) == 10 * 10**18 and percent_change(1, 0) is None
    # 2,000 USDC (6 decimals) per 1 WETH (18 decimals)
    assert price(2000 * 10**6, 6, 10**18, 18) == 2000 * 10**18
