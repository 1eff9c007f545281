from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from hal.meter import MeterReading
from ncpa.charging.station import ChargingStation
from ncpa.config import ChargingConfig, Config, OcppConfig, StationConfig
from ncpa.events import EventBus, MeterSample
from ncpa.ocpp.client import OcppClient
from ncpa.store import Store
from simulator.board import build_board
from simulator.plant import Plant
from tests.ocpp.csms import Csms, Quirks

FAST = {
    "backoff_min": 0.05,
    "backoff_max": 0.2,
    "call_timeout": 1.0,
    "boot_retry": 0.2,
}

# clock-aligned values every second, for the StopTransaction only (StopTxnAlignedData)
STOP_ALIGNED_ONLY = {
    "ClockAlignedDataInterval": "1",
    "MeterValuesAlignedData": "",
    "StopTxnAlignedData": "Energy.Active.Import.Register",
}


def make_config(
    url: str,
    data_dir: Path,
    version: str = "1.6",
    connectors: int = 1,
    charging: dict[str, Any] | None = None,
    **ocpp: Any,
) -> Config:
    raw_ocpp = {"csms_url": url, "version": version, **FAST, **ocpp}
    fast = {"meter_interval": 0.25, "welded_check_delay": 0.05, "lock_timeout": 0.5}
    return Config(
        station=StationConfig(id="CP1", connectors=connectors),
        charging=ChargingConfig(**{**fast, **(charging or {})}),
        simulated=True,
        ocpp=OcppConfig(csms_url=url, version=version),
        data_dir=data_dir,
        raw={"ocpp": raw_ocpp},
    )


async def until(pred: Callable[[], bool], within: float = 10.0, what: str = "") -> None:
    """Wait until pred() holds (polling: the things waited on have no event of their own)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    for _ in range(1_000_000):
        if pred():
            return
        if loop.time() > deadline:
            break
        await asyncio.sleep(0.02)
    raise TimeoutError(f"not within {within}s: {what or pred}")


class Agent:
    """A real ChargingStation on the simulator board, with the OCPP client."""

    def __init__(self, station: ChargingStation, plant: Plant, client: OcppClient) -> None:
        self.station = station
        self.plant = plant
        self.client = client

    async def status(self, cid: int, *wanted: str, within: float = 10) -> None:
        await until(lambda: self.station.view(cid).status in wanted, within)

    async def plug(self, cid: int) -> None:
        self.plant.plug(cid)
        await self.status(cid, "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE")

    async def unplug(self, cid: int) -> None:
        self.plant.unplug(cid)
        await self.status(cid, "Available", "Finishing")

    async def start_charging(self, cid: int, id_tag: str) -> int:
        """Plug in, start remotely: the local id of the transaction."""
        await self.plug(cid)
        await self.station.remote_start(id_tag, cid)
        return await self.transaction(cid)

    async def transaction(self, cid: int, within: float = 10) -> int:
        await until(lambda: self.station.view(cid).transaction is not None, within)
        return int(self.station.view(cid).transaction.id)

    def sample(self, cid: int, energy_wh: float, ts: float) -> None:
        """A meter sample as the core publishes it (a controlled clock for MeterValues)."""
        view = self.station.view(cid)
        tx = view.transaction
        reading = MeterReading(
            (230.0, 230.0, 230.0), (16.0, 16.0, 16.0), (3680.0, 3680.0, 3680.0), energy_wh, ts
        )
        self.station.bus.publish(MeterSample(cid, reading, tx.id if tx else None, 16.0))

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
        charging: dict[str, Any] | None = None,
        **ocpp: Any,
    ) -> Agent:
        config = make_config(
            url, data_dir or tmp_path, connectors=connectors, charging=charging, **ocpp
        )
        store = await Store.open(config.data_dir)
        board, plant = build_board(config)
        station = ChargingStation(config, store, board, EventBus())
        client = OcppClient(station, config)
        agent = Agent(station, plant, client)
        agents.append((agent, store))
        await station.start()
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
        await agent.station.stop()
        await store.close()
