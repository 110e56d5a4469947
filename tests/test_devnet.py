"""`python -m devnet` end to end on a real chain: deposits through the real portals, actions
through the InputBox, inspect over HTTP, withdrawals claimed and executed on chain with the
devnet's proofs (a tampered proof is refused by the contract), Ctrl-C and a restart."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3.exceptions import ContractLogicError

from client.api import ETHER, Client, ClientError
from devnet.chain import free_port

ROOT = Path(__file__).parent.parent


@dataclass
class Devnet:
    process: subprocess.Popen[bytes]
    state: Path
    ports: tuple[int, int, int]

    def client(self, account: int = 0) -> Client:
        return Client.from_file(self.state / "devnet.json", account)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)


def start_devnet(state: Path, ports: tuple[int, int, int] | None = None, *extra: str) -> Devnet:
    ports = ports or (free_port(), free_port(), free_port())
    (state / "devnet.json").unlink(missing_ok=True)  # a previous run's: wait for this run's
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devnet",
            "--state-dir",
            str(state),
            "--anvil-port",
            str(ports[0]),
            "--rollup-port",
            str(ports[1]),
            "--http-port",
            str(ports[2]),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 90
    while not (state / "devnet.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the devnet did not come up")
        time.sleep(0.2)
    return Devnet(process, state, ports)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    running = start_devnet(tmp_path_factory.mktemp("devnet"))
    yield running
    running.stop()


def voucher_of(client: Client, input_index: int) -> dict[str, object]:
    """The input's voucher, once the devnet has claimed it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for output in client.outputs():
            claimed = output["kind"] == "voucher" and output["proof"] is not None
            if output["input_index"] == input_index and claimed:
                return output
        time.sleep(0.2)
    raise AssertionError(f"no claimed voucher for input {input_index}")


def test_an_erc20_round_trip_through_the_real_contracts(devnet: Devnet) -> None:
    bob = devnet.client(1)
    ctsi = bob.token_address("CTSI")
    on_chain = bob.balance_on_chain("CTSI")
    deposit = bob.result(bob.deposit("CTSI", 10**21))
    assert deposit.accepted and deposit.events[0]["type"] == "Deposit"
    assert bob.balance_on_chain("CTSI") == on_chain - 10**21
    inside = bob.inspect(f"/balance/{bob.account}?token={ctsi}")
    assert inside["balance"] == str(10**21)

    usdc = bob.token_address("USDC")
    assert bob.result(bob.deposit("USDC", 5 * 10**9)).accepted
    liquidity = bob.send(
        "add_liquidity",
        token_a=ctsi,
        token_b=usdc,
        token_a_desired=str(4 * 10**20),
        token_b_desired=str(2 * 10**9),
        token_a_min="0",
        token_b_min="0",
    )
    assert bob.result(liquidity).events[0]["type"] == "PairCreated"
    swap = bob.result(bob.send("swap", amount_in=10**6, amount_out_min=1, path=[usdc, ctsi]))
    assert swap.events[-1]["type"] == "Swap"
    refused = bob.result(bob.send("withdraw", token=ctsi, amount=str(10**30)))
    assert (refused.accepted, refused.error) == (False, "INSUFFICIENT_BALANCE")

    withdrawal = bob.send("withdraw", token=ctsi, amount=str(3 * 10**20))
    assert bob.result(withdrawal).events[0]["type"] == "Withdrawal"
    voucher = voucher_of(bob, withdrawal)
    proof = voucher["proof"]
    assert isinstance(proof, dict)
    tampered = list(proof["output_hashes_siblings"])
    tampered[0] = "0x" + "11" * 32
    with pytest.raises(ContractLogicError):
        bob.execute_voucher(int(str(voucher["output_index"])), siblings=tampered)
    before = bob.balance_on_chain("CTSI")
    devnet.client(2).execute_voucher(int(str(voucher["output_index"])))
    assert bob.balance_on_chain("CTSI") == before + 3 * 10**20
    executed = [o for o in bob.outputs() if o["output_index"] == voucher["output_index"]]
    assert executed[0]["executed"] is True
    with pytest.raises(ContractLogicError):  # once only
        devnet.client(2).execute_voucher(int(str(voucher["output_index"])))


