"""Outputs, their Merkle trees, claims and proofs, exactly as Cartesi Rollups v1.4.5 checks them.

`devnet/outputs.py` does this for the v2.2 contracts; this module is the same job for the v1
contracts that the Cartesi CLI 1.x and `@cartesi/rollups` 1.4.5 use: with it, the devnet can
submit a v1 claim for each epoch it closes and hand out proofs that `CartesiDApp.executeVoucher`
and `CartesiDApp.validateNotice` accept. Pure arithmetic, no chain access.

Sources (read, not copied): the npm package `@cartesi/rollups` 1.4.5 (installed as
`node_modules/@cartesi/rollups-v1`; `contracts/` and `export/artifacts/`), its dependency
`@cartesi/util` 6.3.0 (`node_modules/@cartesi/util/contracts/MerkleV2.sol`), and, for what the
contracts leave open (empty slots of the epoch trees, the context, the machine state hash), the
v1 node: cartesi/rollups-node `offchain/host-runner` (`src/grpc/server_manager.rs`,
`src/proofs.rs`, `src/merkle_tree/`: the node's machine-less mode) and the C++ server-manager
(`complete_merkle_tree vouchers_tree{LOG2_ROOT_SIZE=37, LOG2_KECCAK_SIZE=5, LOG2_KECCAK_SIZE=5}`).
Points 1 to 5 are checked on anvil against the 1.4.5 bytecode by `tests/test_outputs_v1.py`.

1. Output encoding (`contracts/common/OutputEncoding.sol`): a voucher is
   `abi.encode(address destination, bytes payload)`, a notice `abi.encode(bytes notice)`: the
   standard ABI encoding (head words, then length and right-padded data), no selector, no
   `encodePacked`, no Ether value (v1 vouchers carry none: Ether leaves the application through
   a voucher calling `CartesiDApp.withdrawEther(address,uint256)` on the application itself).
   The output hash is `keccak256` of that encoding (`LibOutputValidation.validateEncodedOutput`).

2. The output-hashes drive of one input (`contracts/common/CanonicalMachine.sol`,
   `contracts/library/LibOutputValidation.sol`). Vouchers and notices are separate: each input
   has a voucher-hashes memory range and a notice-hashes one, each
   `VOUCHER_METADATA_LOG2_SIZE = NOTICE_METADATA_LOG2_SIZE = 21` (2 MiB), and output k of that
   kind (k counted per input and per kind, from 0) has its 32-byte hash at byte `k << 5`
   (`getIntraMemoryRangePosition(k, KECCAK_LOG2_SIZE)`). The range is hashed like machine
   memory, by `MerkleV2` (`@cartesi/util` 6.3.0) on 8-byte words
   (`WORD_LOG2_SIZE = 3`): a word's leaf is `keccak256(word)`, a node `keccak256(left ‖ right)`.
   So the 32-byte node holding a hash h is NOT h but `getMerkleRootFromBytes(h, 5)` =
   `keccak(keccak(k(h[0:8]) ‖ k(h[8:16])) ‖ keccak(k(h[16:24]) ‖ k(h[24:32])))` (`output_leaf`),
   and an empty region of 2**s bytes hashes to the pristine hash `PRISTINE_HASHES[s]`:
   `PRISTINE_HASHES[3] = keccak256(8 zero bytes)` (`0x011b4d03…`, NOT zero, and not
   `keccak256(32 zero bytes)`), `PRISTINE_HASHES[s+1] = keccak(P[s] ‖ P[s])` — MerkleV2's
   `EMPTY_TREE_HASHES` table, `getEmptyTreeHashAtIndex(s - 3)`. The root of that drive is the
   proof's `outputHashesRootHash`; the 21 - 5 = 16 siblings `outputHashInOutputHashesSiblings`
   go bottom-up (`getRootAfterReplacementInDrive`: at level i the node is the left child iff
   bit `5 + i` of the position is 0). An input with no output of a kind has the pristine root
   `PRISTINE_HASHES[21]` for it (host-runner `compute_proofs` over no leaves).

3. The epoch drives. `vouchersEpochRootHash` (`noticesEpochRootHash`) is the root of a drive of
   `EPOCH_VOUCHER_LOG2_SIZE = EPOCH_NOTICE_LOG2_SIZE = 37` whose 32-byte slot i holds, AS A NODE
   (`getRootAfterReplacementInDrive(i << 5, 5, 37, outputHashesRootHash, siblings)`: no
   re-hashing), the voucher (notice) output-hashes root of the i-th input of the epoch
   (`inputIndexWithinEpoch`): 32 siblings `outputHashesInEpochSiblings`. The contracts cannot
   see slots after the epoch's last input; the v1 node fills them as its
   `complete_merkle_tree(37, 5, 5)` does, with a pristine leaf of a 32-byte WORD:
   `EPOCH_PRISTINE_HASHES[5] = keccak256(32 zero bytes)` (`0x290decd9…`), doubled upwards —
   a different table from point 2 (whose 32-byte pristine node is `PRISTINE_HASHES[5]`); this
   module follows the node. A rejected input's slot holds bytes32(0) (host-runner pushes
   `Hash::default()`); it has no outputs to prove.

4. The claim (`contracts/consensus/authority/Authority.sol`, `contracts/history/History.sol`).
   `epochHash = keccak256(abi.encodePacked(vouchersEpochRootHash, noticesEpochRootHash,
   machineStateHash))` (96 bytes, `validateEncodedOutput`). `machineStateHash` is the root hash
   of the Cartesi machine after the epoch: without a real machine it cannot exist, so the devnet
   uses the documented placeholder `MACHINE_STATE_HASH_PLACEHOLDER = bytes32(0)`, as the v1
   node's host-runner does (`machine_state_hash = [0; 32]`); the contracts only hash it, so
   proofs carry the same value and pass. `Authority.submitClaim(bytes claimData)` (owner only)
   forwards to `History.submitClaim`, which decodes `abi.decode(claimData, (address,
   Claim))` with `Claim{bytes32 epochHash; uint128 firstIndex; uint128 lastIndex}` (a static
   tuple: 4 words, no offset): the application and the inclusive range of the epoch's input
   indexes (indexes in the InputBox of that application). History requires
   `firstIndex <= lastIndex` (`InvalidInputIndices`: an epoch without inputs cannot be claimed)
   and `firstIndex == previous claim's lastIndex + 1`, or 0 for the first claim
   (`UnclaimedInputs`): claims are contiguous and in order. The History must be owned by the
   Authority and installed with `Authority.setHistory`.

5. The proof (`contracts/dapp/ICartesiDApp.sol`, `contracts/dapp/CartesiDApp.sol`).
   `Proof{OutputValidityProof validity; bytes context}`; `OutputValidityProof{uint64
   inputIndexWithinEpoch; uint64 outputIndexWithinInput; bytes32 outputHashesRootHash; bytes32
   vouchersEpochRootHash; bytes32 noticesEpochRootHash; bytes32 machineStateHash; bytes32[]
   outputHashInOutputHashesSiblings; bytes32[] outputHashesInEpochSiblings}`. `context` goes
   through `Authority.getClaim` to `History.getClaim(dapp, context)`, which reads
   `abi.decode(context, (uint256))` as the CLAIM INDEX (the n-th claim submitted for that
   application, from 0; not an epoch number: epochs without inputs are never claimed), else
   `InvalidClaimIndex`. `executeVoucher(destination, payload, proof)` then requires
   `firstIndex + inputIndexWithinEpoch <= lastIndex` (`InputIndexOutOfClaimBounds`), checks the
   epoch hash (`IncorrectEpochHash`), the input's root in the epoch drive
   (`IncorrectOutputsEpochRootHash`), the output in the input's drive
   (`IncorrectOutputHashesRootHash`), and that it did not run before
   (`VoucherReexecutionNotAllowed`, keyed `outputIndexWithinInput << 128 | inputIndex` with the
   global input index; `wasVoucherExecuted(inputIndex, outputIndexWithinInput)`), calls
   `destination` with `payload` and marks it executed only if the call succeeded (a failed
   call returns false, it does not revert). `validate_output` below is that check in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from Crypto.Hash import keccak as _keccak
from eth_abi.abi import encode as _abi_encode
from eth_utils.address import to_checksum_address as _checksum

__all__ = [
    "EPOCH_OUTPUT_LOG2_SIZE",
    "EPOCH_PRISTINE_HASHES",
    "EPOCH_SIBLINGS",
    "KECCAK_LOG2_SIZE",
    "MACHINE_STATE_HASH_PLACEHOLDER",
    "MAX_INPUTS_PER_EPOCH",
    "MAX_OUTPUTS_PER_INPUT",
    "OUTPUT_HASHES_SIBLINGS",
    "OUTPUT_METADATA_LOG2_SIZE",
    "PRISTINE_HASHES",
    "WITHDRAW_ETHER_SELECTOR",
    "WORD_LOG2_SIZE",
    "EpochOutputs",
    "InputOutputs",
    "claim_data",
    "encode_notice",
    "encode_voucher",
    "encode_withdraw_ether",
    "epoch_hash",
    "keccak256",
    "notice_hash",
    "output_hashes_root",
    "output_hashes_siblings",
    "output_leaf",
    "proof_context",
    "root_after_replacement_in_drive",
    "validate_output",
    "voucher_hash",
]

#: `CanonicalMachine.WORD_LOG2_SIZE`: MerkleV2 hashes memory in 8-byte words.
WORD_LOG2_SIZE = 3
#: `CanonicalMachine.KECCAK_LOG2_SIZE`: one output hash, one slot of the epoch drive.
KECCAK_LOG2_SIZE = 5
#: `VOUCHER_METADATA_LOG2_SIZE` = `NOTICE_METADATA_LOG2_SIZE`: an input's output-hashes drive.
OUTPUT_METADATA_LOG2_SIZE = 21
#: `EPOCH_VOUCHER_LOG2_SIZE` = `EPOCH_NOTICE_LOG2_SIZE`: the drive of an epoch's input roots.
EPOCH_OUTPUT_LOG2_SIZE = 37
#: Length of `outputHashInOutputHashesSiblings` (21 - 5).
OUTPUT_HASHES_SIBLINGS = OUTPUT_METADATA_LOG2_SIZE - KECCAK_LOG2_SIZE
#: Length of `outputHashesInEpochSiblings` (37 - 5).
EPOCH_SIBLINGS = EPOCH_OUTPUT_LOG2_SIZE - KECCAK_LOG2_SIZE
#: Vouchers (or notices) one input can have: 32-byte slots in its 2 MiB drive.
MAX_OUTPUTS_PER_INPUT = 1 << OUTPUT_HASHES_SIBLINGS
#: Inputs one epoch can hold: 32-byte slots in the epoch drive.
MAX_INPUTS_PER_EPOCH = 1 << EPOCH_SIBLINGS
#: The machine state hash of every claim: a placeholder, there is no Cartesi machine here.
MACHINE_STATE_HASH_PLACEHOLDER = bytes(32)
#: `bytes4(keccak256("withdrawEther(address,uint256)"))` of `CartesiDApp`.
WITHDRAW_ETHER_SELECTOR = bytes.fromhex("522f6815")

_WORD = 32
_MACHINE_LOG2_SIZE = 64
_UINT64_LIMIT = 1 << 64
_UINT128_LIMIT = 1 << 128


def keccak256(data: bytes) -> bytes:
    """Ethereum's Keccak-256 (original padding, not SHA3-256)."""
    return _keccak.new(digest_bits=256, data=data).digest()


