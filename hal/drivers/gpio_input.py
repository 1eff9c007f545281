"""A digital input on GPIO (tariff signal, RCD fault contact, ...)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from hal.drivers.broadcast import Broadcast
from hal.drivers.gpio_pins import Input


class GpioDigitalInput:
    """hal.inputs.DigitalInput. Edges come from gpiozero's thread and are handed to the
    event loop; the value is read again there, so a bounce ends on the settled level."""

    def __init__(self, pin: Input, name: str) -> None:
        self.pin = pin
        self.name = name
        self._values: Broadcast[bool] = Broadcast(replay=True)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._values.publish(await self.pin.read())
        self.pin.on_change(self._edge)

    def _edge(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            value = self.pin.value()  # we are in gpiozero's thread already
            loop.call_soon_threadsafe(self._set, value)

    def _set(self, value: bool) -> None:
        if value != self._values.latest:
            self._values.publish(value)

    async def read(self) -> bool:
        return await self.pin.read()

    def changes(self) -> AsyncIterator[bool]:
        return self._values.subscribe()

    async def close(self) -> None:
        self.pin.close()
