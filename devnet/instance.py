"""One application instance of the devnet: its process, its rollup HTTP server, the node parts
that feed it from the chain, claim its outputs and answer its users (v2, or v1 for the
released Cartesi CLI). Each instance has its own database and record, so two instances never
see each other's inputs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from web3 import Web3

from devnet.node import InputFollower, NodeRecord, RecordedOutput, inspect_answer, shown_payload
from devnet.rollup_server import Dialect, RollupHttpServer

log = logging.getLogger("streamdex.devnet")


class OutputClaimer(Protocol):
    """Claims an instance's outputs on chain and proves them (v2: `Claimer`)."""

    def add(self, outputs: list[RecordedOutput]) -> None: ...

    def claim(self, last_processed_block: int) -> Any: ...

    def proof(self, output: RecordedOutput) -> dict[str, Any] | None: ...

    def executed(self, output: RecordedOutput) -> bool: ...


@dataclass
class InstanceConfig:
    name: str  # "v2" or "v1": the key in devnet.json and the log
    dialect: Dialect
    input_box: str
    application: str
    deployment_block: int
    database: Path
    record: Path
    environment: dict[str, str]  # the portals this instance's application trusts


class Instance:
    def __init__(
        self, config: InstanceConfig, web3: Any, host: str, rollup_port: int, chain_inputs: int
    ) -> None:
        self.config = config
        self.record = self._record(chain_inputs)
        if self.record.next_block() == 0:
            self.record.scanned_to(config.deployment_block)
        self.server = RollupHttpServer(
            host=host,
            port=rollup_port,
            dialect=config.dialect,
            chain_id=int(web3.eth.chain_id),
            app_contract=bytes.fromhex(config.application[2:]),
            finish_timeout_seconds=1.0,
            first_input_index=self.record.next_input_index(),
            first_output_index=self.record.output_count() if config.dialect == "v2" else 0,
        ).start()
        environment = {
            **os.environ,
            **config.environment,
            "STREAMDEX_DB": str(config.database),
            "ROLLUP_HTTP_SERVER_URL": self.server.url,
        }
        self.process = subprocess.Popen([sys.executable, "-m", "dapp"], env=environment)
        self.follower = InputFollower(
            web3,
            config.input_box,
            config.application,
            self.record,
            self.server,
            dialect=config.dialect,
        )
        self.claimer: OutputClaimer | None = None

    def _record(self, chain_inputs: int) -> NodeRecord:
        """The node's record, or a fresh one (and a fresh application state) if the chain has
        fewer inputs than the record says were fed: the chain was reset."""
        application = bytes.fromhex(self.config.application[2:])
        path = self.config.record
        if path.exists():
            record = NodeRecord(path, application)
            if record.next_input_index() <= chain_inputs:
                return record
            log.warning(
                "%s: the chain has %d inputs but the devnet fed %d: the chain was reset; "
                "starting the application from an empty state",
                self.config.name,
                chain_inputs,
                record.next_input_index(),
            )
            record.connection.close()
        database = self.config.database
        for stale in (path, database, database.with_name(database.name + "-journal")):
            stale.unlink(missing_ok=True)
        return NodeRecord(path, application)

    def step(self) -> None:
        """Feed what the chain recorded since the last step; claim what it produced."""
        if self.process.poll() is not None:
            raise SystemExit(
                f"the {self.config.name} application stopped (exit code {self.process.returncode})"
            )
        fed = self.follower.step()
        if self.claimer is None:
            return
        for _, produced in fed:
            self.claimer.add(produced)
        if fed:
            self.claimer.claim(self.record.next_block() - 1)

    def inspect(self, payload: bytes) -> dict[str, Any]:
        return inspect_answer(self.server, payload, self.record.next_input_index())

    def outputs(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = []
        for output in self.record.outputs():
            entry: dict[str, Any] = {
                "input_index": output.input_index,
                "output_index": output.output_index,
                "kind": output.kind,
                "payload": shown_payload(output.payload),
            }
            if output.index_in_input is not None:
                entry["index_in_input"] = output.index_in_input
            if output.kind == "voucher":
                assert output.destination is not None
                entry["destination"] = Web3.to_checksum_address(output.destination)
                entry["value"] = str(output.value or 0)
                entry["payload"] = "0x" + output.payload.hex()
                if self.config.dialect == "v2":
                    entry["output"] = "0x" + output.encoded().hex()
                if self.claimer is not None:
                    entry["executed"] = self.claimer.executed(output)
                    entry["proof"] = self.claimer.proof(output)
            listed.append(entry)
        listed.extend(
            {
                "input_index": input_index,
                "output_index": None,
                "kind": "report",
                "payload": shown_payload(payload),
            }
            for input_index, payload in self.record.reports()
        )
        return listed

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.server.close()
