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
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from web3 import Web3

from dapp.addresses import parse_address
from dapp.stats.config import TokenInfo, write_token_file
from devnet.chain import ANVIL_MNEMONIC, Anvil, Deployment, deploy, rollups_abi
from devnet.chain_v1 import deploy_v1, v1_abi
from devnet.claims_v1 import V1Claimer
from devnet.instance import Instance, InstanceConfig
from devnet.node import Claimer, Inspect, Outputs, serve_http

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
    parser.add_argument(
        "--no-v1",
        action="store_true",
        help="skip the Rollups v1.4 stack (the second instance, for the released Cartesi CLI)",
    )
    return parser.parse_args(argv)


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both stop everything, even where the shell started us with SIGINT
    ignored (a background job of a script)."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


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
    instances: list[Instance] = []
    http: Any = None
    try:
        log.info("anvil at %s; deploying what is missing", anvil.rpc_url)
        deployment = deploy(anvil.rpc_url)
        web3 = Web3(Web3.HTTPProvider(anvil.rpc_url, request_kwargs={"timeout": 60}))
        input_box = web3.eth.contract(
            address=Web3.to_checksum_address(deployment.input_box), abi=rollups_abi("InputBox")
        )
        market = market_environment(deployment, state_dir / "tokens.json")
        application = web3.eth.contract(
            address=Web3.to_checksum_address(deployment.application),
            abi=rollups_abi("Application"),
        )
        authority = web3.eth.contract(
            address=Web3.to_checksum_address(deployment.authority), abi=rollups_abi("Authority")
        )
        v2 = Instance(
            InstanceConfig(
                name="v2",
                dialect="v2",
                input_box=deployment.input_box,
                application=deployment.application,
                deployment_block=deployment.deployment_block,
                database=state_dir / "streamdex.sqlite",
                record=state_dir / "node.sqlite",
                environment={
                    "STREAMDEX_ERC20_PORTAL": deployment.erc20_portal,
                    "STREAMDEX_ETHER_PORTAL": deployment.ether_portal,
                    **market,
                },
            ),
            web3,
            args.host,
            args.rollup_port,
            int(input_box.functions.getNumberOfInputs(deployment.application).call()),
        )
        instances.append(v2)
        v2.claimer = Claimer(web3, authority, application, deployment.accounts[0], v2.record)
        routes: dict[str, tuple[Inspect, Outputs]] = {"": (v2.inspect, v2.outputs)}
        base = f"http://{args.host}:{args.http_port}"
        v1_description: dict[str, Any] | None = None
        if not args.no_v1:
            tokens = {symbol: token.address for symbol, token in deployment.tokens.items()}
            v1_deployment = deploy_v1(anvil.rpc_url, approve_tokens=tokens)
            v1_box = web3.eth.contract(
                address=Web3.to_checksum_address(v1_deployment.input_box),
                abi=v1_abi("IInputBox"),
            )
            v1 = Instance(
                InstanceConfig(
                    name="v1",
                    dialect="v1",
                    input_box=v1_deployment.input_box,
                    application=v1_deployment.application,
                    deployment_block=v1_deployment.deployment_block,
                    database=state_dir / "streamdex-v1.sqlite",
                    record=state_dir / "node-v1.sqlite",
                    # the v1.4 portals and relay are the application's defaults
                    environment=market,
                ),
                web3,
                args.host,
                0,
                int(v1_box.functions.getNumberOfInputs(v1_deployment.application).call()),
            )
            instances.append(v1)
            v1.claimer = V1Claimer(
                web3,
                web3.eth.contract(
                    address=Web3.to_checksum_address(v1_deployment.authority),
                    abi=v1_abi("Authority"),
                ),
                web3.eth.contract(
                    address=Web3.to_checksum_address(v1_deployment.application),
                    abi=v1_abi("CartesiDApp"),
                ),
                deployment.accounts[0],
                v1.record,
            )
            routes["/v1"] = (v1.inspect, v1.outputs)
            v1_description = {
                **v1_deployment.to_json(),
                "inspect_url": f"{base}/v1/inspect/",
                "api_url": f"{base}/v1/api/",
                "docs_url": f"{base}/v1/docs",
                "outputs_url": f"{base}/v1/outputs",
                "rollup_url": v1.server.url,
            }
        http = serve_http(args.host, args.http_port, routes)
        chain = deployment.to_json()
        description = {
            **chain,
            "tokens": {symbol: token["address"] for symbol, token in chain["tokens"].items()},
            "token_decimals": {
                symbol: token["decimals"] for symbol, token in chain["tokens"].items()
            },
            "inspect_url": f"{base}/inspect/",
            "api_url": f"{base}/api/",
            "docs_url": f"{base}/docs",
            "outputs_url": f"{base}/outputs",
            "rollup_url": v2.server.url,
        }
        if v1_description is not None:
            description["v1"] = v1_description
        (state_dir / "devnet.json").write_text(json.dumps(description, indent=2) + "\n")
        print(ready_table(description), flush=True)
        while True:
            for instance in instances:
                instance.step()
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        if http is not None:
            http.shutdown()
        for instance in instances:
            instance.stop()
        anvil.stop()


def market_environment(deployment: Deployment, tokens_file: Path) -> dict[str, str]:
    """The market statistics' configuration for the devnet's tokens: their metadata in a
    STREAMDEX_TOKENS file, and USDC as the stablecoin that prices everything in USD."""
    write_token_file(
        tokens_file,
        {
            parse_address(token.address): TokenInfo(token.symbol, token.name, token.decimals)
            for token in deployment.tokens.values()
        },
    )
    return {
        "STREAMDEX_TOKENS": str(tokens_file.resolve()),
        "STREAMDEX_STABLECOINS": deployment.tokens["USDC"].address,
    }


def ready_table(description: dict[str, Any]) -> str:
    rows = [
        ("RPC", f"{description['rpc_url']} (chain {description['chain_id']})"),
        ("InputBox", description["input_box"]),
        ("ERC20Portal", description["erc20_portal"]),
        ("EtherPortal", description["ether_portal"]),
        ("Application", description["application"]),
        ("Authority", description["authority"]),
        ("inspect", description["inspect_url"] + "{path}   e.g. …/inspect/health"),
        ("stats API", description["api_url"] + "{route}   e.g. …/api/coingecko/tickers"),
        ("API docs", description["docs_url"]),
        ("outputs", description["outputs_url"]),
    ]
    rows += [
        (symbol, f"{address} ({description['token_decimals'][symbol]} decimals)")
        for symbol, address in description["tokens"].items()
    ]
    rows.append(("accounts", f"{len(description['accounts'])} funded anvil accounts"))
    v1 = description.get("v1")
    if v1 is not None:
        rows += [
            ("v1 dapp", f"{v1['application']} (Rollups v1.4, for the Cartesi CLI 1.x)"),
            ("v1 inspect", v1["inspect_url"] + "{path}"),
            ("v1 outputs", v1["outputs_url"]),
        ]
    width = max(len(name) for name, _ in rows)
    lines = ["streamdex devnet is ready (.devnet/devnet.json):"]
    lines += [f"  {name:<{width}}  {value}" for name, value in rows]
    if v1 is not None:
        lines.append(
            "  with the Cartesi CLI 1.x:  npx cartesi send generic --dapp "
            f"{v1['application']} --rpc-url {description['rpc_url']} --chain-id "
            f"{description['chain_id']} --mnemonic-passphrase '{ANVIL_MNEMONIC}' "
            """--input '{"method": ...}'"""
        )
    lines.append("Ctrl-C stops everything; `make run` again continues the same chain.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
