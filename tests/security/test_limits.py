"""BodyLimitMiddleware and check_json_depth, on a tiny Starlette app that echoes the body size."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.errors import InvalidRequest
from service.security.limits import BodyLimitMiddleware, check_json_depth, is_json_content_type

LIMIT = 1000


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"received": len(await request.body())})


def client() -> httpx.AsyncClient:
    app = BodyLimitMiddleware(Starlette(routes=[Route("/x", echo, methods=["GET", "POST"])]), LIMIT)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def assert_outcome(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    assert body["issue"][0]["code"] == code


async def test_json_body_under_limit_passes_through_intact() -> None:
    async with client() as http:
        response = await http.post("/x", content=b"x" * LIMIT, headers={"content-type": "application/json"})
    assert response.json() == {"received": LIMIT}


async def test_413_when_content_length_over_limit() -> None:
    async with client() as http:
        response = await http.post("/x", content=b"x" * (LIMIT + 1), headers={"content-type": "application/json"})
    assert_outcome(response, 413, "too-costly")


async def test_413_when_streamed_body_without_length_goes_over_limit() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * 300

    async with client() as http:
        response = await http.post("/x", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_outcome(response, 413, "too-costly")


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
async def test_415_for_post_that_is_not_json(content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    async with client() as http:
        response = await http.post("/x", content=b"{}", headers=headers)
    assert_outcome(response, 415, "not-supported")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "application/fhir+json",
    ],
)
async def test_json_content_types_accepted(content_type: str) -> None:
    assert is_json_content_type(content_type)
    async with client() as http:
        response = await http.post("/x", content=b"{}", headers={"content-type": content_type})
    assert response.json() == {"received": 2}


async def test_get_needs_no_content_type() -> None:
    async with client() as http:
        assert (await http.get("/x")).json() == {"received": 0}


def test_json_depth_within_limit_accepted() -> None:
    value: Any = {"a": [{"b": 1}]}  # depth 3
    check_json_depth(value, 3)
    check_json_depth("scalar", 0)


def test_json_depth_over_limit_raises_invalid_request() -> None:
    deep: Any = 1
    for _ in range(100_000):  # deeper than Python's recursion limit: the check must be iterative
        deep = [deep]
    with pytest.raises(InvalidRequest, match="deeper than 64"):
        check_json_depth(deep, 64)
    with pytest.raises(InvalidRequest):
        check_json_depth({"a": {"b": {}}}, 2)
