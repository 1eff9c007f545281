"""A real charger for the API tests: ChargingStation on the simulator board, the API
served on a loopback port, and an HTTP client that pairs like the phone app does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from multidict import MultiDict

from hal.board import Board
from ncpa import config
from ncpa.api.app import ApiServer
from ncpa.api.routes import STATE, ApiState
from ncpa.api.settings import ApiSettings
from ncpa.api.tokens import TokenIssuer, load_or_create_device_key
from ncpa.charging.station import ChargingStation
from ncpa.config import Config
from ncpa.store import Store
from simulator.control import ControlServer
from simulator.inprocess import sim_charger
from simulator.plant import Plant
from tests.api.keys import CP_ID, AuthServer, pem_private, pem_public
from tests.api.openapi_check import check_response

AUTH = AuthServer()
VENDOR = ed25519.Ed25519PrivateKey.generate()


@dataclass
class Charger:
    cfg: Config
    store: Store
    board: Board
    plant: Plant
    station: ChargingStation


@dataclass
class Api:
    """The running API and a client for it."""

    server: ApiServer
    session: aiohttp.ClientSession
    settings: ApiSettings
    charger: Charger
    keys: Path
    reboots: list[int] = field(default_factory=list)

    def server_state(self) -> ApiState:
        runner = self.server._runner
        assert runner is not None
        return runner.app[STATE]

    def server_tokens(self) -> TokenIssuer:
        """The issuer of the running app (to make expired tokens with the charger's key)."""
        return TokenIssuer(
            load_or_create_device_key(self.settings.api_dir), CP_ID, self.settings.token_ttl
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def login(self, role: str = "installer", client: str = "phone-1", **claims: Any) -> str:
        status, body = await self.pair(AUTH.token(role, **claims), client)
        assert status == 200, body
        token: str = body["accessToken"]
        return token

    async def pair(self, qr_token: str, client: str | None = "phone-1") -> tuple[int, Any]:
        return await self.call("GET", "/auth", client=client, params={"token": qr_token})

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        client: str | None = "phone-1",
        params: dict[str, Any] | list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        q: MultiDict[Any] = MultiDict(params or {})
        if client is not None:
            q["clientId"] = client
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(
            method, self.url + path, params=q, headers=headers, allow_redirects=False, **kwargs
        ) as r:
            ctype = r.headers.get("Content-Type", "")
            body = await r.json() if ctype.startswith("application/json") else await r.read()
            # every response of every test is checked against the OpenAPI document
            check_response(method, path, r.status, ctype, body)
            return r.status, body


def make_config(data_dir: Path, **station: Any) -> Config:
    cfg = config.load(None, {"simulated": True, "data_dir": data_dir, "id": CP_ID})
    if station:
        cfg = replace(cfg, station=replace(cfg.station, **station))
    return cfg


@pytest.fixture
async def charger(tmp_path: Path) -> AsyncIterator[Charger]:
    async with sim_charger(make_config(tmp_path / "data")) as c:
        yield Charger(c.config, c.store, c.board, c.plant, c.station)


def write_keys(folder: Path) -> Path:
    AUTH.write(folder)
    (folder / "vendor-signing.pem").write_bytes(pem_public(VENDOR))
    (folder / "vendor-signing.key").write_bytes(pem_private(VENDOR))
    (folder / "qr-issuer.key").write_bytes(pem_private(AUTH.es))
    return folder


def api_settings(charger: Charger, keys: Path, **over: Any) -> ApiSettings:
    base = ApiSettings(
        charge_point_id=CP_ID,
        data_dir=charger.cfg.data_dir,
        host="127.0.0.1",
        port=0,
        developer_mode=True,
        keys_dir=str(keys),
        issuer_keys=tuple(AUTH.pinned_paths(keys)),
        auth_attempts=10_000,
        learn_timeout=5.0,
        max_upload_mb=1.0,
    )
    return replace(base, **over)


async def start_api(charger: Charger, keys: Path, **over: Any) -> Api:
    settings = api_settings(charger, keys, **over)
    reboots: list[int] = []
    server = ApiServer(charger.station, settings, on_reboot=lambda: reboots.append(1))
    await server.start()
    return Api(server, aiohttp.ClientSession(), settings, charger, keys, reboots)


@pytest.fixture
async def api(charger: Charger, tmp_path: Path) -> AsyncIterator[Api]:
    a = await start_api(charger, write_keys(tmp_path / "keys"))
    yield a
    await a.session.close()
    await a.server.stop()


@pytest.fixture
async def prod_api(charger: Charger, tmp_path: Path) -> AsyncIterator[Api]:
    a = await start_api(charger, write_keys(tmp_path / "keys"), developer_mode=False)
    yield a
    await a.session.close()
    await a.server.stop()


@pytest.fixture
async def sim(charger: Charger) -> AsyncIterator[str]:
    """The simulator's control API (plug EVs, present cards), as the e2e flow uses it."""
    control = ControlServer(charger.plant, 0)
    await control.start()
    yield f"http://127.0.0.1:{control.port}"
    await control.stop()
