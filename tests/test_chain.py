"""devnet.chain against a real anvil: the official Cartesi v2.2 addresses, inputs, deposits.

One anvil (npm package) is started for the module and everything is deployed once; the tests
then send real transactions: a plain `addInput`, an ERC-20 and an Ether deposit through the
portals (decoding the `EvmAdvance` input the InputBox records), a claim on the Authority, and
a second `deploy()`, which must send nothing. `make install` fetches the npm packages.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import decode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from devnet import chain
from devnet.chain import Anvil, Deployment, DevnetError, deploy, free_port, rollups_abi

# PROTOCOL §2.1, written out here rather than imported, so that both sides are checked.
PROTOCOL_INPUT_BOX = "0x1b51e2992A2755Ba4D6F7094032DF91991a0Cfac"
PROTOCOL_ERC20_PORTAL = "0xACA6586A0Cf05bD831f2501E7B4aea550dA6562D"
PROTOCOL_ETHER_PORTAL = "0xA632c5c05812c6a6149B7af5C56117d1D2603828"

EVM_ADVANCE = "EvmAdvance(uint256,address,address,uint256,uint256,uint256,uint256,bytes)"
EVM_ADVANCE_TYPES = ["uint256", "address", "address", "uint256", "uint256", "uint256", "uint256"]


@pytest.fixture(scope="module")
def anvil() -> Iterator[Anvil]:
    with Anvil(port=free_port()) as node:
        yield node


@pytest.fixture(scope="module")
def deployment(anvil: Anvil) -> Deployment:
    return deploy(anvil.rpc_url)


@pytest.fixture(scope="module")
def w3(anvil: Anvil) -> Web3:
    return Web3(Web3.HTTPProvider(anvil.rpc_url))


def rollups(w3: Web3, name: str, address: str) -> Contract:
    return w3.eth.contract(address=to_checksum_address(address), abi=rollups_abi(name))


def erc20(w3: Web3, address: str) -> Contract:
    abi, _ = chain.artifact(f"{chain.OPENZEPPELIN_ARTIFACTS}/IERC20Metadata.json")
    return w3.eth.contract(address=to_checksum_address(address), abi=abi)


def send(w3: Web3, call: Any, sender: str, value: int = 0) -> Any:
    tx_hash = call.transact({"from": sender, "value": value})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return receipt


def decode_evm_advance(data: bytes) -> tuple[list[Any], bytes]:
    """The InputBox input: the EvmAdvance selector, then its ABI-encoded arguments."""
    assert data[:4] == keccak(text=EVM_ADVANCE)[:4]
    *metadata, payload = decode([*EVM_ADVANCE_TYPES, "bytes"], data[4:])
    return metadata, payload


def test_official_addresses_have_code(w3: Web3, deployment: Deployment) -> None:
    assert deployment.input_box == PROTOCOL_INPUT_BOX
    assert deployment.erc20_portal == PROTOCOL_ERC20_PORTAL
    assert deployment.ether_portal == PROTOCOL_ETHER_PORTAL
    for name, address in deployment.contracts.items():
        assert len(w3.eth.get_code(to_checksum_address(address))) > 0, name
    assert set(deployment.contracts) == set(chain.ROLLUPS_ADDRESSES)
    for portal in ("ERC20Portal", "EtherPortal"):
        contract = rollups(w3, portal, deployment.contracts[portal])
        assert contract.functions.getInputBox().call() == PROTOCOL_INPUT_BOX


def test_dapp_defaults_are_the_deployed_portals(deployment: Deployment) -> None:
    from dapp.app import Config

    portals = Config().v2
    assert to_checksum_address(portals.erc20) == deployment.erc20_portal
    assert to_checksum_address(portals.ether) == deployment.ether_portal


def test_application_and_authority(w3: Web3, deployment: Deployment) -> None:
    app = rollups(w3, "Application", deployment.application)
    assert app.functions.getOutputsMerkleRootValidator().call() == deployment.authority
    assert app.functions.owner().call() == deployment.accounts[0]
    assert app.functions.getTemplateHash().call() == bytes(32)
    data_availability = app.functions.getDataAvailability().call()
    assert data_availability == keccak(text="InputBox(address)")[:4] + bytes(12) + bytes.fromhex(
        PROTOCOL_INPUT_BOX[2:]
    )
    assert app.functions.getDeploymentBlockNumber().call() == deployment.deployment_block
    authority = rollups(w3, "Authority", deployment.authority)
    assert authority.functions.owner().call() == deployment.accounts[0]
    assert authority.functions.getEpochLength().call() == deployment.epoch_length == 1


def test_add_input_is_recorded(w3: Web3, deployment: Deployment) -> None:
    box = rollups(w3, "InputBox", deployment.input_box)
    before = box.functions.getNumberOfInputs(deployment.application).call()
    sender = deployment.accounts[3]
    receipt = send(w3, box.functions.addInput(deployment.application, b'{"method":"x"}'), sender)
    (event,) = box.events.InputAdded().process_receipt(receipt, errors=DISCARD)
    assert event["args"]["appContract"] == deployment.application
    assert event["args"]["index"] == before
    metadata, payload = decode_evm_advance(event["args"]["input"])
    chain_id, app, msg_sender, block_number, _timestamp, _randao, index = metadata
    assert (chain_id, to_checksum_address(app), to_checksum_address(msg_sender)) == (
        31337,
        deployment.application,
        sender,
    )
    assert (block_number, index, payload) == (receipt["blockNumber"], before, b'{"method":"x"}')
    assert box.functions.getNumberOfInputs(deployment.application).call() == before + 1


@pytest.mark.parametrize(("symbol", "decimals"), [("USDC", 6), ("CTSI", 18)])
def test_tokens(w3: Web3, deployment: Deployment, symbol: str, decimals: int) -> None:
    token = deployment.tokens[symbol]
    assert (token.symbol, token.decimals) == (symbol, decimals)
    contract = erc20(w3, token.address)
    assert contract.functions.decimals().call() == decimals
    assert contract.functions.symbol().call() == symbol
    assert len(deployment.accounts) == 10
    for account in deployment.accounts[5:]:  # accounts no other test spends from
        assert contract.functions.balanceOf(account).call() == 1_000_000 * 10**decimals
    assert contract.functions.totalSupply().call() == 10 * 1_000_000 * 10**decimals


def test_erc20_deposit_through_the_portal(w3: Web3, deployment: Deployment) -> None:
    usdc = deployment.tokens["USDC"]
    token = erc20(w3, usdc.address)
    box = rollups(w3, "InputBox", deployment.input_box)
    portal = rollups(w3, "ERC20Portal", deployment.erc20_portal)
    sender, amount = deployment.accounts[1], 1234 * 10**6
    inputs_before = box.functions.getNumberOfInputs(deployment.application).call()
    app_before = token.functions.balanceOf(deployment.application).call()
    sender_before = token.functions.balanceOf(sender).call()

    send(w3, token.functions.approve(deployment.erc20_portal, amount), sender)
    deposit = portal.functions.depositERC20Tokens(
        usdc.address, deployment.application, amount, b"\x01\x02"
    )
    receipt = send(w3, deposit, sender)

    assert box.functions.getNumberOfInputs(deployment.application).call() == inputs_before + 1
    assert token.functions.balanceOf(deployment.application).call() == app_before + amount
    assert token.functions.balanceOf(sender).call() == sender_before - amount
    (event,) = box.events.InputAdded().process_receipt(receipt, errors=DISCARD)
    metadata, payload = decode_evm_advance(event["args"]["input"])
    assert to_checksum_address(metadata[2]) == deployment.erc20_portal  # msg_sender
    assert metadata[6] == inputs_before
    # PROTOCOL §2.1: token (20) | sender (20) | value (32) | execLayerData
    assert payload == (
        bytes.fromhex(usdc.address[2:])
        + bytes.fromhex(sender[2:])
        + amount.to_bytes(32, "big")
        + b"\x01\x02"
    )


def test_ether_deposit_through_the_portal(w3: Web3, deployment: Deployment) -> None:
    box = rollups(w3, "InputBox", deployment.input_box)
    portal = rollups(w3, "EtherPortal", deployment.ether_portal)
    sender, amount = deployment.accounts[2], 3 * 10**18
    app_before = w3.eth.get_balance(to_checksum_address(deployment.application))
    receipt = send(w3, portal.functions.depositEther(deployment.application, b""), sender, amount)
    assert w3.eth.get_balance(to_checksum_address(deployment.application)) == app_before + amount
    (event,) = box.events.InputAdded().process_receipt(receipt, errors=DISCARD)
    metadata, payload = decode_evm_advance(event["args"]["input"])
    assert to_checksum_address(metadata[2]) == deployment.ether_portal
    assert payload == bytes.fromhex(sender[2:]) + amount.to_bytes(32, "big")


def test_authority_accepts_a_claim_from_its_owner(w3: Web3, deployment: Deployment) -> None:
    authority = rollups(w3, "Authority", deployment.authority)
    root = keccak(text="streamdex test outputs merkle root")
    last_block = w3.eth.block_number - 1  # with epoch length 1 every past block ends an epoch
    call = authority.functions.submitClaim(deployment.application, last_block, root)
    receipt = send(w3, call, deployment.accounts[0])
    (accepted,) = authority.events.ClaimAccepted().process_receipt(receipt, errors=DISCARD)
    assert accepted["args"]["outputsMerkleRoot"] == root
    assert authority.functions.isOutputsMerkleRootValid(deployment.application, root).call()
    other = keccak(text="not claimed")
    assert not authority.functions.isOutputsMerkleRootValid(deployment.application, other).call()


def test_deploy_again_sends_nothing(w3: Web3, anvil: Anvil, deployment: Deployment) -> None:
    block = w3.eth.block_number
    assert deploy(anvil.rpc_url) == deployment
    assert w3.eth.block_number == block


def test_deployment_json_round_trip(deployment: Deployment, tmp_path: Path) -> None:
    path = tmp_path / ".devnet" / "devnet.json"
    deployment.save(path)
    assert Deployment.load(path) == deployment
    data = deployment.to_json()
    assert data["tokens"]["USDC"] == {
        "name": "USD Coin",
        "address": deployment.tokens["USDC"].address,
        "decimals": 6,
    }
    assert data["private_keys"][0] == chain.ANVIL_PRIVATE_KEYS[0]
    assert chain.ANVIL_ACCOUNTS[0] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_persistent_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "anvil-state.json"
    with Anvil(port=free_port(), state=state) as node:
        first = deploy(node.rpc_url, epoch_length=5)
        block = Web3(Web3.HTTPProvider(node.rpc_url)).eth.block_number
    assert state.is_file()
    with Anvil(port=free_port(), state=state) as node:
        w3 = Web3(Web3.HTTPProvider(node.rpc_url))
        assert w3.eth.block_number == block
        again = deploy(node.rpc_url, epoch_length=5)
        assert w3.eth.block_number == block
    assert again.application == first.application
    assert again.tokens == first.tokens
    assert again.epoch_length == 5


def test_anvil_refuses_a_busy_port() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(DevnetError, match="already in use"):
            Anvil(port=port)


def test_anvil_says_to_install_when_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(chain, "ANVIL_BINARY", tmp_path / "anvil")
    with pytest.raises(DevnetError, match="make install"):
        Anvil(port=free_port())


def test_stop_leaves_no_process() -> None:
    node = Anvil(port=free_port())
    assert node.running
    node.stop()
    assert not node.running
    node.stop()  # idempotent
