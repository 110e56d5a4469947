"""The rollup loop over real HTTP: waits for the server, retries 202, finishes with the verdict."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from dapp.rollup import Request, RollupServer, run
from devnet.chain import free_port

ANSWER = {"error": "TEST", "message": "a handler's report"}


def report_and_reject_advances(request: Request, server: RollupServer) -> bool:
    server.report(json.dumps(ANSWER).encode())
    return request.get("request_type") != "advance_state"


class FakeNode:
    """A rollup HTTP server that hands out a scripted list of /finish answers."""

    def __init__(self, port: int, answers: list[tuple[int, dict[str, Any] | None]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                node.calls.append((self.path, body))
                status, answer = (201, {"index": 0})
                if self.path == "/finish":
                    status, answer = node.answers.pop(0) if node.answers else (202, None)
                elif self.path == "/report":
                    status, answer = 202, None
                self.send_response(status)
                self.end_headers()
                if answer is not None:
                    self.wfile.write(json.dumps(answer).encode())

            def log_message(self, *args: object) -> None:
                pass

        self.handler = Handler
        self.port = port

    def start(self) -> None:
        """Bind only now: before this, connections are refused as by a server not yet up."""
        self.http = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()


def test_loop_waits_for_the_server_then_reports_and_finishes_each_request() -> None:
    port = free_port()
    advance = {"request_type": "advance_state", "data": {"metadata": {}, "payload": "0x"}}
    inspect = {"request_type": "inspect_state", "data": {"payload": "0x2f"}}
    node = FakeNode(port, [(202, None), (200, advance), (200, inspect)])
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        if not sleeps:
            node.start()  # the server comes up only after the loop found it unreachable
        sleeps.append(seconds)

    def done() -> bool:
        return len(sleeps) > 4

    try:
        run(
            RollupServer(f"http://127.0.0.1:{port}", timeout_seconds=5),
            report_and_reject_advances,
            sleep=sleep,
            should_stop=done,
        )
    finally:
        node.stop()

    finishes = [body["status"] for path, body in node.calls if path == "/finish"]
    # accept (202: none yet), accept → advance, reject it → inspect, accept it → 202 …
    assert finishes[:4] == ["accept", "accept", "reject", "accept"]
    reports = [body["payload"] for path, body in node.calls if path == "/report"]
    assert [json.loads(bytes.fromhex(p[2:])) for p in reports] == [ANSWER, ANSWER]
    # unreachable: from 0.1 s; idle (202): a shorter backoff, so a new input waits little
    assert sleeps[:4] == [0.1, 0.01, 0.01, 0.02]  # a request in between resets the wait
