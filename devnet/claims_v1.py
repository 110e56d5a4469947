"""Claims and proofs for the v1 application instance (Rollups v1.4, the released Cartesi CLI).

After each step that fed inputs, the devnet closes an epoch made of every input fed since the
last claim (rejected ones included: claims must cover the InputBox without gaps) and submits
it through the Authority it owns. A voucher's proof is rebuilt on demand from the node's record
of that epoch (`devnet.outputs_v1`); the machine state hash is the documented placeholder,
since no Cartesi machine runs here.
"""

from __future__ import annotations

from typing import Any

from devnet.node import NodeRecord, RecordedOutput
from devnet.outputs_v1 import EpochOutputs


class V1Claimer:
    CLAIM_GAS = 500_000

    def __init__(
        self, web3: Any, authority: Any, dapp: Any, owner: str, record: NodeRecord
    ) -> None:
        self.web3 = web3
        self.authority = authority
        self.dapp = dapp
        self.owner = owner
        self.record = record

    def add(self, outputs: list[RecordedOutput]) -> None:
        """Nothing to do: an epoch is rebuilt from the record when it is claimed or proven."""

    def claim(self, last_processed_block: int) -> bytes | None:
        """Claim every input fed since the last claim as one epoch; its epoch hash."""
        claims = self.record.v1_claims()
        first = claims[-1][2] + 1 if claims else 0
        last = self.record.next_input_index() - 1
        if last < first:
            return None
        epoch = self.epoch(first, last)
        tx = self.authority.functions.submitClaim(epoch.claim_data(self.dapp.address)).transact(
            {"from": self.owner, "gas": self.CLAIM_GAS}
        )
        if self.web3.eth.wait_for_transaction_receipt(tx)["status"] != 1:
            raise RuntimeError(f"the v1 claim of inputs {first} to {last} was refused")
        self.record.record_v1_claim(len(claims), first, last)
        return epoch.epoch_hash()

    def epoch(self, first: int, last: int) -> EpochOutputs:
        outputs: dict[int, list[RecordedOutput]] = {}
        for output in self.record.outputs():
            if first <= output.input_index <= last:
                outputs.setdefault(output.input_index, []).append(output)
        epoch = EpochOutputs(first)
        for input_index, status in self.record.statuses(first, last):
            produced = sorted(outputs.get(input_index, []), key=lambda o: o.index_in_input or 0)
            epoch.add_input(
                input_index,
                vouchers=[
                    (o.destination or b"", o.payload) for o in produced if o.kind == "voucher"
                ],
                notices=[o.payload for o in produced if o.kind == "notice"],
                rejected=status != "accept",
            )
        return epoch

    def proof(self, output: RecordedOutput) -> dict[str, Any] | None:
        """`Proof{validity, context}` for a voucher, JSON-ready (bytes as 0x-hex); None until
        its epoch is claimed."""
        if output.kind != "voucher" or output.index_in_input is None:
            return None
        for claim_index, first, last in self.record.v1_claims():
            if first <= output.input_index <= last:
                proof = self.epoch(first, last).voucher_proof(
                    output.input_index, output.index_in_input, claim_index=claim_index
                )
                jsonable: dict[str, Any] = _jsonable(proof)
                return jsonable
        return None

    def executed(self, output: RecordedOutput) -> bool:
        return bool(
            self.dapp.functions.wasVoucherExecuted(
                output.input_index, output.index_in_input or 0
            ).call()
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value
