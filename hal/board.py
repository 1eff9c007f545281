"""The devices of one charger, as the charging core sees them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from hal.contactor import Contactor
from hal.evcc import ChargeController
from hal.inputs import DigitalInput
from hal.lock import SocketLock
from hal.meter import EnergyMeter
from hal.phase_switch import PhaseSwitch
from hal.rfid import RfidReader
from hal.shunt import ShuntTrip


@dataclass
class ConnectorDevices:
    """Devices of one connector (connector ids start at 1)."""

    connector_id: int
    evcc: ChargeController
    meter: EnergyMeter
    contactor: Contactor
    lock: SocketLock | None  # None: tethered cable, nothing to lock
    phase_switch: PhaseSwitch | None = None  # None: charges on the wired phases


@dataclass
class Board:
    connectors: list[ConnectorDevices]
    shunt: ShuntTrip
    rfid: RfidReader | None = None
    inputs: dict[str, DigitalInput] = field(default_factory=dict)
    # called once on shutdown to release ports and pins
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def connector(self, connector_id: int) -> ConnectorDevices:
        for c in self.connectors:
            if c.connector_id == connector_id:
                return c
        raise KeyError(connector_id)

    async def close(self) -> None:
        for close in reversed(self.closers):
            await close()