def _parent(left: bytes, right: bytes) -> bytes:
    return keccak256(left + right)


def _pristine(log2_word: int) -> tuple[bytes, ...]:
    """`table[s]` = root of 2**s zero bytes hashed in words of 2**log2_word bytes, for
    `log2_word <= s <= 64`; entries below the word size repeat the word's hash (unused)."""
    word_hash = keccak256(bytes(1 << log2_word))
    table = [word_hash] * (log2_word + 1)
    for _ in range(log2_word, _MACHINE_LOG2_SIZE):
        table.append(_parent(table[-1], table[-1]))
    return tuple(table)


#: `PRISTINE_HASHES[s]`, 3 <= s <= 64: MerkleV2's hash of 2**s zero bytes of memory, built on
#: 8-byte words (`getEmptyTreeHashAtIndex(s - 3)`). Entries below 3 are unused.
PRISTINE_HASHES: tuple[bytes, ...] = _pristine(WORD_LOG2_SIZE)
#: `EPOCH_PRISTINE_HASHES[s]`, 5 <= s <= 64: the v1 node's empty subtree of the epoch trees,
#: built on 32-byte words (`complete_merkle_tree(37, 5, 5)`). Entries below 5 are unused.
EPOCH_PRISTINE_HASHES: tuple[bytes, ...] = _pristine(KECCAK_LOG2_SIZE)


