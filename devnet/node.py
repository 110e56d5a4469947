"""The devnet's node: the parts of a Cartesi node that streamdex needs, on a real chain.

It reads the application's inputs from the InputBox (`InputAdded` events, each an ABI-encoded
`EvmAdvance`), feeds them to the application through the rollup HTTP server in input order,
exactly once, and records what the application answered. Its progress lives in a small SQLite
file, so a restarted devnet continues where it stopped: the next input to feed, the outputs so
far (for `/outputs` and voucher proofs). The application itself also refuses an input index it
has already accepted (ALREADY_PROCESSED), so an input that was fed but not yet recorded when
the devnet stopped is never applied twice.

For users it serves, like the Cartesi node, `GET /inspect/{url-encoded path}` and
`POST /inspect/{app}` (the raw body is the payload), and `GET /outputs`; for REST clients
`GET /api/{route}?{query}` (the inspect answer as the body, errors as HTTP statuses) and
`GET /docs` (Swagger UI from npm `swagger-ui-dist`, served from `node_modules/`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from eth_abi.abi import decode

from dapp.keccak import keccak256
from devnet.outputs import OutputsTree, encode_notice, encode_voucher
from devnet.rollup_server import AdvanceResult, InputMetadata, RollupHttpServer

EVM_ADVANCE_SIGNATURE = "EvmAdvance(uint256,address,address,uint256,uint256,uint256,uint256,bytes)"
EVM_ADVANCE_SELECTOR = keccak256(EVM_ADVANCE_SIGNATURE.encode())[:4]
EVM_ADVANCE_TYPES = [
    "uint256",
    "address",
    "address",
    "uint256",
    "uint256",
    "uint256",
    "uint256",
    "bytes",
]
INPUT_ADDED_TOPIC = keccak256(b"InputAdded(address,uint256,bytes)")
# Rollups v1.4: the input is the raw payload and the sender a field of its own
V1_INPUT_ADDED_TOPIC = keccak256(b"InputAdded(address,uint256,address,bytes)")


def decode_evm_advance(data: bytes) -> tuple[InputMetadata, bytes]:
    """An InputBox input: `EvmAdvance(chainId, appContract, msgSender, blockNumber,
    blockTimestamp, prevRandao, index, payload)` as the contract encodes it."""
    if data[:4] != EVM_ADVANCE_SELECTOR:
        raise ValueError("not an EvmAdvance input")
    chain_id, app, sender, block, timestamp, randao, index, payload = decode(
        EVM_ADVANCE_TYPES, data[4:]
    )
    metadata = InputMetadata(
        chain_id=chain_id,
        app_contract=bytes.fromhex(app[2:]),
        msg_sender=bytes.fromhex(sender[2:]),
        block_number=block,
        block_timestamp=timestamp,
        prev_randao=randao,
        input_index=index,
    )
    return metadata, bytes(payload)


@dataclass(frozen=True)
class RecordedOutput:
    output_index: int  # v2: one counter over the application's life
    input_index: int
    kind: str  # "notice" or "voucher"
    payload: bytes
    destination: bytes | None = None
    value: int | None = None
    index_in_input: int | None = None  # v1: outputs are numbered within their input, by kind

    def encoded(self) -> bytes:
        """The output as the contracts hash and execute it (`Outputs.Notice` / `.Voucher`)."""
        if self.kind == "notice":
            return encode_notice(self.payload)
        assert self.destination is not None
        return encode_voucher(self.destination, self.value or 0, self.payload)


SCHEMA = """
CREATE TABLE IF NOT EXISTS progress (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    application BLOB NOT NULL,
    next_input_index INTEGER NOT NULL,
    next_block INTEGER NOT NULL            -- the first block not scanned for inputs yet
);
CREATE TABLE IF NOT EXISTS inputs (
    input_index INTEGER PRIMARY KEY,
    block_number INTEGER NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outputs (
    output_index INTEGER PRIMARY KEY,     -- v2: the application's output index; v1: a sequence
    input_index INTEGER NOT NULL,
    kind TEXT NOT NULL,
    destination BLOB,
    value TEXT,
    payload BLOB NOT NULL,
    index_in_input INTEGER                -- v1 only
);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY,
    input_index INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS v1_claims (
    claim_index INTEGER PRIMARY KEY,     -- the application's claim number in its History
    first_index INTEGER NOT NULL,        -- the epoch's inputs, inclusive
    last_index INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    last_processed_block INTEGER PRIMARY KEY,
    outputs_merkle_root BLOB NOT NULL,
    output_count INTEGER NOT NULL        -- the claim covers outputs 0 .. output_count - 1
);
"""


class NodeRecord:
    """The devnet node's own memory (not the application's state): what it fed and got back."""

    def __init__(self, path: Path, application: bytes) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.connection.executescript(SCHEMA)
        self.lock = threading.Lock()
        row = self.connection.execute("SELECT application FROM progress").fetchone()
        if row is None:
            self.connection.execute("INSERT INTO progress VALUES (1, ?, 0, 0)", (application,))
        elif bytes(row[0]) != application:
            raise RuntimeError(
                f"{path} belongs to application 0x{bytes(row[0]).hex()}, not 0x{application.hex()}"
            )

    def next_input_index(self) -> int:
        return int(self.connection.execute("SELECT next_input_index FROM progress").fetchone()[0])

    def next_block(self) -> int:
        return int(self.connection.execute("SELECT next_block FROM progress").fetchone()[0])

    def output_count(self) -> int:
        return int(self.connection.execute("SELECT COUNT(*) FROM outputs").fetchone()[0])

    def record(
        self, metadata: InputMetadata, result: AdvanceResult, outputs: list[RecordedOutput]
    ) -> None:
        """One fed input, its outputs (accepted inputs only) and reports, in one transaction."""
        with self.lock:
            sql = self.connection
            sql.execute("BEGIN")
            sql.execute(
                "INSERT INTO inputs VALUES (?, ?, ?)",
                (metadata.input_index, metadata.block_number, result.status),
            )
            for output in outputs:
                sql.execute(
                    "INSERT INTO outputs VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        output.output_index,
                        output.input_index,
                        output.kind,
                        output.destination,
                        None if output.value is None else str(output.value),
                        output.payload,
                        output.index_in_input,
                    ),
                )
            for payload in result.reports:
                sql.execute(
                    "INSERT INTO reports (input_index, payload) VALUES (?, ?)",
                    (metadata.input_index, payload),
                )
            sql.execute("UPDATE progress SET next_input_index = ?", (metadata.input_index + 1,))
            sql.execute("COMMIT")

    def scanned_to(self, block: int) -> None:
        self.connection.execute("UPDATE progress SET next_block = ?", (block,))

    def outputs(self) -> list[RecordedOutput]:
        rows = self.connection.execute(
            "SELECT output_index, input_index, kind, payload, destination, value, index_in_input"
            " FROM outputs ORDER BY output_index"
        ).fetchall()
        return [
            RecordedOutput(
                row[0],
                row[1],
                row[2],
                bytes(row[3]),
                None if row[4] is None else bytes(row[4]),
                None if row[5] is None else int(row[5]),
                row[6],
            )
            for row in rows
        ]

    def claims(self) -> list[tuple[int, bytes, int]]:
        rows = self.connection.execute(
            "SELECT last_processed_block, outputs_merkle_root, output_count FROM claims"
            " ORDER BY last_processed_block"
        )
        return [(row[0], bytes(row[1]), row[2]) for row in rows]

    def record_claim(self, block: int, root: bytes, output_count: int) -> None:
        with self.lock:
            self.connection.execute(
                "INSERT INTO claims VALUES (?, ?, ?)", (block, root, output_count)
            )

    def v1_claims(self) -> list[tuple[int, int, int]]:
        rows = self.connection.execute(
            "SELECT claim_index, first_index, last_index FROM v1_claims ORDER BY claim_index"
        )
        return [(row[0], row[1], row[2]) for row in rows]

    def record_v1_claim(self, claim_index: int, first_index: int, last_index: int) -> None:
        with self.lock:
            self.connection.execute(
                "INSERT INTO v1_claims VALUES (?, ?, ?)", (claim_index, first_index, last_index)
            )

    def statuses(self, first_index: int, last_index: int) -> list[tuple[int, str]]:
        """(input index, status) of the inputs fed, from `first_index` to `last_index`."""
        rows = self.connection.execute(
            "SELECT input_index, status FROM inputs WHERE input_index BETWEEN ? AND ?"
            " ORDER BY input_index",
            (first_index, last_index),
        )
        return [(row[0], row[1]) for row in rows]

    def reports(self) -> list[tuple[int, bytes]]:
        rows = self.connection.execute("SELECT input_index, payload FROM reports ORDER BY id")
        return [(row[0], bytes(row[1])) for row in rows]


def shown_payload(payload: bytes) -> Any:
    """A payload as a person reads it: the JSON document if it is one, else its hex."""
    try:
        return json.loads(payload.decode())
    except (UnicodeDecodeError, ValueError):
        return "0x" + payload.hex()


def inspect_answer(server: RollupHttpServer, payload: bytes, processed: int) -> dict[str, Any]:
    """The Cartesi node's inspect answer shape."""
    result = server.inspect(payload)
    status = {"accept": "Accepted", "reject": "Rejected", "exception": "Exception"}[result.status]
    return {
        "status": status,
        "exception_payload": None,
        "reports": [{"payload": "0x" + report.hex()} for report in result.reports],
        "processed_input_count": processed,
    }


