"""The local chain of the devnet: anvil plus the real Cartesi Rollups v2.2 contracts.

Everything comes from npm packages pinned in `package.json` (installed by `make install`), so a
local chain is the same contracts, byte for byte, as the official deployments:

* `@foundry-rs/anvil-linux-amd64`: the anvil binary (`Anvil`).
* `@cartesi/rollups` 2.2.0: the compiled Foundry artifacts under `out/`. `deploy()` puts every
  contract of the official v2.2 set through the deterministic CREATE2 deployer with a zero
  salt, as the package's Cannon recipe does, so they land at the official addresses
  (`ROLLUPS_ADDRESSES`, checked before anything is sent). Then an Authority and an
  Application are made through their factories, also with a zero salt.
* `@openzeppelin/contracts` 4.9: two test tokens, both `ERC20PresetFixedSupply`. CTSI (18
  decimals) is the package's compiled artifact as is. OpenZeppelin ships only 18-decimal
  bytecode, so USDC (6 decimals) is a three-line subclass of the same preset compiled from the
  package's sources by the pinned `solc` npm package (solcjs, WebAssembly: no download, works
  offline after `npm ci`); the result is cached under `node_modules/.cache/`.

Addresses of the tokens, the Authority and the Application are deterministic too (CREATE2,
zero salt), so `deploy()` is idempotent: what already has code is left alone, and a second
`make run` against a persistent anvil state (`Anvil(state=...)`) finds everything in place.

Transactions are sent from anvil's unlocked default accounts (`eth_sendTransaction`); their
private keys (`ANVIL_PRIVATE_KEYS`) are derived from `ANVIL_MNEMONIC` for clients that sign.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, cast

from eth_abi.abi import encode
from eth_account import Account
from eth_typing import ABI, ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.types import TxParams

REPO_ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = REPO_ROOT / "node_modules"
ANVIL_BINARY = NODE_MODULES / "@foundry-rs/anvil-linux-amd64/bin/anvil"
SOLC_PACKAGE = NODE_MODULES / "solc"
ROLLUPS_ARTIFACTS = "@cartesi/rollups/out"
OPENZEPPELIN_ARTIFACTS = "@openzeppelin/contracts/build/contracts"

ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
ANVIL_ACCOUNT_COUNT = 10
ANVIL_CHAIN_ID = 31337

# Arachnid's deterministic deployment proxy, predeployed by anvil: calldata = salt ++ initcode.
CREATE2_DEPLOYER = to_checksum_address("0x4e59b44847b379578588920cA78FbF26c0B4956C")
ZERO_SALT = bytes(32)

# The official Cartesi Rollups v2.2 deployment (PROTOCOL §2.1 for the first three).
INPUT_BOX = to_checksum_address("0x1b51e2992A2755Ba4D6F7094032DF91991a0Cfac")
ERC20_PORTAL = to_checksum_address("0xACA6586A0Cf05bD831f2501E7B4aea550dA6562D")
ETHER_PORTAL = to_checksum_address("0xA632c5c05812c6a6149B7af5C56117d1D2603828")
ROLLUPS_ADDRESSES: dict[str, ChecksumAddress] = {
    "InputBox": INPUT_BOX,
    "EtherPortal": ETHER_PORTAL,
    "ERC20Portal": ERC20_PORTAL,
    "ERC721Portal": to_checksum_address("0x9E8851dadb2b77103928518846c4678d48b5e371"),
    "ERC1155SinglePortal": to_checksum_address("0x18558398Dd1a8cE20956287a4Da7B76aE7A96662"),
    "ERC1155BatchPortal": to_checksum_address("0xe246Abb974B307490d9C6932F48EbE79de72338A"),
    "AuthorityFactory": to_checksum_address("0x5E96408CFE423b01dADeD3bc867E6013135990cc"),
    "QuorumFactory": to_checksum_address("0x1C91Ba8aa5648cdAC77E97eaC781447c646EF239"),
    "ApplicationFactory": to_checksum_address("0x26E758238CB6eC5aB70ce0dd52aF2d7b82e1972E"),
    "SelfHostedApplicationFactory": to_checksum_address(
        "0x010D3CbB4223F5bCc7b7B03cEE59f3aAea8eDb8A"
    ),
    "SafeERC20Transfer": to_checksum_address("0xb7C2bcAA4437425cfcE9d233bFf15EF461273D63"),
}
# In deployment order: each contract's constructor arguments are addresses of earlier ones.
_ROLLUPS_CONSTRUCTOR_ARGS: dict[str, tuple[str, ...]] = {
    "InputBox": (),
    "EtherPortal": ("InputBox",),
    "ERC20Portal": ("InputBox",),
    "ERC721Portal": ("InputBox",),
    "ERC1155SinglePortal": ("InputBox",),
    "ERC1155BatchPortal": ("InputBox",),
    "AuthorityFactory": (),
    "QuorumFactory": (),
    "ApplicationFactory": (),
    "SelfHostedApplicationFactory": ("AuthorityFactory", "ApplicationFactory"),
    "SafeERC20Transfer": (),
}

SIX_DECIMAL_TOKEN_SOURCE = """\
// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20PresetFixedSupply} from
    "@openzeppelin/contracts/token/ERC20/presets/ERC20PresetFixedSupply.sol";

