"""Outputs, their Merkle tree, proofs and claims, exactly as Cartesi Rollups v2.2 checks them.

The devnet stands in for the Cartesi node. For `Application.executeOutput(output, proof)` to
succeed on a real chain, the devnet must encode each notice and voucher, build the outputs Merkle
tree, submit its root as a claim and hand out proofs exactly as the node and the machine do. This
module is that arithmetic, free of any chain access, so it can be tested on its own and then
cross-checked on anvil by the integration step.

Sources (read, not copied): the `@cartesi/rollups` 2.2.0 npm package (`out/*.sol/*.json`:
ABIs, `methodIdentifiers`, and the keccak256 of every source file in the compiler metadata),
cartesi/rollups-contracts `src/` at the 2.x sources those artifacts were built from, and
cartesi/machine-guest-tools `sys-utils/libcmt` (the library inside the machine that builds the
tree the node claims). The package ships bytecode and ABIs but no sources, and the indexed
repository mixes versions, so points 1 to 4 were also confirmed by hand against the 2.2.0
bytecode on a private anvil: the root `validateOutput` computes (revealed by its
`InvalidOutputsMerkleRoot(root)` revert) equals `OutputsTree.root(count)` for every proof; 62 or
64 siblings revert `InvalidOutputHashesSiblingsArrayLength`; index 2**63 reverts "LibMerkle32:
index out of bounds"; a claimed root lets vouchers execute (value paid) and notices revert
`OutputNotExecutable`; and the three claim errors below fire as described.

1. Output encoding (`src/common/Outputs.sol`, interface `Outputs`). An output is the ABI call
   data of one of the interface's functions: 4-byte selector, then the standard ABI encoding of
   the arguments.

   * `Notice(bytes payload)`, selector `0xc258d6e5`;
   * `Voucher(address destination, uint256 value, bytes payload)`, selector `0x237a816f`;
   * `DelegateCallVoucher(address destination, bytes payload)`, selector `0x10321e8b`.

   `Application.executeOutput` (`src/dapp/Application.sol`) dispatches on the first 4 bytes:
   `Voucher` and `DelegateCallVoucher` are executable once each; anything else, notices
   included, reverts `OutputNotExecutable`.

2. The outputs Merkle tree. Leaf i is `keccak256(output i)`, outputs numbered by ONE counter
   over the whole life of the application (notices and vouchers alike, across inputs): libcmt
   (`src/rollup.c`, `cmt_rollup_emit_output`) pushes every output into a single tree that lives
   in the machine across inputs, and a rejected input reverts the machine, tree included. The
   tree has height `CanonicalMachine.LOG2_MAX_OUTPUTS = 63` (`src/common/CanonicalMachine.sol`;
   libcmt `CMT_MERKLE_TREE_HEIGHT = 63`): 2**63 leaf slots. A slot with no output holds the
   zero bytes32 (not its hash), so an empty subtree of height h has root `ZERO_HASHES[h]`, with
   `ZERO_HASHES[0] = 0x00…00` and `ZERO_HASHES[h+1] = keccak256(ZERO_HASHES[h] ‖ ZERO_HASHES[h])`
   (`LibMerkle32.merkleRoot`'s `defaultNode`; libcmt's `pristine_hash` table). An inner node is
   `keccak256(left ‖ right)` over the two 32-byte children. The root of the empty tree is
   `ZERO_HASHES[63]` = `0x0a162946…d7abe1c6` (`EMPTY_ROOT`).

3. Proofs (`src/common/OutputValidityProof.sol`, `src/library/LibOutputValidityProof.sol`,
   `src/library/LibMerkle32.sol`). `OutputValidityProof{uint64 outputIndex; bytes32[]
   outputHashesSiblings}`. `Application.validateOutputHash` first requires
   `outputHashesSiblings.length == LOG2_MAX_OUTPUTS` (63), else it reverts
   `InvalidOutputHashesSiblingsArrayLength`; then `LibMerkle32.merkleRootAfterReplacement`
   walks bottom-up: siblings[0] is the leaf's sibling, siblings[62] the child of the root; at
   level i, if bit i of the index is 0 the node is the left child (`keccak(node ‖ sibling)`),
   else the right one (`keccak(sibling ‖ node)`); after 63 levels the remaining index must be 0
   (index < 2**63), else it reverts "index out of bounds". The root so computed must be one the
   application's outputs-Merkle-root validator (the consensus) accepted, else
   `InvalidOutputsMerkleRoot(root)`. `verify` below is that check.

4. Claims (`src/consensus/authority/Authority.sol`, `src/consensus/AbstractConsensus.sol`,
   `src/consensus/IConsensus.sol`). `Authority.submitClaim(address appContract, uint256
   lastProcessedBlockNumber, bytes32 outputsMerkleRoot)`, owner only. The claim is the root of
   the outputs tree after the machine processed every input of every base-layer block up to and
   including `lastProcessedBlockNumber` (cumulative since the application's first input, not
   per epoch): `OutputsTree.root(count)` with `count` the number of outputs emitted by then. The
   Authority checks, in this order:

   * `lastProcessedBlockNumber % epochLength == epochLength - 1`: it must be the LAST block of
     an epoch, epochs being aligned to block 0 (epoch k = blocks `[k*L, k*L + L - 1]`), else
     `NotEpochFinalBlock(lastProcessedBlockNumber, epochLength)`. `epochLength` is fixed at
     deployment (`getEpochLength()`), never zero;
   * `lastProcessedBlockNumber < block.number` (strictly in the past of the block that includes
     the claim transaction), else `NotPastBlock(lastProcessedBlockNumber, block.number)`;
     gas estimation runs at the head, so in practice the claimed block must be below the
     current head (see `claim_block_ok`);
   * at most one claim per application and epoch (`lastProcessedBlockNumber / epochLength`),
     else `NotFirstClaim(appContract, lastProcessedBlockNumber)`.

   Nothing else: epochs may be skipped or claimed out of order, and an accepted root stays valid
   forever (`isOutputsMerkleRootValid(app, root)`), so an output can be proven against the claim
   of its own epoch or of any later one, each proof built for the tree of that claim. The claim
   is accepted at once (events `ClaimSubmitted`, then `ClaimAccepted`).
"""

