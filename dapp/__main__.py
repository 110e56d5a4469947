"""`python -m dapp`: open the state database and serve the rollup HTTP server's requests.

Configuration (environment): ROLLUP_HTTP_SERVER_URL (default http://127.0.0.1:5004) and
STREAMDEX_DB (default streamdex.sqlite in the working directory).

This build keeps the ledger and the AMM but does not decode inputs yet (the input handlers are
the next milestone): it answers every request with a report saying so and rejects advances.
Do not send deposits to it on a real chain.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys

from dapp.rollup import DEFAULT_URL, Request, RollupServer, run
from dapp.store import SCHEMA_VERSION, Store

NOT_READY = {
    "error": "NOT_READY",
    "message": "this build of streamdex does not handle inputs yet; nothing was done",
}


def answer_not_ready(request: Request, server: RollupServer) -> bool:
    server.report(json.dumps(NOT_READY).encode())
    return request.get("request_type") != "advance_state"


def main() -> None:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    url = os.environ.get("ROLLUP_HTTP_SERVER_URL", DEFAULT_URL)
    database = os.environ.get("STREAMDEX_DB", "streamdex.sqlite")
    Store(database).close()  # creates the schema on first start
    logging.getLogger("streamdex").info(
        "state in %s (schema %d); waiting for the rollup HTTP server at %s "
        "(ROLLUP_HTTP_SERVER_URL); inputs are not handled yet in this build",
        database,
        SCHEMA_VERSION,
        url,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the loop quietly
        run(RollupServer(url), answer_not_ready)


if __name__ == "__main__":
    main()
