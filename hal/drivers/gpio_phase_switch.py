"""Phase switch on a GPIO output: a relay that drops L2 and L3 for 1-phase charging.

Wiring (the usual one): the relay's coil off connects all three phases (the safe
default at boot and after a crash is the wired charger), coil on leaves L1 only.
An optional auxiliary contact confirms the position; a mismatch after the settle
time is a DeviceError, and the charging core keeps the phases it had.
"""

from __future__ import annotations

import asyncio

from hal.drivers.gpio_pins import Input, Output
from hal.errors import DeviceError
from ncpa.log import get_logger

log = get_logger(__name__)


class GpioPhaseSwitch:
    """hal.phase_switch.PhaseSwitch."""

    def __init__(self, coil: Output, feedback: Input | None = None, settle_s: float = 0.1) -> None:
        self.coil = coil
        self.feedback = feedback
        self.settle_s = settle_s
        self._phases = 3  # coil off at creation

    @property
    def phases(self) -> int:
        return self._phases

    async def set_phases(self, phases: int) -> None:
        if phases not in (1, 3):
            raise ValueError("phases: 1 or 3")
        single = phases == 1
        await self.coil.set(single)
        await asyncio.sleep(self.settle_s)  # the relay's contacts move
        if self.feedback is not None and await self.feedback.read() != single:
            await self.coil.set(not single)
            raise DeviceError(f"phase switch: the aux contact does not confirm {phases} phase(s)")
        self._phases = phases
        log.debug("phase_switch.coil", pin=self.coil.pin, phases=phases)

    async def close(self) -> None:
        self.coil.close()
        if self.feedback is not None:
            self.feedback.close()
