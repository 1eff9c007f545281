"""gpiozero plumbing shared by the GPIO drivers: the pin factory, and outputs/inputs
whose every call runs in a worker thread so that a slow pin library never blocks the
event loop."""

from __future__ import annotations

import asyncio
from typing import Any

from ncpa.config import ConfigError

# gpiozero (and its pin library) load with the first pin, not with this module: the
# settings parser names PIN_FACTORIES, and `ncpa --help` must not load a pin library
PIN_FACTORIES = ("lgpio", "rpigpio", "pigpio", "native", "mock")


def make_pin_factory(name: str) -> Any:
    """A gpiozero pin factory by its entry-point name; "" lets gpiozero choose."""
    if not name:
        return None
    from importlib.metadata import entry_points

    (ep,) = entry_points(group="gpiozero_pin_factories", name=name)
    try:
        return ep.load()()
    except Exception as e:  # ImportError (lgpio not installed), BadPinFactory (no GPIO chip)
        raise ConfigError(
            f"hardware.gpio_pin_factory: {name!r} cannot be used here ({type(e).__name__}: {e})"
        ) from e


class Output:
    """One output pin (coil driver, motor driver, shunt coil); off at creation."""

    def __init__(self, pin: int, active_high: bool, factory: Any) -> None:
        from gpiozero import DigitalOutputDevice

        self.pin = pin
        self._dev = DigitalOutputDevice(
            pin, active_high=active_high, initial_value=False, pin_factory=factory
        )

    async def set(self, on: bool) -> None:
        await asyncio.to_thread(self._dev.on if on else self._dev.off)

    def close(self) -> None:
        self._dev.off()
        self._dev.close()


class Input:
    """One input pin. `pull` is "up", "down" or "off" (external pull / optocoupler);
    `active_high` says which level means "on" (closed contact, locked, fault)."""

    def __init__(
        self,
        pin: int,
        active_high: bool,
        pull: str,
        factory: Any,
        bounce_time: float | None = None,
    ) -> None:
        from gpiozero import DigitalInputDevice

        self.pin = pin
        if pull == "off":
            self._dev = DigitalInputDevice(
                pin, pull_up=None, active_state=active_high, bounce_time=bounce_time,
                pin_factory=factory,
            )  # fmt: skip
            self._invert = False
        else:
            # gpiozero ties the active level to the pull; invert in software when the
            # wiring says otherwise (e.g. a normally-closed contact to ground)
            self._dev = DigitalInputDevice(
                pin, pull_up=(pull == "up"), bounce_time=bounce_time, pin_factory=factory
            )
            self._invert = active_high == (pull == "up")

    def value(self) -> bool:
        """Blocking read; call from a thread (or from gpiozero's callback thread)."""
        return bool(self._dev.value) != self._invert

    async def read(self) -> bool:
        return await asyncio.to_thread(self.value)

    def on_change(self, callback: Any) -> None:
        """`callback()` from gpiozero's thread on every edge."""
        self._dev.when_activated = callback
        self._dev.when_deactivated = callback

    def close(self) -> None:
        self._dev.close()