Inspect = Callable[[bytes], dict[str, Any]]
Outputs = Callable[[], list[dict[str, Any]]]

JSON_UTF8 = "application/json; charset=utf-8"
# REST clients (dashboards, price aggregators) call /api/ from browsers on other origins
CORS = (("Access-Control-Allow-Origin", "*"),)
GATEWAY_METHODS = "GET, HEAD"
NOT_FOUND_ERRORS = frozenset(
    {"UNKNOWN_ROUTE", "PAIR_NOT_FOUND", "STREAM_NOT_FOUND", "SWAP_NOT_FOUND"}
)
SWAGGER_UI_DIST = Path(__file__).resolve().parent.parent / "node_modules" / "swagger-ui-dist"
# The only files served under /docs/: a name outside this table never reaches the file system.
SWAGGER_UI_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
# Every reference is relative, so the page works under any prefix (`/docs` loads
# `docs/swagger-ui.css` and `api/openapi.json`; `/v1/docs` their `/v1/` twins) and behind a
# proxy. `validatorUrl: null`: Swagger UI would otherwise send the spec to validator.swagger.io.
DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>streamdex API</title>
    <link rel="stylesheet" type="text/css" href="docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
    <link rel="icon" type="image/png" href="docs/favicon-16x16.png" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="docs/swagger-ui-bundle.js" charset="utf-8"></script>
    <script src="docs/swagger-ui-standalone-preset.js" charset="utf-8"></script>
    <script>
      window.onload = function () {
        window.ui = SwaggerUIBundle({
          url: "api/openapi.json",
          dom_id: "#swagger-ui",
          deepLinking: true,
          validatorUrl: null,
          presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
          layout: "StandaloneLayout",
        });
      };
    </script>
  </body>
