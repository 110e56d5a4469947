"""devnet.outputs against independent references: eth_abi for the encodings, a plain level-by-level
Merkle computation (the shape of `LibMerkle32.merkleRoot` / `.siblings`) for roots and proofs,
libcmt's pristine-hash table for the zero hashes, and the `@cartesi/rollups` 2.2.0 artifacts
for the selectors and signatures (`make install` fetches them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from devnet.outputs import (
    DELEGATE_CALL_VOUCHER_SELECTOR,
    EMPTY_ROOT,
    LOG2_MAX_OUTPUTS,
    MAX_OUTPUTS,
    NOTICE_SELECTOR,
    VOUCHER_SELECTOR,
    ZERO_HASHES,
    OutputsTree,
    claim_block_ok,
    encode_delegate_call_voucher,
    encode_notice,
    encode_voucher,
    epoch_last_block,
    root_from_proof,
    verify,
    verify_hash,
)

ARTIFACTS = Path(__file__).resolve().parent.parent / "node_modules" / "@cartesi" / "rollups" / "out"

ADDRESS = bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")
PAYLOADS = [b"", b"\x01", b"a" * 31, b"b" * 32, b"c" * 33, bytes(range(100))]


def keccak(data: bytes) -> bytes:
    return bytes(Web3.keccak(data))


def selector(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


# --- a plain reference tree, written independently of devnet.outputs ---------------------------


def naive_root(leaves: list[bytes], height: int = 63) -> bytes:
    """Halve the level `height` times, padding an odd level with the level's empty node."""
    level = list(leaves)
    empty = bytes(32)
    for _ in range(height):
        if len(level) % 2:
            level.append(empty)
        level = [keccak(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        empty = keccak(empty + empty)
    assert len(level) <= 1
    return level[0] if level else empty


def naive_siblings(leaves: list[bytes], index: int, height: int = 63) -> list[bytes]:
    level = list(leaves)
    empty = bytes(32)
    siblings = []
    for _ in range(height):
        sibling = index ^ 1
        siblings.append(level[sibling] if sibling < len(level) else empty)
        if len(level) % 2:
            level.append(empty)
        level = [keccak(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        empty = keccak(empty + empty)
        index >>= 1
    return siblings


def outputs(n: int) -> list[bytes]:
    """n encoded outputs, notices and vouchers mixed, as the application emits them."""
    result = []
    for i in range(n):
        if i % 3 == 2:
            result.append(encode_voucher(ADDRESS, i, b"transfer" + bytes([i])))
        else:
            result.append(encode_notice(json.dumps({"input_index": i}).encode()))
    return result


def tree_of(items: list[bytes]) -> OutputsTree:
    tree = OutputsTree()
    for i, item in enumerate(items):
        assert tree.append(item) == i
    return tree


# --- encodings -----------------------------------------------------------------------------------


def test_selectors_are_keccak_of_the_outputs_signatures() -> None:
    assert selector("Notice(bytes)") == NOTICE_SELECTOR
    assert selector("Voucher(address,uint256,bytes)") == VOUCHER_SELECTOR
    assert selector("DelegateCallVoucher(address,bytes)") == DELEGATE_CALL_VOUCHER_SELECTOR


@pytest.mark.parametrize("payload", PAYLOADS)
def test_notice_is_abi_call_data(payload: bytes) -> None:
    assert encode_notice(payload) == NOTICE_SELECTOR + abi_encode(["bytes"], [payload])


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("value", [0, 1, 10**18, 2**256 - 1])
def test_voucher_is_abi_call_data(payload: bytes, value: int) -> None:
    expected = VOUCHER_SELECTOR + abi_encode(
        ["address", "uint256", "bytes"], [Web3.to_checksum_address(ADDRESS), value, payload]
    )
    assert encode_voucher(ADDRESS, value, payload) == expected


@pytest.mark.parametrize("payload", PAYLOADS)
def test_delegate_call_voucher_is_abi_call_data(payload: bytes) -> None:
    expected = DELEGATE_CALL_VOUCHER_SELECTOR + abi_encode(
        ["address", "bytes"], [Web3.to_checksum_address(ADDRESS), payload]
    )
    assert encode_delegate_call_voucher(ADDRESS, payload) == expected


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=20, max_size=20), st.integers(0, 2**256 - 1), st.binary(max_size=200))
def test_voucher_encoding_matches_eth_abi_for_any_arguments(
    destination: bytes, value: int, payload: bytes
) -> None:
    expected = VOUCHER_SELECTOR + abi_encode(
        ["address", "uint256", "bytes"], [Web3.to_checksum_address(destination), value, payload]
    )
    assert encode_voucher(destination, value, payload) == expected


def test_erc20_withdrawal_voucher_round_trips_through_the_abi() -> None:
    """PROTOCOL §3: a withdrawal voucher carries `transfer(address,uint256)` call data."""
    transfer = selector("transfer(address,uint256)") + abi_encode(
        ["address", "uint256"], [Web3.to_checksum_address(ADDRESS), 5]
    )
    token = bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3")
    output = encode_voucher(token, 0, transfer)
    contract = Web3().eth.contract(abi=_outputs_abi())
    fn, args = contract.decode_function_input(output)
    assert fn.abi["name"] == "Voucher"
    assert (args["destination"].lower(), args["value"], args["payload"]) == (
        "0x" + token.hex(),
        0,
        transfer,
    )


def test_encoders_reject_what_the_abi_cannot_carry() -> None:
    with pytest.raises(ValueError):
        encode_voucher(ADDRESS[:19], 0, b"")
    with pytest.raises(ValueError):
        encode_voucher(ADDRESS, -1, b"")
    with pytest.raises(ValueError):
        encode_voucher(ADDRESS, 2**256, b"")
    with pytest.raises(ValueError):
        encode_delegate_call_voucher(ADDRESS + b"\x00", b"")


def _outputs_abi() -> list[dict[str, Any]]:
    """The `Outputs` interface as Solidity declares it (the artifact's ABI, minus metadata)."""

    def fn(name: str, *inputs: tuple[str, str]) -> dict[str, Any]:
        return {
            "type": "function",
            "name": name,
            "inputs": [{"name": n, "type": t} for t, n in inputs],
            "outputs": [],
            "stateMutability": "nonpayable",
        }

    return [
        fn("Notice", ("bytes", "payload")),
        fn("Voucher", ("address", "destination"), ("uint256", "value"), ("bytes", "payload")),
        fn("DelegateCallVoucher", ("address", "destination"), ("bytes", "payload")),
    ]


# --- zero hashes and roots -----------------------------------------------------------------------


def test_zero_hashes_are_the_pristine_hashes_of_libcmt() -> None:
    """Values from machine-guest-tools `sys-utils/libcmt/src/merkle.c` (`pristine_hash`)."""
    assert len(ZERO_HASHES) == LOG2_MAX_OUTPUTS + 1 == 64
    assert ZERO_HASHES[0] == bytes(32)
    assert (
        ZERO_HASHES[1].hex() == "ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5"
    )
    assert (
        ZERO_HASHES[2].hex() == "b4c11951957c6f8f642c4af61cd6b24640fec6dc7fc607ee8206a99e92410d30"
    )
    assert ZERO_HASHES[62].hex() == (
        "28203985b5f2d87709171678169739f957d2745f4bfa5cc91e2b4bd9bf483b40"
    )
    for h in range(LOG2_MAX_OUTPUTS):
        assert ZERO_HASHES[h + 1] == keccak(ZERO_HASHES[h] + ZERO_HASHES[h])


def test_empty_root_is_the_top_zero_hash() -> None:
    expected = "0a162946e56158bac0673e6dd3bdfdc1e4a0e7744a120fdb640050c8d7abe1c6"
    assert EMPTY_ROOT.hex() == expected
    assert OutputsTree().root() == EMPTY_ROOT == naive_root([]) == ZERO_HASHES[63]
    assert len(OutputsTree()) == 0


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33])
def test_root_matches_a_naive_full_tree(n: int) -> None:
    items = outputs(n)
    tree = tree_of(items)
    assert len(tree) == n
    assert tree.root() == naive_root([keccak(o) for o in items])


