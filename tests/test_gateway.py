"""The devnet's REST face: `GET /api/{route}` answers an inspect route's JSON with an HTTP
status (404 for what does not exist, 400 for a bad parameter), `GET /docs` is Swagger UI served
from node_modules (no external URL), for the v2 instance and under `/v1/` for the v1 one."""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devnet.node import Inspect, Outputs, serve_http
from tests.test_devnet import ROOT, Devnet, start_devnet

SWAGGER_UI = ROOT / "node_modules" / "swagger-ui-dist"


def fetch(port: int, path: str, method: str = "GET") -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request with the path sent as written (urllib would not keep `..` either way)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


# --- on a real devnet (anvil, both instances, the HTTP endpoint of `python -m devnet`) ----------


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    running = start_devnet(tmp_path_factory.mktemp("devnet-gateway"))
    yield running
    running.stop()


@pytest.fixture
def port(devnet: Devnet) -> int:
    return devnet.ports[2]


@pytest.mark.parametrize("prefix", ["", "/v1"])
def test_api_health_is_the_inspect_report(port: int, prefix: str) -> None:
    status, headers, body = fetch(port, f"{prefix}/api/health")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Access-Control-Allow-Origin"] == "*"
    _, _, inspected = fetch(port, f"{prefix}/inspect/" + urllib.parse.quote("health", safe=""))
    report = json.loads(inspected)["reports"][0]["payload"]
    assert json.loads(body) == json.loads(bytes.fromhex(report[2:]))
    assert json.loads(body)["status"] == "ok"


def test_api_errors_are_http_statuses(port: int) -> None:
    status, headers, body = fetch(port, "/api/nope")
    assert (status, json.loads(body)["error"]) == (404, "UNKNOWN_ROUTE")
    assert headers["Content-Type"].startswith("application/json")
    no_token = "/api/balance/0x0000000000000000000000000000000000000001"
    status, _, body = fetch(port, no_token)
    assert (status, json.loads(body)["error"]) == (400, "BAD_PARAMETER")
    status, _, body = fetch(port, "/v1/api/stream/999")
    assert (status, json.loads(body)["error"]) == (404, "STREAM_NOT_FOUND")


def test_api_passes_the_query_string(port: int, devnet: Devnet) -> None:
    client = devnet.client(0)
    account, usdc = client.account, client.token_address("USDC")
    status, _, body = fetch(port, f"/api/balance/{account}?token={usdc}&at=0")
    assert status == 200
    assert json.loads(body) == client.inspect(f"/balance/{account}?token={usdc}&at=0")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_api_is_read_only(port: int, method: str) -> None:
    status, headers, body = fetch(port, "/api/health", method)
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"
    assert json.loads(body)["error"] == "METHOD_NOT_ALLOWED"


def test_the_cartesi_node_routes_still_answer(port: int) -> None:
    status, _, body = fetch(port, "/inspect/health")
    assert status == 200 and json.loads(body)["status"] == "Accepted"
    assert fetch(port, "/v1/outputs")[0] == 200
    assert fetch(port, "/elsewhere")[0] == 404


@pytest.mark.parametrize("prefix", ["", "/v1"])
def test_docs_is_swagger_ui_without_external_urls(port: int, prefix: str) -> None:
    status, headers, body = fetch(port, f"{prefix}/docs")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    page = body.decode()
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page)
    assert "docs/swagger-ui-bundle.js" in references
    assert not [r for r in references if re.match(r"(https?:)?//", r)]
    assert "http://" not in page and "https://" not in page
    assert '"api/openapi.json"' in page  # relative: /v1/docs reads /v1/api/openapi.json
    for reference in references:  # every asset the page names is served where it points
        assert fetch(port, f"{prefix}/{reference}")[0] == 200


