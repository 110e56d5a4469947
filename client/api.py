"""`Client`: what a user of streamdex does on the devnet, as Python calls.

It reads `.devnet/devnet.json` (written by `make run`) for the addresses and URLs and sends
transactions from one of anvil's unlocked accounts. Every call that sends an input returns its
input index; `result(index)` waits until the application has processed it and says what
happened: the events of its notice, or the error of its report.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

from devnet.chain import artifact, rollups_abi
from devnet.chain_v1 import v1_abi
from devnet.node import INPUT_ADDED_TOPIC, V1_INPUT_ADDED_TOPIC

ETHER = "0x0000000000000000000000000000000000000000"
DEFAULT_DEVNET = Path(".devnet/devnet.json")


class ClientError(RuntimeError):
    """Something the user can fix: a rejected input, an unknown token, a devnet not running."""


@dataclass(frozen=True)
class Result:
    """What the application did with one input."""

    input_index: int
    accepted: bool
    events: list[dict[str, Any]]
    error: str | None = None
    message: str | None = None

    def __str__(self) -> str:
        if self.accepted:
            kinds = ", ".join(event["type"] for event in self.events) or "no events"
            return f"input {self.input_index} accepted: {kinds}"
        return f"input {self.input_index} rejected: {self.error}: {self.message}"


class Client:
    """A user of one application instance: the v2 one, or with `v1` the Rollups v1.4 one (the
    portals and the InputBox take the same calls; vouchers execute through `executeVoucher`)."""

    def __init__(self, devnet: dict[str, Any], account: int = 0, *, v1: bool = False) -> None:
        self.devnet = devnet
        self.v1 = v1
        target: dict[str, Any] = devnet["v1"] if v1 else devnet
        self.urls = {"inspect": target["inspect_url"], "outputs": target["outputs_url"]}
        self.web3 = Web3(Web3.HTTPProvider(devnet["rpc_url"], request_kwargs={"timeout": 60}))
        self.account = Web3.to_checksum_address(devnet["accounts"][account])
        self.application = Web3.to_checksum_address(target["application"])
        self.input_box = self._contract(target["input_box"], rollups_abi("InputBox"))
        self.erc20_portal = self._contract(target["erc20_portal"], rollups_abi("ERC20Portal"))
        self.ether_portal = self._contract(target["ether_portal"], rollups_abi("EtherPortal"))
        self.app_contract = self._contract(
            target["application"], v1_abi("CartesiDApp") if v1 else rollups_abi("Application")
        )

    @classmethod
    def from_file(
        cls, path: Path = DEFAULT_DEVNET, account: int = 0, *, v1: bool = False
    ) -> Client:
        if not path.exists():
            raise ClientError(f"{path} does not exist: start the devnet with `make run` first")
        devnet = json.loads(path.read_text())
        if v1 and "v1" not in devnet:
            raise ClientError("the devnet runs without its v1 stack (--no-v1)")
        return cls(devnet, account, v1=v1)

    # --- tokens -----------------------------------------------------------------------------
    def token_address(self, token: str) -> str:
        """A token by symbol (USDC, CTSI, ETH) or address."""
        if token.upper() in ("ETH", "ETHER"):
            return ETHER
        known = self.devnet["tokens"].get(token.upper())
        if known is not None:
            return Web3.to_checksum_address(known)
        if Web3.is_address(token):
            return Web3.to_checksum_address(token)
        symbols = ", ".join(["ETH", *self.devnet["tokens"]])
        raise ClientError(f"unknown token {token!r}: use an address or one of {symbols}")

    def balance_on_chain(self, token: str, account: str | None = None) -> int:
        """The layer-1 balance (not the one inside streamdex)."""
        owner = Web3.to_checksum_address(account or self.account)
        address = self.token_address(token)
        if address == ETHER:
            return int(self.web3.eth.get_balance(owner))
        return int(self._erc20(address).functions.balanceOf(owner).call())

    # --- inputs -----------------------------------------------------------------------------
    def deposit(self, token: str, amount: int) -> int:
        """Deposit through the portal (approving the ERC20Portal first); the input index."""
        address = self.token_address(token)
        if address == ETHER:
            return self._input(
                self.ether_portal.functions.depositEther(self.application, b""), value=amount
            )
        self._transact(self._erc20(address).functions.approve(self.erc20_portal.address, amount))
        return self._input(
            self.erc20_portal.functions.depositERC20Tokens(address, self.application, amount, b"")
        )

    def send(self, method: str, **args: Any) -> int:
        """A JSON action of PROTOCOL §2.2 through the InputBox; the input index."""
        payload = json.dumps({"method": method, "args": args}).encode()
        return self.send_raw(payload)

    def send_raw(self, payload: bytes) -> int:
        return self._input(self.input_box.functions.addInput(self.application, payload))

    def result(self, input_index: int, timeout: float = 30.0) -> Result:
        """Wait until the application processed the input; its notice or report."""
        deadline = time.monotonic() + timeout
        while self._processed() <= input_index:
            if time.monotonic() > deadline:
                raise ClientError(f"input {input_index} was not processed in {timeout:g} s")
            time.sleep(0.1)
        for output in self.outputs():
            if output["input_index"] != input_index:
                continue
            if output["kind"] == "notice":
                return Result(input_index, True, output["payload"]["events"])
            if output["kind"] == "report":
                report = output["payload"]
                return Result(input_index, False, [], report["error"], report["message"])
        return Result(input_index, True, [])

    # --- reads ------------------------------------------------------------------------------
    def inspect(self, path: str) -> Any:
        """The JSON answer of an inspect route (PROTOCOL §5)."""
        url = self.urls["inspect"] + urllib.parse.quote(path.lstrip("/"), safe="")
        answer = self._get(url)
        (report,) = answer["reports"]
        return json.loads(bytes.fromhex(report["payload"][2:]))

    def outputs(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self._get(self.urls["outputs"])
        return listed

    def execute_voucher(self, output_index: int, *, siblings: list[str] | None = None) -> str:
        """Execute a claimed voucher on chain with its proof; the transaction hash."""
        found = [o for o in self.outputs() if o["output_index"] == output_index]
        if not found or found[0]["kind"] != "voucher":
            raise ClientError(f"output {output_index} is not a voucher")
        voucher = found[0]
        if voucher["proof"] is None:
            raise ClientError(f"voucher {output_index} is not claimed yet; try again shortly")
        if self.v1:
            call = self.app_contract.functions.executeVoucher(
                voucher["destination"],
                bytes.fromhex(voucher["payload"][2:]),
                proof_from_json(voucher["proof"]),
            )
            return self._transact(call)
        proof = (output_index, siblings or voucher["proof"]["output_hashes_siblings"])
        call = self.app_contract.functions.executeOutput(voucher["output"], proof)
        return self._transact(call)

    # --- plumbing -----------------------------------------------------------------------------
    def _processed(self) -> int:
        count: int = self._get(self.urls["inspect"] + "health")["processed_input_count"]
        return count

    def _get(self, url: str) -> Any:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return json.loads(response.read())
        except OSError as err:
            raise ClientError(
                f"the devnet does not answer at {url} ({err}): is `make run` up?"
            ) from None

    def _contract(self, address: str, abi: Any) -> Contract:
        return self.web3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)

    def _erc20(self, address: str) -> Contract:
        abi, _ = artifact("@openzeppelin/contracts/build/contracts/ERC20.json")
        return self._contract(address, abi)

    def _transact(self, call: Any, value: int = 0) -> str:
        tx = call.transact({"from": self.account, "value": value})
        receipt = self.web3.eth.wait_for_transaction_receipt(tx)
        if receipt["status"] != 1:
            raise ClientError(f"transaction {tx.hex()} reverted")
        return str(tx.hex())

    def _input(self, call: Any, value: int = 0) -> int:
        tx = call.transact({"from": self.account, "value": value})
        receipt = self.web3.eth.wait_for_transaction_receipt(tx)
        if receipt["status"] != 1:
            raise ClientError(f"transaction {tx.hex()} reverted")
        for entry in receipt["logs"]:
            topics = entry["topics"]
            if topics and bytes(topics[0]) in (INPUT_ADDED_TOPIC, V1_INPUT_ADDED_TOPIC):
                return int.from_bytes(bytes(topics[2]), "big")
        raise ClientError(f"transaction {tx.hex()} added no input")


def proof_from_json(value: Any) -> Any:
    """A proof from `/outputs` as web3 takes it: its 0x-strings back to bytes."""
    if isinstance(value, str) and value.startswith("0x"):
        return bytes.fromhex(value[2:])
    if isinstance(value, dict):
        return {key: proof_from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [proof_from_json(item) for item in value]
    return value
