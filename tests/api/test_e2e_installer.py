"""The installer's flow end to end, on the simulator with the development keys:
`ncpa qr` -> /auth -> settings -> learn a card on the simulated reader -> a session
started with that card -> the transaction listed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp

from ncpa.api.settings import DEV_KEYS
from tests.api.conftest import Api, Charger, start_api
from tests.api.keys import CP_ID
from tests.api.waiting import until


async def ncpa_qr(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ncpa", "qr", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode().strip()


async def sim_post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> None:
    async with session.post(url, json=body) as r:
        assert r.status == 200, await r.text()


async def wait_for(api: Api, token: str, check: Any, timeout: float = 10.0) -> Any:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        status, body = await api.call("GET", "/transactions", token, "installer-phone")
        if status == 200 and check(body):
            return body
        assert loop.time() < end, body
        await asyncio.sleep(0.05)


async def test_installer_flow(charger: Charger, sim: str, tmp_path: Path) -> None:
    # the daemon in developer mode trusts certs/dev: keys_dir defaults to it
    api = await start_api(charger, DEV_KEYS, issuer_keys=(), keys_dir="")
    try:
        token_qr = await ncpa_qr("--id", CP_ID, "--role", "installer", "--format", "token")
        status, paired = await api.pair(token_qr, "installer-phone")
        assert status == 200 and paired["role"] == "installer", paired
        token = paired["accessToken"]

        async def call(method: str, path: str, **params: str) -> Any:
            status, body = await api.call(method, path, token, "installer-phone", params=params)
            assert status in (200, 204), (path, body)
            return body

        assert await call("POST", "/authentication-mode", authenticationMode="WHITELIST") == (
            "WHITELIST"
        )
        assert (
            await call("POST", "/config/charge-station-max-current", chargeStationMaxCurrent="16")
            == 16
        )
        await call("POST", "/config/socket-permanent-lock-mode", socketLockMode="TRANSACTION")

        # learn mode: the next card at the (simulated) reader goes on the whitelist
        async with aiohttp.ClientSession() as s:
            learn = asyncio.create_task(
                api.call("GET", "/whitelist/card", token, "installer-phone")
            )
            await until(lambda: charger.station._learners)
            await sim_post(s, f"{sim}/sim/rfid", {"uid": "E2ECARD"})
            status, reg = await learn
            assert status == 200 and reg["card"]["token"] == "E2ECARD", reg

            # the EV plugs in, the card is presented: a session with that card
            await sim_post(s, f"{sim}/sim/connectors/1/plug", {})
            await sim_post(s, f"{sim}/sim/rfid", {"uid": "E2ECARD"})
            txs = await wait_for(api, token, lambda b: b and "stopDate" not in b[0])
            assert txs[0]["token"] == "E2ECARD"

            status_body = await call("GET", "/status")
            assert status_body["limits"][0]["amps"] == 16
            assert status_body["limits"][0]["source"] == "installer"
            await asyncio.sleep(0.3)  # let some energy flow
            # the same card ends it
            await sim_post(s, f"{sim}/sim/rfid", {"uid": "E2ECARD"})
            txs = await wait_for(api, token, lambda b: b and "stopDate" in b[0])
            assert txs[0]["token"] == "E2ECARD" and txs[0]["stopReason"] == "Local"
    finally:
        await api.session.close()
        await api.server.stop()
