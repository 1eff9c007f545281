"""Shared test helpers: an in-process station on the simulator, and waiting for conditions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hal.board import Board
from ncpa import config as config_mod
from ncpa.charging.station import ChargingStation
from ncpa.config import Config
from ncpa.events import EventBus
from ncpa.store import Store
from simulator.inprocess import sim_charger
from simulator.plant import Plant

FAST_CHARGING = {
    "meter_interval": 0.05,
    "meter_timeout": 0.2,
    "durable_meter_interval": 0.1,
    "tick_interval": 0.02,
    "welded_check_delay": 0.05,
    "lock_timeout": 0.5,
    "pwm_min_interval": 5.0,
}


def make_config(data_dir: Path, station: dict[str, Any] | None = None, **charging: Any) -> Config:
    cfg = config_mod.load(None, {"data_dir": data_dir, "simulated": True})
    return replace(
        cfg,
        station=replace(cfg.station, **(station or {})),
        charging=replace(cfg.charging, **{**FAST_CHARGING, **charging}),
    )


@dataclass
class Env:
    config: Config
    store: Store
    station: ChargingStation
    plant: Plant
    events: list[object]

    def conn(self, cid: int = 1) -> Any:
        return self.station.connectors[cid]

    def status(self, cid: int = 1) -> str:
        return self.station.view(cid).status

    async def wait(self, cond: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
        await wait_until(cond, timeout, what)


async def wait_until(cond: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.005)


@asynccontextmanager
async def running_station(
    data_dir: Path,
    plant: Plant | None = None,
    station: dict[str, Any] | None = None,
    board_hook: Callable[[Board], None] | None = None,
    **charging: Any,
) -> AsyncIterator[Env]:
    cfg = make_config(data_dir, station, **charging)
    bus = EventBus()
    events: list[object] = []
    bus.subscribe(events.append)
    async with sim_charger(cfg, plant=plant, board_hook=board_hook, bus=bus) as c:
        yield Env(cfg, c.store, c.station, c.plant, events)