</html>
"""


def api_status(document: object) -> int:
    """The HTTP status of an inspect answer served as a REST resource: 200 unless it is a
    PROTOCOL §5 error object, then 404 for what does not exist, 500 for the application's own
    failure and 400 for the rest (a malformed or missing parameter is the caller's)."""
    if not isinstance(document, dict) or "error" not in document:
        return 200
    code = str(document["error"])
    if code in NOT_FOUND_ERRORS or code.endswith("_NOT_FOUND"):
        return 404
    return 500 if code == "INTERNAL_ERROR" else 400


def api_answer(inspect: Inspect, payload: str) -> tuple[int, bytes]:
    """`GET /api/{route}?{query}`: the inspect of `/{route}?{query}`, its first report as the
    body (the application's JSON, byte for byte) and the status `api_status` gives it; 502
    when the application gave no JSON answer."""
    try:
        answer = inspect(payload.encode())
        report = bytes.fromhex(answer["reports"][0]["payload"][2:])
        return api_status(json.loads(report)), report
    except Exception as err:  # the application is down, too slow, silent or not JSON
        message = f"no JSON answer from the application ({type(err).__name__}: {err})"
        return 502, json.dumps({"error": "NO_ANSWER", "message": message}).encode()


def docs_asset(name: str) -> tuple[int, bytes, str]:
    """`/docs` (name "") or one whitelisted Swagger UI file: (status, body, content type)."""
    if not SWAGGER_UI_DIST.is_dir():
        text = "Swagger UI is not installed (node_modules/swagger-ui-dist): run `make install`\n"
        return 503, text.encode(), "text/plain; charset=utf-8"
    if name == "":
        return 200, DOCS_PAGE.encode(), "text/html; charset=utf-8"
    if name not in SWAGGER_UI_ASSETS:
        return 404, b"not found\n", "text/plain; charset=utf-8"
    return 200, (SWAGGER_UI_DIST / name).read_bytes(), SWAGGER_UI_ASSETS[name]


def is_gateway(path: str) -> bool:
    """Whether a path (the instance prefix removed) is one of the GET-only REST routes."""
    path = urllib.parse.urlsplit(path).path
    return path.startswith("/api/") or path == "/docs" or path.startswith("/docs/")


def serve_http(host: str, port: int, applications: dict[str, tuple[Inspect, Outputs]]) -> Any:
    """The user-facing endpoint, on a thread of its own: for each application prefix
    ("" for the v2 one, "/v1" for the v1 one) `GET {prefix}/inspect/{path}`,
    `POST {prefix}/inspect/{application}` and `GET {prefix}/outputs`, all JSON like the
    Cartesi node; and for REST clients `GET {prefix}/api/{route}?{query}` (the inspect answer
    itself, with an HTTP status) and `GET {prefix}/docs` (Swagger UI over `/api/openapi.json`)."""

    def route(path: str) -> tuple[Inspect, Outputs, str] | None:
        for prefix in sorted(applications, key=len, reverse=True):
            if path.startswith(prefix + "/"):
                inspect, outputs = applications[prefix]
                return inspect, outputs, path[len(prefix) :]
        return None

    class Handler(BaseHTTPRequestHandler):
        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str,
            headers: tuple[tuple[str, str], ...] = (),
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _answer(self, status: int, document: object) -> None:
            self._send(status, json.dumps(document).encode(), "application/json")

        def _gateway(self, inspect: Inspect, path: str) -> None:
            """`/api/...` and `/docs...` (`path` without the instance prefix)."""
            if path.startswith("/api/"):
                status, body = api_answer(inspect, path[len("/api") :])
                self._send(status, body, JSON_UTF8, CORS)
                return
            name = urllib.parse.urlsplit(path).path[len("/docs") :]
            if name == "/":  # the page's relative references need it at `/docs`
                self._send(301, b"", "text/plain", (("Location", "../docs"),))
                return
            status, body, content_type = docs_asset(name.removeprefix("/"))
            self._send(status, body, content_type)

        def _not_allowed(self) -> bool:
            """405 for anything but GET and HEAD on the REST routes; False elsewhere."""
            found = route(self.path)
            if found is None or not is_gateway(found[2]):
                return False
            body = {"error": "METHOD_NOT_ALLOWED", "message": f"{self.command}: use GET"}
            headers = (*CORS, ("Allow", GATEWAY_METHODS))
            self._send(405, json.dumps(body).encode(), JSON_UTF8, headers)
            return True

        def do_GET(self) -> None:
            found = route(self.path)
            if found is not None and is_gateway(found[2]):
                self._gateway(found[0], found[2])
            elif found is not None and found[2].startswith("/inspect/"):
                path = urllib.parse.unquote(found[2][len("/inspect/") :])
                self._answer(200, found[0](path.encode()))
            elif found is not None and found[2].rstrip("/") == "/outputs":
                self._answer(200, found[1]())
            else:
                self._answer(
                    404,
                    {"error": "use /inspect/{path}, /outputs, /api/{route} or /docs (v1: /v1/...)"},
                )

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_POST(self) -> None:
            if self._not_allowed():
                return
            found = route(self.path)
            if found is None or not found[2].startswith("/inspect"):
                self._answer(404, {"error": "POST /inspect/{application} with the payload"})
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer(200, found[0](body))

        def _other_method(self) -> None:
            """405 on the REST routes; elsewhere the standard library's 501, as before."""
            if not self._not_allowed():
                self.send_error(501, f"Unsupported method ({self.command!r})")

        def do_PUT(self) -> None:
            self._other_method()

        def do_PATCH(self) -> None:
            self._other_method()

        def do_DELETE(self) -> None:
            self._other_method()

        def do_OPTIONS(self) -> None:
            self._other_method()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=httpd.serve_forever, name="devnet-http", daemon=True).start()
    return httpd


