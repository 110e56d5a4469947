"""`python -m devnet` (what `make run` starts): streamdex on a local chain, end to end.

It starts anvil (state kept in `.devnet/`, so a second run continues the same chain), deploys
what is missing (the Cartesi Rollups v2.2 contracts at their official addresses, an Authority,
the Application, two test tokens), starts the application (`python -m dapp`) behind a rollup
HTTP server, feeds it the chain's inputs in order, claims its outputs and serves inspect and
outputs to users. `.devnet/devnet.json` says where everything is. Ctrl-C stops every process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from web3 import Web3

from devnet.chain import Anvil, Deployment, deploy, rollups_abi
from devnet.node import (
    Claimer,
    InputFollower,
    NodeRecord,
    inspect_answer,
    serve_http,
    shown_payload,
)
from devnet.rollup_server import RollupHttpServer

log = logging.getLogger("streamdex.devnet")
POLL_SECONDS = 0.25


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devnet", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=Path(".devnet"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--anvil-port", type=int, default=8545)
    parser.add_argument("--rollup-port", type=int, default=5004)
    parser.add_argument("--http-port", type=int, default=8080)
    parser.add_argument(
        "--reset", action="store_true", help="forget the chain and the application state first"
    )
    return parser.parse_args(argv)


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both stop everything, even where the shell started us with SIGINT
    ignored (a background job of a script)."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _node_record(state_dir: Path, deployment: Deployment, chain_inputs: int) -> NodeRecord:
    """The node's record, or a fresh one (and a fresh application state) if the chain is new."""
    path = state_dir / "node.sqlite"
    application = bytes.fromhex(deployment.application[2:])
    if path.exists():
        record = NodeRecord(path, application)
        if record.next_input_index() <= chain_inputs:
            return record
        record.connection.close()
        log.warning(
            "the chain has %d inputs but the devnet fed %d: the chain was reset; "
            "starting the application from an empty state",
            chain_inputs,
            record.next_input_index(),
        )
    for stale in (path, state_dir / "streamdex.sqlite", state_dir / "streamdex.sqlite-journal"):
        stale.unlink(missing_ok=True)
    return NodeRecord(path, application)


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    _stop_on_signals()
    state_dir: Path = args.state_dir
    if args.reset and state_dir.exists():
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "devnet.json").unlink(missing_ok=True)  # written again once everything is up
    anvil = Anvil(args.anvil_port, args.host, state=state_dir / "anvil-state.json")
    processes: list[subprocess.Popen[bytes]] = []
    server: RollupHttpServer | None = None
    http: Any = None
    try:
        log.info("anvil at %s; deploying what is missing", anvil.rpc_url)
        deployment = deploy(anvil.rpc_url)
        web3 = Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 60}))
        input_box = web3.eth.contract(
            address=Web3.to_checksum_address(deployment.input_box), abi=rollups_abi("InputBox")
        )
        application = web3.eth.contract(
            address=Web3.to_checksum_address(deployment.application),
            abi=rollups_abi("Application"),
        )
        authority = web3.eth.contract(
            address=Web3.to_checksum_address(deployment.authority), abi=rollups_abi("Authority")
        )
        chain_inputs = int(input_box.functions.getNumberOfInputs(deployment.application).call())
        record = _node_record(state_dir, deployment, chain_inputs)
        if record.next_block() == 0:
            record.scanned_to(deployment.deployment_block)
        server = RollupHttpServer(
            host=args.host,
            port=args.rollup_port,
            chain_id=deployment.chain_id,
            app_contract=bytes.fromhex(deployment.application[2:]),
            finish_timeout_seconds=1.0,
            first_input_index=record.next_input_index(),
            first_output_index=record.output_count(),
        ).start()
        environment = {
            **os.environ,
            "STREAMDEX_DB": str(state_dir / "streamdex.sqlite"),
            "ROLLUP_HTTP_SERVER_URL": server.url,
            "STREAMDEX_ERC20_PORTAL": deployment.erc20_portal,
            "STREAMDEX_ETHER_PORTAL": deployment.ether_portal,
        }
        processes.append(subprocess.Popen([sys.executable, "-m", "dapp"], env=environment))
        follower = InputFollower(web3, deployment.input_box, deployment.application, record, server)
        claimer = Claimer(web3, authority, deployment.application, deployment.accounts[0], record)

        def outputs() -> list[dict[str, Any]]:
            listed: list[dict[str, Any]] = []
            for output in record.outputs():
                entry: dict[str, Any] = {
                    "input_index": output.input_index,
                    "output_index": output.output_index,
                    "kind": output.kind,
                    "payload": shown_payload(output.payload),
                }
                if output.kind == "voucher":
                    assert output.destination is not None
                    entry["destination"] = Web3.to_checksum_address(output.destination)
                    entry["value"] = str(output.value or 0)
                    entry["payload"] = "0x" + output.payload.hex()
                    entry["output"] = "0x" + output.encoded().hex()
                    entry["executed"] = bool(
                        application.functions.wasOutputExecuted(output.output_index).call()
                    )
                    entry["proof"] = claimer.proof(output.output_index)
                listed.append(entry)
            listed.extend(
                {
                    "input_index": input_index,
                    "output_index": None,
                    "kind": "report",
                    "payload": shown_payload(payload),
                }
                for input_index, payload in record.reports()
            )
            return listed

        def inspect(payload: bytes) -> dict[str, Any]:
            assert server is not None
            return inspect_answer(server, payload, record.next_input_index())

        http = serve_http(args.host, args.http_port, inspect, outputs)
        base = f"http://{args.host}:{args.http_port}"
        chain = deployment.to_json()
        description = {
            **chain,
            "tokens": {symbol: token["address"] for symbol, token in chain["tokens"].items()},
            "token_decimals": {
                symbol: token["decimals"] for symbol, token in chain["tokens"].items()
            },
            "inspect_url": f"{base}/inspect/",
            "outputs_url": f"{base}/outputs",
            "rollup_url": server.url,
        }
        (state_dir / "devnet.json").write_text(json.dumps(description, indent=2) + "\n")
        print(ready_table(description), flush=True)
        while True:
            if processes[0].poll() is not None:
                raise SystemExit(f"the application stopped (exit code {processes[0].returncode})")
            fed = follower.step()
            for _, produced in fed:
                claimer.add(produced)
            if fed:
                claimer.claim(record.next_block() - 1)
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        if http is not None:
            http.shutdown()
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if server is not None:
            server.close()
        anvil.stop()


def ready_table(description: dict[str, Any]) -> str:
    rows = [
        ("RPC", f"{description['rpc_url']} (chain {description['chain_id']})"),
        ("InputBox", description["input_box"]),
        ("ERC20Portal", description["erc20_portal"]),
        ("EtherPortal", description["ether_portal"]),
        ("Application", description["application"]),
        ("Authority", description["authority"]),
        ("inspect", description["inspect_url"] + "{path}   e.g. …/inspect/health"),
        ("outputs", description["outputs_url"]),
    ]
    rows += [
        (symbol, f"{address} ({description['token_decimals'][symbol]} decimals)")
        for symbol, address in description["tokens"].items()
    ]
    rows.append(("accounts", f"{len(description['accounts'])} funded anvil accounts"))
    width = max(len(name) for name, _ in rows)
    lines = ["streamdex devnet is ready (.devnet/devnet.json):"]
    lines += [f"  {name:<{width}}  {value}" for name, value in rows]
    lines.append("Ctrl-C stops everything; `make run` again continues the same chain.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