# --- output encoding ---------------------------------------------------------------------------


def _address(destination: bytes | str) -> str:
    """An address given as 20 bytes or hex, in EIP-55 form (what web3 wants)."""
    raw = destination if isinstance(destination, bytes) else bytes.fromhex(destination[2:])
    if len(raw) != 20 or (isinstance(destination, str) and not destination.startswith("0x")):
        raise ValueError(f"an address is 20 bytes, got {destination!r}")
    return str(_checksum(raw))


def encode_voucher(destination: bytes | str, payload: bytes) -> bytes:
    """`OutputEncoding.encodeVoucher`: `abi.encode(address destination, bytes payload)`."""
    return _abi_encode(["address", "bytes"], [_address(destination), payload])


def encode_notice(payload: bytes) -> bytes:
    """`OutputEncoding.encodeNotice`: `abi.encode(bytes notice)`."""
    return _abi_encode(["bytes"], [payload])


def voucher_hash(destination: bytes | str, payload: bytes) -> bytes:
    """The voucher's output hash: keccak256 of its encoding."""
    return keccak256(encode_voucher(destination, payload))


def notice_hash(payload: bytes) -> bytes:
    """The notice's output hash: keccak256 of its encoding."""
    return keccak256(encode_notice(payload))


def encode_withdraw_ether(receiver: bytes | str, value: int) -> bytes:
    """Payload of a voucher to the application itself paying `value` wei to `receiver`:
    `CartesiDApp.withdrawEther(address,uint256)` call data (only the DApp may call it)."""
    return WITHDRAW_ETHER_SELECTOR + _abi_encode(
        ["address", "uint256"], [_address(receiver), value]
    )


