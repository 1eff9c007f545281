from __future__ import annotations

from tests.api.conftest import Api


async def test_status(api: Api) -> None:
    token = await api.login("operator")
    status, body = await api.call("GET", "/status", token)
    assert status == 200, body
    print(body)
    status, body = await api.call("GET", "/device-info", token)
    assert status == 200, body
    print(body)
