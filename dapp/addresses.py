"""Ethereum addresses: 20-byte ``bytes`` inside the application, EIP-55 text at its edges.

PROTOCOL §2.2: an address in an action is ``0x`` followed by 40 hex digits in any case, but a
mixed-case address must carry a valid EIP-55 checksum; outputs always use the EIP-55 form.
:func:`parse_address` turns user text into bytes (raising :class:`~dapp.errors.InvalidAddress`
with a message that says what to fix) and :func:`to_checksum_address` turns bytes back into text.
"""

from __future__ import annotations

from functools import lru_cache

from dapp.errors import InvalidAddress
from dapp.keccak import keccak256

__all__ = ["ADDRESS_LENGTH", "ZERO_ADDRESS", "parse_address", "to_checksum_address"]

#: Length of an address in bytes.
ADDRESS_LENGTH = 20

#: The zero address, ``0x0000000000000000000000000000000000000000``.
ZERO_ADDRESS = bytes(ADDRESS_LENGTH)

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

#: Names of the JSON types, for messages about a non-string where an address was expected.
_JSON_TYPE_NAMES = {
    "NoneType": "null",
    "bool": "a boolean",
    "int": "a number",
    "float": "a number",
    "list": "an array",
    "dict": "an object",
}

#: Longest piece of user text quoted back in a message.
_MAX_SHOWN = 50


def _shown(text: str) -> str:
    """Quote ``text`` for a message, cut short so a huge input cannot make a huge report."""
    if len(text) > _MAX_SHOWN:
        return repr(text[:_MAX_SHOWN]) + f" (cut, {len(text)} characters in all)"
    return repr(text)


def parse_address(text: str) -> bytes:
    """Parse ``0x`` + 40 hex digits into a 20-byte address.

    All-lowercase and all-uppercase hex digits are accepted as they are; text that mixes cases
    must be the exact EIP-55 checksummed form. Anything else raises
    :class:`~dapp.errors.InvalidAddress` with a sentence saying what is wrong.
    """
    if not isinstance(text, str):
        kind = type(text).__name__
        raise InvalidAddress(
            f"An address must be a string of '0x' followed by 40 hex digits, "
            f"not {_JSON_TYPE_NAMES.get(kind, kind)}."
        )
    if text != text.strip():
        raise InvalidAddress(
            f"Address {_shown(text)} has spaces or other whitespace around it; remove them."
        )
    if not text.startswith("0x"):
        if text.startswith("0X"):
            problem = "starts with '0X'; write the prefix in lowercase, '0x'"
        elif len(text) == 2 * ADDRESS_LENGTH and _HEX_DIGITS.issuperset(text):
            problem = f"is missing the '0x' prefix; write it as '0x{text}'"
        else:
            problem = "does not start with '0x'; an address is '0x' followed by 40 hex digits"
        raise InvalidAddress(f"Address {_shown(text)} {problem}.")
    digits = text[2:]
    if not _HEX_DIGITS.issuperset(digits):
        bad = next(c for c in digits if c not in _HEX_DIGITS)
        raise InvalidAddress(
            f"Address {_shown(text)} contains {bad!r}, which is not a hex digit; "
            f"after '0x' only 0-9, a-f and A-F may appear."
        )
    if len(digits) != 2 * ADDRESS_LENGTH:
        hint = (
            " (64 hex digits is a 32-byte value such as a hash or an ABI word, not an address)"
            if len(digits) == 64
            else ""
        )
        raise InvalidAddress(
            f"Address {_shown(text)} has {len(digits)} hex digits after '0x'; "
            f"an address has exactly 40{hint}."
        )
    address = bytes.fromhex(digits)
    if digits == digits.lower() or digits == digits.upper():
        return address
    expected = to_checksum_address(address)
    if text != expected:
        raise InvalidAddress(
            f"Address {text} mixes upper and lower case but fails its EIP-55 checksum, which "
            f"usually means a mistyped character. Check that it is the address you meant; if "
            f"it is, its checksummed form is {expected}."
        )
    return address


def to_checksum_address(address: bytes) -> str:
    """Return the EIP-55 mixed-case checksum form (``0x`` + 40 hex digits) of a 20-byte address.

    Results are cached (:func:`functools.lru_cache`, at most 4096 entries). Anything but 20 bytes
    raises :class:`~dapp.errors.InvalidAddress`, so a short slice of a malformed payload rejects
    the input instead of printing a wrong address; a bytearray or memoryview is copied to bytes.
    """
    if type(address) is not bytes:
        if not isinstance(address, (bytes, bytearray, memoryview)):
            raise InvalidAddress(
                f"An address must be {ADDRESS_LENGTH} bytes, not {type(address).__name__}."
            )
        address = bytes(address)
    if len(address) != ADDRESS_LENGTH:
        raise InvalidAddress(
            f"An address must be {ADDRESS_LENGTH} bytes long, got {len(address)} bytes."
        )
    return _checksum(address)


@lru_cache(maxsize=4096)
def _checksum(address: bytes) -> str:
    """EIP-55 encode a 20-byte ``bytes``; bounded cache because the same few are printed often."""
    lower = address.hex()
    nibbles = keccak256(lower.encode("ascii")).hex()
    # Hex digit i is capitalised when nibble i of keccak256(lowercase hex) is >= 8 (digits 0-9
    # are unaffected by upper()); zip stops after the 40 digits, the hash's other 24 are unused.
    return "0x" + "".join(
        c.upper() if n in "89abcdef" else c for c, n in zip(lower, nibbles, strict=False)
    )


#: Cache statistics and reset of :func:`to_checksum_address` (for tests and diagnostics).
checksum_cache_info = _checksum.cache_info
checksum_cache_clear = _checksum.cache_clear