# --- MerkleV2 ----------------------------------------------------------------------------------


def output_leaf(output_hash: bytes) -> bytes:
    """`MerkleV2.getMerkleRootFromBytes(abi.encodePacked(hash), 5)`: the node of the 32-byte
    slot holding an output hash, a Merkle tree over its four 8-byte words."""
    if len(output_hash) != _WORD:
        raise ValueError("an output hash is 32 bytes")
    words = [keccak256(output_hash[i : i + 8]) for i in range(0, _WORD, 8)]
    return _parent(_parent(words[0], words[1]), _parent(words[2], words[3]))


def root_after_replacement_in_drive(
    position: int,
    log2_replacement: int,
    log2_drive: int,
    replacement: bytes,
    siblings: Sequence[bytes],
) -> bytes:
    """`MerkleV2.getRootAfterReplacementInDrive`; raises ValueError where it reverts."""
    if not 3 <= log2_replacement <= log2_drive <= _MACHINE_LOG2_SIZE:
        raise ValueError("3 <= logSizeOfReplacement <= logSizeOfFullDrive <= 64")
    size = 1 << log2_replacement
    if position & (size - 1):
        raise ValueError("Position is not aligned")
    if len(siblings) != log2_drive - log2_replacement:
        raise ValueError("Proof length does not match")
    node = replacement
    for i, sibling in enumerate(siblings):
        node = _parent(node, sibling) if position & (size << i) == 0 else _parent(sibling, node)
    return node


