from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ncpa.config import Config, OcppConfig, StationConfig
from ncpa.ocpp.client import OcppClient
from ncpa.store import Store
from tests.ocpp.csms import Csms, Quirks
from tests.ocpp.fake_station import FakeStation

FAST = {
    "backoff_min": 0.05,
    "backoff_max": 0.2,
    "call_timeout": 1.0,
    "boot_retry": 0.2,
}


def make_config(url: str, data_dir: Path, version: str = "1.6", **ocpp: Any) -> Config:
    raw_ocpp = {"csms_url": url, "version": version, **FAST, **ocpp}
    return Config(
        station=StationConfig(id="CP1"),
        ocpp=OcppConfig(csms_url=url, version=version),
        data_dir=data_dir,
        raw={"ocpp": raw_ocpp},
    )


class Agent:
    def __init__(self, station: FakeStation, client: OcppClient) -> None:
        self.station = station
        self.client = client

    async def accepted(self, within: float = 10) -> None:
        await asyncio.wait_for(self.client.connected.wait(), within)


AgentFactory = Callable[..., Awaitable[Agent]]


@pytest.fixture
async def csms_factory() -> AsyncIterator[Callable[..., Awaitable[Csms]]]:
    servers: list[Csms] = []

    async def make(quirks: Quirks | None = None, **kw: Any) -> Csms:
        c = await Csms(quirks, **kw).start()
        servers.append(c)
        return c

    yield make
    for c in servers:
        await c.stop()


@pytest.fixture
async def csms(csms_factory: Callable[..., Awaitable[Csms]]) -> Csms:
    return await csms_factory()


@pytest.fixture
async def agent_factory(tmp_path: Path) -> AsyncIterator[AgentFactory]:
    agents: list[tuple[Agent, Store]] = []

    async def make(
        url: str,
        connectors: int = 1,
        settings: dict[str, str] | None = None,
        start: bool = True,
        data_dir: Path | None = None,
        **ocpp: Any,
    ) -> Agent:
        config = make_config(url, data_dir or tmp_path, **ocpp)
        store = await Store.open(config.data_dir)
        station = FakeStation(config, store, connectors)
        await station.authorizer.load()
        client = OcppClient(station, config)  # type: ignore[arg-type]
        agent = Agent(station, client)
        agents.append((agent, store))
        if settings:
            await client.settings.load()
            for k, v in settings.items():
                assert await client.settings.change(k, v) in ("Accepted", "RebootRequired"), k
        if start:
            await client.start()
        return agent

    yield make
    for agent, store in agents:
        try:
            await asyncio.wait_for(agent.client.stop(), 5)
        except TimeoutError:
            for t in asyncio.all_tasks():
                t.print_stack()
            raise
        await store.close()
