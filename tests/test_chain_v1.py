"""devnet.chain_v1 against a real anvil: the official Rollups v1.4.5 addresses, inputs, deposits.

One anvil (npm package) is started for the module; the v2.2 set and its test tokens are
deployed (`chain.deploy`), then v1.4.5 with the tokens approved for the v1 ERC20Portal. The
tests send real transactions: a plain `addInput`, an ERC-20 deposit that relies on the devnet's
approval alone, a claim through the Authority, and a second `deploy_v1()`, which must send
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from devnet import chain_v1, outputs_v1
from devnet.chain import ANVIL_ACCOUNTS, Anvil, Deployment, deploy, free_port
from devnet.chain_v1 import DeploymentV1, deploy_v1, v1_abi

# PROTOCOL §2.1 and the issue, written out here rather than imported, so both sides are checked.
PROTOCOL_V1 = {
    "InputBox": "0x59b22D57D4f067708AB0c00552767405926dc768",
    "ERC20Portal": "0x9C21AEb2093C32DDbC53eEF24B873BDCd1aDa1DB",
    "EtherPortal": "0xFfdbe43d4c855BF7e0f105c400A50857f53AB044",
    "DAppAddressRelay": "0xF5DE34d6BbC0446E2a45719E718efEbaaE179daE",
    "CartesiDAppFactory": "0x7122cd1221C20892234186facfE8615e6743Ab02",
}
NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"


@pytest.fixture(scope="module")
def anvil() -> Iterator[Anvil]:
    with Anvil(port=free_port()) as node:
        yield node


@pytest.fixture(scope="module")
def v2(anvil: Anvil) -> Deployment:
    return deploy(anvil.rpc_url)


@pytest.fixture(scope="module")
def v1(anvil: Anvil, v2: Deployment) -> DeploymentV1:
    tokens = {symbol: token.address for symbol, token in v2.tokens.items()}
    return deploy_v1(anvil.rpc_url, approve_tokens=tokens)


@pytest.fixture(scope="module")
def w3(anvil: Anvil) -> Web3:
    return Web3(Web3.HTTPProvider(anvil.rpc_url))


def contract(w3: Web3, name: str, address: str) -> Contract:
    return w3.eth.contract(address=to_checksum_address(address), abi=v1_abi(name))


def send(w3: Web3, call: Any, sender: str) -> Any:
    receipt = w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))
    assert receipt["status"] == 1
    return receipt


def input_added(w3: Web3, receipt: Any) -> Any:
    box = contract(w3, "InputBox", PROTOCOL_V1["InputBox"])
    (event,) = box.events.InputAdded().process_receipt(receipt, errors=DISCARD)
    return event["args"]


def test_addresses_are_the_packages_and_have_code(w3: Web3, v1: DeploymentV1) -> None:
    recorded = {}
    for package in ("@cartesi/rollups-v1", "@cartesi/util"):
        for path in (NODE_MODULES / package / "deployments/mainnet").glob("*.json"):
            recorded[path.stem] = json.loads(path.read_text())["address"]
    assert v1.input_box == PROTOCOL_V1["InputBox"]
    assert v1.erc20_portal == PROTOCOL_V1["ERC20Portal"]
    assert v1.ether_portal == PROTOCOL_V1["EtherPortal"]
    assert v1.dapp_address_relay == PROTOCOL_V1["DAppAddressRelay"]
    assert v1.contracts["CartesiDAppFactory"] == PROTOCOL_V1["CartesiDAppFactory"]
    for name, address in v1.contracts.items():
        assert address == recorded[name], name
        assert len(w3.eth.get_code(to_checksum_address(address))) > 0, name
    # every contract of the rollups package is deployed (only UnrolledCordic of util is not)
    assert set(recorded) - set(v1.contracts) == {"UnrolledCordic"}
    for address in (v1.authority, v1.history, v1.application):
        assert len(w3.eth.get_code(to_checksum_address(address))) > 0
    # the copied factory is the CREATE2 deployer's code
    factory_code = w3.eth.get_code(chain_v1.SAFE_SINGLETON_FACTORY)
    assert factory_code == w3.eth.get_code(chain_v1.CREATE2_DEPLOYER)


def test_ownership_and_wiring(w3: Web3, v1: DeploymentV1) -> None:
    authority = contract(w3, "Authority", v1.authority)
    history = contract(w3, "History", v1.history)
    dapp = contract(w3, "CartesiDApp", v1.application)
    assert authority.functions.owner().call() == ANVIL_ACCOUNTS[0]
    assert authority.functions.getHistory().call() == v1.history
    assert history.functions.owner().call() == v1.authority
    assert dapp.functions.getConsensus().call() == v1.authority
    assert dapp.functions.owner().call() == ANVIL_ACCOUNTS[0]
    assert dapp.functions.getTemplateHash().call() == bytes(32)
    created = w3.eth.get_block(v1.deployment_block)
    assert created["number"] == v1.deployment_block > 0
    assert len(w3.eth.get_code(to_checksum_address(v1.application), v1.deployment_block - 1)) == 0
    assert v1.to_json() == {
        "application": v1.application,
        "input_box": v1.input_box,
        "erc20_portal": v1.erc20_portal,
        "ether_portal": v1.ether_portal,
        "dapp_address_relay": v1.dapp_address_relay,
        "authority": v1.authority,
        "history": v1.history,
        "deployment_block": v1.deployment_block,
    }
    assert DeploymentV1.from_json(v1.to_json()).to_json() == v1.to_json()


def test_add_input_emits_v1_input_added(w3: Web3, v1: DeploymentV1) -> None:
    box = contract(w3, "InputBox", v1.input_box)
    sender = ANVIL_ACCOUNTS[2]
    before = box.functions.getNumberOfInputs(v1.application).call()
    payload = b'{"method":"noop"}'
    receipt = send(w3, box.functions.addInput(v1.application, payload), sender)
    args = input_added(w3, receipt)
    assert args["dapp"] == v1.application
    assert args["inputIndex"] == before
    assert args["sender"] == sender
    assert args["input"] == payload  # raw: no EvmAdvance wrapper in v1


def test_erc20_deposit_without_fresh_approve(w3: Web3, v2: Deployment, v1: DeploymentV1) -> None:
    token = w3.eth.contract(
        address=to_checksum_address(v2.tokens["USDC"].address), abi=v1_abi("IERC20")
    )
    portal = contract(w3, "ERC20Portal", v1.erc20_portal)
    sender = ANVIL_ACCOUNTS[5]
    assert token.functions.allowance(sender, v1.erc20_portal).call() == 2**256 - 1
    amount = 1234 * 10**6
    balance = token.functions.balanceOf(v1.application).call()
    call = portal.functions.depositERC20Tokens(token.address, v1.application, amount, b"x")
    args = input_added(w3, send(w3, call, sender))
    assert args["sender"] == v1.erc20_portal
    data = args["input"]
    assert data[:1] == b"\x01"
    assert data[1:21] == bytes.fromhex(token.address[2:])
    assert data[21:41] == bytes.fromhex(sender[2:])
    assert int.from_bytes(data[41:73], "big") == amount
    assert data[73:] == b"x"
    assert token.functions.balanceOf(v1.application).call() == balance + amount
    # an unlimited allowance stays unlimited
    assert token.functions.allowance(sender, v1.erc20_portal).call() == 2**256 - 1


def test_claim_through_the_authority(w3: Web3, v1: DeploymentV1) -> None:
    authority = contract(w3, "Authority", v1.authority)
    history = contract(w3, "History", v1.history)
    epoch = outputs_v1.epoch_hash(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32)
    claim = outputs_v1.claim_data(v1.application, epoch, 0, 1)
    send(w3, authority.functions.submitClaim(claim), ANVIL_ACCOUNTS[0])
    context = outputs_v1.proof_context(0)
    assert history.functions.getClaim(v1.application, context).call() == [epoch, 0, 1]
    assert authority.functions.getClaim(v1.application, context).call() == [epoch, 0, 1]


def test_deploy_again_sends_nothing(
    w3: Web3, anvil: Anvil, v2: Deployment, v1: DeploymentV1
) -> None:
    block = w3.eth.block_number
    tokens = {symbol: token.address for symbol, token in v2.tokens.items()}
    assert deploy_v1(anvil.rpc_url, approve_tokens=tokens) == v1
    assert w3.eth.block_number == block
