"""What the market statistics know that the chain does not tell: token names and USD anchors.

`STREAMDEX_TOKENS` names a JSON file `[{"address", "symbol", "name", "decimals"}, …]`; a token
missing from it has no symbol, name or decimals, and its amounts are shown in base units (never a
guessed 18). `STREAMDEX_STABLECOINS` lists, comma-separated, the tokens worth one US dollar each;
`STREAMDEX_REFERENCE_TOKEN` optionally names a token priced through its pairs with them and used
to price others (stats-routes §1). The configuration is part of the machine image, so it is the
same on every replay; anything wrong with it stops the start with one message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from dapp.addresses import parse_address, to_checksum_address
from dapp.errors import StreamdexError

MAX_DECIMALS = 77  # 10**77 is the largest power of ten below 2**256


class ConfigError(ValueError):
    """The statistics configuration cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class TokenInfo:
    symbol: str | None
    name: str | None
    decimals: int | None


UNKNOWN_TOKEN = TokenInfo(None, None, None)


@dataclass(frozen=True)
class MarketConfig:
    """Token metadata and the USD anchors, in the order they were configured."""

    tokens: Mapping[bytes, TokenInfo] = field(default_factory=dict)
    stablecoins: tuple[bytes, ...] = ()
    reference_token: bytes | None = None

    def info(self, token: bytes) -> TokenInfo:
        return self.tokens.get(token, UNKNOWN_TOKEN)

    def decimals(self, token: bytes) -> int:
        """The decimals amounts are shown with: 0 (base units) when unknown."""
        return self.info(token).decimals or 0

    def unit(self, token: bytes) -> int:
        """10**decimals: the base units of one whole token."""
        return self.units.get(token, 1)

    # Cached (the configuration never changes): every swap the recorder values asks for these.
    @cached_property
    def units(self) -> dict[bytes, int]:
        """10**decimals of every token with decimals; a token not listed counts in base units."""
        return {token: 10**info.decimals for token, info in self.tokens.items() if info.decimals}

    @cached_property
    def whitelist(self) -> tuple[bytes, ...]:
        """The tokens others are priced against: the stablecoins, then the reference token."""
        if self.reference_token is None or self.reference_token in self.stablecoins:
            return self.stablecoins
        return (*self.stablecoins, self.reference_token)

    def quote_rank(self, token: bytes) -> int:
        """How strongly a token wants to be a pair's quote (target): lower is stronger."""
        whitelist = self.whitelist
        return whitelist.index(token) if token in whitelist else len(whitelist)

    def base_is_token0(self, token0: bytes, token1: bytes) -> bool:
        """A pair's orientation (stats-routes §0): the quote (CoinGecko's target) is the token
        ranked higher as a quote; with no difference, token0 is the base and token1 the quote."""
        return self.quote_rank(token1) <= self.quote_rank(token0)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> MarketConfig:
        tokens: dict[bytes, TokenInfo] = {}
        path = environ.get("STREAMDEX_TOKENS")
        if path:
            tokens = load_token_file(Path(path))
        stablecoins = _address_list(
            environ.get("STREAMDEX_STABLECOINS", ""), "STREAMDEX_STABLECOINS"
        )
        reference = environ.get("STREAMDEX_REFERENCE_TOKEN") or None
        return cls.checked(
            tokens,
            stablecoins,
            None if reference is None else _address(reference, "STREAMDEX_REFERENCE_TOKEN"),
        )

    @classmethod
    def checked(
        cls,
        tokens: Mapping[bytes, TokenInfo],
        stablecoins: tuple[bytes, ...] = (),
        reference_token: bytes | None = None,
    ) -> MarketConfig:
        """A configuration whose USD anchors can be used: every stablecoin has its decimals."""
        for stablecoin in stablecoins:
            if tokens.get(stablecoin, UNKNOWN_TOKEN).decimals is None:
                raise ConfigError(
                    f"the stablecoin {to_checksum_address(stablecoin)} needs its decimals in the "
                    "STREAMDEX_TOKENS file: one dollar is 10**decimals of its base units"
                )
        return cls(dict(tokens), stablecoins, reference_token)


def load_token_file(path: Path) -> dict[bytes, TokenInfo]:
    """Read a STREAMDEX_TOKENS file, refusing anything ambiguous."""
    where = f"STREAMDEX_TOKENS ({path})"
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"{where} cannot be read: {err.strerror or err}") from None
    except ValueError as err:
        raise ConfigError(f"{where} is not valid JSON: {err}") from None
    if not isinstance(entries, list):
        raise ConfigError(f"{where} must hold a JSON list of tokens")
    tokens: dict[bytes, TokenInfo] = {}
    for number, entry in enumerate(entries, start=1):
        label = f"{where}, entry {number}"
        if not isinstance(entry, dict) or set(entry) != {"address", "symbol", "name", "decimals"}:
            raise ConfigError(
                f"{label} must be an object with exactly address, symbol, name and decimals"
            )
        address = _address(entry["address"], label)
        if address in tokens:
            raise ConfigError(f"{label}: {to_checksum_address(address)} is listed twice")
        symbol, name, decimals = entry["symbol"], entry["name"], entry["decimals"]
        if not isinstance(symbol, str) or not symbol or not isinstance(name, str) or not name:
            raise ConfigError(f"{label}: symbol and name must be non-empty strings")
        if type(decimals) is not int or not 0 <= decimals <= MAX_DECIMALS:
            raise ConfigError(f"{label}: decimals must be an integer from 0 to {MAX_DECIMALS}")
        tokens[address] = TokenInfo(symbol, name, decimals)
    return tokens


def write_token_file(path: Path, tokens: Mapping[bytes, TokenInfo]) -> None:
    """The inverse of `load_token_file` (the devnet writes one for the tokens it deploys)."""
    entries = [
        {
            "address": to_checksum_address(address),
            "symbol": info.symbol,
            "name": info.name,
            "decimals": info.decimals,
        }
        for address, info in tokens.items()
    ]
    path.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")


def _address_list(text: str, name: str) -> tuple[bytes, ...]:
    addresses: list[bytes] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        address = _address(item, name)
        if address in addresses:
            raise ConfigError(f"{name} lists {to_checksum_address(address)} twice")
        addresses.append(address)
    return tuple(addresses)


def _address(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: an address must be a 0x-prefixed string")
    try:
        return parse_address(value)
    except StreamdexError as err:
        raise ConfigError(f"{where}: {err}") from None
