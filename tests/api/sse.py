"""Read the live event stream (GET /events) as the web page does: fetch with the header."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from jsonschema import Draft202012Validator

from tests.api.openapi_check import URN, _registry


def validate(schema_name: str, value: Any) -> None:
    v = Draft202012Validator(
        {"$ref": f"{URN}#/components/schemas/{schema_name}"}, registry=_registry()
    )
    errors = list(v.iter_errors(value))
    assert not errors, f"{schema_name}: {errors[0].message} at {list(errors[0].path)}"


async def events(resp: aiohttp.ClientResponse) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    kind, data = "", ""
    async for raw in resp.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and kind:
            yield kind, json.loads(data)
            kind, data = "", ""


async def wait_event(
    stream: AsyncIterator[tuple[str, dict[str, Any]]],
    cond: Callable[[str, dict[str, Any]], bool],
    timeout: float = 10.0,
) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        async for kind, data in stream:
            if kind == "snapshot":
                validate("LiveSnapshot", data)
            elif kind == "connector":
                validate("LiveConnector", data["connector"])
            if cond(kind, data):
                return data
    raise AssertionError("stream ended")
