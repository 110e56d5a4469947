"""dapp.keccak and dapp.addresses: Keccak-256 against published vectors and pycryptodome, EIP-55.

The Keccak-256 vectors are the ones every Ethereum implementation tests against (the Keccak
team's 200 x 0xA3 message, the Solidity ERC-20 selector and topic) plus messages of 135, 136 and
137 bytes around the 136-byte rate, where the padding takes one byte, a whole block, or spills
into a second block. pycryptodome (a C implementation, present in the test environment only) is
the independent oracle for hypothesis-generated inputs. The EIP-55 vectors are the "All caps",
"All Lower" and "Normal" test cases of EIP-55 itself.
"""

from __future__ import annotations

import hashlib
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dapp.addresses import (
    ZERO_ADDRESS,
    checksum_cache_info,
    parse_address,
    to_checksum_address,
)
from dapp.errors import InvalidAddress, StreamdexError
from dapp.keccak import RATE, keccak256


def _pycryptodome_keccak() -> ModuleType:
    module: ModuleType = pytest.importorskip("Crypto.Hash.keccak")
    return module


def _reference(data: bytes) -> bytes:
    digest: bytes = _pycryptodome_keccak().new(digest_bits=256, data=data).digest()
    return digest


# --- Keccak-256 ---------------------------------------------------------------------------------
KECCAK_VECTORS = [
    (b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
    (b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
    (
        b"The quick brown fox jumps over the lazy dog",
        "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15",
    ),
    # 200 bytes: one full 136-byte block, then 64 bytes and the padding in a second block.
    (b"\xa3" * 200, "3a57666b048777f2c953dc4456f45a2588e1cb6f2da760122d530ac2ce607d4a"),
    # 135 bytes: the padding is the single byte 0x81.
    (b"\xa3" * 135, "3d28d08c3dacab77392064a939f3e7f8d03f2e02e2c664ac08a05f63ac652626"),
    (bytes(135), "29e3704feeca7fb9ba229f0fa04d9b36449cf3ad6e1d85d9cfff3a10df9abc3e"),
    # 136 bytes: exactly one block of data, the padding is a block of its own.
    (b"\xa3" * 136, "b82d89d96e5575d11a9e1f4cabb2a45e60899e69a19a724cd796bdcf13511018"),
    (bytes(136), "3a5912a7c5faa06ee4fe906253e339467a9ce87d533c65be3c15cb231cdb25f9"),
    # 137 bytes: one block, then one byte and 135 bytes of padding.
    (b"\xa3" * 137, "ec8008a74e50bc7d6b22c3ad85402bf10e6d4449f3c8618e36c461b8a44eeafb"),
    (bytes(137), "bee7fbb405cb0d91a8775e338c4a5e4b5d6b2d051f687fa942043cffdc73bd28"),
    # The ERC-20 transfer selector (first 4 bytes) and Transfer event topic.
    (
        b"transfer(address,uint256)",
        "a9059cbb2ab09eb219583f4a59a5d0623ade346d962bcd4e46b11da047c9049b",
    ),
    (
        b"Transfer(address,address,uint256)",
        "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
    ),
]


@pytest.mark.parametrize(("message", "digest"), KECCAK_VECTORS, ids=lambda v: repr(v)[:20])
def test_keccak256_known_vectors(message: bytes, digest: str) -> None:
    assert keccak256(message).hex() == digest


@pytest.mark.parametrize(("message", "digest"), KECCAK_VECTORS, ids=lambda v: repr(v)[:20])
def test_known_vectors_agree_with_pycryptodome(message: bytes, digest: str) -> None:
    assert _reference(message).hex() == digest


def test_keccak256_is_not_fips_sha3() -> None:
    # hashlib.sha3_256 pads with 0x06 (FIPS 202); Ethereum's Keccak-256 pads with 0x01.
    assert keccak256(b"") != hashlib.sha3_256(b"").digest()
    assert hashlib.sha3_256(b"").hexdigest().startswith("a7ffc6f8")


def test_keccak256_rate_is_136_bytes() -> None:
    assert RATE == 136


@pytest.mark.parametrize("length", [0, 1, 134, 135, 136, 137, 271, 272, 273, 1000, 4096])
def test_keccak256_lengths_around_block_boundaries(length: int) -> None:
    message = bytes((i * 7 + 3) & 0xFF for i in range(length))
    assert keccak256(message) == _reference(message)


def test_keccak256_accepts_bytes_like() -> None:
    expected = keccak256(b"abc")
    assert keccak256(bytearray(b"abc")) == expected
    assert keccak256(memoryview(b"xabcx")[1:4]) == expected


@pytest.mark.parametrize("value", ["abc", 3, None])
def test_keccak256_rejects_non_bytes(value: object) -> None:
    with pytest.raises(TypeError, match="keccak256 takes bytes"):
        keccak256(value)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3 * RATE + 10))
def test_keccak256_matches_pycryptodome(message: bytes) -> None:
    assert keccak256(message) == _reference(message)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=4), st.integers(min_value=-2, max_value=2), st.data())
