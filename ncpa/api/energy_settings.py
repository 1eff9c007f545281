"""The energy values the API reads and writes, behind a small interface.

They belong to the energy component (issue 5: load balancing, tariffs, local
schedules), which implements `EnergySettings` with effects; `StoredEnergySettings`
is the plain version: the values live in the store settings keys that the
energy component reads (`grid_max_current`, `load_shedding`, `on_off_peak`,
`grid_currents`, `charge_schedule`). The API checks every value before it calls
a setter; a setter may still raise ValueError (the API answers 400).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ncpa.store import Store

KEY_GRID_MAX_CURRENT = "grid_max_current"
KEY_LOAD_SHEDDING = "load_shedding"
KEY_ON_OFF_PEAK = "on_off_peak"
KEY_GRID_CURRENTS = "grid_currents"
KEY_CHARGE_SCHEDULE = "charge_schedule"
KEY_GRID_CURRENTS_TS = "grid_currents_ts"  # when they were pushed (epoch s): for staleness

LOAD_SHEDDING_MODES = ("NO", "P1", "XEMEX_BLACK", "XEMEX_9600")
PEAK_MODES = ("ON_PEAK", "OFF_PEAK", "TRANSACTION_PEAK")
RECURRING = ("daily", "weekly", "none")
GRID_MAX_RANGE = (6.0, 400.0)  # amps per phase: a main fuse outside this is a typo
GRID_CURRENT_RANGE = (-400.0, 400.0)  # negative: export (solar)
DEFAULT_GRID_MAX = 25.0
DEFAULT_SCHEDULE: dict[str, Any] = {"recurring": "none", "sections": []}


@dataclass(frozen=True)
class GridReading:
    currents: tuple[float, ...]  # amps per phase, 1..3 values; empty when unknown
    source: str  # METER (load-shedding meter) | PUSHED (POST /config/grid-currents) | NONE
    timestamp: float | None


class EnergySettings(Protocol):
    async def grid_max_current(self) -> float: ...
    async def set_grid_max_current(self, amps: float) -> None: ...
    async def load_shedding(self) -> str: ...
    async def set_load_shedding(self, mode: str) -> None: ...
    async def on_off_peak(self) -> str: ...
    async def set_on_off_peak(self, mode: str) -> None: ...
    async def grid_currents(self) -> GridReading: ...
    async def push_grid_currents(self, currents: Sequence[float]) -> GridReading: ...
    async def charge_schedule(self) -> dict[str, Any]: ...
    async def set_charge_schedule(self, schedule: dict[str, Any]) -> None: ...


class StoredEnergySettings:
    """Store-backed values with no effect of their own (the energy component adds those)."""

    def __init__(self, store: Store, defaults: dict[str, Any] | None = None) -> None:
        self.store = store
        self.defaults = {
            KEY_GRID_MAX_CURRENT: DEFAULT_GRID_MAX,
            KEY_LOAD_SHEDDING: "NO",
            KEY_ON_OFF_PEAK: "ON_PEAK",
            **(defaults or {}),
        }

    async def _get(self, key: str) -> Any:
        return await self.store.get_setting(key, self.defaults.get(key))

    async def grid_max_current(self) -> float:
        return float(await self._get(KEY_GRID_MAX_CURRENT))

    async def set_grid_max_current(self, amps: float) -> None:
        await self.store.set_setting(KEY_GRID_MAX_CURRENT, float(amps))

    async def load_shedding(self) -> str:
        return str(await self._get(KEY_LOAD_SHEDDING))

    async def set_load_shedding(self, mode: str) -> None:
        await self.store.set_setting(KEY_LOAD_SHEDDING, mode)

    async def on_off_peak(self) -> str:
        return str(await self._get(KEY_ON_OFF_PEAK))

    async def set_on_off_peak(self, mode: str) -> None:
        await self.store.set_setting(KEY_ON_OFF_PEAK, mode)

    async def grid_currents(self) -> GridReading:
        pushed = await self.store.get_setting(KEY_GRID_CURRENTS)
        if not pushed:
            return GridReading((), "NONE", None)
        ts = await self.store.get_setting(KEY_GRID_CURRENTS_TS)
        return GridReading(tuple(float(a) for a in pushed), "PUSHED", ts)

    async def push_grid_currents(self, currents: Sequence[float]) -> GridReading:
        await self.store.set_setting(KEY_GRID_CURRENTS, [float(a) for a in currents])
        await self.store.set_setting(KEY_GRID_CURRENTS_TS, time.time())
        return await self.grid_currents()

    async def charge_schedule(self) -> dict[str, Any]:
        value = await self.store.get_setting(KEY_CHARGE_SCHEDULE)
        return value if isinstance(value, dict) else dict(DEFAULT_SCHEDULE)

    async def set_charge_schedule(self, schedule: dict[str, Any]) -> None:
        await self.store.set_setting(KEY_CHARGE_SCHEDULE, schedule)
