"""Contactor driven by a GPIO output (coil relay), auxiliary contact on a GPIO input."""

from __future__ import annotations

from hal.drivers.gpio_pins import Input, Output
from ncpa.log import get_logger

log = get_logger(__name__)


class GpioContactor:
    """hal.contactor.Contactor. The aux contact is the truth: closed while commanded
    open is a welded contact, which the charging core turns into a shunt trip."""

    def __init__(self, coil: Output, feedback: Input) -> None:
        self.coil = coil
        self.feedback = feedback

    async def set_closed(self, closed: bool) -> None:
        await self.coil.set(closed)
        log.debug("contactor.coil", pin=self.coil.pin, closed=closed)

    async def feedback_closed(self) -> bool:
        return await self.feedback.read()

    async def close(self) -> None:
        self.coil.close()  # coil off: the contactor opens
        self.feedback.close()
