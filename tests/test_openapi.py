"""The OpenAPI document (dapp/openapi.json, served at /openapi.json and read by the devnet's
Swagger UI): it is well-formed OpenAPI 3.1, it has exactly one path per inspect route, and the
real answers of every route — over the 40-day market with stablecoins, and over the same inputs
with the default configuration (no metadata, USD null) — match the schemas it documents, field
for field (`additionalProperties: false`), as do error answers.

Concrete URLs come from `URLS`, keyed by route pattern; a test checks it covers every pattern in
`dapp.inspect.ROUTES`, so a new route cannot be left untested, nor a route undocumented.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from dapp import errors, inspect
from dapp.addresses import to_checksum_address
from dapp.inspect import Query
from dapp.stats import openapi
from dapp.stats.config import MarketConfig
from tests import market_scenario as ms

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT_FILE = ROOT / "dapp" / "openapi.json"
READERS_COPY = ROOT / "docs" / "openapi.json"
DOCUMENT: dict[str, Any] = json.loads(DOCUMENT_FILE.read_text(encoding="utf-8"))
BASE_URI = "urn:streamdex:openapi"
REGISTRY: Registry[Any] = Registry().with_resource(BASE_URI, DRAFT202012.create_resource(DOCUMENT))
STRANGER = bytes.fromhex("77" * 20)  # an address the market never saw


def route_path(pattern: tuple[str, ...]) -> str:
    return "/" + "/".join(pattern)


REGISTERED = [route_path(pattern) for pattern, _ in inspect.ROUTES]


def validator(pointer: list[str]) -> Draft202012Validator:
    """A Draft 2020-12 validator for the schema at `pointer` in the document, its `$ref`s
    resolved within the document."""
    escaped = "/".join(part.replace("~", "~0").replace("/", "~1") for part in pointer)
    fragment = urllib.parse.quote("/" + escaped)
    return Draft202012Validator({"$ref": f"{BASE_URI}#{fragment}"}, registry=REGISTRY)


def ok_validator(path: str) -> Draft202012Validator:
    return validator(
        ["paths", path, "get", "responses", "200", "content", "application/json", "schema"]
    )


ERROR = validator(["components", "schemas", "Error"])


def problems(checker: Draft202012Validator, answer: Any) -> str | None:
    error = best_match(checker.iter_errors(answer))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"at /{where}: {error.message[:500]}"


# --- the document itself ------------------------------------------------------------------------
def walk(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every (JSON pointer, value) of the document."""
    yield where, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{where}/{index}")


