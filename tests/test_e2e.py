"""End to end: the real application process (`python -m dapp`) against a rollup HTTP server on
loopback, as inside a Cartesi node: deposits, every action, notices, vouchers byte by byte,
reports and inspect answers, in both dialects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dapp.addresses import ZERO_ADDRESS, to_checksum_address
from dapp.codec import TRANSFER_SELECTOR, WITHDRAW_ETHER_SELECTOR
from devnet.chain import free_port
from devnet.rollup_server import AdvanceResult, RollupHttpServer
from tests.inputs import APP_CONTRACT, CONFIG, START, action, erc20_deposit, ether_deposit
from tests.test_app import ALICE, BOB, TOKEN_A, TOKEN_B

ROOT = Path(__file__).parent.parent


class Node:
    """A rollup HTTP server and the application process it serves, with a clock for inputs."""

    def __init__(self, server: RollupHttpServer, process: subprocess.Popen[str]) -> None:
        self.server = server
        self.process = process
        self.now = START

    def send(self, sender: bytes, payload: bytes, *, wait: int = 10) -> AdvanceResult:
        self.now += wait
        return self.server.advance(payload, msg_sender=sender, timestamp=self.now)

    def act(self, sender: bytes, method: str, **args: Any) -> AdvanceResult:
        return self.send(sender, action(method, **args))

    def inspect(self, path: str) -> Any:
        result = self.server.inspect(path.encode())
        assert result.status == "accept"
        (report,) = result.reports
        return json.loads(report)


def start_application(url: str, database: Path) -> subprocess.Popen[str]:
    environment = {**os.environ, "ROLLUP_HTTP_SERVER_URL": url, "STREAMDEX_DB": str(database)}
    return subprocess.Popen(
        [sys.executable, "-m", "dapp"],
        cwd=ROOT,
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(process: subprocess.Popen[str], needle: str, timeout: float = 30.0) -> str:
    """The application's log up to and including the first line holding `needle`.

    Read in a thread so that an application that never logs it fails the test instead of
    hanging it."""
    assert process.stderr is not None
    stream = process.stderr
    lines: list[str] = []

    def read() -> None:
        for line in iter(stream.readline, ""):
            lines.append(line)
            if needle in line:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    seen = "".join(lines)
    assert needle in seen, f"the application never logged {needle!r}: {seen}"
    return seen


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    _, stderr = process.communicate(timeout=10)
    return stderr


@pytest.fixture(params=["v2", "v1"])
def node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Node]:
    port = free_port()
    # the application starts first and must wait for a server that is not up yet
    process = start_application(f"http://127.0.0.1:{port}", tmp_path / "state.sqlite")
    early = read_until(process, "unreachable")
    with RollupHttpServer(port=port, dialect=request.param, app_contract=APP_CONTRACT) as server:
        running = Node(server, process)
        yield running
        stderr = early + stop(process)
    inputs = [
        json.loads(line.split(" ", 3)[3])
        for line in stderr.splitlines()
        if "streamdex.input" in line
    ]
    assert [line["input_index"] for line in inputs] == list(range(len(server.inputs)))
    assert [line["status"] for line in inputs] == [result.status for result in server.inputs]


def events(result: AdvanceResult) -> list[dict[str, Any]]:
    assert result.status == "accept", result.reports
    (notice,) = result.notices
    document = json.loads(notice)
    assert document["input_index"] == result.input_index
    return list(document["events"])


def test_deposits_actions_outputs_and_inspect(node: Node) -> None:
    v1 = node.server.dialect == "v1"
    portals = CONFIG.v1 if v1 else CONFIG.v2
    for token in (TOKEN_A, TOKEN_B):
        deposit = node.send(portals.erc20, erc20_deposit(token, ALICE, 10**24, v1=v1))
        assert events(deposit) == [
            {
                "type": "Deposit",
                "token": to_checksum_address(token),
                "account": to_checksum_address(ALICE),
                "amount": str(10**24),
            }
        ]
    assert events(node.send(portals.ether, ether_deposit(ALICE, 10**18)))[0]["amount"] == str(
        10**18
    )
    if v1:
        relayed = node.send(CONFIG.v1_dapp_address_relay, APP_CONTRACT)
        assert relayed.status == "accept" and events(relayed) == []

    liquidity = node.act(
        ALICE,
        "add_liquidity",
        token_a=TOKEN_A,
        token_b=TOKEN_B,
        token_a_desired=10**21,
        token_b_desired=10**21,
        token_a_min=0,
        token_b_min=0,
    )
    assert events(liquidity)[0]["type"] == "PairCreated"
    swap = node.act(ALICE, "swap", amount_in=10**18, amount_out_min=1, path=[TOKEN_A, TOKEN_B])
    assert events(swap)[-1]["amount1_out"] == str(10**18 * 997 * 10**21 // (10**24 + 10**18 * 997))
    bought = node.act(
        ALICE, "swap_exact_out", amount_out=10**15, amount_in_max=10**18, path=[TOKEN_B, TOKEN_A]
    )
    assert events(bought)[-1]["type"] == "Swap"
    placed = node.act(
        ALICE, "swap", amount_in=6000, amount_out_min=0, path=[TOKEN_A, TOKEN_B], duration=60
    )
    assert [e["type"] for e in events(placed)] == ["StreamCreated", "SwapOrderPlaced"]
    assert node.inspect(f"/swap/1?at={node.now + 30}")["sold"] == "3000"
    cancelled = node.act(ALICE, "cancel_swap", swap_id=1)  # 10 s later
    last = events(cancelled)[-1]
    assert (last["type"], last["sold"], last["refunded"]) == ("SwapOrderCancelled", "1000", "5000")
    assert int(last["bought"]) > 0
    stream = node.act(ALICE, "stream", token=TOKEN_A, receiver=BOB, amount=1000, duration=100)
    assert events(stream)[0]["stream_id"] == 2  # stream 1 was the stream swap's escrow
    streaming_since = node.now
    node.act(ALICE, "transfer", token=TOKEN_B, to=BOB, amount=3)
    cancel = node.act(ALICE, "cancel_stream", stream_id=2, token=TOKEN_A)
    assert events(cancel)[0]["streamed"] == str(10 * (node.now - streaming_since))
    removed = node.act(
        ALICE,
        "remove_liquidity",
        token_a=TOKEN_A,
        token_b=TOKEN_B,
        liquidity=10**20,
        amount_a_min=1,
        amount_b_min=1,
    )
    assert events(removed)[-1]["type"] == "Burn"

    erc20 = node.act(ALICE, "withdraw", token=TOKEN_A, amount=12345)
    (voucher,) = erc20.vouchers
    assert voucher.destination == TOKEN_A
    assert voucher.value == (None if v1 else 0)
    assert voucher.payload == TRANSFER_SELECTOR + bytes(12) + ALICE + (12345).to_bytes(32, "big")
    ether = node.act(ALICE, "withdraw", token=ZERO_ADDRESS, amount=10**17)
    (voucher,) = ether.vouchers
    if v1:
        assert (voucher.destination, voucher.value) == (APP_CONTRACT, None)
        assert voucher.payload == (
            WITHDRAW_ETHER_SELECTOR + bytes(12) + ALICE + (10**17).to_bytes(32, "big")
        )
    else:
        assert (voucher.destination, voucher.value, voucher.payload) == (ALICE, 10**17, b"")

    refused = node.act(ALICE, "withdraw", token=TOKEN_A, amount=10**30)
    assert refused.status == "reject" and refused.notices == [] and refused.vouchers == []
    assert json.loads(refused.reports[0])["error"] == "INSUFFICIENT_BALANCE"
    garbage = node.send(BOB, b"\x00\xff not json")
    assert garbage.status == "reject"
    assert json.loads(garbage.reports[0])["error"] == "BAD_PAYLOAD"

    health = node.inspect("/health")
    assert health["last_input_index"] == erc20.input_index + 1  # the ether withdrawal
    assert health["last_timestamp"] == node.now - 20  # the two rejected inputs changed nothing
    bob = node.inspect(f"/balance/{to_checksum_address(BOB)}?token={to_checksum_address(TOKEN_B)}")
    assert bob["balance"] == "3"
    assert node.inspect("/nowhere")["error"] == "UNKNOWN_ROUTE"
    assert [v.destination for v in node.server.vouchers] == [TOKEN_A, APP_CONTRACT if v1 else ALICE]
