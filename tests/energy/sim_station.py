"""A charging station on the simulator with the energy manager, for scenario tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hal.grid import GridReading
from ncpa.charging.station import ChargingStation
from ncpa.config import Config, load
from ncpa.energy.manager import EnergyManager
from ncpa.events import EventBus, StatusChanged
from simulator.grid import SimGridMeter
from simulator.inprocess import sim_charger
from simulator.plant import Plant

PERIOD_S = 0.05  # grid measurement period of the simulated meter


class RecordingMeter:
    """The simulated grid meter, keeping every measurement the balancer was given."""

    def __init__(self, inner: SimGridMeter) -> None:
        self.inner = inner
        self.readings: list[GridReading] = []

    @property
    def period_s(self) -> float:
        return self.inner.period_s

    async def read(self) -> GridReading:
        reading = await self.inner.read()
        self.readings.append(reading)
        return reading

    def latest(self) -> GridReading | None:
        return self.inner.latest()

    async def close(self) -> None:
        await self.inner.close()


@dataclass
class Rig:
    station: ChargingStation
    plant: Plant
    grid: SimGridMeter
    meter: RecordingMeter
    energy: EnergyManager
    statuses: list[str] = field(default_factory=list)

    async def until(self, cond: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached")
            await asyncio.sleep(0.005)

    def offered(self, cid: int = 1) -> float:
        return self.plant.connectors[cid].offered_a

    def drawing(self, cid: int = 1) -> float:
        """L1 current of the connector's last meter reading, as the core saw it."""
        reading = self.station.view(cid).last_reading
        return reading.current_a[0] if reading is not None else 0.0

    def status(self, cid: int = 1) -> str:
        return self.station.view(cid).status

    async def measurements(self, n: int) -> list[GridReading]:
        """The next n measurements the balancer acts on."""
        start = len(self.meter.readings)
        await self.until(lambda: len(self.meter.readings) >= start + n)
        return self.meter.readings[start : start + n]


def sim_config(
    tmp: Path, energy: dict[str, Any], connectors: int = 1, phase_switch: bool = False
) -> Config:
    cfg = load(None, {"data_dir": str(tmp), "simulated": True})
    cfg = replace(
        cfg,
        station=replace(cfg.station, connectors=connectors),
        sim=replace(cfg.sim, phase_switch=phase_switch),
    )
    defaults = {
        "grid_max_current": 25.0,
        "load_shedding": "P1",
        "resume_delay_s": 0.3,
        "min_pause_s": 0.5,
        "smoothing_s": 0.0,
        "lost_after_s": 0.3,
        "timezone": "Europe/Brussels",
    }
    return replace(
        cfg,
        charging=replace(
            cfg.charging,
            authentication_mode="PLUGNCHARGE",
            meter_interval=PERIOD_S / 2,
            pwm_min_interval=0.1,
        ),
        raw={"energy": {**defaults, **energy}},
    )


@asynccontextmanager
async def sim_station(
    tmp: Path,
    household: tuple[float, ...] = (0.0, 0.0, 0.0),
    connectors: int = 1,
    simulated_grid: bool = True,  # False: the manager builds the real backend of the mode
    phase_switch: bool = False,  # the simulated board has a 1/3-phase switch
    **energy: Any,
) -> AsyncIterator[Rig]:
    config = sim_config(tmp, energy, connectors, phase_switch)
    bus = EventBus()
    async with sim_charger(config, bus=bus, start=False) as c:
        grid = SimGridMeter(
            [m.meter for m in c.board.connectors], household=household, interval_s=PERIOD_S
        )
        meter = RecordingMeter(grid)
        energy_manager = EnergyManager(
            c.station, c.board, config, grid_meter=meter if simulated_grid else None
        )
        rig = Rig(c.station, c.plant, grid, meter, energy_manager)
        bus.subscribe(lambda e: rig.statuses.append(e.status), StatusChanged)
        await c.station.start()
        await energy_manager.start()
        try:
            yield rig
        finally:
            await energy_manager.stop()
