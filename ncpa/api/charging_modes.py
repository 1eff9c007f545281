"""The charging mode as the API sees it, behind a small interface.

The energy component implements `ChargingModes` with effects
(ncpa.energy.charging_mode.ChargingModeSource); `StoredChargingModes` is the plain
version over the store key the energy component reads (`charging_mode`), for an API
served without one (its poll applies the value within seconds).
"""

from __future__ import annotations

from typing import Any, Protocol

from ncpa.energy.settings import KEY_CHARGING_MODE, check_charging_mode
from ncpa.store import Store


class ChargingModes(Protocol):
    async def set_mode(self, mode: object) -> str: ...
    def explain(self) -> dict[str, Any]: ...


class StoredChargingModes:
    def __init__(self, store: Store, default: str = "FAST") -> None:
        self.store = store
        self.mode = default

    async def load(self) -> None:
        self.mode = str(await self.store.get_setting(KEY_CHARGING_MODE, self.mode))

    async def set_mode(self, mode: object) -> str:
        new = check_charging_mode(mode)
        await self.store.set_setting(KEY_CHARGING_MODE, new)
        self.mode = new
        return new

    def explain(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "state": "unknown",  # no energy component here to say
            "phases": None,
            "surplus": None,
            "target": None,
            "chargerCurrent": None,
            "importAllowance": None,
        }
