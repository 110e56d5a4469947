"""The typed events of PROTOCOL §3: every state change appends one, in the order it happened.

The notice of an accepted input is the list of its events. In JSON, addresses are EIP-55 strings
and amounts decimal strings (uint256 does not fit a JavaScript number); ids and times stay numbers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from dapp.addresses import to_checksum_address

_AMOUNT = {"amount": True}
_INTERNAL = {"internal": True}


def _amount() -> Any:
    """Marks a dataclass field as an amount: written as a decimal string in JSON."""
    return field(metadata=_AMOUNT)


@dataclass(frozen=True)
class Event:
    type: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            if f.metadata.get("internal"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, bytes):
                out[f.name] = to_checksum_address(value)
            elif f.metadata.get("amount"):
                out[f.name] = str(value)
            else:
                out[f.name] = value
        return out


# --- ledger --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Deposit(Event):
    type = "Deposit"
    token: bytes
    account: bytes
    amount: int = _amount()


@dataclass(frozen=True)
class Withdrawal(Event):
    type = "Withdrawal"
    token: bytes
    account: bytes
    amount: int = _amount()


@dataclass(frozen=True)
class Transfer(Event):
    """A move of `amount` of `token`; the zero address as sender or receiver is a mint or burn."""

    type = "Transfer"
    token: bytes
    sender: bytes
    receiver: bytes
    amount: int = _amount()


@dataclass(frozen=True)
class StreamCreated(Event):
    type = "StreamCreated"
    stream_id: int
    token: bytes
    sender: bytes
    receiver: bytes
    start: int
    duration: int
    amount: int = _amount()
    rate: int = _amount()


@dataclass(frozen=True)
class StreamCancelled(Event):
    type = "StreamCancelled"
    stream_id: int
    token: bytes
    sender: bytes
    receiver: bytes
    at: int
    streamed: int = _amount()
    refunded: int = _amount()


# --- pairs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairCreated(Event):
    type = "PairCreated"
    token0: bytes
    token1: bytes
    pair: bytes


@dataclass(frozen=True)
class Mint(Event):
    type = "Mint"
    pair: bytes
    sender: bytes
    to: bytes
    amount0: int = _amount()
    amount1: int = _amount()
    liquidity: int = _amount()


@dataclass(frozen=True)
class Burn(Event):
    type = "Burn"
    pair: bytes
    sender: bytes
    to: bytes
    amount0: int = _amount()
    amount1: int = _amount()
    liquidity: int = _amount()


@dataclass(frozen=True)
class Swap(Event):
    type = "Swap"
    pair: bytes
    sender: bytes
    to: bytes
    amount0_in: int = _amount()
    amount1_in: int = _amount()
    amount0_out: int = _amount()
    amount1_out: int = _amount()
    # when the trade happened: the input's time, or for the order pools' trades the end of the
    # interval they executed (dapp.stats files them there); not part of the notice
    at: int = field(default=0, compare=False, metadata=_INTERNAL)


@dataclass(frozen=True)
class Sync(Event):
    type = "Sync"
    pair: bytes
    reserve0: int = _amount()
    reserve1: int = _amount()


# --- stream swaps --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SwapOrderPlaced(Event):
    type = "SwapOrderPlaced"
    swap_id: int
    pair: bytes
    trader: bytes
    to: bytes
    token_in: bytes
    token_out: bytes
    start: int
    duration: int
    amount_in: int = _amount()
    sale_rate: int = _amount()


@dataclass(frozen=True)
class SwapOrderCancelled(Event):
    type = "SwapOrderCancelled"
    swap_id: int
    pair: bytes
    trader: bytes
    at: int
    sold: int = _amount()
    refunded: int = _amount()
    bought: int = _amount()


@dataclass(frozen=True)
class SwapOrderCompleted(Event):
    """A stream swap sold all of its input; `bought` is everything it was paid."""

    type = "SwapOrderCompleted"
    swap_id: int
    pair: bytes
    to: bytes
    at: int
    sold: int = _amount()
    bought: int = _amount()