def test_root_after_each_prefix_is_the_claim_of_that_moment() -> None:
    """A claim after k outputs must not change when later outputs are appended."""
    items = outputs(12)
    tree = tree_of(items)
    leaves = [keccak(o) for o in items]
    for k in range(13):
        assert tree.root(k) == naive_root(leaves[:k])
        assert tree_of(items[:k]).root() == tree.root(k)
    with pytest.raises(ValueError):
        tree.root(13)
    with pytest.raises(ValueError):
        tree.root(-1)


def test_append_hash_and_leaf() -> None:
    tree = OutputsTree()
    output = encode_notice(b"x")
    assert tree.append_hash(keccak(output)) == 0
    assert tree.leaf(0) == keccak(output)
    assert tree.root() == tree_of([output]).root()
    with pytest.raises(ValueError):
        tree.append_hash(b"short")


# --- proofs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
def test_every_proof_verifies_and_matches_the_naive_siblings(n: int) -> None:
    items = outputs(n)
    tree = tree_of(items)
    root = tree.root()
    leaves = [keccak(o) for o in items]
    for i, output in enumerate(items):
        siblings = tree.proof(i)
        assert len(siblings) == LOG2_MAX_OUTPUTS
        assert siblings == naive_siblings(leaves, i)
        assert verify(root, output, i, siblings)
        assert verify_hash(root, leaves[i], i, siblings)
        assert root_from_proof(leaves[i], i, siblings) == root


