"""Advance requests as the rollup server hands them to the application, for in-process tests."""

from __future__ import annotations

import json
from typing import Any

from dapp.addresses import to_checksum_address
from dapp.app import Application, Config, Outcome
from devnet import rollup_server

CONFIG = Config()
APP_CONTRACT = bytes.fromhex("ab" * 20)
START = 1_700_000_000


def v2_metadata(sender: bytes, input_index: int, timestamp: int) -> dict[str, Any]:
    return rollup_server.v2_metadata(
        msg_sender=sender,
        input_index=input_index,
        block_number=100 + input_index,
        timestamp=timestamp,
        app_contract=APP_CONTRACT,
    )


def v1_metadata(sender: bytes, input_index: int, timestamp: int) -> dict[str, Any]:
    return rollup_server.v1_metadata(
        msg_sender=sender,
        input_index=input_index,
        block_number=100 + input_index,
        timestamp=timestamp,
    )


def erc20_deposit(token: bytes, account: bytes, amount: int, *, v1: bool = False) -> bytes:
    return (b"\x01" if v1 else b"") + token + account + amount.to_bytes(32, "big")


def ether_deposit(account: bytes, amount: int) -> bytes:
    return account + amount.to_bytes(32, "big")


def action(method: str, **args: Any) -> bytes:
    """A JSON action; bytes arguments become EIP-55 addresses, lists of bytes paths."""

    def shown(value: Any) -> Any:
        if isinstance(value, bytes):
            return to_checksum_address(value)
        if isinstance(value, list):
            return [shown(item) for item in value]
        return value

    return json.dumps({"method": method, "args": {k: shown(v) for k, v in args.items()}}).encode()


class Driver:
    """Feeds inputs to an in-process application with increasing indexes, as a node would."""

    def __init__(self, app: Application, *, dialect: str = "v2", now: int = START) -> None:
        self.app = app
        self.dialect = dialect
        self.now = now
        self.next_index = 0

    def send(self, sender: bytes, payload: bytes, *, at: int | None = None) -> Outcome:
        if at is not None:
            self.now = at
        metadata = (v1_metadata if self.dialect == "v1" else v2_metadata)(
            sender, self.next_index, self.now
        )
        self.next_index += 1
        return self.app.advance(rollup_server.advance_data(metadata, payload))

    def deposit(self, token: bytes, account: bytes, amount: int) -> Outcome:
        portals = CONFIG.v1 if self.dialect == "v1" else CONFIG.v2
        return self.send(
            portals.erc20, erc20_deposit(token, account, amount, v1=self.dialect == "v1")
        )

    def act(self, sender: bytes, method: str, *, at: int | None = None, **args: Any) -> Outcome:
        return self.send(sender, action(method, **args), at=at)

    def inspect(self, path: str) -> Any:
        return json.loads(self.app.inspect(path.encode()))


def notice_events(outcome: Outcome) -> list[dict[str, Any]]:
    assert outcome.accepted, outcome.reports
    (notice,) = outcome.notices
    events: list[dict[str, Any]] = json.loads(notice)["events"]
    return events


def report(outcome: Outcome) -> dict[str, Any]:
    assert not outcome.accepted and not outcome.notices and not outcome.vouchers
    (payload,) = outcome.reports
    answer: dict[str, Any] = json.loads(payload)
    return answer
