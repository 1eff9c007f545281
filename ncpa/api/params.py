"""Reading request parameters: each bad value is a 400 that names the parameter."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from ncpa import strict_json
from ncpa.api.errors import bad_param

MAX_STRING = 256
# the local API's card ids: 20 characters (the OpenAPI document), what OCPP 1.6 carries
API_ID_TAG_LEN = 20


def query_str(
    request: web.Request, name: str, *, required: bool = True, max_len: int = MAX_STRING
) -> str | None:
    values = request.query.getall(name, [])
    if not values:
        if required:
            raise bad_param(name, "required")
        return None
    if len(values) > 1:
        raise bad_param(name, "given more than once")
    value = values[0]
    if not value:
        raise bad_param(name, "must not be empty")
    if len(value) > max_len:
        raise bad_param(name, f"at most {max_len} characters")
    if not value.isprintable():
        raise bad_param(name, "must be printable text")
    return value


def require_str(request: web.Request, name: str, max_len: int = MAX_STRING) -> str:
    value = query_str(request, name, required=True, max_len=max_len)
    assert value is not None
    return value


def query_enum(request: web.Request, name: str, allowed: Sequence[str]) -> str:
    value = require_str(request, name, max_len=64)
    if value not in allowed:
        raise bad_param(name, f"{value!r} is not one of {', '.join(allowed)}")
    return value


# plain ASCII decimals: float() and int() also take " 10", "1_0", "1e1" and the digits of
# every script (Arabic-Indic, full-width), which no client means and no log reader expects
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_INTEGER = re.compile(r"-?[0-9]+")


def to_float(name: str, raw: str, lo: float, hi: float) -> float:
    if not _DECIMAL.fullmatch(raw):
        raise bad_param(name, f"{raw!r} is not a plain decimal number (digits 0-9, one '.')")
    value = float(raw)
    if not math.isfinite(value) or not lo <= value <= hi:
        raise bad_param(name, f"{raw} is out of range {lo:g}..{hi:g}")
    return value


def query_float(request: web.Request, name: str, lo: float, hi: float) -> float:
    return to_float(name, require_str(request, name, max_len=64), lo, hi)


def query_int(request: web.Request, name: str, lo: int, hi: int, default: int | None = None) -> int:
    raw = query_str(request, name, required=default is None, max_len=20)
    if raw is None:
        assert default is not None
        return default
    if not _INTEGER.fullmatch(raw):
        raise bad_param(name, f"{raw!r} is not an integer")
    value = int(raw)
    if not lo <= value <= hi:
        raise bad_param(name, f"{value} is out of range {lo}..{hi}")
    return value


def query_floats(
    request: web.Request, name: str, lo: float, hi: float, min_items: int, max_items: int
) -> list[float]:
    """Repeated (`?x=1&x=2`, OpenAPI form/explode) or comma separated (`?x=1,2`)."""
    raw = request.query.getall(name, [])
    items = [part.strip() for value in raw for part in value.split(",")]
    if not raw:
        raise bad_param(name, "required")
    if not min_items <= len(items) <= max_items:
        raise bad_param(name, f"{min_items} to {max_items} numbers")
    return [to_float(name, item, lo, hi) for item in items]


async def json_body(request: web.Request, name: str, max_bytes: int = 64 * 1024) -> Any:
    if request.content_length is not None and request.content_length > max_bytes:
        raise bad_param(name, f"body larger than {max_bytes} bytes")
    data = await request.content.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise bad_param(name, f"body larger than {max_bytes} bytes")
    if not data:
        raise bad_param(name, "a JSON body is required")
    try:
        return strict_json.loads(data)
    except strict_json.StrictJsonError as e:
        raise bad_param(name, f"body is not JSON the API takes ({e})") from e
