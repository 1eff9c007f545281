"""Energy meter: per-phase voltage, current and power, and the import energy register."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One reading. Tuples hold one value per phase (L1, L2, L3); unused phases read 0."""

    voltage_v: tuple[float, float, float]
    current_a: tuple[float, float, float]
    power_w: tuple[float, float, float]
    energy_wh: float  # import energy register, monotonic
    timestamp: float  # time.time() of the reading

    @property
    def total_power_w(self) -> float:
        return sum(self.power_w)


@runtime_checkable
class EnergyMeter(Protocol):
    async def read(self) -> MeterReading:
        """Read all values. Raises hal.errors.DeviceError (or DeviceTimeout)."""
        ...