from __future__ import annotations

from Crypto.Hash import keccak as _keccak

__all__ = [
    "DELEGATE_CALL_VOUCHER_SELECTOR",
    "EMPTY_ROOT",
    "LOG2_MAX_OUTPUTS",
    "MAX_OUTPUTS",
    "NOTICE_SELECTOR",
    "VOUCHER_SELECTOR",
    "ZERO_HASHES",
    "OutputsTree",
    "claim_block_ok",
    "encode_delegate_call_voucher",
    "encode_notice",
    "encode_voucher",
    "epoch_last_block",
    "keccak256",
    "root_from_proof",
    "verify",
    "verify_hash",
]

#: `CanonicalMachine.LOG2_MAX_OUTPUTS`: the tree's height and the length of every proof.
LOG2_MAX_OUTPUTS = 63
#: Leaf slots in the tree; output indexes are below this.
MAX_OUTPUTS = 1 << LOG2_MAX_OUTPUTS

#: `bytes4(keccak256("Notice(bytes)"))`.
NOTICE_SELECTOR = bytes.fromhex("c258d6e5")
#: `bytes4(keccak256("Voucher(address,uint256,bytes)"))`.
VOUCHER_SELECTOR = bytes.fromhex("237a816f")
#: `bytes4(keccak256("DelegateCallVoucher(address,bytes)"))`.
DELEGATE_CALL_VOUCHER_SELECTOR = bytes.fromhex("10321e8b")

_WORD = 32
_UINT256_LIMIT = 1 << 256


def keccak256(data: bytes) -> bytes:
    """Ethereum's Keccak-256 (original padding, not SHA3-256): the hash of leaves and nodes."""
    return _keccak.new(digest_bits=256, data=data).digest()


def _parent(left: bytes, right: bytes) -> bytes:
    """An inner node, `LibMerkle32.parent`: keccak256 of the two 32-byte children, left first."""
    return keccak256(left + right)


def _zero_hashes() -> tuple[bytes, ...]:
    hashes = [bytes(_WORD)]
    for _ in range(LOG2_MAX_OUTPUTS):
        hashes.append(_parent(hashes[-1], hashes[-1]))
    return tuple(hashes)


