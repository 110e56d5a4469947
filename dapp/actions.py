"""One function per method of PROTOCOL §2.2: call the domain with the decoded arguments.

The codec has already checked every argument's type and range; the rules about balances, pairs
and limits live in the ledger and the AMM, which raise where a rule is broken. An action only
fills in defaults (`to` is the sender, `start` 0 is now) and builds the withdrawal voucher.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dapp.addresses import ZERO_ADDRESS, to_checksum_address
from dapp.amm.pair import Pairs
from dapp.amm.router import Router, ensure_deadline
from dapp.amm.twamm import Twamm
from dapp.codec import TRANSFER_SELECTOR, WITHDRAW_ETHER_SELECTOR, Voucher, call_data
from dapp.errors import InvalidAmount, InvalidPath, InvalidTime, InvalidToken, Unsupported
from dapp.ledger import Ledger


@dataclass
class Context:
    """What an action may use: the acting account, the input's time and the domain objects."""

    sender: bytes
    now: int
    dialect: str  # "v2" or "v1": vouchers are answered in the input's dialect
    app_contract: bytes | None
    ledger: Ledger
    pairs: Pairs
    router: Router
    twamm: Twamm
    vouchers: list[Voucher] = field(default_factory=list)


Args = dict[str, Any]


def transfer(ctx: Context, args: Args) -> None:
    ctx.ledger.transfer(args["token"], ctx.sender, args["to"], args["amount"], ctx.now)


def stream(ctx: Context, args: Args) -> None:
    ctx.ledger.create_stream(
        args["token"],
        ctx.sender,
        args["receiver"],
        args["amount"],
        args["start"] or ctx.now,
        args["duration"],
        ctx.now,
    )


def cancel_stream(ctx: Context, args: Args) -> None:
    token = args["token"]
    if token is not None:
        streamed_token = ctx.ledger.stream(args["stream_id"]).token
        if token != streamed_token:
            raise InvalidToken(
                f"stream {args['stream_id']} streams {to_checksum_address(streamed_token)}, "
                f"not {to_checksum_address(token)}"
            )
    ctx.ledger.cancel_stream(args["stream_id"], ctx.sender, ctx.now)


def withdraw(ctx: Context, args: Args) -> None:
    token, amount = args["token"], args["amount"]
    ctx.ledger.withdraw(token, ctx.sender, amount, ctx.now)
    ctx.vouchers.append(_withdrawal_voucher(ctx, token, amount))


def _withdrawal_voucher(ctx: Context, token: bytes, amount: int) -> Voucher:
    v1 = ctx.dialect == "v1"
    if token != ZERO_ADDRESS:
        return Voucher(token, None if v1 else 0, call_data(TRANSFER_SELECTOR, ctx.sender, amount))
    if not v1:
        return Voucher(ctx.sender, amount, b"")
    # Rollups v1 vouchers carry no value: the application contract pays Ether out itself
    if ctx.app_contract is None:
        raise Unsupported(
            "an Ether withdrawal in Rollups v1 needs the application's address, which the "
            "DAppAddressRelay has not sent yet; relay it (cartesi send dapp-address) and retry"
        )
    return Voucher(ctx.app_contract, None, call_data(WITHDRAW_ETHER_SELECTOR, ctx.sender, amount))


def add_liquidity(ctx: Context, args: Args) -> None:
    ctx.router.add_liquidity(
        ctx.sender,
        args["token_a"],
        args["token_b"],
        args["token_a_desired"],
        args["token_b_desired"],
        args["token_a_min"],
        args["token_b_min"],
        args["to"] or ctx.sender,
        args["deadline"],
        ctx.now,
    )


def remove_liquidity(ctx: Context, args: Args) -> None:
    ctx.router.remove_liquidity(
        ctx.sender,
        args["token_a"],
        args["token_b"],
        args["liquidity"],
        args["amount_a_min"],
        args["amount_b_min"],
        args["to"] or ctx.sender,
        args["deadline"],
        ctx.now,
    )


def swap(ctx: Context, args: Args) -> None:
    if args["duration"]:
        stream_swap(ctx, args)
        return
    if args["start"] and args["start"] != ctx.now:
        raise InvalidTime("an instant swap happens now; start is only for stream swaps")
    ctx.router.swap_exact_tokens_for_tokens(
        ctx.sender,
        args["amount_in"],
        args["amount_out_min"],
        args["path"],
        args["to"] or ctx.sender,
        args["deadline"],
        ctx.now,
    )


def swap_exact_out(ctx: Context, args: Args) -> None:
    ctx.router.swap_tokens_for_exact_tokens(
        ctx.sender,
        args["amount_out"],
        args["amount_in_max"],
        args["path"],
        args["to"] or ctx.sender,
        args["deadline"],
        ctx.now,
    )


def stream_swap(ctx: Context, args: Args) -> None:
    """PROTOCOL §4.3: sell path[0] for path[1] at a constant rate over the duration."""
    path = args["path"]
    if len(path) != 2:
        raise InvalidPath("a stream swap sells one token for another: its path has two tokens")
    if args["amount_out_min"]:
        raise InvalidAmount(
            "a stream swap's output is only known as it sells, so it cannot promise a minimum; "
            "pass amount_out_min 0, follow it with /swap/{id} and stop it with cancel_swap"
        )
    ensure_deadline(args["deadline"], ctx.now)
    ctx.twamm.place(
        ctx.sender,
        path[0],
        path[1],
        args["amount_in"],
        args["start"] or ctx.now,
        args["duration"],
        args["to"] or ctx.sender,
        ctx.now,
    )


def cancel_swap(ctx: Context, args: Args) -> None:
    ctx.twamm.cancel(args["swap_id"], ctx.sender, ctx.now)


ACTIONS: dict[str, Callable[[Context, Args], None]] = {
    "transfer": transfer,
    "stream": stream,
    "cancel_stream": cancel_stream,
    "withdraw": withdraw,
    "add_liquidity": add_liquidity,
    "remove_liquidity": remove_liquidity,
    "swap": swap,
    "swap_exact_out": swap_exact_out,
    "cancel_swap": cancel_swap,
}
