"""Hostile input to the local API through real HTTP (issue 13, items 18 and 19): deep JSON,
non-finite or mistyped claims, lenient numbers. Each is a 400 or 401 in the documented
shape, never a 500, and changes nothing."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from ncpa.api.tokens import AUDIENCE
from tests.api.conftest import AUTH, Api
from tests.api.keys import CP_ID

SCHEDULE = {"recurring": "daily", "sections": [{"time": 0, "limit": 10}]}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    "body",
    [
        nested(3_000),
        b'{"recurring": "daily", "sections": ' + nested(3_000) + b"}",
        b'{"a":' * 3_000 + b"1" + b"}" * 3_000,
        b'{"recurring": "daily", "sections": [{"time": 0, "limit": NaN}]}',
        b'{"recurring": "daily", "sections": [{"time": 0, "limit": Infinity}]}',
        b'{"recurring": "daily", "sections": [{"time": 0, "limit": 1e400}]}',
        b'{"recurring": "daily", "sections": [{"time": 0, "limit": ' + b"9" * 5_000 + b"}]}",
    ],
    ids=["list-3000", "inner-3000", "object-3000", "nan", "infinity", "1e400", "5000-digits"],
)
async def test_hostile_json_bodies_are_400(api: Api, body: bytes) -> None:
    token = await api.login("installer")
    before = await api.call("GET", "/schedules/chargepoint", token)
    status, reply = await api.call("POST", "/schedules/chargepoint", token, data=body)
    assert status == 400, reply
    assert reply["error"] == "InvalidParameter" and reply["message"].startswith("chargingSchedule")
    assert await api.call("GET", "/schedules/chargepoint", token) == before


async def test_moderate_nesting_is_still_parsed(api: Api) -> None:
    token = await api.login("installer")
    # 30 levels is far more than any document of the API has; still an ordinary 400
    status, reply = await api.call("POST", "/schedules/chargepoint", token, data=nested(30))
    assert status == 400 and "must be an object" in reply["message"]


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": float("inf")},
        {"iat": float("nan")},
        {"iat": float("-inf")},
        {"exp": float("inf")},
        {"exp": float("nan")},
        {"nbf": float("nan")},
        {"iat": "1700000000"},
        {"exp": str(int(time.time()) + 3600)},
        {"iat": True},
        {"exp": 10**30},
        {"iat": -(10**30)},
    ],
    ids=lambda c: f"{next(iter(c))}={next(iter(c.values()))!r}"[:30],
)
async def test_qr_label_claims_must_be_finite_numbers(api: Api, claims: dict[str, Any]) -> None:
    status, body = await api.pair(AUTH.token("installer", **claims))
    assert status == 401, body
    assert body["error"] == "Unauthorized" and next(iter(claims)) in body["message"]


def forged(api: Api, **over: Any) -> str:
    """An access token signed with the charger's own key (as only the charger can), with
    claims of the wrong JSON type."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": CP_ID, "aud": AUDIENCE, "sub": "phone-1", "role": "installer",
        "iat": now, "exp": now + 600, "jti": "j1",
    }  # fmt: skip
    claims.update(over)
    issuer = api.server_tokens()
    return jwt.encode(claims, issuer._key, algorithm=issuer.algorithm)


@pytest.mark.parametrize(
    "over",
    [
        {"exp": str(int(time.time()) + 600)},
        {"exp": float(int(time.time()) + 600)},
        {"iat": str(int(time.time()))},
        {"exp": True},
        {"sub": 7},
        {"jti": ["j"]},
        {"role": None},
    ],
    ids=lambda o: f"{next(iter(o))}={next(iter(o.values()))!r}"[:30],
)
async def test_access_token_claims_must_have_their_json_types(
    api: Api, over: dict[str, Any]
) -> None:
    assert (await api.call("GET", "/status", forged(api)))[0] == 200  # the well-typed one
    status, body = await api.call("GET", "/status", forged(api, **over))
    assert status == 401, body
    assert body["error"] == "Unauthorized"


@pytest.mark.parametrize(
    "raw",
    [
        "\u0661\u0660",
        "\uff11\uff10",
        "1_0",
        " 10",
        "10 ",
        "+10",
        "1e1",
        "0x10",
        "10.",
        ".5",
        "\u0661\u0660.\u0665",
        "inf",
        "nan",
    ],
)
async def test_max_current_accepts_plain_ascii_decimals_only(api: Api, raw: str) -> None:
    token = await api.login("installer")
    before = await api.call("GET", "/config/grid-max-current", token)
    status, body = await api.call(
        "POST", "/config/grid-max-current", token, params={"maxCurrent": raw}
    )
    assert status == 400, (raw, body)
    assert body["error"] == "InvalidParameter" and body["message"].startswith("maxCurrent")
    assert await api.call("GET", "/config/grid-max-current", token) == before


@pytest.mark.parametrize("raw", ["10", "25.5", "63", "6.0"])
async def test_max_current_plain_decimals_work(api: Api, raw: str) -> None:
    token = await api.login("installer")
    status, body = await api.call(
        "POST", "/config/grid-max-current", token, params={"maxCurrent": raw}
    )
    assert status == 200 and body == float(raw), body


@pytest.mark.parametrize("start", [{}, "1700000000", 1.5, True, None, -1, [1]])
async def test_schedule_start_must_be_epoch_seconds(api: Api, start: Any) -> None:
    token = await api.login("installer")
    before = await api.call("GET", "/schedules/chargepoint", token)
    status, body = await api.call(
        "POST", "/schedules/chargepoint", token,
        json={"recurring": "none", "sections": [{"time": 0, "limit": 8}], "start": start},
    )  # fmt: skip
    assert status == 400, body
    assert body["error"] == "InvalidParameter" and "start" in body["message"]
    assert await api.call("GET", "/schedules/chargepoint", token) == before


async def test_a_schedule_read_back_can_be_posted_again(api: Api) -> None:
    token = await api.login("installer")
    body = {"recurring": "none", "sections": [{"time": 0, "limit": 8}]}
    status, first = await api.call("POST", "/schedules/chargepoint", token, json=body)
    assert status == 200 and isinstance(first["start"], int)
    status, second = await api.call("POST", "/schedules/chargepoint", token, json=first)
    assert status == 200 and second["sections"] == first["sections"]
