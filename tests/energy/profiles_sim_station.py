"""A real ChargingStation on the simulator board, with the SmartCharging engine attached."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from ncpa import config as config_mod
from ncpa.charging.station import ChargingStation
from ncpa.energy.charging_profiles import ChargingProfiles
from ncpa.energy.csms_limit import CsmsLimitSource
from simulator.inprocess import sim_charger
from simulator.plant import Plant

FAST = {
    "authentication_mode": "PLUGNCHARGE",
    "meter_interval": 0.05,
    "meter_timeout": 0.2,
    "durable_meter_interval": 0.1,
    "welded_check_delay": 0.05,
    "lock_timeout": 0.5,
    "pwm_min_interval": 0.05,  # raise the offer without the 5 s wait of IEC 61851
}


@dataclass
class SimEnv:
    station: ChargingStation
    plant: Plant
    profiles: ChargingProfiles
    source: CsmsLimitSource

    def offered(self, cid: int = 1) -> float:
        """The current offered on the simulated pilot."""
        return self.plant.connectors[cid].offered_a

    def charging(self, cid: int = 1) -> bool:
        return (
            self.station.view(cid).status == "Charging" and self.plant.connectors[cid].contactor_cmd
        )


async def wait_until(cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


@asynccontextmanager
async def sim_station(data_dir: Path, connectors: int = 1) -> AsyncIterator[SimEnv]:
    cfg = config_mod.load(None, {"data_dir": data_dir, "simulated": True})
    cfg = replace(
        cfg,
        station=replace(cfg.station, connectors=connectors),
        charging=replace(cfg.charging, **FAST),  # type: ignore[arg-type]
    )
    async with sim_charger(cfg, start=False) as c:
        profiles = ChargingProfiles(c.store)
        await profiles.load()
        source = CsmsLimitSource(c.station, profiles)
        await c.station.start()
        await source.start()
        try:
            yield SimEnv(c.station, c.plant, profiles, source)
        finally:
            await source.stop()
