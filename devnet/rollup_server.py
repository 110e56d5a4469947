"""A stand-in for the Cartesi node's rollup HTTP server, the one the application polls.

The application talks to it at `ROLLUP_HTTP_SERVER_URL` exactly as to the node (PROTOCOL §1);
tests and the benchmark drive it from Python: `advance()` and `inspect()` enqueue a request,
block until the application has finished it and return what it produced.

What it follows
---------------
* The OpenAPI "Cartesi Rollup HTTP API", `rollup.yaml` of cartesi/openapi-interfaces, 0.9 (the
  Cartesi Rollups v2 version; checked against its 0.8.1 text, which already has the v2 advance
  metadata and voucher shapes, and against the Rollups 2.0 back-end docs). Routes `/finish`,
  `/notice`, `/voucher`, `/report`, `/exception`; bodies validated against its schemas:
  `Payload` is `^0x([0-9a-fA-F]{2})*$`, a voucher `destination` is `^0x[0-9a-fA-F]{40}$`, its
  `value` (required in v2) is `^0x[0-9a-fA-F]{64}$`, a big-endian uint256; `Finish.status` is
  `accept` or `reject`.
* Status codes as the machine's own server answers them (cartesi/machine-guest-tools,
  `rollup-http/rollup-http-server`): 201 `{"index": n}` for a notice or voucher, 202 with an
  empty body for a report, 400 with a plain-text reason for any error. `/finish` answers 200
  with the next request, or 202 when none came within `finish_timeout_seconds` (the spec: "in
  host mode ... returns 202 after 10 seconds"; the application calls again with the same
  body). `/exception` answers 200 (the spec, host mode); it finishes the request in flight with
  the status "exception": its notices and vouchers are dropped, its reports kept.
* Output indexes. v2: notices and vouchers share ONE counter over the whole life of the
  application: libcmt (`sys-utils/libcmt/src/rollup.c`) answers each emitted output with the
  leaf count of the outputs Merkle tree (`cmt_rollup_emit_notice` and `_emit_voucher` push
  into the same tree), a tree that lives in the machine across inputs. A rejected
  (or excepted) input reverts the whole machine, tree included, so its indexes are handed out
  again to the next input: nothing is consumed. v1: indexes count within the input, one counter
  for notices and another for vouchers (rollup.yaml up to 0.8: "the index counting restarts at
  every request"; nonodo `internal/model/state.go`: index = len(outputs of this input)).
* Advance metadata. v2: `chain_id`, `app_contract`, `msg_sender`, `input_index`,
  `block_number`, `block_timestamp` (seconds), `prev_randao` ("0x" + 64 hex digits), as the
  machine server emits them; addresses in lower case, numbers as JSON integers. v1:
  `msg_sender`, `epoch_index` (always 0 here), `input_index`, `block_number`, `timestamp`.
  A v2 voucher must carry `value`; a v1 voucher must not (the v1 shape has none).
* Rejection: the finish status of an advance is kept with its result; on reject (and on
  exception) the input's notices and vouchers are discarded, its reports kept, as the node does.

Deviations
----------
* `/gio` and `/delegate-call-voucher` are not served (404); the application uses neither.
* Where the machine server is laxer than the spec, the spec wins: it takes a v2 voucher with no
  `value` (as zero) and answers `/exception` with 202; here the first is a 400, the second 200.
* The metadata carries no `epoch_index` in v2: the machine server does not send it, although
  rollup.yaml still lists it as deprecated. `prev_randao` is a deterministic stand-in
  (sha256 of the block number), not a beacon value.
* Requests are handed out strictly in the order they were enqueued (nonodo serves inspects
  first); one request is in flight at a time.
* An output posted while no request is in flight is a 400 (nonodo: 403; inside the machine it
  cannot happen). A body must be `application/json` and at most 5 MiB (the machine server's
  limit), sent with a Content-Length (no chunked bodies).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, cast

Dialect = Literal["v1", "v2"]

DEFAULT_CHAIN_ID = 31337
# The application address of Cartesi Rollups v1.x local devnets (CLI 1.x, nonodo); any 20 bytes do.
DEFAULT_APP_CONTRACT = bytes.fromhex("ab7528bb862fb57e8a2bcd567a2e929a0be56a5e")
MAX_BODY_BYTES = 5 * 1024 * 1024

_PAYLOAD = re.compile(r"0x(?:[0-9a-fA-F]{2})*")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_UINT256 = re.compile(r"0x[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Voucher:
    """A voucher as the application emitted it; `value` is None in the v1 dialect."""

    destination: bytes
    value: int | None
    payload: bytes
    index: int
    input_index: int


@dataclass(frozen=True)
class Notice:
    payload: bytes
    index: int
    input_index: int


@dataclass(frozen=True)
class AdvanceResult:
    input_index: int
    status: str  # "accept" | "reject" | "exception"
    notices: list[bytes]
    vouchers: list[Voucher]
    reports: list[bytes]
    exception: bytes | None


@dataclass(frozen=True)
class InspectResult:
    status: str  # "accept" | "reject" | "exception"
    reports: list[bytes]


class _BadRequest(Exception):
    """Answered as 400 (or `status`) with the message as plain text."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def v2_metadata(
    *,
    msg_sender: bytes,
    input_index: int,
    block_number: int,
    timestamp: int,
    chain_id: int = DEFAULT_CHAIN_ID,
    app_contract: bytes = DEFAULT_APP_CONTRACT,
    prev_randao: bytes = bytes(32),
) -> dict[str, Any]:
    """An advance's metadata as a Rollups v2 node sends it (PROTOCOL §1)."""
    return {
        "chain_id": chain_id,
        "app_contract": "0x" + app_contract.hex(),
        "msg_sender": "0x" + msg_sender.hex(),
        "input_index": input_index,
        "block_number": block_number,
        "block_timestamp": timestamp,
        "prev_randao": "0x" + prev_randao.hex(),
    }


