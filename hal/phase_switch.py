"""Phase switch: a contactor that connects one or all three phases to the EV (optional).

A 3-phase charger with one can charge on a single phase, so that a small solar surplus
(down to 6 A on one phase, 1.4 kW) is enough. IEC 61851 lets the phases change only
with the main contactor open and the EV paused: the charging core checks that
(ncpa.charging.interlock.may_switch_phases) before it calls `set_phases`.
Backends: hal.drivers.gpio_phase_switch (a relay on a GPIO pin) and
simulator.devices.SimPhaseSwitch.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

PHASE_COUNTS = (1, 3)


@runtime_checkable
class PhaseSwitch(Protocol):
    @property
    def phases(self) -> int:
        """Phases connected now: 1 or 3."""
        ...

    async def set_phases(self, phases: int) -> None:
        """Connect 1 or 3 phases. Only the charging core calls this, contactor open.

        Raises ValueError for another count, hal.errors.DeviceError when the relay fails.
        """
        ...