def resolve(reference: str) -> Any:
    assert reference.startswith("#/"), f"{reference}: only references within the document"
    node: Any = DOCUMENT
    for part in reference[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and key in node, f"{reference} does not resolve"
        node = node[key]
    return node


def test_readers_copy_is_the_served_document_byte_for_byte() -> None:
    assert READERS_COPY.read_bytes() == DOCUMENT_FILE.read_bytes(), (
        "docs/openapi.json must be a copy of dapp/openapi.json: cp dapp/openapi.json docs/"
    )


def test_document_heads_an_openapi_3_1_description_of_this_version() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"', pyproject, re.MULTILINE)
    assert version is not None
    assert DOCUMENT["openapi"] == "3.1.0"
    assert DOCUMENT["info"]["title"] == "streamdex inspect API"
    assert DOCUMENT["info"]["version"] == version[1]
    # Swagger UI at /docs reads /api/openapi.json: "." is /api/, where the devnet serves routes
    assert [server["url"] for server in DOCUMENT["servers"]] == ["."]
    assert set(DOCUMENT) <= {"openapi", "info", "servers", "tags", "paths", "components"}


def test_every_reference_resolves_and_every_component_is_used() -> None:
    references = {value for pointer, value in walk(DOCUMENT) if pointer.endswith("/$ref") and value}
    for reference in references:
        resolve(reference)
    for kind, components in DOCUMENT["components"].items():
        for name in components:
            assert f"#/components/{kind}/{name}" in references, f"{kind}/{name} is never used"


def test_every_path_is_a_get_with_a_json_answer_and_declared_parameters() -> None:
    operation_ids = []
    tags = {tag["name"] for tag in DOCUMENT["tags"]}
    for path, item in DOCUMENT["paths"].items():
        assert path.startswith("/") and not path.endswith("/"), path
        assert set(item) == {"get"}, f"{path}: inspect routes are read with GET only"
        operation = item["get"]
        operation_ids.append(operation["operationId"])
        assert operation["summary"] and operation["description"], path
        assert set(operation["tags"]) <= tags, path
        responses = operation["responses"]
        assert set(responses) >= {"200", "400", "500"}, path
        ok = responses["200"]
        assert ok["description"] and set(ok["content"]) == {"application/json"}, path
        assert isinstance(ok["content"]["application/json"]["schema"], dict), path
        for status, response in responses.items():
            if status != "200":
                error = resolve(response["$ref"])["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/Error"}, (path, status)
        parameters = [
            resolve(p["$ref"]) if "$ref" in p else p for p in operation.get("parameters", [])
        ]
        names = [(p["name"], p["in"]) for p in parameters]
        assert len(names) == len(set(names)), f"{path}: a parameter is declared twice"
        in_path = [p for p in parameters if p["in"] == "path"]
        assert [p["name"] for p in in_path] == re.findall(r"\{([^}]+)\}", path), path
        assert all(p["required"] is True for p in in_path), path
        for parameter in parameters:
            assert parameter["in"] in ("path", "query"), (path, parameter["name"])
            assert parameter["description"] and "schema" in parameter, (path, parameter)
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"


def test_every_schema_is_a_valid_draft_2020_12_schema() -> None:
    for pointer, node in walk(DOCUMENT):
        if pointer.endswith("/schema") or pointer.rsplit("/", 2)[-2:-1] == ["schemas"]:
            Draft202012Validator.check_schema(node)


def test_document_is_valid_against_the_openapi_3_1_meta_schema() -> None:
    """The OpenAPI Initiative's 3.1 schema and its semantic checks (openapi-spec-validator)."""
    from openapi_spec_validator.validation import validators

    found = [str(error) for error in validators.OpenAPIV31SpecValidator(DOCUMENT).iter_errors()]
    assert found == []


def test_error_codes_are_the_applications_own() -> None:
    codes: set[str] = set()
    classes: list[type[errors.StreamdexError]] = [errors.StreamdexError]
    while classes:
        cls = classes.pop()
        codes.add(cls.code)
        classes.extend(cls.__subclasses__())
    documented = DOCUMENT["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
    assert set(documented) == codes | {"NO_ANSWER"}  # NO_ANSWER: the devnet gateway's 502


# --- one path per route ------------------------------------------------------------------------
def test_every_route_is_documented() -> None:
    missing = [path for path in REGISTERED if path not in DOCUMENT["paths"]]
    assert missing == [], f"add these routes to dapp/openapi.json (and docs/): {missing}"


def test_every_documented_path_is_a_route() -> None:
    extra = [path for path in DOCUMENT["paths"] if path not in REGISTERED]
    assert extra == [], f"dapp/openapi.json documents routes that dapp.inspect lacks: {extra}"


def test_the_route_serves_the_document(market: Market) -> None:
    assert market.inspect("/openapi.json") == DOCUMENT
    assert openapi.document() is openapi.document()  # read once


# --- real answers -------------------------------------------------------------------------------
# Concrete URLs per route pattern, with and without each optional parameter: `{name}`s are filled
# from `Market.names`. Together a route's URLs pass every query parameter it documents.
URLS: dict[str, list[str]] = {
    "/health": ["/health"],
    "/balance/{account}": [
        "/balance/{alice}?token={usdc}",
        "/balance/{carol}?token={weth}&at={later}",
        "/balance/{stranger}?token={weth}",
    ],
    "/balances/{account}": ["/balances/{carol}", "/balances/{bob}?at={later}"],
    "/streams/{account}": [
        "/streams/{alice}",
        "/streams/{bob}?token={ctsi}&status=active&at={stream_mid}&limit=1&cursor=0",
        "/streams/{stranger}",
    ],
    "/stream/{id}": ["/stream/1", "/stream/1?at={stream_mid}"],
    "/swap/{id}": ["/swap/1", "/swap/1?at={later}"],
    "/pairs": ["/pairs", "/pairs?limit=1&cursor=1&at={later}"],
    "/pair/{token_a}/{token_b}": ["/pair/{weth}/{usdc}", "/pair/{usdc}/{weth}?at={later}"],
    "/quote": [
        "/quote?path={usdc},{weth}&amount_in=1000000",
        "/quote?path={ctsi},{weth},{usdc}&amount_out=1000000&at={later}",
    ],
    "/tokens": ["/tokens", "/tokens?limit=2&cursor=1"],
    "/token/{address}": ["/token/{weth}", "/token/{stranger}"],
    "/stats": ["/stats", "/stats?window=all", "/stats?window=1h", "/stats?window=30d"],
    "/pairs/{pair}": ["/pairs/{pair}", "/pairs/{ticker}?at={later}"],
    "/pairs/{pair}/stats": [
        "/pairs/{pair}/stats",
        "/pairs/{ticker}/stats?window=all",
        "/pairs/{junk_pair}/stats?window=7d",
    ],
    "/pairs/{pair}/candles": [
        "/pairs/{pair}/candles",
        "/pairs/{ticker}/candles?interval=1d&start_time={t0_ms}&end_time={as_of}&limit=3&cursor=0",
    ],
    "/tokens/{token}/candles": [
        "/tokens/{weth}/candles",
        "/tokens/{junk}/candles?interval=1d&start_time=0&end_time={as_of_ms}&limit=2&cursor=0",
        "/tokens/{stranger}/candles",
    ],
    "/prices": ["/prices"],
    "/top/pairs": [
        "/top/pairs",
        "/top/pairs?window=all&by=liquidity&limit=2",
        "/top/pairs?by=fees",
        "/top/pairs?window=7d&by=swaps",
    ],
    "/top/tokens": ["/top/tokens", "/top/tokens?window=7d&by=volume&limit=3"],
    "/arbitrage": ["/arbitrage", "/arbitrage?min_profit_bps=1&max_hops=4"],
    "/coingecko/pairs": ["/coingecko/pairs"],
    "/coingecko/tickers": ["/coingecko/tickers"],
    "/coingecko/orderbook": [
        "/coingecko/orderbook?ticker_id={ticker}",
        "/coingecko/orderbook?ticker_id={pair}&depth=4",
    ],
    "/coingecko/historical_trades": [
        "/coingecko/historical_trades?ticker_id={ticker}",
        "/coingecko/historical_trades?ticker_id={ticker}&type=sell&limit=0"
        "&start_time=0&end_time={as_of_ms}",
        "/coingecko/historical_trades?ticker_id={ticker}&type=buy&limit=3",
    ],
    "/cmc/summary": ["/cmc/summary"],
    "/cmc/assets": ["/cmc/assets"],
    "/cmc/ticker": ["/cmc/ticker"],
    "/cmc/orderbook/{market_pair}": [
        "/cmc/orderbook/{ticker}",
        "/cmc/orderbook/{ticker}?depth=5&level=1",
        "/cmc/orderbook/{pair}?depth=0&level=3",
    ],
    "/cmc/trades/{market_pair}": ["/cmc/trades/{ticker}"],
    "/swaps": [
        "/swaps",
        "/swaps?pair={pair}&account={carol}&start_time={t0}&end_time={as_of_ms}&limit=5&order=asc",
        "/swaps?limit=2&cursor={swap_cursor}",
        "/swaps?account={stranger}",
    ],
    "/mints": [
        "/mints",
        "/mints?pair={ticker}&account={lp}&start_time=0&end_time={as_of}&limit=1&order=asc",
        "/mints?limit=1&cursor={liquidity_cursor}",
    ],
    "/burns": [
        "/burns",
        "/burns?pair={dai_pair}&account={lp}&start_time={t0_ms}&end_time={as_of}&order=asc",
        "/burns?limit=1&cursor={liquidity_cursor}",
    ],
    "/accounts/{address}": ["/accounts/{lp}", "/accounts/{carol}", "/accounts/{stranger}"],
    "/accounts/{address}/features": [
        "/accounts/{carol}/features",
        "/accounts/{lp}/features",
        "/accounts/{stranger}/features?sentinel=999999999",
    ],
    "/accounts/{address}/activity": [
        "/accounts/{alice}/activity",
        "/accounts/{lp}/activity?type=all&limit=3",
        "/accounts/{lp}/activity?type=burn",
        "/accounts/{bob}/activity?type=stream&limit=1&cursor={stream_cursor}",
        "/accounts/{carol}/activity?type=swap&limit=2",
        "/accounts/{stranger}/activity?type=mint",
    ],
    "/openapi.json": ["/openapi.json"],
}

# Error answers (any route): the URL and the code it must give.
ERROR_URLS = [
    ("/no/such/route", "UNKNOWN_ROUTE"),
    ("/health?x=1", "BAD_PARAMETER"),
    ("/stats?window=2h", "BAD_PARAMETER"),
    ("/stats?window=1h&window=24h", "BAD_PARAMETER"),
    ("/pairs?limit=-1", "BAD_PARAMETER"),
    ("/balance/0xzz?token={usdc}", "INVALID_ADDRESS"),
    ("/balance/{alice}", "BAD_PARAMETER"),
    ("/stream/999", "STREAM_NOT_FOUND"),
    ("/swap/999", "SWAP_NOT_FOUND"),
    ("/swap/1?at={t0}", "INVALID_TIME"),  # settled on day 35: its state then is not kept
    ("/pairs/{stranger}", "PAIR_NOT_FOUND"),
    ("/quote?path={usdc}&amount_in=1", "INVALID_PATH"),
]


class Market:
    """An application over the scenario's inputs, plus the names its URLs use."""

    def __init__(self, scenario: ms.Scenario) -> None:
        self.scenario = scenario
        # a mispriced USDC/DAI pair at as_of: USDC → DAI → WETH → USDC pays (/arbitrage rows)
        notice = scenario.driver.act(
            ms.LP,
            "add_liquidity",
            at=scenario.as_of,
            token_a=ms.USDC,
            token_b=ms.DAI,
            token_a_desired=100_000 * ms.E6,
            token_b_desired=120_000 * ms.E18,
            token_a_min=0,
            token_b_min=0,
        )
        assert notice.accepted, notice.reports
        as_of = scenario.as_of
        pairs: list[dict[str, Any]] = self.inspect("/pairs")["pairs"]
        by_tokens = {frozenset((p["token0"]["id"], p["token1"]["id"])): p for p in pairs}

        def pair_of(a: bytes, b: bytes) -> dict[str, Any]:
            return by_tokens[frozenset((to_checksum_address(a), to_checksum_address(b)))]

        def cursor(url: str) -> str:
            answer = self.inspect(url)
            return str(answer.get("next_cursor")) if isinstance(answer, dict) else "none"

        people = {"alice": ms.ALICE, "bob": ms.BOB, "carol": ms.CAROL, "lp": ms.LP}
        tokens = {"usdc": ms.USDC, "weth": ms.WETH, "ctsi": ms.CTSI, "junk": ms.JUNK}
        self.names: dict[str, Any] = {
            **{name: to_checksum_address(a) for name, a in {**people, **tokens}.items()},
            "stranger": to_checksum_address(STRANGER),
            "pair": pair_of(ms.USDC, ms.WETH)["id"],
            "ticker": pair_of(ms.USDC, ms.WETH)["ticker_id"],
            "junk_pair": pair_of(ms.JUNK, ms.GUNK)["id"],
            "dai_pair": pair_of(ms.DAI, ms.WETH)["id"],
            "t0": ms.T0,
            "t0_ms": ms.T0 * 1000,
            "as_of": as_of,
            "as_of_ms": as_of * 1000,
            "stream_mid": ms.T0 + 11 * ms.DAY,  # ALICE → BOB streams CTSI (days 10 to 12)
            "later": as_of + ms.DAY,  # balances and pairs are read at or after their last change
        }
        self.names["swap_cursor"] = cursor("/swaps?limit=1")
        self.names["liquidity_cursor"] = cursor("/mints?limit=1")  # a row of liquidity_log
        self.names["stream_cursor"] = cursor(
            "/accounts/{bob}/activity?type=stream&limit=1".format(**self.names)
        )

    def url(self, template: str) -> str:
        return template.format(**self.names)

    def inspect(self, path: str) -> Any:
        return json.loads(self.scenario.app.inspect(path.encode()))


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Market:
    return Market(ms.build(tmp_path_factory.mktemp("openapi_priced")))


@pytest.fixture(scope="module")
def unpriced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    """The same inputs under the default configuration: no metadata, no stablecoin."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ms, "MARKET", MarketConfig())
        built = Market(ms.build(tmp_path_factory.mktemp("openapi_unpriced")))
    yield built


def test_the_url_table_covers_every_route() -> None:
    assert sorted(URLS) == sorted(REGISTERED), "add concrete URLs for new routes to URLS"


def documented_query_parameters(path: str) -> set[str]:
    operation = DOCUMENT["paths"][path]["get"]
    parameters = [resolve(p["$ref"]) if "$ref" in p else p for p in operation.get("parameters", [])]
    return {p["name"] for p in parameters if p["in"] == "query"}


def usd_values(answer: Any) -> Iterator[Any]:
    """The values of every field named like a USD figure."""
    for pointer, value in walk(answer):
        if "usd" in pointer.rsplit("/", 1)[-1].lower() and not isinstance(value, (dict, list)):
            yield value


def check_answers(market: Market, path: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every URL of the route answers without error, matching its documented schema; the
    query parameters the route reads are exactly those documented and exercised."""
    if path not in REGISTERED:
        pytest.skip(f"{path} is not a route (test_every_documented_path_is_a_route says so)")
    read: set[str] = set()
    text = Query.text

    def recording(query: Query, name: str) -> str | None:
        read.add(name)
        return text(query, name)

    monkeypatch.setattr(Query, "text", recording)
    checker = ok_validator(path)
    answers = []
    for template in URLS[path]:
        url = market.url(template)
        answer = market.inspect(url)
        if isinstance(answer, dict) and "error" in answer:
            pytest.fail(f"{url}: {answer}")
        problem = problems(checker, answer)
        assert problem is None, f"{url} does not match the schema of {path} {problem}"
        answers.append(answer)
    documented = documented_query_parameters(path)
    passed = {
        name
        for template in URLS[path]
        for name, _ in urllib.parse.parse_qsl(urllib.parse.urlsplit(template).query)
    }
    assert passed == documented, f"{path}: URLS should pass each documented parameter"
    assert read == documented, f"{path}: the route reads {sorted(read)}"
    return answers


@pytest.mark.parametrize("path", sorted(URLS))
def test_answers_match_the_schema(
    market: Market, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_answers(market, path, monkeypatch)


@pytest.mark.parametrize("path", sorted(URLS))
def test_answers_without_stablecoins_match_the_schema_with_usd_null(
    unpriced: Market, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for answer in check_answers(unpriced, path, monkeypatch):
        assert {value for value in usd_values(answer)} <= {None}


def test_the_priced_market_fills_usd_fields(market: Market) -> None:
    shown = [value for value in usd_values(market.inspect("/stats")) if value is not None]
    assert shown and all(isinstance(value, str) for value in shown)
    assert market.inspect("/arbitrage")["opportunities"], "the USDC/DAI pair makes a cycle"


@pytest.mark.parametrize(("template", "code"), ERROR_URLS)
def test_error_answers_match_the_error_schema(market: Market, template: str, code: str) -> None:
    answer = market.inspect(market.url(template))
    assert problems(ERROR, answer) is None, answer
    assert answer["error"] == code


def test_a_payload_that_is_not_utf8_is_an_error_of_the_same_shape(market: Market) -> None:
    answer = json.loads(market.scenario.app.inspect(b"/\xff"))
    assert problems(ERROR, answer) is None and answer["error"] == "BAD_PAYLOAD"
