"""devnet.outputs_v1 against independent references, then on anvil against the 1.4.5 bytecode.

References: eth_abi for the encodings; a plain MerkleV2 over 8-byte words of a memory image
(recursive halving, written here) for the output-hashes drive; MerkleV2's own pristine table
(`EMPTY_TREE_HASHES` in `@cartesi/util` 6.3.0's source) and, on chain, the deployed MerkleV2
library's `getEmptyTreeHashAtIndex`, `getMerkleRootFromBytes` and
`getRootAfterReplacementInDrive`; a level-by-level tree for the epoch drive. The on-chain test
deploys the official v1.4.5 set with `devnet.chain_v1.deploy_v1`, claims two epochs through the
Authority and executes withdrawal vouchers with the proofs of `EpochOutputs`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError
from web3.types import Wei

from devnet import chain as chain_module
from devnet import chain_v1
from devnet.outputs_v1 import (
    EPOCH_OUTPUT_LOG2_SIZE,
    EPOCH_PRISTINE_HASHES,
    EPOCH_SIBLINGS,
    KECCAK_LOG2_SIZE,
    MACHINE_STATE_HASH_PLACEHOLDER,
    OUTPUT_HASHES_SIBLINGS,
    OUTPUT_METADATA_LOG2_SIZE,
    PRISTINE_HASHES,
    WITHDRAW_ETHER_SELECTOR,
    EpochOutputs,
    claim_data,
    encode_notice,
    encode_voucher,
    encode_withdraw_ether,
    epoch_hash,
    notice_hash,
    output_hashes_root,
    output_hashes_siblings,
    output_leaf,
    proof_context,
    root_after_replacement_in_drive,
    validate_output,
    voucher_hash,
)

NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
MERKLE_V2_SOURCE = NODE_MODULES / "@cartesi" / "util" / "contracts" / "MerkleV2.sol"

ADDRESS = bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")
DAPP = "0xab7528bb862fB57E8A2BCd567a2e929a0Be56a5e"
#: anvil account 0: owner of the Authority deploy_v1 makes.
OWNER = Web3.to_checksum_address("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266")
PAYLOADS = [b"", b"\x01", b"a" * 31, b"b" * 32, b"c" * 33, bytes(range(100))]


def keccak(data: bytes) -> bytes:
    return bytes(Web3.keccak(data))


# --- plain references, written independently of devnet.outputs_v1 -------------------------------


@cache
def zero_region_root(log2_size: int) -> bytes:
    """MerkleV2 root of 2**log2_size zero bytes, hashed from the bytes themselves."""
    if log2_size == 3:
        return keccak(bytes(8))
    half = zero_region_root(log2_size - 1)
    return keccak(half + half)


def memory_root(memory: bytes, log2_size: int, offset: int = 0) -> bytes:
    """MerkleV2 root of the region [offset, offset + 2**log2_size) of a memory image whose bytes
    past `len(memory)` are zero: leaves are keccak256 of 8-byte words."""
    if offset >= len(memory):
        return zero_region_root(log2_size)
    if log2_size == 3:
        return keccak(memory[offset : offset + 8].ljust(8, b"\0"))
    half = 1 << (log2_size - 1)
    left = memory_root(memory, log2_size - 1, offset)
    return keccak(left + memory_root(memory, log2_size - 1, offset + half))


def memory_siblings(memory: bytes, position: int, log2_leaf: int, log2_size: int) -> list[bytes]:
    """Bottom-up siblings of the aligned region at `position` in the memory image."""
    return [
        memory_root(memory, log2, (position ^ (1 << log2)) >> log2 << log2)
        for log2 in range(log2_leaf, log2_size)
    ]


def epoch_root(leaves: list[bytes]) -> bytes:
    """Level-by-level root of 2**32 slots of 32 bytes, empty slot keccak256(32 zero bytes)."""
    level, empty = list(leaves), keccak(bytes(32))
    for _ in range(32):
        if len(level) % 2:
            level.append(empty)
        level = [keccak(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        empty = keccak(empty + empty)
    return level[0] if level else empty


def hashes_memory(hashes: list[bytes]) -> bytes:
    return b"".join(hashes)


def sample_hashes(n: int) -> list[bytes]:
    return [keccak(b"output %d" % i) for i in range(n)]


# --- encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_voucher_and_notice_are_abi_encode_without_selector(payload: bytes) -> None:
    checksum = Web3.to_checksum_address(ADDRESS)
    assert encode_voucher(ADDRESS, payload) == abi_encode(["address", "bytes"], [checksum, payload])
    assert encode_voucher(checksum, payload) == encode_voucher(ADDRESS, payload)
    assert encode_notice(payload) == abi_encode(["bytes"], [payload])
    assert voucher_hash(ADDRESS, payload) == keccak(encode_voucher(ADDRESS, payload))
    assert notice_hash(payload) == keccak(encode_notice(payload))


def test_voucher_layout_by_hand() -> None:
    encoded = encode_voucher(ADDRESS, b"xyz")
    assert encoded[:32] == bytes(12) + ADDRESS
    assert int.from_bytes(encoded[32:64], "big") == 64  # offset of the bytes
    assert int.from_bytes(encoded[64:96], "big") == 3
    assert encoded[96:] == b"xyz" + bytes(29)


def test_withdraw_ether_payload() -> None:
    assert keccak(b"withdrawEther(address,uint256)")[:4] == WITHDRAW_ETHER_SELECTOR
    payload = encode_withdraw_ether(ADDRESS, 5)
    assert payload == WITHDRAW_ETHER_SELECTOR + bytes(12) + ADDRESS + (5).to_bytes(32, "big")


def test_bad_addresses_are_rejected() -> None:
    with pytest.raises(ValueError):
        encode_voucher(b"\x01" * 19, b"")


# --- MerkleV2 ------------------------------------------------------------------------------------


def test_pristine_hashes_are_merkle_v2_empty_tree_hashes() -> None:
    match = re.search(r'EMPTY_TREE_HASHES\s*=\s*hex"([0-9a-f]+)"', MERKLE_V2_SOURCE.read_text())
    assert match is not None
    table = bytes.fromhex(match.group(1))
    assert len(table) == 61 * 32
    for index in range(61):
        assert PRISTINE_HASHES[index + 3] == table[index * 32 : index * 32 + 32]


def test_pristine_hashes_of_both_kinds() -> None:
    for log2 in range(3, 22):
        assert PRISTINE_HASHES[log2] == zero_region_root(log2)
    assert PRISTINE_HASHES[3] == keccak(bytes(8))
    assert PRISTINE_HASHES[5] != bytes(32)
    assert PRISTINE_HASHES[5] != keccak(bytes(32))
    assert EPOCH_PRISTINE_HASHES[5] == keccak(bytes(32))
    for log2 in range(5, 64):
        below = EPOCH_PRISTINE_HASHES[log2]
        assert EPOCH_PRISTINE_HASHES[log2 + 1] == keccak(below + below)


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_output_leaf_is_the_merkle_root_of_the_hash_bytes(output_hash: bytes) -> None:
    assert output_leaf(output_hash) == memory_root(output_hash, KECCAK_LOG2_SIZE)


def test_drive_sizes() -> None:
    assert (OUTPUT_METADATA_LOG2_SIZE, EPOCH_OUTPUT_LOG2_SIZE) == (21, 37)
    assert (OUTPUT_HASHES_SIBLINGS, EPOCH_SIBLINGS) == (16, 32)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 8, 17])
def test_output_hashes_root_and_siblings_match_the_memory_image(n: int) -> None:
    hashes = sample_hashes(n)
    memory = hashes_memory(hashes)
    root = output_hashes_root(hashes)
    assert root == memory_root(memory, OUTPUT_METADATA_LOG2_SIZE)
    for k in range(n):
        siblings = output_hashes_siblings(hashes, k)
        assert siblings == memory_siblings(
            memory, k << KECCAK_LOG2_SIZE, KECCAK_LOG2_SIZE, OUTPUT_METADATA_LOG2_SIZE
        )
        rebuilt = root_after_replacement_in_drive(
            k << 5, 5, OUTPUT_METADATA_LOG2_SIZE, output_leaf(hashes[k]), siblings
        )
        assert rebuilt == root


def test_no_outputs_is_the_pristine_drive() -> None:
    assert output_hashes_root([]) == PRISTINE_HASHES[21] == zero_region_root(21)


def test_root_after_replacement_reverts_where_merkle_v2_does() -> None:
    leaf = bytes(32)
    with pytest.raises(ValueError, match="aligned"):
        root_after_replacement_in_drive(1, 5, 21, leaf, [leaf] * 16)
    with pytest.raises(ValueError, match="length"):
        root_after_replacement_in_drive(0, 5, 21, leaf, [leaf] * 15)
    with pytest.raises(ValueError, match="logSize"):
        root_after_replacement_in_drive(0, 2, 21, leaf, [leaf] * 19)


# --- epochs and claims ---------------------------------------------------------------------------


def two_input_epoch(first: int = 0) -> EpochOutputs:
    epoch = EpochOutputs(first)
    epoch.add_input(first, notices=[b"hello"])
    epoch.add_input(
        first + 1,
        vouchers=[(DAPP, encode_withdraw_ether(ADDRESS, 1)), (ADDRESS, b"\x12\x34")],
        notices=[b"n0", b"n1", b"n2"],
    )
    return epoch


def test_epoch_roots_match_the_reference() -> None:
    epoch = two_input_epoch()
    first = epoch.input(0)
    second = epoch.input(1)
    vouchers = [
        memory_root(hashes_memory(first.voucher_hashes()), 21),
        memory_root(hashes_memory(second.voucher_hashes()), 21),
    ]
    notices = [
        memory_root(hashes_memory(first.notice_hashes()), 21),
        memory_root(hashes_memory(second.notice_hashes()), 21),
    ]
    assert epoch.vouchers_epoch_root() == epoch_root(vouchers)
    assert epoch.notices_epoch_root() == epoch_root(notices)
    expected = keccak(epoch_root(vouchers) + epoch_root(notices) + bytes(32))
    assert epoch.epoch_hash() == expected
    assert epoch.claim() == (expected, 0, 1)
    assert bytes(32) == MACHINE_STATE_HASH_PLACEHOLDER


def test_rejected_input_slot_is_zero() -> None:
    epoch = EpochOutputs(4)
    epoch.add_input(4, rejected=True)
    epoch.add_input(5, vouchers=[(ADDRESS, b"")])
    leaves = [bytes(32), output_hashes_root([voucher_hash(ADDRESS, b"")])]
    assert epoch.vouchers_epoch_root() == epoch_root(leaves)
    assert epoch.notices_epoch_root() == epoch_root([bytes(32), PRISTINE_HASHES[21]])
    with pytest.raises(ValueError):
        epoch.add_input(6, notices=[b"x"], rejected=True)


def test_claim_data_layout() -> None:
    digest = keccak(b"epoch")
    data = claim_data(ADDRESS, digest, 3, 7)
    assert data == bytes(12) + ADDRESS + digest + (3).to_bytes(32, "big") + (7).to_bytes(32, "big")
    epoch = two_input_epoch(10)
    assert epoch.claim_data(ADDRESS) == claim_data(ADDRESS, epoch.epoch_hash(), 10, 11)
    with pytest.raises(ValueError):
        claim_data(ADDRESS, digest, 8, 7)
    with pytest.raises(ValueError):
        EpochOutputs(0).claim_data(ADDRESS)


def test_inputs_must_be_consecutive() -> None:
    epoch = EpochOutputs(2)
    with pytest.raises(ValueError):
        epoch.add_input(3)
    epoch.add_input(2)
    assert epoch.next_input_index == 3
    assert epoch.last_input_index == 2


def test_every_proof_validates_and_tampering_fails() -> None:
    epoch = two_input_epoch(6)
    digest = epoch.epoch_hash()
    for input_index in (6, 7):
        outputs = epoch.input(input_index)
        for k, (destination, payload) in enumerate(outputs.vouchers):
            proof = epoch.voucher_proof(input_index, k, claim_index=3)
            assert proof["context"] == (3).to_bytes(32, "big") == proof_context(3)
            validity = proof["validity"]
            assert validity["inputIndexWithinEpoch"] == input_index - 6
            assert len(validity["outputHashInOutputHashesSiblings"]) == 16
            assert len(validity["outputHashesInEpochSiblings"]) == 32
            encoded = encode_voucher(destination, payload)
            assert validate_output(validity, encoded, digest, voucher=True) is None
            assert validate_output(validity, encoded, digest, voucher=False) is not None
            wrong = encode_voucher(destination, payload + b"!")
            assert (
                validate_output(validity, wrong, digest, voucher=True)
                == "IncorrectOutputHashesRootHash"
            )
        for k, payload in enumerate(outputs.notices):
            validity = epoch.notice_proof(input_index, k, claim_index=0)["validity"]
            encoded = encode_notice(payload)
            assert validate_output(validity, encoded, digest, voucher=False) is None

    validity = epoch.voucher_proof(7, 1, claim_index=0)["validity"]
    encoded = encode_voucher(ADDRESS, b"\x12\x34")
    tampered = dict(validity, machineStateHash=keccak(b"machine"))
    assert validate_output(tampered, encoded, digest, voucher=True) == "IncorrectEpochHash"
    siblings = list(validity["outputHashesInEpochSiblings"])
    siblings[5] = keccak(b"x")
    tampered = dict(validity, outputHashesInEpochSiblings=siblings)
    result = validate_output(tampered, encoded, digest, voucher=True)
    assert result == "IncorrectOutputsEpochRootHash"
    siblings = list(validity["outputHashInOutputHashesSiblings"])
    siblings[0] = keccak(b"x")
    tampered = dict(validity, outputHashInOutputHashesSiblings=siblings)
    result = validate_output(tampered, encoded, digest, voucher=True)
    assert result == "IncorrectOutputHashesRootHash"


def test_missing_outputs_are_errors() -> None:
    epoch = two_input_epoch()
    with pytest.raises(IndexError):
        epoch.voucher_proof(0, 0, claim_index=0)
    with pytest.raises(IndexError):
        epoch.notice_proof(1, 3, claim_index=0)
    with pytest.raises(IndexError):
        epoch.voucher_proof(2, 0, claim_index=0)


def test_epoch_hash_is_packed() -> None:
    a, b, c = keccak(b"a"), keccak(b"b"), keccak(b"c")
    assert epoch_hash(a, b, c) == keccak(a + b + c)
    assert epoch_hash(a, b) == keccak(a + b + bytes(32))


# --- on chain ------------------------------------------------------------------------------------


def error_selector(signature: str) -> str:
    return "0x" + keccak(signature.encode())[:4].hex()


def expect_custom_error(call: Any, signature: str) -> None:
    """`call` (a bound contract function) reverts with the custom error `signature`."""
    with pytest.raises(ContractCustomError) as info:
        call.call({"from": OWNER})
    data = info.value.data
    assert isinstance(data, str)
    assert data.startswith(error_selector(signature)), (data, signature)


class Chain:
    def __init__(self, w3: Web3, dapp: Contract, authority: Contract, merkle: Contract) -> None:
        self.w3 = w3
        self.dapp = dapp
        self.authority = authority
        self.merkle = merkle
        self.owner = w3.eth.accounts[0]

    def send(self, call: Any, value: int = 0) -> None:
        tx = call.build_transaction({"from": self.owner, "value": value})
        receipt = self.w3.eth.wait_for_transaction_receipt(self.w3.eth.send_transaction(tx))
        assert receipt["status"] == 1


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    with chain_module.Anvil(port=chain_module.free_port()) as anvil:
        deployment = chain_v1.deploy_v1(anvil.rpc_url)
        w3 = Web3(Web3.HTTPProvider(anvil.rpc_url))
        dapp = w3.eth.contract(address=deployment.application, abi=chain_v1.v1_abi("CartesiDApp"))
        authority = w3.eth.contract(address=deployment.authority, abi=chain_v1.v1_abi("Authority"))
        merkle = w3.eth.contract(
            address=deployment.contracts["MerkleV2"], abi=chain_v1.v1_abi("MerkleV2")
        )
        yield Chain(w3, dapp, authority, merkle)


def test_merkle_v2_library_on_chain_agrees(chain: Chain) -> None:
    merkle = chain.merkle.functions
    for index in (0, 1, 2, 18, 34, 60):
        assert bytes(merkle.getEmptyTreeHashAtIndex(index).call()) == PRISTINE_HASHES[index + 3]
    for output_hash in sample_hashes(3):
        assert bytes(merkle.getMerkleRootFromBytes(output_hash, 5).call()) == output_leaf(
            output_hash
        )
    hashes = sample_hashes(5)
    siblings = output_hashes_siblings(hashes, 3)
    on_chain = merkle.getRootAfterReplacementInDrive(
        3 << 5, 5, 21, output_leaf(hashes[3]), siblings
    ).call()
    assert bytes(on_chain) == output_hashes_root(hashes)


def test_claims_and_voucher_execution_on_chain(chain: Chain) -> None:
    w3, dapp = chain.w3, chain.dapp
    ether = 10**18
    receiver = Web3.to_checksum_address("0x" + "00" * 19 + "e1")
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": chain.owner, "to": dapp.address, "value": Wei(10 * ether)})
    )
    assert w3.eth.get_balance(dapp.address) == 10 * ether

    # Epoch of inputs 0 and 1: the second one pays 1 and 2 ether through withdrawEther.
    epoch = EpochOutputs(0)
    epoch.add_input(0, notices=[b"first"])
    epoch.add_input(
        1,
        vouchers=[
            (dapp.address, encode_withdraw_ether(receiver, ether)),
            (dapp.address, encode_withdraw_ether(receiver, 2 * ether)),
        ],
        notices=[b"second", b"third"],
    )
    chain.send(chain.authority.functions.submitClaim(epoch.claim_data(dapp.address)))
    context = proof_context(0)
    stored = chain.authority.functions.getClaim(dapp.address, context).call()
    assert (bytes(stored[0]), stored[1], stored[2]) == epoch.claim()

    destination, payload = epoch.input(1).vouchers[1]
    proof = epoch.voucher_proof(1, 1, claim_index=0)
    execute = dapp.functions.executeVoucher(destination, payload, proof)
    assert execute.call({"from": chain.owner}) is True
    assert not dapp.functions.wasVoucherExecuted(1, 1).call()
    chain.send(execute)
    assert w3.eth.get_balance(receiver) == 2 * ether
    assert w3.eth.get_balance(dapp.address) == 8 * ether
    assert dapp.functions.wasVoucherExecuted(1, 1).call()
    assert not dapp.functions.wasVoucherExecuted(1, 0).call()
    expect_custom_error(execute, "VoucherReexecutionNotAllowed()")

    # Tampered proofs of the other voucher revert, the genuine one pays.
    destination, payload = epoch.input(1).vouchers[0]
    proof = epoch.voucher_proof(1, 0, claim_index=0)
    validity = proof["validity"]
    for field, index, error in (
        ("outputHashInOutputHashesSiblings", 3, "IncorrectOutputHashesRootHash()"),
        ("outputHashesInEpochSiblings", 0, "IncorrectOutputsEpochRootHash()"),
    ):
        siblings = list(validity[field])
        siblings[index] = keccak(b"tampered")
        bad = dict(proof, validity=dict(validity, **{field: siblings}))
        call = dapp.functions.executeVoucher(destination, payload, bad)
        expect_custom_error(call, error)
    bad = dict(proof, validity=dict(validity, machineStateHash=keccak(b"machine")))
    call = dapp.functions.executeVoucher(destination, payload, bad)
    expect_custom_error(call, "IncorrectEpochHash()")
    wrong_payload = encode_withdraw_ether(receiver, 5 * ether)
    call = dapp.functions.executeVoucher(destination, wrong_payload, proof)
    expect_custom_error(call, "IncorrectOutputHashesRootHash()")
    chain.send(dapp.functions.executeVoucher(destination, payload, proof))
    assert w3.eth.get_balance(receiver) == 3 * ether
    assert dapp.functions.wasVoucherExecuted(1, 0).call()

    # Notices validate, a changed one does not.
    assert dapp.functions.validateNotice(b"third", epoch.notice_proof(1, 1, claim_index=0)).call()
    assert dapp.functions.validateNotice(b"first", epoch.notice_proof(0, 0, claim_index=0)).call()
    call = dapp.functions.validateNotice(b"thirds", epoch.notice_proof(1, 1, claim_index=0))
    expect_custom_error(call, "IncorrectOutputHashesRootHash()")

    # Second claim: inputs 2 (rejected) and 3; its proofs need context 1.
    second = EpochOutputs(epoch.last_input_index + 1)
    second.add_input(2, rejected=True)
    second.add_input(3, vouchers=[(dapp.address, encode_withdraw_ether(receiver, 4 * ether))])
    chain.send(chain.authority.functions.submitClaim(second.claim_data(dapp.address)))
    destination, payload = second.input(3).vouchers[0]
    stale = second.voucher_proof(3, 0, claim_index=0)
    call = dapp.functions.executeVoucher(destination, payload, stale)
    expect_custom_error(call, "IncorrectEpochHash()")
    missing = second.voucher_proof(3, 0, claim_index=2)
    call = dapp.functions.executeVoucher(destination, payload, missing)
    expect_custom_error(call, "InvalidClaimIndex()")
    chain.send(
        dapp.functions.executeVoucher(
            destination, payload, second.voucher_proof(3, 0, claim_index=1)
        )
    )
    assert w3.eth.get_balance(receiver) == 7 * ether
    assert dapp.functions.wasVoucherExecuted(3, 0).call()

    # History keeps claims contiguous: a gap is refused.
    gap = EpochOutputs(5)
    gap.add_input(5)
    call = chain.authority.functions.submitClaim(gap.claim_data(dapp.address))
    expect_custom_error(call, "UnclaimedInputs()")
