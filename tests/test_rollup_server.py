"""The devnet's rollup HTTP server alone: raw urllib calls play the application, from a thread."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devnet.rollup_server import AdvanceResult, Notice, RollupHttpServer, Voucher

SENDER = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")
TOKEN = bytes(range(1, 21))
VALUE_7 = "0x" + (7).to_bytes(32, "big").hex()


def post(url: str, route: str, body: object, *, raw: bytes | None = None) -> tuple[int, Any]:
    """POST like the application does; (status, parsed JSON or text or None)."""
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(
        url + route, data=data, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status, text = int(response.status), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    if not text:
        return status, None
    if response.headers.get("Content-Type") == "application/json":
        return status, json.loads(text)
    return status, text.decode()


def hexs(data: bytes) -> str:
    return "0x" + data.hex()


class App:
    """In a thread: POST /finish until a request comes, run `script(url, request)` on it, and
    finish it with the verdict the script returns."""

    def __init__(self, server: RollupHttpServer, script: Callable[[str, Any], str]) -> None:
        self.server = server
        self.script = script
        self.error: BaseException | None = None
        self.last_finish: tuple[int, Any] | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            url = self.server.url
            deadline = time.monotonic() + 5
            status, request = post(url, "/finish", {"status": "accept"})
            while status == 202 and time.monotonic() < deadline:  # not enqueued yet: call again
                status, request = post(url, "/finish", {"status": "accept"})
            assert status == 200, (status, request)
            verdict = self.script(url, request)
            self.last_finish = post(url, "/finish", {"status": verdict})
        except BaseException as err:
            self.error = err

    def join(self) -> None:
        self.thread.join(timeout=5)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


def posts_one_notice(answers: list[Any], payload: str = "0x") -> Callable[[str, Any], str]:
    """An application script: one notice, then accept."""

    def script(url: str, _request: Any) -> str:
        answers.append(post(url, "/notice", {"payload": payload}))
        return "accept"

    return script


@pytest.fixture
def server() -> Iterator[RollupHttpServer]:
    with RollupHttpServer(finish_timeout_seconds=0.02) as rollup:
        yield rollup


def test_finish_answers_202_with_an_empty_body_after_the_long_poll() -> None:
    with RollupHttpServer(finish_timeout_seconds=0.1) as rollup:
        assert rollup.url.startswith("http://127.0.0.1:")
        started = time.monotonic()
        status, body = post(rollup.url, "/finish", {"status": "accept"})
        waited = time.monotonic() - started
    assert (status, body) == (202, None)
    assert 0.1 <= waited < 1.5


def test_advance_round_trip_with_a_global_output_counter(server: RollupHttpServer) -> None:
    seen: list[Any] = []

    def first(url: str, request: Any) -> str:
        seen.append(request)
        seen.append(post(url, "/notice", {"payload": "0xaa"}))
        voucher = {"destination": hexs(TOKEN), "value": VALUE_7, "payload": "0xa9059cbb"}
        seen.append(post(url, "/voucher", voucher))
        seen.append(post(url, "/notice", {"payload": "0xbb"}))
        seen.append(post(url, "/report", {"payload": hexs(b"log")}))
        return "accept"

    app = App(server, first)
    result = server.advance(b"hello", msg_sender=SENDER, timestamp=1_700_000_000)
    app.join()

    request, notice0, voucher1, notice2, report = seen
    assert request["request_type"] == "advance_state"
    assert request["data"]["payload"] == hexs(b"hello")
    metadata = request["data"]["metadata"]
    assert set(metadata) == {
        "chain_id",
        "app_contract",
        "msg_sender",
        "input_index",
        "block_number",
        "block_timestamp",
        "prev_randao",
    }
    assert metadata["chain_id"] == 31337
    assert metadata["msg_sender"] == hexs(SENDER)
    assert metadata["app_contract"] == hexs(server.app_contract)
    assert (metadata["input_index"], metadata["block_timestamp"]) == (0, 1_700_000_000)
    assert isinstance(metadata["block_number"], int)
    assert len(metadata["prev_randao"]) == 66 and metadata["prev_randao"].startswith("0x")
    assert (notice0, voucher1, notice2) == (
        (201, {"index": 0}),
        (201, {"index": 1}),
        (201, {"index": 2}),
    )
    assert report == (202, None)

    assert result == AdvanceResult(
        input_index=0,
        status="accept",
        notices=[b"\xaa", b"\xbb"],
        vouchers=[Voucher(TOKEN, 7, bytes.fromhex("a9059cbb"), 1, 0)],
        reports=[b"log"],
        exception=None,
    )

    # The counter goes on across inputs (one outputs tree for the application's life).
    indexes: list[Any] = []
    app = App(server, posts_one_notice(indexes))
    second = server.advance(b"", msg_sender=SENDER, timestamp=1_700_000_005)
    app.join()
    assert indexes == [(201, {"index": 3})]
    assert second.input_index == 1 and second.notices == [b""]
    assert server.notices == [Notice(b"\xaa", 0, 0), Notice(b"\xbb", 2, 0), Notice(b"", 3, 1)]
    assert server.vouchers == [Voucher(TOKEN, 7, bytes.fromhex("a9059cbb"), 1, 0)]
    assert [(r.input_index, r.status) for r in server.inputs] == [(0, "accept"), (1, "accept")]


def test_reject_discards_notices_and_vouchers_but_keeps_reports(server: RollupHttpServer) -> None:
    answers: list[Any] = []

    def rejecting(url: str, _request: Any) -> str:
        answers.append(post(url, "/notice", {"payload": "0x01"}))
        voucher = {"destination": hexs(TOKEN), "value": VALUE_7, "payload": "0x"}
        answers.append(post(url, "/voucher", voucher))
        answers.append(post(url, "/report", {"payload": hexs(b"why")}))
        return "reject"

    app = App(server, rejecting)
    result = server.advance(b"bad", msg_sender=SENDER, timestamp=10)
    app.join()
    assert [status for status, _ in answers] == [201, 201, 202]
    assert (result.status, result.notices, result.vouchers) == ("reject", [], [])
    assert result.reports == [b"why"]

    # The machine is reverted: the rejected input's output indexes are handed out again.
    again: list[Any] = []
    app = App(server, posts_one_notice(again, "0x02"))
    accepted = server.advance(b"good", msg_sender=SENDER, timestamp=11)
    app.join()
    assert again == [(201, {"index": 0})]
    assert accepted.input_index == 1
    assert server.notices == [Notice(b"\x02", 0, 1)]
    assert server.vouchers == []


def test_inspect_returns_reports_and_refuses_notices_and_vouchers(server: RollupHttpServer) -> None:
    seen: list[Any] = []

    def inspecting(url: str, request: Any) -> str:
        seen.append(request)
        seen.append(post(url, "/notice", {"payload": "0x01"}))
        voucher = {"destination": hexs(TOKEN), "value": VALUE_7, "payload": "0x"}
        seen.append(post(url, "/voucher", voucher))
        seen.append(post(url, "/report", {"payload": hexs(b'{"ok": true}')}))
        return "accept"

    app = App(server, inspecting)
    result = server.inspect(b"/health")
    app.join()
    request, notice, voucher, report = seen
    assert request == {"request_type": "inspect_state", "data": {"payload": hexs(b"/health")}}
    assert notice[0] == 400 and "inspect" in notice[1]
    assert voucher[0] == 400
    assert report == (202, None)
    assert (result.status, result.reports) == ("accept", [b'{"ok": true}'])
    assert server.notices == [] and server.inputs == []


@pytest.mark.parametrize(
    ("route", "body", "raw"),
    [
        (
            "/voucher",
            {"destination": "0x" + "11" * 20, "value": "0x" + "0" * 63, "payload": "0x"},
            None,
        ),
        ("/voucher", {"destination": "0x" + "11" * 20, "value": "0x07", "payload": "0x"}, None),
        ("/voucher", {"destination": "0x" + "11" * 19, "value": VALUE_7, "payload": "0x"}, None),
        ("/voucher", {"destination": "11" * 20 + "aa", "value": VALUE_7, "payload": "0x"}, None),
        ("/voucher", {"destination": "0x" + "11" * 20, "payload": "0x"}, None),  # v2 needs value
        ("/voucher", {"destination": "0x" + "11" * 20, "value": VALUE_7, "payload": "0xabc"}, None),
        ("/notice", {"payload": "abcd"}, None),
        ("/notice", {"payload": "0xzz"}, None),
        ("/notice", {"payload": 12}, None),
        ("/notice", {}, None),
        ("/notice", None, b"{not json"),
        ("/report", ["0x00"], None),
        ("/finish", {"status": "maybe"}, None),
    ],
)
def test_malformed_bodies_are_400_and_change_nothing(
    server: RollupHttpServer, route: str, body: object, raw: bytes | None
) -> None:
    answers: list[Any] = []

    def script(url: str, _request: Any) -> str:
        answers.append(post(url, route, body, raw=raw))
        answers.append(post(url, "/notice", {"payload": "0x00"}))
        return "accept"

    app = App(server, script)
    result = server.advance(b"x", msg_sender=SENDER, timestamp=1)
    app.join()
    (status, reason), notice = answers
    assert status == 400 and isinstance(reason, str) and reason
    assert notice == (201, {"index": 0})  # the bad call consumed no index, finished nothing
    assert (result.status, result.notices, result.vouchers) == ("accept", [b"\x00"], [])


def test_outputs_without_a_request_in_flight_are_400(server: RollupHttpServer) -> None:
    for route in ("/notice", "/report", "/exception"):
        status, reason = post(server.url, route, {"payload": "0x"})
        assert status == 400 and "/finish" in reason
    status, _ = post(server.url, "/nowhere", {"payload": "0x"})
    assert status == 404


def test_v1_dialect_metadata_and_vouchers() -> None:
    seen: list[Any] = []

    def v1_app(url: str, request: Any) -> str:
        seen.append(request["data"]["metadata"])
        with_value = {"destination": hexs(TOKEN), "value": VALUE_7, "payload": "0x01"}
        seen.append(post(url, "/voucher", with_value))
        seen.append(post(url, "/voucher", {"destination": hexs(TOKEN), "payload": "0x01"}))
        seen.append(post(url, "/notice", {"payload": "0x02"}))
        seen.append(post(url, "/notice", {"payload": "0x03"}))
        return "accept"

    with RollupHttpServer(dialect="v1", finish_timeout_seconds=0.02) as rollup:
        app = App(rollup, v1_app)
        result = rollup.advance(b"v1", msg_sender=SENDER, timestamp=1_600_000_000)
        app.join()
        indexes: list[Any] = []
        app = App(rollup, posts_one_notice(indexes))
        rollup.advance(b"again", msg_sender=SENDER, timestamp=1_600_000_001)
        app.join()

    metadata, refused, voucher, notice0, notice1 = seen
    assert metadata == {
        "msg_sender": hexs(SENDER),
        "epoch_index": 0,
        "input_index": 0,
        "block_number": metadata["block_number"],
        "timestamp": 1_600_000_000,
    }
    assert isinstance(metadata["block_number"], int)
    assert refused[0] == 400 and "value" in refused[1]
    # Per input, one counter per kind.
    assert (voucher, notice0, notice1) == (
        (201, {"index": 0}),
        (201, {"index": 0}),
        (201, {"index": 1}),
    )
    assert result.vouchers == [Voucher(TOKEN, None, b"\x01", 0, 0)]
    assert result.notices == [b"\x02", b"\x03"]
    assert indexes == [(201, {"index": 0})]


def test_exception_finishes_the_request_with_status_exception(server: RollupHttpServer) -> None:
    seen: list[Any] = []

    def crashing(url: str, _request: Any) -> str:
        seen.append(post(url, "/notice", {"payload": "0x01"}))
        seen.append(post(url, "/report", {"payload": hexs(b"before")}))
        seen.append(post(url, "/exception", {"payload": hexs(b"boom")}))
        seen.append(post(url, "/notice", {"payload": "0x02"}))  # nothing in flight any more
        return "accept"

    app = App(server, crashing)
    result = server.advance(b"x", msg_sender=SENDER, timestamp=5)
    app.join()
    assert seen[1:3] == [(202, None), (200, None)]
    assert seen[3][0] == 400
    assert (result.status, result.exception) == ("exception", b"boom")
    assert (result.notices, result.reports) == ([], [b"before"])
    assert server.notices == [] and server.inputs == [result]


def test_requests_are_handed_out_in_order(server: RollupHttpServer) -> None:
    results: dict[bytes, AdvanceResult] = {}

    def drive(payload: bytes) -> None:
        results[payload] = server.advance(payload, msg_sender=SENDER, timestamp=1)

    drivers = []
    for payload in (b"first", b"second"):
        drivers.append(threading.Thread(target=drive, args=(payload,)))
        drivers[-1].start()
        deadline = time.monotonic() + 2
        while server.queued < len(drivers) and time.monotonic() < deadline:
            time.sleep(0.005)
    assert server.queued == 2

    status, first = post(server.url, "/finish", {"status": "accept"})
    assert status == 200 and first["data"]["payload"] == hexs(b"first")
    status, second = post(server.url, "/finish", {"status": "accept"})
    assert status == 200 and second["data"]["payload"] == hexs(b"second")
    assert post(server.url, "/finish", {"status": "reject"}) == (202, None)
    for driver in drivers:
        driver.join(timeout=2)
    assert (results[b"first"].input_index, results[b"first"].status) == (0, "accept")
    assert (results[b"second"].input_index, results[b"second"].status) == (1, "reject")
    assert (
        second["data"]["metadata"]["block_number"] == first["data"]["metadata"]["block_number"] + 1
    )


def test_timeout_when_no_application_answers(server: RollupHttpServer) -> None:
    with pytest.raises(TimeoutError, match="/finish"):
        server.advance(b"lost", msg_sender=SENDER, timestamp=1, timeout_seconds=0.1)
    assert server.queued == 0  # withdrawn: an application coming later does not get it
    assert post(server.url, "/finish", {"status": "accept"}) == (202, None)
    with pytest.raises(TimeoutError):
        server.inspect(b"/health", timeout_seconds=0.05)


def test_timeout_when_the_application_takes_the_input_but_never_finishes_it(
    server: RollupHttpServer,
) -> None:
    taken: list[Any] = []
    taker = threading.Thread(
        target=lambda: taken.append(post(server.url, "/finish", {"status": "accept"}))
    )
    taker.start()
    # a second for the taker's POST to arrive and take it, even on a slow CI machine
    with pytest.raises(TimeoutError, match="did not finish"):
        server.advance(b"slow", msg_sender=SENDER, timestamp=1, timeout_seconds=1.0)
    taker.join(timeout=2)
    assert taken[0][0] == 200
    # Finished late, nobody waits for it any more, but the input is on record as the node has it.
    assert post(server.url, "/finish", {"status": "accept"}) == (202, None)
    assert [(r.input_index, r.status) for r in server.inputs] == [(0, "accept")]


def test_close_releases_a_waiting_driver_and_refuses_new_requests() -> None:
    rollup = RollupHttpServer(finish_timeout_seconds=0.02).start()
    errors: list[BaseException] = []

    def drive() -> None:
        try:
            rollup.advance(b"x", msg_sender=SENDER, timestamp=1, timeout_seconds=5)
        except BaseException as err:
            errors.append(err)

    driver = threading.Thread(target=drive)
    driver.start()
    deadline = time.monotonic() + 2
    while rollup.queued == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    rollup.close()
    driver.join(timeout=2)
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    rollup.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        rollup.inspect(b"/health")