#: `ZERO_HASHES[h]`: root of a subtree of height h with no outputs (a zero leaf is 32 zero bytes).
ZERO_HASHES: tuple[bytes, ...] = _zero_hashes()
#: Root of the tree before any output: the outputs Merkle root an application starts with.
EMPTY_ROOT = ZERO_HASHES[LOG2_MAX_OUTPUTS]


# --- output encoding -------------------------------------------------------------------------


def _uint_word(value: int) -> bytes:
    return value.to_bytes(_WORD, "big")


def _address_word(address: bytes) -> bytes:
    if len(address) != 20:
        raise ValueError(f"an address is 20 bytes, got {len(address)}")
    return bytes(12) + address


def _bytes_tail(data: bytes) -> bytes:
    """The tail of an ABI `bytes`: length word, then the data right-padded to whole words."""
    padding = -len(data) % _WORD
    return _uint_word(len(data)) + data + bytes(padding)


def encode_notice(payload: bytes) -> bytes:
    """The output a notice becomes: call data of `Outputs.Notice(bytes payload)`.

    Its keccak256 is the leaf the tree holds, so it must match the machine byte for byte.
    """
    return NOTICE_SELECTOR + _uint_word(_WORD) + _bytes_tail(payload)


def encode_voucher(destination: bytes, value: int, payload: bytes) -> bytes:
    """The output a voucher becomes: `Outputs.Voucher(address destination, uint256 value,
    bytes payload)` call data. `Application.executeOutput` decodes exactly these arguments and
    calls `destination` with `value` wei and `payload` as call data.
    """
    if not 0 <= value < _UINT256_LIMIT:
        raise ValueError("a voucher value is a uint256")
    head = _address_word(destination) + _uint_word(value) + _uint_word(3 * _WORD)
    return VOUCHER_SELECTOR + head + _bytes_tail(payload)


def encode_delegate_call_voucher(destination: bytes, payload: bytes) -> bytes:
    """`Outputs.DelegateCallVoucher(address destination, bytes payload)` call data, for
    completeness: the application emits none (the devnet does not serve that route)."""
    head = _address_word(destination) + _uint_word(2 * _WORD)
    return DELEGATE_CALL_VOUCHER_SELECTOR + head + _bytes_tail(payload)


# --- the contract's check ----------------------------------------------------------------------


def root_from_proof(leaf: bytes, index: int, siblings: list[bytes]) -> bytes:
    """The root `LibMerkle32.merkleRootAfterReplacement` computes from a leaf hash, its index
    and its bottom-up siblings. Raises ValueError where the contract reverts (index out of
    bounds for that many siblings, or a sibling or leaf that is not 32 bytes)."""
    if len(leaf) != _WORD or any(len(sibling) != _WORD for sibling in siblings):
        raise ValueError("leaves and siblings are bytes32")
    if index < 0 or index >> len(siblings):
        raise ValueError("LibMerkle32: index out of bounds")
    node = leaf
    for level, sibling in enumerate(siblings):
        node = _parent(node, sibling) if (index >> level) & 1 == 0 else _parent(sibling, node)
    return node


def verify_hash(root: bytes, output_hash: bytes, index: int, siblings: list[bytes]) -> bool:
    """`Application.validateOutputHash` against one accepted root: True where it would pass."""
    if len(siblings) != LOG2_MAX_OUTPUTS:
        return False  # InvalidOutputHashesSiblingsArrayLength
    if not 0 <= index < MAX_OUTPUTS:
        return False  # outputIndex is a uint64, and LibMerkle32 wants it below 2**63
    try:
        return root_from_proof(output_hash, index, siblings) == root
    except ValueError:
        return False


def verify(root: bytes, output: bytes, index: int, siblings: list[bytes]) -> bool:
    """`Application.validateOutput(output, proof)` against one accepted root, in Python."""
    return verify_hash(root, keccak256(output), index, siblings)


# --- claims ------------------------------------------------------------------------------------


def epoch_last_block(block_number: int, epoch_length: int) -> int:
    """The last block of the epoch holding `block_number`: the only kind of block number the
    Authority takes as `lastProcessedBlockNumber` (epochs are aligned to block 0)."""
    if epoch_length <= 0:
        raise ValueError("the epoch length is positive")
    if block_number < 0:
        raise ValueError("block numbers are not negative")
    return block_number - block_number % epoch_length + epoch_length - 1