def test_docs_assets_come_from_node_modules(port: int) -> None:
    status, headers, body = fetch(port, "/docs/swagger-ui-bundle.js")
    assert status == 200
    assert "javascript" in headers["Content-Type"]
    assert body == (SWAGGER_UI / "swagger-ui-bundle.js").read_bytes()
    status, headers, body = fetch(port, "/v1/docs/swagger-ui.css")
    assert (status, headers["Content-Type"]) == (200, "text/css; charset=utf-8")
    assert body == (SWAGGER_UI / "swagger-ui.css").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/docs/../package.json",
        "/docs/..%2Fpackage.json",
        "/docs/index.html",
        "/docs/swagger-ui-bundle.js.map",
        "/docs//etc/passwd",
    ],
)
def test_docs_serves_only_its_whitelist(port: int, path: str) -> None:
    status, _, body = fetch(port, path)
    assert status == 404
    assert b"streamdex" not in body


# --- the same handler over stand-in applications: the cases a healthy application never shows --


def answering(*reports: dict[str, Any] | bytes) -> Inspect:
    """An application whose inspect always gives these reports."""

    def inspect(payload: bytes) -> dict[str, Any]:
        encoded = [r if isinstance(r, bytes) else json.dumps(r).encode() for r in reports]
        return {"status": "Accepted", "reports": [{"payload": "0x" + r.hex()} for r in encoded]}

    return inspect


def nothing() -> list[dict[str, Any]]:
    return []


def not_asked(payload: bytes) -> dict[str, Any]:
    raise AssertionError("the v2 instance was asked")


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[Any] = []

    def start(applications: dict[str, tuple[Inspect, Outputs]]) -> int:
        server = serve_http("127.0.0.1", 0, applications)
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("PAIR_NOT_FOUND", 404),
        ("SWAP_NOT_FOUND", 404),
        ("TOKEN_NOT_FOUND", 404),
        ("INTERNAL_ERROR", 500),
        ("BAD_PAYLOAD", 400),
    ],
)
def test_error_codes_to_statuses(serve: Any, code: str, status: int) -> None:
    port = serve({"": (answering({"error": code, "message": "m"}), nothing)})
    answered, _, body = fetch(port, "/api/anything")
    assert answered == status
    assert json.loads(body) == {"error": code, "message": "m"}


def test_the_first_report_is_the_body_byte_for_byte(serve: Any) -> None:
    seen: list[bytes] = []
    raw = b'{"b": 1,  "a": [2]}'

    def inspect(payload: bytes) -> dict[str, Any]:
        seen.append(payload)
        return answering(raw, {"second": True})(payload)

    port = serve({"": (not_asked, nothing), "/v1": (inspect, nothing)})
    status, headers, body = fetch(port, "/v1/api/pair/0xa/0xb?at=5&x=%2F")
    assert (status, body) == (200, raw)
    assert seen == [b"/pair/0xa/0xb?at=5&x=%2F"]
    status, headers, body = fetch(port, "/v1/api/health", "HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(raw)))


def test_no_answer_is_a_bad_gateway(serve: Any) -> None:
    def down(payload: bytes) -> dict[str, Any]:
        raise TimeoutError("the application did not finish")

    port = serve(
        {"": (answering(), nothing), "/v1": (down, nothing), "/x": (answering(b"<"), nothing)}
    )
    for path in ("/api/health", "/v1/api/health", "/x/api/health"):
        status, _, body = fetch(port, path)
        assert (status, json.loads(body)["error"]) == (502, "NO_ANSWER")


def test_docs_without_swagger_ui(
    serve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("devnet.node.SWAGGER_UI_DIST", tmp_path / "missing")
    port = serve({"": (answering(), nothing)})
    for path in ("/docs", "/docs/swagger-ui.css"):
        status, headers, body = fetch(port, path)
        assert status == 503
        assert headers["Content-Type"].startswith("text/plain")
        assert b"make install" in body


def test_docs_slash_leads_to_docs(serve: Any) -> None:
    port = serve({"": (answering(), nothing), "/v1": (answering(), nothing)})
    status, headers, _ = fetch(port, "/v1/docs/")
    assert status == 301
    assert urllib.parse.urljoin("http://h/v1/docs/", headers["Location"]) == "http://h/v1/docs"
