"""The Cartesi Rollup HTTP API (PROTOCOL §1) and the loop over it: HTTP only, no domain logic.

The loop asks `POST /finish` for the next request, hands it to a handler, and finishes it with
the handler's verdict. A rollup server that is not up yet, or answers 202 (nothing to do), is
waited for with a capped exponential backoff, logged once per wait.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

log = logging.getLogger("streamdex.rollup")

DEFAULT_URL = "http://127.0.0.1:5004"
FIRST_RETRY_SECONDS = 0.1
MAX_RETRY_SECONDS = 5.0
FIRST_IDLE_SECONDS = 0.01
MAX_IDLE_SECONDS = 0.5

Request = dict[str, Any]
Handler = Callable[[Request, "RollupServer"], bool]  # True: accept, False: reject


class RollupServer:
    """A client of the rollup HTTP server (the Cartesi node, or the devnet's stand-in)."""

    def __init__(self, url: str = DEFAULT_URL, timeout_seconds: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_seconds = timeout_seconds

    def _post(self, route: str, body: dict[str, Any]) -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"{self.url}{route}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
            return int(response.status), bytes(response.read())

    def finish(self, accept: bool) -> Request | None:
        """Finish the current request; the next one, or None when the server has none (202)."""
        status, body = self._post("/finish", {"status": "accept" if accept else "reject"})
        if status == 202:
            return None
        request: Request = json.loads(body)
        return request

    def notice(self, payload: bytes) -> int:
        _, body = self._post("/notice", {"payload": "0x" + payload.hex()})
        return int(json.loads(body)["index"])

    def voucher(self, destination: bytes, value: int | None, payload: bytes) -> int:
        """Emit a voucher; `value` None is the Rollups v1 shape, which has no value field."""
        body = {"destination": "0x" + destination.hex(), "payload": "0x" + payload.hex()}
        if value is not None:
            body["value"] = "0x" + value.to_bytes(32, "big").hex()
        _, answer = self._post("/voucher", body)
        return int(json.loads(answer)["index"])

    def report(self, payload: bytes) -> None:
        self._post("/report", {"payload": "0x" + payload.hex()})


def run(
    server: RollupServer,
    handle: Handler,
    *,
    sleep: Callable[[float], None] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Serve requests until `should_stop()`; waits out 202 answers and an unreachable server.

    Both waits back off exponentially, each logged once: an unreachable server up to
    MAX_RETRY_SECONDS, an idle one (202) only up to MAX_IDLE_SECONDS, so that an input arriving
    at an idle server waits at most that long (servers that long-poll answer at once anyway).
    """
    accept = True
    retry = FIRST_RETRY_SECONDS
    idle = FIRST_IDLE_SECONDS
    waiting_since_logged = False
    while not should_stop():
        try:
            request = server.finish(accept)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            if not waiting_since_logged:
                log.warning("rollup server at %s unreachable (%s); retrying", server.url, err)
                waiting_since_logged = True
            sleep(retry)
            retry = min(retry * 2, MAX_RETRY_SECONDS)
            continue
        retry = FIRST_RETRY_SECONDS
        if request is None:
            if not waiting_since_logged:
                log.info("waiting for inputs from the rollup server at %s", server.url)
                waiting_since_logged = True
            sleep(idle)
            idle = min(idle * 2, MAX_IDLE_SECONDS)
            continue
        idle = FIRST_IDLE_SECONDS
        waiting_since_logged = False
        accept = handle(request, server)