class InputFollower:
    """Feeds the application every input the InputBox recorded for it, once, in order.

    v2 inputs are `EvmAdvance` calls carrying their own metadata; a v1 InputBox records the
    sender and the raw payload, and the block gives the rest (v1 metadata has no randao).
    """

    def __init__(
        self,
        web3: Any,
        input_box: str,
        application: str,
        record: NodeRecord,
        server: RollupHttpServer,
        *,
        dialect: str = "v2",
    ) -> None:
        self.web3 = web3
        self.input_box = input_box
        self.application = bytes.fromhex(application[2:])
        self.record = record
        self.server = server
        self.dialect = dialect
        self.topic = INPUT_ADDED_TOPIC if dialect == "v2" else V1_INPUT_ADDED_TOPIC
        self.chain_id = int(web3.eth.chain_id)

    def _decode(self, log: Any) -> tuple[InputMetadata, bytes]:
        if self.dialect == "v2":
            (data,) = decode(["bytes"], bytes(log["data"]))
            return decode_evm_advance(bytes(data))
        sender, payload = decode(["address", "bytes"], bytes(log["data"]))
        block = int(log["blockNumber"])
        metadata = InputMetadata(
            chain_id=self.chain_id,
            app_contract=self.application,
            msg_sender=bytes.fromhex(sender[2:]),
            block_number=block,
            block_timestamp=int(self.web3.eth.get_block(block)["timestamp"]),
            prev_randao=0,
            input_index=int.from_bytes(bytes(log["topics"][2]), "big"),
        )
        return metadata, bytes(payload)

    def outputs_of(self, input_index: int) -> list[RecordedOutput]:
        """An accepted input's notices and vouchers, in output order (v1: notices first, then
        vouchers, each numbered within the input as v1 proofs need)."""
        if self.dialect == "v1":
            first = self.record.output_count()
            kept = [
                ("notice", n.payload, None, None, n.index)
                for n in self.server.notices
                if n.input_index == input_index
            ] + [
                ("voucher", v.payload, v.destination, v.value, v.index)
                for v in self.server.vouchers
                if v.input_index == input_index
            ]
            return [
                RecordedOutput(first + n, input_index, kind, payload, destination, value, index)
                for n, (kind, payload, destination, value, index) in enumerate(kept)
            ]
        notices = [
            RecordedOutput(n.index, input_index, "notice", n.payload)
            for n in self.server.notices
            if n.input_index == input_index
        ]
        vouchers = [
            RecordedOutput(v.index, input_index, "voucher", v.payload, v.destination, v.value)
            for v in self.server.vouchers
            if v.input_index == input_index
        ]
        return sorted(notices + vouchers, key=lambda output: output.output_index)

    def step(self) -> list[tuple[InputMetadata, list[RecordedOutput]]]:
        """Scan the blocks mined since the last step and feed their inputs; returns them."""
        latest = int(self.web3.eth.block_number)
        first = self.record.next_block()
        if first > latest:
            return []
        logs = self.web3.eth.get_logs(
            {
                "address": self.input_box,
                "fromBlock": first,
                "toBlock": latest,
                "topics": [
                    "0x" + self.topic.hex(),
                    "0x" + (bytes(12) + self.application).hex(),
                ],
            }
        )
        fed = []
        for log in sorted(logs, key=lambda log: (log["blockNumber"], log["logIndex"])):
            metadata, payload = self._decode(log)
            if metadata.input_index < self.record.next_input_index():
                continue  # fed before a restart
            result = self.server.advance_input(metadata, payload)
            outputs = self.outputs_of(metadata.input_index) if result.status == "accept" else []
            self.record.record(metadata, result, outputs)
            fed.append((metadata, outputs))
        self.record.scanned_to(latest + 1)
        return fed