class _Tree:
    """A complete Merkle tree of `height` levels over `leaves`, padded with `empty[level]`."""

    def __init__(self, leaves: Sequence[bytes], height: int, empty: Sequence[bytes]) -> None:
        if len(leaves) > 1 << height:
            raise ValueError("too many leaves for the tree")
        self._levels: list[list[bytes]] = [list(leaves)]
        self._empty = empty
        for level in range(height):
            below = self._levels[-1]
            if len(below) % 2:
                below = [*below, empty[level]]
            self._levels.append([_parent(below[i], below[i + 1]) for i in range(0, len(below), 2)])

    def root(self) -> bytes:
        top = self._levels[-1]
        return top[0] if top else self._empty[len(self._levels) - 1]

    def siblings(self, index: int) -> list[bytes]:
        if not 0 <= index < len(self._levels[0]):
            raise IndexError(f"no leaf {index}")
        result = []
        for level, nodes in enumerate(self._levels[:-1]):
            sibling = (index >> level) ^ 1
            result.append(nodes[sibling] if sibling < len(nodes) else self._empty[level])
        return result


def _output_tree(output_hashes: Sequence[bytes]) -> _Tree:
    if len(output_hashes) > MAX_OUTPUTS_PER_INPUT:
        raise ValueError("too many outputs for one input")
    leaves = [output_leaf(h) for h in output_hashes]
    return _Tree(leaves, OUTPUT_HASHES_SIBLINGS, PRISTINE_HASHES[KECCAK_LOG2_SIZE:])


def output_hashes_root(output_hashes: Sequence[bytes]) -> bytes:
    """`outputHashesRootHash`: root of the 2 MiB drive of one input's voucher (or notice)
    hashes, in order; `PRISTINE_HASHES[21]` for none."""
    return _output_tree(output_hashes).root()


