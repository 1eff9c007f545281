"""Shunt trip: a GPIO output pulses the shunt coil of the upstream breaker; an optional
GPIO input (the breaker's auxiliary contact, on when tripped) confirms it."""

from __future__ import annotations

import asyncio
import time

from hal.drivers.gpio_pins import Input, Output
from ncpa.log import get_logger

log = get_logger(__name__)


class GpioShuntTrip:
    """hal.shunt.ShuntTrip. Without a feedback input the trip cannot be confirmed and is
    reported done once the pulse is out (documented in docs/hardware.md)."""

    def __init__(
        self,
        coil: Output,
        feedback: Input | None = None,
        pulse: float = 0.5,
        confirm_timeout: float = 1.0,
    ) -> None:
        self.coil = coil
        self.feedback = feedback
        self.pulse = pulse
        self.confirm_timeout = confirm_timeout

    async def trip(self) -> bool:
        log.warning("shunt.firing", pin=self.coil.pin)
        await self.coil.set(True)
        try:
            await asyncio.sleep(self.pulse)
        finally:
            await self.coil.set(False)  # shunt coils are rated for pulses only
        if self.feedback is None:
            return True
        deadline = time.monotonic() + self.confirm_timeout
        while True:
            if await self.feedback.read():
                return True
            if time.monotonic() >= deadline:
                log.error("shunt.not_confirmed", pin=self.coil.pin)
                return False
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        self.coil.close()
        if self.feedback:
            self.feedback.close()