def claim_block_ok(last_processed_block: int, epoch_length: int, current_block: int) -> bool:
    """Whether `submitClaim` takes this `lastProcessedBlockNumber` when evaluated at block
    number `current_block` (`NotEpochFinalBlock` / `NotPastBlock`; `NotFirstClaim` depends on
    the claims already made and is the caller's to track).

    Pass the chain's CURRENT head number, not the next one: the transaction would be mined in
    head + 1, but `eth_estimateGas` (and `eth_call`) on anvil run at `block.number == head`, so
    a claim of the head block itself fails estimation with `NotPastBlock` (seen on anvil 1.7.1
    with the 2.2.0 bytecode). Mine one more block, or wait for one, before claiming."""
    if epoch_length <= 0 or last_processed_block < 0:
        return False
    at_epoch_end = last_processed_block % epoch_length == epoch_length - 1
    return at_epoch_end and last_processed_block < current_block


# --- the tree ----------------------------------------------------------------------------------


class OutputsTree:
    """The outputs Merkle tree of the v2 spec, append-only, memory bounded.

    An append costs O(height) hashes at worst (amortised about one): like libcmt, it keeps the
    hash of every complete subtree, here not only the frontier but all of them (`_levels[h][j]`
    is the root of the complete subtree of height h holding leaves `[j * 2**h, (j+1) * 2**h)`),
    about two hashes per output, because proofs need them. A root or a proof then costs
    O(height) hashes: every node on the way is complete (cached), empty (a zero hash) or the one
    partial node of its level, and a partial node has at most one partial child.

    `root(count)` and `proof(index, count)` answer for the tree of the first `count` outputs
    (default: all), because a claim is the root after the outputs of the inputs up to the
    epoch's last block, and the devnet may already hold later outputs when it claims or proves.
    """

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = [[] for _ in range(LOG2_MAX_OUTPUTS + 1)]

    def __len__(self) -> int:
        """The number of outputs appended: the index the next one gets."""
        return len(self._levels[0])

    def append(self, output: bytes) -> int:
        """Append an encoded output (`encode_notice` / `encode_voucher`); return its index."""
        return self.append_hash(keccak256(output))

    def append_hash(self, output_hash: bytes) -> int:
        """Append a leaf given as the output's keccak256; return its index."""
        if len(output_hash) != _WORD:
            raise ValueError("an output hash is 32 bytes")
        index = len(self)
        if index >= MAX_OUTPUTS:
            raise OverflowError("the outputs tree is full")
        node = output_hash
        self._levels[0].append(node)
        level = 0
        # Each time the new leaf completes a subtree, that subtree's root joins the level above.
        while len(self._levels[level]) % 2 == 0 and level < LOG2_MAX_OUTPUTS:
            node = _parent(self._levels[level][-2], node)
            level += 1
            self._levels[level].append(node)
        return index

    def leaf(self, index: int) -> bytes:
        """The leaf (output hash) at `index`."""
        return self._levels[0][index]

    def _count(self, count: int | None) -> int:
        if count is None:
            return len(self)
        if not 0 <= count <= len(self):
            raise ValueError(f"count {count} is not between 0 and {len(self)}")
        return count

    def _node(self, level: int, position: int, count: int) -> bytes:
        """The node at `level` (0: leaves) and `position` in the tree of the first `count`."""
        first = position << level
        if first >= count:
            return ZERO_HASHES[level]
        if first + (1 << level) <= count:
            return self._levels[level][position]
        # The one partial node of this level: only its right part is still (partly) empty.
        left = self._node(level - 1, 2 * position, count)
        right = self._node(level - 1, 2 * position + 1, count)
        return _parent(left, right)

    def root(self, count: int | None = None) -> bytes:
        """The outputs Merkle root after the first `count` outputs (default: all): the claim."""
        return self._node(LOG2_MAX_OUTPUTS, 0, self._count(count))

    def proof(self, index: int, count: int | None = None) -> list[bytes]:
        """`outputHashesSiblings` for output `index` against `root(count)`: 63 hashes, bottom-up
        (siblings[0] is the leaf's sibling), the order `LibMerkle32` reads them in."""
        n = self._count(count)
        if not 0 <= index < n:
            raise IndexError(f"no output {index} among the first {n}")
        return [self._node(level, (index >> level) ^ 1, n) for level in range(LOG2_MAX_OUTPUTS)]
