"""What the energy components need from the charging station.

ncpa.charging.station.ChargingStation and its ConnectorView satisfy these
structurally; tests can pass any object with the same members.
"""

from __future__ import annotations

from typing import Protocol

from hal.meter import MeterReading
from ncpa.config import Config
from ncpa.energy.limits import CurrentLimits
from ncpa.events import EventBus
from ncpa.store import Store, TransactionRecord


class ConnectorInfo(Protocol):
    @property
    def connector_id(self) -> int: ...

    @property
    def status(self) -> str: ...

    @property
    def transaction(self) -> TransactionRecord | None: ...

    @property
    def last_reading(self) -> MeterReading | None: ...

    @property
    def contactor_closed(self) -> bool: ...

    @property
    def draw_changed_ts(self) -> float: ...

    @property
    def offered_a(self) -> float: ...


class StationInfo(Protocol):
    @property
    def config(self) -> Config: ...

    @property
    def store(self) -> Store: ...

    @property
    def bus(self) -> EventBus: ...

    @property
    def limits(self) -> CurrentLimits: ...

    @property
    def connector_ids(self) -> list[int]: ...

    def view(self, connector_id: int) -> ConnectorInfo: ...

    async def switch_phases(self, connector_id: int, phases: int) -> bool:
        """Only with the contactor open and no offer (the core's interlock decides)."""
        ...