def v1_metadata(
    *, msg_sender: bytes, input_index: int, block_number: int, timestamp: int
) -> dict[str, Any]:
    """An advance's metadata as a Rollups v1 node sends it (no chain, application or randao)."""
    return {
        "msg_sender": "0x" + msg_sender.hex(),
        "epoch_index": 0,
        "input_index": input_index,
        "block_number": block_number,
        "timestamp": timestamp,
    }


def advance_data(metadata: dict[str, Any], payload: bytes) -> dict[str, Any]:
    """The `data` of an advance request: what `Application.advance` takes in process."""
    return {"metadata": metadata, "payload": "0x" + payload.hex()}


@dataclass(frozen=True)
class InputMetadata:
    """An input as the chain recorded it (EvmAdvance): the devnet feeds these in order."""

    chain_id: int
    app_contract: bytes
    msg_sender: bytes
    block_number: int
    block_timestamp: int
    prev_randao: int
    input_index: int


@dataclass(eq=False)
class _Request:
    """One advance or inspect, from enqueueing to its finish."""

    kind: Literal["advance", "inspect"]
    payload: bytes
    msg_sender: bytes = b""
    timestamp: int = 0
    chain_input: InputMetadata | None = None
    input_index: int = -1
    notices: list[Notice] = field(default_factory=list)
    vouchers: list[Voucher] = field(default_factory=list)
    reports: list[bytes] = field(default_factory=list)
    status: str | None = None
    exception: bytes | None = None
    aborted: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class RollupHttpServer:
    """The rollup HTTP server on 127.0.0.1 (ephemeral port by default); a context manager.

    The HTTP side serves the application; `advance()`, `inspect()` and the properties are the
    thread-safe driving side.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        dialect: Dialect = "v2",
        chain_id: int = DEFAULT_CHAIN_ID,
        app_contract: bytes = DEFAULT_APP_CONTRACT,
        finish_timeout_seconds: float = 2.0,
        first_block_number: int = 1,
        first_input_index: int = 0,
        first_output_index: int = 0,
    ) -> None:
        """`first_input_index` and `first_output_index` continue the numbering of an application
        that already processed inputs (a restarted devnet)."""
        if dialect not in ("v1", "v2"):
            raise ValueError(f"dialect must be 'v1' or 'v2', not {dialect!r}")
        if len(app_contract) != 20:
            raise ValueError("app_contract must be 20 bytes")
        self.dialect: Dialect = dialect
        self.chain_id = chain_id
        self.app_contract = bytes(app_contract)
        self.finish_timeout_seconds = finish_timeout_seconds
        self._cond = threading.Condition()
        self._queue: deque[_Request] = deque()
        self._current: _Request | None = None
        self._next_input_index = first_input_index
        self._next_block_number = first_block_number
        self._next_output_index = first_output_index  # v2: the committed leaf count
        self._notices: list[Notice] = []
        self._vouchers: list[Voucher] = []
        self._inputs: list[AdvanceResult] = []
        self._closed = False
        self._thread: threading.Thread | None = None
        self._host = host
        self._httpd = _HTTPServer((host, port), _Handler, self)

    # ---- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._httpd.server_port}"

    def start(self) -> RollupHttpServer:
        with self._cond:
            if self._closed:
                raise RuntimeError("the rollup server is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._httpd.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=f"rollup-http-server:{self.url}",
                    daemon=True,
                )
                self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; long-polling /finish calls answer 202, waiting drivers get an error."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            waiting = list(self._queue) + ([self._current] if self._current else [])
            self._queue.clear()
            self._current = None
            for request in waiting:
                request.aborted = True
                request.done.set()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            self._httpd.shutdown()
            thread.join()
        self._httpd.server_close()

    def __enter__(self) -> RollupHttpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- driving side -------------------------------------------------------------------------

    def advance(
        self, payload: bytes, *, msg_sender: bytes, timestamp: int, timeout_seconds: float = 30.0
    ) -> AdvanceResult:
        """Enqueue an input, wait until the application finishes it, and return its outcome."""
        if len(msg_sender) != 20:
            raise ValueError("msg_sender must be 20 bytes")
        if timestamp < 0:
            raise ValueError("timestamp must be a non-negative number of seconds")
        request = _Request("advance", bytes(payload), bytes(msg_sender), int(timestamp))
        self._submit_and_wait(request, timeout_seconds)
        return self._advance_result(request)

    def advance_input(
        self, metadata: InputMetadata, payload: bytes, *, timeout_seconds: float = 30.0
    ) -> AdvanceResult:
        """Feed an input the chain recorded, with its own metadata (index, block, time)."""
        if metadata.input_index != self._next_input_index:
            raise ValueError(
                f"input {metadata.input_index} out of order: the next input is "
                f"{self._next_input_index}"
            )
        request = _Request(
            "advance",
            bytes(payload),
            metadata.msg_sender,
            metadata.block_timestamp,
            chain_input=metadata,
        )
        self._submit_and_wait(request, timeout_seconds)
        return self._advance_result(request)

    def inspect(self, payload: bytes, *, timeout_seconds: float = 30.0) -> InspectResult:
        """Enqueue an inspect, wait until the application finishes it, and return its reports."""
        request = _Request("inspect", bytes(payload))
        self._submit_and_wait(request, timeout_seconds)
        assert request.status is not None
        return InspectResult(request.status, list(request.reports))

    @property
    def notices(self) -> list[Notice]:
        """The notices of every accepted input, in output order."""
        with self._cond:
            return list(self._notices)

    @property
    def vouchers(self) -> list[Voucher]:
        """The vouchers of every accepted input, in output order."""
        with self._cond:
            return list(self._vouchers)

    @property
    def inputs(self) -> list[AdvanceResult]:
        """Every finished advance (accepted, rejected or excepted), in input order."""
        with self._cond:
            return list(self._inputs)

    @property
    def queued(self) -> int:
        """How many requests wait for the application (the one in flight not counted)."""
        with self._cond:
            return len(self._queue)

    def _submit_and_wait(self, request: _Request, timeout_seconds: float) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the rollup server is closed")
            self._queue.append(request)
            self._cond.notify_all()
        finished = request.done.wait(timeout_seconds)
        with self._cond:
            if not finished and not request.done.is_set():
                if request in self._queue:
                    self._queue.remove(request)
                    raise TimeoutError(
                        f"the {request.kind} request was not picked up within "
                        f"{timeout_seconds:g} s: no application called POST {self.url}/finish "
                        "(is it running, with ROLLUP_HTTP_SERVER_URL pointing here?)"
                    )
                what = f"input {request.input_index}" if request.kind == "advance" else "it"
                raise TimeoutError(
                    f"the application took the {request.kind} request ({what}) but did not "
                    f"finish it within {timeout_seconds:g} s"
                )
        if request.aborted:
            raise RuntimeError(f"the rollup server closed before the {request.kind} finished")

    @staticmethod
    def _advance_result(request: _Request) -> AdvanceResult:
        assert request.status is not None
        accepted = request.status == "accept"
        return AdvanceResult(
            input_index=request.input_index,
            status=request.status,
            notices=[notice.payload for notice in request.notices] if accepted else [],
            vouchers=list(request.vouchers) if accepted else [],
            reports=list(request.reports),
            exception=request.exception,
        )

    # ---- application side (called from the HTTP handler threads) --------------------------------

    def _finish(self, status: str) -> tuple[dict[str, Any] | None, _Request | None]:
        """Finish the request in flight; long-poll for the next one. (None, None) means 202."""
        with self._cond:
            if self._current is not None:
                self._complete(self._current, status)
            deadline = time.monotonic() + self.finish_timeout_seconds
            while not self._queue and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None, None
                self._cond.wait(remaining)
            if self._closed:
                return None, None
            request = self._queue.popleft()
            self._current = request
            return self._dispatch(request), request

    def _undo_dispatch(self, request: _Request) -> None:
        """The application never got `request` (its connection broke): hand it out again."""
        with self._cond:
            if self._current is not request or request.done.is_set():
                return
            self._current = None
            if request.kind == "advance":
                self._next_input_index -= 1
                self._next_block_number -= 1
                request.input_index = -1
            self._queue.appendleft(request)
            self._cond.notify_all()

    def _dispatch(self, request: _Request) -> dict[str, Any]:
        payload = "0x" + request.payload.hex()
        if request.kind == "inspect":
            return {"request_type": "inspect_state", "data": {"payload": payload}}
        request.input_index = self._next_input_index
        block_number = self._next_block_number
        self._next_input_index += 1
        self._next_block_number += 1
        chain_id, app_contract = self.chain_id, self.app_contract
        randao = hashlib.sha256(block_number.to_bytes(32, "big")).digest()
        if request.chain_input is not None:  # the chain's own record of the input
            block_number = request.chain_input.block_number
            chain_id, app_contract = request.chain_input.chain_id, request.chain_input.app_contract
            randao = request.chain_input.prev_randao.to_bytes(32, "big")
        metadata = (
            v2_metadata(
                msg_sender=request.msg_sender,
                input_index=request.input_index,
                block_number=block_number,
                timestamp=request.timestamp,
                chain_id=chain_id,
                app_contract=app_contract,
                prev_randao=randao,
            )
            if self.dialect == "v2"
            else v1_metadata(
                msg_sender=request.msg_sender,
                input_index=request.input_index,
                block_number=block_number,
                timestamp=request.timestamp,
            )
        )
        return {"request_type": "advance_state", "data": {"metadata": metadata, "payload": payload}}

    def _complete(self, request: _Request, status: str, exception: bytes | None = None) -> None:
        """Record the outcome of the request in flight and wake its driver. Holds the lock."""
        request.status = status
        request.exception = exception
        self._current = None
        if request.kind == "advance":
            if status == "accept":
                self._notices.extend(request.notices)
                self._vouchers.extend(request.vouchers)
                if self.dialect == "v2":
                    self._next_output_index += len(request.notices) + len(request.vouchers)
            self._inputs.append(self._advance_result(request))
        request.done.set()

    def _in_flight(self, route: str, *, advance_only: bool) -> _Request:
        request = self._current
        if request is None:
            raise _BadRequest(f"no request is being processed: call /finish before {route}")
        if advance_only and request.kind != "advance":
            raise _BadRequest(f"{route} is not allowed while processing an inspect request")
        return request

    def _add_notice(self, payload: bytes) -> int:
        with self._cond:
            request = self._in_flight("/notice", advance_only=True)
            index = self._output_index(request, request.notices)
            request.notices.append(Notice(payload, index, request.input_index))
            return index

    def _add_voucher(self, destination: bytes, value: int | None, payload: bytes) -> int:
        with self._cond:
            request = self._in_flight("/voucher", advance_only=True)
            index = self._output_index(request, request.vouchers)
            request.vouchers.append(
                Voucher(destination, value, payload, index, request.input_index)
            )
            return index

    def _output_index(self, request: _Request, same_kind: list[Any]) -> int:
        if self.dialect == "v2":
            return self._next_output_index + len(request.notices) + len(request.vouchers)
        return len(same_kind)

    def _add_report(self, payload: bytes) -> None:
        with self._cond:
            self._in_flight("/report", advance_only=False).reports.append(payload)

    def _raise_exception(self, payload: bytes) -> None:
        with self._cond:
            request = self._in_flight("/exception", advance_only=False)
            self._complete(request, "exception", payload)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        owner: RollupHttpServer,
    ) -> None:
        self.owner = owner
        super().__init__(address, handler)


def _hex_field(body: dict[str, Any], name: str, pattern: re.Pattern[str], what: str) -> bytes:
    if name not in body:
        raise _BadRequest(f"missing field {name!r}")
    text = body[name]
    if not isinstance(text, str) or pattern.fullmatch(text) is None:
        raise _BadRequest(f"{name!r} must be {what}, got {text!r:.80}")
    return bytes.fromhex(text[2:])


def _payload(body: dict[str, Any]) -> bytes:
    return _hex_field(body, "payload", _PAYLOAD, "0x followed by an even number of hex digits")


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the server runs inside tests and the benchmark."""

    def _reply(self, status: int, body: bytes = b"", content_type: str = "text/plain") -> bool:
        """Send the answer; False if the client is gone."""
        try:
            self.send_response(status)
            if body:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            return False
        return True

    def _reply_json(self, status: int, value: object) -> bool:
        return self._reply(status, json.dumps(value).encode(), "application/json")

    def _body(self) -> dict[str, Any]:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise _BadRequest("the body must be sent as Content-Type: application/json")
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            raise _BadRequest("a Content-Length header is required")
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            raise _BadRequest(f"the body exceeds {MAX_BODY_BYTES} bytes", status=413)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise _BadRequest(f"malformed JSON body: {err}") from None
        if not isinstance(body, dict):
            raise _BadRequest("the body must be a JSON object")
        return cast(dict[str, Any], body)

    def do_POST(self) -> None:
        owner = self.server.owner
        try:
            route = self.path.split("?")[0]
            if route not in ("/finish", "/notice", "/voucher", "/report", "/exception"):
                raise _BadRequest(f"no route {route}", status=404)
            body = self._body()
            if route == "/finish":
                self._finish(owner, body)
            elif route == "/notice":
                self._reply_json(201, {"index": owner._add_notice(_payload(body))})
            elif route == "/voucher":
                self._voucher(owner, body)
            elif route == "/report":
                owner._add_report(_payload(body))
                self._reply(202)
            else:
                owner._raise_exception(_payload(body))
                self._reply(200)
        except _BadRequest as err:
            self._reply(err.status, err.reason.encode())

    def _finish(self, owner: RollupHttpServer, body: dict[str, Any]) -> None:
        status = body.get("status")
        if status not in ("accept", "reject"):
            raise _BadRequest(f"'status' must be 'accept' or 'reject', got {status!r:.80}")
        answer, request = owner._finish(cast(str, status))
        if answer is None or request is None:
            self._reply(202)
        elif not self._reply_json(200, answer):
            owner._undo_dispatch(request)

    def _voucher(self, owner: RollupHttpServer, body: dict[str, Any]) -> None:
        destination = _hex_field(body, "destination", _ADDRESS, "0x followed by 40 hex digits")
        value: int | None = None
        if owner.dialect == "v2":
            what = "0x followed by 64 hex digits (a big-endian uint256)"
            value = int.from_bytes(_hex_field(body, "value", _UINT256, what), "big")
        elif "value" in body:
            raise _BadRequest("a v1 voucher has no 'value' field")
        payload = _payload(body)
        self._reply_json(201, {"index": owner._add_voucher(destination, value, payload)})

    def _refuse(self) -> None:
        self._reply(405, b"only POST is served")

    do_GET = do_PUT = do_DELETE = do_PATCH = _refuse  # noqa: N815