def test_proofs_against_an_earlier_claim() -> None:
    """An output proven against the root of its own epoch while later outputs already exist."""
    items = outputs(11)
    tree = tree_of(items)
    for count in (1, 4, 6, 11):
        root = tree.root(count)
        for i in range(count):
            siblings = tree.proof(i, count)
            assert siblings == tree_of(items[:count]).proof(i)
            assert verify(root, items[i], i, siblings)
        with pytest.raises(IndexError):
            tree.proof(count, count)


def test_tampered_proofs_fail() -> None:
    items = outputs(5)
    tree = tree_of(items)
    root = tree.root()
    for i, output in enumerate(items):
        siblings = tree.proof(i)
        for level in range(LOG2_MAX_OUTPUTS):
            changed = list(siblings)
            changed[level] = bytes([changed[level][0] ^ 1]) + changed[level][1:]
            assert not verify(root, output, i, changed)
        for wrong in {i ^ 1, i + 1, i + 2, i + (1 << 40), i + (1 << 62)}:
            assert not verify(root, output, wrong, siblings)
        assert not verify(root, output + b"\x00", i, siblings)
        assert not verify(root, items[(i + 1) % 5], i, siblings)
        assert not verify(tree.root(4 if i < 4 else 3), output, i, siblings)
        assert not verify(root, output, i, siblings[:-1])
        assert not verify(root, output, i, [*siblings, bytes(32)])
        assert not verify(root, output, i + MAX_OUTPUTS, siblings)
        assert not verify(root, output, -1, siblings)


def test_root_from_proof_reverts_where_the_contract_does() -> None:
    with pytest.raises(ValueError):
        root_from_proof(bytes(32), 2, [bytes(32)])  # index >> height != 0
    with pytest.raises(ValueError):
        root_from_proof(bytes(31), 0, [bytes(32)])
    assert root_from_proof(bytes(32), 1, [bytes(32)]) == ZERO_HASHES[1]


def test_proof_of_a_missing_output_is_an_error() -> None:
    tree = tree_of(outputs(3))
    for index in (-1, 3, 100):
        with pytest.raises(IndexError):
            tree.proof(index)
    with pytest.raises(ValueError):
        tree.proof(0, 4)


def test_a_large_tree_stays_cheap_and_exact() -> None:
    """1,000 appends and proofs at the edges, checked against the naive tree."""
    tree = OutputsTree()
    leaves = [keccak(i.to_bytes(4, "big")) for i in range(1000)]
    for leaf in leaves:
        tree.append_hash(leaf)
    assert tree.root() == naive_root(leaves)
    for i in (0, 511, 512, 998, 999):
        assert tree.proof(i) == naive_siblings(leaves, i)
        assert verify_hash(tree.root(), leaves[i], i, tree.proof(i))


