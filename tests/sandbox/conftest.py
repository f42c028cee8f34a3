"""Sandbox tests talk to it the way any HTTP client would: httpx on ASGITransport
(in-process), never through the project's API client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from rentnumber_tui.sandbox import DEMO_API_KEY, Sandbox

BASE_URL = "http://sandbox/api/v1"
AUTH = {"X-API-KEY": DEMO_API_KEY}


def body(response: httpx.Response) -> Any:
    """The JSON body with money as Decimal, straight from the text (as the spec says)."""
    return json.loads(response.text, parse_float=Decimal)


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http


async def rent(http: httpx.AsyncClient, pricing_id: int, key: str = DEMO_API_KEY) -> Any:
    """POST /rent (form-encoded, as documented); asserts success and returns the body."""
    response = await http.post("/rent", headers={"X-API-KEY": key}, data={"pricing_id": pricing_id})
    assert response.status_code == 200, response.text
    return body(response)