class Claimer:
    """Acts as the Authority's owner: claims the outputs Merkle root after each processed
    block range, and hands out the proofs that make `Application.executeOutput` succeed.

    With the devnet's epoch length of one block every block ends an epoch, so a claim can name
    the last block scanned. It is sent with an explicit gas limit: estimating it at the head
    block would fail (the claimed block must be in the past when the claim is mined, and it is,
    one block later).
    """

    CLAIM_GAS = 500_000

    def __init__(
        self,
        web3: Any,
        authority: Any,
        application: Any,
        owner: str,
        record: NodeRecord,
    ) -> None:
        self.web3 = web3
        self.authority = authority
        self.application_contract = application
        self.application = application.address
        self.owner = owner
        self.record = record
        self.tree = OutputsTree()
        for output in record.outputs():
            self.tree.append(output.encoded())
        claims = record.claims()
        self.claimed = claims[-1][2] if claims else 0

    def add(self, outputs: list[RecordedOutput]) -> None:
        for output in outputs:
            index = self.tree.append(output.encoded())
            assert index == output.output_index, (index, output)

    def claim(self, last_processed_block: int) -> bytes | None:
        """Claim the tree's root if it holds outputs not claimed yet; the root claimed."""
        if len(self.tree) == self.claimed:
            return None
        root = self.tree.root()
        tx = self.authority.functions.submitClaim(
            self.application, last_processed_block, root
        ).transact({"from": self.owner, "gas": self.CLAIM_GAS})
        receipt = self.web3.eth.wait_for_transaction_receipt(tx)
        if receipt["status"] != 1:
            raise RuntimeError(f"the claim for block {last_processed_block} was refused")
        self.record.record_claim(last_processed_block, root, len(self.tree))
        self.claimed = len(self.tree)
        return root

    def proof(self, output: RecordedOutput) -> dict[str, Any] | None:
        """The OutputValidityProof against the first claim that covers the output."""
        for _, _, count in self.record.claims():
            if count > output.output_index:
                siblings = self.tree.proof(output.output_index, count)
                return {
                    "output_index": output.output_index,
                    "output_hashes_siblings": ["0x" + s.hex() for s in siblings],
                }
        return None

    def executed(self, output: RecordedOutput) -> bool:
        return bool(
            self.application_contract.functions.wasOutputExecuted(output.output_index).call()
        )