# --- claims --------------------------------------------------------------------------------------


def test_epoch_last_block() -> None:
    assert [epoch_last_block(b, 4) for b in range(9)] == [3, 3, 3, 3, 7, 7, 7, 7, 11]
    assert epoch_last_block(5, 1) == 5
    with pytest.raises(ValueError):
        epoch_last_block(5, 0)
    with pytest.raises(ValueError):
        epoch_last_block(-1, 4)


def test_claim_block_rules_of_the_authority() -> None:
    assert claim_block_ok(3, 4, 4)  # last block of epoch 0, claimed in block 4
    assert not claim_block_ok(3, 4, 3)  # NotPastBlock: not strictly before the claim's block
    assert not claim_block_ok(2, 4, 10)  # NotEpochFinalBlock
    assert not claim_block_ok(4, 4, 10)
    assert claim_block_ok(7, 1, 8)  # epoch length 1: any past block
    assert not claim_block_ok(7, 0, 8)


# --- cross-check against the @cartesi/rollups 2.2.0 artifacts -------------------------------------


def _artifact(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ARTIFACTS / f"{name}.sol" / f"{name}.json").read_text())
    return data


def _signature(entry: dict[str, Any]) -> str:
    def kind(param: dict[str, Any]) -> str:
        if param["type"].startswith("tuple"):
            inner = ",".join(kind(c) for c in param["components"])
            return f"({inner}){param['type'][5:]}"
        return str(param["type"])

    return f"{entry['name']}({','.join(kind(p) for p in entry['inputs'])})"


def test_outputs_interface_matches_the_artifact() -> None:
    artifact = _artifact("Outputs")
    abi = {e["name"]: e for e in artifact["abi"] if e["type"] == "function"}
    assert set(abi) == {"Notice", "Voucher", "DelegateCallVoucher"}
    ours = {e["name"]: e for e in _outputs_abi()}
    for name, entry in abi.items():
        assert [(p["name"], p["type"]) for p in entry["inputs"]] == [
            (p["name"], p["type"]) for p in ours[name]["inputs"]
        ]
    # Selectors computed from the artifact's ABI json, and the compiler's own identifiers.
    assert selector(_signature(abi["Notice"])) == NOTICE_SELECTOR
    assert selector(_signature(abi["Voucher"])) == VOUCHER_SELECTOR
    assert selector(_signature(abi["DelegateCallVoucher"])) == DELEGATE_CALL_VOUCHER_SELECTOR
    ids = artifact["methodIdentifiers"]
    assert bytes.fromhex(ids["Notice(bytes)"]) == NOTICE_SELECTOR
    assert bytes.fromhex(ids["Voucher(address,uint256,bytes)"]) == VOUCHER_SELECTOR
    assert bytes.fromhex(ids["DelegateCallVoucher(address,bytes)"]) == (
        DELEGATE_CALL_VOUCHER_SELECTOR
    )


def test_application_and_authority_signatures_match_the_artifacts() -> None:
    application = _artifact("Application")
    signatures = {_signature(e) for e in application["abi"] if e["type"] in ("function", "error")}
    assert "executeOutput(bytes,(uint64,bytes32[]))" in signatures
    assert "validateOutputHash(bytes32,(uint64,bytes32[]))" in signatures
    assert "InvalidOutputHashesSiblingsArrayLength()" in signatures
    assert "InvalidOutputsMerkleRoot(bytes32)" in signatures
    authority = _artifact("Authority")
    signatures = {_signature(e) for e in authority["abi"] if e["type"] in ("function", "error")}
    assert "submitClaim(address,uint256,bytes32)" in signatures
    assert "getEpochLength()" in signatures
    assert {
        "NotEpochFinalBlock(uint256,uint256)",
        "NotPastBlock(uint256,uint256)",
        "NotFirstClaim(address,uint256)",
    } <= signatures
    assert "submitClaim(address,uint256,bytes32)" in authority["methodIdentifiers"]
