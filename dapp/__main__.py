"""`python -m dapp`: open the state database and serve the rollup HTTP server's requests.

Configuration (environment): ROLLUP_HTTP_SERVER_URL (default http://127.0.0.1:5004),
STREAMDEX_DB (default streamdex.sqlite in the working directory), the portal addresses of
dapp.app.Config.from_environment, and the market statistics' STREAMDEX_TOKENS,
STREAMDEX_STABLECOINS and STREAMDEX_REFERENCE_TOKEN (dapp.stats.config); a configuration that
cannot be used stops the start with one message. Logs go to stderr: one JSON line per input.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from dapp.app import Application, Config
from dapp.rollup import DEFAULT_URL, RollupServer, run
from dapp.stats.config import ConfigError
from dapp.store import SCHEMA_VERSION


def main() -> None:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    url = os.environ.get("ROLLUP_HTTP_SERVER_URL", DEFAULT_URL)
    database = os.environ.get("STREAMDEX_DB", "streamdex.sqlite")
    try:
        config = Config.from_environment()
    except ConfigError as err:
        sys.exit(f"streamdex cannot start: {err}")
    application = Application(database, config)
    progress = application.store.progress()
    logging.getLogger("streamdex").info(
        "state in %s (schema %d, last input %s); waiting for the rollup HTTP server at %s "
        "(ROLLUP_HTTP_SERVER_URL)",
        database,
        SCHEMA_VERSION,
        progress.last_input_index,
        url,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the loop quietly
        run(RollupServer(url), application.handle)
    application.close()


if __name__ == "__main__":
    main()
