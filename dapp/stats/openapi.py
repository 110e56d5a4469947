"""`/openapi.json`: the OpenAPI 3.1 description of every inspect route (dapp/openapi.json).

The devnet serves it at `/api/openapi.json`, where its Swagger UI (`/docs`) reads it. The file is
part of the machine image (the Dockerfile copies dapp/ whole); it is read once, on the first
request, and the parsed document is kept: routes must not change it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # dapp.inspect registers this route: importing it here would be a cycle
    from dapp.inspect import Inspector, Query

DOCUMENT_PATH = Path(__file__).resolve().parent.parent / "openapi.json"


@cache
def document() -> dict[str, Any]:
    """The parsed dapp/openapi.json, read once."""
    with DOCUMENT_PATH.open(encoding="utf-8") as file:
        parsed: dict[str, Any] = json.load(file)
    return parsed


def openapi_route(inspector: Inspector, params: list[str], query: Query) -> dict[str, Any]:
    return document()


ROUTES: list[tuple[tuple[str, ...], Any]] = [(("openapi.json",), openapi_route)]