/// OpenZeppelin 4.9's fixed-supply preset with 6 decimals, like USDC.
contract SixDecimalToken is ERC20PresetFixedSupply {
    constructor(string memory name, string memory symbol, uint256 initialSupply, address owner)
        ERC20PresetFixedSupply(name, symbol, initialSupply, owner) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
"""

# Runs under node: standard-JSON solc from the npm package, imports resolved in node_modules.
_SOLCJS_SCRIPT = """
const fs = require("fs"), path = require("path");
const [solcPath, root] = process.argv.slice(1);
const solc = require(solcPath);
function findImports(name) {
  const file = path.resolve(root, name);
  if (!file.startsWith(root + path.sep)) return { error: "outside node_modules: " + name };
  try { return { contents: fs.readFileSync(file, "utf8") }; }
  catch (e) { return { error: String(e) }; }
}
const input = fs.readFileSync(0, "utf8");
process.stdout.write(solc.compile(input, { import: findImports }));
"""


class DevnetError(RuntimeError):
    """The local chain cannot be started or set up; the message says what to do."""


@dataclass(frozen=True)
class TokenSpec:
    """What a test token is before it exists: its symbol, name and decimals."""

    symbol: str
    name: str
    decimals: int


TEST_TOKENS: tuple[TokenSpec, ...] = (
    TokenSpec("USDC", "USD Coin", 6),
    TokenSpec("CTSI", "Cartesi Token", 18),
)


def _default_accounts(count: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Addresses and private keys that anvil derives from its default mnemonic."""
    Account.enable_unaudited_hdwallet_features()
    addresses: list[str] = []
    keys: list[str] = []
    for index in range(count):
        account = Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
        addresses.append(account.address)
        keys.append("0x" + bytes(account.key).hex())
    return tuple(addresses), tuple(keys)


ANVIL_ACCOUNTS, ANVIL_PRIVATE_KEYS = _default_accounts(ANVIL_ACCOUNT_COUNT)


# --------------------------------------------------------------------------------- artifacts


def artifact(package_path: str) -> tuple[ABI, bytes]:
    """ABI and creation bytecode of a compiled artifact, by its path inside node_modules.

    Reads Foundry artifacts (`bytecode.object`, as `@cartesi/rollups/out/X.sol/X.json`) and
    Hardhat/Truffle ones (`bytecode` as a string, as OpenZeppelin's `build/contracts/X.json`).
    The bytecode is empty for interfaces and abstract contracts.
    """
    path = NODE_MODULES / package_path
    if not path.is_file():
        raise DevnetError(f"artifact {path} is missing: run `make install` (npm ci) first")
    data = json.loads(path.read_text())
    bytecode = data["bytecode"]
    if isinstance(bytecode, dict):
        if bytecode.get("linkReferences"):
            raise DevnetError(f"artifact {path} needs library linking, which is not supported")
        bytecode = bytecode["object"]
    return cast(ABI, data["abi"]), bytes.fromhex(bytecode.removeprefix("0x"))


def rollups_artifact(name: str) -> tuple[ABI, bytes]:
    """ABI and creation bytecode of a Cartesi Rollups contract or interface, e.g. `InputBox`."""
    return artifact(f"{ROLLUPS_ARTIFACTS}/{name}.sol/{name}.json")


def rollups_abi(name: str) -> ABI:
    """The ABI of a Cartesi Rollups contract or interface (`Application`, `IInputBox`, ...)."""
    return rollups_artifact(name)[0]


def create2_address(initcode: bytes, salt: bytes = ZERO_SALT) -> ChecksumAddress:
    """Where the deterministic deployer puts `initcode` (bytecode ++ constructor arguments)."""
    deployer = bytes.fromhex(CREATE2_DEPLOYER[2:])
    return to_checksum_address(keccak(b"\xff" + deployer + salt + keccak(initcode))[12:])


def _constructor_types(abi: ABI) -> list[str]:
    for entry in abi:
        if entry.get("type") == "constructor":
            inputs = cast(list[dict[str, Any]], entry.get("inputs", []))
            return [str(item["type"]) for item in inputs]
    return []


def rollups_initcodes() -> dict[str, bytes]:
    """Initcode of every contract of the v2.2 set, constructor arguments included.

    Raises when one would not land at its official address, which would mean the npm
    artifacts are not the bytecode that Cartesi deployed.
    """
    initcodes: dict[str, bytes] = {}
    for name, arg_names in _ROLLUPS_CONSTRUCTOR_ARGS.items():
        abi, bytecode = rollups_artifact(name)
        args = [ROLLUPS_ADDRESSES[arg] for arg in arg_names]
        initcode = bytecode + encode(_constructor_types(abi), args)
        address = create2_address(initcode)
        if address != ROLLUPS_ADDRESSES[name]:
            raise DevnetError(
                f"{name} from {ROLLUPS_ARTIFACTS} would be at {address}, not at the official "
                f"{ROLLUPS_ADDRESSES[name]}: is @cartesi/rollups 2.2.0 installed?"
            )
        initcodes[name] = initcode
    return initcodes


def input_box_data_availability(input_box: str = INPUT_BOX) -> bytes:
    """An application's data availability: the ABI-encoded call `InputBox(address)`.

    The selector is the one of `DataAvailability.InputBox` in the v2.2 artifacts.
    """
    return keccak(text="InputBox(address)")[:4] + encode(["address"], [input_box])


def six_decimal_token_artifact() -> tuple[ABI, bytes]:
    """ABI and bytecode of `SIX_DECIMAL_TOKEN_SOURCE`, compiled by the npm `solc` (cached)."""
    solc_package = SOLC_PACKAGE / "package.json"
    if not solc_package.is_file():
        raise DevnetError(f"{SOLC_PACKAGE} is missing: run `make install` (npm ci) first")
    node = shutil.which("node")
    if node is None:
        raise DevnetError("node is not on PATH; it is needed to run solcjs (npm package solc)")
    solc_version = json.loads(solc_package.read_text())["version"]
    request = json.dumps(
        {
            "language": "Solidity",
            "sources": {"SixDecimalToken.sol": {"content": SIX_DECIMAL_TOKEN_SOURCE}},
            "settings": {
                "optimizer": {"enabled": True, "runs": 200},
                "evmVersion": "cancun",
                "outputSelection": {
                    "SixDecimalToken.sol": {"SixDecimalToken": ["abi", "evm.bytecode.object"]}
                },
            },
        },
        sort_keys=True,
    )
    key = hashlib.sha256(f"{solc_version}\n{request}".encode()).hexdigest()[:16]
    cache = NODE_MODULES / ".cache" / "streamdex-devnet" / f"SixDecimalToken-{key}.json"
    if not cache.is_file():
        result = subprocess.run(
            [node, "-e", _SOLCJS_SCRIPT, str(SOLC_PACKAGE), str(NODE_MODULES)],
            input=request,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise DevnetError(f"solcjs failed: {result.stderr.strip()}")
        output = json.loads(result.stdout)
        errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
        if errors:
            messages = "; ".join(e.get("formattedMessage", e.get("message", "")) for e in errors)
            raise DevnetError(f"solcjs could not compile the 6-decimal token: {messages}")
        compiled = output["contracts"]["SixDecimalToken.sol"]["SixDecimalToken"]
        content = {"abi": compiled["abi"], "bytecode": "0x" + compiled["evm"]["bytecode"]["object"]}
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=cache.parent, delete=False) as temporary:
            json.dump(content, temporary)
        os.replace(temporary.name, cache)
    data = json.loads(cache.read_text())
    return cast(ABI, data["abi"]), bytes.fromhex(data["bytecode"][2:])


def token_artifact(decimals: int) -> tuple[ABI, bytes]:
    """A fixed-supply OpenZeppelin 4.9 ERC-20 with `decimals` (6 or 18).

    Constructor: `(string name, string symbol, uint256 initialSupply, address owner)`.
    """
    if decimals == 18:
        return artifact(f"{OPENZEPPELIN_ARTIFACTS}/ERC20PresetFixedSupply.json")
    if decimals == 6:
        return six_decimal_token_artifact()
    raise DevnetError(f"no test token bytecode with {decimals} decimals (only 6 and 18)")


# ------------------------------------------------------------------------------------- anvil


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (for tests that start their own anvil)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def rpc_chain_id(rpc_url: str, timeout: float = 2.0) -> int:
    """`eth_chainId` over plain HTTP JSON-RPC; raises OSError or ValueError when not answered."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
    request = urllib.request.Request(
        rpc_url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(json.loads(response.read())["result"], 16)


class Anvil:
    """An anvil process from the npm package, answering JSON-RPC at `rpc_url`.

    Starts in the constructor and returns once the node answers `eth_chainId`; use it as a
    context manager (or call `stop()`) so that no process is left behind. Blocks are mined
    instantly, one per transaction, unless `block_time` (seconds) is given. With `state`,
    the chain is loaded from that file if it exists and written back to it on `stop()`.
    """

    def __init__(
        self,
        port: int = 8545,
        host: str = "127.0.0.1",
        chain_id: int = ANVIL_CHAIN_ID,
        state: Path | None = None,
        *,
        block_time: int | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        if not ANVIL_BINARY.is_file():
            raise DevnetError(f"anvil not found at {ANVIL_BINARY}: run `make install` first")
        if _port_in_use(host, port):
            raise DevnetError(f"{host}:{port} is already in use: stop what listens there")
        self.host = host
        self.port = port
        self.chain_id = chain_id
        self.rpc_url = f"http://{host}:{port}"
        command = [
            str(ANVIL_BINARY),
            "--host",
            host,
            "--port",
            str(port),
            "--chain-id",
            str(chain_id),
            "--mnemonic",
            ANVIL_MNEMONIC,
            "--accounts",
            str(ANVIL_ACCOUNT_COUNT),
        ]
        if state is not None:
            state.parent.mkdir(parents=True, exist_ok=True)
            command += ["--state", str(state)]
        if block_time is not None:
            command += ["--block-time", str(block_time)]
        # Closed by stop(); anvil's output stays readable for error messages until then.
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            self._wait_until_ready(startup_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise DevnetError(
                    f"anvil exited with code {self._process.returncode}: {self.output()}"
                )
            try:
                chain_id = rpc_chain_id(self.rpc_url, timeout=1.0)
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise DevnetError(
                        f"anvil did not answer at {self.rpc_url} within {timeout} s: "
                        f"{self.output()}"
                    ) from None
                time.sleep(0.05)
                continue
            if chain_id != self.chain_id:
                raise DevnetError(
                    f"{self.rpc_url} answers chain id {chain_id}, not {self.chain_id}"
                )
            return

    def output(self) -> str:
        """What anvil printed so far (its last 4 KiB), for error messages."""
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - 4096))
        return self._log.read().decode(errors="replace").strip()

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate anvil (SIGTERM, so it writes `state`) and wait for it; idempotent."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._log.close()

    def __enter__(self) -> Anvil:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


# ---------------------------------------------------------------------------------- deploy


@dataclass(frozen=True)
class Token:
    """A deployed test ERC-20."""

    symbol: str
    name: str
    address: str
    decimals: int


@dataclass(frozen=True)
class Deployment:
    """Where everything is on the local chain; `to_json()` is `.devnet/devnet.json`.

    `contracts` holds the whole official v2.2 set by contract name; `deployment_block` is the
    block in which the Application was created (where to start following `InputAdded`).
    """

    rpc_url: str
    chain_id: int
    input_box: str
    erc20_portal: str
    ether_portal: str
    authority_factory: str
    application_factory: str
    authority: str
    application: str
    template_hash: str
    epoch_length: int
    deployment_block: int
    tokens: dict[str, Token]
    accounts: tuple[str, ...]
    private_keys: tuple[str, ...]
    contracts: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (addresses in EIP-55 form, keys and hashes as 0x-hex)."""
        return {
            "rpc_url": self.rpc_url,
            "chain_id": self.chain_id,
            "input_box": self.input_box,
            "erc20_portal": self.erc20_portal,
            "ether_portal": self.ether_portal,
            "authority_factory": self.authority_factory,
            "application_factory": self.application_factory,
            "authority": self.authority,
            "application": self.application,
            "template_hash": self.template_hash,
            "epoch_length": self.epoch_length,
            "deployment_block": self.deployment_block,
            "tokens": {
                symbol: {"name": token.name, "address": token.address, "decimals": token.decimals}
                for symbol, token in self.tokens.items()
            },
            "accounts": list(self.accounts),
            "private_keys": list(self.private_keys),
            "contracts": dict(self.contracts),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        """The inverse of `to_json()`."""
        tokens = {
            symbol: Token(symbol, str(t["name"]), str(t["address"]), int(t["decimals"]))
            for symbol, t in data["tokens"].items()
        }
        simple = {
            name: data[name]
            for name in (
                "rpc_url",
                "chain_id",
                "input_box",
                "erc20_portal",
                "ether_portal",
                "authority_factory",
                "application_factory",
                "authority",
                "application",
                "template_hash",
                "epoch_length",
                "deployment_block",
            )
        }
        return cls(
            **simple,
            tokens=tokens,
            accounts=tuple(data["accounts"]),
            private_keys=tuple(data["private_keys"]),
            contracts=dict(data.get("contracts", {})),
        )

    def save(self, path: Path) -> None:
        """Write `to_json()` to `path` (parents created)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Deployment:
        """Read a file written by `save()`."""
        return cls.from_json(json.loads(path.read_text()))


def send_transaction(w3: Web3, transaction: TxParams, what: str) -> int:
    """Send from an unlocked account, wait for the receipt; return its block number."""
    tx_hash = w3.eth.send_transaction(transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    if receipt["status"] != 1:
        raise DevnetError(f"{what} failed: transaction {tx_hash.hex()} reverted")
    return int(receipt["blockNumber"])


def has_code(w3: Web3, address: str) -> bool:
    return len(w3.eth.get_code(to_checksum_address(address))) > 0


def _deploy_create2(w3: Web3, initcode: bytes, sender: str, what: str) -> ChecksumAddress:
    """Deploy through the CREATE2 deployer with a zero salt unless already there."""
    address = create2_address(initcode)
    if not has_code(w3, address):
        send_transaction(
            w3, {"from": sender, "to": CREATE2_DEPLOYER, "data": ZERO_SALT + initcode}, what
        )
        if not has_code(w3, address):
            raise DevnetError(f"{what}: no code at {address} after deployment")
    return address


def _deploy_token(
    w3: Web3, spec: TokenSpec, accounts: tuple[str, ...], whole_tokens_per_account: int
) -> Token:
    """Deploy a test token owned by accounts[0] and hand each account its share, once."""
    abi, bytecode = token_artifact(spec.decimals)
    per_account = whole_tokens_per_account * 10**spec.decimals
    owner = accounts[0]
    initcode = bytecode + encode(
        _constructor_types(abi), [spec.name, spec.symbol, per_account * len(accounts), owner]
    )
    address = create2_address(initcode)
    fresh = not has_code(w3, address)
    _deploy_create2(w3, initcode, owner, f"deploying {spec.symbol}")
    token = w3.eth.contract(address=address, abi=abi)
    if fresh:
        for account in accounts[1:]:
            call = token.functions.transfer(account, per_account)
            send_transaction(
                w3, call.build_transaction({"from": owner}), f"{spec.symbol} to {account}"
            )
    return Token(spec.symbol, spec.name, address, int(token.functions.decimals().call()))


def _function(contract: Contract, signature: str) -> Any:
    """An overloaded contract function by its full signature."""
    return contract.get_function_by_signature(signature)


def deploy(
    rpc_url: str,
    *,
    template_hash: bytes = bytes(32),
    epoch_length: int = 1,
    whole_tokens_per_account: int = 1_000_000,
) -> Deployment:
    """Deploy what is missing on the chain at `rpc_url` and say where everything is.

    The Cartesi v2.2 set at its official addresses; an Authority owned by anvil account 0
    with `epoch_length` blocks per epoch; an Application (owner account 0, validator the
    Authority, `template_hash`, data availability `InputBox(INPUT_BOX)`); USDC (6 decimals)
    and CTSI (18), each default account holding `whole_tokens_per_account` of each when the
    token is created. Everything goes through CREATE2 with a zero salt, so calling this again
    with the same arguments sends no transaction and returns the same `Deployment`.
    """
    if len(template_hash) != 32:
        raise ValueError("template_hash must be 32 bytes")
    if epoch_length < 1:
        raise ValueError("epoch_length must be at least 1")
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
    if not w3.is_connected():
        raise DevnetError(f"no JSON-RPC node answers at {rpc_url}: start anvil first")
    if not has_code(w3, CREATE2_DEPLOYER):
        raise DevnetError(f"the chain at {rpc_url} has no CREATE2 deployer at {CREATE2_DEPLOYER}")
    accounts = ANVIL_ACCOUNTS
    node_accounts = [to_checksum_address(a) for a in w3.eth.accounts]
    if node_accounts[: len(accounts)] != list(accounts):
        raise DevnetError(f"{rpc_url} does not have anvil's default accounts unlocked")
    owner = accounts[0]

    for name, initcode in rollups_initcodes().items():
        _deploy_create2(w3, initcode, owner, f"deploying {name}")

    authority_factory = w3.eth.contract(
        address=ROLLUPS_ADDRESSES["AuthorityFactory"], abi=rollups_abi("AuthorityFactory")
    )
    authority = to_checksum_address(
        authority_factory.functions.calculateAuthorityAddress(owner, epoch_length, ZERO_SALT).call()
    )
    if not has_code(w3, authority):
        new_authority = _function(authority_factory, "newAuthority(address,uint256,bytes32)")
        call = new_authority(owner, epoch_length, ZERO_SALT)
        send_transaction(w3, call.build_transaction({"from": owner}), "creating the Authority")

    application_factory = w3.eth.contract(
        address=ROLLUPS_ADDRESSES["ApplicationFactory"], abi=rollups_abi("ApplicationFactory")
    )
    data_availability = input_box_data_availability()
    app_args = (authority, owner, template_hash, data_availability, ZERO_SALT)
    application = to_checksum_address(
        application_factory.functions.calculateApplicationAddress(*app_args).call()
    )
    if not has_code(w3, application):
        new_application = _function(
            application_factory, "newApplication(address,address,bytes32,bytes,bytes32)"
        )
        call = new_application(*app_args)
        send_transaction(w3, call.build_transaction({"from": owner}), "creating the Application")
    for address, what in ((authority, "Authority"), (application, "Application")):
        if not has_code(w3, address):
            raise DevnetError(f"the {what} is not at {address} after its factory call")
    app_contract = w3.eth.contract(address=application, abi=rollups_abi("Application"))
    deployment_block = int(app_contract.functions.getDeploymentBlockNumber().call())

    tokens = {
        spec.symbol: _deploy_token(w3, spec, accounts, whole_tokens_per_account)
        for spec in TEST_TOKENS
    }
    return Deployment(
        rpc_url=rpc_url,
        chain_id=int(w3.eth.chain_id),
        input_box=INPUT_BOX,
        erc20_portal=ERC20_PORTAL,
        ether_portal=ETHER_PORTAL,
        authority_factory=ROLLUPS_ADDRESSES["AuthorityFactory"],
        application_factory=ROLLUPS_ADDRESSES["ApplicationFactory"],
        authority=authority,
        application=application,
        template_hash="0x" + template_hash.hex(),
        epoch_length=epoch_length,
        deployment_block=deployment_block,
        tokens=tokens,
        accounts=accounts,
        private_keys=ANVIL_PRIVATE_KEYS,
        contracts=dict(ROLLUPS_ADDRESSES),
    )