def test_keccak256_matches_pycryptodome_near_rate_multiples(
    blocks: int, delta: int, data: st.DataObject
) -> None:
    message = data.draw(st.binary(min_size=blocks * RATE + delta, max_size=blocks * RATE + delta))
    assert keccak256(message) == _reference(message)


# --- EIP-55 -------------------------------------------------------------------------------------
EIP55_ALL_CAPS = [
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
]
EIP55_ALL_LOWER = [
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
]
EIP55_NORMAL = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]
EIP55_VECTORS = EIP55_ALL_CAPS + EIP55_ALL_LOWER + EIP55_NORMAL


@pytest.mark.parametrize("checksummed", EIP55_VECTORS)
def test_eip55_vectors_checksum(checksummed: str) -> None:
    assert to_checksum_address(bytes.fromhex(checksummed[2:])) == checksummed


@pytest.mark.parametrize("checksummed", EIP55_VECTORS)
def test_eip55_vectors_parse_in_every_accepted_case(checksummed: str) -> None:
    raw = bytes.fromhex(checksummed[2:])
    assert parse_address(checksummed) == raw
    assert parse_address(checksummed.lower()) == raw
    assert parse_address("0x" + checksummed[2:].upper()) == raw


@pytest.mark.parametrize("checksummed", EIP55_VECTORS)
def test_eip55_vectors_round_trip(checksummed: str) -> None:
    assert to_checksum_address(parse_address(checksummed)) == checksummed
    assert to_checksum_address(parse_address(checksummed.lower())) == checksummed


@pytest.mark.parametrize("checksummed", EIP55_NORMAL)
def test_eip55_vectors_with_one_letter_flipped_are_rejected(checksummed: str) -> None:
    for i, c in enumerate(checksummed[2:], start=2):
        if not c.isalpha():
            continue
        mutated = checksummed[:i] + c.swapcase() + checksummed[i + 1 :]
        with pytest.raises(InvalidAddress, match="fails its EIP-55 checksum"):
            parse_address(mutated)


def test_zero_address() -> None:
    assert bytes(20) == ZERO_ADDRESS
    assert to_checksum_address(ZERO_ADDRESS) == "0x" + "0" * 40
    assert parse_address("0x" + "0" * 40) == ZERO_ADDRESS


def test_digits_only_address_needs_no_checksum() -> None:
    assert parse_address("0x" + "1234567890" * 4) == bytes.fromhex("1234567890" * 4)


def test_to_checksum_address_accepts_bytearray() -> None:
    raw = bytes.fromhex(EIP55_NORMAL[0][2:])
    # Typed as bytes; other bytes-like values are copied rather than failing in the cache.
    assert to_checksum_address(bytearray(raw)) == EIP55_NORMAL[0]  # type: ignore[arg-type]
    assert to_checksum_address(memoryview(raw)) == EIP55_NORMAL[0]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (bytes(19), "must be 20 bytes long, got 19 bytes"),
        (bytes(32), "must be 20 bytes long, got 32 bytes"),
        (b"", "must be 20 bytes long, got 0 bytes"),
        ("0x" + "00" * 20, "must be 20 bytes, not str"),
        (None, "must be 20 bytes, not NoneType"),
    ],
)
def test_to_checksum_address_rejects_non_addresses(value: object, message: str) -> None:
    with pytest.raises(InvalidAddress, match=message):
        to_checksum_address(value)  # type: ignore[arg-type]


def test_to_checksum_address_is_cached_and_bounded() -> None:
    raw = bytes.fromhex("00112233445566778899aabbccddeeff00112233")
    to_checksum_address(raw)
    before = checksum_cache_info()
    assert to_checksum_address(raw) == to_checksum_address(bytes(raw))
    after = checksum_cache_info()
    assert after.hits == before.hits + 2
    assert after.maxsize == 4096


