"""Errors with the stable codes of PROTOCOL §3.

Every rule raises a subclass of :class:`StreamdexError` where the rule lives; the rollup loop is the
only place that catches it, rolls the input back and turns it into a report
``{"error": err.code, "message": str(err)}``. The message is a sentence a person can act on.
"""

from __future__ import annotations

from typing import ClassVar


class StreamdexError(Exception):
    """Base of every rejection; ``code`` is the stable identifier users and frontends match on."""

    code: ClassVar[str] = "REJECTED"


# --- input shape -------------------------------------------------------------------------------
class BadPayload(StreamdexError):
    code = "BAD_PAYLOAD"


class UnknownMethod(StreamdexError):
    code = "UNKNOWN_METHOD"


class InvalidAddress(StreamdexError):
    code = "INVALID_ADDRESS"


class InvalidAmount(StreamdexError):
    code = "INVALID_AMOUNT"


class InvalidTime(StreamdexError):
    code = "INVALID_TIME"


class Expired(StreamdexError):
    code = "EXPIRED"


class AlreadyProcessed(StreamdexError):
    """An input index at or below the last accepted one: a node replaying after a restart."""

    code = "ALREADY_PROCESSED"


class Unsupported(StreamdexError):
    """Something PROTOCOL §2.2 allows that this application cannot do in the input's setting."""

    code = "UNSUPPORTED"


# --- inspect -----------------------------------------------------------------------------------
class UnknownRoute(StreamdexError):
    code = "UNKNOWN_ROUTE"


class BadParameter(StreamdexError):
    code = "BAD_PARAMETER"


# --- ledger ------------------------------------------------------------------------------------
class InsufficientBalance(StreamdexError):
    code = "INSUFFICIENT_BALANCE"


class InvalidRecipient(StreamdexError):
    code = "INVALID_RECIPIENT"


class InvalidToken(StreamdexError):
    code = "INVALID_TOKEN"


class StreamNotFound(StreamdexError):
    code = "STREAM_NOT_FOUND"


class NotStreamSender(StreamdexError):
    code = "NOT_STREAM_SENDER"


class StreamEnded(StreamdexError):
    code = "STREAM_ENDED"


# --- stream swaps -------------------------------------------------------------------------------
class SwapNotFound(StreamdexError):
    code = "SWAP_NOT_FOUND"


class NotSwapTrader(StreamdexError):
    code = "NOT_SWAP_TRADER"


class SwapEnded(StreamdexError):
    code = "SWAP_ENDED"


# --- AMM (the Uniswap V2 names, without the contract prefix) ------------------------------------
class IdenticalAddresses(StreamdexError):
    code = "IDENTICAL_ADDRESSES"


class InvalidPath(StreamdexError):
    code = "INVALID_PATH"


class PairNotFound(StreamdexError):
    code = "PAIR_NOT_FOUND"


class InsufficientAmount(StreamdexError):
    code = "INSUFFICIENT_AMOUNT"


class InsufficientInputAmount(StreamdexError):
    code = "INSUFFICIENT_INPUT_AMOUNT"


class InsufficientOutputAmount(StreamdexError):
    code = "INSUFFICIENT_OUTPUT_AMOUNT"


class ExcessiveInputAmount(StreamdexError):
    code = "EXCESSIVE_INPUT_AMOUNT"


class InsufficientLiquidity(StreamdexError):
    code = "INSUFFICIENT_LIQUIDITY"


class InsufficientLiquidityMinted(StreamdexError):
    code = "INSUFFICIENT_LIQUIDITY_MINTED"


class InsufficientLiquidityBurned(StreamdexError):
    code = "INSUFFICIENT_LIQUIDITY_BURNED"


class InsufficientAAmount(StreamdexError):
    code = "INSUFFICIENT_A_AMOUNT"


class InsufficientBAmount(StreamdexError):
    code = "INSUFFICIENT_B_AMOUNT"


class KInvariant(StreamdexError):
    """The constant-product check failed; a correct engine never lets a user reach it."""

    code = "K"


# --- the application itself --------------------------------------------------------------------
class InternalError(StreamdexError):
    """A bug, not a user's mistake: the input was rolled back and the loop goes on."""

    code = "INTERNAL_ERROR"