def test_devnet_json_and_both_inspect_forms(devnet: Devnet) -> None:
    description = json.loads((devnet.state / "devnet.json").read_text())
    for key in ("rpc_url", "chain_id", "input_box", "erc20_portal", "ether_portal", "application"):
        assert description[key]
    assert description["token_decimals"] == {"USDC": 6, "CTSI": 18}
    # the tokens the machine image is configured with (Dockerfile) are the ones deployed here
    shipped = json.loads((ROOT / "tokens.json").read_text())
    assert {entry["symbol"]: entry["address"] for entry in shipped} == description["tokens"]
    assert json.loads((devnet.state / "tokens.json").read_text()) == shipped
    assert len(description["accounts"]) == 10
    url = description["inspect_url"]
    with urllib.request.urlopen(url + urllib.parse.quote("health", safe="")) as answer:
        by_get = json.loads(answer.read())
    posted = urllib.request.Request(
        url + description["application"], data=b"/health", method="POST"
    )
    with urllib.request.urlopen(posted) as answer:
        by_post = json.loads(answer.read())
    assert by_get["status"] == by_post["status"] == "Accepted"
    assert by_get["reports"] == by_post["reports"]
    health = json.loads(bytes.fromhex(by_get["reports"][0]["payload"][2:]))
    assert health["status"] == "ok"
    assert by_get["processed_input_count"] >= 0


def test_an_ether_round_trip(devnet: Devnet) -> None:
    carol = devnet.client(3)
    assert carol.result(carol.deposit("ETH", 10**18)).accepted
    assert carol.inspect(f"/balance/{carol.account}?token={ETHER}")["balance"] == str(10**18)
    withdrawal = carol.send("withdraw", token=ETHER, amount=str(4 * 10**17))
    assert carol.result(withdrawal).accepted
    voucher = voucher_of(carol, withdrawal)
    before = carol.balance_on_chain("ETH")
    devnet.client(4).execute_voucher(int(str(voucher["output_index"])))  # anyone may execute
    assert carol.balance_on_chain("ETH") == before + 4 * 10**17


def test_unknown_tokens_and_unclaimed_outputs_are_explained(devnet: Devnet) -> None:
    client = devnet.client(5)
    with pytest.raises(ClientError, match="unknown token"):
        client.token_address("DOGE")
    with pytest.raises(ClientError, match="not a voucher"):
        client.execute_voucher(10**6)
    garbage = client.result(client.send_raw(b"not json"))
    assert (garbage.accepted, garbage.error) == (False, "BAD_PAYLOAD")


def test_the_command_line_client(devnet: Devnet) -> None:
    def client(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "client", "--devnet", str(devnet.state / "devnet.json")]
        return subprocess.run(
            [*command, "--account", "7", *args], cwd=ROOT, capture_output=True, text=True
        )

    deposited = client("deposit", "USDC", "2500000")
    assert deposited.returncode == 0 and "accepted: Deposit" in deposited.stdout
    account = devnet.client(7).account
    balance = client("inspect", f"/balance/{account}?token=USDC")
    assert balance.returncode == 1 and "error: INVALID_ADDRESS" in balance.stderr
    usdc = devnet.client(7).token_address("USDC")
    balance = client("inspect", f"/balance/{account}?token={usdc}")
    assert json.loads(balance.stdout)["balance"] == "2500000"
    sent = client("send", "transfer", "token=USDC", f"to={devnet.client(8).account}", "amount=5")
    assert sent.returncode == 0 and '"Transfer"' in sent.stdout
    refused = client("send", "transfer", "token=USDC", f"to={account}", "amount=5")
    assert refused.returncode == 1 and "rejected: INVALID_RECIPIENT" in refused.stdout
    unknown = client("deposit", "DOGE", "1")
    assert unknown.returncode == 1 and "unknown token" in unknown.stderr


def test_a_restarted_devnet_continues_without_replaying(tmp_path: Path) -> None:
    first = start_devnet(tmp_path)
    alice = first.client(6)
    ctsi = alice.token_address("CTSI")
    assert alice.result(alice.deposit("CTSI", 777)).accepted
    first.stop()
    assert first.process.returncode is not None
    second = start_devnet(tmp_path, first.ports)  # same ports: nothing was left running
    try:
        alice = second.client(6)
        assert alice.inspect(f"/balance/{alice.account}?token={ctsi}")["balance"] == "777"
        again = alice.result(alice.deposit("CTSI", 1))
        assert again.accepted and again.input_index == 1
        assert alice.inspect(f"/balance/{alice.account}?token={ctsi}")["balance"] == "778"
        assert not any(
            o["kind"] == "report" and "ALREADY_PROCESSED" in json.dumps(o["payload"])
            for o in alice.outputs()
        )
    finally:
        second.stop()


def test_no_v1_runs_the_v2_stack_alone(tmp_path: Path) -> None:
    alone = start_devnet(tmp_path, None, "--no-v1")
    try:
        description = json.loads((tmp_path / "devnet.json").read_text())
        assert "v1" not in description
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{alone.ports[2]}/v1/outputs")
        assert alone.client().inspect("/health")["status"] == "ok"
    finally:
        alone.stop()
