"""The Cartesi Rollups v1.4.5 contracts on the local chain, beside the v2.2 set of `chain`.

Why: the released `@cartesi/cli` 1.5.0 and the node it drives speak Rollups v1 (InputBox
`InputAdded(dapp, inputIndex, sender, input)` with the raw input, portals whose payloads differ
from v2, an Authority + History consensus and a `CartesiDApp`). To exercise that dialect on the
devnet, the official v1.4.5 contracts must be at their official addresses, exactly as on every
public chain, so that tools with hard-coded addresses (the CLI) work unchanged.

Where the bytes come from: npm `@cartesi/rollups@1.4.5`, installed under the alias
`@cartesi/rollups-v1` (package.json), and its dependency `@cartesi/util` 6.3.0 (the linked
libraries `Bitmask`, `CartesiMathV2`, `MerkleV2` that the `CartesiDApp` calls). Their
`deployments/<network>/X.json` files (hardhat-deploy) hold the creation bytecode *as deployed*
(libraries already linked), the constructor `args` and the resulting `address`.

How they land at the official addresses: v1.4.5 was deployed through the Safe singleton factory
`0x914d7Fec6aaC8cd542e72Bca78B30650d45643d7` by CREATE2 with a zero salt. Anvil does not
predeploy that factory, but its runtime code is byte for byte the one of Arachnid's
deterministic deployment proxy that anvil does predeploy at `chain.CREATE2_DEPLOYER`
(calldata = salt ++ initcode, returns the 20-byte address). `deploy_v1()` copies that code
with `anvil_setCode` and sends every initcode through it; the address of each is computed
first and checked against the package's record before anything is sent.

Then an Authority + History pair (the Authority owned by an anvil account, the History owned by
the Authority) and a `CartesiDApp` are created through the v1 factories with a zero salt, so
their addresses are deterministic too and `deploy_v1()` is idempotent.

Finally the released CLI's `send erc20` never calls `approve`, so a deposit through the v1
ERC20Portal from the CLI would revert; `deploy_v1(approve_tokens=...)` gives the ERC20Portal
an unlimited allowance from each default anvil account for each test token.

v1 ABI facts the rest of the devnet relies on (read from the 1.4.5 artifacts and sources):

* `InputBox`: `event InputAdded(address indexed dapp, uint256 indexed inputIndex,
  address sender, bytes input)`; `addInput(address _dapp, bytes _input) returns (bytes32)`.
  The input is the raw payload (no `EvmAdvance` wrapper as in v2).
* `ERC20Portal.depositERC20Tokens(address _token, address _dapp, uint256 _amount,
  bytes _execLayerData)`: input `abi.encodePacked(bool success, token, sender, amount,
  execLayerData)`, i.e. 1 + 20 + 20 + 32 bytes, then the extra data.
* `EtherPortal.depositEther(address _dapp, bytes _execLayerData)` (payable): input
  `abi.encodePacked(sender, value, execLayerData)`.
* `DAppAddressRelay.relayDAppAddress(address _dapp)`: input `abi.encodePacked(dapp)`.
* `Authority.submitClaim(bytes _claimData)` (onlyOwner) forwards to `History.submitClaim`,
  which decodes `_claimData` as `abi.encode(address dapp, (bytes32 epochHash, uint128
  firstIndex, uint128 lastIndex))` (`outputs_v1.claim_data`). Claims of one dapp must be contiguous:
  the first has `firstIndex == 0`, each next one `firstIndex == previous lastIndex + 1`, and
  `firstIndex <= lastIndex`. `epochHash = keccak256(vouchersEpochRootHash ++
  noticesEpochRootHash ++ machineStateHash)` (`outputs_v1.epoch_hash`).
* `History.getClaim(address _dapp, bytes _proofContext) returns (bytes32 epochHash, uint256
  firstIndex, uint256 lastIndex)`, `_proofContext = abi.encode(uint256 claimIndex)`
  (`outputs_v1.proof_context`); the Authority has the same view and forwards it.
* `CartesiDApp.executeVoucher(address _destination, bytes _payload, Proof _proof) returns
  (bool)`, `validateNotice(bytes _notice, Proof _proof) returns (bool)` (view),
  `wasVoucherExecuted(uint256 _inputIndex, uint256 _outputIndexWithinInput) returns (bool)`;
  `Proof = (OutputValidityProof validity, bytes context)` and `OutputValidityProof =
  (uint64 inputIndexWithinEpoch, uint64 outputIndexWithinInput, bytes32 outputHashesRootHash,
  bytes32 vouchersEpochRootHash, bytes32 noticesEpochRootHash, bytes32 machineStateHash,
  bytes32[] outputHashInOutputHashesSiblings, bytes32[] outputHashesInEpochSiblings)`. A voucher
  is `abi.encode(destination, payload)`, a notice `abi.encode(notice)`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from eth_abi.abi import encode
from eth_typing import ABI, ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3

from devnet.chain import (
    ANVIL_ACCOUNTS,
    CREATE2_DEPLOYER,
    NODE_MODULES,
    ZERO_SALT,
    DevnetError,
    has_code,
    send_transaction,
)

ROLLUPS_V1_PACKAGE = NODE_MODULES / "@cartesi/rollups-v1"
CARTESI_UTIL_PACKAGE = NODE_MODULES / "@cartesi/util"
ROLLUPS_V1_ARTIFACTS = ROLLUPS_V1_PACKAGE / "export/artifacts"
# The hardhat-deploy records used for bytecode, arguments and addresses. The rollups records are
# the same on every network; @cartesi/util's differ between networks (older library
# deployments), and mainnet's are the ones the v1.4.5 CartesiDAppFactory was linked against.
DEPLOYMENTS_NETWORK = "mainnet"

# The Safe singleton factory v1.4.5 was deployed through (CREATE2, zero salt).
SAFE_SINGLETON_FACTORY = to_checksum_address("0x914d7Fec6aaC8cd542e72Bca78B30650d45643d7")

# The official v1.4.5 deployment (PROTOCOL §2.1 for the first three).
INPUT_BOX_V1 = to_checksum_address("0x59b22D57D4f067708AB0c00552767405926dc768")
ERC20_PORTAL_V1 = to_checksum_address("0x9C21AEb2093C32DDbC53eEF24B873BDCd1aDa1DB")
ETHER_PORTAL_V1 = to_checksum_address("0xFfdbe43d4c855BF7e0f105c400A50857f53AB044")
DAPP_ADDRESS_RELAY_V1 = to_checksum_address("0xF5DE34d6BbC0446E2a45719E718efEbaaE179daE")
CARTESI_DAPP_FACTORY_V1 = to_checksum_address("0x7122cd1221C20892234186facfE8615e6743Ab02")
AUTHORITY_HISTORY_PAIR_FACTORY_V1 = to_checksum_address(
    "0x3890A047Cf9Af60731E80B2105362BbDCD70142D"
)

# In deployment order, with the package each record is in; the libraries first (the
# CartesiDApp created by the factory calls Bitmask and MerkleV2, MerkleV2 calls CartesiMathV2).
ROLLUPS_V1_ADDRESSES: dict[str, ChecksumAddress] = {
    "CartesiMathV2": to_checksum_address("0xB634F716BEd5Dd5A2b9a91C92474C499e50Cb27D"),
    "MerkleV2": to_checksum_address("0x33436035441927Df1a73FE3AAC5906854632e53d"),
    "Bitmask": to_checksum_address("0xF5B2d8c81cDE4D6238bBf20D3D77DB37df13f735"),
    "InputBox": INPUT_BOX_V1,
    "EtherPortal": ETHER_PORTAL_V1,
    "ERC20Portal": ERC20_PORTAL_V1,
    "ERC721Portal": to_checksum_address("0x237F8DD094C0e47f4236f12b4Fa01d6Dae89fb87"),
    "ERC1155SinglePortal": to_checksum_address("0x7CFB0193Ca87eB6e48056885E026552c3A941FC4"),
    "ERC1155BatchPortal": to_checksum_address("0xedB53860A6B52bbb7561Ad596416ee9965B055Aa"),
    "DAppAddressRelay": DAPP_ADDRESS_RELAY_V1,
    "AuthorityFactory": to_checksum_address("0xf26a5b278C25D8D41A136d22Ad719EACEd9c3e63"),
    "HistoryFactory": to_checksum_address("0x1f158b5320BBf677FdA89F9a438df99BbE560A26"),
    "AuthorityHistoryPairFactory": AUTHORITY_HISTORY_PAIR_FACTORY_V1,
    "CartesiDAppFactory": CARTESI_DAPP_FACTORY_V1,
    "SelfHostedApplicationFactory": to_checksum_address(
        "0x9E32e06Fd23675b2DF8eA8e6b0A25c3DF6a60AbC"
    ),
}
_UTIL_LIBRARIES = frozenset({"CartesiMathV2", "MerkleV2", "Bitmask"})

MAX_UINT256 = 2**256 - 1


# --------------------------------------------------------------------------------- artifacts


def deployment_record(name: str) -> dict[str, Any]:
    """The hardhat-deploy record of a v1 contract or library (`address`, `args`, `bytecode`)."""
    package = CARTESI_UTIL_PACKAGE if name in _UTIL_LIBRARIES else ROLLUPS_V1_PACKAGE
    path = package / "deployments" / DEPLOYMENTS_NETWORK / f"{name}.json"
    if not path.is_file():
        raise DevnetError(f"{path} is missing: run `make install` (npm ci) first")
    return cast(dict[str, Any], json.loads(path.read_text()))


@cache
def _artifact_paths() -> dict[str, str]:
    """Artifact file of each contract name under `export/artifacts` (hardhat layout)."""
    if not ROLLUPS_V1_ARTIFACTS.is_dir():
        raise DevnetError(f"{ROLLUPS_V1_ARTIFACTS} is missing: run `make install` (npm ci) first")
    paths: dict[str, str] = {}
    for path in sorted(ROLLUPS_V1_ARTIFACTS.rglob("*.json")):
        if path.parent.name == f"{path.stem}.sol" and not path.name.endswith(".dbg.json"):
            paths.setdefault(path.stem, str(path))
    return paths


def v1_abi(name: str) -> ABI:
    """The ABI of a v1.4.5 contract, interface or library by name (`CartesiDApp`, `IInputBox`,
    `Authority`, `History`, `ERC20Portal`, `IERC20`, ...), from the package's hardhat artifacts.
    """
    path = _artifact_paths().get(name)
    if path is None:
        raise DevnetError(f"no v1.4.5 artifact named {name} under {ROLLUPS_V1_ARTIFACTS}")
    with open(path) as file:
        return cast(ABI, json.load(file)["abi"])


def _constructor_types(abi: ABI) -> list[str]:
    for entry in abi:
        if entry.get("type") == "constructor":
            inputs = cast(list[dict[str, Any]], entry.get("inputs", []))
            return [str(item["type"]) for item in inputs]
    return []


def safe_create2_address(initcode: bytes, salt: bytes = ZERO_SALT) -> ChecksumAddress:
    """Where the Safe singleton factory puts `initcode` (bytecode ++ constructor arguments)."""
    factory = bytes.fromhex(SAFE_SINGLETON_FACTORY[2:])
    return to_checksum_address(keccak(b"\xff" + factory + salt + keccak(initcode))[12:])


def rollups_v1_initcodes() -> dict[str, bytes]:
    """Initcode of every contract of the v1.4.5 set (libraries first), arguments included.

    Raises when one would not land at its official address (or the package records another
    address than `ROLLUPS_V1_ADDRESSES`), which would mean the wrong packages are installed.
    """
    initcodes: dict[str, bytes] = {}
    for name, official in ROLLUPS_V1_ADDRESSES.items():
        record = deployment_record(name)
        bytecode = bytes.fromhex(str(record["bytecode"]).removeprefix("0x"))
        initcode = bytecode + encode(_constructor_types(record["abi"]), record.get("args", []))
        address = safe_create2_address(initcode)
        if not address == official == to_checksum_address(record["address"]):
            raise DevnetError(
                f"v1 {name} would be at {address}; the package records {record['address']}, "
                f"the official address is {official}: is @cartesi/rollups 1.4.5 installed?"
            )
        initcodes[name] = initcode
    libraries = deployment_record("CartesiDAppFactory").get("libraries", {})
    for library, address in libraries.items():
        if to_checksum_address(address) != ROLLUPS_V1_ADDRESSES.get(library):
            raise DevnetError(f"CartesiDAppFactory is linked to {library} at {address}")
    return initcodes


# ------------------------------------------------------------------------------------ claims


@dataclass(frozen=True)
class DeploymentV1:
    """Where the v1.4.5 contracts and the v1 application are; `to_json()` is devnet.json's `v1`.

    `deployment_block` is the block in which the CartesiDApp was created (where to start
    following `InputAdded`); `contracts` holds the whole official v1.4.5 set by name.
    """

    input_box: str
    erc20_portal: str
    ether_portal: str
    dapp_address_relay: str
    authority: str
    history: str
    application: str
    deployment_block: int
    owner: str = ""
    template_hash: str = "0x" + bytes(32).hex()
    contracts: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The `v1` object of `.devnet/devnet.json` (addresses in EIP-55 form)."""
        return {
            "application": self.application,
            "input_box": self.input_box,
            "erc20_portal": self.erc20_portal,
            "ether_portal": self.ether_portal,
            "dapp_address_relay": self.dapp_address_relay,
            "authority": self.authority,
            "history": self.history,
            "deployment_block": self.deployment_block,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeploymentV1:
        """Read back `to_json()` (extra keys such as `inspect_url` are ignored)."""
        return cls(
            input_box=str(data["input_box"]),
            erc20_portal=str(data["erc20_portal"]),
            ether_portal=str(data["ether_portal"]),
            dapp_address_relay=str(data["dapp_address_relay"]),
            authority=str(data["authority"]),
            history=str(data["history"]),
            application=str(data["application"]),
            deployment_block=int(data.get("deployment_block", 0)),
            contracts=dict(ROLLUPS_V1_ADDRESSES),
        )


def install_safe_singleton_factory(w3: Web3) -> None:
    """Give the chain the Safe singleton factory: anvil's CREATE2 deployer's code, copied.

    Both are the same contract (calldata = 32-byte salt ++ initcode; CREATE2; returns the
    address), so the copy deploys exactly where the real factory does. Left alone if present.
    """
    if has_code(w3, SAFE_SINGLETON_FACTORY):
        return
    code = bytes(w3.eth.get_code(CREATE2_DEPLOYER))
    if not code:
        raise DevnetError(f"no CREATE2 deployer at {CREATE2_DEPLOYER} to copy: is this anvil?")
    response = w3.provider.make_request(
        cast(Any, "anvil_setCode"), [SAFE_SINGLETON_FACTORY, "0x" + code.hex()]
    )
    if "error" in response:
        raise DevnetError(f"anvil_setCode failed (is this anvil?): {response['error']}")
    if bytes(w3.eth.get_code(SAFE_SINGLETON_FACTORY)) != code:
        raise DevnetError(f"anvil_setCode did not put the factory at {SAFE_SINGLETON_FACTORY}")


def _deploy_through_factory(w3: Web3, initcode: bytes, sender: str, what: str) -> None:
    """Deploy `initcode` through the Safe singleton factory with a zero salt unless there."""
    address = safe_create2_address(initcode)
    if has_code(w3, address):
        return
    send_transaction(
        w3, {"from": sender, "to": SAFE_SINGLETON_FACTORY, "data": ZERO_SALT + initcode}, what
    )
    if not has_code(w3, address):
        raise DevnetError(f"{what}: no code at {address} after deployment")


def _application_block(w3: Web3, application: str, consensus: str, fallback: int) -> int:
    """The block of the factory's `ApplicationCreated` for `application` (else `fallback`).

    v1's CartesiDApp, unlike v2's Application, does not record its deployment block.
    """
    factory = w3.eth.contract(address=CARTESI_DAPP_FACTORY_V1, abi=v1_abi("CartesiDAppFactory"))
    event = factory.events.ApplicationCreated
    logs = event.get_logs(from_block=0, argument_filters={"consensus": consensus})
    for log in logs:
        if to_checksum_address(log["args"]["application"]) == application:
            return int(log["blockNumber"])
    return fallback


def approve_portal(w3: Web3, token: str, accounts: tuple[str, ...] = ANVIL_ACCOUNTS) -> None:
    """Let the v1 ERC20Portal move any amount of `token` from each of `accounts`.

    The released CLI's `send erc20` deposits without approving first; with this allowance
    (never decreased by OpenZeppelin when it is the maximum) its deposits succeed. Accounts
    that already have it send nothing.
    """
    contract = w3.eth.contract(address=to_checksum_address(token), abi=v1_abi("IERC20"))
    for account in accounts:
        if int(contract.functions.allowance(account, ERC20_PORTAL_V1).call()) == MAX_UINT256:
            continue
        call = contract.functions.approve(ERC20_PORTAL_V1, MAX_UINT256)
        send_transaction(
            w3, call.build_transaction({"from": account}), f"approving {token} for {account}"
        )


def deploy_v1(
    rpc_url: str,
    *,
    owner_index: int = 0,
    template_hash: bytes = bytes(32),
    approve_tokens: dict[str, str] | None = None,
) -> DeploymentV1:
    """Deploy what is missing of Rollups v1.4.5 on the anvil at `rpc_url`; say where it is.

    The official v1.4.5 set (and the @cartesi/util libraries it links) at the official
    addresses through a copy of the Safe singleton factory; an Authority + History pair whose
    Authority is owned by anvil account `owner_index` (History owned by the Authority), made by
    the AuthorityHistoryPairFactory with a zero salt; a CartesiDApp (consensus the Authority,
    owner the same account, `template_hash`) made by the CartesiDAppFactory with a zero salt.
    `approve_tokens` (symbol -> ERC-20 address) get an unlimited allowance for the v1
    ERC20Portal from every default anvil account. Calling it again sends nothing new.
    """
    if len(template_hash) != 32:
        raise ValueError("template_hash must be 32 bytes")
    if not 0 <= owner_index < len(ANVIL_ACCOUNTS):
        raise ValueError(f"owner_index must be in [0, {len(ANVIL_ACCOUNTS)})")
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
    if not w3.is_connected():
        raise DevnetError(f"no JSON-RPC node answers at {rpc_url}: start anvil first")
    node_accounts = [to_checksum_address(a) for a in w3.eth.accounts]
    if node_accounts[: len(ANVIL_ACCOUNTS)] != list(ANVIL_ACCOUNTS):
        raise DevnetError(f"{rpc_url} does not have anvil's default accounts unlocked")
    owner = ANVIL_ACCOUNTS[owner_index]

    initcodes = rollups_v1_initcodes()
    install_safe_singleton_factory(w3)
    for name, initcode in initcodes.items():
        _deploy_through_factory(w3, initcode, owner, f"deploying v1 {name}")

    pair_factory = w3.eth.contract(
        address=AUTHORITY_HISTORY_PAIR_FACTORY_V1, abi=v1_abi("AuthorityHistoryPairFactory")
    )
    calculated = pair_factory.functions.calculateAuthorityHistoryAddressPair(owner, ZERO_SALT)
    authority, history = (to_checksum_address(a) for a in calculated.call())
    if not has_code(w3, authority):
        new_pair = pair_factory.get_function_by_signature(
            "newAuthorityHistoryPair(address,bytes32)"
        )
        call = new_pair(owner, ZERO_SALT)
        send_transaction(
            w3, call.build_transaction({"from": owner}), "creating the v1 Authority/History"
        )

    app_factory = w3.eth.contract(address=CARTESI_DAPP_FACTORY_V1, abi=v1_abi("CartesiDAppFactory"))
    app_args = (authority, owner, template_hash, ZERO_SALT)
    application = to_checksum_address(
        app_factory.functions.calculateApplicationAddress(*app_args).call()
    )
    deployment_block: int | None = None
    if not has_code(w3, application):
        new_application = app_factory.get_function_by_signature(
            "newApplication(address,address,bytes32,bytes32)"
        )
        call = new_application(*app_args)
        deployment_block = send_transaction(
            w3, call.build_transaction({"from": owner}), "creating the v1 CartesiDApp"
        )
    for address, what in ((authority, "Authority"), (history, "History"), (application, "dapp")):
        if not has_code(w3, address):
            raise DevnetError(f"the v1 {what} is not at {address} after its factory call")
    if deployment_block is None:
        deployment_block = _application_block(w3, application, authority, fallback=0)

    for token in (approve_tokens or {}).values():
        approve_portal(w3, token)

    return DeploymentV1(
        input_box=INPUT_BOX_V1,
        erc20_portal=ERC20_PORTAL_V1,
        ether_portal=ETHER_PORTAL_V1,
        dapp_address_relay=DAPP_ADDRESS_RELAY_V1,
        authority=authority,
        history=history,
        application=application,
        deployment_block=deployment_block,
        owner=owner,
        template_hash="0x" + template_hash.hex(),
        contracts=dict(ROLLUPS_V1_ADDRESSES),
    )
