"""`python -m client`: use streamdex on the devnet from a shell.

    python -m client deposit CTSI 1000000000000000000000
    python -m client send add_liquidity token_a=CTSI token_b=USDC token_a_desired=... ...
    python -m client send swap amount_in=1000000 amount_out_min=0 path=USDC,CTSI
    python -m client inspect /balances/0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    python -m client send withdraw token=CTSI amount=5000
    python -m client vouchers           # each voucher's output index and state
    python -m client execute 7
    python -m client stats tickers      # market statistics as tables (stats tickers -h)
    python -m client stats pair USDC/CTSI --window 7d

Token arguments (`token`, `token_a`, `token_b`, `path`) take symbols (USDC, CTSI, ETH) or
addresses; other values are JSON when they parse as JSON, else strings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from client import stats as market_stats
from client.api import DEFAULT_DEVNET, Client, ClientError

TOKEN_ARGUMENTS = {"token", "token_a", "token_b"}


def action_arguments(client: Client, pairs: list[str]) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for pair in pairs:
        name, separator, text = pair.partition("=")
        if not separator:
            raise ClientError(f"arguments are name=value, not {pair!r}")
        value: Any
        if name in TOKEN_ARGUMENTS:
            value = client.token_address(text)
        elif name == "path":
            value = [client.token_address(token) for token in text.split(",")]
        else:
            try:
                value = json.loads(text)
            except ValueError:
                value = text
            if isinstance(value, int) and not isinstance(value, bool) and value >= 2**53:
                value = str(value)  # beyond JSON's safe integers: the protocol takes strings
        args[name] = value
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m client",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--devnet", type=Path, default=DEFAULT_DEVNET)
    parser.add_argument("--account", type=int, default=0, help="anvil account number (0-9)")
    parser.add_argument(
        "--v1", action="store_true", help="the Rollups v1.4 instance (the Cartesi CLI 1.x one)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    deposit = commands.add_parser("deposit", help="deposit through the portal")
    deposit.add_argument("token")
    deposit.add_argument("amount", type=int, help="in the token's smallest unit")
    send = commands.add_parser("send", help="send a JSON action (PROTOCOL §2.2)")
    send.add_argument("method")
    send.add_argument("args", nargs="*", metavar="name=value")
    inspect = commands.add_parser("inspect", help="an inspect route (PROTOCOL §5)")
    inspect.add_argument("path")
    commands.add_parser("outputs", help="notices, vouchers and reports")
    commands.add_parser("vouchers", help="the vouchers, one line each")
    execute = commands.add_parser("execute", help="execute a claimed voucher on chain")
    execute.add_argument("output_index", type=int)
    balance = commands.add_parser("balance", help="a token balance on chain (not in streamdex)")
    balance.add_argument("token")
    stats = commands.add_parser(
        "stats",
        help="market statistics as tables: tickers, pair, candles, account",
        description=market_stats.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    market_stats.add_arguments(stats)
    options = parser.parse_args(argv)
    try:
        client = Client.from_file(options.devnet, options.account, v1=options.v1)
        if options.command == "deposit":
            print(client.result(client.deposit(options.token, options.amount)))
        elif options.command == "send":
            index = client.send(options.method, **action_arguments(client, options.args))
            result = client.result(index)
            print(result)
            if result.accepted:
                print(json.dumps(result.events, indent=2))
            else:
                return 1
        elif options.command == "inspect":
            answer = client.inspect(options.path)
            if isinstance(answer, dict) and "error" in answer:
                raise ClientError(f"{answer['error']}: {answer['message']}")
            print(json.dumps(answer, indent=2))
        elif options.command == "outputs":
            print(json.dumps(client.outputs(), indent=2))
        elif options.command == "vouchers":
            for output in client.outputs():
                if output["kind"] == "voucher":
                    state = (
                        "executed"
                        if output["executed"]
                        else (
                            "claimed: python -m client "
                            + ("--v1 " if options.v1 else "")
                            + f"execute {output['output_index']}"
                            if output["proof"]
                            else "not claimed yet"
                        )
                    )
                    print(
                        f"output {output['output_index']} (input {output['input_index']}): "
                        f"call {output['destination']} with value {output['value']}; {state}"
                    )
        elif options.command == "stats":
            print(market_stats.run(client, options))
        elif options.command == "execute":
            print(f"executed in transaction {client.execute_voucher(options.output_index)}")
        else:
            print(client.balance_on_chain(options.token))
    except ClientError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