# --- rejections: every path, with the sentence a person reads -------------------------------------
GOOD = EIP55_NORMAL[0]  # 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # not a string (as the JSON types a frontend would send)
        (None, "An address must be a string of '0x' followed by 40 hex digits, not null."),
        (True, "An address must be a string of '0x' followed by 40 hex digits, not a boolean."),
        (123, "An address must be a string of '0x' followed by 40 hex digits, not a number."),
        (1.5, "An address must be a string of '0x' followed by 40 hex digits, not a number."),
        ([GOOD], "An address must be a string of '0x' followed by 40 hex digits, not an array."),
        ({}, "An address must be a string of '0x' followed by 40 hex digits, not an object."),
        (
            bytes(20),
            "An address must be a string of '0x' followed by 40 hex digits, not bytes.",
        ),
        # whitespace
        (
            " " + GOOD,
            f"Address ' {GOOD}' has spaces or other whitespace around it; remove them.",
        ),
        (
            GOOD + "\n",
            f"Address '{GOOD}\\n' has spaces or other whitespace around it; remove them.",
        ),
        # prefix
        (
            GOOD[2:],
            f"Address '{GOOD[2:]}' is missing the '0x' prefix; write it as '{GOOD}'.",
        ),
        (
            "0X" + GOOD[2:],
            f"Address '0X{GOOD[2:]}' starts with '0X'; write the prefix in lowercase, '0x'.",
        ),
        (
            "",
            "Address '' does not start with '0x'; an address is '0x' followed by 40 hex digits.",
        ),
        (
            "vitalik.eth",
            "Address 'vitalik.eth' does not start with '0x'; "
            "an address is '0x' followed by 40 hex digits.",
        ),
        (
            "x" + GOOD[2:],
            f"Address 'x{GOOD[2:]}' does not start with '0x'; "
            "an address is '0x' followed by 40 hex digits.",
        ),
        # non-hex digits
        (
            GOOD[:-1] + "g",
            f"Address '{GOOD[:-1]}g' contains 'g', which is not a hex digit; "
            "after '0x' only 0-9, a-f and A-F may appear.",
        ),
        (
            "0x" + "0" * 20 + " " + "0" * 19,
            f"Address '0x{'0' * 20} {'0' * 19}' contains ' ', which is not a hex digit; "
            "after '0x' only 0-9, a-f and A-F may appear.",
        ),
        (
            "0x0x" + "0" * 38,
            f"Address '0x0x{'0' * 38}' contains 'x', which is not a hex digit; "
            "after '0x' only 0-9, a-f and A-F may appear.",
        ),
        (
            "0x" + "\uff11" * 40,  # FULLWIDTH DIGIT ONE: str.isdigit() but not hex
            f"Address '0x{chr(0xFF11) * 40}' contains '\uff11', which is not a hex digit; "
            "after '0x' only 0-9, a-f and A-F may appear.",
        ),
        # wrong length
        ("0x", "Address '0x' has 0 hex digits after '0x'; an address has exactly 40."),
        (
            GOOD[:-1],
            f"Address '{GOOD[:-1]}' has 39 hex digits after '0x'; an address has exactly 40.",
        ),
        (
            GOOD + "0",
            f"Address '{GOOD}0' has 41 hex digits after '0x'; an address has exactly 40.",
        ),
        (
            "0x" + "00" * 12 + GOOD[2:].lower(),
            "Address '0x000000000000000000000000" + GOOD[2:26].lower() + "' (cut, 66 "
            "characters in all) has 64 hex digits after '0x'; an address has exactly 40 "
            "(64 hex digits is a 32-byte value such as a hash or an ABI word, not an address).",
        ),
        # bad checksum: says so, and shows the correctly checksummed form
        (
            "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "Address 0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed mixes upper and lower case but "
            "fails its EIP-55 checksum, which usually means a mistyped character. Check that it "
            f"is the address you meant; if it is, its checksummed form is {GOOD}.",
        ),
    ],
)
def test_parse_address_rejections(text: object, message: str) -> None:
    with pytest.raises(InvalidAddress) as caught:
        parse_address(text)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert caught.value.code == "INVALID_ADDRESS"
    assert isinstance(caught.value, StreamdexError)


def test_rejection_message_of_huge_input_is_short() -> None:
    with pytest.raises(InvalidAddress) as caught:
        parse_address("0x" + "a" * 100_000)
    assert len(str(caught.value)) < 200
    assert "100002 characters in all" in str(caught.value)


def test_bad_checksum_message_of_a_typo_shows_the_typo_s_checksum() -> None:
    # One digit mistyped (last d -> e) in a checksummed address: the checksum catches it, and the
    # suggested form is the checksum of what was typed, with the advice to check it.
    typo = GOOD[:-1] + "e"
    with pytest.raises(InvalidAddress) as caught:
        parse_address(typo)
    expected = to_checksum_address(bytes.fromhex(typo[2:]))
    assert expected.lower() == typo.lower()
    assert str(caught.value).endswith(f"its checksummed form is {expected}.")


# --- properties ---------------------------------------------------------------------------------
addresses = st.binary(min_size=20, max_size=20)


@settings(max_examples=300, deadline=None)
@given(addresses)
def test_round_trip(raw: bytes) -> None:
    text = to_checksum_address(raw)
    assert len(text) == 42
    assert text.startswith("0x")
    assert text.lower() == "0x" + raw.hex()
    assert parse_address(text) == raw
    assert parse_address(text.lower()) == raw
    assert parse_address("0x" + text[2:].upper()) == raw


@settings(max_examples=300, deadline=None)
@given(addresses, st.data())
def test_flipping_one_letter_is_rejected(raw: bytes, data: st.DataObject) -> None:
    text = to_checksum_address(raw)
    letters = [i for i, c in enumerate(text) if i >= 2 and c.isalpha()]
    if not letters:
        return  # all digits: there is no case to flip
    i = data.draw(st.sampled_from(letters))
    flipped = text[:i] + text[i].swapcase() + text[i + 1 :]
    digits = flipped[2:]
    if digits == digits.lower() or digits == digits.upper():
        # Flipping the only letter of the other case leaves a single-case address, which carries
        # no checksum and is accepted as it is (PROTOCOL §2.2).
        assert parse_address(flipped) == raw
        return
    with pytest.raises(InvalidAddress, match=f"its checksummed form is {text}"):
        parse_address(flipped)