def output_hashes_siblings(output_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """`outputHashInOutputHashesSiblings` of output `index` (16, bottom-up)."""
    return _output_tree(output_hashes).siblings(index)


# --- claims ------------------------------------------------------------------------------------


def epoch_hash(
    vouchers_epoch_root: bytes,
    notices_epoch_root: bytes,
    machine_state_hash: bytes = MACHINE_STATE_HASH_PLACEHOLDER,
) -> bytes:
    """`keccak256(abi.encodePacked(vouchersEpochRootHash, noticesEpochRootHash,
    machineStateHash))`."""
    if any(len(h) != _WORD for h in (vouchers_epoch_root, notices_epoch_root, machine_state_hash)):
        raise ValueError("the epoch hash is made of three bytes32")
    return keccak256(vouchers_epoch_root + notices_epoch_root + machine_state_hash)


def claim_data(dapp: bytes | str, epoch_hash_: bytes, first_index: int, last_index: int) -> bytes:
    """`Authority.submitClaim`'s argument: `abi.encode(address dapp, History.Claim{epochHash,
    uint128 firstIndex, uint128 lastIndex})`, the epoch's input indexes inclusive."""
    if not 0 <= first_index <= last_index < _UINT128_LIMIT:
        raise ValueError("History wants 0 <= firstIndex <= lastIndex < 2**128")
    return _abi_encode(
        ["address", "(bytes32,uint128,uint128)"],
        [_address(dapp), (epoch_hash_, first_index, last_index)],
    )


def proof_context(claim_index: int) -> bytes:
    """`Proof.context` for History: `abi.encode(uint256 claimIndex)`."""
    if claim_index < 0:
        raise ValueError("claim indexes are not negative")
    return _abi_encode(["uint256"], [claim_index])


# --- the contract's check ----------------------------------------------------------------------


def validate_output(
    validity: dict[str, Any],
    encoded_output: bytes,
    claimed_epoch_hash: bytes,
    *,
    voucher: bool,
) -> str | None:
    """`LibOutputValidation.validateEncodedOutput` in Python: None where the contract accepts,
    else the name of the custom error it reverts with (MerkleV2's `require`s raise
    ValueError). `validity` is an `OutputValidityProof` as `EpochOutputs` returns it."""
    vouchers_root = validity["vouchersEpochRootHash"]
    notices_root = validity["noticesEpochRootHash"]
    if epoch_hash(vouchers_root, notices_root, validity["machineStateHash"]) != claimed_epoch_hash:
        return "IncorrectEpochHash"
    input_position = validity["inputIndexWithinEpoch"] << KECCAK_LOG2_SIZE
    epoch_root = root_after_replacement_in_drive(
        input_position % _UINT64_LIMIT,
        KECCAK_LOG2_SIZE,
        EPOCH_OUTPUT_LOG2_SIZE,
        validity["outputHashesRootHash"],
        validity["outputHashesInEpochSiblings"],
    )
    if epoch_root != (vouchers_root if voucher else notices_root):
        return "IncorrectOutputsEpochRootHash"
    output_position = validity["outputIndexWithinInput"] << KECCAK_LOG2_SIZE
    root = root_after_replacement_in_drive(
        output_position % _UINT64_LIMIT,
        KECCAK_LOG2_SIZE,
        OUTPUT_METADATA_LOG2_SIZE,
        output_leaf(keccak256(encoded_output)),
        validity["outputHashInOutputHashesSiblings"],
    )
    if root != validity["outputHashesRootHash"]:
        return "IncorrectOutputHashesRootHash"
    return None


# --- one epoch ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputOutputs:
    """The outputs of one input of an epoch: vouchers `(destination, payload)` (EIP-55
    destination) and notice payloads, each kind in emission order; `rejected` inputs have none."""

    input_index: int
    vouchers: tuple[tuple[str, bytes], ...]
    notices: tuple[bytes, ...]
    rejected: bool = False

    def voucher_hashes(self) -> list[bytes]:
        return [voucher_hash(destination, payload) for destination, payload in self.vouchers]

    def notice_hashes(self) -> list[bytes]:
        return [notice_hash(payload) for payload in self.notices]


class EpochOutputs:
    """The outputs of one v1 epoch: the inputs `first_input_index, first_input_index + 1, ...`
    (InputBox indexes of the application, every one of them, rejected ones included), their
    claim and the proofs of their outputs.

    Add the inputs in order with `add_input`, then `claim_data(dapp)` is what the Authority's
    owner submits, and `voucher_proof` / `notice_proof` what `executeVoucher` /
    `validateNotice` take, given the index of that claim among the application's claims.
    Roots are recomputed on demand (a tree per call: epochs are small on a devnet).
    """

    def __init__(
        self,
        first_input_index: int,
        machine_state_hash: bytes = MACHINE_STATE_HASH_PLACEHOLDER,
    ) -> None:
        if first_input_index < 0:
            raise ValueError("input indexes are not negative")
        if len(machine_state_hash) != _WORD:
            raise ValueError("the machine state hash is 32 bytes")
        self.first_input_index = first_input_index
        self.machine_state_hash = machine_state_hash
        self._inputs: list[InputOutputs] = []

    def __len__(self) -> int:
        """The number of inputs added."""
        return len(self._inputs)

    @property
    def last_input_index(self) -> int:
        """The last input's index: `History.Claim.lastIndex`. Needs one input at least."""
        if not self._inputs:
            raise ValueError("an epoch without inputs cannot be claimed")
        return self._inputs[-1].input_index

    @property
    def next_input_index(self) -> int:
        """The index `add_input` expects next."""
        return self.first_input_index + len(self._inputs)

    def add_input(
        self,
        input_index: int,
        vouchers: Sequence[tuple[bytes | str, bytes]] = (),
        notices: Sequence[bytes] = (),
        *,
        rejected: bool = False,
    ) -> None:
        """Record the outputs of the next input (`input_index` must be `next_input_index`)."""
        if input_index != self.next_input_index:
            raise ValueError(f"expected input {self.next_input_index}, got {input_index}")
        if len(self._inputs) >= MAX_INPUTS_PER_EPOCH:
            raise ValueError("the epoch is full")
        if rejected and (vouchers or notices):
            raise ValueError("a rejected input has no outputs")
        if max(len(vouchers), len(notices)) > MAX_OUTPUTS_PER_INPUT:
            raise ValueError("too many outputs for one input")
        self._inputs.append(
            InputOutputs(
                input_index,
                tuple((_address(d), bytes(p)) for d, p in vouchers),
                tuple(bytes(p) for p in notices),
                rejected,
            )
        )

    def input(self, input_index: int) -> InputOutputs:
        """The outputs recorded for `input_index`."""
        position = input_index - self.first_input_index
        if not 0 <= position < len(self._inputs):
            raise IndexError(f"input {input_index} is not in this epoch")
        return self._inputs[position]

    # roots

    def _input_root(self, outputs: InputOutputs, vouchers: bool) -> bytes:
        if outputs.rejected:
            return bytes(_WORD)
        hashes = outputs.voucher_hashes() if vouchers else outputs.notice_hashes()
        return output_hashes_root(hashes)

    def _epoch_tree(self, vouchers: bool) -> _Tree:
        leaves = [self._input_root(outputs, vouchers) for outputs in self._inputs]
        return _Tree(leaves, EPOCH_SIBLINGS, EPOCH_PRISTINE_HASHES[KECCAK_LOG2_SIZE:])

    def vouchers_epoch_root(self) -> bytes:
        """`vouchersEpochRootHash`."""
        return self._epoch_tree(vouchers=True).root()

    def notices_epoch_root(self) -> bytes:
        """`noticesEpochRootHash`."""
        return self._epoch_tree(vouchers=False).root()

    def epoch_hash(self) -> bytes:
        """`History.Claim.epochHash` of this epoch."""
        return epoch_hash(
            self.vouchers_epoch_root(), self.notices_epoch_root(), self.machine_state_hash
        )

    def claim(self) -> tuple[bytes, int, int]:
        """`History.Claim(epochHash, firstIndex, lastIndex)`."""
        return self.epoch_hash(), self.first_input_index, self.last_input_index

    def claim_data(self, dapp: bytes | str) -> bytes:
        """`Authority.submitClaim(bytes)`'s argument for application `dapp`."""
        return claim_data(dapp, *self.claim())

    # proofs

    def _proof(
        self, input_index: int, output_index: int, claim_index: int, vouchers: bool
    ) -> dict[str, Any]:
        outputs = self.input(input_index)
        hashes = outputs.voucher_hashes() if vouchers else outputs.notice_hashes()
        if not 0 <= output_index < len(hashes):
            kind = "voucher" if vouchers else "notice"
            raise IndexError(f"input {input_index} has no {kind} {output_index}")
        within_epoch = input_index - self.first_input_index
        epoch_tree = self._epoch_tree(vouchers)
        validity = {
            "inputIndexWithinEpoch": within_epoch,
            "outputIndexWithinInput": output_index,
            "outputHashesRootHash": output_hashes_root(hashes),
            "vouchersEpochRootHash": self.vouchers_epoch_root(),
            "noticesEpochRootHash": self.notices_epoch_root(),
            "machineStateHash": self.machine_state_hash,
            "outputHashInOutputHashesSiblings": output_hashes_siblings(hashes, output_index),
            "outputHashesInEpochSiblings": epoch_tree.siblings(within_epoch),
        }
        return {"validity": validity, "context": proof_context(claim_index)}

    def voucher_proof(
        self, input_index: int, voucher_index: int, *, claim_index: int
    ) -> dict[str, Any]:
        """`Proof{validity, context}` for voucher `voucher_index` (counted among the vouchers
        of input `input_index`, from 0), this epoch being the application's claim number
        `claim_index` (from 0). A dict keyed by the ABI's component names, which web3 takes
        as the struct argument of `executeVoucher`."""
        return self._proof(input_index, voucher_index, claim_index, vouchers=True)

    def notice_proof(
        self, input_index: int, notice_index: int, *, claim_index: int
    ) -> dict[str, Any]:
        """`Proof{validity, context}` for notice `notice_index` of input `input_index`, for
        `CartesiDApp.validateNotice`."""
        return self._proof(input_index, notice_index, claim_index, vouchers=False)
