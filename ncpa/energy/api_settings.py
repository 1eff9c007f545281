"""The energy values of the local API, with their effects: the API's `EnergySettings`
over the EnergyManager (settings persist in the store; the manager reloads them at once).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ncpa.api.energy_settings import GridReading, StoredEnergySettings
from ncpa.energy.local_schedule import parse_schedule
from ncpa.energy.manager import EnergyManager
from ncpa.store import Store


class ManagedEnergySettings(StoredEnergySettings):
    def __init__(self, store: Store, manager: EnergyManager) -> None:
        cfg = manager.cfg
        super().__init__(
            store,
            {
                "grid_max_current": cfg.grid_max_current,
                "load_shedding": cfg.load_shedding,
                "on_off_peak": cfg.on_off_peak,
            },
        )
        self.manager = manager

    async def set_grid_max_current(self, amps: float) -> None:
        await super().set_grid_max_current(amps)
        await self.manager.reload()

    async def set_load_shedding(self, mode: str) -> None:
        await super().set_load_shedding(mode)
        await self.manager.reload()

    async def set_on_off_peak(self, mode: str) -> None:
        await super().set_on_off_peak(mode)
        await self.manager.reload()

    async def grid_currents(self) -> GridReading:
        values = self.manager.grid_currents()
        if values is None:
            return GridReading((), "NONE", None)
        source = "PUSHED" if self.manager.load_shedding == "NO" else "METER"
        return GridReading(tuple(values), source, time.time())

    async def push_grid_currents(self, currents: Sequence[float]) -> GridReading:
        values = self.manager.push_grid_currents(list(currents))  # ValueError: the API's 400
        await super().push_grid_currents(values)
        return GridReading(tuple(values), "PUSHED", time.time())

    async def set_charge_schedule(self, schedule: dict[str, Any]) -> None:
        parsed = parse_schedule(schedule)  # ScheduleError is a ValueError
        await super().set_charge_schedule(parsed.to_json())
        await self.manager.reload()
