"""The released Cartesi CLI (npm @cartesi/cli 1.5.0) against `python -m devnet`'s Rollups v1.4
stack: deposits and a JSON action with `cartesi send`, balances through the v1 inspect
endpoint, notices on the v1 outputs endpoint, a withdrawal voucher executed with
`CartesiDApp.executeVoucher` (a tampered proof refused), and the two instances apart."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from web3 import Web3
from web3.exceptions import ContractLogicError

from client.api import Client, proof_from_json
from devnet.chain import ANVIL_MNEMONIC
from devnet.chain_v1 import v1_abi
from tests.test_devnet import ROOT, Devnet, start_devnet

CLI = ROOT / "node_modules" / ".bin" / "cartesi"
BOB_INDEX = 1


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    running = start_devnet(tmp_path_factory.mktemp("devnet-v1"))
    yield running
    running.stop()


def description(devnet: Devnet) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((devnet.state / "devnet.json").read_text())
    return loaded


def cartesi(devnet: Devnet, *args: str) -> str:
    """`cartesi send …` as a user types it: every prompt answered by a flag."""
    about = description(devnet)
    command = [
        str(CLI),
        "send",
        *args,
        "--dapp",
        about["v1"]["application"],
        "--rpc-url",
        about["rpc_url"],
        "--chain-id",
        str(about["chain_id"]),
        "--mnemonic-passphrase",
        ANVIL_MNEMONIC,
        "--mnemonic-index",
        str(BOB_INDEX),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "Input sent" in done.stdout + done.stderr
    return done.stdout


def get(url: str) -> Any:
    with urllib.request.urlopen(url) as answer:
        return json.loads(answer.read())


def inspect(url: str, path: str) -> Any:
    answer = get(url + urllib.parse.quote(path, safe=""))
    return json.loads(bytes.fromhex(answer["reports"][0]["payload"][2:]))


def wait_for(devnet: Devnet, count: int, key: str = "v1") -> list[dict[str, Any]]:
    """The v1 outputs once `count` inputs were processed."""
    about = description(devnet)[key]
    deadline = time.monotonic() + 30
    while get(about["inspect_url"] + "health")["processed_input_count"] < count:
        assert time.monotonic() < deadline, "the v1 instance did not process the inputs"
        time.sleep(0.2)
    outputs: list[dict[str, Any]] = get(about["outputs_url"])
    return outputs


def test_the_cartesi_cli_deposits_acts_and_withdraws(devnet: Devnet) -> None:
    about = description(devnet)
    web3 = Web3(Web3.HTTPProvider(about["rpc_url"]))
    bob = about["accounts"][BOB_INDEX]
    ctsi = about["tokens"]["CTSI"]
    cartesi(devnet, "erc20", "--token", ctsi, "--amount", "10")  # parseEther: 10 CTSI
    cartesi(devnet, "ether", "--amount", "1")
    action = {"method": "withdraw", "args": {"token": ctsi, "amount": str(4 * 10**18)}}
    cartesi(devnet, "generic", "--input", json.dumps(action))
    outputs = wait_for(devnet, 3)

    notices = [o["payload"]["events"][0]["type"] for o in outputs if o["kind"] == "notice"]
    assert notices == ["Deposit", "Deposit", "Withdrawal"]
    v1_inspect = about["v1"]["inspect_url"]
    assert inspect(v1_inspect, f"/balance/{bob}?token={ctsi}")["balance"] == str(6 * 10**18)
    assert inspect(v1_inspect, f"/balance/{bob}?token={'0x' + '00' * 20}")["balance"] == str(10**18)
    # the v2 instance saw none of it
    assert inspect(about["inspect_url"], f"/balance/{bob}?token={ctsi}")["balance"] == "0"

    deadline = time.monotonic() + 30
    voucher = None
    while voucher is None or voucher["proof"] is None:
        assert time.monotonic() < deadline, "the v1 voucher was not claimed"
        time.sleep(0.2)
        voucher = next(o for o in get(about["v1"]["outputs_url"]) if o["kind"] == "voucher")
    dapp = web3.eth.contract(address=about["v1"]["application"], abi=v1_abi("CartesiDApp"))
    token = web3.eth.contract(address=ctsi, abi=v1_abi("IERC20"))
    payload = bytes.fromhex(voucher["payload"][2:])
    tampered = json.loads(json.dumps(voucher["proof"]))
    tampered["validity"]["outputHashesInEpochSiblings"][0] = "0x" + "11" * 32
    executor = about["accounts"][4]
    with pytest.raises(ContractLogicError):
        dapp.functions.executeVoucher(
            voucher["destination"], payload, proof_from_json(tampered)
        ).call({"from": executor})
    before = token.functions.balanceOf(bob).call()
    Client.from_file(devnet.state / "devnet.json", 4, v1=True).execute_voucher(
        voucher["output_index"]
    )
    assert token.functions.balanceOf(bob).call() == before + 4 * 10**18
    executed = next(o for o in get(about["v1"]["outputs_url"]) if o["kind"] == "voucher")
    assert executed["executed"] is True


def test_make_cli_names_the_devnets_v1_application(devnet: Devnet) -> None:
    makefile = (ROOT / "Makefile").read_text()
    (line,) = [line for line in makefile.splitlines() if line.startswith("V1_DAPP :=")]
    assert line.split(":=")[1].strip() == description(devnet)["v1"]["application"]
